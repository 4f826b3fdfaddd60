// Live capture: one network interface through libpcap on AF_PACKET with the TPACKET_V3 ring
// (pcap_create + buffer size, snaplen, promiscuous mode, immediate mode off with a short
// timeout, non-blocking reads), with an optional BPF filter.
//
// Contract:
//  - `open` fails with "cannot open interface 'IFACE': <libpcap's reason>" (no such device, no
//    permission, ring too large), "interface 'IFACE': bad bpf-filter 'F': <reason>" or
//    "interface 'IFACE': unsupported link type NAME".
//  - `next_burst` fills the frame fields of up to packets.size() (at most kMaxBurst) packets and
//    returns how many; when none is ready it waits at most `wait_ms` for the kernel to hand over
//    a block, so a capture loop that checks a stop flag between calls never blocks shutdown.
//    Returns 0 with `error()` set (and `errors` counted) when the interface fails (e.g. it
//    went away). Frames are copied out of the kernel ring into an arena owned by the source,
//    valid until the next call. It never allocates.
//  - An interface taken down (administratively, or its carrier lost) keeps its handle: the
//    kernel stops and resumes delivery on the same socket when the link comes back up.
//    `check_link` (a syscall: call it about once a second, not per burst) reads the link's
//    flags and tracks those periods. An interface that fails while capturing (deleted:
//    libpcap's "The interface disappeared", ENXIO/ENODEV, any pcap_dispatch error) closes the
//    libpcap handle: `is_open()` turns false, the kernel counters read so far are kept, and
//    `next_burst` returns 0 at once until `reopen()` (control path: it allocates) opens the
//    interface again with the same options; true when capturing again, false with `error()`
//    saying why not. `reopen_counters()` counts the down periods, the reopens and the time
//    spent down or closed.
//  - `update_stats` reads the kernel's counters (pcap_stats) into `counters()`, summed over
//    every handle the source has had: kernel_packets = packets the socket received,
//    kernel_drops = packets the ring dropped.
//  - pcap_cnt numbers this interface's frames from 1, across reopens.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include <tl/expected.hpp>

#include "sensor/capture/capture_stats.hpp"
#include "sensor/decode/packet.hpp"

typedef struct pcap pcap_t;
struct pcap_pkthdr;

namespace eastwatch {

// Eastwatch-only counters of an interface's failures (stats.log: capture.interface-down, ...).
struct ReopenCounters {
  uint64_t interface_down = 0;  // times the link went down or the interface failed
  uint64_t reopens = 0;         // times a failed (closed) interface was opened again
  uint64_t down_seconds = 0;    // whole seconds spent down or closed (up to the last update_stats)

  template <class F>
  void visit(F&&) const {}
  template <class F>
  void visit_extra(F&& f) const {
    f("interface-down", interface_down); f("reopens", reopens); f("down-seconds", down_seconds);
  }
};

enum class LinkState : uint8_t {
  Up,         // IFF_UP and IFF_RUNNING
  AdminDown,  // not IFF_UP (ip link set dev down)
  NoCarrier,  // up but not running (a veth whose peer is down, a cable pulled)
  Closed,     // the handle failed and is closed (the interface went away); see reopen()
};
const char* link_state_name(LinkState state) noexcept;

class PcapLiveSource {
 public:
  static constexpr uint32_t kMaxBurst = 64;

  struct Options {
    std::string interface;
    uint64_t buffer_size = 64ull << 20;  // the kernel ring, bytes
    uint32_t snaplen = 65535;
    bool promisc = true;
    std::string bpf_filter;  // empty: every frame
    int timeout_ms = 100;    // TPACKET_V3 block timeout: frames wait at most this long in a block
  };

  static tl::expected<std::unique_ptr<PcapLiveSource>, std::string> open(const Options& options);
  ~PcapLiveSource();
  PcapLiveSource(const PcapLiveSource&) = delete;
  PcapLiveSource& operator=(const PcapLiveSource&) = delete;

  size_t next_burst(std::span<Packet> packets, int wait_ms) noexcept;
  void update_stats() noexcept;
  bool is_open() const noexcept { return handle_ != nullptr; }
  bool reopen();
  LinkState check_link() noexcept;
  LinkState link_state() const noexcept { return link_state_; }  // as of the last check_link/failure/reopen

  LinkType link_type() const noexcept { return link_type_; }
  uint32_t snaplen() const noexcept { return snaplen_; }
  const std::string& interface() const noexcept { return interface_; }
  uint64_t frames_read() const noexcept { return next_pcap_cnt_; }
  const CaptureCounters& counters() const noexcept { return counters_; }
  const ReopenCounters& reopen_counters() const noexcept { return reopen_counters_; }
  const std::string& error() const noexcept { return error_; }

 private:
  using Clock = std::chrono::steady_clock;
  PcapLiveSource(pcap_t* handle, const Options& options, LinkType link_type, uint32_t snaplen);
  static tl::expected<pcap_t*, std::string> activate(const Options& options, LinkType& link_type);
  static void on_frame(unsigned char* self, const ::pcap_pkthdr* header, const unsigned char* bytes);
  void close_failed() noexcept;
  void set_link_state(LinkState state) noexcept;

  pcap_t* handle_;  // nullptr while the interface is down
  Options options_;
  std::string interface_;
  LinkType link_type_;
  uint32_t snaplen_;
  int fd_;
  std::unique_ptr<uint8_t[]> arena_;  // kMaxBurst frames of snaplen bytes
  Packet* burst_ = nullptr;           // the burst being filled by on_frame
  size_t burst_count_ = 0;
  size_t burst_capacity_ = 0;
  uint64_t next_pcap_cnt_ = 0;
  CaptureCounters counters_;
  uint64_t closed_kernel_packets_ = 0;  // pcap_stats of the handles closed so far
  uint64_t closed_kernel_drops_ = 0;
  ReopenCounters reopen_counters_;
  LinkState link_state_ = LinkState::Up;
  Clock::duration down_total_{};  // time down or closed, periods ended
  Clock::time_point down_since_{};
  std::string error_;
};

}  // namespace eastwatch

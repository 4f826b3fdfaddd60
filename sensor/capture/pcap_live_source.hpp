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
//  - `update_stats` reads the kernel's counters (pcap_stats) into `counters()`:
//    kernel_packets = packets the socket received, kernel_drops = packets the ring dropped.
//  - pcap_cnt numbers this interface's frames from 1.
#pragma once

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

  LinkType link_type() const noexcept { return link_type_; }
  uint32_t snaplen() const noexcept { return snaplen_; }
  const std::string& interface() const noexcept { return interface_; }
  uint64_t frames_read() const noexcept { return next_pcap_cnt_; }
  const CaptureCounters& counters() const noexcept { return counters_; }
  const std::string& error() const noexcept { return error_; }

 private:
  PcapLiveSource(pcap_t* handle, std::string interface, LinkType link_type, uint32_t snaplen);
  static void on_frame(unsigned char* self, const ::pcap_pkthdr* header, const unsigned char* bytes);

  pcap_t* handle_;
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
  std::string error_;
};

}  // namespace eastwatch

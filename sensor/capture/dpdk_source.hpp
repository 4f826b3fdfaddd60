// DPDK capture (capture.mode: dpdk): the EAL, one mbuf pool and the configured ports, read by
// `DpdkRxQueue`s in bursts. Built only with EASTWATCH_DPDK (EASTWATCH_HAVE_DPDK defined).
//
// Contract:
//  - `open` runs rte_eal_init with `eal_args` (the program name is added), resolves every port
//    name with rte_eth_dev_get_port_by_name, creates the mbuf pool and configures and starts each
//    port with `queues()` RX queues: the wanted number with RSS (a symmetric Toeplitz key, so both
//    directions of a flow land on the same queue) when every port offers RSS and that many
//    queues, else 1. Errors are one line: "dpdk: EAL: <reason>", "dpdk: no port 'NAME' (...)",
//    "dpdk: port 'NAME': <call>: <reason>". The EAL can be initialised once per process; a
//    second `open` fails ("dpdk: EAL: already initialised").
//  - Timestamps: a port whose driver is net_pcap gives the capture file's (or interface's) own
//    timestamps (the mbuf timestamp field it fills, microseconds in DPDK 22.11, nanoseconds
//    behind the RX timestamp offload later; told apart by size); every other port, and a net_pcap
//    mbuf without the timestamp flag, is stamped with the wall clock when the burst is received
//    (a NIC's timestamp counter is not the epoch).
//  - The destructor stops and closes the ports, frees the pool, calls rte_eal_cleanup and removes
//    the EAL's runtime directory (/var/run/dpdk/<file-prefix>), so nothing is left behind.
//  - `DpdkRxQueue` reads RX queue `queue` of every port, round robin. `next_burst` first frees
//    the mbufs of the previous burst (their frames are valid until then), then fills the frame
//    fields of up to packets.size() (at most burst size) packets: zero copy when the frame is in
//    one segment, else copied into the reader's scratch; frames longer than snaplen are cut
//    (caplen), wirelen keeps the length. pcap_cnt numbers this reader's frames from 1. It never
//    allocates, blocks or locks. One reader per (queue, thread).
//  - `update_stats` reads rte_eth_stats_get of every port: kernel_packets = ipackets,
//    kernel_drops = imissed + rx_nombuf, errors = ierrors (EVE names); the raw counters in
//    `dpdk_counters()` (stats.log: capture.dpdk.*). One thread at a time; never per packet.
//  - net_af_packet ports: DPDK 22.11's AF_PACKET PMD leaves imissed at 0, though its sockets'
//    rings drop frames when the sensor falls behind. The PMD runs in this process, so its sockets
//    are ours: after a port starts, `open` finds them (every AF_PACKET socket in /proc/self/fd bound
//    to the port's interface, rte_eth_dev_info's if_index, not claimed by an earlier port) and
//    discards their counts so far; `update_stats` reads PACKET_STATISTICS of each (the read resets
//    the kernel's counters, so the drops accumulate in `af_packet_drops`) and counts those frames
//    as received and dropped, as libpcap's ps_recv / ps_drop do: kernel_packets = ipackets +
//    af_packet_drops, kernel_drops = imissed + rx_nombuf + af_packet_drops. A PMD that read the
//    same counters itself into imissed would split the drops with us, each counted once.
//    The sockets are forgotten before the ports stop (the PMD closes them on rte_eth_dev_stop).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "sensor/capture/capture_stats.hpp"
#include "sensor/decode/packet.hpp"

struct rte_mbuf;
struct rte_mempool;

namespace eastwatch {

// rte_eth_stats of every port, summed (stats.log only).
struct DpdkCounters {
  uint64_t ipackets = 0;    // frames the ports received
  uint64_t imissed = 0;     // frames the NIC dropped: no free RX descriptor
  uint64_t ierrors = 0;     // erroneous frames
  uint64_t rx_nombuf = 0;   // frames dropped: the mbuf pool was empty
  uint64_t af_packet_drops = 0;  // frames net_af_packet's socket rings dropped (PACKET_STATISTICS)

  template <class F>
  void visit(F&&) const {}
  template <class F>
  void visit_extra(F&& f) const {
    f("dpdk.ipackets", ipackets); f("dpdk.imissed", imissed); f("dpdk.ierrors", ierrors);
    f("dpdk.rx_nombuf", rx_nombuf); f("dpdk.af_packet_drops", af_packet_drops);
  }
};

class DpdkSource {
 public:
  static constexpr uint32_t kMaxBurst = 64;

  struct Options {
    std::vector<std::string> eal_args;
    std::vector<std::string> ports;
    uint32_t rx_queues = 1;  // wanted per port (RSS); 1 without
    uint32_t mbuf_pool_size = 65535;
    uint32_t mbuf_cache_size = 256;
    uint32_t rx_descriptors = 1024;
    bool promisc = true;
  };

  struct Port {
    uint16_t id = 0;
    std::string name;
    std::string driver;
    bool file_timestamps = false;  // mbufs carry the capture's timestamps (net_pcap)
    std::vector<int> packet_sockets;  // net_af_packet: the PMD's AF_PACKET sockets (its fds)
  };

  static tl::expected<std::unique_ptr<DpdkSource>, std::string> open(const Options& options);
  ~DpdkSource();
  DpdkSource(const DpdkSource&) = delete;
  DpdkSource& operator=(const DpdkSource&) = delete;

  uint32_t queues() const noexcept { return queues_; }
  bool rss() const noexcept { return rss_; }
  const std::vector<Port>& ports() const noexcept { return ports_; }
  rte_mempool* pool() const noexcept { return pool_; }
  int timestamp_offset() const noexcept { return timestamp_offset_; }
  uint64_t timestamp_flag() const noexcept { return timestamp_flag_; }

  // The EAL's worker lcores (-l / --lcores, without the main lcore), for run-to-completion workers.
  std::vector<unsigned> worker_lcores() const;
  // Runs `function(arg)` on a worker lcore (rte_eal_remote_launch); `wait_lcore` joins it.
  static bool launch(unsigned lcore, int (*function)(void*), void* arg) noexcept;
  static void wait_lcore(unsigned lcore) noexcept;

  void update_stats() noexcept;
  const CaptureCounters& counters() const noexcept { return counters_; }
  const DpdkCounters& dpdk_counters() const noexcept { return dpdk_counters_; }

 private:
  DpdkSource() = default;
  tl::expected<void, std::string> start_port(Port& port, const Options& options);
  void find_packet_sockets(Port& port, int if_index);

  std::vector<Port> ports_;
  std::vector<bool> started_;
  rte_mempool* pool_ = nullptr;
  uint32_t queues_ = 1;
  bool rss_ = false;
  int timestamp_offset_ = -1;
  uint64_t timestamp_flag_ = 0;
  CaptureCounters counters_;
  DpdkCounters dpdk_counters_;
  uint64_t af_packet_drops_ = 0;  // accumulated: each PACKET_STATISTICS read resets the kernel's
};

class DpdkRxQueue {
 public:
  DpdkRxQueue(const DpdkSource& source, uint16_t queue, uint32_t burst_size, uint32_t snaplen);
  ~DpdkRxQueue();
  DpdkRxQueue(const DpdkRxQueue&) = delete;
  DpdkRxQueue& operator=(const DpdkRxQueue&) = delete;

  size_t next_burst(std::span<Packet> packets) noexcept;
  // Frees the mbufs of the last burst (at the end of a run).
  void release() noexcept;
  uint64_t frames_read() const noexcept { return next_pcap_cnt_; }

 private:
  const DpdkSource& source_;
  uint16_t queue_;
  uint32_t burst_size_;
  uint32_t snaplen_;
  size_t next_port_ = 0;
  rte_mbuf* held_[DpdkSource::kMaxBurst] = {};
  size_t held_count_ = 0;
  std::unique_ptr<uint8_t[]> scratch_;  // burst_size frames of snaplen bytes, for multi-segment mbufs
  uint64_t next_pcap_cnt_ = 0;
};

}  // namespace eastwatch

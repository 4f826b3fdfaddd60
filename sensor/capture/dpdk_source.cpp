#include "sensor/capture/dpdk_source.hpp"

#include <dirent.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace eastwatch {

namespace {

// rte_eal_init may run once per process (a second call fails, even after rte_eal_cleanup).
std::atomic<bool> g_eal_initialised{false};

// A Toeplitz key of one repeated 16-bit word hashes (a, b) and (b, a) alike: both directions
// of a flow reach the same queue (Woo and Park, "Scalable TCP Session Monitoring with RSS").
constexpr uint8_t kSymmetricKeyWord[2] = {0x6d, 0x5a};
constexpr size_t kMaxKeyBytes = 52;

// A net_pcap timestamp this large is in nanoseconds (after 1973); below it, microseconds (before 5138).
constexpr uint64_t kNanosecondStamps = 100'000'000'000'000'000ull;

std::string reason(int error) { return rte_strerror(error < 0 ? -error : error); }

int64_t wall_clock_usec() noexcept {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<int64_t>(now.tv_sec) * 1'000'000 + now.tv_nsec / 1000;
}

// Removes the EAL's runtime directory (its config and socket files): no state survives the run.
void remove_runtime_dir(const std::string& path) {
  if (path.empty()) return;
  if (DIR* dir = opendir(path.c_str())) {
    while (dirent* entry = readdir(dir)) {
      if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
      unlink((path + "/" + entry->d_name).c_str());
    }
    closedir(dir);
  }
  rmdir(path.c_str());
}

// Frames a packet socket's ring dropped since the last read (the read resets the kernel's
// counters); 0 when it cannot be read.
uint64_t read_socket_drops(int fd) noexcept {
  tpacket_stats stats{};
  socklen_t length = sizeof(stats);
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &stats, &length) != 0) return 0;
  return stats.tp_drops;
}

}  // namespace

tl::expected<std::unique_ptr<DpdkSource>, std::string> DpdkSource::open(const Options& options) {
  if (options.ports.empty()) return tl::unexpected(std::string("dpdk: no ports (expected capture.dpdk.ports)"));
  if (g_eal_initialised.exchange(true)) return tl::unexpected(std::string("dpdk: EAL: already initialised"));
  std::vector<std::string> args{"eastwatch"};
  args.insert(args.end(), options.eal_args.begin(), options.eal_args.end());
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  if (rte_eal_init(static_cast<int>(args.size()), argv.data()) < 0) {
    const int error = rte_errno;
    remove_runtime_dir(rte_eal_get_runtime_dir());  // created before the failure
    return tl::unexpected("dpdk: EAL: " + reason(error) + " (check capture.dpdk.eal-args)");
  }
  std::unique_ptr<DpdkSource> source(new DpdkSource());  // from here on the destructor cleans the EAL up
  for (const auto& name : options.ports) {
    Port port;
    port.name = name;
    if (rte_eth_dev_get_port_by_name(name.c_str(), &port.id) != 0) {
      return tl::unexpected("dpdk: no port '" + name + "' (" + std::to_string(rte_eth_dev_count_avail()) +
                            " ports available; a vdev needs --vdev in capture.dpdk.eal-args, a NIC binding to "
                            "vfio-pci)");
    }
    source->ports_.push_back(port);
  }
  source->started_.assign(source->ports_.size(), false);

  // RSS only if every port offers it with enough queues; otherwise one queue per port.
  uint32_t queues = std::max<uint32_t>(1, options.rx_queues);
  for (auto& port : source->ports_) {
    rte_eth_dev_info info{};
    if (int error = rte_eth_dev_info_get(port.id, &info); error != 0) {
      return tl::unexpected("dpdk: port '" + port.name + "': rte_eth_dev_info_get: " + reason(error));
    }
    port.driver = info.driver_name ? info.driver_name : "";
    if (info.flow_type_rss_offloads == 0 || info.max_rx_queues < queues) queues = 1;
  }
  source->queues_ = queues;
  source->rss_ = queues > 1;

  const size_t descriptors = size_t{options.rx_descriptors} * queues * source->ports_.size();
  const uint32_t pool_size = static_cast<uint32_t>(std::max<size_t>(options.mbuf_pool_size, descriptors + 1024));
  source->pool_ = rte_pktmbuf_pool_create("eastwatch_rx", pool_size, options.mbuf_cache_size, 0,
                                          RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
  if (source->pool_ == nullptr) {
    return tl::unexpected("dpdk: cannot create a pool of " + std::to_string(pool_size) +
                          " mbufs: " + reason(rte_errno) + " (check capture.dpdk.mbuf-pool-size and the EAL's memory)");
  }
  for (auto& port : source->ports_) {
    if (auto started = source->start_port(port, options); !started) return tl::unexpected(started.error());
  }
  return source;
}

tl::expected<void, std::string> DpdkSource::start_port(Port& port, const Options& options) {
  const auto failed = [&](const char* call, int error) {
    return tl::unexpected("dpdk: port '" + port.name + "': " + call + ": " + reason(error));
  };
  rte_eth_dev_info info{};
  if (int error = rte_eth_dev_info_get(port.id, &info); error != 0) return failed("rte_eth_dev_info_get", error);

  rte_eth_conf conf{};
  uint8_t key[kMaxKeyBytes];
  if (rss_) {
    const size_t key_bytes = info.hash_key_size > 0 ? std::min<size_t>(info.hash_key_size, kMaxKeyBytes) : 40;
    for (size_t i = 0; i < key_bytes; ++i) key[i] = kSymmetricKeyWord[i % 2];
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_key = key;
    conf.rx_adv_conf.rss_conf.rss_key_len = static_cast<uint8_t>(key_bytes);
    // Addresses only where the port can, so an IP datagram's fragments meet the rest of its flow.
    uint64_t types = RTE_ETH_RSS_IP & info.flow_type_rss_offloads;
    if (types == 0) types = (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
    conf.rx_adv_conf.rss_conf.rss_hf = types;
  }
  // net_pcap stamps its mbufs with the capture's time (DPDK 22.11 always, in microseconds; later
  // releases behind the timestamp offload, in nanoseconds).
  port.file_timestamps = port.driver == "net_pcap";
  if (port.file_timestamps && (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP) != 0) {
    conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TIMESTAMP;
  }
  if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;

  if (int error = rte_eth_dev_configure(port.id, static_cast<uint16_t>(queues_), 0, &conf); error != 0) {
    return failed("rte_eth_dev_configure", error);
  }
  if (port.file_timestamps) {
    if (rte_mbuf_dyn_rx_timestamp_register(&timestamp_offset_, &timestamp_flag_) != 0) {
      return failed("rte_mbuf_dyn_rx_timestamp_register", rte_errno);
    }
  }
  uint16_t rx_descriptors = static_cast<uint16_t>(std::min<uint32_t>(options.rx_descriptors, 65535));
  uint16_t tx_descriptors = 0;
  if (int error = rte_eth_dev_adjust_nb_rx_tx_desc(port.id, &rx_descriptors, &tx_descriptors); error != 0) {
    return failed("rte_eth_dev_adjust_nb_rx_tx_desc", error);
  }
  rte_eth_rxconf rxconf = info.default_rxconf;
  rxconf.offloads = conf.rxmode.offloads;
  const int socket = rte_eth_dev_socket_id(port.id);
  for (uint16_t queue = 0; queue < queues_; ++queue) {
    if (int error = rte_eth_rx_queue_setup(port.id, queue, rx_descriptors, socket < 0 ? SOCKET_ID_ANY : socket,
                                           &rxconf, pool_);
        error != 0) {
      return failed("rte_eth_rx_queue_setup", error);
    }
  }
  if (int error = rte_eth_dev_start(port.id); error != 0) return failed("rte_eth_dev_start", error);
  started_[&port - ports_.data()] = true;
  if (options.promisc) rte_eth_promiscuous_enable(port.id);  // virtual devices may not have it: not an error
  rte_eth_stats_reset(port.id);
  if (port.driver == "net_af_packet") find_packet_sockets(port, static_cast<int>(info.if_index));
  return {};
}

// DPDK 22.11's net_af_packet does not report what its sockets' rings drop (eth_stats_get leaves
// imissed at 0; so does a later upstream version read for this change, DPDK/dpdk commit 004ef6f9,
// one with the RX timestamp offload; its release was not checked).
// The kernel counts it per socket (PACKET_STATISTICS), and the PMD's sockets are fds of this
// process: those bound to the port's interface (the PMD binds one per queue pair at probe, and
// the socket it opens for its ioctls is unbound). Claimed sockets are skipped, so two ports on one
// interface do not count the same socket twice. Their counts so far are discarded, as the port's
// own by rte_eth_stats_reset.
void DpdkSource::find_packet_sockets(Port& port, int if_index) {
  if (if_index <= 0) return;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return;
  const int own = dirfd(dir);
  while (dirent* entry = readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd < 0 || fd == own) continue;
    int domain = 0;
    socklen_t length = sizeof(domain);
    if (getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_DOMAIN, &domain, &length) != 0 || domain != AF_PACKET) {
      continue;
    }
    sockaddr_ll address{};
    length = sizeof(address);
    if (getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&address), &length) != 0 ||
        address.sll_ifindex != if_index) {
      continue;
    }
    const bool claimed = std::any_of(ports_.begin(), ports_.end(), [&](const Port& other) {
      return std::find(other.packet_sockets.begin(), other.packet_sockets.end(), fd) != other.packet_sockets.end();
    });
    if (claimed) continue;
    read_socket_drops(static_cast<int>(fd));
    port.packet_sockets.push_back(static_cast<int>(fd));
  }
  closedir(dir);
}

DpdkSource::~DpdkSource() {
  for (auto& port : ports_) port.packet_sockets.clear();  // rte_eth_dev_stop closes them
  for (size_t i = 0; i < ports_.size(); ++i) {
    if (i < started_.size() && started_[i]) rte_eth_dev_stop(ports_[i].id);
    rte_eth_dev_close(ports_[i].id);
  }
  if (pool_ != nullptr) rte_mempool_free(pool_);
  const std::string runtime_dir = rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  remove_runtime_dir(runtime_dir);
}

std::vector<unsigned> DpdkSource::worker_lcores() const {
  std::vector<unsigned> lcores;
  unsigned lcore = 0;
  RTE_LCORE_FOREACH_WORKER(lcore) { lcores.push_back(lcore); }
  return lcores;
}

bool DpdkSource::launch(unsigned lcore, int (*function)(void*), void* arg) noexcept {
  return rte_eal_remote_launch(function, arg, lcore) == 0;
}

void DpdkSource::wait_lcore(unsigned lcore) noexcept { rte_eal_wait_lcore(lcore); }

void DpdkSource::update_stats() noexcept {
  DpdkCounters total;
  for (const auto& port : ports_) {
    rte_eth_stats stats{};
    if (rte_eth_stats_get(port.id, &stats) != 0) continue;
    total.ipackets += stats.ipackets;
    total.imissed += stats.imissed;
    total.ierrors += stats.ierrors;
    total.rx_nombuf += stats.rx_nombuf;
  }
  for (const auto& port : ports_) {
    for (const int fd : port.packet_sockets) af_packet_drops_ += read_socket_drops(fd);
  }
  total.af_packet_drops = af_packet_drops_;
  dpdk_counters_ = total;
  // What net_af_packet's rings dropped reached the kernel too (libpcap's ps_recv counts it).
  counters_.kernel_packets = total.ipackets + total.af_packet_drops;
  counters_.kernel_drops = total.imissed + total.rx_nombuf + total.af_packet_drops;
  counters_.errors = total.ierrors;
}

DpdkRxQueue::DpdkRxQueue(const DpdkSource& source, uint16_t queue, uint32_t burst_size, uint32_t snaplen)
    : source_(source),
      queue_(queue),
      burst_size_(std::clamp<uint32_t>(burst_size, 1, DpdkSource::kMaxBurst)),
      snaplen_(std::max<uint32_t>(snaplen, 64)),
      scratch_(std::make_unique<uint8_t[]>(size_t{burst_size_} * snaplen_)) {}

DpdkRxQueue::~DpdkRxQueue() { release(); }

void DpdkRxQueue::release() noexcept {
  if (held_count_ > 0) rte_pktmbuf_free_bulk(held_, static_cast<unsigned>(held_count_));
  held_count_ = 0;
}

size_t DpdkRxQueue::next_burst(std::span<Packet> packets) noexcept {
  release();
  const auto& ports = source_.ports();
  const uint16_t wanted = static_cast<uint16_t>(std::min<size_t>(packets.size(), burst_size_));
  if (wanted == 0 || ports.empty()) return 0;
  uint16_t count = 0;
  size_t port_index = 0;
  for (size_t tried = 0; tried < ports.size() && count == 0; ++tried) {  // each port once at most
    port_index = next_port_;
    next_port_ = (next_port_ + 1) % ports.size();
    count = rte_eth_rx_burst(ports[port_index].id, queue_, held_, wanted);
  }
  held_count_ = count;
  if (count == 0) return 0;
  const DpdkSource::Port& port = ports[port_index];
  const bool file_timestamps = port.file_timestamps && source_.timestamp_offset() >= 0;
  const int64_t now_usec = file_timestamps ? 0 : wall_clock_usec();
  for (uint16_t i = 0; i < count; ++i) {
    rte_mbuf* mbuf = held_[i];
    const uint32_t caplen = std::min<uint32_t>(rte_pktmbuf_pkt_len(mbuf), snaplen_);
    const uint8_t* data = rte_pktmbuf_mtod(mbuf, const uint8_t*);
    if (caplen > rte_pktmbuf_data_len(mbuf)) {  // several segments: linearise into the scratch
      uint8_t* slot = scratch_.get() + size_t{i} * snaplen_;
      data = static_cast<const uint8_t*>(rte_pktmbuf_read(mbuf, 0, caplen, slot));
    }
    Packet& packet = packets[i];
    packet = Packet{};
    packet.data = data;
    packet.caplen = data != nullptr ? caplen : 0;
    packet.wirelen = rte_pktmbuf_pkt_len(mbuf);
    if (file_timestamps && (mbuf->ol_flags & source_.timestamp_flag()) != 0) {
      const auto stamp = *RTE_MBUF_DYNFIELD(mbuf, source_.timestamp_offset(), const rte_mbuf_timestamp_t*);
      packet.ts_usec = static_cast<int64_t>(stamp >= kNanosecondStamps ? stamp / 1000 : stamp);
    } else {
      packet.ts_usec = file_timestamps ? wall_clock_usec() : now_usec;
    }
    packet.pcap_cnt = ++next_pcap_cnt_;
    packet.link_type = LinkType::Ethernet;
  }
  return count;
}

}  // namespace eastwatch

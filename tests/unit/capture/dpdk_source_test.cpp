// DpdkSource through DPDK's pcap PMD: a capture file written by the test is read back as a
// DPDK port (no hugepages, no NIC), checking bytes, lengths, timestamps and counters; as root,
// through net_af_packet on a veth in the test's own network namespace, the drops of the PMD's
// socket ring are counted exactly.
// Catch's ctest discovery runs each TEST_CASE in its own process: the EAL initialises once.
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <thread>

#include <array>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "sensor/capture/dpdk_source.hpp"

using namespace eastwatch;

namespace {

std::string temp_path(const std::string& name) { return std::string(EASTWATCH_BINARY_DIR) + "/dpdk_test_" + name; }

struct Frame {
  std::vector<uint8_t> bytes;
  int64_t ts_usec;
};

std::vector<Frame> write_pcap(const std::string& path) {
  std::vector<Frame> frames;
  for (int i = 0; i < 40; ++i) {
    const size_t size = i == 7 ? 3000 : 60 + i;  // one frame longer than an mbuf (2 KB): several segments
    Frame frame{std::vector<uint8_t>(size), 1700000000'000000 + i * 1001};
    for (size_t b = 0; b < size; ++b) frame.bytes[b] = static_cast<uint8_t>(b * 7 + i);
    frames.push_back(std::move(frame));
  }
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
  REQUIRE(dumper);
  for (const auto& frame : frames) {
    pcap_pkthdr header{};
    header.ts.tv_sec = frame.ts_usec / 1000000;
    header.ts.tv_usec = frame.ts_usec % 1000000;
    header.caplen = header.len = static_cast<uint32_t>(frame.bytes.size());
    pcap_dump(reinterpret_cast<u_char*>(dumper), &header, frame.bytes.data());
  }
  pcap_dump_close(dumper);
  pcap_close(dead);
  return frames;
}

bool exists(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0;
}

// Sends `count` frames of the local experimental ethertype out of `interface`, in batches (a
// veth's peer takes them from a backlog of netdev_max_backlog frames); returns how many were sent.
size_t send_frames(const std::string& interface, size_t count) {
  const int fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) return 0;
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = static_cast<int>(if_nametoindex(interface.c_str()));
  to.sll_halen = 6;
  std::array<uint8_t, 64> frame{};
  for (size_t i = 0; i < 6; ++i) frame[i] = 0xff;
  frame[6] = 0x02;
  frame[12] = 0x88;
  frame[13] = 0xb5;
  size_t sent = 0;
  for (size_t i = 0; i < count; ++i) {
    frame[14] = static_cast<uint8_t>(i);
    if (sendto(fd, frame.data(), frame.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof(to)) ==
        static_cast<ssize_t>(frame.size())) {
      ++sent;
    }
    if (i % 100 == 99) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  close(fd);
  return sent;
}

size_t drain(DpdkSource& source) {
  DpdkRxQueue queue(source, 0, 32, 2048);
  std::array<Packet, 32> burst{};
  size_t total = 0;
  for (int idle = 0; idle < 50;) {
    const size_t count = queue.next_burst(burst);
    total += count;
    if (count == 0) {
      ++idle;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  return total;
}

}  // namespace

TEST_CASE("dpdk: a capture file read through net_pcap gives its frames, timestamps and counters") {
  const auto path = temp_path("frames.pcap");
  const auto frames = write_pcap(path);
  const std::string prefix = "ewunit" + std::to_string(getpid());
  DpdkSource::Options options;
  options.eal_args = {"--no-huge", "--no-pci", "-m", "256", "--file-prefix", prefix, "--log-level", "*:error",
                      "--vdev", "net_pcap0,rx_pcap=" + path};
  options.ports = {"net_pcap0"};
  options.rx_queues = 2;  // net_pcap has no RSS: one queue
  options.mbuf_pool_size = 2047;
  options.mbuf_cache_size = 32;
  options.rx_descriptors = 256;
  auto source = DpdkSource::open(options);
  if (!source && geteuid() != 0) {
    WARN("skipped: the DPDK EAL did not start without root: " << source.error());
    return;
  }
  REQUIRE(source);
  CHECK((*source)->queues() == 1);
  CHECK_FALSE((*source)->rss());
  REQUIRE((*source)->ports().size() == 1);
  CHECK((*source)->ports()[0].driver == "net_pcap");
  CHECK((*source)->ports()[0].file_timestamps);

  constexpr uint32_t kSnaplen = 2500;
  {
    DpdkRxQueue queue(**source, 0, 16, kSnaplen);
    std::array<Packet, DpdkSource::kMaxBurst> burst{};
    size_t total = 0;
    for (int empty = 0; empty < 100 && total < frames.size();) {
      const size_t count = queue.next_burst(burst);
      CHECK(count <= 16);
      if (count == 0) ++empty;
      for (size_t i = 0; i < count && total + i < frames.size(); ++i) {
        const Frame& want = frames[total + i];
        const Packet& got = burst[i];
        const uint32_t caplen = std::min<uint32_t>(static_cast<uint32_t>(want.bytes.size()), kSnaplen);
        CHECK(got.pcap_cnt == total + i + 1);
        CHECK(got.wirelen == want.bytes.size());
        REQUIRE(got.caplen == caplen);
        CHECK(std::equal(got.data, got.data + caplen, want.bytes.begin()));
        CHECK(got.ts_usec == want.ts_usec);
        CHECK(got.link_type == LinkType::Ethernet);
      }
      total += count;
    }
    CHECK(total == frames.size());
    CHECK(queue.next_burst(burst) == 0);  // the end of the file
    CHECK(queue.frames_read() == frames.size());
  }
  (*source)->update_stats();
  CHECK((*source)->counters().kernel_packets == frames.size());
  CHECK((*source)->counters().kernel_drops == 0);
  CHECK((*source)->dpdk_counters().ipackets == frames.size());
  CHECK((*source)->dpdk_counters().rx_nombuf == 0);

  source->reset();  // ports closed, EAL cleaned up, runtime directory removed
  CHECK_FALSE(exists("/var/run/dpdk/" + prefix));
  auto again = DpdkSource::open(options);
  REQUIRE_FALSE(again);
  CHECK(again.error() == "dpdk: EAL: already initialised");
}

TEST_CASE("dpdk: a source without ports fails before the EAL starts") {
  DpdkSource::Options options;
  auto source = DpdkSource::open(options);
  REQUIRE_FALSE(source);
  CHECK(source.error() == "dpdk: no ports (expected capture.dpdk.ports)");
}

TEST_CASE("dpdk: net_af_packet counts what its socket ring dropped as received and dropped") {
  if (geteuid() != 0 || std::system("ip -V >/dev/null 2>&1") != 0) {
    WARN("skipped: needs root and iproute2 (a veth pair in a network namespace)");
    return;
  }
  // A network namespace of this process's own: nothing but the test's frames on the veth (no
  // IPv6 router solicitations), and it goes with the process.
  if (unshare(CLONE_NEWNET) != 0) {
    WARN("skipped: no network namespace of its own (unshare: " << std::strerror(errno) << ")");
    return;
  }
  REQUIRE(std::system("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 && "
                      "ip link add ewafa type veth peer name ewafb && ip link set ewafa up && "
                      "ip link set ewafb up") == 0);
  const std::string prefix = "ewunitaf" + std::to_string(getpid());
  DpdkSource::Options options;
  // A ring of 64 frames (2 KB each, 2 to a 4 KB block).
  options.eal_args = {"--no-huge", "--no-pci", "-m", "256", "--file-prefix", prefix, "--log-level", "*:error",
                      "--vdev", "net_af_packet0,iface=ewafa,framecnt=64,blocksz=4096,framesz=2048"};
  options.ports = {"net_af_packet0"};
  options.mbuf_pool_size = 2047;
  options.mbuf_cache_size = 32;
  options.rx_descriptors = 256;
  auto opened = DpdkSource::open(options);
  REQUIRE(opened);
  DpdkSource& source = **opened;
  REQUIRE(source.ports().size() == 1);
  CHECK(source.ports()[0].driver == "net_af_packet");
  CHECK(source.ports()[0].packet_sockets.size() == 1);  // one queue pair, one socket

  // Nothing reads the ring while 1000 frames arrive: it keeps 64, the kernel drops 936.
  REQUIRE(send_frames("ewafb", 1000) == 1000);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(drain(source) == 64);
  source.update_stats();
  CHECK(source.dpdk_counters().ipackets == 64);
  CHECK(source.dpdk_counters().imissed == 0);  // DPDK 22.11's PMD counts none of it
  CHECK(source.dpdk_counters().af_packet_drops == 936);
  CHECK(source.counters().kernel_packets == 1000);
  CHECK(source.counters().kernel_drops == 936);

  // The kernel's counters reset on each read: the drops accumulate, none counted twice.
  REQUIRE(send_frames("ewafb", 100) == 100);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(drain(source) == 64);
  source.update_stats();
  source.update_stats();
  CHECK(source.counters().kernel_packets == 1100);
  CHECK(source.counters().kernel_drops == 972);
  CHECK(source.dpdk_counters().af_packet_drops == 972);
}

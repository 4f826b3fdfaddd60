// DpdkSource through DPDK's pcap PMD: a capture file written by the test is read back as a
// DPDK port (no hugepages, no NIC), checking bytes, lengths, timestamps and counters.
// Catch's ctest discovery runs each TEST_CASE in its own process: the EAL initialises once.
#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>

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

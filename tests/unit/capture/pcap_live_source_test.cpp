// Live capture through libpcap: a missing interface fails with libpcap's reason; as root, frames
// sent over the loopback interface are read back with their bytes and kernel counters.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <string>

#include <catch2/catch.hpp>

#include "sensor/capture/pcap_live_source.hpp"

using namespace eastwatch;

TEST_CASE("opening an interface that does not exist fails with libpcap's reason") {
  PcapLiveSource::Options options;
  options.interface = "ew-no-such0";
  auto source = PcapLiveSource::open(options);
  REQUIRE_FALSE(source);
  CHECK(source.error().rfind("cannot open interface 'ew-no-such0': ", 0) == 0);
  CHECK(source.error().size() > std::string("cannot open interface 'ew-no-such0': ").size());
}

TEST_CASE("a bad BPF filter is reported") {
  if (geteuid() != 0) {
    WARN("skipped: capturing on lo needs root");
    return;
  }
  PcapLiveSource::Options options;
  options.interface = "lo";
  options.bpf_filter = "port nonsense and (";
  auto source = PcapLiveSource::open(options);
  REQUIRE_FALSE(source);
  CHECK(source.error().find("bad bpf-filter") != std::string::npos);
}

TEST_CASE("frames sent over loopback are captured, filtered by BPF, and counted by the kernel") {
  if (geteuid() != 0) {
    WARN("skipped: capturing on lo needs root");
    return;
  }
  PcapLiveSource::Options options;
  options.interface = "lo";
  options.buffer_size = 4ull << 20;
  options.bpf_filter = "udp and dst port 39181";
  options.timeout_ms = 10;
  auto source = PcapLiveSource::open(options);
  REQUIRE(source);
  CHECK((*source)->link_type() == LinkType::Ethernet);

  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(39181);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const char marker[] = "eastwatch-live-capture-test";
  for (int i = 0; i < 5; ++i) {
    REQUIRE(sendto(fd, marker, sizeof marker, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) > 0);
  }
  sendto(fd, "other", 5, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);  // to the same port: also captured
  close(fd);

  std::array<Packet, 16> burst{};
  size_t got = 0;
  bool marker_seen = false;
  uint64_t last_cnt = 0;
  for (int round = 0; round < 300 && got < 6; ++round) {  // bounded: up to 300 waits of 10 ms
    const size_t count = (*source)->next_burst(burst, 10);
    for (size_t i = 0; i < count; ++i) {
      CHECK(burst[i].pcap_cnt == last_cnt + 1);
      last_cnt = burst[i].pcap_cnt;
      const auto frame = burst[i].frame();
      const std::string text(reinterpret_cast<const char*>(frame.data()), frame.size());
      if (text.find(marker) != std::string::npos) marker_seen = true;
    }
    got += count;
  }
  CHECK(got == 6);
  CHECK(marker_seen);
  CHECK((*source)->error().empty());
  (*source)->update_stats();
  CHECK((*source)->counters().kernel_packets >= 6);
}

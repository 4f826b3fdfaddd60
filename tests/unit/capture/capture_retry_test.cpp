// Interface failures: the back-off doubles to its maximum and starts over after a reset;
// capture.retry-delay / retry-max load as durations and bad values are reported as
// FILE:LINE: key: what is wrong; and (as root) a source on a veth keeps its socket while the link
// is down (check_link says how) and captures again on up; deleted, it closes itself, keeps its
// counters, cannot reopen while the interface is gone, and captures again once it is recreated.
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "config/config_loader.hpp"
#include "sensor/capture/pcap_live_source.hpp"
#include "sensor/capture/retry_backoff.hpp"

using namespace eastwatch;

namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = std::string(EASTWATCH_BINARY_DIR) + "/capture_retry_test_" + name + ".yaml";
  std::ofstream(path) << text;
  return path;
}

bool run(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }

// Sends `count` Ethernet frames (EtherType 0x88b5, local experimental) out of `interface`.
int send_frames(const std::string& interface, int count) {
  const int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  if (fd < 0) return 0;
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = static_cast<int>(if_nametoindex(interface.c_str()));
  to.sll_halen = 6;
  std::array<uint8_t, 60> frame{};
  std::memset(frame.data(), 0xff, 6);                      // broadcast
  const uint8_t source[6] = {0x02, 0, 0, 0, 0, 0x01};
  std::memcpy(frame.data() + 6, source, 6);
  frame[12] = 0x88;
  frame[13] = 0xb5;
  std::memcpy(frame.data() + 14, "eastwatch-retry", 15);
  int sent = 0;
  for (int i = 0; i < count; ++i) {
    if (sendto(fd, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) > 0) ++sent;
  }
  close(fd);
  return sent;
}

// Reads until `want` frames arrived or the source failed (bounded: 200 waits of 10 ms).
size_t read_frames(PcapLiveSource& source, size_t want) {
  std::array<Packet, 16> burst{};
  size_t got = 0;
  for (int round = 0; round < 200 && got < want && source.is_open(); ++round) got += source.next_burst(burst, 10);
  return got;
}

}  // namespace

TEST_CASE("the reopen back-off doubles up to its maximum and starts over after a reset") {
  RetryBackoff backoff(500, 30000);
  const uint32_t expected[] = {500, 1000, 2000, 4000, 8000, 16000, 30000, 30000};
  for (uint32_t delay : expected) CHECK(backoff.next_delay_ms() == delay);
  CHECK(backoff.attempts() == 8);
  backoff.reset();
  CHECK(backoff.attempts() == 0);
  CHECK(backoff.next_delay_ms() == 500);
  RetryBackoff flat(2000, 1000);  // a maximum below the first wait: the first wait throughout
  CHECK(flat.next_delay_ms() == 2000);
  CHECK(flat.next_delay_ms() == 2000);
}

TEST_CASE("capture.retry-delay and retry-max load as durations") {
  auto defaults = load_settings(std::nullopt, {});
  if (!defaults) {
    for (const auto& error : defaults.error()) INFO(error.message);
  }
  REQUIRE(defaults);
  CHECK(defaults->capture.retry_delay_ms == CaptureSettings{}.retry_delay_ms);
  CHECK(defaults->capture.retry_max_ms == CaptureSettings{}.retry_max_ms);
  auto settings = load_settings(write_temp("good", "capture:\n  retry-delay: 250ms\n  retry-max: 2m\n"), {});
  REQUIRE(settings);
  CHECK(settings->capture.retry_delay_ms == 250);
  CHECK(settings->capture.retry_max_ms == 120000);
  auto plain = load_settings(std::nullopt, {"capture.retry-delay=2", "capture.retry-max=10s"});
  REQUIRE(plain);
  CHECK(plain->capture.retry_delay_ms == 2000);
  CHECK(plain->capture.retry_max_ms == 10000);
}

TEST_CASE("bad capture.retry-* values are reported with file, line and key") {
  const auto path = write_temp("bad", "capture:\n  retry-delay: soon\n  retry-max: 5ms\n");
  auto settings = load_settings(path, {});
  REQUIRE_FALSE(settings);
  REQUIRE(settings.error().size() == 2);
  CHECK(settings.error()[0].message ==
        path + ":2: capture.retry-delay: 'soon' is not valid (expected a duration from 10ms to 3600s, such as 500ms, "
               "30s or 2m)");
  CHECK(settings.error()[1].message.rfind(path + ":3: capture.retry-max: '5ms' is not valid", 0) == 0);
  auto shorter = load_settings(write_temp("shorter", "capture:\n  retry-delay: 10s\n  retry-max: 1s\n"), {});
  REQUIRE_FALSE(shorter);
  REQUIRE(shorter.error().size() == 1);
  CHECK(shorter.error()[0].message.find(":3: capture.retry-max: is shorter than capture.retry-delay") !=
        std::string::npos);
}

TEST_CASE("a veth taken down, or deleted and recreated, closes the source and it reopens once back") {
  if (geteuid() != 0 || !run("ip -V")) {
    WARN("skipped: needs root and iproute2 (a veth pair)");
    return;
  }
  const std::string a = "ewrt" + std::to_string(getpid() % 100000) + "a";
  const std::string b = "ewrt" + std::to_string(getpid() % 100000) + "b";
  const std::string create = "ip link add " + a + " type veth peer name " + b + " && ip link set " + a +
                             " up && ip link set " + b + " up";
  run("ip link del " + a);
  REQUIRE(run(create));
  PcapLiveSource::Options options;
  options.interface = a;
  options.buffer_size = 2ull << 20;
  options.timeout_ms = 10;
  options.bpf_filter = "ether proto 0x88b5";
  auto opened = PcapLiveSource::open(options);
  REQUIRE(opened);
  PcapLiveSource& source = **opened;

  REQUIRE(send_frames(b, 3) == 3);
  CHECK(read_frames(source, 3) == 3);
  CHECK(source.is_open());

  CHECK(source.check_link() == LinkState::Up);
  REQUIRE(run("ip link set " + a + " down"));  // the socket stays: the kernel resumes it on up
  std::array<Packet, 16> burst{};
  for (int round = 0; round < 20; ++round) source.next_burst(burst, 10);
  CHECK(source.is_open());
  CHECK(source.error().empty());
  CHECK(source.check_link() == LinkState::AdminDown);
  CHECK(source.reopen_counters().interface_down == 1);
  REQUIRE(run("ip link set " + b + " down"));  // and its peer: no carrier either once up
  REQUIRE(run("ip link set " + a + " up"));
  CHECK(source.check_link() == LinkState::NoCarrier);
  CHECK(source.reopen_counters().interface_down == 1);  // still the same down period
  REQUIRE(run("ip link set " + b + " up"));
  for (int round = 0; round < 100 && source.check_link() != LinkState::Up; ++round) usleep(10000);
  CHECK(source.check_link() == LinkState::Up);
  REQUIRE(send_frames(b, 2) == 2);
  CHECK(read_frames(source, 2) == 2);

  REQUIRE(run("ip link del " + a));  // deleted: its peer goes with it
  for (int round = 0; round < 100 && source.is_open(); ++round) source.next_burst(burst, 10);
  CHECK_FALSE(source.is_open());
  CHECK(source.link_state() == LinkState::Closed);
  CHECK(source.reopen_counters().interface_down == 2);
  CHECK(source.next_burst(burst, 10) == 0);  // closed: returns at once
  CHECK_FALSE(source.reopen());              // no such device
  CHECK(source.error().find("cannot open interface '" + a + "'") == 0);
  REQUIRE(run(create));
  REQUIRE(source.reopen());
  CHECK(source.error().empty());
  for (int round = 0; round < 100 && source.check_link() != LinkState::Up; ++round) usleep(10000);
  CHECK(source.link_state() == LinkState::Up);
  REQUIRE(send_frames(b, 4) == 4);
  std::array<Packet, 16> last{};
  size_t got = 0;
  uint64_t last_cnt = 0;
  for (int round = 0; round < 200 && got < 4; ++round) {
    const size_t count = source.next_burst(last, 10);
    for (size_t i = 0; i < count; ++i) last_cnt = last[i].pcap_cnt;
    got += count;
  }
  CHECK(got == 4);
  CHECK(last_cnt == 9);  // numbered across reopens: 3 + 2 + 4
  source.update_stats();
  CHECK(source.reopen_counters().interface_down == 2);
  CHECK(source.reopen_counters().reopens == 1);
  CHECK(source.counters().kernel_packets >= 9);  // the closed handle's count is kept
  CHECK(source.counters().errors == 1);
  run("ip link del " + a);
}

// capture.mode and capture.dpdk: the embedded defaults equal the built-in ones, a full section
// loads, and each bad value is reported as FILE:LINE: key: what is wrong (expected ...).
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "config/config_loader.hpp"

using namespace eastwatch;

namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = std::string(EASTWATCH_BINARY_DIR) + "/dpdk_config_test_" + name + ".yaml";
  std::ofstream(path) << text;
  return path;
}

std::vector<std::string> messages(const std::vector<ConfigError>& errors) {
  std::vector<std::string> out;
  for (const auto& error : errors) out.push_back(error.message);
  return out;
}

}  // namespace

TEST_CASE("the embedded capture.dpdk defaults are the built-in ones") {
  auto settings = load_settings(std::nullopt, {});
  REQUIRE(settings);
  const DpdkSettings defaults;
  const DpdkSettings& dpdk = settings->capture.dpdk;
  CHECK(settings->capture.mode == CaptureMode::Pcap);
  CHECK(dpdk.eal_args == defaults.eal_args);
  CHECK(dpdk.ports == defaults.ports);
  CHECK(dpdk.rx_queues == defaults.rx_queues);
  CHECK(dpdk.mbuf_pool_size == defaults.mbuf_pool_size);
  CHECK(dpdk.mbuf_cache_size == defaults.mbuf_cache_size);
  CHECK(dpdk.rx_descriptors == defaults.rx_descriptors);
  CHECK(dpdk.burst_size == defaults.burst_size);
  CHECK(dpdk.idle_exit == defaults.idle_exit);
}

TEST_CASE("a capture.dpdk section loads into DpdkSettings") {
  const auto path = write_temp("good", R"(capture:
  mode: DPDK
  workers: 2
  dpdk:
    eal-args: [--no-huge, --no-pci, -m, "512", --vdev, "net_pcap0,rx_pcap=a.pcap"]
    ports: [net_pcap0, "0000:00:05.0"]
    rx-queues: 2
    mbuf-pool-size: 8191
    mbuf-cache-size: 128
    rx-descriptors: 512
    burst-size: 64
    idle-exit: 3
)");
  auto settings = load_settings(path, {});
  REQUIRE(settings);
  const DpdkSettings& dpdk = settings->capture.dpdk;
  CHECK(settings->capture.mode == CaptureMode::Dpdk);
  CHECK(dpdk.eal_args == std::vector<std::string>{"--no-huge", "--no-pci", "-m", "512", "--vdev",
                                                  "net_pcap0,rx_pcap=a.pcap"});
  CHECK(dpdk.ports == std::vector<std::string>{"net_pcap0", "0000:00:05.0"});
  CHECK(dpdk.rx_queues == 2);
  CHECK(dpdk.mbuf_pool_size == 8191);
  CHECK(dpdk.mbuf_cache_size == 128);
  CHECK(dpdk.rx_descriptors == 512);
  CHECK(dpdk.burst_size == 64);
  CHECK(dpdk.idle_exit == 3);

  auto overridden = load_settings(std::nullopt, {"capture.mode=dpdk", "capture.dpdk.ports=[net_null0]"});
  REQUIRE(overridden);
  CHECK(overridden->capture.mode == CaptureMode::Dpdk);
  CHECK(overridden->capture.dpdk.ports == std::vector<std::string>{"net_null0"});
}

TEST_CASE("bad capture.dpdk values are reported with file and line") {
  const auto path = write_temp("bad", R"(capture:
  mode: netmap
  dpdk:
    eal-args: {a: b}
    rx-queues: 65
    mbuf-pool-size: 2047
    mbuf-cache-size: 2000
    rx-descriptors: 16
    burst-size: 0
    idle-exit: soon
    lcores: 4
)");
  auto settings = load_settings(path, {});
  REQUIRE_FALSE(settings);
  const auto errors = messages(settings.error());
  const auto has = [&](const std::string& text) {
    return std::find(errors.begin(), errors.end(), text) != errors.end();
  };
  CHECK(has(path + ":2: capture.mode: 'netmap' is not a capture mode (expected pcap or dpdk)"));
  CHECK(has(path + ":4: capture.dpdk.eal-args: expected a list of strings"));
  CHECK(has(path + ":5: capture.dpdk.rx-queues: '65' is not valid (expected an integer from 0 to 64)"));
  CHECK(has(path + ":7: capture.dpdk.mbuf-cache-size: '2000' is not valid (expected an integer from 0 to 512)"));
  CHECK(has(path + ":8: capture.dpdk.rx-descriptors: '16' is not valid (expected an integer from 32 to 65536)"));
  CHECK(has(path + ":9: capture.dpdk.burst-size: '0' is not valid (expected an integer from 1 to 64)"));
  CHECK(has(path + ":10: capture.dpdk.idle-exit: 'soon' is not valid (expected an integer from 0 to 86400)"));
  CHECK(has(path + ":11: capture.dpdk.lcores: unknown key (expected one of: eal-args, ports, rx-queues, "
                   "mbuf-pool-size, mbuf-cache-size, rx-descriptors, burst-size, idle-exit)"));
  CHECK(errors.size() == 8);
}

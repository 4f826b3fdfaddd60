// The vm-detect: keys of the detectors sids 2, 3, 4, 6, 7: defaults equal the embedded yaml,
// --set overrides, and range/unknown-key errors name the key.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "config/config_loader.hpp"

using namespace eastwatch;

namespace {

std::vector<std::string> errors_of(const std::vector<std::string>& overrides) {
  auto settings = load_settings(std::nullopt, overrides);
  std::vector<std::string> out;
  if (!settings) {
    for (const auto& error : settings.error()) out.push_back(error.message);
  }
  return out;
}

bool any_contains(const std::vector<std::string>& messages, const std::string& text) {
  for (const auto& message : messages) {
    if (message.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("vm-detect defaults: the embedded yaml equals settings.hpp") {
  auto settings = load_settings(std::nullopt, {});
  REQUIRE(settings);
  const VmDetectSettings defaults;
  const VmDetectSettings& got = settings->vm_detect;
  CHECK(got.mac_spoofing == defaults.mac_spoofing);
  CHECK(got.rogue_dhcp == defaults.rogue_dhcp);
  CHECK(got.rogue_ra == defaults.rogue_ra);
  CHECK(got.scan == defaults.scan);
  CHECK(got.scan_ports == defaults.scan_ports);
  CHECK(got.scan_hosts == defaults.scan_hosts);
  CHECK(got.scan_seconds == defaults.scan_seconds);
  CHECK(got.brute_force == defaults.brute_force);
  CHECK(got.brute_force_connections == defaults.brute_force_connections);
  CHECK(got.brute_force_seconds == defaults.brute_force_seconds);
  CHECK(defaults.scan_ports == 20);
  CHECK(defaults.scan_hosts == 10);
  CHECK(defaults.brute_force_connections == 10);
}

TEST_CASE("vm-detect keys of sids 2, 3, 4, 6, 7 are set with --set") {
  auto settings = load_settings(std::nullopt, {"vm-detect.mac-spoofing.enabled=no", "vm-detect.rogue-dhcp.enabled=no",
                                               "vm-detect.rogue-ra.enabled=no", "vm-detect.scan.ports=5",
                                               "vm-detect.scan.hosts=3", "vm-detect.scan.seconds=30",
                                               "vm-detect.brute-force.connections=4",
                                               "vm-detect.brute-force.seconds=20", "vm-detect.brute-force.enabled=no"});
  REQUIRE(settings);
  const VmDetectSettings& got = settings->vm_detect;
  CHECK_FALSE(got.mac_spoofing);
  CHECK_FALSE(got.rogue_dhcp);
  CHECK_FALSE(got.rogue_ra);
  CHECK(got.scan);
  CHECK(got.scan_ports == 5);
  CHECK(got.scan_hosts == 3);
  CHECK(got.scan_seconds == 30);
  CHECK_FALSE(got.brute_force);
  CHECK(got.brute_force_connections == 4);
  CHECK(got.brute_force_seconds == 20);
}

TEST_CASE("vm-detect: out-of-range values and unknown keys are errors naming the key") {
  CHECK(any_contains(errors_of({"vm-detect.scan.ports=64"}), "vm-detect.scan.ports"));
  CHECK(any_contains(errors_of({"vm-detect.scan.hosts=0"}), "vm-detect.scan.hosts"));
  CHECK(any_contains(errors_of({"vm-detect.brute-force.connections=0"}), "vm-detect.brute-force.connections"));
  CHECK(any_contains(errors_of({"vm-detect.scan.window=5"}), "vm-detect.scan"));
  CHECK(errors_of({"vm-detect.scan.ports=63"}).empty());
}

TEST_CASE("vm-detect: the learned-binding and gratuitous-flood keys of sids 1 and 2") {
  auto defaults_loaded = load_settings(std::nullopt, {});
  REQUIRE(defaults_loaded);
  const VmDetectSettings defaults;
  const VmDetectSettings& embedded = defaults_loaded->vm_detect;
  CHECK(embedded.learn_bindings == defaults.learn_bindings);
  CHECK(embedded.binding_memcap == defaults.binding_memcap);
  CHECK(embedded.binding_timeout == defaults.binding_timeout);
  CHECK(embedded.garp_flood_count == defaults.garp_flood_count);
  CHECK(embedded.garp_flood_seconds == defaults.garp_flood_seconds);
  CHECK(embedded.learn_segments == defaults.learn_segments);
  CHECK(embedded.segment_memcap == defaults.segment_memcap);
  CHECK(embedded.segment_timeout == defaults.segment_timeout);
  auto settings = load_settings(std::nullopt, {"vm-detect.arp-spoofing.learn=no", "vm-detect.arp-spoofing.memcap=8mb",
                                               "vm-detect.arp-spoofing.timeout=600",
                                               "vm-detect.arp-spoofing.gratuitous-flood.count=3",
                                               "vm-detect.arp-spoofing.gratuitous-flood.seconds=5",
                                               "vm-detect.mac-spoofing.learn=no", "vm-detect.mac-spoofing.memcap=128kb",
                                               "vm-detect.mac-spoofing.timeout=60"});
  REQUIRE(settings);
  const VmDetectSettings& got = settings->vm_detect;
  CHECK(got.arp_spoofing);
  CHECK_FALSE(got.learn_bindings);
  CHECK(got.binding_memcap == 8ull << 20);
  CHECK(got.binding_timeout == 600);
  CHECK(got.garp_flood_count == 3);
  CHECK(got.garp_flood_seconds == 5);
  CHECK_FALSE(got.learn_segments);
  CHECK(got.segment_memcap == 128ull << 10);
  CHECK(got.segment_timeout == 60);
  CHECK(any_contains(errors_of({"vm-detect.arp-spoofing.memcap=1kb"}), "vm-detect.arp-spoofing.memcap"));
  CHECK(any_contains(errors_of({"vm-detect.arp-spoofing.timeout=0"}), "vm-detect.arp-spoofing.timeout"));
  CHECK(any_contains(errors_of({"vm-detect.arp-spoofing.gratuitous-flood.count=0"}),
                     "vm-detect.arp-spoofing.gratuitous-flood.count"));
  CHECK(any_contains(errors_of({"vm-detect.arp-spoofing.flood=1"}), "vm-detect.arp-spoofing.flood"));
  CHECK(any_contains(errors_of({"vm-detect.mac-spoofing.learn=maybe"}), "vm-detect.mac-spoofing.learn"));
}

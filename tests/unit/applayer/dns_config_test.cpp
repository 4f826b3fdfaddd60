// The app-layer.dns keys: defaults equal to the embedded yaml, values, and errors with their text.
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "config/config_loader.hpp"

using namespace eastwatch;

TEST_CASE("dns config: the embedded defaults equal the built-in ones") {
  auto settings = load_settings(std::nullopt, {});
  REQUIRE(settings);
  const AppLayerDnsSettings defaults;
  CHECK(settings->app_layer.dns.global_memcap == defaults.global_memcap);
  CHECK(settings->app_layer.dns.tcp_buffer_size == defaults.tcp_buffer_size);
  CHECK(settings->app_layer.dns.tcp_enabled == defaults.tcp_enabled);
  CHECK(settings->app_layer.dns.udp_enabled == defaults.udp_enabled);
}

TEST_CASE("dns config: values and errors") {
  auto settings = load_settings(std::nullopt, {"app-layer.dns.global-memcap=2mb", "app-layer.dns.tcp.buffer-size=8kb",
                                               "app-layer.dns.udp.enabled=no"});
  REQUIRE(settings);
  CHECK(settings->app_layer.dns.global_memcap == 2u << 20);
  CHECK(settings->app_layer.dns.tcp_buffer_size == 8192);
  CHECK_FALSE(settings->app_layer.dns.udp_enabled);
  CHECK(settings->app_layer.dns.tcp_enabled);

  auto bad = load_settings(std::nullopt, {"app-layer.dns.tcp.buffer-size=1mb"});
  REQUIRE_FALSE(bad);
  REQUIRE(bad.error().size() == 1);
  CHECK(bad.error()[0].message ==
        "--set app-layer.dns.tcp.buffer-size=1mb: '1mb' is too large (expected at most 65535, a DNS message's longest)");

  const std::string path = std::string(EASTWATCH_BINARY_DIR) + "/dns_config_test.yaml";
  std::ofstream(path) << "app-layer:\n  dns:\n    udp:\n      enabled: maybe\n      ports: 53\n";
  auto file = load_settings(path, {});
  REQUIRE_FALSE(file);
  REQUIRE(file.error().size() == 2);
  CHECK(file.error()[0].message == path + ":5: app-layer.dns.udp.ports: unknown key (expected one of: enabled)");
  CHECK(file.error()[1].message ==
        path + ":4: app-layer.dns.udp.enabled: 'maybe' is not a boolean (expected yes/no, true/false or on/off)");
}

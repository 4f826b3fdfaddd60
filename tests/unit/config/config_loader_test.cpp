#include <cstdio>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "config/config_loader.hpp"
#include "signatures/variables.hpp"

using namespace eastwatch;

namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = std::string(EASTWATCH_BINARY_DIR) + "/config_test_" + name + ".yaml";
  std::ofstream(path) << text;
  return path;
}

std::vector<std::string> messages(const std::vector<ConfigError>& errors) {
  std::vector<std::string> out;
  for (const auto& error : errors) out.push_back(error.message);
  return out;
}

}  // namespace

TEST_CASE("the embedded default config loads and matches the built-in defaults") {
  auto settings = load_settings(std::nullopt, {});
  REQUIRE(settings);
  const Settings defaults;
  CHECK(settings->source_file == "<embedded eastwatch.yaml>");
  CHECK(settings->log_dir == defaults.log_dir);
  CHECK(settings->flow.memcap == defaults.flow.memcap);
  CHECK(settings->flow.hash_size == defaults.flow.hash_size);
  CHECK(settings->flow.prealloc == defaults.flow.prealloc);
  CHECK(settings->flow.tcp.established_seconds == defaults.flow.tcp.established_seconds);
  CHECK(settings->flow.tcp.emergency_closed_seconds == defaults.flow.tcp.emergency_closed_seconds);
  CHECK(settings->flow.udp.new_seconds == defaults.flow.udp.new_seconds);
  CHECK(settings->flow.other.established_seconds == defaults.flow.other.established_seconds);
  CHECK(settings->detect.max_alerts_per_packet == defaults.detect.max_alerts_per_packet);
  CHECK(settings->detect.xbits_table_size == defaults.detect.xbits_table_size);
  CHECK(settings->eve.enabled);
  CHECK(settings->eve.filename == "eve.json");
  CHECK_FALSE(settings->eve.alert_payload);
  CHECK(settings->fast.filename == "fast.log");
  CHECK(settings->rule_files == std::vector<std::string>{"eastwatch.rules", "lateral-movement.rules"});
  CHECK_FALSE(settings->sensor_name.empty());  // the hostname when not configured
}

TEST_CASE("the embedded rule variables are Suricata's defaults and identical to the built-in table") {
  auto settings = load_settings(std::nullopt, {});
  REQUIRE(settings);
  const RuleVariables builtin = RuleVariables::with_suricata_defaults();
  for (const auto& [name, value] : settings->variables.address_groups) {
    INFO(name);
    REQUIRE(builtin.address_groups.count(name) == 1);
    CHECK(builtin.address_groups.at(name) == value);
  }
  for (const auto& [name, value] : settings->variables.port_groups) {
    INFO(name);
    REQUIRE(builtin.port_groups.count(name) == 1);
    CHECK(builtin.port_groups.at(name) == value);
  }
  CHECK(settings->variables.address_groups.at("HOME_NET") == "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]");
  CHECK(settings->variables.port_groups.at("HTTP_PORTS") == "80");
}

TEST_CASE("a config file sets values and sizes and booleans") {
  const auto path = write_temp("valid", R"(
sensor: {name: esx-01-sensor}
flow:
  memcap: 64mb
  hash-size: 4096
flow-timeouts:
  tcp: {established: 120}
outputs:
  eve:
    alert: {payload: yes, payload-printable: on, packet: true}
  fast: {enabled: no}
vars:
  address-groups:
    HOME_NET: "[10.20.0.0/16]"
)");
  auto settings = load_settings(path, {});
  REQUIRE(settings);
  CHECK(settings->sensor_name == "esx-01-sensor");
  CHECK(settings->flow.memcap == 64ull << 20);
  CHECK(settings->flow.hash_size == 4096);
  CHECK(settings->flow.tcp.established_seconds == 120);
  CHECK(settings->flow.tcp.new_seconds == Settings{}.flow.tcp.new_seconds);
  CHECK(settings->eve.alert_payload);
  CHECK(settings->eve.alert_payload_printable);
  CHECK(settings->eve.alert_packet);
  CHECK_FALSE(settings->fast.enabled);
  CHECK(settings->variables.address_groups.at("HOME_NET") == "[10.20.0.0/16]");
}

TEST_CASE("every problem is reported with file and line and key") {
  const auto path = write_temp("bad", R"(flow:
  memcap: lots
  hash-size: 12
  bogus: 1
outputs:
  eve:
    alert: {payload: maybe}
detect:
  max-alerts-per-packet: -3
)");
  auto settings = load_settings(path, {});
  REQUIRE_FALSE(settings);
  const auto errors = messages(settings.error());
  REQUIRE(errors.size() == 5);
  CHECK(errors[0] == path + ":4: flow.bogus: unknown key (expected one of: memcap, hash-size, prealloc, emergency-recovery)");
  CHECK(errors[1] == path + ":2: flow.memcap: 'lots' is not a size (expected a number with an optional kb, mb or gb suffix)");
  CHECK(errors[2] == path + ":3: flow.hash-size: '12' is not valid (expected an integer from 1024 to 67108864)");
  CHECK(errors[3] == path + ":9: detect.max-alerts-per-packet: '-3' is not valid (expected an integer from 1 to 1000)");
  CHECK(errors[4] == path + ":7: outputs.eve.alert.payload: 'maybe' is not a boolean (expected yes/no, true/false or on/off)");
}

TEST_CASE("unknown top-level keys and YAML syntax errors and missing files are errors") {
  auto unknown = load_settings(write_temp("unknown", "flows:\n  memcap: 1mb\n"), {});
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error()[0].message.find(":1: flows: unknown key (expected one of: sensor,") != std::string::npos);

  const auto syntax_path = write_temp("syntax", "flow:\n  memcap: [1mb\n");
  auto syntax = load_settings(syntax_path, {});
  REQUIRE_FALSE(syntax);
  CHECK(syntax.error()[0].message.rfind(syntax_path + ":", 0) == 0);
  CHECK(syntax.error()[0].message.find("YAML syntax error") != std::string::npos);

  auto missing = load_settings(std::string("/nonexistent/eastwatch.yaml"), {});
  REQUIRE_FALSE(missing);
  CHECK(missing.error()[0].message == "/nonexistent/eastwatch.yaml: cannot open the config file");
}

TEST_CASE("overrides with --set overrides any key and and a bad override names itself") {
  auto settings = load_settings(std::nullopt, {"flow.memcap=256mb", "outputs.eve.alert.payload=yes",
                                               "vars.address-groups.HOME_NET=[10.20.0.0/16]",
                                               "rule-files=[a.rules, b.rules]"});
  REQUIRE(settings);
  CHECK(settings->flow.memcap == 256ull << 20);
  CHECK(settings->eve.alert_payload);
  CHECK(settings->variables.address_groups.at("HOME_NET") == "[10.20.0.0/16]");
  CHECK(settings->rule_files == std::vector<std::string>{"a.rules", "b.rules"});

  auto bad = load_settings(std::nullopt, {"flow.memcap=huge"});
  REQUIRE_FALSE(bad);
  REQUIRE(bad.error().size() == 1);
  CHECK(bad.error()[0].message ==
        "--set flow.memcap=huge: 'huge' is not a size (expected a number with an optional kb, mb or gb suffix)");

  auto unknown = load_settings(std::nullopt, {"flow.memcapp=1mb"});
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error()[0].message.rfind("--set flow.memcapp=1mb: unknown key", 0) == 0);
}

TEST_CASE("detect.xbits-table-size is read and bounded") {
  auto settings = load_settings(write_temp("xbits", "detect:\n  xbits-table-size: 1024\n"), {});
  REQUIRE(settings);
  CHECK(settings->detect.xbits_table_size == 1024);
  auto bad = load_settings(write_temp("xbits_bad", "detect:\n  xbits-table-size: 8\n"), {});
  CHECK_FALSE(bad);
}

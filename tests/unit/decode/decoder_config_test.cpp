// The decoder: section of the config (Suricata's vxlan/geneve/erspan keys, Eastwatch's rspan):
// the embedded defaults equal DecoderSettings{}, values and port variables parse, and every bad
// value is reported as FILE:LINE: key: what is wrong (expected ...).
#include <catch2/catch.hpp>

#include <fstream>

#include "config/config_loader.hpp"

using namespace eastwatch;

namespace {

std::vector<std::string> messages(const std::vector<ConfigError>& errors) {
  std::vector<std::string> out;
  for (const auto& error : errors) out.push_back(error.message);
  return out;
}

}  // namespace

TEST_CASE("decoder: the embedded defaults are DecoderSettings' (Suricata's: vxlan and geneve on, ERSPAN I off)") {
  auto settings = load_settings(std::nullopt, {});
  REQUIRE(settings);
  const DecoderSettings defaults;
  const DecoderSettings& d = settings->decoder;
  CHECK(d.vxlan_enabled == defaults.vxlan_enabled);
  CHECK(d.vxlan_ports == defaults.vxlan_ports);
  CHECK(d.vxlan_ports == std::vector<uint16_t>{4789});
  CHECK(d.geneve_enabled == defaults.geneve_enabled);
  CHECK(d.geneve_ports == std::vector<uint16_t>{6081});
  CHECK(d.erspan_type1_enabled == defaults.erspan_type1_enabled);
  CHECK_FALSE(d.erspan_type1_enabled);
  CHECK(d.rspan_vlans.none());
}

TEST_CASE("decoder: ports as a string, a list or a port variable, RSPAN VLANs, typeI") {
  auto settings = load_settings(std::nullopt, {"decoder.vxlan.ports=[4789, 8472]", "decoder.geneve.ports=$GENEVE_PORTS",
                                               "decoder.erspan.typeI.enabled=yes", "decoder.rspan.vlans=[999, 1999]",
                                               "decoder.vxlan.enabled=no"});
  REQUIRE(settings);
  CHECK(settings->decoder.vxlan_ports == std::vector<uint16_t>{4789, 8472});
  CHECK_FALSE(settings->decoder.vxlan_enabled);
  CHECK(settings->decoder.geneve_ports == std::vector<uint16_t>{6081});
  CHECK(settings->decoder.erspan_type1_enabled);
  CHECK(settings->decoder.rspan_vlans.count() == 2);
  CHECK(settings->decoder.rspan_vlans.test(999));
  CHECK(settings->decoder.rspan_vlans.test(1999));
  auto quoted = load_settings(std::nullopt, {"decoder.vxlan.ports=\"4789,4790\""});
  REQUIRE(quoted);
  CHECK(quoted->decoder.vxlan_ports == std::vector<uint16_t>{4789, 4790});
}

TEST_CASE("decoder: bad values, each with file, line and key") {
  const std::string path = std::string(EASTWATCH_BINARY_DIR) + "/decoder_config_test_bad.yaml";
  std::ofstream(path) << R"(decoder:
  vxlan:
    ports: "[4789, 70000]"
  geneve:
    ports: "$NO_SUCH_PORTS"
  erspan:
    typeII: {enabled: yes}
  rspan:
    vlans: [999, 4095]
  teredo: {}
)";
  auto settings = load_settings(path, {});
  REQUIRE_FALSE(settings);
  const auto errors = messages(settings.error());
  REQUIRE(errors.size() == 5);
  CHECK(errors[0] == path + ":10: decoder.teredo: unknown key (expected one of: vxlan, geneve, erspan, rspan)");
  CHECK(errors[1] == path + ":3: decoder.vxlan.ports: '70000' is not a port (expected a port from 1 to 65535, "
                            "or a list such as \"[4789, 8472]\")");
  CHECK(errors[2] == path + ":5: decoder.geneve.ports: unknown port variable '$NO_SUCH_PORTS' (expected one of "
                            "vars.port-groups)");
  CHECK(errors[3] == path + ":7: decoder.erspan.typeII: unknown key (expected one of: typeI)");
  CHECK(errors[4] == path + ":9: decoder.rspan.vlans: '4095' is not valid (expected an integer from 1 to 4094)");

  auto too_many = load_settings(std::nullopt, {"decoder.vxlan.ports=[1,2,3,4,5]"});
  REQUIRE_FALSE(too_many);
  CHECK(messages(too_many.error()) ==
        std::vector<std::string>{"--set decoder.vxlan.ports=[1,2,3,4,5]: expected 1 to 4 ports (got 5)"});
}

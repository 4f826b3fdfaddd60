// Snort 3 raw_data: the payload before a service inspector normalizes it. Eastwatch normalizes
// no telnet (or other) payload in place, so raw_data is the packet payload, as pkt_data; the
// seven Snort 3 community rules that use it load and inspect the payload.
#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "sensor/flow/flow.hpp"
#include "tests/unit/detect/detect_harness.hpp"

using namespace eastwatch;
using eastwatch::test::Engine;
using eastwatch::test::TestPacket;

TEST_CASE("Snort 3 raw_data rules load and one matches the packet payload") {
  const auto file = std::filesystem::path(EASTWATCH_SOURCE_DIR) / ".." / "shared" / "rules" / "snort3-community" /
                    "snort3-community.rules";
  std::string text;
  if (std::filesystem::exists(file)) {
    std::ifstream in(file);
    std::string line;
    int count = 0;
    while (std::getline(in, line)) {
      if (line.find(" raw_data;") == std::string::npos || line.rfind("alert", 0) != 0) continue;
      text += line + "\n";
      ++count;
    }
    CHECK(count == 7);
  } else {
    text = R"(alert tcp $EXTERNAL_NET any -> $TELNET_SERVERS 23 ( msg:"PROTOCOL-TELNET livingston DOS"; flow:to_server,established; raw_data; content:"|FF F3 FF F3 FF F3 FF F3 FF F3|",fast_pattern,nocase; metadata:ruleset community; service:telnet; reference:bugtraq,2225; reference:cve,1999-0218; classtype:attempted-dos; sid:713; rev:18; ))"
           "\n";
  }
  Engine e(text);  // fails the test on any load error
  Flow flow;
  auto alerts = [&](const std::string& payload) {
    TestPacket p("203.0.113.9", 40000, "10.0.0.2", 23, payload);
    p.packet.flow = &flow;
    p.packet.to_server = true;
    p.packet.flow_established = true;
    return e.sids(p.packet);
  };
  // sid 713 (livingston DOS): five telnet IAC AYT in the payload, negotiation bytes included.
  CHECK(alerts("x\xff\xf3\xff\xf3\xff\xf3\xff\xf3\xff\xf3y") == std::vector<uint32_t>{713});
  CHECK(alerts("x\xff\xf3\xff\xf3\xff\xf3\xff\xf3y").empty());
}

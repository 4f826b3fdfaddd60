// xbits: bits on a host or an ip pair (Suricata's detect-xbits.c semantics).
#include <catch2/catch.hpp>

#include "sensor/detect/detect_engine.hpp"
#include "sensor/detect/xbits_table.hpp"
#include "sensor/flow/flow.hpp"
#include "sensor/detect/rule_match.hpp"
#include "signatures/rule_parser.hpp"
#include "tests/unit/detect/detect_harness.hpp"

using namespace eastwatch;
using namespace eastwatch::test;

namespace {
constexpr int64_t kSecond = 1000000;

std::string load_error(const std::string& text) {
  auto loaded = load_rule_text(text, "t.rules", RuleVariables::with_suricata_defaults(), nullptr);
  REQUIRE(loaded.errors.size() == 1);
  return loaded.errors[0].to_string();
}
}  // namespace

TEST_CASE("xbits parsing: ET's spaced form, defaults, and the bad forms with what was expected") {
  auto loaded = load_rule_text(
      "alert tcp any any -> any any (content:\"x\"; xbits:set, ET.PROPFIND, track ip_src, expire 360; sid:1;)\n"
      "alert tcp any any -> any any (content:\"x\"; xbits:isnotset,b,track ip_pair; sid:2;)\n",
      "t.rules", RuleVariables::with_suricata_defaults(), nullptr);
  REQUIRE(loaded.errors.empty());
  REQUIRE(loaded.rules.size() == 2);
  const XbitsOption& a = loaded.rules[0].xbits.at(0);
  CHECK(a.command == XbitsOption::Command::Set);
  CHECK(a.name == "ET.PROPFIND");
  CHECK(a.track == XbitsOption::Track::IpSrc);
  CHECK(a.expire == 360);
  const XbitsOption& b = loaded.rules[1].xbits.at(0);
  CHECK(b.command == XbitsOption::Command::IsNotSet);
  CHECK(b.track == XbitsOption::Track::IpPair);
  CHECK(b.expire == 30);  // DETECT_XBITS_EXPIRE_DEFAULT
  const std::string head = "alert tcp any any -> any any (xbits:";
  CHECK(load_error(head + "noalert; sid:1;)").find("xbits: noalert is not accepted") != std::string::npos);
  CHECK(load_error(head + "set,a,track nonsense; sid:1;)").find(
            "xbits: unknown track 'nonsense' (expected ip_src, ip_dst or ip_pair)") != std::string::npos);
  CHECK(load_error(head + "set,a,track ip_src,expire 0; sid:1;)").find("xbits: expire must be bigger than 0") !=
        std::string::npos);
  CHECK(load_error(head + "set,a,track ip_src,expire -1; sid:1;)").find("xbits: invalid expire '-1'") !=
        std::string::npos);
  CHECK(load_error(head + "set,a; sid:1;)").find("xbits: set needs a name and a track") != std::string::npos);
  CHECK(load_error(head + "set,a,ip_src; sid:1;)").find("xbits: expected 'track <ip_src|ip_dst|ip_pair>', got 'ip_src'") !=
        std::string::npos);
  CHECK(load_error(head + "!set,a,track ip_src; sid:1;)").find("xbits: unknown command '!set'") != std::string::npos);
}

TEST_CASE("xbits track ip_src: set on one flow, seen on another flow of the same host") {
  Engine e(R"(alert tcp any any -> any any (content:"PROPFIND"; xbits:set,scan,track ip_src; noalert; sid:1;)
alert tcp any any -> any any (content:"GET"; xbits:isset,scan,track ip_src; sid:2;)
alert tcp any any -> any any (content:"GET"; xbits:isnotset,scan,track ip_src; sid:3;)
)");
  Flow flow_1, flow_2;
  TestPacket set("10.0.0.1", 1000, "10.0.0.2", 80, "PROPFIND /");
  set.packet.flow = &flow_1;
  set.packet.ts_usec = 100 * kSecond;
  CHECK(e.sids(set.packet).empty());  // noalert
  TestPacket get("10.0.0.1", 2000, "10.0.0.9", 80, "GET /");  // another flow, another server
  get.packet.flow = &flow_2;
  get.packet.ts_usec = 101 * kSecond;
  CHECK(e.sids(get.packet) == std::vector<uint32_t>{2});
  TestPacket other("10.0.0.7", 2000, "10.0.0.9", 80, "GET /");  // another source host
  other.packet.ts_usec = 101 * kSecond;
  CHECK(e.sids(other.packet) == std::vector<uint32_t>{3});
}

TEST_CASE("xbits track ip_dst and ip_pair key on the right addresses, the pair in either direction") {
  Engine e(R"(alert tcp any any -> any any (content:"S1"; xbits:set,d,track ip_dst; noalert; sid:1;)
alert tcp any any -> any any (content:"S2"; xbits:set,p,track ip_pair; noalert; sid:2;)
alert tcp any any -> any any (content:"C"; xbits:isset,d,track ip_src; sid:3;)
alert tcp any any -> any any (content:"C"; xbits:isset,p,track ip_pair; sid:4;)
)");
  TestPacket s1("10.0.0.1", 1, "10.0.0.2", 2, "S1");  // bit d on host 10.0.0.2
  s1.packet.ts_usec = kSecond;
  e.sids(s1.packet);
  TestPacket s2("10.0.0.1", 1, "10.0.0.2", 2, "S2");  // bit p on the pair
  s2.packet.ts_usec = kSecond;
  e.sids(s2.packet);
  TestPacket back("10.0.0.2", 2, "10.0.0.1", 1, "C");  // from .2: d on its source, the pair reversed
  back.packet.ts_usec = 2 * kSecond;
  CHECK(e.sids(back.packet) == std::vector<uint32_t>{3, 4});
  TestPacket from_1("10.0.0.1", 1, "10.0.0.2", 2, "C");  // d is not on .1; the pair still is
  from_1.packet.ts_usec = 2 * kSecond;
  CHECK(e.sids(from_1.packet) == std::vector<uint32_t>{4});
  TestPacket third("10.0.0.2", 2, "10.0.0.3", 1, "C");  // d on .2 (source), no pair .2-.3
  third.packet.ts_usec = 2 * kSecond;
  CHECK(e.sids(third.packet) == std::vector<uint32_t>{3});
}

TEST_CASE("xbits expire by packet time, unset and toggle") {
  Engine e(R"(alert tcp any any -> any any (content:"SET"; xbits:set,b,track ip_src,expire 10; noalert; sid:1;)
alert tcp any any -> any any (content:"UNSET"; xbits:unset,b,track ip_src; noalert; sid:2;)
alert tcp any any -> any any (content:"TOGGLE"; xbits:toggle,b,track ip_src,expire 10; noalert; sid:3;)
alert tcp any any -> any any (content:"CHECK"; xbits:isset,b,track ip_src; sid:4;)
)");
  auto at = [&](const char* payload, int64_t usec) {
    TestPacket p("10.0.0.1", 1, "10.0.0.2", 2, payload);
    p.packet.ts_usec = usec;
    return e.sids(p.packet);
  };
  const std::vector<uint32_t> four{4};
  CHECK(at("SET", 1000 * kSecond).empty());
  CHECK(at("CHECK", 1009 * kSecond + 999999) == four);  // still within 10 s
  CHECK(at("CHECK", 1010 * kSecond).empty());           // expired at set time + 10 s
  CHECK(at("SET", 1020 * kSecond).empty());
  CHECK(at("UNSET", 1021 * kSecond).empty());
  CHECK(at("CHECK", 1022 * kSecond).empty());
  CHECK(at("TOGGLE", 1023 * kSecond).empty());  // unset -> set
  CHECK(at("CHECK", 1024 * kSecond) == four);
  CHECK(at("TOGGLE", 1025 * kSecond).empty());  // set -> unset
  CHECK(at("CHECK", 1026 * kSecond).empty());
}

TEST_CASE("xbits setters run before readers on the same packet, whatever the load order") {
  Engine e(R"(alert tcp any any -> any any (content:"x"; xbits:isset,b,track ip_pair; sid:1;)
alert tcp any any -> any any (content:"x"; xbits:set,b,track ip_pair; sid:2;)
)");
  TestPacket p("10.0.0.1", 1, "10.0.0.2", 2, "x");
  p.packet.ts_usec = kSecond;
  CHECK(e.sids(p.packet) == std::vector<uint32_t>{2, 1});
}

TEST_CASE("xbits table: full is counted, expired entries are reused") {
  XbitsTable table(32);
  const IpAddress a = *IpAddress::parse("10.0.0.1");
  for (uint64_t id = 0; id < 32; ++id) CHECK(table.set(XbitsTable::host_key(id, a), 10 * kSecond, kSecond));
  CHECK_FALSE(table.set(XbitsTable::host_key(99, a), 10 * kSecond, kSecond));
  CHECK(table.full() == 1);
  CHECK(table.is_set(XbitsTable::host_key(5, a), 9 * kSecond));
  // At 10 s the 32 bits have expired: their entries take new bits.
  CHECK(table.set(XbitsTable::host_key(99, a), 20 * kSecond, 10 * kSecond));
  CHECK(table.is_set(XbitsTable::host_key(99, a), 11 * kSecond));
  CHECK_FALSE(table.is_set(XbitsTable::host_key(5, a), 11 * kSecond));
  CHECK(table.full() == 1);
}

TEST_CASE("xbits sets that find the table full are counted in detect stats") {
  std::string rules;
  for (int i = 0; i < 40; ++i) {
    rules += "alert tcp any any -> any any (content:\"x\"; xbits:set,b" + std::to_string(i) +
             ",track ip_src; noalert; sid:" + std::to_string(i + 1) + ";)\n";
  }
  Engine e(rules);  // 65536 entries: no overflow for 40 bits
  TestPacket p("10.0.0.1", 1, "10.0.0.2", 2, "x");
  p.packet.ts_usec = kSecond;
  e.sids(p.packet);
  CHECK(e.thread->counters().xbits_table_full == 0);
  bool named = false;
  e.thread->counters().visit_extra([&](const char* name, uint64_t) { named = named || std::string(name) == "xbits_table_full"; });
  CHECK(named);
}

namespace {
bool bounces(const std::string& line, const char* client) {
  const auto bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(line.data()), line.size());
  return eastwatch::detail::ftp_port_bounces(bytes, 4, IpAddress::parse(client)->v4());
}
}  // namespace

TEST_CASE("ftpbounce: Suricata's PORT argument checks") {
  CHECK(bounces("PORT 80,58,0,33,10,20", "1.2.3.4"));         // Suricata's test: another host
  CHECK_FALSE(bounces("PORT 1,2,3,4,10,20", "1.2.3.4"));      // the client itself
  CHECK(bounces("PORT 1 ,2 ,3 ,5 ,10,20", "1.2.3.4"));        // spaces before commas are skipped
  CHECK_FALSE(bounces("PORT 1,2,3,4", "9.9.9.9"));            // no comma after the 4th octet
  CHECK_FALSE(bounces("PORT 1,2,3,300,1,2", "9.9.9.9"));      // octet above 256
  CHECK_FALSE(bounces("PORT 1,2,3,1000,1,2", "9.9.9.9"));     // 4 digits
  CHECK_FALSE(bounces("PORT 1,2,x,4,1,2", "9.9.9.9"));        // not a number
  CHECK_FALSE(bounces("PORT 1,2", "9.9.9.9"));                // too short (offset + 7 >= length)
  CHECK(bounces("PORT 1,2,3,4,999999,x", "9.9.9.9"));         // the ports are not read
}

TEST_CASE("ftpbounce: the ET Open rule (emerging-ftp.rules:211) loads and fires only on a bounce") {
  Engine e(R"(alert tcp $EXTERNAL_NET any -> $HOME_NET 21 (msg:"GPL FTP PORT bounce attempt"; flow:to_server,established; content:"PORT"; nocase; ftpbounce; pcre:"/^PORT/smi"; classtype:misc-attack; sid:2103441; rev:2;)
)");
  Flow flow;
  flow.key.client = *IpAddress::parse("203.0.113.5");
  flow.key.server = *IpAddress::parse("192.168.1.2");
  TestPacket bounce("203.0.113.5", 40000, "192.168.1.2", 21, "PORT 192,168,1,99,0,22\r\n");
  bounce.packet.flow = &flow;
  bounce.packet.to_server = true;
  bounce.packet.flow_established = true;
  TestPacket same("203.0.113.5", 40000, "192.168.1.2", 21, "USER a\r\nPORT 203,0,113,5,200,10\r\n");
  same.packet.flow = &flow;
  same.packet.to_server = true;
  same.packet.flow_established = true;
  CHECK(e.sids(same.packet).empty());
  CHECK(e.sids(bounce.packet) == std::vector<uint32_t>{2103441});
}

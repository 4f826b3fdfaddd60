// Packet and flow keywords against decoded packets, reasoned from Suricata's documentation.
#include <catch2/catch.hpp>

#include "sensor/decode/decoder.hpp"
#include "sensor/detect/packet_tests.hpp"
#include "sensor/flow/flow.hpp"
#include "signatures/rule_parser.hpp"
#include "tests/unit/decode/frame_builder.hpp"

using namespace eastwatch;

namespace {

PacketTests tests_of(const std::string& options) {
  static const RuleVariables vars = RuleVariables::with_suricata_defaults();
  auto rule = parse_rule("alert ip any any -> any any (" + options + " sid:1;)", RuleParseContext{&vars, nullptr, "t", 1});
  REQUIRE(rule);
  return rule->packet;
}

Packet tcp(uint8_t flags, uint32_t payload = 0) {
  Packet p;
  p.ip_version = 4;
  p.ip_proto = 6;
  p.has_transport = true;
  p.tcp_flags = flags;
  p.payload_len = payload;
  p.src = *IpAddress::parse("10.0.0.1");
  p.dst = *IpAddress::parse("10.0.0.2");
  p.ip_ttl = 64;
  return p;
}

}  // namespace

TEST_CASE("flow: direction and established state") {
  Flow flow;
  Packet p = tcp(tcp_flag::Ack);
  p.flow = &flow;
  p.to_server = true;
  p.flow_established = true;
  CHECK(packet_tests_match(tests_of("flow:established,to_server;"), p));
  CHECK_FALSE(packet_tests_match(tests_of("flow:established,to_client;"), p));
  CHECK_FALSE(packet_tests_match(tests_of("flow:not_established;"), p));
  p.flow_established = false;
  CHECK_FALSE(packet_tests_match(tests_of("flow:established;"), p));
  CHECK(packet_tests_match(tests_of("flow:not_established,from_client;"), p));
  p.to_server = false;
  CHECK(packet_tests_match(tests_of("flow:from_server;"), p));
  p.flow = nullptr;  // no flow (memcap): only stateless holds
  CHECK_FALSE(packet_tests_match(tests_of("flow:to_client;"), p));
  CHECK(packet_tests_match(tests_of("flow:stateless;"), p));
}

TEST_CASE("flags: exact after the ignore mask, all, any, not") {
  const uint8_t syn = tcp_flag::Syn, ack = tcp_flag::Ack;
  CHECK(packet_tests_match(tests_of("flags:S;"), tcp(syn)));
  CHECK_FALSE(packet_tests_match(tests_of("flags:S;"), tcp(syn | ack)));
  CHECK_FALSE(packet_tests_match(tests_of("flags:S;"), tcp(syn | tcp_flag::Ece)));
  CHECK(packet_tests_match(tests_of("flags:S,12;"), tcp(syn | tcp_flag::Ece | tcp_flag::Cwr)));
  CHECK(packet_tests_match(tests_of("flags:S+;"), tcp(syn | ack)));
  CHECK_FALSE(packet_tests_match(tests_of("flags:SA+;"), tcp(syn)));
  CHECK(packet_tests_match(tests_of("flags:*SF;"), tcp(tcp_flag::Fin | ack)));
  CHECK_FALSE(packet_tests_match(tests_of("flags:*SF;"), tcp(ack)));
  CHECK(packet_tests_match(tests_of("flags:!R;"), tcp(ack)));
  CHECK_FALSE(packet_tests_match(tests_of("flags:!R;"), tcp(tcp_flag::Rst | ack)));
  CHECK(packet_tests_match(tests_of("flags:0;"), tcp(0)));
  CHECK_FALSE(packet_tests_match(tests_of("flags:0;"), tcp(ack)));
  Packet udp = tcp(0);
  udp.ip_proto = 17;
  CHECK_FALSE(packet_tests_match(tests_of("flags:0;"), udp));  // flags only ever match TCP
}

TEST_CASE("dsize, ttl, ip_proto, sameip") {
  CHECK(packet_tests_match(tests_of("dsize:0;"), tcp(tcp_flag::Ack, 0)));
  CHECK_FALSE(packet_tests_match(tests_of("dsize:0;"), tcp(tcp_flag::Ack, 1)));
  CHECK(packet_tests_match(tests_of("dsize:9<>18;"), tcp(tcp_flag::Ack, 10)));
  CHECK_FALSE(packet_tests_match(tests_of("dsize:9<>18;"), tcp(tcp_flag::Ack, 18)));
  CHECK(packet_tests_match(tests_of("dsize:>1000;"), tcp(tcp_flag::Ack, 1001)));
  CHECK(packet_tests_match(tests_of("ttl:64;"), tcp(0)));
  CHECK_FALSE(packet_tests_match(tests_of("ttl:<10;"), tcp(0)));
  CHECK(packet_tests_match(tests_of("ip_proto:tcp;"), tcp(0)));
  CHECK(packet_tests_match(tests_of("ip_proto:!17;"), tcp(0)));
  CHECK_FALSE(packet_tests_match(tests_of("sameip;"), tcp(0)));
  Packet land = tcp(tcp_flag::Syn);
  land.dst = land.src;
  CHECK(packet_tests_match(tests_of("sameip;"), land));
}

TEST_CASE("ICMP keywords: itype, icode, icmp_id and icmp_seq only on messages that carry them") {
  Packet p = tcp(0);
  p.ip_proto = 1;
  p.icmp_type = 8;
  p.icmp_code = 0;
  p.icmp_id = 0x4242;
  p.icmp_seq = 7;
  CHECK(packet_tests_match(tests_of("itype:8; icode:0;"), p));
  CHECK(packet_tests_match(tests_of("itype:>5;"), p));
  CHECK_FALSE(packet_tests_match(tests_of("itype:0;"), p));
  CHECK(packet_tests_match(tests_of("icmp_id:16962; icmp_seq:7;"), p));
  CHECK_FALSE(packet_tests_match(tests_of("icmp_seq:8;"), p));
  p.icmp_type = 3;  // destination unreachable: no identifier
  CHECK_FALSE(packet_tests_match(tests_of("icmp_id:16962;"), p));
  CHECK_FALSE(packet_tests_match(tests_of("itype:8;"), tcp(0)));  // not ICMP at all
}

TEST_CASE("IPv4 id, fragbits and fragoffset") {
  Packet p = tcp(0);
  p.ip_id = 31337;
  p.ip_frag_bits = 0x04;  // MF
  p.ip_frag_offset = 0;
  CHECK(packet_tests_match(tests_of("id:31337;"), p));
  CHECK(packet_tests_match(tests_of("fragbits:M;"), p));
  CHECK_FALSE(packet_tests_match(tests_of("fragbits:D;"), p));
  CHECK(packet_tests_match(tests_of("fragbits:*MD;"), p));
  CHECK(packet_tests_match(tests_of("fragbits:!D;"), p));
  CHECK(packet_tests_match(tests_of("fragoffset:0;"), p));
  p.ip_frag_offset = 185;
  CHECK(packet_tests_match(tests_of("fragoffset:>0;"), p));
  p.ip_version = 6;
  CHECK_FALSE(packet_tests_match(tests_of("id:31337;"), p));
}

TEST_CASE("TCP window, seq and ack") {
  Packet p = tcp(tcp_flag::Syn);
  p.tcp_window = 55808;
  p.tcp_seq = 0;
  p.tcp_ack = 0;
  CHECK(packet_tests_match(tests_of("window:55808; seq:0; ack:0;"), p));
  CHECK_FALSE(packet_tests_match(tests_of("window:!55808;"), p));
}

TEST_CASE("ipopts: each option the IPv4 decoder records, any, and malformed options") {
  using test::Frame;
  auto decoded = [](std::initializer_list<uint8_t> options, DecodeStats& stats) {
    static Frame f;  // the packet points into the frame's bytes
    f = Frame{};
    f.ethernet(0x0800).ipv4(17, static_cast<uint16_t>(20 + options.size() + 8), options).udp(1, 2, 8);
    Packet p = f.packet();
    decode_packet(p, stats);
    return p;
  };
  struct Case {
    const char* name;
    std::initializer_list<uint8_t> options;
  };
  const Case cases[] = {
      {"rr", {0x07, 0x07, 0x04, 0, 0, 0, 0, 0x01}}, {"eol", {0x00, 0, 0, 0}},
      {"nop", {0x01, 0x01, 0x01, 0x01}},            {"ts", {0x44, 0x04, 0x05, 0x00}},
      {"sec", {0x82, 0x04, 0, 0}},                  {"esec", {0x85, 0x04, 0, 0}},
      {"lsrr", {0x83, 0x03, 0x04, 0x01}},           {"ssrr", {0x89, 0x03, 0x04, 0x01}},
      {"satid", {0x88, 0x04, 0, 2}},
  };
  const char* names[] = {"rr", "eol", "nop", "ts", "sec", "esec", "lsrr", "ssrr", "satid"};
  for (const Case& c : cases) {
    DecodeStats stats;
    const Packet p = decoded(c.options, stats);
    REQUIRE(p.decoded);
    for (const char* name : names) {
      INFO(c.name << " packet, ipopts:" << name);
      // rr, lsrr and ssrr are padded to 32 bits with a NOP, which is an option too
      const bool padded = c.options.size() % 4 == 0 && *(c.options.end() - 1) == 0x01;
      const bool present = std::string(name) == c.name || (padded && std::string(name) == "nop");
      CHECK(packet_tests_match(tests_of(std::string("ipopts:") + name + ";"), p) == present);
    }
    CHECK(packet_tests_match(tests_of("ipopts:any;"), p));
    CHECK(stats.event.ipv4_opt_unknown == 0);
  }
  DecodeStats stats;
  // several options in one header: each present, and both together
  const Packet both = decoded({0x82, 0x04, 0, 0, 0x44, 0x04, 0x05, 0x00}, stats);
  CHECK(packet_tests_match(tests_of("ipopts:sec; ipopts:ts;"), both));
  CHECK_FALSE(packet_tests_match(tests_of("ipopts:sec; ipopts:rr;"), both));
  // router alert is an option (any, as Suricata's decoder records it) but none that ipopts names
  const Packet router_alert = decoded({0x94, 0x04, 0, 0}, stats);
  CHECK(packet_tests_match(tests_of("ipopts:any;"), router_alert));
  CHECK_FALSE(packet_tests_match(tests_of("ipopts:rr;"), router_alert));
  // no options, IPv6: nothing matches, not even any
  const Packet none = decoded({}, stats);
  CHECK_FALSE(packet_tests_match(tests_of("ipopts:any;"), none));
  Packet v6 = tcp(tcp_flag::Ack);
  v6.ip_version = 6;
  v6.ip_options = 1u << 7;
  CHECK_FALSE(packet_tests_match(tests_of("ipopts:rr;"), v6));
  // a malformed option list is counted and the packet not decoded (so no rule sees it)
  DecodeStats bad;
  const Packet malformed = decoded({0x07, 0x01, 0, 0}, bad);
  CHECK_FALSE(malformed.decoded);
  CHECK(bad.event.ipv4_opt_invalid_len == 1);
  const Packet past_end = decoded({0x01, 0x07, 0x09, 0}, bad);
  CHECK_FALSE(past_end.decoded);
  CHECK(bad.event.ipv4_opt_malformed == 1);
}

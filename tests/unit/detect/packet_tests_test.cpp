// Packet and flow keywords against decoded packets, reasoned from Suricata's documentation.
#include <catch2/catch.hpp>

#include "sensor/detect/packet_tests.hpp"
#include "sensor/flow/flow.hpp"
#include "signatures/rule_parser.hpp"

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

#include <catch2/catch.hpp>

#include "sensor/decode/detail/layers.hpp"
#include "tests/unit/decode/frame_builder.hpp"

using namespace eastwatch;
using test::Frame;

TEST_CASE("Ethernet + IPv4 + TCP with options and payload") {
  Frame f;
  f.ethernet(0x0800).ipv4(6, 20 + 24 + 5).tcp(40000, 80, tcp_flag::Psh | tcp_flag::Ack, 6);
  f.raw({2, 4, 0x05, 0xb4});  // MSS option
  f.text("hello");
  f.zeros(6);  // Ethernet padding: must not become payload
  Packet p = f.packet();
  DecodeStats s;
  REQUIRE(decode_packet(p, s));
  CHECK(p.ip_version == 4);
  CHECK(p.ip_proto == 6);
  CHECK(p.src == *IpAddress::parse("10.0.0.1"));
  CHECK(p.dst == *IpAddress::parse("10.0.0.2"));
  CHECK(p.src_port == 40000);
  CHECK(p.dst_port == 80);
  CHECK(p.tcp_flags == (tcp_flag::Psh | tcp_flag::Ack));
  CHECK(p.tcp_seq == 1000);
  CHECK(p.tcp_ack == 2000);
  CHECK(p.ip_ttl == 64);
  CHECK(p.ip_id == 0x1234);
  CHECK(p.has_transport);
  CHECK(p.payload_len == 5);
  CHECK(std::string(reinterpret_cast<const char*>(p.payload().data()), p.payload_len) == "hello");
  CHECK_FALSE(p.ip_checksum_bad);
  CHECK(s.pkts == 1);
  CHECK(s.ethernet == 1);
  CHECK(s.ipv4 == 1);
  CHECK(s.tcp == 1);
  CHECK(s.invalid == 0);
  CHECK(s.checksum.tcp_bad == 1);  // the builder leaves the TCP checksum zero: counted, not enforced
}

TEST_CASE("802.1Q and QinQ keep the VLAN ids - a fourth tag is too many layers") {
  Frame qinq;
  qinq.ethernet(0x88a8).vlan(100, 0x8100).vlan(200, 0x0800).ipv4(17, 28).udp(1, 2, 8);
  Packet p = qinq.packet();
  DecodeStats s;
  REQUIRE(decode_packet(p, s));
  CHECK(p.vlan_count == 2);
  CHECK(p.vlan_id[0] == 100);
  CHECK(p.vlan_id[1] == 200);
  CHECK(s.vlan == 1);
  CHECK(s.vlan_qinq == 1);

  Frame legacy;
  legacy.ethernet(0x9100).vlan(7, 0x0800).ipv4(17, 28).udp(1, 2, 8);
  Packet q = legacy.packet();
  REQUIRE(decode_packet(q, s));
  CHECK(q.vlan_id[0] == 7);

  Frame deep;
  deep.ethernet(0x8100).vlan(1, 0x8100).vlan(2, 0x8100).vlan(3, 0x8100).vlan(4, 0x0800).ipv4(17, 28).udp(1, 2, 8);
  Packet d = deep.packet();
  CHECK_FALSE(decode_packet(d, s));
  CHECK(s.event.vlan_too_many_layers == 1);
  CHECK(s.vlan_qinqinq == 1);
}

TEST_CASE("UDP length bounds the payload - ICMP type and code") {
  Frame u;
  u.ethernet(0x0800).ipv4(17, 20 + 8 + 4).udp(5353, 53, 12).text("abcd");
  Packet p = u.packet();
  DecodeStats s;
  REQUIRE(decode_packet(p, s));
  CHECK(p.payload_len == 4);
  CHECK(p.dst_port == 53);

  Frame i;
  i.ethernet(0x0800).ipv4(1, 20 + 8 + 3).icmp(8, 0).text("abc");
  Packet q = i.packet();
  REQUIRE(decode_packet(q, s));
  CHECK(q.icmp_type == 8);
  CHECK(q.icmp_code == 0);
  CHECK(q.src_port == 0);
  CHECK(q.payload_len == 3);
  CHECK(s.icmpv4 == 1);
}

TEST_CASE("IPv6 walks extension headers to the transport") {
  Frame f;
  f.ethernet(0x86dd).ipv6(0, 8 + 8 + 8 + 20 + 2);
  f.u8(43).u8(0).zeros(6);                   // hop-by-hop -> routing
  f.u8(44).u8(0).u8(2).u8(0).zeros(4);       // routing (type 2) -> fragment
  f.u8(6).u8(0).u16(0).u32(0xabcd);          // fragment, offset 0, no more fragments -> TCP
  f.tcp(1, 2, tcp_flag::Syn).text("hi");
  Packet p = f.packet();
  DecodeStats s;
  REQUIRE(decode_packet(p, s));
  CHECK(p.ip_version == 6);
  CHECK(p.ip_proto == 6);
  CHECK(p.src == *IpAddress::parse("2001:db8::1"));
  CHECK(p.dst_port == 2);
  CHECK(p.payload_len == 2);
  CHECK(s.ipv6 == 1);
}

TEST_CASE("IPv6 non-first fragment has no transport header") {
  Frame f;
  f.ethernet(0x86dd).ipv6(44, 8 + 6);
  f.u8(6).u8(0).u16(185 << 3).u32(1);  // offset 185*8
  f.text("middle");
  Packet p = f.packet();
  DecodeStats s;
  REQUIRE(decode_packet(p, s));
  CHECK(p.ip_fragment);
  CHECK_FALSE(p.has_transport);
  CHECK(p.payload_len == 6);
  CHECK(s.tcp == 0);
}

TEST_CASE("IPv4 fragments: the first is decoded and later ones are not") {
  Frame first;
  first.ethernet(0x0800).ipv4(17, 20 + 8 + 8, {}, 0x2000).udp(1, 2, 100).text("12345678");
  Packet p = first.packet();
  DecodeStats s;
  REQUIRE(decode_packet(p, s));
  CHECK(p.ip_fragment);
  CHECK(p.has_transport);
  CHECK(p.dst_port == 2);

  Frame later;
  later.ethernet(0x0800).ipv4(17, 20 + 8, {}, 0x0003).text("87654321");
  Packet q = later.packet();
  REQUIRE(decode_packet(q, s));
  CHECK(q.ip_fragment);
  CHECK_FALSE(q.has_transport);
  CHECK(q.payload_len == 8);
}

TEST_CASE("IPv4 options are validated - checksums are counted and never enforced") {
  Frame f;
  f.ethernet(0x0800).ipv4(17, 24 + 8, {0x94, 0x04, 0, 0}).udp(1, 2, 8);  // router alert
  Packet p = f.packet();
  DecodeStats s;
  REQUIRE(decode_packet(p, s));
  CHECK_FALSE(p.ip_checksum_bad);

  Frame bad = f;
  bad.bytes[14 + 10] ^= 0xff;  // break the header checksum
  Packet q = bad.packet();
  REQUIRE(decode_packet(q, s));  // still decoded
  CHECK(q.ip_checksum_bad);
  CHECK(s.checksum.ipv4_bad == 1);
}

TEST_CASE("ARP and raw IP and Linux SLL and BSD loopback link types") {
  DecodeStats s;
  Frame arp;
  arp.ethernet(0x0806).u16(1).u16(0x0800).u8(6).u8(4).u16(1).zeros(20);
  Packet a = arp.packet();
  REQUIRE(decode_packet(a, s));
  CHECK(s.arp == 1);
  CHECK(a.ip_version == 0);

  Frame raw;
  raw.ipv4(17, 28).udp(1, 2, 8);
  Packet r = raw.packet(LinkType::Raw);
  REQUIRE(decode_packet(r, s));
  CHECK(r.dst_port == 2);
  CHECK(s.raw == 1);

  Frame sll;
  sll.zeros(14).u16(0x0800).ipv4(17, 28).udp(1, 3, 8);
  Packet l = sll.packet(LinkType::LinuxSll);
  REQUIRE(decode_packet(l, s));
  CHECK(l.dst_port == 3);

  Frame null;
  null.raw({2, 0, 0, 0}).ipv4(17, 28).udp(1, 4, 8);  // AF_INET, little-endian writer
  Packet n = null.packet(LinkType::Null);
  REQUIRE(decode_packet(n, s));
  CHECK(n.dst_port == 4);

  Frame other;
  other.ethernet(0x88cc).zeros(10);  // LLDP: not inspected, not invalid
  Packet o = other.packet();
  CHECK(decode_packet(o, s));
  CHECK(s.unknown_ethertype == 1);
  CHECK(s.invalid == 0);
}

TEST_CASE("a frame cut by the snaplen is decoded as far as it goes") {
  Frame f;
  f.ethernet(0x0800).ipv4(6, 20 + 20 + 1000).tcp(1, 2, tcp_flag::Ack).text("partial");
  Packet p = f.packet();
  p.wirelen = p.caplen + 993;  // the capture kept only part of the frame
  DecodeStats s;
  REQUIRE(decode_packet(p, s));
  CHECK(p.payload_len == 7);
  CHECK(s.invalid == 0);
}

TEST_CASE("the wide checksum equals RFC 1071's 16-bit sum for every length and alignment") {
  std::vector<uint8_t> data(300);
  uint32_t seed = 12345;
  for (auto& b : data) b = static_cast<uint8_t>((seed = seed * 1103515245 + 12345) >> 16);
  for (uint32_t offset = 0; offset < 8; ++offset) {
    for (uint32_t length = 0; length + offset <= data.size(); length += 7) {
      uint32_t reference = 0;
      uint32_t i = 0;
      for (; i + 1 < length; i += 2) reference += (data[offset + i] << 8) | data[offset + i + 1];
      if (i < length) reference += data[offset + i] << 8;
      CHECK(detail::checksum_fold(detail::checksum_add(0, data.data() + offset, length)) ==
            detail::checksum_fold(reference));
    }
  }
}

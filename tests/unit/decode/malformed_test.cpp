// Every malformation the decoders detect: the packet is invalid, the matching event counter
// moves, and nothing reads outside the frame (the ASan build checks that).
#include <memory>

#include <catch2/catch.hpp>

#include "tests/unit/decode/frame_builder.hpp"

using namespace eastwatch;
using test::Frame;

namespace {

// Decodes from a heap copy of exactly the frame's size, so ASan sees any overread.
bool decode_exact(const Frame& f, DecodeStats& s, LinkType link = LinkType::Ethernet) {
  auto copy = std::make_unique<uint8_t[]>(f.bytes.size() ? f.bytes.size() : 1);
  std::copy(f.bytes.begin(), f.bytes.end(), copy.get());
  Packet p;
  p.data = copy.get();
  p.caplen = p.wirelen = static_cast<uint32_t>(f.bytes.size());
  p.link_type = link;
  return decode_packet(p, s);
}

}  // namespace

TEST_CASE("malformed frames are invalid and counted by cause") {
  struct Case {
    const char* name;
    Frame frame;
    uint64_t DecodeStats::Events::*counter;
  };
  std::vector<Case> cases;
  { Frame f; f.raw({1, 2, 3}); cases.push_back({"runt ethernet", f, &DecodeStats::Events::ethernet_pkt_too_small}); }
  { Frame f; f.ethernet(0x8100).u8(0); cases.push_back({"vlan cut", f, &DecodeStats::Events::vlan_header_too_small}); }
  { Frame f; f.ethernet(0x0806).u16(1); cases.push_back({"arp cut", f, &DecodeStats::Events::arp_pkt_too_small}); }
  { Frame f; f.ethernet(0x0806).u16(1).u16(0x0800).u8(7).u8(4).u16(1).zeros(20);
    cases.push_back({"arp hw size", f, &DecodeStats::Events::arp_invalid_hardware_size}); }
  { Frame f; f.ethernet(0x0800).zeros(12); cases.push_back({"ipv4 cut", f, &DecodeStats::Events::ipv4_pkt_too_small}); }
  { Frame f; f.ethernet(0x0800).ipv4(17, 28).udp(1, 2, 8); f.bytes[14] = 0x65;
    cases.push_back({"ipv4 wrong version", f, &DecodeStats::Events::ipv4_wrong_ip_version}); }
  { Frame f; f.ethernet(0x0800).ipv4(17, 28).udp(1, 2, 8); f.bytes[14] = 0x44;
    cases.push_back({"ihl 4", f, &DecodeStats::Events::ipv4_hlen_too_small}); }
  { Frame f; f.ethernet(0x0800).ipv4(17, 28).udp(1, 2, 8); f.bytes[14] = 0x4f;
    cases.push_back({"ihl past frame", f, &DecodeStats::Events::ipv4_pkt_too_small}); }
  { Frame f; f.ethernet(0x0800).ipv4(17, 12).udp(1, 2, 8);
    cases.push_back({"total < ihl", f, &DecodeStats::Events::ipv4_iplen_smaller_than_hlen}); }
  { Frame f; f.ethernet(0x0800).ipv4(17, 500).udp(1, 2, 8);
    cases.push_back({"total past frame", f, &DecodeStats::Events::ipv4_trunc_pkt}); }
  { Frame f; f.ethernet(0x0800).ipv4(17, 32, {0x94, 0x01, 0, 0}).udp(1, 2, 8);
    cases.push_back({"ipv4 option len 1", f, &DecodeStats::Events::ipv4_opt_invalid_len}); }
  { Frame f; f.ethernet(0x0800).ipv4(17, 32, {0x01, 0x94, 0x08, 0}).udp(1, 2, 8);
    cases.push_back({"ipv4 option past header", f, &DecodeStats::Events::ipv4_opt_malformed}); }
  { Frame f; f.ethernet(0x86dd).zeros(30); cases.push_back({"ipv6 cut", f, &DecodeStats::Events::ipv6_pkt_too_small}); }
  { Frame f; f.ethernet(0x86dd).ipv6(17, 8).udp(1, 2, 8); f.bytes[14] = 0x40;
    cases.push_back({"ipv6 wrong version", f, &DecodeStats::Events::ipv6_wrong_ip_version}); }
  { Frame f; f.ethernet(0x86dd).ipv6(17, 300).udp(1, 2, 8);
    cases.push_back({"ipv6 payload past frame", f, &DecodeStats::Events::ipv6_trunc_pkt}); }
  { Frame f; f.ethernet(0x86dd).ipv6(0, 8).u8(6).u8(4).zeros(6);  // hop-by-hop claims 40 bytes
    cases.push_back({"ipv6 exthdr past end", f, &DecodeStats::Events::ipv6_trunc_exthdr}); }
  { Frame f; f.ethernet(0x86dd).ipv6(44, 4).u8(6).u8(0).u16(0);
    cases.push_back({"ipv6 fragment header cut", f, &DecodeStats::Events::ipv6_trunc_exthdr}); }
  { Frame f; f.ethernet(0x0800).ipv4(6, 30).zeros(10); cases.push_back({"tcp cut", f, &DecodeStats::Events::tcp_pkt_too_small}); }
  { Frame f; f.ethernet(0x0800).ipv4(6, 40).tcp(1, 2, 0, 4);
    cases.push_back({"tcp data offset 4", f, &DecodeStats::Events::tcp_hlen_too_small}); }
  { Frame f; f.ethernet(0x0800).ipv4(6, 40).tcp(1, 2, 0, 15);
    cases.push_back({"tcp data offset past ip", f, &DecodeStats::Events::tcp_pkt_too_small}); }
  { Frame f; f.ethernet(0x0800).ipv4(6, 44).tcp(1, 2, 0, 6).raw({2, 1, 0, 0});
    cases.push_back({"tcp option len 1", f, &DecodeStats::Events::tcp_opt_invalid_len}); }
  { Frame f; f.ethernet(0x0800).ipv4(6, 44).tcp(1, 2, 0, 6).raw({1, 1, 1, 8});
    cases.push_back({"tcp option kind without length", f, &DecodeStats::Events::tcp_invalid_optlen}); }
  { Frame f; f.ethernet(0x0800).ipv4(17, 24).zeros(4); cases.push_back({"udp cut", f, &DecodeStats::Events::udp_pkt_too_small}); }
  { Frame f; f.ethernet(0x0800).ipv4(17, 28).udp(1, 2, 4);
    cases.push_back({"udp length < 8", f, &DecodeStats::Events::udp_hlen_too_small}); }
  { Frame f; f.ethernet(0x0800).ipv4(17, 28).udp(1, 2, 80);
    cases.push_back({"udp length past ip", f, &DecodeStats::Events::udp_hlen_invalid}); }
  { Frame f; f.ethernet(0x0800).ipv4(1, 24).zeros(4); cases.push_back({"icmp cut", f, &DecodeStats::Events::icmpv4_pkt_too_small}); }
  { Frame f; f.ethernet(0x86dd).ipv6(58, 4).zeros(4); cases.push_back({"icmpv6 cut", f, &DecodeStats::Events::icmpv6_pkt_too_small}); }

  for (const auto& c : cases) {
    INFO(c.name);
    DecodeStats s;
    CHECK_FALSE(decode_exact(c.frame, s));
    CHECK(s.invalid == 1);
    CHECK(s.event.*(c.counter) == 1);
  }

  DecodeStats link;
  Frame tiny;
  tiny.raw({0x45});
  CHECK_FALSE(decode_exact(tiny, link, LinkType::LinuxSll));
  CHECK(link.event.sll_pkt_too_small == 1);
  CHECK_FALSE(decode_exact(tiny, link, LinkType::Null));
  CHECK(link.event.ltnull_pkt_too_small == 1);
  Frame not_ip;
  not_ip.raw({0x12, 0, 0, 0});
  CHECK_FALSE(decode_exact(not_ip, link, LinkType::Raw));
  CHECK(link.event.ipraw_invalid_ip_version == 1);
}

TEST_CASE("every truncation of valid frames decodes without reading out of bounds") {
  std::vector<Frame> frames(5);
  frames[0].ethernet(0x0800).ipv4(6, 20 + 24 + 4, {0x94, 4, 0, 0}).tcp(1, 2, tcp_flag::Syn, 5).raw({1, 1, 1, 0}).text("data");
  frames[1].ethernet(0x8100).vlan(9, 0x86dd).ipv6(0, 8 + 8 + 8 + 4).u8(60).u8(0).zeros(6).u8(17).u8(0).zeros(6);
  frames[1].udp(1, 2, 12).text("abcd");
  frames[2].ethernet(0x0800).ipv4(1, 20 + 8 + 4).icmp(8, 0).text("ping");
  frames[3].ethernet(0x86dd).ipv6(58, 12).icmp(128, 0).text("pong");
  frames[4].ethernet(0x0806).u16(1).u16(0x0800).u8(6).u8(4).u16(2).zeros(20);
  for (const auto& full : frames) {
    for (size_t length = 0; length <= full.bytes.size(); ++length) {
      Frame cut;
      cut.bytes.assign(full.bytes.begin(), full.bytes.begin() + static_cast<std::ptrdiff_t>(length));
      DecodeStats s;
      const bool ok = decode_exact(cut, s);
      CHECK(s.pkts == 1);
      CHECK(s.invalid == (ok ? 0u : 1u));
    }
  }
}

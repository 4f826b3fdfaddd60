// Mirror encapsulations: ERSPAN I/II/III, GRE (TEB, IP, key and sequence), VXLAN, Geneve and
// RSPAN VLANs decoded down to the mirrored frame, the outer headers kept as `Packet::mirror`;
// truncated and malformed outer headers counted with Suricata's event names; the nesting
// limit; the session / VNI in the flow key.
#include <catch2/catch.hpp>

#include <memory>

#include "sensor/decode/decoder.hpp"
#include "sensor/flow/flow_table.hpp"
#include "tests/unit/decode/frame_builder.hpp"

using namespace eastwatch;
using test::Frame;

namespace {

const IpAddress kSensorSrc = *IpAddress::parse("192.168.50.5");

// The mirrored frame: a guest's TCP segment with "hello", optionally 802.1Q-tagged.
Frame guest_frame(uint16_t vlan = 0, uint16_t sport = 40000) {
  Frame f;
  if (vlan != 0) {
    f.ethernet(0x8100).vlan(vlan, 0x0800);
  } else {
    f.ethernet(0x0800);
  }
  f.ipv4(6, 20 + 20 + 5).tcp(sport, 8080, tcp_flag::Psh | tcp_flag::Ack).text("hello");
  return f;
}

// Outer Ethernet + IPv4 (192.168.50.5 -> 192.168.50.9) around `payload` (GRE and what follows).
Frame over_gre(const Frame& payload, uint16_t frag = 0) {
  Frame f;
  f.ethernet(0x0800).ipv4_between(47, static_cast<uint16_t>(20 + payload.bytes.size()), {192, 168, 50, 5},
                                  {192, 168, 50, 9}, {}, frag);
  return f.append(payload);
}

// Outer Ethernet + IPv4 + UDP to `port` around `payload` (VXLAN/Geneve and what follows).
Frame over_udp(const Frame& payload, uint16_t port, uint16_t sport = 50000) {
  const auto udp_length = static_cast<uint16_t>(8 + payload.bytes.size());
  Frame f;
  f.ethernet(0x0800).ipv4_between(17, static_cast<uint16_t>(20 + udp_length), {192, 168, 50, 5}, {192, 168, 50, 9});
  f.udp(sport, port, udp_length);
  return f.append(payload);
}

Frame erspan2_payload(uint16_t session, uint16_t vlan, const Frame& inner) {
  Frame p;
  p.gre(0x1000, 0x88be, 0, 7).erspan2(vlan, session, 3);
  return p.append(inner);
}

// Decodes a copy of exactly `bytes` (a heap block of that size, so a sanitizer sees any over-read).
struct Decoded {
  std::unique_ptr<uint8_t[]> storage;
  Packet packet;
  DecodeStats stats;
  bool ok = false;
};

std::unique_ptr<Decoded> decode(const std::vector<uint8_t>& bytes, const DecoderSettings& settings = {}) {
  auto d = std::make_unique<Decoded>();
  d->storage = std::make_unique<uint8_t[]>(std::max<size_t>(1, bytes.size()));
  std::copy(bytes.begin(), bytes.end(), d->storage.get());
  d->packet.data = d->storage.get();
  d->packet.caplen = d->packet.wirelen = static_cast<uint32_t>(bytes.size());
  d->ok = decode_packet(d->packet, d->stats, settings);
  return d;
}

void check_inner_guest(const Packet& p) {
  CHECK(p.ip_version == 4);
  CHECK(p.src == *IpAddress::parse("10.0.0.1"));
  CHECK(p.dst == *IpAddress::parse("10.0.0.2"));
  CHECK(p.ip_proto == 6);
  CHECK(p.src_port == 40000);
  CHECK(p.dst_port == 8080);
  REQUIRE(p.payload_len == 5);
  CHECK(std::string(reinterpret_cast<const char*>(p.payload().data()), p.payload_len) == "hello");
}

}  // namespace

TEST_CASE("ERSPAN type II: the inner frame decoded, session, VLAN and sensor address kept") {
  auto d = decode(over_gre(erspan2_payload(12, 100, guest_frame())).bytes);
  REQUIRE(d->ok);
  check_inner_guest(d->packet);
  const MirrorInfo& m = d->packet.mirror;
  CHECK(m.encap == MirrorEncap::Erspan2);
  CHECK(m.session_id == 12);
  CHECK(m.vlan == 100);
  CHECK(m.sensor_src == kSensorSrc);
  CHECK(d->packet.vlan_count == 0);
  CHECK(d->packet.l3_offset == 14 + 20 + 8 + 8 + 14);  // offsets refer to the inner frame (GRE with a sequence number: 8)
  CHECK(d->stats.gre == 1);
  CHECK(d->stats.erspan == 1);
  CHECK(d->stats.ipv4 == 2);
  CHECK(d->stats.ethernet == 2);
  CHECK(d->stats.tcp == 1);
  CHECK_FALSE(d->packet.ip_checksum_bad);  // the inner header's checksum, not a mix of the two
}

TEST_CASE("ERSPAN type II with an inner 802.1Q tag: the tag is the mirrored frame's") {
  auto d = decode(over_gre(erspan2_payload(513, 0, guest_frame(20))).bytes);
  REQUIRE(d->ok);
  check_inner_guest(d->packet);
  CHECK(d->packet.mirror.session_id == 513);
  CHECK(d->packet.vlan_count == 1);
  CHECK(d->packet.vlan_id[0] == 20);
}

TEST_CASE("ERSPAN type III with and without the platform-specific subheader") {
  for (const bool subheader : {false, true}) {
    Frame payload;
    payload.gre(0x1000, 0x22eb, 0, 1).erspan3(200, 1023, 0, subheader).append(guest_frame(30));
    auto d = decode(over_gre(payload).bytes);
    INFO("subheader " << subheader);
    REQUIRE(d->ok);
    check_inner_guest(d->packet);
    CHECK(d->packet.mirror.encap == MirrorEncap::Erspan3);
    CHECK(d->packet.mirror.session_id == 1023);
    CHECK(d->packet.mirror.vlan == 200);
    CHECK(d->packet.vlan_id[0] == 30);
    CHECK(d->stats.erspan == 1);
  }
}

TEST_CASE("ERSPAN type III: a frame type other than Ethernet is counted, not decoded") {
  Frame payload;
  payload.gre(0, 0x22eb).erspan3(0, 5, 2).append(guest_frame());
  auto d = decode(over_gre(payload).bytes);
  CHECK(d->ok);
  CHECK(d->stats.mirror.erspan3_not_ethernet == 1);
  CHECK(d->packet.mirror.encap == MirrorEncap::None);
  CHECK(d->packet.ip_proto == 47);  // still the outer packet
  CHECK(d->stats.tcp == 0);
}

TEST_CASE("ERSPAN type I: off by default (counted), decoded when decoder.erspan.typeI is on") {
  Frame payload;
  payload.gre(0, 0x88be).append(guest_frame());
  const auto bytes = over_gre(payload).bytes;
  auto off = decode(bytes);
  CHECK(off->ok);
  CHECK(off->stats.mirror.erspan1_disabled == 1);
  CHECK(off->packet.mirror.encap == MirrorEncap::None);
  CHECK(off->stats.tcp == 0);

  DecoderSettings on;
  on.erspan_type1_enabled = true;
  auto d = decode(bytes, on);
  REQUIRE(d->ok);
  check_inner_guest(d->packet);
  CHECK(d->packet.mirror.encap == MirrorEncap::Erspan1);
  CHECK_FALSE(d->packet.mirror.has_session_id());
  CHECK(d->packet.mirror.sensor_src == kSensorSrc);
}

TEST_CASE("GRE: transparent Ethernet bridging with checksum, key and sequence, IPv4 over GRE") {
  Frame teb;
  teb.gre(0x8000 | 0x2000 | 0x1000, 0x6558, 0xdeadbeef, 42).append(guest_frame(7));
  auto d = decode(over_gre(teb).bytes);
  REQUIRE(d->ok);
  check_inner_guest(d->packet);
  CHECK(d->packet.mirror.encap == MirrorEncap::Gre);
  CHECK(d->packet.mirror.sensor_src == kSensorSrc);
  CHECK(d->packet.vlan_id[0] == 7);
  CHECK(d->packet.l3_offset == 14 + 20 + 16 + 18);

  Frame ip;
  ip.gre(0x2000, 0x0800, 5);
  Frame inner = guest_frame();
  ip.bytes.insert(ip.bytes.end(), inner.bytes.begin() + 14, inner.bytes.end());  // no Ethernet header
  auto raw = decode(over_gre(ip).bytes);
  REQUIRE(raw->ok);
  check_inner_guest(raw->packet);
  CHECK(raw->packet.mirror.encap == MirrorEncap::Gre);
  CHECK(raw->stats.ethernet == 1);
}

TEST_CASE("GRE: Suricata's malformation events") {
  struct Case {
    const char* name;
    uint16_t flags;
    uint64_t DecodeStats::Events::*counter;
    DecodeEvent event;
  };
  const Case cases[] = {
      {"version 2", 0x0002, &DecodeStats::Events::gre_wrong_version, DecodeEvent::GreWrongVersion},
      {"recursion control", 0x0100, &DecodeStats::Events::gre_version0_recur, DecodeEvent::GreVersion0Recur},
      {"reserved flags", 0x0040, &DecodeStats::Events::gre_version0_flags, DecodeEvent::GreVersion0Flags},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    Frame payload;
    payload.gre(c.flags, 0x6558).append(guest_frame());
    auto d = decode(over_gre(payload).bytes);
    CHECK_FALSE(d->ok);
    CHECK(d->stats.event.*c.counter == 1);
    CHECK(d->packet.events.test(c.event));
    CHECK(d->stats.invalid == 1);
    CHECK(d->packet.ip_version == 4);  // the outer IP header stays, for `ip` rules
  }
  // A source route list without its terminating entry.
  Frame sre;
  sre.gre(0x4000, 0x6558).u16(0x0800).u8(0).u8(4).u32(0x01020304);
  auto d = decode(over_gre(sre).bytes);
  CHECK_FALSE(d->ok);
  CHECK(d->stats.event.gre_version0_malformed_sre_hdr == 1);
  // Version 1 (PPTP) is not a mirror: counted as GRE, not inspected, not an error.
  Frame pptp;
  pptp.gre(0x2001, 0x880b, 0).zeros(8);
  auto v1 = decode(over_gre(pptp).bytes);
  CHECK(v1->ok);
  CHECK(v1->stats.gre == 1);
  CHECK(v1->packet.mirror.encap == MirrorEncap::None);
}

TEST_CASE("ERSPAN: unsupported versions") {
  Frame two;
  two.gre(0x1000, 0x88be, 0, 1).erspan2(0, 1, 0, 2).append(guest_frame());
  auto d = decode(over_gre(two).bytes);
  CHECK_FALSE(d->ok);
  CHECK(d->stats.event.erspan_unsupported_version == 1);
  CHECK(d->packet.events.test(DecodeEvent::ErspanUnsupportedVersion));
  Frame three;
  three.gre(0, 0x22eb).erspan3(0, 1, 0, false, 1).append(guest_frame());
  auto e = decode(over_gre(three).bytes);
  CHECK_FALSE(e->ok);
  CHECK(e->stats.event.erspan_unsupported_version == 1);
}

TEST_CASE("VXLAN: VNI kept, inner QinQ frame decoded, not VXLAN stays UDP, configured ports") {
  Frame qinq;
  qinq.ethernet(0x88a8).vlan(300, 0x8100).vlan(20, 0x0800);
  qinq.ipv4(6, 20 + 20 + 5).tcp(40000, 8080, tcp_flag::Psh | tcp_flag::Ack).text("hello");
  Frame payload;
  payload.vxlan(5001).append(qinq);
  auto d = decode(over_udp(payload, 4789).bytes);
  REQUIRE(d->ok);
  check_inner_guest(d->packet);
  CHECK(d->packet.mirror.encap == MirrorEncap::Vxlan);
  CHECK(d->packet.mirror.vni == 5001);
  CHECK(d->packet.mirror.sensor_src == kSensorSrc);
  CHECK(d->packet.vlan_count == 2);
  CHECK(d->packet.vlan_id[0] == 300);
  CHECK(d->packet.vlan_id[1] == 20);
  CHECK(d->stats.vxlan == 1);
  CHECK(d->stats.udp == 1);

  Frame no_i;
  no_i.vxlan(5001, 0x00).append(guest_frame());
  auto plain = decode(over_udp(no_i, 4789).bytes);
  CHECK(plain->ok);
  CHECK(plain->packet.mirror.encap == MirrorEncap::None);
  CHECK(plain->packet.dst_port == 4789);
  CHECK(plain->stats.vxlan == 0);

  Frame vx;
  vx.vxlan(77).append(guest_frame());
  DecoderSettings other_port;
  other_port.vxlan_ports = {8472};
  auto on_8472 = decode(over_udp(vx, 8472).bytes, other_port);
  REQUIRE(on_8472->ok);
  CHECK(on_8472->packet.mirror.vni == 77);
  auto not_on_4789 = decode(over_udp(vx, 4789).bytes, other_port);
  CHECK(not_on_4789->packet.mirror.encap == MirrorEncap::None);
  DecoderSettings disabled;
  disabled.vxlan_enabled = false;
  auto off = decode(over_udp(vx, 4789).bytes, disabled);
  CHECK(off->packet.mirror.encap == MirrorEncap::None);
  CHECK(off->packet.dst_port == 4789);
}

TEST_CASE("VXLAN and Geneve: an unknown payload type is Suricata's event") {
  Frame inner;
  inner.ethernet(0x88cc).zeros(30);  // LLDP
  Frame vx;
  vx.vxlan(1).append(inner);
  auto d = decode(over_udp(vx, 4789).bytes);
  CHECK_FALSE(d->ok);
  CHECK(d->stats.event.vxlan_unknown_payload_type == 1);
  CHECK(d->packet.events.test(DecodeEvent::VxlanUnknownPayloadType));
  Frame gv;
  gv.geneve(1, 0x894f).zeros(30);  // NSH
  auto g = decode(over_udp(gv, 6081).bytes);
  CHECK_FALSE(g->ok);
  CHECK(g->stats.event.geneve_unknown_payload_type == 1);
}

TEST_CASE("Geneve: options skipped, Ethernet or IP inside, another version stays UDP") {
  Frame payload;
  payload.geneve(0xabcdef, 0x6558, 3).append(guest_frame(9));
  auto d = decode(over_udp(payload, 6081).bytes);
  REQUIRE(d->ok);
  check_inner_guest(d->packet);
  CHECK(d->packet.mirror.encap == MirrorEncap::Geneve);
  CHECK(d->packet.mirror.vni == 0xabcdef);
  CHECK(d->packet.vlan_id[0] == 9);
  CHECK(d->stats.geneve == 1);

  Frame ip;
  ip.geneve(4, 0x0800, 1);
  Frame inner = guest_frame();
  ip.bytes.insert(ip.bytes.end(), inner.bytes.begin() + 14, inner.bytes.end());
  auto raw = decode(over_udp(ip, 6081).bytes);
  REQUIRE(raw->ok);
  check_inner_guest(raw->packet);
  CHECK(raw->packet.mirror.vni == 4);

  Frame v1;
  v1.geneve(4, 0x6558, 0, 1).append(guest_frame());
  auto other = decode(over_udp(v1, 6081).bytes);
  CHECK(other->ok);
  CHECK(other->packet.mirror.encap == MirrorEncap::None);
  CHECK(other->stats.geneve == 0);
}

TEST_CASE("RSPAN: the outermost tag on a configured VLAN is removed and recorded") {
  Frame f;
  f.ethernet(0x8100).vlan(999, 0x8100).vlan(20, 0x0800);
  f.ipv4(6, 20 + 20 + 5).tcp(40000, 8080, tcp_flag::Psh | tcp_flag::Ack).text("hello");
  DecoderSettings rspan;
  rspan.rspan_vlans.set(999);
  auto d = decode(f.bytes, rspan);
  REQUIRE(d->ok);
  check_inner_guest(d->packet);
  CHECK(d->packet.mirror.encap == MirrorEncap::Rspan);
  CHECK(d->packet.mirror.vlan == 999);
  CHECK_FALSE(d->packet.mirror.has_sensor_src());
  CHECK(d->packet.vlan_count == 1);
  CHECK(d->packet.vlan_id[0] == 20);
  CHECK(d->stats.mirror.rspan == 1);
  // Not configured: two ordinary tags.
  auto plain = decode(f.bytes);
  CHECK(plain->packet.mirror.encap == MirrorEncap::None);
  CHECK(plain->packet.vlan_count == 2);
  CHECK(plain->packet.vlan_id[0] == 999);
}

TEST_CASE("Outer headers truncated at every length: counted, never read past the frame") {
  Frame key_seq;
  key_seq.gre(0x2000 | 0x1000, 0x88be, 1, 2).erspan2(0, 1).append(guest_frame());
  Frame e3;
  e3.gre(0, 0x22eb).erspan3(0, 1, 0, true).append(guest_frame());
  Frame vx;
  vx.vxlan(3).append(guest_frame());
  Frame gv;
  gv.geneve(3, 0x6558, 2).append(guest_frame());
  struct Case {
    const char* name;
    Frame payload;
    bool udp;
    uint16_t port;
  };
  const Case cases[] = {{"erspan2, gre key+seq", key_seq, false, 0}, {"erspan3 + subheader", e3, false, 0},
                        {"vxlan", vx, true, 4789}, {"geneve", gv, true, 6081}};
  for (const Case& c : cases) {
    for (size_t cut = 0; cut < c.payload.bytes.size(); ++cut) {
      INFO(c.name << " cut at " << cut);
      Frame part;
      part.bytes.assign(c.payload.bytes.begin(), c.payload.bytes.begin() + static_cast<std::ptrdiff_t>(cut));
      auto d = decode((c.udp ? over_udp(part, c.port) : over_gre(part)).bytes);
      CHECK(d->stats.tcp == 0);  // the inner segment is never whole
      if (c.udp) {
        // Short of a VXLAN/Geneve header and an Ethernet header: plain UDP; past it: the inner
        // layers' events make the packet invalid.
        const size_t claimed_from = c.port == 6081 ? 8 + 8 : 8 + 14;  // Geneve: header + options
        CHECK(d->ok == (cut < claimed_from));
        continue;
      }
      if (cut < 4) {
        CHECK(d->stats.event.gre_pkt_too_small == 1);
      } else if (c.name[6] == '2' && cut < 12) {
        CHECK(d->stats.event.gre_version0_hdr_too_big == 1);
      } else if (c.name[6] == '2' ? cut < 20 : cut < 4 + 12 + 8) {
        CHECK(d->stats.event.erspan_header_too_small == 1);
      }
      CHECK_FALSE(d->ok);  // the inner frame cannot be whole
    }
  }
}

TEST_CASE("Nested encapsulations: three decoded (the outermost kept), a fourth too many layers") {
  auto nest = [](int levels) {
    Frame frame = guest_frame();
    for (int level = 0; level < levels; ++level) {
      Frame vx;
      vx.vxlan(static_cast<uint32_t>(100 + level)).append(frame);
      frame = over_udp(vx, 4789);
    }
    return frame;
  };
  auto three = decode(nest(3).bytes);
  REQUIRE(three->ok);
  check_inner_guest(three->packet);
  CHECK(three->packet.mirror.vni == 102);  // the outermost
  CHECK(three->stats.vxlan == 3);
  auto four = decode(nest(4).bytes);
  CHECK_FALSE(four->ok);
  CHECK(four->stats.too_many_layers == 1);
  CHECK(four->stats.tcp == 0);
}

TEST_CASE("An outer fragment carrying GRE is counted and left to defrag") {
  auto d = decode(over_gre(erspan2_payload(12, 0, guest_frame()), 0x2000).bytes);  // MF set
  CHECK(d->ok);
  CHECK(d->packet.ip_fragment);
  CHECK(d->stats.mirror.outer_fragmented == 1);
  CHECK(d->packet.mirror.encap == MirrorEncap::None);
  CHECK(d->stats.erspan == 0);
}

TEST_CASE("Flow key: the same inner flow on two VNIs or sessions is two flows, outer addresses are not in it") {
  FlowSettings settings;
  settings.prealloc = 16;
  settings.memcap = 4 << 20;
  settings.hash_size = 1024;
  FlowTable flows(settings);
  auto vxlan_packet = [](uint32_t vni, uint16_t outer_sport) {
    Frame vx;
    vx.vxlan(vni).append(guest_frame());
    return decode(over_udp(vx, 4789, outer_sport).bytes);
  };
  auto a = vxlan_packet(5001, 1111);
  auto b = vxlan_packet(5002, 1111);
  auto a_again = vxlan_packet(5001, 2222);  // another outer source port: the same flow
  Flow* fa = flows.process(a->packet);
  Flow* fb = flows.process(b->packet);
  Flow* fa2 = flows.process(a_again->packet);
  REQUIRE(fa != nullptr);
  REQUIRE(fb != nullptr);
  CHECK(fa != fb);
  CHECK(fa == fa2);
  CHECK(fa->pkts_toserver == 2);
  CHECK(fa->key.mirror == a->packet.mirror.flow_key());
  CHECK(fa->mirror_sensor_src == kSensorSrc);

  auto s12 = decode(over_gre(erspan2_payload(12, 0, guest_frame())).bytes);
  auto s13 = decode(over_gre(erspan2_payload(13, 0, guest_frame())).bytes);
  CHECK(flows.process(s12->packet) != flows.process(s13->packet));
  auto local = decode(guest_frame().bytes);
  CHECK(local->packet.mirror.flow_key() == 0);
  CHECK(flows.process(local->packet) != fa);
}

// sid 1 with learned bindings (ARP, DHCP acks, IPv6 ND), gratuitous-ARP floods, sid 2's
// VLAN / VNI / mirror-session half, sid 3 for DHCPv6, and the shared BindingTable itself, on
// real decoded frames.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "sensor/decode/decoder.hpp"
#include "sensor/flow/flow.hpp"
#include "sensor/inventory/binding_table.hpp"
#include "sensor/vmdetect/vm_detector.hpp"
#include "tests/unit/decode/frame_builder.hpp"

using namespace eastwatch;
using eastwatch::test::Frame;

namespace {

std::shared_ptr<const Inventory> segment_inventory() {
  auto parsed = parse_inventory(R"(sensor: {host: esx-01}
zones: [{name: dmz}, {name: infra}]
vms:
  - {name: web-01, zone: dmz, vlan: 10, macs: ["00:50:56:00:00:11"], ips: ["10.20.0.11", "fd00:20::11"]}
  - {name: db-01, zone: dmz, macs: [{mac: "00:50:56:00:00:12", vni: 5001, mirror-session: 12}], ips: ["10.20.0.12"]}
  - {name: app-01, zone: dmz, macs: ["00:50:56:00:00:13"], ips: ["10.20.0.13"]}
  - {name: dhcp-01, zone: infra, macs: ["00:50:56:00:00:02"], ips: ["10.20.0.2", "fe80::2"], roles: [dhcp-server]}
  - {name: gw-01, zone: infra, macs: ["00:50:56:00:00:01"], ips: ["10.20.0.1"], roles: [router]}
)",
                                "s.yaml");
  REQUIRE(parsed);
  return *parsed;
}

constexpr uint8_t kWeb = 0x11, kDb = 0x12, kApp = 0x13, kDhcp = 0x02, kGateway = 0x01, kStranger = 0x77,
                  kOther = 0x78;

// Ethernet from 00:50:56:00:00:<src> to broadcast, optionally with a VLAN tag.
Frame ethernet(uint8_t src, uint16_t ether_type, uint16_t vlan = 0) {
  Frame f;
  f.raw({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}).raw({0, 0x50, 0x56, 0, 0, src});
  if (vlan != 0) f.u16(0x8100).u16(vlan);
  return f.u16(ether_type);
}

// ARP `opcode` from MAC <src>: sender (MAC <claimed>, 10.20.0.<sender>), target 10.20.0.<target>.
Frame arp(uint16_t opcode, uint8_t src, uint8_t claimed, uint8_t sender, uint8_t target, uint16_t vlan = 0) {
  Frame f = ethernet(src, 0x0806, vlan);
  f.u16(1).u16(0x0800).u8(6).u8(4).u16(opcode);
  f.raw({0, 0x50, 0x56, 0, 0, claimed}).raw({10, 20, 0, sender});
  f.zeros(6).raw({10, 20, 0, target});
  return f;
}

// An IPv6 NS (135) or NA (136) from fe80::<src_ip> (MAC <src_mac>) about fe80::<target>, with a
// source (NS) or target (NA) link-layer option naming MAC <link> (0: no option).
Frame nd(uint8_t type, uint8_t src_mac, uint8_t src_ip, uint8_t target, uint8_t link, uint8_t hop_limit = 255,
         uint8_t option_length = 1) {
  Frame f = ethernet(src_mac, 0x86dd);
  const uint16_t length = static_cast<uint16_t>(24 + (link != 0 ? 8 : 0));
  f.u32(0x60000000).u16(length).u8(58).u8(hop_limit);
  f.raw({0xfe, 0x80}).zeros(13).u8(src_ip);
  f.raw({0xff, 0x02}).zeros(13).u8(1);
  f.u8(type).u8(0).u16(0).u32(type == 136 ? 0x20000000 : 0);
  f.raw({0xfe, 0x80}).zeros(13).u8(target);
  if (link != 0) f.u8(type == 135 ? 1 : 2).u8(option_length).raw({0, 0x50, 0x56, 0, 0, link});
  return f;
}

// UDP from <src_ip> (MAC <src_mac>) with ports and payload, IPv4 (10.20.0.x) or IPv6 (fe80::x).
Frame udp(bool v6, uint8_t src_mac, uint8_t src_ip, uint16_t sport, uint16_t dport, const std::vector<uint8_t>& payload,
          uint16_t vlan = 0) {
  Frame f = ethernet(src_mac, v6 ? 0x86dd : 0x0800, vlan);
  const uint16_t udp_length = static_cast<uint16_t>(8 + payload.size());
  if (v6) {
    f.u32(0x60000000).u16(udp_length).u8(17).u8(64);
    f.raw({0xfe, 0x80}).zeros(13).u8(src_ip);
    f.raw({0xfe, 0x80}).zeros(13).u8(0x99);
  } else {
    f.ipv4_between(17, static_cast<uint16_t>(20 + udp_length), {10, 20, 0, src_ip}, {10, 20, 0, 0x99});
  }
  f.udp(sport, dport, udp_length);
  f.bytes.insert(f.bytes.end(), payload.begin(), payload.end());
  return f;
}

// A DHCP ACK from the server giving 10.20.0.<yiaddr> to MAC <client>.
std::vector<uint8_t> dhcp_ack(uint8_t yiaddr, uint8_t client) {
  std::vector<uint8_t> b(236, 0);
  b[0] = 2;
  b[1] = 1;
  b[2] = 6;
  b[16] = 10; b[17] = 20; b[18] = 0; b[19] = yiaddr;
  const uint8_t chaddr[] = {0, 0x50, 0x56, 0, 0, client};
  std::copy(std::begin(chaddr), std::end(chaddr), b.begin() + 28);
  b.insert(b.end(), {99, 130, 83, 99, 53, 1, 5, 255});
  return b;
}

// An inner Ethernet frame from MAC <src> (optionally tagged) carrying TCP SYN 10.20.0.<src_ip> -> .99.
Frame inner_syn(uint8_t src, uint8_t src_ip, uint16_t vlan = 0) {
  Frame f = ethernet(src, 0x0800, vlan);
  f.ipv4_between(6, 40, {10, 20, 0, src_ip}, {10, 20, 0, 0x99});
  return f.tcp(40000, 80, tcp_flag::Syn);
}

// VXLAN (UDP 4789) with `vni`, or ERSPAN II with `session` and `vlan`, around `inner`.
Frame vxlan(uint32_t vni, const Frame& inner) {
  Frame f;
  f.ethernet(0x0800).ipv4_between(17, static_cast<uint16_t>(20 + 8 + 8 + inner.bytes.size()), {192, 168, 0, 1},
                                  {192, 168, 0, 2});
  f.udp(50000, 4789, static_cast<uint16_t>(8 + 8 + inner.bytes.size())).vxlan(vni);
  return f.append(inner);
}
Frame erspan(uint16_t session, uint16_t vlan, const Frame& inner) {
  Frame f;
  f.ethernet(0x0800).ipv4_between(47, static_cast<uint16_t>(20 + 8 + 8 + inner.bytes.size()), {192, 168, 0, 1},
                                  {192, 168, 0, 2});
  f.gre(0x1000, 0x88be, 0, 1).erspan2(vlan, session);
  return f.append(inner);
}

Packet decode(const Frame& frame, int64_t seconds = 1000) {
  Packet p = frame.packet();
  DecodeStats stats;
  REQUIRE(decode_packet(p, stats));
  p.ts_usec = seconds * 1'000'000;
  return p;
}

// A flow whose first packet in the packet's direction this is (sid 2's segment check).
Packet first_of_flow(const Frame& frame, Flow& flow, int64_t seconds = 1000) {
  Packet p = decode(frame, seconds);
  flow = Flow{};
  flow.pkts_toserver = 1;
  p.flow = &flow;
  p.to_server = true;
  return p;
}

struct Detect {
  explicit Detect(VmDetectSettings settings = {}) : detector(settings) {}
  VmDetector detector;
  std::vector<AlertEvent> out = std::vector<AlertEvent>(4);
  size_t arp(const Frame& f, const Inventory& inv, int64_t seconds = 1000) {
    return detector.on_arp(decode(f, seconds), inv, out);
  }
  size_t packet(const Frame& f, const Inventory& inv, int64_t seconds = 1000) {
    return detector.on_packet(decode(f, seconds), inv, out);
  }
};

}  // namespace

TEST_CASE("BindingTable: learns, confirms, keeps a live binding against a contradiction, replaces an aged one") {
  BindingTable table(1 << 20, 60);
  const auto same = [](uint64_t& stored, uint64_t claimed) { return stored == claimed; };
  const IpKey key = IpKey::of(IpAddress::from_v4(0x0a140032));
  CHECK(table.claim(key, 0xa, 100, same) == BindingTable::Outcome::Learned);
  CHECK(table.claim(key, 0xa, 130, same) == BindingTable::Outcome::Confirmed);  // refreshed at 130
  uint64_t previous = 0;
  CHECK(table.claim(key, 0xb, 150, same, &previous) == BindingTable::Outcome::Conflict);
  CHECK(previous == 0xa);
  uint64_t value = 0;
  REQUIRE(table.find(key, 150, value));
  CHECK(value == 0xa);  // the contradiction did not overwrite it
  CHECK(table.claim(key, 0xb, 189, same) == BindingTable::Outcome::Conflict);   // 59 s after 130
  CHECK(table.claim(key, 0xb, 190, same) == BindingTable::Outcome::Replaced);   // 60 s: aged out
  CHECK(table.claim(key, 0xc, 191, same, nullptr, true) == BindingTable::Outcome::Replaced);  // forced
  CHECK(table.claim(key, 0xc, 100, same) == BindingTable::Outcome::Confirmed);  // an older packet time
  CHECK(table.counters().learned == 1);
  CHECK(table.counters().replaced == 2);
  CHECK(table.counters().conflicts == 2);
  CHECK(table.counters().entries == 1);
}

TEST_CASE("BindingTable: the memcap bounds it, a full bucket gives up its least recently seen entry, counted") {
  BindingTable small(1, 3600);  // below one bucket: one bucket of kWays
  CHECK(small.capacity() == BindingTable::kWays);
  const auto same = [](uint64_t& stored, uint64_t claimed) { return stored == claimed; };
  for (uint32_t i = 0; i < BindingTable::kWays; ++i) {
    CHECK(small.claim(IpKey{0, i}, i, 100 + i, same) == BindingTable::Outcome::Learned);
  }
  CHECK(small.claim(IpKey{0, 99}, 99, 200, same) == BindingTable::Outcome::Learned);
  CHECK(small.counters().evicted == 1);
  uint64_t value = 0;
  CHECK_FALSE(small.find(IpKey{0, 0}, 200, value));  // the oldest (seen at 100) went
  CHECK(small.find(IpKey{0, 1}, 200, value));
  CHECK(small.counters().entries == static_cast<int64_t>(BindingTable::kWays));
  // An aged entry taken over is not an eviction.
  CHECK(small.claim(IpKey{0, 100}, 1, 100000, same) == BindingTable::Outcome::Learned);
  CHECK(small.counters().evicted == 1);
  BindingTable large(4 << 20, 3600);
  CHECK(large.capacity() >= 16384);
  CHECK(large.capacity() * 32 <= (4u << 20));
}

TEST_CASE("sid 1: a learned ARP binding contradicted by another MAC alerts until it ages out") {
  const auto inv = segment_inventory();
  VmDetectSettings settings;
  settings.binding_timeout = 300;
  Detect d(settings);
  // 10.20.0.50 is in no inventory: the first claim (a request's sender) teaches it.
  CHECK(d.arp(arp(1, kStranger, kStranger, 50, 1), *inv, 1000) == 0);
  CHECK(d.arp(arp(2, kStranger, kStranger, 50, 1), *inv, 1100) == 0);  // confirmed at 1100
  REQUIRE(d.arp(arp(2, kOther, kOther, 50, 1), *inv, 1200) == 1);
  CHECK(d.out[0].rule->sid == kSidArpSpoofing);
  CHECK(d.out[0].src == IpAddress::from_v4(0x0a140032));
  CHECK(d.out[0].dst == IpAddress::from_v4(0x0a140001));
  CHECK(d.arp(arp(2, kOther, kOther, 50, 1), *inv, 1399) == 1);  // 299 s after the last confirmation
  CHECK(d.arp(arp(2, kOther, kOther, 50, 1), *inv, 1400) == 0);  // aged out: kOther's now
  CHECK(d.arp(arp(2, kOther, kOther, 50, 1), *inv, 1500) == 0);
  CHECK(d.arp(arp(2, kStranger, kStranger, 50, 1), *inv, 1500) == 1);
  CHECK(d.detector.counters().arp_spoofing == 3);
}

TEST_CASE("sid 1 negatives: probes, broadcast MACs, learning off, a router's proxy ARP") {
  const auto inv = segment_inventory();
  Detect d;
  const auto probe = [](uint8_t mac_last) {  // RFC 5227 probe: sender 0.0.0.0
    Frame f = arp(1, mac_last, mac_last, 1, 50);
    for (int i = 28; i < 32; ++i) f.bytes[i] = 0;
    return f;
  };
  CHECK(d.arp(probe(kStranger), *inv) == 0);
  CHECK(d.arp(probe(kOther), *inv) == 0);
  Frame zero_mac = arp(2, kStranger, kStranger, 51, 1);
  for (int i = 0; i < 6; ++i) zero_mac.bytes[22 + i] = 0;
  CHECK(d.arp(zero_mac, *inv) == 0);
  CHECK(d.arp(arp(2, kStranger, kStranger, 51, 1), *inv) == 0);
  // The inventory's router answering for an address learned for another MAC: proxy ARP.
  CHECK(d.arp(arp(2, kGateway, kGateway, 51, 1), *inv) == 0);
  // Learning off: only the inventory's bindings.
  VmDetectSettings off;
  off.learn_bindings = false;
  Detect d2(off);
  CHECK(d2.arp(arp(2, kStranger, kStranger, 52, 1), *inv) == 0);
  CHECK(d2.arp(arp(2, kOther, kOther, 52, 1), *inv) == 0);
  CHECK(d2.arp(arp(2, kStranger, kStranger, 12, 1), *inv) == 1);  // db-01's address: the inventory's
}

TEST_CASE("sid 1: the inventory wins over learned bindings, and an unknown MAC claiming a VM's address alerts") {
  const auto inv = segment_inventory();
  Detect d;
  CHECK(d.arp(arp(2, kDb, kDb, 12, 1), *inv) == 0);
  CHECK(d.arp(arp(2, kStranger, kStranger, 12, 1), *inv) == 1);  // not learned over db-01's binding
  CHECK(d.arp(arp(2, kStranger, kStranger, 12, 1), *inv) == 1);
  CHECK(d.arp(arp(2, kDb, kDb, 12, 1), *inv) == 0);              // db-01 itself, still fine
}

TEST_CASE("sid 1: a DHCP ack of a dhcp-server VM binds yiaddr to chaddr, a rogue server's ack teaches nothing") {
  const auto inv = segment_inventory();
  Detect d;
  CHECK(d.arp(arp(2, kOther, kOther, 60, 1), *inv, 1000) == 0);  // learned for kOther
  // The server assigns 10.20.0.60 to kStranger (a lease moved): replaces, no alert.
  CHECK(d.packet(udp(false, kDhcp, 2, 67, 68, dhcp_ack(60, kStranger)), *inv, 1001) == 0);
  CHECK(d.arp(arp(2, kStranger, kStranger, 60, 1), *inv, 1002) == 0);
  CHECK(d.arp(arp(2, kOther, kOther, 60, 1), *inv, 1003) == 1);
  // A rogue server (sid 3) gives 10.20.0.61 to kOther: not learned, so kStranger's claim is the first.
  CHECK(d.packet(udp(false, kStranger, 77, 67, 68, dhcp_ack(61, kOther)), *inv, 1004) == 1);
  CHECK(d.out[0].rule->sid == kSidRogueDhcp);
  CHECK(d.arp(arp(2, kStranger, kStranger, 61, 1), *inv, 1005) == 0);
  // With sid 3 off, a server's ack still teaches the binding.
  VmDetectSettings no_rogue_dhcp;
  no_rogue_dhcp.rogue_dhcp = false;
  Detect d2(no_rogue_dhcp);
  CHECK(d2.packet(udp(false, kDhcp, 2, 67, 68, dhcp_ack(62, kStranger)), *inv, 1000) == 0);
  CHECK(d2.arp(arp(2, kOther, kOther, 62, 1), *inv, 1001) == 1);
}

TEST_CASE("sid 1: gratuitous-ARP flood, more than count per MAC within seconds, one alert per window") {
  const auto inv = segment_inventory();
  VmDetectSettings settings;
  settings.garp_flood_count = 5;
  settings.garp_flood_seconds = 10;
  Detect d(settings);
  size_t alerts = 0;
  for (int i = 0; i < 5; ++i) alerts += d.arp(arp(1, kApp, kApp, 13, 13), *inv, 1000 + i);
  CHECK(alerts == 0);
  REQUIRE(d.arp(arp(1, kApp, kApp, 13, 13), *inv, 1005) == 1);  // the 6th within 10 s
  CHECK(d.out[0].rule->sid == kSidArpSpoofing);
  for (int i = 0; i < 20; ++i) alerts += d.arp(arp(2, kApp, kApp, 13, 13), *inv, 1006);  // replies count too
  CHECK(alerts == 0);
  CHECK(d.detector.counters().garp_flood == 1);
  // A new window: 6 more alert again; 6 spread over 60 s never do.
  for (int i = 0; i < 6; ++i) alerts += d.arp(arp(1, kApp, kApp, 13, 13), *inv, 1010);
  CHECK(alerts == 1);
  for (int i = 0; i < 6; ++i) alerts += d.arp(arp(1, kWeb, kWeb, 11, 11), *inv, 2000 + i * 10);
  CHECK(alerts == 1);
  // Plain requests are not gratuitous.
  for (int i = 0; i < 20; ++i) alerts += d.arp(arp(1, kDb, kDb, 12, 1), *inv, 3000);
  CHECK(alerts == 1);
  CHECK(d.detector.counters().garp_flood == 2);
}

TEST_CASE("sid 1: IPv6 ND, NA target and NS source link-layer options against learned and inventory bindings") {
  const auto inv = segment_inventory();
  Detect d;
  CHECK(d.packet(nd(136, kStranger, 0x50, 0x50, kStranger), *inv) == 0);  // fe80::50 is kStranger's
  CHECK(d.packet(nd(135, kStranger, 0x50, 0x99, kStranger), *inv) == 0);  // NS source option, same
  REQUIRE(d.packet(nd(136, kOther, 0x51, 0x50, kOther), *inv) == 1);      // NA: fe80::50 is at kOther
  CHECK(d.out[0].rule->sid == kSidArpSpoofing);
  CHECK(d.out[0].src == *IpAddress::parse("fe80::50"));
  CHECK(d.packet(nd(135, kOther, 0x50, 0x99, kOther), *inv) == 1);        // NS from fe80::50 by kOther
  // fe80::2 is dhcp-01's in the inventory.
  CHECK(d.packet(nd(136, kStranger, 0x77, 0x02, kStranger), *inv) == 1);
  CHECK(d.packet(nd(136, kDhcp, 0x02, 0x02, kDhcp), *inv) == 0);
  CHECK(d.detector.counters().nd_spoofing == 3);
  // Negatives: hop limit below 255 (hosts drop it), no option, a zero-length option (malformed).
  CHECK(d.packet(nd(136, kOther, 0x51, 0x50, kOther, 64), *inv) == 0);
  CHECK(d.packet(nd(136, kOther, 0x51, 0x50, 0), *inv) == 0);
  CHECK(d.packet(nd(136, kOther, 0x51, 0x50, kOther, 255, 0), *inv) == 0);
  CHECK(d.packet(nd(136, kOther, 0x51, 0x50, kOther, 255, 2), *inv) == 0);  // runs past the end
  CHECK(d.detector.counters().nd_malformed == 2);
}

TEST_CASE("sid 3: DHCPv6 advertise and reply from a host not marked dhcp-server") {
  const auto inv = segment_inventory();
  Detect d;
  const std::vector<uint8_t> advertise = {2, 0x12, 0x34, 0x56, 0, 1, 0, 2, 0xaa, 0xbb};  // + client id
  const std::vector<uint8_t> reply = {7, 0x12, 0x34, 0x56};
  REQUIRE(d.packet(udp(true, kWeb, 0x11, 547, 546, advertise), *inv) == 1);
  CHECK(d.out[0].rule->sid == kSidRogueDhcp);
  CHECK(d.packet(udp(true, kStranger, 0x77, 547, 546, reply), *inv) == 1);
  CHECK(d.detector.counters().rogue_dhcp == 2);
  // Negatives: the dhcp-server VM, a client's solicit (546 -> 547), a request type, malformed options.
  CHECK(d.packet(udp(true, kDhcp, 0x02, 547, 546, reply), *inv) == 0);
  CHECK(d.packet(udp(true, kWeb, 0x11, 546, 547, {1, 0, 0, 1}), *inv) == 0);
  CHECK(d.packet(udp(true, kWeb, 0x11, 547, 546, {3, 0, 0, 1}), *inv) == 0);
  CHECK(d.packet(udp(true, kWeb, 0x11, 547, 546, {2, 0, 0, 1, 0, 1, 0, 9, 0xaa}), *inv) == 0);
  CHECK(d.packet(udp(true, kWeb, 0x11, 547, 546, {2, 0}), *inv) == 0);
  CHECK(d.detector.counters().dhcpv6_malformed == 2);
  VmDetectSettings off;
  off.rogue_dhcp = false;
  Detect d2(off);
  CHECK(d2.packet(udp(true, kWeb, 0x11, 547, 546, reply), *inv) == 0);
}

TEST_CASE("inventory: vlan, vni and mirror-session per VM and per MAC, bad values are errors") {
  const auto inv = segment_inventory();
  const uint8_t web[] = {0, 0x50, 0x56, 0, 0, kWeb};
  const uint8_t db[] = {0, 0x50, 0x56, 0, 0, kDb};
  const uint8_t app[] = {0, 0x50, 0x56, 0, 0, kApp};
  MacSegment s;
  CHECK(inv->find_mac(web, s) == 0);
  CHECK(s.has == MacSegment::kVlan);
  CHECK(s.vlan == 10);
  CHECK(inv->find_mac(db, s) == 1);
  CHECK(s.has == (MacSegment::kVni | MacSegment::kSession));
  CHECK(s.vni == 5001);
  CHECK(s.session == 12);
  CHECK(inv->find_mac(app, s) == 2);
  CHECK(s.has == 0);
  auto per_mac = parse_inventory(
      "zones: [{name: a}]\nvms:\n  - {name: x, host: h, zone: a, vlan: 5, macs: [\"00:00:00:00:00:01\", "
      "{mac: \"00:00:00:00:00:02\", vlan: 6}]}\n",
      "m.yaml");
  REQUIRE(per_mac);
  const uint8_t one[] = {0, 0, 0, 0, 0, 1}, two[] = {0, 0, 0, 0, 0, 2};
  (*per_mac)->find_mac(one, s);
  CHECK(s.vlan == 5);
  (*per_mac)->find_mac(two, s);
  CHECK(s.vlan == 6);
  auto bad = parse_inventory(
      "zones: [{name: a}]\nvms:\n  - {name: x, host: h, zone: a, vlan: 4095, macs: [{mac: \"00:00:00:00:00:01\", "
      "vni: x, mirror-session: 1024}, {vlan: 3}, {mac: \"00:00:00:00:00:03\", color: red}]}\n",
      "b.yaml");
  REQUIRE_FALSE(bad);
  const std::vector<std::string> expected = {
      "b.yaml:3: vms[0].vlan: '4095' is not valid (expected a VLAN id, 1-4094)",
      "b.yaml:3: vms[0].macs[0].vni: 'x' is not valid (expected a VXLAN/Geneve VNI, 0-16777215)",
      "b.yaml:3: vms[0].macs[0].mirror-session: '1024' is not valid (expected an ERSPAN session id, 0-1023)",
      "b.yaml:3: vms[0].macs[1].mac: missing (expected the MAC address)",
      "b.yaml:3: vms[0].macs[2].color: unknown key (expected one of: mac, vlan, vni, mirror-session)",
  };
  CHECK(bad.error() == expected);
}

TEST_CASE("sid 2: a VM's MAC on a VLAN, VNI or ERSPAN session other than the inventory's") {
  const auto inv = segment_inventory();
  Detect d;
  Flow flow;
  // web-01: vlan 10.
  CHECK(d.detector.on_packet(first_of_flow(inner_syn(kWeb, 11, 10), flow), *inv, d.out) == 0);
  REQUIRE(d.detector.on_packet(first_of_flow(inner_syn(kWeb, 11, 20), flow), *inv, d.out) == 1);
  CHECK(d.out[0].rule->sid == kSidMacSpoofing);
  CHECK(d.out[0].vlan_id[0] == 20);
  CHECK(d.detector.on_packet(first_of_flow(inner_syn(kWeb, 11), flow), *inv, d.out) == 0);  // untagged: unknown
  // Inside VXLAN: the inner tag counts.
  CHECK(d.detector.on_packet(first_of_flow(vxlan(7000, inner_syn(kWeb, 11, 30)), flow), *inv, d.out) == 1);
  // db-01: vni 5001, session 12.
  CHECK(d.detector.on_packet(first_of_flow(vxlan(5001, inner_syn(kDb, 12)), flow), *inv, d.out) == 0);
  CHECK(d.detector.on_packet(first_of_flow(vxlan(5002, inner_syn(kDb, 12)), flow), *inv, d.out) == 1);
  CHECK(d.detector.on_packet(first_of_flow(erspan(12, 0, inner_syn(kDb, 12)), flow), *inv, d.out) == 0);
  CHECK(d.detector.on_packet(first_of_flow(erspan(13, 0, inner_syn(kDb, 12)), flow), *inv, d.out) == 1);
  // ERSPAN's original VLAN stands for a tag: web-01 on VLAN 10 through session 3 is fine, 11 is not.
  CHECK(d.detector.on_packet(first_of_flow(erspan(3, 10, inner_syn(kWeb, 11)), flow), *inv, d.out) == 0);
  CHECK(d.detector.on_packet(first_of_flow(erspan(3, 11, inner_syn(kWeb, 11)), flow), *inv, d.out) == 1);
  CHECK(d.detector.counters().mac_segment == 5);
  // A later packet of a flow is not checked again; nor a router's MAC, nor an unknown MAC.
  const Frame later_frame = inner_syn(kWeb, 11, 20);
  Packet later = first_of_flow(later_frame, flow);
  flow.pkts_toserver = 2;
  CHECK(d.detector.on_packet(later, *inv, d.out) == 0);
  CHECK(d.detector.on_packet(first_of_flow(inner_syn(kGateway, 1, 20), flow), *inv, d.out) == 0);
  CHECK(d.detector.on_packet(first_of_flow(inner_syn(kGateway, 1, 21), flow), *inv, d.out) == 0);
  CHECK(d.detector.on_packet(first_of_flow(inner_syn(kStranger, 77, 20), flow), *inv, d.out) == 0);
  CHECK(d.detector.on_packet(first_of_flow(inner_syn(kStranger, 77, 21), flow), *inv, d.out) == 0);
}

TEST_CASE("sid 2: where the inventory names no segment, the first one seen is learned") {
  const auto inv = segment_inventory();
  VmDetectSettings settings;
  settings.segment_timeout = 600;
  Detect d(settings);
  Flow flow;
  // app-01: nothing in the inventory. First seen on VLAN 40 inside VNI 6000.
  CHECK(d.detector.on_packet(first_of_flow(vxlan(6000, inner_syn(kApp, 13, 40)), flow, 1000), *inv, d.out) == 0);
  CHECK(d.detector.on_packet(first_of_flow(vxlan(6000, inner_syn(kApp, 13, 40)), flow, 1100), *inv, d.out) == 0);
  CHECK(d.detector.on_packet(first_of_flow(vxlan(6001, inner_syn(kApp, 13, 40)), flow, 1200), *inv, d.out) == 1);
  CHECK(d.detector.on_packet(first_of_flow(inner_syn(kApp, 13, 41), flow, 1200), *inv, d.out) == 1);
  // ARP frames are checked too.
  CHECK(d.arp(arp(1, kApp, kApp, 13, 1, 41), *inv, 1200) == 1);
  CHECK(d.out[0].rule->sid == kSidMacSpoofing);
  CHECK(d.arp(arp(1, kApp, kApp, 13, 1, 40), *inv, 1200) == 0);
  // An ERSPAN session adds to what is known without a conflict, then binds too.
  CHECK(d.detector.on_packet(first_of_flow(erspan(7, 40, inner_syn(kApp, 13)), flow, 1300), *inv, d.out) == 0);
  CHECK(d.detector.on_packet(first_of_flow(erspan(8, 40, inner_syn(kApp, 13)), flow, 1300), *inv, d.out) == 1);
  // Aged out (600 s after 1300): the new segment is learned.
  CHECK(d.detector.on_packet(first_of_flow(inner_syn(kApp, 13, 41), flow, 1900), *inv, d.out) == 0);
  CHECK(d.detector.on_packet(first_of_flow(inner_syn(kApp, 13, 40), flow, 1901), *inv, d.out) == 1);
  // web-01's inventory VLAN is checked; its VNI, which the inventory does not name, is learned.
  CHECK(d.detector.on_packet(first_of_flow(vxlan(100, inner_syn(kWeb, 11, 10)), flow, 2000), *inv, d.out) == 0);
  CHECK(d.detector.on_packet(first_of_flow(vxlan(101, inner_syn(kWeb, 11, 10)), flow, 2001), *inv, d.out) == 1);
  VmDetectSettings off;
  off.learn_segments = false;
  Detect d2(off);
  CHECK(d2.detector.on_packet(first_of_flow(inner_syn(kApp, 13, 40), flow), *inv, d2.out) == 0);
  CHECK(d2.detector.on_packet(first_of_flow(inner_syn(kApp, 13, 41), flow), *inv, d2.out) == 0);
}

TEST_CASE("detectors share one LearnedBindings: a binding learned by one worker is checked by another") {
  const auto inv = segment_inventory();
  LearnedBindings shared(1 << 20, 3600, 1 << 20, 3600);
  VmDetector worker_a{VmDetectSettings{}, &shared};
  VmDetector worker_b{VmDetectSettings{}, &shared};
  std::vector<AlertEvent> out(4);
  CHECK(worker_a.on_arp(decode(arp(2, kStranger, kStranger, 70, 1)), *inv, out) == 0);
  CHECK(worker_b.on_arp(decode(arp(2, kOther, kOther, 70, 1)), *inv, out) == 1);
  CHECK(shared.addresses.counters().learned == 1);
  CHECK(shared.addresses.counters().conflicts == 1);
}

// sids 2, 3, 4 (per packet) and 6, 7 (per new flow) of the built-in VM detectors, on real
// decoded frames.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "sensor/decode/decoder.hpp"
#include "sensor/flow/flow.hpp"
#include "sensor/vmdetect/vm_detector.hpp"
#include "tests/unit/decode/frame_builder.hpp"
#include "tests/unit/support/counting_allocator.hpp"  // the only one in inventory_tests

using namespace eastwatch;
using eastwatch::test::Frame;

namespace {

std::shared_ptr<const Inventory> guests() {
  auto parsed = parse_inventory(R"(sensor: {host: esx-01}
zones: [{name: dmz}, {name: infra}]
vms:
  - {name: web-01, zone: dmz, macs: ["00:50:56:00:00:11"], ips: ["10.20.0.11", "fd00:20::11"]}
  - {name: db-01, zone: dmz, macs: ["00:50:56:00:00:12"], ips: ["10.20.0.12"]}
  - {name: dhcp-01, zone: infra, macs: ["00:50:56:00:00:02"], ips: ["10.20.0.2"], roles: [dhcp-server]}
  - {name: gw-01, zone: infra, macs: ["00:50:56:00:00:01"], ips: ["10.20.0.1", "fe80::1"], roles: [router]}
)",
                                "g.yaml");
  REQUIRE(parsed);
  return *parsed;
}

constexpr uint8_t kWeb = 0x11, kDb = 0x12, kDhcp = 0x02, kGateway = 0x01, kStranger = 0x77;

// Ethernet from 00:50:56:00:00:<src> to 00:50:56:00:00:<dst> (0xff: broadcast).
Frame ethernet(uint8_t src, uint8_t dst, uint16_t ether_type) {
  Frame f;
  if (dst == 0xff) {
    f.raw({0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  } else {
    f.raw({0, 0x50, 0x56, 0, 0, dst});
  }
  f.raw({0, 0x50, 0x56, 0, 0, src});
  return f.u16(ether_type);
}

// A BOOTP reply (op 2) with the magic cookie and options `options` (then the end option).
std::vector<uint8_t> bootp(uint8_t op, std::initializer_list<uint8_t> options, bool cookie = true, bool end = true) {
  std::vector<uint8_t> b(236, 0);
  b[0] = op;
  b[1] = 1;
  b[2] = 6;
  if (cookie) b.insert(b.end(), {99, 130, 83, 99});
  b.insert(b.end(), options);
  if (end) b.push_back(255);
  return b;
}

// UDP 67 -> 68 from 10.20.0.<src_ip> (decimal) carrying `payload`, sent by MAC <src_mac>.
Frame dhcp_frame(uint8_t src_mac, uint8_t src_ip, const std::vector<uint8_t>& payload) {
  Frame f = ethernet(src_mac, 0xff, 0x0800);
  const uint16_t udp_length = static_cast<uint16_t>(8 + payload.size());
  f.ipv4_between(17, static_cast<uint16_t>(20 + udp_length), {10, 20, 0, src_ip}, {255, 255, 255, 255});
  f.udp(67, 68, udp_length);
  f.bytes.insert(f.bytes.end(), payload.begin(), payload.end());
  return f;
}

// ICMPv6 `type` from fe80::<src_ip> to ff02::1, sent by MAC <src_mac>.
Frame icmpv6_frame(uint8_t src_mac, uint8_t src_ip, uint8_t type) {
  Frame f = ethernet(src_mac, 0xff, 0x86dd);
  f.u32(0x60000000).u16(16).u8(58).u8(255);
  f.raw({0xfe, 0x80}).zeros(13).u8(src_ip);
  f.raw({0xff, 0x02}).zeros(13).u8(1);
  f.icmp(type, 0).zeros(8);
  return f;
}

// TCP or UDP from 10.20.0.<src_ip> (MAC <src_mac>) to <dst> : dport.
Frame transport_frame(uint8_t src_mac, uint8_t src_ip, std::initializer_list<uint8_t> dst, uint16_t dport,
                      uint8_t proto = 6, uint8_t flags = tcp_flag::Syn) {
  Frame f = ethernet(src_mac, kDb, 0x0800);
  f.ipv4_between(proto, proto == 6 ? 40 : 28, {10, 20, 0, src_ip}, dst);
  if (proto == 6) {
    f.tcp(40000, dport, flags);
  } else {
    f.udp(40000, dport, 8);
  }
  return f;
}

Packet decode(const Frame& frame, int64_t ts_usec = 1'000'000) {
  Packet p = frame.packet();
  DecodeStats stats;
  REQUIRE(decode_packet(p, stats));
  p.ts_usec = ts_usec;
  return p;
}

uint32_t vm_of(const Inventory& inv, const Packet& p, bool server) {
  const uint32_t index = inv.find_ip(server ? p.dst : p.src);
  return index == Inventory::kNotFound ? 0 : index + 1;
}

}  // namespace

TEST_CASE("inventory roles: dhcp-server and router, an unknown role is an error") {
  const auto inv = guests();
  CHECK(inv->vm(0).roles == 0);
  CHECK(inv->vm(2).roles == vm_role::DhcpServer);
  CHECK(inv->vm(3).roles == vm_role::Router);
  auto bad = parse_inventory("zones: [{name: a}]\nvms:\n  - {name: x, host: h, zone: a, roles: [dns-server]}\n", "b.yaml");
  REQUIRE_FALSE(bad);
  REQUIRE_FALSE(bad.error().empty());
  CHECK(bad.error().front() == "b.yaml:3: vms[0].roles: unknown role 'dns-server' (expected dhcp-server or router)");
}

TEST_CASE("sid 3: a DHCP offer or ack from a VM not marked dhcp-server, or from an unknown host") {
  const auto inv = guests();
  VmDetector detector{VmDetectSettings{}};
  std::vector<AlertEvent> out(4);
  const Frame offer = dhcp_frame(kWeb, 11, bootp(2, {53, 1, 2, 1, 4, 255, 255, 255, 0}));
  REQUIRE(detector.on_packet(decode(offer), *inv, out) == 1);
  CHECK(out[0].rule->sid == 3);
  CHECK(out[0].rule->msg == "EASTWATCH VM rogue DHCP server");
  CHECK(out[0].src == *IpAddress::parse("10.20.0.11"));
  CHECK(out[0].src_port == 67);
  // An ACK after other options (pad bytes, a server identifier).
  const Frame ack = dhcp_frame(kWeb, 11, bootp(2, {0, 0, 54, 4, 10, 20, 0, 11, 53, 1, 5}));
  CHECK(detector.on_packet(decode(ack), *inv, out) == 1);
  // A MAC and address the inventory does not know.
  const Frame stranger = dhcp_frame(kStranger, 99, bootp(2, {53, 1, 2}));
  CHECK(detector.on_packet(decode(stranger), *inv, out) == 1);
  CHECK(detector.counters().rogue_dhcp == 3);
}

TEST_CASE("sid 3 negatives: the marked server, other message types, requests, malformed options") {
  const auto inv = guests();
  VmDetector detector{VmDetectSettings{}};
  std::vector<AlertEvent> out(4);
  CHECK(detector.on_packet(decode(dhcp_frame(kDhcp, 2, bootp(2, {53, 1, 2}))), *inv, out) == 0);
  CHECK(detector.on_packet(decode(dhcp_frame(kDhcp, 2, bootp(2, {53, 1, 5}))), *inv, out) == 0);
  CHECK(detector.on_packet(decode(dhcp_frame(kWeb, 11, bootp(2, {53, 1, 6}))), *inv, out) == 0);  // NAK
  CHECK(detector.on_packet(decode(dhcp_frame(kWeb, 11, bootp(1, {53, 1, 2}))), *inv, out) == 0);  // op 1
  CHECK(detector.on_packet(decode(dhcp_frame(kWeb, 11, bootp(2, {1, 4, 255, 255, 255, 0}))), *inv, out) == 0);
  CHECK(detector.counters().dhcp_malformed == 0);
  // Malformed: no cookie, an option running past the end, no end option, a short message.
  CHECK(detector.on_packet(decode(dhcp_frame(kWeb, 11, bootp(2, {53, 1, 2}, false))), *inv, out) == 0);
  CHECK(detector.on_packet(decode(dhcp_frame(kWeb, 11, bootp(2, {12, 40, 'a'}, true, false))), *inv, out) == 0);
  CHECK(detector.on_packet(decode(dhcp_frame(kWeb, 11, bootp(2, {1, 4, 255, 255}, true, false))), *inv, out) == 0);
  CHECK(detector.on_packet(decode(dhcp_frame(kWeb, 11, std::vector<uint8_t>(100, 2))), *inv, out) == 0);
  CHECK(detector.counters().dhcp_malformed == 4);
  // Every truncation of an offer: never an alert past the data, never a crash.
  const auto full = bootp(2, {1, 4, 255, 255, 255, 0, 53, 1, 2});
  for (size_t cut = 0; cut < full.size() - 1; ++cut) {
    const std::vector<uint8_t> part(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(cut));
    const Frame f = dhcp_frame(kWeb, 11, part);
    Packet p = f.packet();
    DecodeStats stats;
    if (!decode_packet(p, stats)) continue;
    CHECK(detector.on_packet(p, *inv, out) == 0);
  }
  VmDetectSettings off;
  off.rogue_dhcp = false;
  VmDetector disabled{off};
  CHECK(disabled.on_packet(decode(dhcp_frame(kWeb, 11, bootp(2, {53, 1, 2}))), *inv, out) == 0);
}

TEST_CASE("sid 4: an IPv6 router advertisement from a host not marked router") {
  const auto inv = guests();
  VmDetector detector{VmDetectSettings{}};
  std::vector<AlertEvent> out(4);
  REQUIRE(detector.on_packet(decode(icmpv6_frame(kWeb, 0x11, 134)), *inv, out) == 1);  // web-01's MAC
  CHECK(out[0].rule->sid == 4);
  CHECK(out[0].rule->msg == "EASTWATCH VM rogue IPv6 router advertisement");
  CHECK(out[0].icmp_type == 134);
  CHECK(detector.on_packet(decode(icmpv6_frame(kStranger, 0x77, 134)), *inv, out) == 1);  // unknown
  // Negatives: the marked router (by MAC; and by its link-local address), other ICMPv6 types.
  CHECK(detector.on_packet(decode(icmpv6_frame(kGateway, 0x01, 134)), *inv, out) == 0);
  CHECK(detector.on_packet(decode(icmpv6_frame(kStranger, 0x01, 134)), *inv, out) == 0);
  CHECK(detector.on_packet(decode(icmpv6_frame(kWeb, 0x11, 133)), *inv, out) == 0);  // solicitation
  CHECK(detector.on_packet(decode(icmpv6_frame(kWeb, 0x11, 135)), *inv, out) == 0);
  CHECK(detector.counters().rogue_ra == 2);
  VmDetectSettings off;
  off.rogue_ra = false;
  VmDetector disabled{off};
  CHECK(disabled.on_packet(decode(icmpv6_frame(kWeb, 0x11, 134)), *inv, out) == 0);
}

TEST_CASE("sid 2: a frame with one VM's MAC and another VM's source address") {
  const auto inv = guests();
  VmDetector detector{VmDetectSettings{}};
  std::vector<AlertEvent> out(4);
  // web-01's MAC sending as db-01 (10.20.0.12).
  REQUIRE(detector.on_packet(decode(transport_frame(kWeb, 12, {10, 20, 0, 2}, 80)), *inv, out) == 1);
  CHECK(out[0].rule->sid == 2);
  CHECK(out[0].src == *IpAddress::parse("10.20.0.12"));
  CHECK(detector.counters().mac_spoofing == 1);
  // Negatives: its own address, an address outside the inventory, an unknown MAC, the router
  // forwarding db-01's packets, switched off.
  CHECK(detector.on_packet(decode(transport_frame(kWeb, 11, {10, 20, 0, 2}, 80)), *inv, out) == 0);
  CHECK(detector.on_packet(decode(transport_frame(kWeb, 99, {10, 20, 0, 2}, 80)), *inv, out) == 0);
  CHECK(detector.on_packet(decode(transport_frame(kStranger, 12, {10, 20, 0, 2}, 80)), *inv, out) == 0);
  CHECK(detector.on_packet(decode(transport_frame(kGateway, 12, {10, 20, 0, 2}, 80)), *inv, out) == 0);
  VmDetectSettings off;
  off.mac_spoofing = false;
  VmDetector disabled{off};
  CHECK(disabled.on_packet(decode(transport_frame(kWeb, 12, {10, 20, 0, 2}, 80)), *inv, out) == 0);
  // An encapsulated mirror: the detectors read the mirrored frame's MACs (Packet::l2_offset), not
  // the outer header's, so sid 2 runs there too; without an inner Ethernet header it cannot.
  const Frame inner = transport_frame(kWeb, 12, {10, 20, 0, 2}, 80);
  Frame outer;
  const uint16_t udp_length = static_cast<uint16_t>(8 + 8 + inner.bytes.size());
  outer.ethernet(0x0800).ipv4_between(17, static_cast<uint16_t>(20 + udp_length), {192, 168, 0, 1}, {192, 168, 0, 2});
  outer.udp(50000, 4789, udp_length).vxlan(5001).append(inner);
  Packet mirrored = decode(outer);
  REQUIRE(mirrored.mirror.encap == MirrorEncap::Vxlan);
  CHECK(mirrored.l2_offset == 14 + 20 + 8 + 8);
  CHECK(detector.on_packet(mirrored, *inv, out) == 1);
  mirrored.has_ethernet = false;
  CHECK(detector.on_packet(mirrored, *inv, out) == 0);
  CHECK(detector.counters().mac_spoofing == 2);
}

TEST_CASE("sid 6: more than scan.ports ports of one neighbour within the window") {
  const auto inv = guests();
  VmDetector detector{VmDetectSettings{}};  // 20 ports, 10 hosts, 60 s
  std::vector<AlertEvent> out(4);
  std::vector<size_t> per_port;
  for (uint16_t port = 1; port <= 30; ++port) {
    const Packet p = decode(transport_frame(kWeb, 11, {10, 20, 0, 12}, port), 1'000'000 + port * 1000);
    per_port.push_back(detector.on_new_flow(p, *inv, vm_of(*inv, p, false), vm_of(*inv, p, true), out));
  }
  std::vector<size_t> expected(30, 0);
  expected[20] = 1;  // the 21st distinct port, once per window
  CHECK(per_port == expected);
  CHECK(detector.counters().port_scan == 1);
  // A new window 60 s later starts counting again.
  size_t later = 0;
  for (uint16_t port = 1; port <= 21; ++port) {
    const Packet p = decode(transport_frame(kWeb, 11, {10, 20, 0, 12}, port), 62'000'000 + port);
    later += detector.on_new_flow(p, *inv, 1, 2, out);
  }
  CHECK(later == 1);
}

TEST_CASE("sid 6: a host sweep of the segment, negatives") {
  const auto inv = guests();
  VmDetector detector{VmDetectSettings{}};
  std::vector<AlertEvent> out(4);
  size_t alerts = 0;
  for (uint8_t host = 100; host < 112; ++host) {  // 12 unused addresses of 10.20.0.0/24, UDP
    const Packet p = decode(transport_frame(kWeb, 11, {10, 20, 0, host}, 161, 17), 1'000'000);
    alerts += detector.on_new_flow(p, *inv, 1, 0, out);
  }
  CHECK(alerts == 1);
  CHECK(detector.counters().host_sweep == 1);
  VmDetector quiet{VmDetectSettings{}};
  // Many Internet addresses are not neighbours; the same ports again are not new ports; a
  // SYN-ACK or an ACK is no new connection; an external source is not a VM.
  for (uint8_t host = 1; host < 40; ++host) {
    CHECK(quiet.on_new_flow(decode(transport_frame(kWeb, 11, {192, 0, 2, host}, 443)), *inv, 1, 0, out) == 0);
  }
  for (int round = 0; round < 5; ++round) {
    for (uint16_t port = 1; port <= 20; ++port) {
      CHECK(quiet.on_new_flow(decode(transport_frame(kWeb, 11, {10, 20, 0, 12}, port)), *inv, 1, 2, out) == 0);
    }
  }
  for (uint16_t port = 100; port < 130; ++port) {
    const Packet ack = decode(transport_frame(kWeb, 11, {10, 20, 0, 12}, port, 6, tcp_flag::Ack));
    CHECK(quiet.on_new_flow(ack, *inv, 1, 2, out) == 0);
    const Packet from_outside = decode(transport_frame(kStranger, 99, {10, 20, 0, 12}, port));
    CHECK(quiet.on_new_flow(from_outside, *inv, 0, 2, out) == 0);
  }
  VmDetectSettings off;
  off.scan = false;
  VmDetector disabled{off};
  for (uint16_t port = 1; port <= 30; ++port) {
    CHECK(disabled.on_new_flow(decode(transport_frame(kWeb, 11, {10, 20, 0, 12}, port)), *inv, 1, 2, out) == 0);
  }
}

TEST_CASE("sid 7: more than brute-force.connections new connections to one SSH/RDP/SMB/WinRM service") {
  const auto inv = guests();
  VmDetectSettings settings;
  settings.scan = false;
  VmDetector detector{settings};
  std::vector<AlertEvent> out(4);
  for (uint16_t service : {22, 3389, 445, 5985, 5986}) {
    std::vector<size_t> got;
    for (int i = 0; i < 12; ++i) {
      got.push_back(detector.on_new_flow(decode(transport_frame(kWeb, 11, {10, 20, 0, 12}, service)), *inv, 1, 2, out));
    }
    std::vector<size_t> expected(12, 0);
    expected[10] = 1;  // the 11th connection
    CHECK(got == expected);
    CHECK(out[0].rule->sid == 7);
    CHECK(out[0].dst_port == service);
  }
  CHECK(detector.counters().brute_force == 5);
  // Negatives: another port, a server outside the inventory, spread over two windows, switched off.
  VmDetector quiet{settings};
  for (int i = 0; i < 12; ++i) {
    CHECK(quiet.on_new_flow(decode(transport_frame(kWeb, 11, {10, 20, 0, 12}, 80)), *inv, 1, 2, out) == 0);
    CHECK(quiet.on_new_flow(decode(transport_frame(kWeb, 11, {192, 0, 2, 9}, 22)), *inv, 1, 0, out) == 0);
    const int64_t ts = 1'000'000 + int64_t{i} * 10'000'000;  // one every 10 s: at most 6 per window
    CHECK(quiet.on_new_flow(decode(transport_frame(kWeb, 11, {10, 20, 0, 12}, 3389), ts), *inv, 1, 2, out) == 0);
  }
  settings.brute_force = false;
  VmDetector disabled{settings};
  for (int i = 0; i < 12; ++i) {
    CHECK(disabled.on_new_flow(decode(transport_frame(kWeb, 11, {10, 20, 0, 12}, 22)), *inv, 1, 2, out) == 0);
  }
}

TEST_CASE("scan tracker: a full table takes slots over and counts it, bounded") {
  VmDetectSettings settings;
  ScanTracker tracker{settings};
  ScanTracker::Counts counts;
  const IpAddress dest = *IpAddress::parse("10.20.0.12");
  // More sources than the host table holds, all within one window: some take live slots over.
  for (uint32_t i = 0; i < ScanTracker::kHostSlots * 4; ++i) {
    tracker.host_sweep(IpAddress::from_v4(0x0a000000u + i), dest, 5, counts);
  }
  CHECK(tracker.evicted() > 0);
  CHECK(counts.evicted == tracker.evicted());
  // A set never grows past its capacity: a source trying 1,000 ports alerts once.
  const IpAddress source = *IpAddress::parse("10.20.0.11");
  int alerts = 0;
  for (uint16_t port = 1; port <= 1000; ++port) alerts += tracker.port_scan(source, dest, port, 5, counts);
  CHECK(alerts == 1);
}

TEST_CASE("the new pseudo-rules: gid 9000, sids 2, 3, 4, 6, 7 with their messages") {
  const auto rules = vm_detect_rules();
  for (uint32_t sid : {kSidMacSpoofing, kSidRogueDhcp, kSidRogueRouterAdvert, kSidScan, kSidBruteForce}) {
    CHECK(rules[sid].sid == sid);
    CHECK(rules[sid].gid == 9000);
    CHECK(rules[sid].msg.rfind("EASTWATCH VM ", 0) == 0);
  }
  CHECK(rules[kSidScan].msg == "EASTWATCH VM port scan or host sweep of neighbours");
}

TEST_CASE("the detectors allocate nothing per packet once built") {
  if (!EASTWATCH_COUNTING_ALLOCATOR) {
    WARN("skipped under AddressSanitizer: it replaces operator new");
    return;
  }
  const auto inv = guests();
  VmDetector detector{VmDetectSettings{}};
  std::vector<AlertEvent> out(4);
  std::vector<Frame> frames = {dhcp_frame(kWeb, 11, bootp(2, {53, 1, 2})), icmpv6_frame(kWeb, 0x11, 134),
                               transport_frame(kWeb, 12, {10, 20, 0, 2}, 80)};
  for (uint16_t port = 1; port <= 40; ++port) frames.push_back(transport_frame(kWeb, 11, {10, 20, 0, 12}, port));
  for (int i = 0; i < 15; ++i) frames.push_back(transport_frame(kWeb, 11, {10, 20, 0, 12}, 22));
  std::vector<Packet> packets;
  for (const Frame& f : frames) packets.push_back(decode(f));
  const uint64_t before = g_allocations.load();
  size_t alerts = 0;
  for (int round = 0; round < 3; ++round) {
    for (Packet& p : packets) {
      p.ts_usec += 1'000'000;
      alerts += detector.on_packet(p, *inv, out);
      alerts += detector.on_new_flow(p, *inv, vm_of(*inv, p, false), vm_of(*inv, p, true), out);
    }
  }
  CHECK(g_allocations.load() == before);
  CHECK(alerts > 5);
}

TEST_CASE("the learned-binding paths (ARP, ND, DHCP ack, DHCPv6, segments) allocate nothing per packet") {
  if (!EASTWATCH_COUNTING_ALLOCATOR) {
    WARN("skipped under AddressSanitizer: it replaces operator new");
    return;
  }
  const auto inv = guests();
  VmDetectSettings settings;
  settings.garp_flood_count = 2;
  VmDetector detector{settings};  // its learned tables allocated here
  std::vector<AlertEvent> out(4);
  std::vector<Frame> frames;
  for (uint8_t mac : {kStranger, kWeb}) {  // ARP replies and gratuitous ARPs for 10.20.0.50, two MACs
    Frame f = ethernet(mac, 0xff, 0x0806);
    f.u16(1).u16(0x0800).u8(6).u8(4).u16(2).raw({0, 0x50, 0x56, 0, 0, mac}).raw({10, 20, 0, 50});
    frames.push_back(f.zeros(6).raw({10, 20, 0, 50}));
  }
  for (uint8_t mac : {kStranger, kWeb}) {  // NAs for fe80::50 with a target link-layer option
    Frame f = ethernet(mac, 0xff, 0x86dd);
    f.u32(0x60000000).u16(32).u8(58).u8(255).raw({0xfe, 0x80}).zeros(13).u8(0x50).raw({0xff, 0x02}).zeros(13).u8(1);
    f.u8(136).u8(0).u16(0).u32(0).raw({0xfe, 0x80}).zeros(13).u8(0x50).u8(2).u8(1).raw({0, 0x50, 0x56, 0, 0, mac});
    frames.push_back(f);
  }
  std::vector<uint8_t> ack = bootp(2, {53, 1, 5});
  ack[16] = 10; ack[17] = 20; ack[19] = 60; ack[33] = kWeb; ack[30] = 0x56; ack[29] = 0x50;
  frames.push_back(dhcp_frame(kDhcp, 2, ack));
  Frame v6 = ethernet(kWeb, 0xff, 0x86dd);
  v6.u32(0x60000000).u16(12).u8(17).u8(64).raw({0xfe, 0x80}).zeros(13).u8(0x11).raw({0xfe, 0x80}).zeros(13).u8(9);
  frames.push_back(v6.udp(547, 546, 12).raw({7, 1, 2, 3}));
  std::vector<Packet> packets;
  for (const Frame& f : frames) packets.push_back(decode(f));
  Flow flow;
  const uint64_t before = g_allocations.load();
  size_t alerts = 0;
  for (int round = 0; round < 3; ++round) {
    for (Packet& p : packets) {
      p.ts_usec += 1'000'000;
      flow.pkts_toserver = 1;
      p.flow = p.ip_version != 0 ? &flow : nullptr;
      alerts += detector.on_arp(p, *inv, out);
      if (p.ip_version != 0) alerts += detector.on_packet(p, *inv, out);
    }
  }
  CHECK(g_allocations.load() == before);
  CHECK(alerts >= 6);
}

#include <vector>

#include <catch2/catch.hpp>

#include "sensor/flow/flow.hpp"
#include "sensor/vmdetect/vm_detector.hpp"

using namespace eastwatch;

namespace {

std::shared_ptr<const Inventory> inventory() {
  auto parsed = parse_inventory(R"(sensor: {host: esx-01}
zones: [{name: dmz}, {name: db}]
policy:
  default: alert
  allow: [{from: dmz, to: db, ports: [5432]}]
vms:
  - {name: web-01, zone: dmz, ips: ["10.20.0.11"]}
  - {name: web-02, zone: dmz, ips: ["10.20.0.21"]}
  - {name: db-01, zone: db, ips: ["10.20.0.12"]}
management:
  - {name: vcenter, addresses: ["10.99.0.5"], ports: [443], proto: tcp}
)",
                                "t.yaml");
  REQUIRE(parsed);
  return *parsed;
}

Packet syn(const char* src, const char* dst, uint16_t dport, int64_t ts_usec = 1'000'000) {
  Packet p;
  p.ip_version = 4;
  p.ip_proto = 6;
  p.has_transport = true;
  p.src = *IpAddress::parse(src);
  p.dst = *IpAddress::parse(dst);
  p.src_port = 40000;
  p.dst_port = dport;
  p.ts_usec = ts_usec;
  return p;
}

const uint32_t kWeb = 1, kWeb2 = 2, kDb = 3, kExternal = 0;

}  // namespace

TEST_CASE("sid 5: a new flow between zones the policy does not allow") {
  const auto inv = inventory();
  VmDetector detector{VmDetectSettings{}};
  std::vector<AlertEvent> out(4);
  Flow flow;
  flow.flow_id = 77;
  Packet p = syn("10.20.0.11", "10.20.0.12", 6379);
  p.flow = &flow;
  REQUIRE(detector.on_new_flow(p, *inv, kWeb, kDb, out) == 1);
  const AlertEvent& alert = out[0];
  REQUIRE(alert.rule != nullptr);
  CHECK(alert.rule->gid == 9000);
  CHECK(alert.rule->sid == 5);
  CHECK(alert.rule->msg == "EASTWATCH VM zone-policy violation between guests");
  CHECK(alert.dst_port == 6379);
  CHECK(alert.has_flow);
  CHECK(alert.flow_id == 77);
  CHECK(detector.counters().zone_policy == 1);
  CHECK(detector.counters().alert == 1);
}

TEST_CASE("sid 5 negatives: an allowed port, the same zone, an external side, switched off") {
  const auto inv = inventory();
  VmDetector detector{VmDetectSettings{}};
  std::vector<AlertEvent> out(4);
  CHECK(detector.on_new_flow(syn("10.20.0.11", "10.20.0.12", 5432), *inv, kWeb, kDb, out) == 0);
  CHECK(detector.on_new_flow(syn("10.20.0.11", "10.20.0.21", 22), *inv, kWeb, kWeb2, out) == 0);
  CHECK(detector.on_new_flow(syn("10.20.0.11", "192.0.2.1", 22), *inv, kWeb, kExternal, out) == 0);
  CHECK(detector.on_new_flow(syn("192.0.2.1", "10.20.0.12", 22), *inv, kExternal, kDb, out) == 0);
  // db -> dmz is not allowed (the allow entry is directional).
  CHECK(detector.on_new_flow(syn("10.20.0.12", "10.20.0.11", 5432), *inv, kDb, kWeb, out) == 1);
  VmDetectSettings off;
  off.zone_policy = false;
  VmDetector disabled{off};
  CHECK(disabled.on_new_flow(syn("10.20.0.11", "10.20.0.12", 6379), *inv, kWeb, kDb, out) == 0);
  VmDetectSettings all_off;
  all_off.enabled = false;
  VmDetector none{all_off};
  CHECK(none.on_new_flow(syn("10.20.0.11", "10.99.0.5", 443), *inv, kWeb, kExternal, out) == 0);
}

TEST_CASE("sid 8: a guest opening a flow to the management plane") {
  const auto inv = inventory();
  VmDetector detector{VmDetectSettings{}};
  std::vector<AlertEvent> out(4);
  REQUIRE(detector.on_new_flow(syn("10.20.0.11", "10.99.0.5", 443), *inv, kWeb, kExternal, out) == 1);
  CHECK(out[0].rule->sid == 8);
  CHECK(out[0].rule->priority == 1);
  CHECK(detector.on_new_flow(syn("10.20.0.11", "10.99.0.5", 80), *inv, kWeb, kExternal, out) == 0);   // other port
  CHECK(detector.on_new_flow(syn("10.20.0.11", "10.99.0.6", 443), *inv, kWeb, kExternal, out) == 0);  // other host
  Packet udp = syn("10.20.0.11", "10.99.0.5", 443);
  udp.ip_proto = 17;
  CHECK(detector.on_new_flow(udp, *inv, kWeb, kExternal, out) == 0);  // tcp only
  // Not from a guest (an external client) is not this detector's.
  CHECK(detector.on_new_flow(syn("192.0.2.1", "10.99.0.5", 443), *inv, kExternal, kExternal, out) == 0);
  CHECK(detector.counters().management_access == 1);
}

TEST_CASE("rate limit per sid and source address, in packet time") {
  const auto inv = inventory();
  VmDetectSettings settings;
  settings.rate_limit_alerts = 2;
  settings.rate_limit_seconds = 10;
  VmDetector detector{settings};
  std::vector<AlertEvent> out(4);
  size_t alerts = 0;
  for (int i = 0; i < 5; ++i) {
    alerts += detector.on_new_flow(syn("10.20.0.11", "10.20.0.12", 6379, 1'000'000 + i), *inv, kWeb, kDb, out);
  }
  CHECK(alerts == 2);
  CHECK(detector.counters().rate_limited == 3);
  // Another source has its own budget; so has another sid of the same source.
  CHECK(detector.on_new_flow(syn("10.20.0.21", "10.20.0.12", 6379, 1'000'010), *inv, kWeb2, kDb, out) == 1);
  CHECK(detector.on_new_flow(syn("10.20.0.11", "10.99.0.5", 443, 1'000'020), *inv, kWeb, kExternal, out) == 1);
  // A new window 10 s later.
  CHECK(detector.on_new_flow(syn("10.20.0.11", "10.20.0.12", 6379, 12'000'000), *inv, kWeb, kDb, out) == 1);
}

TEST_CASE("the pseudo-rules are a fixed table of gid 9000") {
  const auto rules = vm_detect_rules();
  REQUIRE(rules.size() > kSidManagementAccess);
  CHECK(rules[kSidZonePolicy].sid == 5);
  CHECK(rules[kSidZonePolicy].category == "Potential Corporate Privacy Violation");
  CHECK(rules[kSidManagementAccess].sid == 8);
  for (const Rule& rule : rules) CHECK(rule.gid == 9000);
}

namespace {

// An Ethernet ARP frame: `opcode` with sender (mac, ip) and target ip.
std::vector<uint8_t> arp_frame(uint16_t opcode, const std::vector<uint8_t>& sender_mac, uint32_t sender_ip,
                               uint32_t target_ip) {
  std::vector<uint8_t> f = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  f.insert(f.end(), sender_mac.begin(), sender_mac.end());
  const uint8_t header[] = {0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, static_cast<uint8_t>(opcode >> 8),
                            static_cast<uint8_t>(opcode)};
  f.insert(f.end(), std::begin(header), std::end(header));
  f.insert(f.end(), sender_mac.begin(), sender_mac.end());
  for (int shift = 24; shift >= 0; shift -= 8) f.push_back(static_cast<uint8_t>(sender_ip >> shift));
  f.insert(f.end(), 6, 0);
  for (int shift = 24; shift >= 0; shift -= 8) f.push_back(static_cast<uint8_t>(target_ip >> shift));
  return f;
}

Packet arp_packet(const std::vector<uint8_t>& frame) {
  Packet p;
  p.data = frame.data();
  p.caplen = p.wirelen = static_cast<uint32_t>(frame.size());
  p.link_type = LinkType::Ethernet;
  p.ether_type = 0x0806;
  p.l3_offset = 14;
  p.ts_usec = 5'000'000;
  return p;
}

std::shared_ptr<const Inventory> arp_inventory() {
  auto parsed = parse_inventory(R"(sensor: {host: esx-01}
zones: [{name: dmz}, {name: db}]
vms:
  - {name: web-01, zone: dmz, macs: ["00:50:56:00:00:11"], ips: ["10.20.0.11"]}
  - {name: db-01, zone: db, macs: ["00:50:56:00:00:12"], ips: ["10.20.0.12"]}
)",
                                "a.yaml");
  REQUIRE(parsed);
  return *parsed;
}

const std::vector<uint8_t> kWebMacBytes = {0x00, 0x50, 0x56, 0x00, 0x00, 0x11};
const std::vector<uint8_t> kDbMacBytes = {0x00, 0x50, 0x56, 0x00, 0x00, 0x12};
const std::vector<uint8_t> kOtherMacBytes = {0x00, 0x50, 0x56, 0x00, 0x00, 0x77};
constexpr uint32_t kWebIp = 0x0a14000b, kDbIp = 0x0a14000c, kGateway = 0x0a140001;

}  // namespace

TEST_CASE("sid 1: an ARP reply or gratuitous ARP claiming a VM's address with another VM's MAC") {
  const auto inv = arp_inventory();
  VmDetector detector{VmDetectSettings{}};
  std::vector<AlertEvent> out(2);
  const auto reply = arp_frame(2, kWebMacBytes, kDbIp, kGateway);  // web-01's MAC says "I am db-01"
  REQUIRE(detector.on_arp(arp_packet(reply), *inv, out) == 1);
  CHECK(out[0].rule->sid == 1);
  CHECK(out[0].src == IpAddress::from_v4(kDbIp));
  CHECK(out[0].dst == IpAddress::from_v4(kGateway));
  CHECK_FALSE(out[0].has_flow);
  const auto gratuitous = arp_frame(1, kWebMacBytes, kDbIp, kDbIp);
  CHECK(detector.on_arp(arp_packet(gratuitous), *inv, out) == 1);
  CHECK(detector.counters().arp_spoofing == 2);
}

TEST_CASE("sid 1 negatives: the owner's own claims, plain requests, non-VM addresses, truncated frames") {
  const auto inv = arp_inventory();
  VmDetector detector{VmDetectSettings{}};
  std::vector<AlertEvent> out(2);
  const auto own = arp_frame(2, kDbMacBytes, kDbIp, kWebIp);
  CHECK(detector.on_arp(arp_packet(own), *inv, out) == 0);
  const auto own_gratuitous = arp_frame(1, kDbMacBytes, kDbIp, kDbIp);
  CHECK(detector.on_arp(arp_packet(own_gratuitous), *inv, out) == 0);
  const auto request = arp_frame(1, kWebMacBytes, kWebIp, kDbIp);  // who has db-01? (a request)
  CHECK(detector.on_arp(arp_packet(request), *inv, out) == 0);
  // A MAC the inventory does not know claiming db-01's address contradicts the inventory too.
  const auto unknown = arp_frame(2, kOtherMacBytes, kDbIp, kWebIp);
  CHECK(detector.on_arp(arp_packet(unknown), *inv, out) == 1);
  const auto not_a_vm = arp_frame(2, kWebMacBytes, kGateway, kDbIp);
  CHECK(detector.on_arp(arp_packet(not_a_vm), *inv, out) == 0);
  auto truncated = arp_frame(2, kWebMacBytes, kDbIp, kGateway);
  truncated.resize(14 + 20);
  CHECK(detector.on_arp(arp_packet(truncated), *inv, out) == 0);
  VmDetectSettings off;
  off.arp_spoofing = false;
  VmDetector disabled{off};
  const auto reply = arp_frame(2, kWebMacBytes, kDbIp, kGateway);
  CHECK(disabled.on_arp(arp_packet(reply), *inv, out) == 0);
}

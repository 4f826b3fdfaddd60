// libFuzzer target: the built-in VM detectors (sensor/vmdetect) on untrusted Ethernet frames:
// decode, then the per-packet detectors (MAC spoofing, the BOOTP/DHCP option walk of the rogue
// DHCP check and its ack learning, the DHCPv6 option walk, rogue RAs, the IPv6 NS/NA option walk
// of sid 1, sid 2's VLAN/VNI/session check at a flow's first packet), the new-flow detectors
// (zone policy, scans, brute force, management plane) and ARP (learned bindings, gratuitous
// floods), against a fixed inventory whose MACs and addresses the seeds use, with small learned
// tables so eviction runs too. ASan catches any read outside the frame.
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "sensor/decode/decoder.hpp"
#include "sensor/flow/flow.hpp"
#include "sensor/inventory/vm_context.hpp"
#include "sensor/vmdetect/vm_detector.hpp"

namespace {

const eastwatch::Inventory& inventory() {
  static const auto parsed = eastwatch::parse_inventory(R"(sensor: {host: esx-01}
zones: [{name: dmz}, {name: infra}]
policy: {default: alert}
vms:
  - {name: web-01, zone: dmz, vlan: 10, macs: ["00:50:56:00:00:11"], ips: ["10.20.0.11", "fe80::250:56ff:fe00:11"]}
  - {name: db-01, zone: dmz, macs: [{mac: "00:50:56:00:00:12", vni: 5001, mirror-session: 12}], ips: ["10.20.0.12"]}
  - {name: dhcp-01, zone: infra, macs: ["00:50:56:00:00:02"], ips: ["10.20.0.2"], roles: [dhcp-server]}
  - {name: gw-01, zone: infra, macs: ["00:50:56:00:00:01"], ips: ["10.20.0.1", "fe80::1"], roles: [router]}
management:
  - {name: vcenter, addresses: ["10.99.0.0/28"], ports: [443], proto: tcp}
)",
                                                        "fuzz.yaml");
  if (!parsed) __builtin_trap();
  return **parsed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eastwatch;
  static const Inventory& inv = inventory();
  static VmDetectSettings settings = [] {
    VmDetectSettings s;
    s.scan_ports = 2;  // thresholds low enough for the fuzzer to cross
    s.scan_hosts = 2;
    s.brute_force_connections = 1;
    s.rate_limit_alerts = 1000000;
    s.garp_flood_count = 2;
    s.binding_memcap = 1;  // one bucket: every fifth new binding evicts
    s.segment_memcap = 1;
    return s;
  }();
  static VmDetector detector{settings};
  static std::vector<AlertEvent> out(4);
  std::unique_ptr<uint8_t[]> frame(new uint8_t[size ? size : 1]);
  if (size) std::memcpy(frame.get(), data, size);
  Packet packet;
  packet.data = frame.get();
  packet.caplen = packet.wirelen = static_cast<uint32_t>(size);
  packet.link_type = LinkType::Ethernet;
  DecodeStats stats;
  const bool decoded = decode_packet(packet, stats);
  if (!decoded) return 0;
  if (detector.on_arp(packet, inv, out) > out.size()) __builtin_trap();
  if (packet.ip_version == 0 || packet.ip_fragment) return 0;
  Flow flow;  // the first packet of its flow: sid 2's segment check runs
  flow.pkts_toserver = 1;
  packet.flow = &flow;
  packet.to_server = true;
  if (detector.on_packet(packet, inv, out) > out.size()) __builtin_trap();
  packet.flow = nullptr;
  uint32_t src_vm = 0, dst_vm = 0;
  resolve_packet_vms(inv, packet, src_vm, dst_vm);
  if (detector.on_new_flow(packet, inv, src_vm, dst_vm, out) > out.size()) __builtin_trap();
  return 0;
}

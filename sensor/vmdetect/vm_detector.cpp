#include "sensor/vmdetect/vm_detector.hpp"

#include <array>

#include "sensor/flow/flow.hpp"

namespace eastwatch {

namespace {

Rule make_rule(uint32_t sid, const char* msg, const char* classtype, const char* category, int priority) {
  Rule rule;
  rule.gid = kVmDetectGid;
  rule.sid = sid;
  rule.rev = 1;
  rule.msg = msg;
  rule.classtype = classtype;
  rule.category = category;
  rule.priority = priority;
  return rule;
}

std::array<Rule, 9> build_rules() {
  std::array<Rule, 9> rules{};
  rules[kSidArpSpoofing] =
      make_rule(kSidArpSpoofing, "EASTWATCH VM ARP spoofing: a VM address claimed with another VM's MAC",
                "protocol-command-decode", "Generic Protocol Command Decode", 1);
  rules[kSidZonePolicy] = make_rule(kSidZonePolicy, "EASTWATCH VM zone-policy violation between guests",
                                    "policy-violation", "Potential Corporate Privacy Violation", 2);
  rules[kSidManagementAccess] =
      make_rule(kSidManagementAccess, "EASTWATCH VM guest access to the virtualization management plane",
                "attempted-admin", "Attempted Administrator Privilege Gain", 1);
  for (auto& rule : rules) {
    if (rule.sid == 0) rule.gid = kVmDetectGid;
  }
  return rules;
}

uint64_t mix(uint64_t value) noexcept {
  value ^= value >> 30;
  value *= 0xbf58476d1ce4e5b9ull;
  value ^= value >> 27;
  value *= 0x94d049bb133111ebull;
  return value ^ (value >> 31);
}

}  // namespace

std::span<const Rule> vm_detect_rules() {
  static const std::array<Rule, 9> rules = build_rules();
  return rules;
}

VmDetector::VmDetector(const VmDetectSettings& settings)
    : settings_(settings), rate_(std::make_unique<RateSlot[]>(kRateSlots)) {
  vm_detect_rules();  // built here, off the packet path
}

bool VmDetector::allow(uint32_t sid, const IpAddress& source, int64_t ts_usec) noexcept {
  const IpKey key = IpKey::of(source);
  RateSlot& slot = rate_[mix(key.high ^ mix(key.low ^ sid)) & (kRateSlots - 1)];
  const uint32_t now = static_cast<uint32_t>(ts_usec / 1'000'000);
  if (slot.sid != sid || !(slot.source == key)) {
    if (slot.sid != 0) ++counters_.rate_evicted;
    slot = RateSlot{key, sid, now, 0};
  }
  if (now - slot.window_start >= settings_.rate_limit_seconds) {
    slot.window_start = now;
    slot.count = 0;
  }
  if (slot.count >= settings_.rate_limit_alerts) {
    ++counters_.rate_limited;
    return false;
  }
  ++slot.count;
  return true;
}

void VmDetector::emit(const Rule& rule, const Packet& p, AlertEvent& event) noexcept {
  event.rule = &rule;
  event.ts_usec = p.ts_usec;
  event.pcap_cnt = p.pcap_cnt;
  event.rebuilt_fragment = p.rebuilt_fragment;
  event.src = p.src;
  event.dst = p.dst;
  event.src_port = p.src_port;
  event.dst_port = p.dst_port;
  event.ip_version = p.ip_version;
  event.ip_proto = p.ip_proto;
  event.icmp_type = p.icmp_type;
  event.icmp_code = p.icmp_code;
  event.vlan_count = std::min<uint8_t>(p.vlan_count, 2);
  event.vlan_id[0] = p.vlan_id[0];
  event.vlan_id[1] = p.vlan_id[1];
  event.to_server = p.to_server;
  event.link_type = static_cast<uint16_t>(p.link_type);
  const Flow* flow = p.flow;
  event.has_flow = flow != nullptr;
  if (flow != nullptr) {
    event.flow_id = flow->flow_id;
    event.flow_start_usec = flow->start_usec;
    event.pkts_toserver = flow->pkts_toserver;
    event.pkts_toclient = flow->pkts_toclient;
    event.bytes_toserver = flow->bytes_toserver;
    event.bytes_toclient = flow->bytes_toclient;
    event.flow_src = flow->key.client;
    event.flow_dst = flow->key.server;
    event.flow_src_port = flow->key.client_port;
    event.flow_dst_port = flow->key.server_port;
    event.app_proto = flow->app_proto;
  }
  event.has_http = false;
  event.payload_len = 0;
  event.packet_len = 0;
  ++counters_.alert;
}

size_t VmDetector::on_arp(const Packet& p, const Inventory& inventory, std::span<AlertEvent> out) noexcept {
  if (!settings_.enabled || !settings_.arp_spoofing || out.empty()) return 0;
  if (p.ether_type != 0x0806 || p.caplen < p.l3_offset + 28 || p.data == nullptr) return 0;
  const uint8_t* arp = p.data + p.l3_offset;
  const uint16_t hardware = static_cast<uint16_t>(arp[0] << 8 | arp[1]);
  const uint16_t protocol = static_cast<uint16_t>(arp[2] << 8 | arp[3]);
  const uint16_t opcode = static_cast<uint16_t>(arp[6] << 8 | arp[7]);
  if (hardware != 1 || protocol != 0x0800 || arp[4] != 6 || arp[5] != 4) return 0;
  const uint8_t* sender_mac = arp + 8;
  const IpAddress sender_ip = IpAddress::from_v4_bytes(arp + 14);
  const IpAddress target_ip = IpAddress::from_v4_bytes(arp + 24);
  const bool gratuitous = opcode == 1 && sender_ip == target_ip;
  if (opcode != 2 && !gratuitous) return 0;  // a plain request claims nothing
  const uint32_t owner = inventory.find_ip(sender_ip);
  const uint32_t claimant = inventory.find_mac(sender_mac);
  if (owner == Inventory::kNotFound || claimant == Inventory::kNotFound || owner == claimant) return 0;
  if (!allow(kSidArpSpoofing, sender_ip, p.ts_usec)) return 0;
  AlertEvent& event = out[0];
  emit(vm_detect_rules()[kSidArpSpoofing], p, event);
  event.src = sender_ip;  // the address claimed, and the address asked about
  event.dst = target_ip;
  ++counters_.arp_spoofing;
  return 1;
}

size_t VmDetector::on_new_flow(const Packet& p, const Inventory& inventory, uint32_t client_vm, uint32_t server_vm,
                               std::span<AlertEvent> out) noexcept {
  if (!settings_.enabled || client_vm == 0 || client_vm > inventory.vm_count()) return 0;
  const auto rules = vm_detect_rules();
  size_t produced = 0;
  const InventoryVm& client = inventory.vm(client_vm - 1);
  // sid 5: both sides are VMs, in zones the policy does not connect this way.
  if (settings_.zone_policy && server_vm != 0 && server_vm <= inventory.vm_count() && produced < out.size()) {
    const InventoryVm& server = inventory.vm(server_vm - 1);
    if (!inventory.zone_allowed(client.zone_index, server.zone_index, p.ip_proto, p.dst_port) &&
        allow(kSidZonePolicy, p.src, p.ts_usec)) {
      emit(rules[kSidZonePolicy], p, out[produced++]);
      ++counters_.zone_policy;
    }
  }
  // sid 8: a guest opens a flow to a management-plane address and port.
  if (settings_.management_access && produced < out.size() &&
      inventory.management_match(p.dst, p.dst_port, p.ip_proto) != nullptr &&
      allow(kSidManagementAccess, p.src, p.ts_usec)) {
    emit(rules[kSidManagementAccess], p, out[produced++]);
    ++counters_.management_access;
  }
  return produced;
}

}  // namespace eastwatch

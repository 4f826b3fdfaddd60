#include "sensor/vmdetect/vm_detector.hpp"

#include <array>

#include "sensor/flow/flow.hpp"
#include "sensor/inventory/vm_context.hpp"

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
  rules[kSidMacSpoofing] =
      make_rule(kSidMacSpoofing, "EASTWATCH VM MAC spoofing: a frame with one VM's MAC and another VM's address",
                "protocol-command-decode", "Generic Protocol Command Decode", 1);
  rules[kSidRogueDhcp] = make_rule(kSidRogueDhcp, "EASTWATCH VM rogue DHCP server", "protocol-command-decode",
                                   "Generic Protocol Command Decode", 1);
  rules[kSidRogueRouterAdvert] = make_rule(kSidRogueRouterAdvert, "EASTWATCH VM rogue IPv6 router advertisement",
                                           "protocol-command-decode", "Generic Protocol Command Decode", 1);
  rules[kSidScan] = make_rule(kSidScan, "EASTWATCH VM port scan or host sweep of neighbours", "attempted-recon",
                              "Attempted Information Leak", 2);
  rules[kSidBruteForce] =
      make_rule(kSidBruteForce, "EASTWATCH VM brute force against SSH, RDP, SMB or WinRM of a neighbour",
                "attempted-user", "Attempted User Privilege Gain", 1);
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

// The frame's source MAC when the frame is the one the VM sent (SPAN, RSPAN); nullptr for an
// encapsulated mirror (the bytes there are the outer header's) or a frame without Ethernet.
const uint8_t* sender_mac(const Packet& p) noexcept {
  if (p.mirror.encap != MirrorEncap::None && p.mirror.encap != MirrorEncap::Rspan) return nullptr;
  const uint8_t* src;
  const uint8_t* dst;
  frame_macs(p, src, dst);
  return src;
}

// Whether the packet's sender is an inventory VM with `role`.
bool sender_has_role(const Packet& p, const Inventory& inventory, uint8_t role) noexcept {
  const uint32_t vm = resolve_vm(inventory, sender_mac(p), p.src);
  return vm != 0 && (inventory.vm(vm - 1).roles & role) != 0;
}

// A neighbour of `source`: an inventory VM, or an address in its /24 (IPv4) or /64 (IPv6).
bool neighbour(const IpAddress& source, const IpAddress& dest, uint32_t dest_vm) noexcept {
  if (dest_vm != 0) return true;
  if (source.is_v4() != dest.is_v4()) return false;
  if (source.is_v4()) return (source.v4() >> 8) == (dest.v4() >> 8);
  return IpKey::of(source).high == IpKey::of(dest).high;
}

bool brute_force_port(uint16_t port) noexcept {
  return port == 22 || port == 3389 || port == 445 || port == 5985 || port == 5986;
}

// DHCP message type (option 53) of a BOOTP reply (op 2) in `payload`: 2 OFFER, 5 ACK, ...;
// 0 when there is none; -1 when the payload is not a complete BOOTP message with the magic
// cookie or its options run past the end. Every step advances, so the walk is bounded by the
// payload length.
int dhcp_reply_type(std::span<const uint8_t> payload) noexcept {
  constexpr size_t kFixed = 236, kCookie = 4;
  if (payload.size() < kFixed + kCookie) return -1;
  if (payload[0] != 2) return 0;  // a request (op 1) offers nothing
  if (payload[236] != 99 || payload[237] != 130 || payload[238] != 83 || payload[239] != 99) return -1;
  size_t i = kFixed + kCookie;
  while (i < payload.size()) {
    const uint8_t code = payload[i];
    if (code == 255) return 0;  // end, without a message type
    if (code == 0) {
      ++i;
      continue;
    }
    if (i + 1 >= payload.size() || i + 2 + payload[i + 1] > payload.size()) return -1;
    const uint8_t length = payload[i + 1];
    if (code == 53) return length == 1 ? payload[i + 2] : -1;
    i += 2 + length;
  }
  return -1;  // no end option
}

}  // namespace

std::span<const Rule> vm_detect_rules() {
  static const std::array<Rule, 9> rules = build_rules();
  return rules;
}

VmDetector::VmDetector(const VmDetectSettings& settings)
    : settings_(settings), rate_(std::make_unique<RateSlot[]>(kRateSlots)), scans_(settings) {
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
  produced = scan_and_brute_force(p, server_vm, out, produced);
  // sid 8: a guest opens a flow to a management-plane address and port.
  if (settings_.management_access && produced < out.size() &&
      inventory.management_match(p.dst, p.dst_port, p.ip_proto) != nullptr &&
      allow(kSidManagementAccess, p.src, p.ts_usec)) {
    emit(rules[kSidManagementAccess], p, out[produced++]);
    ++counters_.management_access;
  }
  return produced;
}

// sid 6 from the new flows (TCP SYNs, UDP) a VM opens to its neighbours; sid 7 from its new TCP
// connections to another VM's SSH, RDP, SMB or WinRM port.
size_t VmDetector::scan_and_brute_force(const Packet& p, uint32_t server_vm, std::span<AlertEvent> out,
                                        size_t produced) noexcept {
  const bool syn = p.is_tcp() && (p.tcp_flags & (tcp_flag::Syn | tcp_flag::Ack)) == tcp_flag::Syn;
  if (!p.has_transport || !(syn || p.is_udp())) return produced;
  const auto rules = vm_detect_rules();
  const uint32_t now = static_cast<uint32_t>(p.ts_usec / 1'000'000);
  if (settings_.scan && neighbour(p.src, p.dst, server_vm)) {
    const bool ports = scans_.port_scan(p.src, p.dst, p.dst_port, now);
    const bool hosts = scans_.host_sweep(p.src, p.dst, now);
    if ((ports || hosts) && produced < out.size() && allow(kSidScan, p.src, p.ts_usec)) {
      emit(rules[kSidScan], p, out[produced++]);
      counters_.port_scan += ports;
      counters_.host_sweep += hosts && !ports;
    }
  }
  if (settings_.brute_force && syn && server_vm != 0 && brute_force_port(p.dst_port) &&
      scans_.brute_force(p.src, p.dst, p.dst_port, now)) {
    if (produced < out.size() && allow(kSidBruteForce, p.src, p.ts_usec)) {
      emit(rules[kSidBruteForce], p, out[produced++]);
      ++counters_.brute_force;
    }
  }
  counters_.scan_evicted = scans_.evicted();
  return produced;
}

// sid 3: the sender of a DHCP OFFER or ACK is not a VM marked dhcp-server.
bool VmDetector::rogue_dhcp_reply(const Packet& p) noexcept {
  if (!p.is_udp() || !p.has_transport || p.src_port != 67 || p.dst_port != 68) return false;
  if (p.payload_offset + p.payload_len > p.caplen) return false;
  const int type = dhcp_reply_type(p.payload());
  if (type < 0) ++counters_.dhcp_malformed;
  return type == 2 || type == 5;
}

size_t VmDetector::on_packet(const Packet& p, const Inventory& inventory, std::span<AlertEvent> out) noexcept {
  if (!settings_.enabled || out.empty() || p.ip_version == 0 || p.ip_fragment || p.data == nullptr) return 0;
  const auto rules = vm_detect_rules();
  size_t produced = 0;
  // sid 2: the frame's source MAC is one VM's and its source address another's (a router may
  // forward other hosts' packets with its own MAC).
  if (settings_.mac_spoofing) {
    const uint8_t* mac = sender_mac(p);
    const uint32_t owner = inventory.find_ip(p.src);
    const uint32_t sender = mac != nullptr && owner != Inventory::kNotFound ? inventory.find_mac(mac) : Inventory::kNotFound;
    if (sender != Inventory::kNotFound && sender != owner && (inventory.vm(sender).roles & vm_role::Router) == 0) {
      if (allow(kSidMacSpoofing, p.src, p.ts_usec)) {
        emit(rules[kSidMacSpoofing], p, out[produced++]);
        ++counters_.mac_spoofing;
      }
    }
  }
  // sid 3: a DHCP server that the inventory does not know as one.
  if (settings_.rogue_dhcp && produced < out.size() && rogue_dhcp_reply(p) &&
      !sender_has_role(p, inventory, vm_role::DhcpServer)) {
    if (allow(kSidRogueDhcp, p.src, p.ts_usec)) {
      emit(rules[kSidRogueDhcp], p, out[produced++]);
      ++counters_.rogue_dhcp;
    }
  }
  // sid 4: an ICMPv6 router advertisement from a host not marked router.
  if (settings_.rogue_ra && produced < out.size() && p.ip_version == 6 && p.ip_proto == 58 && p.has_transport &&
      p.icmp_type == 134 && !sender_has_role(p, inventory, vm_role::Router)) {
    if (allow(kSidRogueRouterAdvert, p.src, p.ts_usec)) {
      emit(rules[kSidRogueRouterAdvert], p, out[produced++]);
      ++counters_.rogue_ra;
    }
  }
  return produced;
}

}  // namespace eastwatch

#include "sensor/vmdetect/vm_detector.hpp"

#include <array>

#include "sensor/detect/rule_match.hpp"
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
      make_rule(kSidArpSpoofing,
                "EASTWATCH VM ARP/ND spoofing: an address claimed with a MAC not its own, or a gratuitous ARP flood",
                "protocol-command-decode", "Generic Protocol Command Decode", 1);
  rules[kSidMacSpoofing] =
      make_rule(kSidMacSpoofing,
                "EASTWATCH VM MAC spoofing: a VM's MAC with another VM's address, or on a VLAN, VNI or mirror "
                "session not its own",
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

// The source MAC of the frame the VM sent (the mirrored frame's inside an encapsulation);
// nullptr for a frame without Ethernet.
const uint8_t* sender_mac(const Packet& p) noexcept {
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

uint64_t mac_value(const uint8_t* mac) noexcept {
  uint64_t value = 0;
  for (int i = 0; i < 6; ++i) value = value << 8 | mac[i];
  return value;
}

// A MAC that can own an address: not zero, not multicast or broadcast.
bool unicast_mac(const uint8_t* mac) noexcept { return (mac[0] & 1) == 0 && mac_value(mac) != 0; }

// An address a host can claim: not unspecified, not multicast, not IPv4 broadcast.
bool claimable(const IpAddress& address) noexcept {
  if (address.is_v4()) {
    const uint32_t v4 = address.v4();
    return v4 != 0 && v4 != 0xffffffffu && (v4 >> 28) != 0xe;
  }
  const IpKey key = IpKey::of(address);
  return !(key.high == 0 && key.low == 0) && (key.high >> 56) != 0xff;
}

// The learned table's key for a MAC (apart from any address's).
IpKey mac_key(uint64_t mac) noexcept { return IpKey{0x4d41430000000000ull, mac}; }

// A MAC's segment as the learned table's value: vlan(12) session(10) vni(24), and the `has` bits.
uint64_t pack_segment(const MacSegment& s) noexcept {
  return uint64_t{s.has} << 56 | uint64_t{s.vlan & 0xfffu} << 34 | uint64_t{s.session & 0x3ffu} << 24 |
         (s.vni & 0xffffffu);
}
MacSegment unpack_segment(uint64_t value) noexcept {
  MacSegment s;
  s.has = static_cast<uint8_t>(value >> 56);
  s.vlan = static_cast<uint16_t>(value >> 34 & 0xfff);
  s.session = static_cast<uint16_t>(value >> 24 & 0x3ff);
  s.vni = static_cast<uint32_t>(value & 0xffffff);
  return s;
}

// The fields of `a` and `b` that both know and that differ (MacSegment bits).
uint8_t segment_differences(const MacSegment& a, const MacSegment& b) noexcept {
  const uint8_t both = a.has & b.has;
  uint8_t differ = 0;
  if ((both & MacSegment::kVlan) && a.vlan != b.vlan) differ |= MacSegment::kVlan;
  if ((both & MacSegment::kVni) && a.vni != b.vni) differ |= MacSegment::kVni;
  if ((both & MacSegment::kSession) && a.session != b.session) differ |= MacSegment::kSession;
  return differ;
}

// Where the packet was seen: its innermost 802.1Q tag (else ERSPAN's original VLAN), the VNI
// of VXLAN/Geneve, the session of ERSPAN II/III. An untagged frame says nothing about its VLAN
// (an access port's mirror strips the tag).
MacSegment observed_segment(const Packet& p) noexcept {
  MacSegment s;
  if (p.vlan_count > 0) {
    s.vlan = p.vlan_id[std::min<uint8_t>(p.vlan_count, 2) - 1] & 0xfff;
  } else if (p.mirror.has_session_id()) {
    s.vlan = p.mirror.vlan & 0xfff;
  }
  if (s.vlan != 0) s.has |= MacSegment::kVlan;
  if (p.mirror.has_vni()) {
    s.vni = p.mirror.vni;
    s.has |= MacSegment::kVni;
  }
  if (p.mirror.has_session_id()) {
    s.session = p.mirror.session_id;
    s.has |= MacSegment::kSession;
  }
  return s;
}

// DHCPv6 (RFC 8415) message type of a server's message in `payload`: 2 ADVERTISE, 7 REPLY, ...;
// -1 when it is shorter than the 4-byte header or an option runs past the end. Bounded: each
// option advances by at least 4 bytes.
int dhcpv6_type(std::span<const uint8_t> payload) noexcept {
  if (payload.size() < 4) return -1;
  size_t i = 4;
  while (i < payload.size()) {
    if (i + 4 > payload.size()) return -1;
    const size_t length = static_cast<size_t>(payload[i + 2] << 8 | payload[i + 3]);
    if (i + 4 + length > payload.size()) return -1;
    i += 4 + length;
  }
  return payload[0];
}

}  // namespace

std::span<const Rule> vm_detect_rules() {
  static const std::array<Rule, 9> rules = build_rules();
  return rules;
}

VmDetector::VmDetector(const VmDetectSettings& settings, LearnedBindings* learned, ScanTracker* scans)
    : settings_(settings),
      rate_(kRateSlots),
      floods_(kFloodSlots),
      learned_(learned),
      scans_(scans) {
  vm_detect_rules();  // built here, off the packet path
  if (scans_ == nullptr && (settings.scan || settings.brute_force)) {
    own_scans_ = std::make_unique<ScanTracker>(settings);
    scans_ = own_scans_.get();
  }
  if (learned_ == nullptr && (settings.learn_bindings || settings.learn_segments)) {
    own_learned_ = std::make_unique<LearnedBindings>(settings.binding_memcap, settings.binding_timeout,
                                                     settings.segment_memcap, settings.segment_timeout);
    learned_ = own_learned_.get();
  }
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
  detail::fill_packet_fields(event, rule, p);  // with `mirror`: the session / VNI the frame came through
  event.has_http = false;
  ++counters_.alert;
}

// sid 1's rule: the inventory's binding when it gives the address to a VM with MACs (another
// VM marked router may answer for it: proxy ARP), else the learned one; a learned binding
// that a different MAC claims before it aged out is a contradiction (the binding is kept).
bool VmDetector::contradicts_binding(const Inventory& inventory, const IpAddress& address, const uint8_t* mac,
                                     uint32_t now) noexcept {
  if (!claimable(address) || !unicast_mac(mac)) return false;
  const uint32_t owner = inventory.find_ip(address);
  if (owner != Inventory::kNotFound && !inventory.vm(owner).macs.empty()) {
    const uint32_t claimant = inventory.find_mac(mac);
    if (claimant == owner) return false;
    return claimant == Inventory::kNotFound || (inventory.vm(claimant).roles & vm_role::Router) == 0;
  }
  if (learned_ == nullptr || !settings_.learn_bindings) return false;
  const auto outcome = learned_->addresses.claim(IpKey::of(address), mac_value(mac), now,
                                                 [](uint64_t& stored, uint64_t claimed) { return stored == claimed; });
  if (outcome != BindingTable::Outcome::Conflict) return false;
  const uint32_t claimant = inventory.find_mac(mac);
  return claimant == Inventory::kNotFound || (inventory.vm(claimant).roles & vm_role::Router) == 0;
}

// More than garp_flood_count gratuitous ARPs from `mac` within garp_flood_seconds: true once
// per window.
bool VmDetector::gratuitous_flood(const uint8_t* mac, uint32_t now) noexcept {
  const uint64_t key = mac_value(mac) | (1ull << 48);
  FloodSlot& slot = floods_[mix(key) & (kFloodSlots - 1)];
  if (slot.mac != key || now - slot.window_start >= settings_.garp_flood_seconds) {
    if (slot.mac != key && slot.mac != 0 && now - slot.window_start < settings_.garp_flood_seconds) {
      ++counters_.garp_evicted;
    }
    slot = FloodSlot{key, now, 0, false};
  }
  if (++slot.count <= settings_.garp_flood_count || slot.alerted) return false;
  slot.alerted = true;
  return true;
}

size_t VmDetector::on_arp(const Packet& p, const Inventory& inventory, std::span<AlertEvent> out) noexcept {
  if (!settings_.enabled || out.empty()) return 0;
  if (p.ether_type != 0x0806 || p.caplen < p.l3_offset + 28 || p.data == nullptr) return 0;
  const uint8_t* arp = p.data + p.l3_offset;
  const uint16_t hardware = static_cast<uint16_t>(arp[0] << 8 | arp[1]);
  const uint16_t protocol = static_cast<uint16_t>(arp[2] << 8 | arp[3]);
  const uint16_t opcode = static_cast<uint16_t>(arp[6] << 8 | arp[7]);
  if (hardware != 1 || protocol != 0x0800 || arp[4] != 6 || arp[5] != 4 || (opcode != 1 && opcode != 2)) return 0;
  const uint8_t* claimed_mac = arp + 8;
  const IpAddress sender_ip = IpAddress::from_v4_bytes(arp + 14);
  const IpAddress target_ip = IpAddress::from_v4_bytes(arp + 24);
  const bool gratuitous = sender_ip == target_ip;
  const uint32_t now = static_cast<uint32_t>(p.ts_usec / 1'000'000);
  const auto rules = vm_detect_rules();
  size_t produced = 0;
  auto alert = [&](uint32_t sid) {
    AlertEvent& event = out[produced++];
    emit(rules[sid], p, event);
    event.src = sender_ip;  // the address claimed, and the address asked about
    event.dst = target_ip;
  };
  if (settings_.arp_spoofing) {
    // Every request and reply states its sender's binding (a request's sender fields update
    // the receivers' caches too); a probe (sender 0.0.0.0) states none.
    if (contradicts_binding(inventory, sender_ip, claimed_mac, now) && allow(kSidArpSpoofing, sender_ip, p.ts_usec)) {
      alert(kSidArpSpoofing);
      ++counters_.arp_spoofing;
    }
    if (gratuitous && unicast_mac(claimed_mac) && gratuitous_flood(claimed_mac, now) && produced < out.size()) {
      alert(kSidArpSpoofing);
      ++counters_.garp_flood;
    }
  }
  const uint8_t* mac = sender_mac(p);
  if (settings_.mac_spoofing && mac != nullptr && produced < out.size() && wrong_segment(p, inventory, mac, now) &&
      allow(kSidMacSpoofing, sender_ip, p.ts_usec)) {
    alert(kSidMacSpoofing);
    ++counters_.mac_segment;
  }
  return produced;
}

// sid 2's segment half: the inventory's vlan / vni / mirror-session of the MAC where it gives
// them, else the first segment the MAC was seen on (learned; each field once known).
bool VmDetector::wrong_segment(const Packet& p, const Inventory& inventory, const uint8_t* mac, uint32_t now) noexcept {
  MacSegment expected;
  const uint32_t vm = inventory.find_mac(mac, expected);
  if (vm == Inventory::kNotFound || (inventory.vm(vm).roles & vm_role::Router) != 0) return false;
  MacSegment seen = observed_segment(p);
  if (seen.has == 0) return false;
  if (segment_differences(expected, seen) != 0) return true;
  seen.has &= static_cast<uint8_t>(~expected.has);  // what the inventory does not say is learned
  if (seen.has == 0 || learned_ == nullptr || !settings_.learn_segments) return false;
  const auto outcome = learned_->segments.claim(mac_key(mac_value(mac)), pack_segment(seen), now,
                                                [](uint64_t& stored, uint64_t claimed) {
                                                  MacSegment known = unpack_segment(stored);
                                                  const MacSegment now_seen = unpack_segment(claimed);
                                                  if (segment_differences(known, now_seen) != 0) return false;
                                                  if ((now_seen.has & ~known.has) == 0) return true;
                                                  if (now_seen.has & MacSegment::kVlan) known.vlan = now_seen.vlan;
                                                  if (now_seen.has & MacSegment::kVni) known.vni = now_seen.vni;
                                                  if (now_seen.has & MacSegment::kSession) known.session = now_seen.session;
                                                  known.has |= now_seen.has;
                                                  stored = pack_segment(known);
                                                  return true;
                                                });
  return outcome == BindingTable::Outcome::Conflict;
}

// sid 1 for IPv6 neighbour discovery (RFC 4861), hop limit 255 only (hosts ignore the rest): an
// NS's source link-layer option binds its source address, an NA's target link-layer option
// its target address.
size_t VmDetector::neighbour_discovery(const Packet& p, const Inventory& inventory, std::span<AlertEvent> out,
                                       size_t produced) noexcept {
  if (p.icmp_type != 135 && p.icmp_type != 136) return produced;
  if (p.icmp_code != 0 || p.ip_ttl != 255) return produced;
  const uint32_t end = p.payload_offset + p.payload_len;
  if (end > p.caplen || end < p.l4_offset + 24) {
    ++counters_.nd_malformed;
    return produced;
  }
  const uint8_t* message = p.data + p.l4_offset;
  const uint32_t length = end - p.l4_offset;
  const uint8_t wanted = p.icmp_type == 135 ? 1 : 2;  // source / target link-layer address
  const uint8_t* link = nullptr;
  for (uint32_t i = 24; i < length;) {  // every option advances by at least 8 bytes
    if (i + 2 > length || message[i + 1] == 0 || i + message[i + 1] * 8u > length) {
      ++counters_.nd_malformed;
      return produced;
    }
    if (message[i] == wanted && message[i + 1] == 1) link = message + i + 2;
    i += message[i + 1] * 8u;
  }
  if (link == nullptr) return produced;
  const IpAddress address = p.icmp_type == 135 ? p.src : IpAddress::from_v6_bytes(message + 8);
  const uint32_t now = static_cast<uint32_t>(p.ts_usec / 1'000'000);
  if (produced < out.size() && contradicts_binding(inventory, address, link, now) &&
      allow(kSidArpSpoofing, address, p.ts_usec)) {
    AlertEvent& event = out[produced++];
    emit(vm_detect_rules()[kSidArpSpoofing], p, event);
    event.src = address;  // the address claimed
    ++counters_.nd_spoofing;
  }
  return produced;
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
    const bool ports = scans_->port_scan(p.src, p.dst, p.dst_port, now, scan_counts_);
    const bool hosts = scans_->host_sweep(p.src, p.dst, now, scan_counts_);
    if ((ports || hosts) && produced < out.size() && allow(kSidScan, p.src, p.ts_usec)) {
      emit(rules[kSidScan], p, out[produced++]);
      counters_.port_scan += ports;
      counters_.host_sweep += hosts && !ports;
    }
  }
  if (settings_.brute_force && syn && server_vm != 0 && brute_force_port(p.dst_port) &&
      scans_->brute_force(p.src, p.dst, p.dst_port, now, scan_counts_)) {
    if (produced < out.size() && allow(kSidBruteForce, p.src, p.ts_usec)) {
      emit(rules[kSidBruteForce], p, out[produced++]);
      ++counters_.brute_force;
    }
  }
  counters_.scan_evicted = scan_counts_.evicted;
  counters_.scan_busy = scan_counts_.busy;
  return produced;
}

// sid 3: the sender of a DHCP OFFER or ACK is not a VM marked dhcp-server. An ACK from one
// that is binds its yiaddr to its chaddr (sid 1's learned bindings; the server's word
// replaces an older binding).
bool VmDetector::rogue_dhcp_reply(const Packet& p, const Inventory& inventory) noexcept {
  if (!p.is_udp() || !p.has_transport || p.src_port != 67 || p.dst_port != 68) return false;
  if (p.payload_offset + p.payload_len > p.caplen) return false;
  const std::span<const uint8_t> payload = p.payload();
  const int type = dhcp_reply_type(payload);
  if (type < 0) ++counters_.dhcp_malformed;
  if (type != 2 && type != 5) return false;
  if (!sender_has_role(p, inventory, vm_role::DhcpServer)) return true;
  if (type == 5 && payload[1] == 1 && payload[2] == 6 && learned_ != nullptr && settings_.learn_bindings) {
    const IpAddress yiaddr = IpAddress::from_v4_bytes(payload.data() + 16);
    const uint8_t* chaddr = payload.data() + 28;
    if (claimable(yiaddr) && unicast_mac(chaddr) && inventory.find_ip(yiaddr) == Inventory::kNotFound) {
      learned_->addresses.claim(IpKey::of(yiaddr), mac_value(chaddr), static_cast<uint32_t>(p.ts_usec / 1'000'000),
                                [](uint64_t&, uint64_t) { return true; }, nullptr, true);
    }
  }
  return false;
}

// sid 3 for DHCPv6: an ADVERTISE or REPLY (UDP 547 -> 546).
bool VmDetector::rogue_dhcpv6_reply(const Packet& p) noexcept {
  if (!p.is_udp() || !p.has_transport || p.src_port != 547 || p.dst_port != 546) return false;
  if (p.payload_offset + p.payload_len > p.caplen) return false;
  const int type = dhcpv6_type(p.payload());
  if (type < 0) ++counters_.dhcpv6_malformed;
  return type == 2 || type == 7;
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
  // sid 3: a DHCP server that the inventory does not know as one (a known server's ack teaches
  // sid 1 its binding even with sid 3 off).
  const bool rogue_v4 = rogue_dhcp_reply(p, inventory);
  if (settings_.rogue_dhcp && produced < out.size() &&
      (rogue_v4 || (rogue_dhcpv6_reply(p) && !sender_has_role(p, inventory, vm_role::DhcpServer)))) {
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
  // sid 1: IPv6 neighbour discovery claims.
  if (settings_.arp_spoofing && p.ip_version == 6 && p.ip_proto == 58 && p.has_transport) {
    produced = neighbour_discovery(p, inventory, out, produced);
  }
  // sid 2: the sender's MAC on a segment not its own, at the first packet of each direction.
  const Flow* flow = p.flow;
  const bool first_of_direction =
      flow != nullptr && (p.to_server ? flow->pkts_toserver == 1 : flow->pkts_toclient == 1);
  const uint8_t* mac = sender_mac(p);
  if (settings_.mac_spoofing && first_of_direction && mac != nullptr && produced < out.size() &&
      wrong_segment(p, inventory, mac, static_cast<uint32_t>(p.ts_usec / 1'000'000)) &&
      allow(kSidMacSpoofing, p.src, p.ts_usec)) {
    emit(rules[kSidMacSpoofing], p, out[produced++]);
    ++counters_.mac_segment;
  }
  return produced;
}

}  // namespace eastwatch

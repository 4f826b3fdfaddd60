// The built-in VM-aware detectors (gid 9000): alerts that need the inventory rather than a rule.
// See README.md for every sid, its message, trigger and configuration.
//
// Contract:
//  - `VmDetector` is per worker; it allocates its rate-limit table (and a ScanTracker when given
//    none) in the constructor and nothing afterwards. `on_new_flow`, `on_packet` and `on_arp` never
//    allocate, lock or throw, and read only the frame's bytes within caplen.
//  - A frame's MACs are the mirrored frame's (`Packet::l2_offset`: inside ERSPAN, GRE 0x6558,
//    VXLAN and Geneve too); a frame without Ethernet (GRE carrying IP) is resolved by address.
//  - Learned bindings (sids 1 and 2) live in a `LearnedBindings` shared by every worker of the
//    run (InventoryStore::learned(); see binding_table.hpp for its concurrency); a detector
//    given none owns a private one (tests, fuzzing). The inventory's bindings win over learned
//    ones: a learned table is consulted only for what the inventory does not say.
//  - The scan / brute-force counts (sids 6 and 7) live in one ScanTracker shared by every worker
//    of the run (InventoryStore::scans(); see scan_tracker.hpp), touched only for a flow's first
//    packet; its evictions and busy slots are counted per detector (summed once in stats).
//  - sid 2's segment check (VLAN, VNI, mirror session of a VM's MAC) runs on ARP frames and on
//    the first packet of each direction of a flow (the VLAN and the mirror session/VNI are part
//    of the flow key), so the shared table is not touched per packet.
//  - Each alert is a complete AlertEvent of a static pseudo-rule from `vm_detect_rules()` (gid
//    9000, sid N, rev 1), which lives as long as the program, so queued events stay valid
//    across inventory reloads.
//  - Rate limiting: at most `rate_limit_alerts` alerts per (sid, source address) within
//    `rate_limit_seconds` of packet time; further ones are counted (detect.vm_rate_limited).
//    The limiter is a direct-mapped table of 4,096 entries: a colliding (sid, source) takes the
//    slot over (counted in detect.vm_rate_evicted), so a limit is never exceeded by more than
//    what a collision forgets.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "config/settings.hpp"
#include "sensor/decode/packet.hpp"
#include "sensor/detect/alert_event.hpp"
#include "sensor/inventory/binding_table.hpp"
#include "sensor/inventory/inventory.hpp"
#include "sensor/vmdetect/scan_tracker.hpp"
#include "signatures/rule.hpp"
#include "sensor/util/zeroed_array.hpp"

namespace eastwatch {

inline constexpr uint32_t kVmDetectGid = 9000;
inline constexpr uint32_t kSidArpSpoofing = 1;
inline constexpr uint32_t kSidMacSpoofing = 2;
inline constexpr uint32_t kSidRogueDhcp = 3;
inline constexpr uint32_t kSidRogueRouterAdvert = 4;
inline constexpr uint32_t kSidZonePolicy = 5;
inline constexpr uint32_t kSidScan = 6;
inline constexpr uint32_t kSidBruteForce = 7;
inline constexpr uint32_t kSidManagementAccess = 8;

// The pseudo-rules of the built-in detectors, by sid (index = sid; unused sids have sid 0).
std::span<const Rule> vm_detect_rules();

// Counters: `alert` sums into stats.detect.alert (EVE); the rest go to stats.log.
struct VmDetectCounters {
  uint64_t alert = 0;
  uint64_t arp_spoofing = 0;       // sid 1 alerts written for ARP claims
  uint64_t nd_spoofing = 0;        // sid 1 alerts for IPv6 neighbour solicitations/advertisements
  uint64_t garp_flood = 0;         // sid 1 alerts for gratuitous-ARP floods
  uint64_t garp_evicted = 0;       // flood counters taken over inside their window
  uint64_t mac_segment = 0;        // sid 2 alerts for a MAC on a VLAN / VNI / session not its own
  uint64_t nd_malformed = 0;       // NS/NA with a truncated body or a zero-length option
  uint64_t dhcpv6_malformed = 0;   // UDP 547 -> 546 that is not a DHCPv6 message with whole options
  uint64_t zone_policy = 0;        // sid 5 alerts written
  uint64_t management_access = 0;  // sid 8 alerts written
  uint64_t mac_spoofing = 0;       // sid 2
  uint64_t rogue_dhcp = 0;         // sid 3
  uint64_t rogue_ra = 0;           // sid 4
  uint64_t port_scan = 0;          // sid 6 alerts for more than scan.ports ports of one neighbour
  uint64_t host_sweep = 0;         // sid 6 alerts for more than scan.hosts neighbours (only)
  uint64_t brute_force = 0;        // sid 7
  uint64_t dhcp_malformed = 0;     // UDP 67 -> 68 that is not a complete BOOTP reply with options
  uint64_t scan_evicted = 0;       // scan/brute-force table slots taken over inside their window
  uint64_t scan_busy = 0;          // new flows not counted by sids 6/7: the shared slot was busy
  uint64_t rate_limited = 0;       // alerts held back by the rate limit
  uint64_t rate_evicted = 0;       // rate-limit slots taken over by another (sid, source)

  template <class F>
  void visit(F&& f) const {
    f("alert", alert);
  }
  template <class F>
  void visit_extra(F&& f) const {
    f("vm_arp_spoofing", arp_spoofing); f("vm_zone_policy", zone_policy); f("vm_management_access", management_access);
    f("vm_rate_limited", rate_limited); f("vm_rate_evicted", rate_evicted);
    f("vm_mac_spoofing", mac_spoofing); f("vm_rogue_dhcp", rogue_dhcp); f("vm_rogue_ra", rogue_ra);
    f("vm_port_scan", port_scan); f("vm_host_sweep", host_sweep); f("vm_brute_force", brute_force);
    f("vm_dhcp_malformed", dhcp_malformed); f("vm_scan_evicted", scan_evicted);
    f("vm_scan_busy", scan_busy);
    f("vm_nd_spoofing", nd_spoofing); f("vm_garp_flood", garp_flood); f("vm_garp_evicted", garp_evicted);
    f("vm_mac_segment", mac_segment); f("vm_nd_malformed", nd_malformed); f("vm_dhcpv6_malformed", dhcpv6_malformed);
  }
};

class VmDetector {
 public:
  // `learned`: the run's shared learned bindings (null: the detector allocates its own when
  // learning is on). `scans`: the run's shared scan / brute-force counts (null: the detector
  // allocates its own when sid 6 or 7 is on).
  explicit VmDetector(const VmDetectSettings& settings, LearnedBindings* learned = nullptr,
                      ScanTracker* scans = nullptr);

  // The first packet of a new flow (sent by its client), whose client and server VMs are
  // `client_vm` / `server_vm` (index + 1; 0: not in the inventory): sids 5, 6, 7, 8. Writes up
  // to out.size() alert events; returns how many.
  size_t on_new_flow(const Packet& p, const Inventory& inventory, uint32_t client_vm, uint32_t server_vm,
                     std::span<AlertEvent> out) noexcept;

  // An ARP frame (decoded, ether_type 0x0806): sid 1 when its sender (request or reply)
  // claims an address with a MAC other than the address's binding, and for a gratuitous-ARP
  // flood; sid 2 for its MAC on a segment not its own. Reads only the ARP header within caplen.
  size_t on_arp(const Packet& p, const Inventory& inventory, std::span<AlertEvent> out) noexcept;

  // Every decoded IP packet that is not a fragment (after flow lookup, so p.flow is set when it
  // has one): sid 2 (MAC of one VM, address of another), sid 3 (a DHCP offer or ack from a
  // host not marked dhcp-server, DHCPv6 advertise/reply too; acks of dhcp-server VMs teach
  // bindings), sid 4 (an IPv6 router advertisement from one not marked router), sid 1 for
  // IPv6 NS/NA link-layer options, sid 2's segment check at a flow direction's first packet.
  size_t on_packet(const Packet& p, const Inventory& inventory, std::span<AlertEvent> out) noexcept;

  const VmDetectCounters& counters() const noexcept { return counters_; }

 private:
  struct RateSlot {
    IpKey source;
    uint32_t sid = 0;  // 0: empty
    uint32_t window_start = 0;  // seconds (packet time)
    uint32_t count = 0;
  };
  static constexpr uint32_t kRateSlots = 4096;
  struct FloodSlot {
    uint64_t mac = 0;  // mac | 1 << 48; 0: empty
    uint32_t window_start = 0;
    uint32_t count = 0;
    bool alerted = false;
  };
  static constexpr uint32_t kFloodSlots = 1024;

  bool allow(uint32_t sid, const IpAddress& source, int64_t ts_usec) noexcept;
  void emit(const Rule& rule, const Packet& p, AlertEvent& event) noexcept;
  bool rogue_dhcp_reply(const Packet& p, const Inventory& inventory) noexcept;
  bool rogue_dhcpv6_reply(const Packet& p) noexcept;
  // sid 1: `mac` claims `address`; true when that contradicts the address's binding (counted, rate-limited).
  bool contradicts_binding(const Inventory& inventory, const IpAddress& address, const uint8_t* mac,
                           uint32_t now) noexcept;
  bool gratuitous_flood(const uint8_t* mac, uint32_t now) noexcept;
  // sid 1 for an IPv6 NS or NA; appends to out from `produced`.
  size_t neighbour_discovery(const Packet& p, const Inventory& inventory, std::span<AlertEvent> out,
                             size_t produced) noexcept;
  // sid 2: the sender MAC `mac` on the packet's VLAN / VNI / session; true when not its own.
  bool wrong_segment(const Packet& p, const Inventory& inventory, const uint8_t* mac, uint32_t now) noexcept;
  // sids 6 and 7 for a new flow from a VM; appends to out from `produced`.
  size_t scan_and_brute_force(const Packet& p, uint32_t server_vm, std::span<AlertEvent> out, size_t produced) noexcept;

  VmDetectSettings settings_;
  ZeroedArray<RateSlot> rate_;  // zero pages: backed as slots are first used
  ZeroedArray<FloodSlot> floods_;
  std::unique_ptr<LearnedBindings> own_learned_;
  LearnedBindings* learned_;
  std::unique_ptr<ScanTracker> own_scans_;
  ScanTracker* scans_;
  ScanTracker::Counts scan_counts_;
  VmDetectCounters counters_{};
};

}  // namespace eastwatch

// The VM inventory: which VM owns each MAC and address, on which hypervisor host, in which
// zone, what the zone policy allows and where the virtualization management plane lives.
//
// Contract:
//  - `parse_inventory` / `load_inventory_file` validate the whole YAML file (unknown keys, an
//    unknown zone on a VM or a policy entry, a malformed or duplicate MAC or address, duplicate
//    names, bad ports) and report every problem as `FILE:LINE: key: what is wrong (expected
//    ...)`; they never throw. The result is an immutable `Inventory`, shared read-only.
//  - Look-ups (`find_mac`, `find_ip`, `zone_allowed`, `management_match`) never allocate, lock
//    or throw: MACs and addresses live in open-addressing hash tables built at load (load factor
//    at most 1/2), so a look-up is a few probes; the policy is a small flat array.
//  - VM addresses are single IPv4/IPv6 addresses (no CIDR: a VM owns addresses, not networks);
//    management-plane entries take addresses and CIDRs.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "signatures/address.hpp"

namespace eastwatch {

// What a VM is allowed to do on the segment (`roles:` in the inventory), as bits.
namespace vm_role {
inline constexpr uint8_t DhcpServer = 0x01;  // "dhcp-server": may send DHCP offers and acks (sid 3)
inline constexpr uint8_t Router = 0x02;      // "router": may send IPv6 router advertisements (sid 4) and
                                             // forward other hosts' packets with its own MAC (sid 2)
}  // namespace vm_role

// Where a MAC is expected to appear (vmdetect sid 2): `vlan`, `vni` and `mirror-session` of a
// VM or of one of its MACs; each field counts only when its bit is in `has`.
struct MacSegment {
  static constexpr uint8_t kVlan = 0x01, kVni = 0x02, kSession = 0x04;
  uint8_t has = 0;
  uint16_t vlan = 0;     // 802.1Q id, 1-4094 (the innermost tag, or ERSPAN's original VLAN)
  uint16_t session = 0;  // ERSPAN II/III session id, 0-1023
  uint32_t vni = 0;      // VXLAN / Geneve VNI, 0-16777215
};

struct InventoryVm {
  std::string name;
  std::string host;    // the hypervisor host it runs on (the file's sensor.host when not given)
  std::string zone;
  std::string tenant;  // may be empty
  std::vector<std::string> tags;
  std::vector<uint64_t> macs;     // 48-bit values, first octet in the high byte
  std::vector<MacSegment> mac_segments;  // per MAC (same order): the VM's fields, a MAC's own over them
  std::vector<IpAddress> ips;
  uint16_t zone_index = 0;
  uint16_t host_index = 0;  // equal for VMs on the same host
  uint8_t roles = 0;        // vm_role bits
};

// One `policy.allow` entry: flows from zone `from` to zone `to` (kAnyZone: any zone), to a
// server port in `ports` (empty: any), with IP protocol `proto` (0: any).
struct ZoneAllow {
  static constexpr uint16_t kAnyZone = 0xffff;
  uint16_t from = kAnyZone;
  uint16_t to = kAnyZone;
  uint8_t proto = 0;
  std::vector<PortSet::Range> ports;
};

// One `management` entry: a management-plane service (vCenter, ESXi, Hyper-V, libvirt ...).
struct ManagementService {
  std::string name;
  AddressSet addresses;
  std::vector<PortSet::Range> ports;  // empty: any port
  uint8_t proto = 0;                  // 0: any
};

class Inventory {
 public:
  static constexpr uint32_t kNotFound = 0xffffffff;

  // The index of the VM that owns the MAC (6 bytes, wire order) or the address; kNotFound.
  uint32_t find_mac(const uint8_t* mac) const noexcept;
  // The same, with where the inventory expects the MAC (`segment.has` 0: nothing said).
  uint32_t find_mac(const uint8_t* mac, MacSegment& segment) const noexcept;
  uint32_t find_ip(const IpAddress& address) const noexcept;

  // Whether the policy allows a new flow from a VM in zone `from` to one in zone `to`: same
  // zone always; otherwise `policy.default: allow`, or an allow entry that matches.
  bool zone_allowed(uint16_t from, uint16_t to, uint8_t proto, uint16_t server_port) const noexcept;
  // The management service the address, port and protocol belong to, or nullptr.
  const ManagementService* management_match(const IpAddress& address, uint16_t port, uint8_t proto) const noexcept;

  const InventoryVm& vm(uint32_t index) const noexcept { return vms_[index]; }
  size_t vm_count() const noexcept { return vms_.size(); }
  const std::vector<std::string>& zones() const noexcept { return zones_; }
  const std::string& sensor_host() const noexcept { return sensor_host_; }
  const std::string& source_file() const noexcept { return source_file_; }
  bool default_allow() const noexcept { return default_allow_; }

  // Rule variables: ZONE_<zone> (every address of the zone's VMs) and VM_<name> (the VM's
  // addresses), names with every character other than [A-Za-z0-9_] as '_'; values in rule
  // syntax ("[10.20.0.11,fd00::11]"). A zone or VM without addresses gets no variable.
  std::map<std::string, std::string> rule_variables() const;
  // "web-01" -> "web_01"
  static std::string variable_name(std::string_view name);

 private:
  friend class InventoryBuilder;

  struct MacSlot {
    uint64_t key = 0;  // mac | 1 << 48; 0: empty
    uint32_t vm = 0;
    MacSegment segment;
  };
  struct IpSlot {
    IpKey key;
    uint32_t vm = kNotFound;  // kNotFound: empty
  };

  std::string source_file_;
  std::string sensor_host_;
  std::vector<std::string> zones_;
  std::vector<InventoryVm> vms_;
  bool default_allow_ = false;
  std::vector<ZoneAllow> allow_;
  std::vector<ManagementService> management_;
  std::vector<MacSlot> mac_table_;  // power-of-two sizes
  std::vector<IpSlot> ip_table_;
};

using InventoryErrors = std::vector<std::string>;  // each "FILE:LINE: key: what is wrong"

tl::expected<std::shared_ptr<const Inventory>, InventoryErrors> parse_inventory(std::string_view text,
                                                                               const std::string& file);
tl::expected<std::shared_ptr<const Inventory>, InventoryErrors> load_inventory_file(const std::string& path);

// "00:50:56:00:00:11" (or '-' separated) -> 48-bit value; false when malformed.
bool parse_mac(std::string_view text, uint64_t& out) noexcept;

}  // namespace eastwatch

// Per-flow VM context: which inventory VM each side of a packet or flow is, and the EVE `vm`
// object an alert carries, as bounded copies (an AlertEvent needs nothing of the snapshot).
//
// Contract: every function here is noexcept, never allocates, and reads only the frame's bytes
// within caplen. A side is resolved by its MAC (the Ethernet source/destination of the frame)
// first and by its IP address when the MAC is unknown (routed traffic, raw-IP captures).
// VM references are `index + 1` into the snapshot, 0 for a side the inventory does not know.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "sensor/decode/packet.hpp"
#include "sensor/inventory/inventory.hpp"
#include "sensor/inventory/vm_eve_data.hpp"

namespace eastwatch {

// The Ethernet source and destination MACs of the frame as the VM sent it (inside an
// encapsulated mirror: the mirrored frame's, not the outer header's), or nullptrs (no
// Ethernet header, e.g. GRE carrying IP, a raw-IP capture).
inline void frame_macs(const Packet& p, const uint8_t*& src, const uint8_t*& dst) noexcept {
  src = dst = nullptr;
  if (!p.has_ethernet || p.data == nullptr || p.caplen < p.l2_offset + 14) return;
  dst = p.data + p.l2_offset;
  src = dst + 6;
}

// The VM (index + 1, or 0) of one endpoint: by MAC when given and known, else by address.
inline uint32_t resolve_vm(const Inventory& inventory, const uint8_t* mac, const IpAddress& address) noexcept {
  uint32_t index = mac != nullptr ? inventory.find_mac(mac) : Inventory::kNotFound;
  if (index == Inventory::kNotFound) index = inventory.find_ip(address);
  return index == Inventory::kNotFound ? 0 : index + 1;
}

// The packet's sender and receiver VMs.
inline void resolve_packet_vms(const Inventory& inventory, const Packet& p, uint32_t& src_vm,
                               uint32_t& dst_vm) noexcept {
  const uint8_t* src_mac;
  const uint8_t* dst_mac;
  frame_macs(p, src_mac, dst_mac);
  src_vm = resolve_vm(inventory, src_mac, p.src);
  dst_vm = resolve_vm(inventory, dst_mac, p.dst);
}

// Fills `out` for an alert from `src_vm` to `dst_vm`; false (nothing to write) when neither
// side is in the inventory.
inline bool fill_vm_eve(const Inventory& inventory, uint32_t src_vm, uint32_t dst_vm, VmEveData& out) noexcept {
  if (src_vm == 0 && dst_vm == 0) return false;
  auto side = [&](uint32_t ref, VmEveData::Side& s) {
    s.known = ref != 0 && ref <= inventory.vm_count();
    if (!s.known) return;
    const InventoryVm& vm = inventory.vm(ref - 1);
    s.name.set(vm.name);
    s.host.set(vm.host);
    s.zone.set(vm.zone);
    s.tenant.set(vm.tenant);
  };
  side(src_vm, out.src);
  side(dst_vm, out.dest);
  if (!out.src.known && !out.dest.known) return false;
  out.same_host = out.src.known && out.dest.known &&
                  inventory.vm(src_vm - 1).host_index == inventory.vm(dst_vm - 1).host_index;
  out.scope = !out.dest.known  ? VmEveData::Scope::VmToExternal
              : !out.src.known ? VmEveData::Scope::ExternalToVm
              : out.same_host  ? VmEveData::Scope::IntraHost
                               : VmEveData::Scope::InterHost;
  return true;
}

}  // namespace eastwatch

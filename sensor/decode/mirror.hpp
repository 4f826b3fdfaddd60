// The mirror metadata of an encapsulated frame: how the mirrored copy reached the sensor
// (ERSPAN, GRE, VXLAN, Geneve or an RSPAN VLAN) and which session, VNI and VLAN it came in.
// Set by the encapsulation decoders from the outermost encapsulation; the rest of the
// packet view describes the inner (mirrored) frame. Plain values, no heap.
#pragma once

#include <cstdint>
#include <string_view>

#include "signatures/address.hpp"

namespace eastwatch {

enum class MirrorEncap : uint8_t { None, Erspan1, Erspan2, Erspan3, Gre, Vxlan, Geneve, Rspan };

// EVE `mirror.encap`.
inline constexpr std::string_view mirror_encap_name(MirrorEncap encap) noexcept {
  switch (encap) {
    case MirrorEncap::Erspan1: return "erspan1";
    case MirrorEncap::Erspan2: return "erspan2";
    case MirrorEncap::Erspan3: return "erspan3";
    case MirrorEncap::Gre: return "gre";
    case MirrorEncap::Vxlan: return "vxlan";
    case MirrorEncap::Geneve: return "geneve";
    case MirrorEncap::Rspan: return "rspan";
    case MirrorEncap::None: break;
  }
  return "";
}

struct MirrorInfo {
  MirrorEncap encap = MirrorEncap::None;
  uint16_t session_id = 0;  // ERSPAN II/III session id (10 bits)
  uint16_t vlan = 0;        // ERSPAN II/III's original VLAN, or the RSPAN VLAN
  uint32_t vni = 0;         // VXLAN / Geneve virtual network identifier (24 bits)
  IpAddress sensor_src;     // the outer source address (not for RSPAN)

  // Which of the fields apply to the encapsulation (the EVE `mirror` object has only these).
  bool has_session_id() const noexcept { return encap == MirrorEncap::Erspan2 || encap == MirrorEncap::Erspan3; }
  bool has_vni() const noexcept { return encap == MirrorEncap::Vxlan || encap == MirrorEncap::Geneve; }
  bool has_vlan() const noexcept { return has_session_id() || encap == MirrorEncap::Rspan; }
  bool has_sensor_src() const noexcept { return encap != MirrorEncap::None && encap != MirrorEncap::Rspan; }

  // The part of the flow key: the encapsulation with its session, VNI and VLAN, so that two
  // tenants with the same inner addresses on different VNIs or sessions are different flows.
  // 0 for a frame captured locally. The outer addresses are not part of it.
  uint64_t flow_key() const noexcept {
    return (uint64_t{static_cast<uint8_t>(encap)} << 56) | (uint64_t{vlan} << 40) | (uint64_t{session_id} << 24) |
           (vni & 0xffffffu);
  }
};

}  // namespace eastwatch

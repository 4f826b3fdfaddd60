// 802.1Q VLAN tags and QinQ (802.1ad 0x88A8, legacy 0x9100). The first two VLAN ids are
// kept for the flow key; a fourth tag is "too many layers", as in Suricata. The outermost tag
// of a captured frame on one of decoder.rspan.vlans is an RSPAN copy: the tag is taken off
// (mirror.encap rspan, mirror.vlan) and the tags after it are the mirrored frame's.
#include "sensor/decode/detail/layers.hpp"

namespace eastwatch::detail {

bool decode_vlan(Packet& p, DecodeStats& s, uint32_t offset, Scope scope) noexcept {
  if (p.caplen < offset + 4) {
    raise_event(p, s.event.vlan_header_too_small, DecodeEvent::VlanHeaderTooSmall);
    return false;
  }
  const uint16_t layer = p.vlan_count;  // 0-based index of this tag
  if (layer >= 3) {
    ++s.too_many_layers;
    raise_event(p, s.event.vlan_too_many_layers, DecodeEvent::VlanTooManyLayers);
    return false;
  }
  if (layer == 0) ++s.vlan;
  if (layer == 1) ++s.vlan_qinq;
  if (layer == 2) ++s.vlan_qinqinq;
  const uint16_t id = load_be16(p.data + offset) & 0x0fff;
  if (layer == 0 && scope.depth == 0 && p.mirror.encap == MirrorEncap::None && scope.settings != nullptr &&
      scope.settings->rspan_vlans.test(id)) {
    // The outermost tag of the captured frame marks an RSPAN copy: removed and recorded.
    ++s.mirror.rspan;
    MirrorInfo mirror;
    mirror.encap = MirrorEncap::Rspan;
    mirror.vlan = id;
    if (!enter_mirror(p, s, mirror, scope)) return false;
    return decode_ethertype(p, s, load_be16(p.data + offset + 2), offset + 4, scope);
  }
  if (layer < 2) p.vlan_id[layer] = id;
  p.vlan_count = static_cast<uint8_t>(layer + 1);
  return decode_ethertype(p, s, load_be16(p.data + offset + 2), offset + 4, scope);
}

}  // namespace eastwatch::detail

// 802.1Q VLAN tags and QinQ (802.1ad 0x88A8, legacy 0x9100). The first two VLAN ids are
// kept for the flow key; a fourth tag is "too many layers", as in Suricata.
#include "sensor/decode/detail/layers.hpp"

namespace eastwatch::detail {

bool decode_vlan(Packet& p, DecodeStats& s, uint32_t offset, int depth) noexcept {
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
  if (layer < 2) p.vlan_id[layer] = load_be16(p.data + offset) & 0x0fff;
  p.vlan_count = static_cast<uint8_t>(layer + 1);
  return decode_ethertype(p, s, load_be16(p.data + offset + 2), offset + 4, depth);
}

}  // namespace eastwatch::detail

// VXLAN (RFC 7348) on the configured UDP ports (decoder.vxlan.ports, 4789): an 8-byte header,
// the I flag set and the VNI, then an Ethernet frame. A header that is not VXLAN's (too short,
// I clear) leaves the datagram plain UDP, as in Suricata; an inner ethertype other than IPv4,
// IPv6, ARP or a VLAN tag is vxlan.unknown_payload_type.
#include "sensor/decode/detail/layers.hpp"

namespace eastwatch::detail {

namespace {
constexpr uint32_t kVxlanHeader = 8;
constexpr uint8_t kInstanceFlag = 0x08;
}  // namespace

bool decode_vxlan(Packet& p, DecodeStats& s, uint32_t offset, uint32_t end, Scope scope, bool& claimed) noexcept {
  claimed = false;
  if (offset + kVxlanHeader + 14 > end) return true;
  const uint8_t* h = p.data + offset;
  if ((h[0] & kInstanceFlag) == 0) return true;
  claimed = true;
  ++s.vxlan;
  const uint32_t inner = offset + kVxlanHeader;
  if (!known_inner_ether_type(load_be16(p.data + inner + 12))) {
    raise_event(p, s.event.vxlan_unknown_payload_type, DecodeEvent::VxlanUnknownPayloadType);
    return false;
  }
  MirrorInfo mirror;
  mirror.encap = MirrorEncap::Vxlan;
  mirror.vni = load_be32(h + 4) >> 8;
  mirror.sensor_src = p.src;
  if (!enter_mirror(p, s, mirror, scope)) return false;
  return decode_ethernet(p, s, inner, scope);
}

}  // namespace eastwatch::detail

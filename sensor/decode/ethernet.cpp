// Ethernet II, and the ethertype dispatch shared by every link layer.
#include "sensor/decode/detail/layers.hpp"

namespace eastwatch::detail {

namespace {
constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherArp = 0x0806;
constexpr uint16_t kEtherIpv6 = 0x86dd;
constexpr uint16_t kEtherVlan = 0x8100;
constexpr uint16_t kEtherQinq = 0x88a8;
constexpr uint16_t kEtherQinqOld = 0x9100;
constexpr uint32_t kEthernetHeader = 14;
}  // namespace

bool decode_ethernet(Packet& p, DecodeStats& s, uint32_t offset, Scope scope) noexcept {
  ++s.ethernet;
  if (p.caplen < offset + kEthernetHeader) {
    raise_event(p, s.event.ethernet_pkt_too_small, DecodeEvent::EthernetPktTooSmall);
    return false;
  }
  p.has_ethernet = true;
  p.l2_offset = offset;
  return decode_ethertype(p, s, load_be16(p.data + offset + 12), offset + kEthernetHeader, scope);
}

bool decode_ethertype(Packet& p, DecodeStats& s, uint16_t ether_type, uint32_t offset, Scope scope) noexcept {
  p.ether_type = ether_type;
  switch (ether_type) {
    case kEtherIpv4: return decode_ipv4(p, s, offset, scope);
    case kEtherIpv6: return decode_ipv6(p, s, offset, scope);
    case kEtherVlan:
    case kEtherQinq:
    case kEtherQinqOld: return decode_vlan(p, s, offset, scope);
    case kEtherArp: return decode_arp(p, s, offset);
    default:
      // Not an error: LLDP, LACP, IPX... are simply not inspected.
      ++s.unknown_ethertype;
      return true;
  }
}

}  // namespace eastwatch::detail

// Geneve (RFC 8926) on the configured UDP ports (decoder.geneve.ports, 6081): an 8-byte base
// header (version 0, options length in 4-byte words, protocol type, VNI), the options skipped,
// then the frame: Ethernet (0x6558) or IPv4/IPv6. A header that is not Geneve's (too short,
// another version, options past the datagram) leaves the datagram plain UDP, as in Suricata;
// another protocol type, or an unknown inner ethertype, is geneve.unknown_payload_type.
#include "sensor/decode/detail/layers.hpp"

namespace eastwatch::detail {

namespace {
constexpr uint32_t kGeneveHeader = 8;
constexpr uint16_t kProtoTeb = 0x6558;
constexpr uint16_t kProtoIpv4 = 0x0800;
constexpr uint16_t kProtoIpv6 = 0x86dd;
}  // namespace

bool decode_geneve(Packet& p, DecodeStats& s, uint32_t offset, uint32_t end, Scope scope, bool& claimed) noexcept {
  claimed = false;
  if (offset + kGeneveHeader > end) return true;
  const uint8_t* h = p.data + offset;
  if ((h[0] >> 6) != 0) return true;
  const uint32_t inner = offset + kGeneveHeader + (h[0] & 0x3fu) * 4;
  if (inner > end) return true;
  claimed = true;
  ++s.geneve;
  const uint16_t protocol = load_be16(h + 2);
  const bool ethernet = protocol == kProtoTeb && inner + 14 <= end && known_inner_ether_type(load_be16(p.data + inner + 12));
  if (!ethernet && protocol != kProtoIpv4 && protocol != kProtoIpv6) {
    raise_event(p, s.event.geneve_unknown_payload_type, DecodeEvent::GeneveUnknownPayloadType);
    return false;
  }
  MirrorInfo mirror;
  mirror.encap = MirrorEncap::Geneve;
  mirror.vni = load_be32(h + 4) >> 8;
  mirror.sensor_src = p.src;
  if (!enter_mirror(p, s, mirror, scope)) return false;
  if (ethernet) return decode_ethernet(p, s, inner, scope);
  return protocol == kProtoIpv4 ? decode_ipv4(p, s, inner, scope) : decode_ipv6(p, s, inner, scope);
}

}  // namespace eastwatch::detail

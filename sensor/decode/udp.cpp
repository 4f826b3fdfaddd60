// UDP (RFC 768). The UDP length bounds the payload; checksum 0 over IPv4 means "none".
// A datagram to a configured VXLAN or Geneve port continues into that decoder.
#include "sensor/decode/detail/layers.hpp"

namespace eastwatch::detail {

namespace {

bool has_port(const std::vector<uint16_t>& ports, uint16_t port) noexcept {
  for (const uint16_t candidate : ports) {  // at most 4
    if (candidate == port) return true;
  }
  return false;
}

}  // namespace

bool decode_udp(Packet& p, DecodeStats& s, uint32_t offset, uint32_t end, Scope scope) noexcept {
  ++s.udp;
  if (offset + 8 > end) {
    raise_event(p, s.event.udp_pkt_too_small, DecodeEvent::UdpPktTooSmall);
    return false;
  }
  const uint8_t* h = p.data + offset;
  const uint32_t length = load_be16(h + 4);
  if (length < 8) {
    raise_event(p, s.event.udp_hlen_too_small, DecodeEvent::UdpHlenTooSmall);
    return false;
  }
  // A first fragment carries only part of the datagram the UDP length describes.
  if (offset + length > end && !snaplen_cut(p) && !p.ip_fragment) {
    raise_event(p, s.event.udp_hlen_invalid, DecodeEvent::UdpHlenInvalid);
    return false;
  }
  const uint32_t udp_end = std::min(end, offset + length);
  p.has_transport = true;
  p.l4_offset = offset;
  p.src_port = load_be16(h);
  p.dst_port = load_be16(h + 2);
  p.payload_offset = offset + 8;
  p.payload_len = udp_end - p.payload_offset;
  const uint16_t checksum = load_be16(h + 6);
  if (!p.ip_fragment && !snaplen_cut(p) && !(checksum == 0 && p.ip_version == 4)) {
    if (checksum_fold(checksum_add(pseudo_header_sum(p, 17, length), h, length)) != 0) {
      p.l4_checksum_bad = true;
      ++s.checksum.udp_bad;
    }
  }
  if (scope.settings == nullptr) return true;
  const DecoderSettings& settings = *scope.settings;
  const bool vxlan = settings.vxlan_enabled && has_port(settings.vxlan_ports, p.dst_port);
  const bool geneve = !vxlan && settings.geneve_enabled && has_port(settings.geneve_ports, p.dst_port);
  if (!vxlan && !geneve) return true;
  if (p.ip_fragment) {  // the first fragment of an outer datagram: decoded once defrag rebuilds it
    ++s.mirror.outer_fragmented;
    return true;
  }
  bool claimed = false;
  const bool ok = vxlan ? decode_vxlan(p, s, p.payload_offset, udp_end, scope, claimed)
                        : decode_geneve(p, s, p.payload_offset, udp_end, scope, claimed);
  return claimed ? ok : true;
}

}  // namespace eastwatch::detail

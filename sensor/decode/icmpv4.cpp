// ICMPv4 (RFC 792), and the header layout ICMPv6 shares with it.
#include "sensor/decode/detail/layers.hpp"

namespace eastwatch::detail {

bool decode_icmp_header(Packet& p, uint32_t offset, uint32_t end, uint32_t pseudo_sum, uint64_t& too_small,
                        DecodeEvent too_small_event, uint64_t& checksum_bad) noexcept {
  if (offset + 8 > end) {
    raise_event(p, too_small, too_small_event);
    return false;
  }
  const uint8_t* h = p.data + offset;
  p.has_transport = true;
  p.l4_offset = offset;
  p.icmp_type = h[0];
  p.icmp_code = h[1];
  p.icmp_id = load_be16(h + 4);
  p.icmp_seq = load_be16(h + 6);
  p.payload_offset = offset + 8;
  p.payload_len = end - p.payload_offset;
  if (!p.ip_fragment && !snaplen_cut(p) && checksum_fold(checksum_add(pseudo_sum, h, end - offset)) != 0) {
    p.l4_checksum_bad = true;
    ++checksum_bad;
  }
  return true;
}

bool decode_icmpv4(Packet& p, DecodeStats& s, uint32_t offset, uint32_t end) noexcept {
  ++s.icmpv4;
  if (!decode_icmp_header(p, offset, end, 0, s.event.icmpv4_pkt_too_small, DecodeEvent::Icmpv4PktTooSmall,
                          s.checksum.icmpv4_bad)) {
    return false;
  }
  switch (p.icmp_type) {
    case 0: case 3: case 4: case 5: case 8: case 9: case 10: case 11: case 12: case 13: case 14: case 15: case 16:
    case 17: case 18: case 30: case 40: case 42: case 43: break;
    default: raise_event(p, s.event.icmpv4_unknown_type, DecodeEvent::Icmpv4UnknownType); break;
  }
  return true;
}

}  // namespace eastwatch::detail

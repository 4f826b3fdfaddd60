// ICMPv4 (RFC 792): type, code; the data after the 8-byte header is the payload, as in Suricata.
#include "sensor/decode/detail/layers.hpp"

namespace eastwatch::detail {

bool decode_icmpv4(Packet& p, DecodeStats& s, uint32_t offset, uint32_t end) noexcept {
  ++s.icmpv4;
  if (offset + 8 > end) {
    ++s.event.icmpv4_pkt_too_small;
    return false;
  }
  const uint8_t* h = p.data + offset;
  p.has_transport = true;
  p.l4_offset = offset;
  p.icmp_type = h[0];
  p.icmp_code = h[1];
  switch (p.icmp_type) {
    case 0: case 3: case 4: case 5: case 8: case 9: case 10: case 11: case 12: case 13: case 14: case 15: case 16:
    case 17: case 18: case 30: case 40: case 42: case 43: break;
    default: ++s.event.icmpv4_unknown_type; break;
  }
  p.payload_offset = offset + 8;
  p.payload_len = end - p.payload_offset;
  if (!p.ip_fragment && !snaplen_cut(p) && checksum_fold(checksum_add(0, h, end - offset)) != 0) {
    p.l4_checksum_bad = true;
    ++s.checksum.icmpv4_bad;
  }
  return true;
}

}  // namespace eastwatch::detail

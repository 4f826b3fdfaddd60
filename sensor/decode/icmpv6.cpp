// ICMPv6 (RFC 4443): type, code; the data after the 8-byte header is the payload.
#include "sensor/decode/detail/layers.hpp"

namespace eastwatch::detail {

bool decode_icmpv6(Packet& p, DecodeStats& s, uint32_t offset, uint32_t end) noexcept {
  ++s.icmpv6;
  if (offset + 8 > end) {
    ++s.event.icmpv6_pkt_too_small;
    return false;
  }
  const uint8_t* h = p.data + offset;
  p.has_transport = true;
  p.l4_offset = offset;
  p.icmp_type = h[0];
  p.icmp_code = h[1];
  const bool known = (p.icmp_type >= 1 && p.icmp_type <= 4) || (p.icmp_type >= 128 && p.icmp_type <= 161);
  if (!known) ++s.event.icmpv6_unknown_type;
  p.payload_offset = offset + 8;
  p.payload_len = end - p.payload_offset;
  if (!p.ip_fragment && !snaplen_cut(p)) {
    const uint32_t length = end - offset;
    if (checksum_fold(checksum_add(pseudo_header_sum(p, 58, length), h, length)) != 0) {
      p.l4_checksum_bad = true;
      ++s.checksum.icmpv6_bad;
    }
  }
  return true;
}

}  // namespace eastwatch::detail

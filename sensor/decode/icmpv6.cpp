// ICMPv6 (RFC 4443): the ICMPv4 header layout, with a pseudo-header in the checksum.
#include "sensor/decode/detail/layers.hpp"

namespace eastwatch::detail {

bool decode_icmpv6(Packet& p, DecodeStats& s, uint32_t offset, uint32_t end) noexcept {
  ++s.icmpv6;
  const uint32_t pseudo_sum = end >= offset ? pseudo_header_sum(p, 58, end - offset) : 0;
  if (!decode_icmp_header(p, offset, end, pseudo_sum, s.event.icmpv6_pkt_too_small, DecodeEvent::Icmpv6PktTooSmall,
                          s.checksum.icmpv6_bad)) {
    return false;
  }
  const bool known = (p.icmp_type >= 1 && p.icmp_type <= 4) || (p.icmp_type >= 128 && p.icmp_type <= 161);
  if (!known) raise_event(p, s.event.icmpv6_unknown_type, DecodeEvent::Icmpv6UnknownType);
  return true;
}

}  // namespace eastwatch::detail

// IPv6 (RFC 8200) with extension headers: hop-by-hop, routing, fragment, destination
// options, AH; ESP and "no next header" end the chain. The walk is bounded.
#include "sensor/decode/detail/layers.hpp"

namespace eastwatch::detail {

namespace {
constexpr int kMaxExtensionHeaders = 16;
}  // namespace

bool decode_ipv6(Packet& p, DecodeStats& s, uint32_t offset, Scope scope) noexcept {
  ++s.ipv6;
  if (p.caplen < offset + 40) {
    raise_event(p, s.event.ipv6_pkt_too_small, DecodeEvent::Ipv6PktTooSmall);
    return false;
  }
  const uint8_t* h = p.data + offset;
  if ((h[0] >> 4) != 6) {
    raise_event(p, s.event.ipv6_wrong_ip_version, DecodeEvent::Ipv6WrongIpVersion);
    return false;
  }
  const uint32_t payload_length = load_be16(h + 4);
  uint32_t end = offset + 40 + payload_length;
  if (payload_length == 0) end = p.caplen;  // jumbogram (RFC 2675): the length is in hop-by-hop
  if (end > p.caplen) {
    if (!snaplen_cut(p)) {
      raise_event(p, s.event.ipv6_trunc_pkt, DecodeEvent::Ipv6TruncPkt);
      return false;
    }
    end = p.caplen;
  }
  p.ip_version = 6;
  p.l3_offset = offset;
  p.ip_tos = static_cast<uint8_t>(((h[0] & 0x0f) << 4) | (h[1] >> 4));
  p.ip_ttl = h[7];
  p.src = IpAddress::from_v6_bytes(h + 8);
  p.dst = IpAddress::from_v6_bytes(h + 24);

  uint8_t next = h[6];
  uint32_t at = offset + 40;
  uint32_t seen = 0;  // bit per extension kind, for duplicates
  auto duplicate = [&](uint32_t bit, uint64_t& counter, DecodeEvent event) {
    if (seen & bit) raise_event(p, counter, event);
    seen |= bit;
  };
  for (int i = 0; i < kMaxExtensionHeaders; ++i) {
    switch (next) {
      case 0:    // hop-by-hop options
      case 43:   // routing
      case 60: {  // destination options
        if (at + 8 > end) {
          raise_event(p, s.event.ipv6_trunc_exthdr, DecodeEvent::Ipv6TruncExthdr);
          return false;
        }
        const uint32_t length = (uint32_t{p.data[at + 1]} + 1) * 8;
        if (at + length > end) {
          raise_event(p, s.event.ipv6_trunc_exthdr, DecodeEvent::Ipv6TruncExthdr);
          return false;
        }
        if (next == 0) duplicate(1, s.event.ipv6_exthdr_dupl_hh, DecodeEvent::Ipv6ExthdrDuplHh);
        if (next == 60) duplicate(2, s.event.ipv6_exthdr_dupl_dh, DecodeEvent::Ipv6ExthdrDuplDh);
        if (next == 43) {
          duplicate(4, s.event.ipv6_exthdr_dupl_rh, DecodeEvent::Ipv6ExthdrDuplRh);
          if (p.data[at + 2] == 0) raise_event(p, s.event.ipv6_rh_type_0, DecodeEvent::Ipv6RhType0);
        }
        next = p.data[at];
        at += length;
        continue;
      }
      case 44: {  // fragment
        if (at + 8 > end) {
          raise_event(p, s.event.ipv6_trunc_exthdr, DecodeEvent::Ipv6TruncExthdr);
          return false;
        }
        duplicate(8, s.event.ipv6_exthdr_dupl_fh, DecodeEvent::Ipv6ExthdrDuplFh);
        if (p.data[at + 1] != 0) {
          raise_event(p, s.event.ipv6_fh_non_zero_reserved_field, DecodeEvent::Ipv6FhNonZeroReservedField);
        }
        const uint16_t fragment = load_be16(p.data + at + 2);
        const uint16_t fragment_offset = fragment >> 3;
        const bool more_fragments = (fragment & 1) != 0;
        p.ip_fragment = p.ip_fragment || more_fragments || fragment_offset != 0;
        p.ip_id = static_cast<uint16_t>(load_be32(p.data + at + 4));
        next = p.data[at];
        at += 8;
        if (fragment_offset != 0) {
          p.ip_proto = next;
          p.l4_offset = at;
          p.payload_offset = at;
          p.payload_len = end - at;
          return true;
        }
        continue;
      }
      case 51: {  // authentication header
        if (at + 8 > end) {
          raise_event(p, s.event.ipv6_trunc_exthdr, DecodeEvent::Ipv6TruncExthdr);
          return false;
        }
        const uint32_t length = (uint32_t{p.data[at + 1]} + 2) * 4;
        if (at + length > end) {
          raise_event(p, s.event.ipv6_trunc_exthdr, DecodeEvent::Ipv6TruncExthdr);
          return false;
        }
        duplicate(16, s.event.ipv6_exthdr_dupl_ah, DecodeEvent::Ipv6ExthdrDuplAh);
        next = p.data[at];
        at += length;
        continue;
      }
      case 59:  // no next header
        if (at < end) raise_event(p, s.event.ipv6_data_after_none_header, DecodeEvent::Ipv6DataAfterNoneHeader);
        p.ip_proto = 59;
        p.l4_offset = at;
        p.payload_offset = at;
        p.payload_len = end - at;
        return true;
      default: {
        p.ip_proto = next;
        if (next == 1) raise_event(p, s.event.ipv6_icmpv4, DecodeEvent::Ipv6Icmpv4);
              return decode_transport(p, s, next, at, end, scope);
      }
    }
  }
  // More extension headers than any real stack sends: stop inspecting, keep what we have.
  p.ip_proto = next;
  p.l4_offset = at;
  p.payload_offset = at;
  p.payload_len = end - at;
  return true;
}

}  // namespace eastwatch::detail

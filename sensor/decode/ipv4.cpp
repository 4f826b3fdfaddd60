// IPv4 (RFC 791): header, options, fragments, checksum (verified and counted, never
// enforced: mirrored traffic often carries offloaded checksums).
#include "sensor/decode/detail/layers.hpp"

namespace eastwatch::detail {

namespace {

// Validates the options and records the known ones in `present` (bit n: option number n, the
// type's low five bits); returns false on a malformed option list. Bounded by `length` (<= 40).
bool check_options(Packet& p, const uint8_t* options, uint32_t length, DecodeStats& s, uint32_t& present) noexcept {
  uint32_t seen = 0;  // bitmask of option numbers 0..31 (copied-flag stripped), for duplicates
  uint32_t i = 0;
  while (i < length) {
    const uint8_t type = options[i];
    if (type == 0) {  // end of option list
      present |= 1u;
      break;
    }
    if (type == 1) {  // no-operation
      present |= 1u << 1;
      ++i;
      continue;
    }
    if (i + 1 >= length) {
      raise_event(p, s.event.ipv4_opt_malformed, DecodeEvent::Ipv4OptMalformed);
      return false;
    }
    const uint8_t option_length = options[i + 1];
    if (option_length < 2) {
      raise_event(p, s.event.ipv4_opt_invalid_len, DecodeEvent::Ipv4OptInvalidLen);
      return false;
    }
    if (i + option_length > length) {
      raise_event(p, s.event.ipv4_opt_malformed, DecodeEvent::Ipv4OptMalformed);
      return false;
    }
    const uint32_t number = type & 0x1f;
    if (seen & (1u << number)) raise_event(p, s.event.ipv4_opt_duplicate, DecodeEvent::Ipv4OptDuplicate);
    seen |= 1u << number;
    switch (type) {
      // rr, ts, lsrr, ssrr, sec, esec, satid (what ipopts names), router alert, CIPSO
      case 0x07: case 0x44: case 0x83: case 0x89: case 0x82: case 0x85: case 0x88: case 0x94: case 0x86:
        present |= 1u << number;
        break;
      default: raise_event(p, s.event.ipv4_opt_unknown, DecodeEvent::Ipv4OptUnknown); break;
    }
    i += option_length;
  }
  return true;
}

}  // namespace

bool decode_ipv4(Packet& p, DecodeStats& s, uint32_t offset, Scope scope) noexcept {
  ++s.ipv4;
  if (p.caplen < offset + 20) {
    raise_event(p, s.event.ipv4_pkt_too_small, DecodeEvent::Ipv4PktTooSmall);
    return false;
  }
  const uint8_t* h = p.data + offset;
  if ((h[0] >> 4) != 4) {
    raise_event(p, s.event.ipv4_wrong_ip_version, DecodeEvent::Ipv4WrongIpVersion);
    return false;
  }
  const uint32_t header_length = (h[0] & 0x0f) * 4u;
  if (header_length < 20) {
    raise_event(p, s.event.ipv4_hlen_too_small, DecodeEvent::Ipv4HlenTooSmall);
    return false;
  }
  if (p.caplen < offset + header_length) {
    raise_event(p, s.event.ipv4_pkt_too_small, DecodeEvent::Ipv4PktTooSmall);
    return false;
  }
  const uint32_t total_length = load_be16(h + 2);
  if (total_length < header_length) {
    raise_event(p, s.event.ipv4_iplen_smaller_than_hlen, DecodeEvent::Ipv4IplenSmallerThanHlen);
    return false;
  }
  uint32_t end = offset + total_length;  // Ethernet padding beyond this is not payload
  if (end > p.caplen) {
    if (!snaplen_cut(p)) {
      raise_event(p, s.event.ipv4_trunc_pkt, DecodeEvent::Ipv4TruncPkt);
      return false;
    }
    end = p.caplen;
  }
  uint32_t options = 0;
  if (header_length > 20 && !check_options(p, h + 20, header_length - 20, s, options)) return false;

  p.ip_version = 4;
  p.l3_offset = offset;
  p.ip_tos = h[1];
  p.ip_id = load_be16(h + 4);
  p.ip_ttl = h[8];
  p.ip_options = options;
  p.ip_proto = h[9];
  p.src = IpAddress::from_v4_bytes(h + 12);
  p.dst = IpAddress::from_v4_bytes(h + 16);
  if (checksum_fold(checksum_add(0, h, header_length)) != 0) {
    p.ip_checksum_bad = true;
    ++s.checksum.ipv4_bad;
  }
  const uint16_t fragment = load_be16(h + 6);
  const bool more_fragments = (fragment & 0x2000) != 0;
  const uint16_t fragment_offset = fragment & 0x1fff;
  p.ip_fragment = more_fragments || fragment_offset != 0;
  // The header has reserved, DF, MF from the top bit down; ip_frag_bits wants MF 0x04, DF 0x02, R 0x01.
  p.ip_frag_bits = static_cast<uint8_t>(((fragment >> 11) & 0x04) | ((fragment >> 13) & 0x02) | (fragment >> 15));
  p.ip_frag_offset = fragment_offset;
  const uint32_t l4 = offset + header_length;
  p.l4_offset = l4;
  if (fragment_offset != 0) {
    // Not the first fragment: no transport header here; the IP payload is all there is.
    p.payload_offset = l4;
    p.payload_len = end - l4;
    return true;
  }
  if (p.ip_proto == 58) raise_event(p, s.event.ipv4_icmpv6, DecodeEvent::Ipv4Icmpv6);
  return decode_transport(p, s, p.ip_proto, l4, end, scope);
}

bool decode_transport(Packet& p, DecodeStats& s, uint8_t protocol, uint32_t offset, uint32_t end,
                      Scope scope) noexcept {
  switch (protocol) {
    case 6: return decode_tcp(p, s, offset, end);
    case 17: return decode_udp(p, s, offset, end, scope);
    case 47: return decode_gre(p, s, offset, end, scope);
    case 1: return decode_icmpv4(p, s, offset, end);
    case 58: return decode_icmpv6(p, s, offset, end);
    default:
      p.l4_offset = offset;
      p.payload_offset = offset;
      p.payload_len = end - offset;
      return true;
  }
}

uint32_t pseudo_header_sum(const Packet& p, uint8_t protocol, uint32_t length) noexcept {
  uint32_t sum = 0;
  if (p.ip_version == 4) {
    sum = checksum_add(sum, p.src.bytes.data() + 12, 4);
    sum = checksum_add(sum, p.dst.bytes.data() + 12, 4);
  } else {
    sum = checksum_add(sum, p.src.bytes.data(), 16);
    sum = checksum_add(sum, p.dst.bytes.data(), 16);
  }
  return sum + protocol + (length & 0xffff) + (length >> 16);
}

}  // namespace eastwatch::detail

// TCP (RFC 9293): header, options (bounded walk), checksum counted.
#include "sensor/decode/detail/layers.hpp"

namespace eastwatch::detail {

bool decode_tcp(Packet& p, DecodeStats& s, uint32_t offset, uint32_t end) noexcept {
  ++s.tcp;
  if (offset + 20 > end) {
    raise_event(p, s.event.tcp_pkt_too_small, DecodeEvent::TcpPktTooSmall);
    return false;
  }
  const uint8_t* h = p.data + offset;
  const uint32_t header_length = (h[12] >> 4) * 4u;
  if (header_length < 20) {
    raise_event(p, s.event.tcp_hlen_too_small, DecodeEvent::TcpHlenTooSmall);
    return false;
  }
  if (offset + header_length > end) {
    raise_event(p, s.event.tcp_pkt_too_small, DecodeEvent::TcpPktTooSmall);
    return false;
  }
  // Options: kinds 0 (end) and 1 (nop) are one byte, every other kind has a length >= 2.
  uint32_t seen = 0;
  for (uint32_t i = 20; i < header_length;) {
    const uint8_t kind = h[i];
    if (kind == 0) break;
    if (kind == 1) {
      ++i;
      continue;
    }
    if (i + 1 >= header_length) {
      raise_event(p, s.event.tcp_invalid_optlen, DecodeEvent::TcpInvalidOptlen);
      return false;
    }
    const uint8_t length = h[i + 1];
    if (length < 2 || i + length > header_length) {
      raise_event(p, s.event.tcp_opt_invalid_len, DecodeEvent::TcpOptInvalidLen);
      return false;
    }
    if (kind < 32) {
      if (seen & (1u << kind)) raise_event(p, s.event.tcp_opt_duplicate, DecodeEvent::TcpOptDuplicate);
      seen |= 1u << kind;
    }
    i += length;
  }
  p.has_transport = true;
  p.l4_offset = offset;
  p.src_port = load_be16(h);
  p.dst_port = load_be16(h + 2);
  p.tcp_seq = load_be32(h + 4);
  p.tcp_ack = load_be32(h + 8);
  p.tcp_flags = h[13];
  p.tcp_window = load_be16(h + 14);
  p.payload_offset = offset + header_length;
  p.payload_len = end - p.payload_offset;
  if (!p.ip_fragment && !snaplen_cut(p)) {
    const uint32_t length = end - offset;
    if (checksum_fold(checksum_add(pseudo_header_sum(p, 6, length), h, length)) != 0) {
      p.l4_checksum_bad = true;
      ++s.checksum.tcp_bad;
    }
  }
  return true;
}

}  // namespace eastwatch::detail

// GRE (RFC 2784, with RFC 2890's key and sequence number), version 0, as a mirror transport:
// ERSPAN type I/II (0x88BE), type III (0x22EB), transparent Ethernet bridging (0x6558) and
// IPv4/IPv6 (0x0800/0x86DD). Suricata's checks and event names: recursion control, reserved
// flags, a header longer than the packet, a malformed source route (RFC 1701's SRE list).
// Version 1 (PPTP's enhanced GRE) is counted and not inspected; other versions are malformed.
#include "sensor/decode/detail/layers.hpp"

namespace eastwatch::detail {

namespace {
constexpr uint16_t kChecksumFlag = 0x8000;
constexpr uint16_t kRoutingFlag = 0x4000;
constexpr uint16_t kKeyFlag = 0x2000;
constexpr uint16_t kSequenceFlag = 0x1000;
constexpr uint16_t kRecursionMask = 0x0700;
constexpr uint16_t kReservedFlagsMask = 0x00f8;
constexpr uint16_t kVersionMask = 0x0007;
constexpr uint16_t kProtoTeb = 0x6558;
constexpr uint16_t kProtoErspan2 = 0x88be;
constexpr uint16_t kProtoErspan3 = 0x22eb;
constexpr uint16_t kProtoIpv4 = 0x0800;
constexpr uint16_t kProtoIpv6 = 0x86dd;
constexpr int kMaxSourceRouteEntries = 16;
}  // namespace

bool decode_gre(Packet& p, DecodeStats& s, uint32_t offset, uint32_t end, Scope scope) noexcept {
  ++s.gre;
  p.l4_offset = offset;
  p.payload_offset = offset;
  p.payload_len = end > offset ? end - offset : 0;
  if (offset + 4 > end) {
    raise_event(p, s.event.gre_pkt_too_small, DecodeEvent::GrePktTooSmall);
    return false;
  }
  const uint16_t flags = load_be16(p.data + offset);
  const uint16_t protocol = load_be16(p.data + offset + 2);
  const uint16_t version = flags & kVersionMask;
  if (version == 1) return true;  // PPTP: PPP inside, not a mirror
  if (version != 0) {
    raise_event(p, s.event.gre_wrong_version, DecodeEvent::GreWrongVersion);
    return false;
  }
  if (flags & kRecursionMask) {
    raise_event(p, s.event.gre_version0_recur, DecodeEvent::GreVersion0Recur);
    return false;
  }
  if (flags & kReservedFlagsMask) {
    raise_event(p, s.event.gre_version0_flags, DecodeEvent::GreVersion0Flags);
    return false;
  }
  uint32_t header = 4;
  if (flags & (kChecksumFlag | kRoutingFlag)) header += 4;  // checksum + offset (RFC 1701)
  if (flags & kKeyFlag) header += 4;
  if (flags & kSequenceFlag) header += 4;
  if (offset + header > end) {
    raise_event(p, s.event.gre_version0_hdr_too_big, DecodeEvent::GreVersion0HdrTooBig);
    return false;
  }
  if (flags & kRoutingFlag) {  // source route entries up to the NULL one, bounded
    bool terminated = false;
    for (int i = 0; i < kMaxSourceRouteEntries && !terminated; ++i) {
      if (offset + header + 4 > end) break;
      const uint8_t length = p.data[offset + header + 3];
      const uint16_t family = load_be16(p.data + offset + header);
      header += 4 + length;
      terminated = family == 0 && length == 0;
    }
    if (!terminated || offset + header > end) {
      raise_event(p, s.event.gre_version0_malformed_sre_hdr, DecodeEvent::GreVersion0MalformedSreHdr);
      return false;
    }
  }
  const uint32_t inner = offset + header;
  p.payload_offset = inner;
  p.payload_len = end - inner;
  if (p.ip_fragment) {  // the first fragment of an outer datagram: decoded once defrag rebuilds it
    ++s.mirror.outer_fragmented;
    return true;
  }
  MirrorInfo mirror;
  mirror.sensor_src = p.src;
  switch (protocol) {
    case kProtoErspan2:
      if (flags & kSequenceFlag) return decode_erspan(p, s, 2, inner, end, scope);
      if (scope.settings != nullptr && scope.settings->erspan_type1_enabled) {
        return decode_erspan(p, s, 1, inner, end, scope);
      }
      ++s.mirror.erspan1_disabled;
      return true;
    case kProtoErspan3: return decode_erspan(p, s, 3, inner, end, scope);
    case kProtoTeb:
      mirror.encap = MirrorEncap::Gre;
      if (!enter_mirror(p, s, mirror, scope)) return false;
      return decode_ethernet(p, s, inner, scope);
    case kProtoIpv4:
    case kProtoIpv6:
      mirror.encap = MirrorEncap::Gre;
      if (!enter_mirror(p, s, mirror, scope)) return false;
      return protocol == kProtoIpv4 ? decode_ipv4(p, s, inner, scope) : decode_ipv6(p, s, inner, scope);
    default:
      return true;  // another GRE payload (WCCP, PPP, MPLS...): not inspected
  }
}

}  // namespace eastwatch::detail

#include "sensor/decode/decoder.hpp"

#include "sensor/decode/detail/layers.hpp"

namespace eastwatch {

namespace {

using detail::load_be16;
using detail::raise_event;

bool decode_raw_ip(Packet& p, DecodeStats& s, uint32_t offset, detail::Scope scope) noexcept {
  if (offset >= p.caplen) {
    raise_event(p, s.event.ipraw_invalid_ip_version, DecodeEvent::IprawInvalidIpVersion);
    return false;
  }
  const uint8_t version = p.data[offset] >> 4;
  if (version == 4) return detail::decode_ipv4(p, s, offset, scope);
  if (version == 6) return detail::decode_ipv6(p, s, offset, scope);
  raise_event(p, s.event.ipraw_invalid_ip_version, DecodeEvent::IprawInvalidIpVersion);
  return false;
}

// Linux "cooked" capture v1: 16-byte header, protocol (ethertype) in the last two bytes.
bool decode_sll(Packet& p, DecodeStats& s, detail::Scope scope) noexcept {
  ++s.sll;
  if (p.caplen < 16) {
    raise_event(p, s.event.sll_pkt_too_small, DecodeEvent::SllPktTooSmall);
    return false;
  }
  return detail::decode_ethertype(p, s, load_be16(p.data + 14), 16, scope);
}

// BSD loopback: a 4-byte address family in the writer's byte order.
bool decode_null(Packet& p, DecodeStats& s, detail::Scope scope) noexcept {
  ++s.null;
  if (p.caplen < 4) {
    raise_event(p, s.event.ltnull_pkt_too_small, DecodeEvent::LtnullPktTooSmall);
    return false;
  }
  uint32_t family = 0;
  std::memcpy(&family, p.data, 4);
  if (family > 0xffff) family = __builtin_bswap32(family);
  switch (family) {
    case 2: return detail::decode_ipv4(p, s, 4, scope);
    case 10: case 24: case 28: case 30: return detail::decode_ipv6(p, s, 4, scope);
    default: raise_event(p, s.event.ltnull_unsupported_type, DecodeEvent::LtnullUnsupportedType); return true;
  }
}

}  // namespace

bool decode_packet(Packet& packet, DecodeStats& stats) noexcept {
  static const DecoderSettings defaults{};
  return decode_packet(packet, stats, defaults);
}

bool decode_packet(Packet& packet, DecodeStats& stats, const DecoderSettings& settings) noexcept {
  const detail::Scope scope{&settings, 0};
  ++stats.pkts;
  stats.bytes += packet.wirelen;
  if (packet.wirelen > stats.max_pkt_size) stats.max_pkt_size = packet.wirelen;
  bool ok = false;
  switch (packet.link_type) {
    case LinkType::Ethernet: ok = detail::decode_ethernet(packet, stats, 0, scope); break;
    case LinkType::Raw: ++stats.raw; ok = decode_raw_ip(packet, stats, 0, scope); break;
    case LinkType::Ipv4: ++stats.raw; ok = detail::decode_ipv4(packet, stats, 0, scope); break;
    case LinkType::Ipv6: ++stats.raw; ok = detail::decode_ipv6(packet, stats, 0, scope); break;
    case LinkType::LinuxSll: ok = decode_sll(packet, stats, scope); break;
    case LinkType::Null: ok = decode_null(packet, stats, scope); break;
  }
  packet.decoded = ok;
  if (!ok) ++stats.invalid;
  return ok;
}

}  // namespace eastwatch

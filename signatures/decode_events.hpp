// Decoder events ("anomalies") with Suricata's names, as rules match them with `decode-event:`
// (`decode-event:ipv4.frag_overlap;`) and as stats name them (stats.decoder.event.<name>). The
// decoders and the defragmenter raise them on a packet where they count them; the order is that
// of the counters in sensor/decode's DecodeStats::Events (a unit test checks names and order).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace eastwatch {

enum class DecodeEvent : uint8_t {
  EthernetPktTooSmall, VlanHeaderTooSmall, VlanTooManyLayers, ArpPktTooSmall,
  ArpUnsupportedHardware, ArpUnsupportedProtocol, ArpInvalidHardwareSize, ArpInvalidProtocolSize,
  ArpUnsupportedOpcode, Ipv4PktTooSmall, Ipv4HlenTooSmall, Ipv4IplenSmallerThanHlen,
  Ipv4TruncPkt, Ipv4WrongIpVersion, Ipv4OptInvalidLen, Ipv4OptMalformed,
  Ipv4OptDuplicate, Ipv4OptUnknown, Ipv4Icmpv6, Ipv6PktTooSmall,
  Ipv6TruncPkt, Ipv6TruncExthdr, Ipv6WrongIpVersion, Ipv6ExthdrDuplHh,
  Ipv6ExthdrDuplRh, Ipv6ExthdrDuplFh, Ipv6ExthdrDuplDh, Ipv6ExthdrDuplAh,
  Ipv6FhNonZeroReservedField, Ipv6RhType0, Ipv6Icmpv4, Ipv6DataAfterNoneHeader,
  TcpPktTooSmall, TcpHlenTooSmall, TcpInvalidOptlen, TcpOptInvalidLen,
  TcpOptDuplicate, UdpPktTooSmall, UdpHlenTooSmall, UdpHlenInvalid,
  Icmpv4PktTooSmall, Icmpv4UnknownType, Icmpv6PktTooSmall, Icmpv6UnknownType,
  LtnullPktTooSmall, LtnullUnsupportedType, SllPktTooSmall, IprawInvalidIpVersion,
  Ipv4FragPktTooLarge, Ipv6FragPktTooLarge, Ipv4FragOverlap, Ipv6FragOverlap,
  Ipv4FragIgnored, Ipv6FragIgnored, Ipv6FragInvalidLength,
  GrePktTooSmall, GreWrongVersion, GreVersion0Recur, GreVersion0Flags,
  GreVersion0HdrTooBig, GreVersion0MalformedSreHdr, ErspanHeaderTooSmall, ErspanUnsupportedVersion,
  VxlanUnknownPayloadType, GeneveUnknownPayloadType,
  Count
};

inline constexpr size_t kDecodeEventCount = static_cast<size_t>(DecodeEvent::Count);

inline constexpr std::array<std::string_view, kDecodeEventCount> kDecodeEventNames = {
    "ethernet.pkt_too_small", "vlan.header_too_small", "vlan.too_many_layers", "arp.pkt_too_small",
    "arp.unsupported_hardware", "arp.unsupported_protocol", "arp.invalid_hardware_size",
    "arp.invalid_protocol_size", "arp.unsupported_opcode", "ipv4.pkt_too_small", "ipv4.hlen_too_small",
    "ipv4.iplen_smaller_than_hlen", "ipv4.trunc_pkt", "ipv4.wrong_ip_version", "ipv4.opt_invalid_len",
    "ipv4.opt_malformed", "ipv4.opt_duplicate", "ipv4.opt_unknown", "ipv4.icmpv6", "ipv6.pkt_too_small",
    "ipv6.trunc_pkt", "ipv6.trunc_exthdr", "ipv6.wrong_ip_version", "ipv6.exthdr_dupl_hh",
    "ipv6.exthdr_dupl_rh", "ipv6.exthdr_dupl_fh", "ipv6.exthdr_dupl_dh", "ipv6.exthdr_dupl_ah",
    "ipv6.fh_non_zero_reserved_field", "ipv6.rh_type_0", "ipv6.icmpv4", "ipv6.data_after_none_header",
    "tcp.pkt_too_small", "tcp.hlen_too_small", "tcp.invalid_optlen", "tcp.opt_invalid_len", "tcp.opt_duplicate",
    "udp.pkt_too_small", "udp.hlen_too_small", "udp.hlen_invalid", "icmpv4.pkt_too_small",
    "icmpv4.unknown_type", "icmpv6.pkt_too_small", "icmpv6.unknown_type", "ltnull.pkt_too_small",
    "ltnull.unsupported_type", "sll.pkt_too_small", "ipraw.invalid_ip_version", "ipv4.frag_pkt_too_large",
    "ipv6.frag_pkt_too_large", "ipv4.frag_overlap", "ipv6.frag_overlap", "ipv4.frag_ignored",
    "ipv6.frag_ignored", "ipv6.frag_invalid_length",
    "gre.pkt_too_small", "gre.wrong_version", "gre.version0_recur", "gre.version0_flags",
    "gre.version0_hdr_too_big", "gre.version0_malformed_sre_hdr", "erspan.header_too_small",
    "erspan.unsupported_version", "vxlan.unknown_payload_type", "geneve.unknown_payload_type",
};

inline std::optional<DecodeEvent> decode_event_from_name(std::string_view name) noexcept {
  for (size_t i = 0; i < kDecodeEventNames.size(); ++i) {
    if (kDecodeEventNames[i] == name) return static_cast<DecodeEvent>(i);
  }
  return std::nullopt;
}

// The events raised on one packet: a fixed-size bitset, no heap.
struct DecodeEventSet {
  uint64_t words[2] = {0, 0};

  void set(DecodeEvent event) noexcept {
    const auto bit = static_cast<size_t>(event);
    words[bit / 64] |= uint64_t{1} << (bit % 64);
  }
  bool test(DecodeEvent event) const noexcept {
    const auto bit = static_cast<size_t>(event);
    return (words[bit / 64] >> (bit % 64)) & 1;
  }
  bool any() const noexcept { return (words[0] | words[1]) != 0; }
};
static_assert(kDecodeEventCount <= 128);

}  // namespace eastwatch

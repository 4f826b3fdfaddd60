// Internal to sensor/decode: one function per layer, each taking the offset where its
// header starts. Each returns false when the packet is malformed (the caller marks it
// invalid); layers never read past packet.caplen.
#pragma once

#include <cstdint>
#include <algorithm>
#include <cstring>

#include "config/decoder_settings.hpp"
#include "sensor/decode/decode_stats.hpp"
#include "sensor/decode/packet.hpp"

namespace eastwatch::detail {

inline uint16_t load_be16(const uint8_t* p) noexcept { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t load_be32(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// One's-complement sum over bytes (RFC 1071), not yet folded. Sums 8 bytes at a time in
// 64 bits (one's-complement addition is byte-order independent: RFC 1071 section 2), then
// folds and swaps to network order once.
inline uint32_t checksum_add(uint32_t sum, const uint8_t* data, uint32_t length) noexcept {
  uint64_t wide = 0;
  uint32_t i = 0;
  for (; i + 8 <= length; i += 8) {
    uint64_t word;
    std::memcpy(&word, data + i, 8);
    wide += word;
    if (wide < word) ++wide;  // end-around carry
  }
  // Fold 64 -> 16 bits (still in host order), then swap to network order.
  wide = (wide & 0xffffffff) + (wide >> 32);
  wide = (wide & 0xffffffff) + (wide >> 32);
  wide = (wide & 0xffff) + (wide >> 16);
  wide = (wide & 0xffff) + (wide >> 16);
  wide = (wide & 0xffff) + (wide >> 16);
  sum += __builtin_bswap16(static_cast<uint16_t>(wide));
  for (; i + 1 < length; i += 2) sum += load_be16(data + i);
  if (i < length) sum += uint32_t{data[i]} << 8;
  return sum;
}
inline uint16_t checksum_fold(uint32_t sum) noexcept {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

// Counts a decoder event and raises it on the packet, where `decode-event:` rules see it.
inline void raise_event(Packet& p, uint64_t& counter, DecodeEvent event) noexcept {
  ++counter;
  p.events.set(event);
}

// The frame was cut short by the capture's snaplen: lengths in headers may legitimately
// point past caplen, so that is not a malformation.
inline bool snaplen_cut(const Packet& p) noexcept { return p.caplen < p.wirelen; }

// Mirror encapsulations nested in one frame at most (ERSPAN in VXLAN...); a deeper one is
// decoder.too_many_layers and the packet invalid.
constexpr int kMaxEncapsulationDepth = 3;

// Where a layer sits: the encapsulation decoders' settings, and how many mirror
// encapsulations were taken off before it.
struct Scope {
  const DecoderSettings* settings = nullptr;
  int depth = 0;
};

bool decode_ethernet(Packet& p, DecodeStats& s, uint32_t offset, Scope scope) noexcept;
// Continues after an ethertype at `offset` (VLAN tags, ARP, IPv4, IPv6).
bool decode_ethertype(Packet& p, DecodeStats& s, uint16_t ether_type, uint32_t offset, Scope scope) noexcept;
bool decode_vlan(Packet& p, DecodeStats& s, uint32_t offset, Scope scope) noexcept;
bool decode_arp(Packet& p, DecodeStats& s, uint32_t offset) noexcept;
bool decode_ipv4(Packet& p, DecodeStats& s, uint32_t offset, Scope scope) noexcept;
bool decode_ipv6(Packet& p, DecodeStats& s, uint32_t offset, Scope scope) noexcept;
// Transport layers get [offset, end): the IP payload as the IP header bounds it.
bool decode_tcp(Packet& p, DecodeStats& s, uint32_t offset, uint32_t end) noexcept;
bool decode_udp(Packet& p, DecodeStats& s, uint32_t offset, uint32_t end, Scope scope) noexcept;

// --- mirror encapsulations (gre.cpp, erspan.cpp, vxlan.cpp, geneve.cpp, mirror.cpp) ---
// GRE (RFC 2784/2890, version 0) at `offset`, up to `end`: ERSPAN I/II/III, transparent
// Ethernet bridging, IPv4/IPv6.
bool decode_gre(Packet& p, DecodeStats& s, uint32_t offset, uint32_t end, Scope scope) noexcept;
// ERSPAN after GRE: `type` 1 (no header), 2 (0x88BE with a sequence number) or 3 (0x22EB).
bool decode_erspan(Packet& p, DecodeStats& s, int type, uint32_t offset, uint32_t end, Scope scope) noexcept;
// VXLAN / Geneve in a UDP payload [offset, end). `claimed` is set when the header is one of
// theirs; otherwise the datagram stays plain UDP (as in Suricata) and the return is true.
bool decode_vxlan(Packet& p, DecodeStats& s, uint32_t offset, uint32_t end, Scope scope, bool& claimed) noexcept;
bool decode_geneve(Packet& p, DecodeStats& s, uint32_t offset, uint32_t end, Scope scope, bool& claimed) noexcept;
// Takes one encapsulation off: records `mirror` when it is the outermost one, clears what the
// outer layers set (the packet view is the inner frame's from here) and moves `scope` one level
// deeper. False, counting decoder.too_many_layers, past kMaxEncapsulationDepth.
bool enter_mirror(Packet& p, DecodeStats& s, const MirrorInfo& mirror, Scope& scope) noexcept;
// Ethertypes the inner frame of VXLAN and Geneve may carry (Suricata's list).
inline bool known_inner_ether_type(uint16_t type) noexcept {
  return type == 0x0800 || type == 0x86dd || type == 0x0806 || type == 0x8100 || type == 0x88a8 || type == 0x9100;
}
bool decode_icmpv4(Packet& p, DecodeStats& s, uint32_t offset, uint32_t end) noexcept;
bool decode_icmpv6(Packet& p, DecodeStats& s, uint32_t offset, uint32_t end) noexcept;
// The 8-byte header both ICMP versions share: sets type, code, payload (the data after the
// header, as Suricata uses it) and verifies the checksum over `pseudo_sum` plus the message.
// Returns false, counting `too_small`, when the header does not fit.
bool decode_icmp_header(Packet& p, uint32_t offset, uint32_t end, uint32_t pseudo_sum, uint64_t& too_small,
                        DecodeEvent too_small_event,
                        uint64_t& checksum_bad) noexcept;
// Dispatches on the IP protocol number after the IP header(s).
bool decode_transport(Packet& p, DecodeStats& s, uint8_t protocol, uint32_t offset, uint32_t end,
                      Scope scope) noexcept;

// TCP/UDP/ICMPv6 pseudo-header sum for the packet's addresses.
uint32_t pseudo_header_sum(const Packet& p, uint8_t protocol, uint32_t length) noexcept;

}  // namespace eastwatch::detail

// Decodes a captured frame into the packet view: link layer (Ethernet II, 802.1Q, QinQ,
// Linux SLL, raw IP, BSD null), ARP, IPv4, IPv6 with extension headers, TCP, UDP, ICMP,
// ICMPv6, and the mirror encapsulations (GRE, ERSPAN, VXLAN, Geneve, RSPAN VLANs). One decoder per file in this folder; this header is the only entry point.
//
// Contract: `decode_packet` never reads outside [packet.data, packet.data + caplen), never
// allocates and never throws. A malformed packet gets `decoded = false`, increments
// `stats.invalid` and the matching `event.*` counter; what was decoded before the fault
// stays set. Checksums are verified and counted, never enforced.
#pragma once

#include <cstdint>

#include "config/decoder_settings.hpp"
#include "sensor/decode/decode_stats.hpp"
#include "sensor/decode/packet.hpp"

namespace eastwatch {

// Decodes `packet` (frame fields already set) and updates `stats` (pkts, bytes, per layer).
// Returns packet.decoded. Mirror encapsulations (GRE, ERSPAN I/II/III, VXLAN, Geneve, RSPAN)
// are taken off as `settings` say, up to 3 nested: `packet.mirror` holds the outermost one's
// metadata and the rest of the view describes the inner frame. Without `settings`, the
// defaults (config/eastwatch.yaml's decoder:).
bool decode_packet(Packet& packet, DecodeStats& stats) noexcept;
bool decode_packet(Packet& packet, DecodeStats& stats, const DecoderSettings& settings) noexcept;

}  // namespace eastwatch

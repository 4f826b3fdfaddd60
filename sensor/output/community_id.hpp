// The Community ID flow hash, version 1 (github.com/corelight/community-id-spec), as Suricata
// and Zeek write it: "1:" + base64(SHA-1(seed, the smaller endpoint first, proto, 0, ports)).
// ICMP and ICMPv6 use the type as source port and, for messages with a counterpart (echo,
// timestamp, ...), the counterpart's type as destination port (such pairs are two-way);
// otherwise the code, and the message is one-way (never reordered).
//
// Contract: no allocation; `out` receives the 30-character text (kLength), not terminated.
#pragma once

#include <cstddef>
#include <cstdint>

#include "signatures/address.hpp"

namespace eastwatch {

inline constexpr size_t kCommunityIdLength = 30;  // "1:" + 28 base64 characters

// src/dst as seen on the packet (any direction: the hash orders them); for ICMP, src_port is
// the type and dst_port the code.
size_t community_id(uint16_t seed, const IpAddress& src, const IpAddress& dst, uint8_t proto, uint16_t src_port,
                    uint16_t dst_port, char* out) noexcept;

}  // namespace eastwatch

// Protocol detection by content (Suricata's probing parsers, app-layer-detect-proto.c), on
// the first bytes of a direction: a TCP direction's reassembled stream from offset 0, or
// one UDP payload. Pure functions over the bytes; nothing is kept, nothing allocated.
//
// Contract:
//  - `probe_tcp` answers Match (with the protocol), NeedMore (a prefix of something it knows,
//    call again with more bytes) or NoMatch. The caller stops probing a direction at
//    kProbeDepth bytes (NoMatch) or at a gap.
//  - Ports decide nothing, except for DNS: on port 53 the DNS header check is loose (the
//    structure of a query or a response), elsewhere strict (one question, sane counts, a
//    well-formed first name).
#pragma once

#include <cstdint>
#include <span>

#include "sensor/applayer/app_proto.hpp"

namespace eastwatch {

enum class ProbeVerdict : uint8_t { Match, NeedMore, NoMatch };

struct ProbeResult {
  ProbeVerdict verdict = ProbeVerdict::NoMatch;
  AppProto proto = AppProto::Unknown;
};

inline constexpr uint32_t kProbeDepth = 1024;  // bytes of a direction looked at, at most

// `data` starts at stream offset 0 of one direction; `port` is the flow's server port.
ProbeResult probe_tcp(std::span<const uint8_t> data, bool to_server, uint16_t port) noexcept;

// One UDP payload; `port` is the flow's server port.
ProbeResult probe_udp(std::span<const uint8_t> data, uint16_t port) noexcept;

// The DNS message check (without the 2-byte TCP length prefix); `strict` off port 53.
bool looks_like_dns(std::span<const uint8_t> data, bool strict) noexcept;

}  // namespace eastwatch

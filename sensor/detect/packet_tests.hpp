// Evaluates a rule's packet and flow keywords (flow, dsize, ttl, flags, itype, ...) against a
// decoded packet, with Suricata's semantics. Cheap field compares: run before any content.
#pragma once

#include <span>

#include "sensor/decode/packet.hpp"
#include "sensor/stream/tcp_session.hpp"
#include "signatures/rule.hpp"

namespace eastwatch {

bool packet_tests_match(const PacketTests& tests, const Packet& packet) noexcept;

// `stream_size` on the packet's TCP session (null: the flow has none, no match), as Suricata's
// DetectStreamSizeMatch: next_seq - ISN of the side(s) named. The list form: all must hold.
bool stream_size_matches(const StreamSizeTest& test, const TcpSession* session) noexcept;
bool stream_size_matches(std::span<const StreamSizeTest> tests, const TcpSession* session) noexcept;

}  // namespace eastwatch

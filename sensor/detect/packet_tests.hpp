// Evaluates a rule's packet and flow keywords (flow, dsize, ttl, flags, itype, ...) against a
// decoded packet, with Suricata's semantics. Cheap field compares: run before any content.
#pragma once

#include "sensor/decode/packet.hpp"
#include "signatures/rule.hpp"

namespace eastwatch {

bool packet_tests_match(const PacketTests& tests, const Packet& packet) noexcept;

}  // namespace eastwatch

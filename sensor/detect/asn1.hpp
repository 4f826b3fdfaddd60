// The `asn1` keyword's BER decoder and checks, as Suricata 7 (rust/src/asn1/mod.rs with
// der-parser's BER reader): see the comment at the top of asn1.cpp for the exact rules.
//
// Contract: never allocates or throws; the work is linear in the bytes decoded, the top-level
// elements are capped at kAsn1MaxFrames and the nesting at kAsn1MaxFrames levels (the only
// recursion).
#pragma once

#include <cstdint>
#include <span>

#include "signatures/rule.hpp"

namespace eastwatch {

// Suricata's asn1-max-frames default: at most this many top-level elements and nesting levels.
inline constexpr uint32_t kAsn1MaxFrames = 30;

// Decodes the BER elements of `data` from its start; true when a check of `option` holds on one
// of them (or on an element inside one). Offsets are not applied here.
bool asn1_decode_matches(const Asn1Option& option, std::span<const uint8_t> data) noexcept;

// The keyword: the decoding starts at the option's absolute offset, or at `cursor` (the end of
// the payload section's last match) plus its relative offset; an offset outside [0, 65535] or
// at or past the end of `payload` is no match.
bool asn1_matches(const Asn1Option& option, std::span<const uint8_t> payload, int64_t cursor) noexcept;

}  // namespace eastwatch

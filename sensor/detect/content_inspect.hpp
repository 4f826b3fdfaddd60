// Verifies a buffer section's option chain (content, pcre, isdataat, byte_*, bsize; in rule order) against
// one buffer, with Suricata's semantics (see the comment at the top of content_inspect.cpp).
//
// Contract: never allocates or throws; the work is bounded by `budget` (each search step
// spends one unit; Suricata's inspection-recursion-limit is 3000) and each regex by PCRE2's
// match and depth limits. An exhausted budget or a regex limit is a non-match that the
// caller counts.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "signatures/regex.hpp"
#include "signatures/rule.hpp"

namespace eastwatch {

struct InspectBudget {
  uint32_t remaining = 3000;
  bool exhausted = false;
  uint32_t regex_limits_hit = 0;
};

// `skip_content` is the index of a content known to be present and needing no check
// (fast_pattern:only), or -1. `regex` is the worker's PCRE2 scratch.
bool inspect_section(const BufferSection& section, std::span<const uint8_t> buffer, int skip_content,
                     RegexScratch& regex, InspectBudget& budget) noexcept;

// First occurrence of `pattern` in buffer[start, end), or -1. Case-insensitive for ASCII when nocase.
int64_t find_pattern(const uint8_t* buffer, uint32_t start, uint32_t end, const std::string& pattern,
                     bool nocase) noexcept;

}  // namespace eastwatch

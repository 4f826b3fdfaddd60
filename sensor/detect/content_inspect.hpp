// Verifies a buffer section's content chain against one buffer, with Suricata's semantics
// (see the comment at the top of content_inspect.cpp).
//
// Contract: never allocates or throws; the work is bounded by `budget` (each search step
// spends one unit; Suricata's inspection-recursion-limit is 3000), and an exhausted budget
// is a non-match that the caller counts.
#pragma once

#include <cstdint>
#include <span>

#include "signatures/rule.hpp"

namespace eastwatch {

struct InspectBudget {
  uint32_t remaining = 3000;
  bool exhausted = false;
};

// `skip` is the index of a content known to be present and needing no check
// (fast_pattern:only), or -1.
bool inspect_contents(std::span<const ContentOption> contents, std::span<const uint8_t> buffer, int skip,
                      InspectBudget& budget) noexcept;

// First occurrence of `pattern` in buffer[start, end), or -1. Case-insensitive for ASCII when nocase.
int64_t find_pattern(const uint8_t* buffer, uint32_t start, uint32_t end, const std::string& pattern,
                     bool nocase) noexcept;

}  // namespace eastwatch

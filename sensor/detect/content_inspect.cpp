// Content inspection, as Suricata 7 does it (detect-engine-content-inspection.c):
//
//  - Absolute content: searched in [offset, offset + depth) of the buffer; depth counts from
//    offset (Suricata adds the offset to the depth). No offset: from 0; no depth: to the end.
//  - Relative content (distance and/or within): relative to the end of the previous
//    matching content of the section ("prev_end"; 0 for the first content): the window is
//    [prev_end + distance, prev_end + distance + within). A negative distance may reach
//    before prev_end (clamped at 0).
//  - When a content matched and the next content is relative to it, and the rest of the
//    chain then fails, the content is searched again from one byte after its last match
//    start (backtracking), keeping its own window. A failure of a content that is not
//    relative ends the inspection: no other occurrence can help.
//  - Negated content (`!`): the signature fails if the pattern occurs in its window; it
//    does not move prev_end. A negated content found is final unless it is relative
//    (then the previous content may try its next occurrence).
//  - nocase: ASCII case-insensitive comparison. rawbytes: no effect on the payload buffer.
//  - startswith: offset 0, depth = the content length (set by the parser). endswith: the match
//    must end exactly at the end of the buffer, within the window its other modifiers give.
#include "sensor/detect/content_inspect.hpp"

#include <algorithm>
#include <cstring>

namespace eastwatch {

namespace {

inline uint8_t fold(uint8_t c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c + 32) : c; }

enum class Result { Match, NoMatch, Discontinue };

struct Window {
  int64_t start;
  int64_t end;
};

Window window_for(const ContentOption& c, int64_t prev_end, int64_t length) noexcept {
  Window w{0, length};
  if (c.is_relative()) {
    const int64_t distance = c.distance.value_or(0);
    w.start = std::max<int64_t>(0, prev_end + distance);
    if (c.within) w.end = std::min<int64_t>(length, prev_end + distance + *c.within);
  } else {
    w.start = c.offset.value_or(0);
    if (c.depth) w.end = std::min<int64_t>(length, w.start + *c.depth);
  }
  if (c.endswith) {
    // The match must end exactly at the end of the buffer: only one start position is left.
    const int64_t last_start = length - static_cast<int64_t>(c.pattern.size());
    if (w.end < length || last_start < w.start) return Window{1, 0};  // empty window
    w.start = last_start;
  }
  return w;
}

Result inspect_from(std::span<const ContentOption> contents, size_t index, const uint8_t* buffer, int64_t length,
                    int64_t prev_end, int skip, InspectBudget& budget) noexcept {
  for (; index < contents.size(); ++index) {
    if (static_cast<int>(index) == skip) continue;
    if (budget.remaining == 0) {
      budget.exhausted = true;
      return Result::Discontinue;
    }
    --budget.remaining;
    const ContentOption& content = contents[index];
    const int64_t pattern_length = static_cast<int64_t>(content.pattern.size());
    const Window window = window_for(content, prev_end, length);

    if (content.negated) {
      const bool found = window.end - window.start >= pattern_length &&
                         find_pattern(buffer, static_cast<uint32_t>(window.start), static_cast<uint32_t>(window.end),
                                      content.pattern, content.nocase) >= 0;
      if (found) return content.is_relative() ? Result::NoMatch : Result::Discontinue;
      continue;
    }

    const bool next_is_relative = index + 1 < contents.size() && contents[index + 1].is_relative();
    int64_t search_from = window.start;
    while (true) {
      const int64_t at = window.end - search_from >= pattern_length
                             ? find_pattern(buffer, static_cast<uint32_t>(search_from),
                                            static_cast<uint32_t>(window.end), content.pattern, content.nocase)
                             : -1;
      if (at < 0) return content.is_relative() ? Result::NoMatch : Result::Discontinue;
      if (!next_is_relative) {
        prev_end = at + pattern_length;
        break;  // later contents are independent of where this one matched
      }
      const Result rest = inspect_from(contents, index + 1, buffer, length, at + pattern_length, skip, budget);
      if (rest != Result::NoMatch) return rest;
      if (budget.remaining == 0) {
        budget.exhausted = true;
        return Result::Discontinue;
      }
      --budget.remaining;
      search_from = at + 1;  // backtrack: the next occurrence of this content
    }
  }
  return Result::Match;
}

}  // namespace

int64_t find_pattern(const uint8_t* buffer, uint32_t start, uint32_t end, const std::string& pattern,
                     bool nocase) noexcept {
  const auto* needle = reinterpret_cast<const uint8_t*>(pattern.data());
  const size_t n = pattern.size();
  if (n == 0 || end < start || end - start < n) return -1;
  const uint8_t* last = buffer + end - n;
  if (!nocase) {
    for (const uint8_t* p = buffer + start; p <= last;) {
      p = static_cast<const uint8_t*>(std::memchr(p, needle[0], static_cast<size_t>(last - p) + 1));
      if (p == nullptr) return -1;
      if (std::memcmp(p + 1, needle + 1, n - 1) == 0) return p - buffer;
      ++p;
    }
    return -1;
  }
  const uint8_t first = fold(needle[0]);
  for (const uint8_t* p = buffer + start; p <= last; ++p) {
    if (fold(*p) != first) continue;
    size_t i = 1;
    while (i < n && fold(p[i]) == fold(needle[i])) ++i;
    if (i == n) return p - buffer;
  }
  return -1;
}

bool inspect_contents(std::span<const ContentOption> contents, std::span<const uint8_t> buffer, int skip,
                      InspectBudget& budget) noexcept {
  return inspect_from(contents, 0, buffer.data(), static_cast<int64_t>(buffer.size()), 0, skip, budget) ==
         Result::Match;
}

}  // namespace eastwatch

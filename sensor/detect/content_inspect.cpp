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
//  - pcre: searched from the start of the buffer, or with R from prev_end (the regex sees the
//    buffer from there, so ^ anchors at prev_end); its match end becomes prev_end. A negated
//    pcre fails the signature when it matches. Regexes backtrack like contents.
//  - isdataat: absolute holds when offset < buffer length; relative when prev_end + offset <=
//    buffer length (Suricata's exact comparisons); `!` negates.
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

struct Chain {
  const BufferSection& section;
  const uint8_t* buffer;
  int64_t length;
  int skip_content;
  RegexScratch& regex;
  InspectBudget& budget;
};

bool step_is_relative(const BufferSection& section, const ChainStep& step) noexcept {
  switch (step.kind) {
    case ChainStep::Kind::Content: return section.contents[step.index].is_relative();
    case ChainStep::Kind::Pcre: return section.pcres[step.index].relative;
    case ChainStep::Kind::IsDataAt: return section.isdataats[step.index].relative;
  }
  return false;
}

bool spend(InspectBudget& budget) noexcept {
  if (budget.remaining == 0) {
    budget.exhausted = true;
    return false;
  }
  --budget.remaining;
  return true;
}

Result inspect_from(const Chain& chain, size_t index, int64_t prev_end) noexcept;

// A positive content or regex matched at [at, end): continue with the rest of the chain, and
// backtrack to the step's next occurrence if the rest depends on this position and fails.
template <class NextMatch>
Result continue_after(const Chain& chain, size_t index, bool relative, int64_t& prev_end, NextMatch next_match) noexcept {
  const auto& steps = chain.section.steps;
  const bool next_is_relative = index + 1 < steps.size() && step_is_relative(chain.section, steps[index + 1]);
  int64_t at = 0;
  int64_t end = 0;
  int64_t search_from = -1;
  while (true) {
    if (!next_match(search_from, at, end)) return relative ? Result::NoMatch : Result::Discontinue;
    if (!next_is_relative) {
      prev_end = end;
      return Result::Match;  // later steps do not depend on where this one matched
    }
    const Result rest = inspect_from(chain, index + 1, end);
    if (rest != Result::NoMatch) return rest == Result::Match ? Result::Match : rest;
    if (!spend(chain.budget)) return Result::Discontinue;
    search_from = at + 1;  // backtrack: the next occurrence of this step
  }
}

Result inspect_from(const Chain& chain, size_t index, int64_t prev_end) noexcept {
  const BufferSection& section = chain.section;
  const int64_t length = chain.length;
  for (; index < section.steps.size(); ++index) {
    const ChainStep& step = section.steps[index];
    if (step.kind == ChainStep::Kind::Content && static_cast<int>(step.index) == chain.skip_content) continue;
    if (!spend(chain.budget)) return Result::Discontinue;

    if (step.kind == ChainStep::Kind::IsDataAt) {
      // Suricata: absolute holds when offset < length; relative when prev_end + offset <= length.
      const IsDataAtOption& d = section.isdataats[step.index];
      const bool present = d.relative ? prev_end + d.offset <= length : d.offset < length;
      if (present == d.negated) return d.relative ? Result::NoMatch : Result::Discontinue;
      continue;
    }

    if (step.kind == ChainStep::Kind::Pcre) {
      const PcreOption& pcre = section.pcres[step.index];
      const int64_t base = pcre.relative ? prev_end : 0;
      auto search = [&](int64_t from, int64_t& at, int64_t& end) {
        const int64_t begin = from < 0 ? base : from;
        if (begin > length) return false;
        size_t s = 0, e = 0;
        const auto rc = chain.regex.search(*pcre.regex, chain.buffer + begin, static_cast<size_t>(length - begin), s, e);
        if (rc == RegexScratch::Result::LimitHit) ++chain.budget.regex_limits_hit;
        if (rc != RegexScratch::Result::Match) return false;
        at = begin + static_cast<int64_t>(s);
        end = begin + static_cast<int64_t>(e);
        return true;
      };
      if (pcre.negated) {
        int64_t at = 0, end = 0;
        if (search(-1, at, end)) return pcre.relative ? Result::NoMatch : Result::Discontinue;
        continue;
      }
      const Result r = continue_after(chain, index, pcre.relative, prev_end, search);
      if (r != Result::Match) return r;
      if (index + 1 < section.steps.size() && step_is_relative(section, section.steps[index + 1])) return r;
      continue;
    }

    const ContentOption& content = section.contents[step.index];
    const int64_t pattern_length = static_cast<int64_t>(content.pattern.size());
    const Window window = window_for(content, prev_end, length);
    auto search = [&](int64_t from, int64_t& at, int64_t& end) {
      const int64_t begin = from < 0 ? window.start : from;
      if (window.end - begin < pattern_length) return false;
      at = find_pattern(chain.buffer, static_cast<uint32_t>(begin), static_cast<uint32_t>(window.end), content.pattern,
                        content.nocase);
      end = at + pattern_length;
      return at >= 0;
    };
    if (content.negated) {
      int64_t at = 0, end = 0;
      if (search(-1, at, end)) return content.is_relative() ? Result::NoMatch : Result::Discontinue;
      continue;
    }
    const Result r = continue_after(chain, index, content.is_relative(), prev_end, search);
    if (r != Result::Match) return r;
    // When the next step was relative, continue_after already inspected the rest of the chain.
    if (index + 1 < section.steps.size() && step_is_relative(section, section.steps[index + 1])) return r;
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

bool inspect_section(const BufferSection& section, std::span<const uint8_t> buffer, int skip_content,
                     RegexScratch& regex, InspectBudget& budget) noexcept {
  const Chain chain{section, buffer.data(), static_cast<int64_t>(buffer.size()), skip_content, regex, budget};
  return inspect_from(chain, 0, 0) == Result::Match;
}

}  // namespace eastwatch

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
//  - byte_test reads a number (binary big/little endian, or ASCII with `string`) at offset (from
//    prev_end with `relative`), masks it, and compares it; it does not move prev_end.
//    byte_jump reads a number, multiplies and aligns it, and moves prev_end to: the end of the
//    number (or the buffer start with from_beginning, its end with from_end) + the value +
//    post_offset; a target outside the buffer fails.
//  - byte_extract reads a number like byte_test (`string` reads the digits there are, up to
//    `bytes`), multiplies and aligns it, stores it in its variable and moves prev_end past the
//    bytes read (detect-byte-extract.c). byte_math reads a number, applies `oper rvalue` (a
//    division by zero is a non-match) and then its bitmask, stores the result and moves prev_end
//    the same way (detect-bytemath.c). Variables live in a fixed array on the stack, per
//    inspection; backtracking re-runs the steps after the backtracking one, which rewrites them.
//    A variable in place of a number: offset/depth/within/isdataat/byte_test/byte_jump take it
//    as an unsigned 32-bit value, distance as a signed one (Suricata's casts); an isdataat
//    variable of 100000000 or more never has data there.
//  - bsize: the buffer length against the test; a failure is final (the buffer is complete).
//  - asn1 (payload section, its steps last): BER checks from an absolute offset or from prev_end
//    (asn1.cpp); a failure is final, as Suricata runs it once after the payload inspection.
//  - byte_test with 0 bytes and `string`: the number runs to the end of the buffer (strtoull).
//  - nocase: ASCII case-insensitive comparison. rawbytes: no effect on the payload buffer.
//  - startswith: offset 0, depth = the content length (set by the parser). endswith: the match
//    must end exactly at the end of the buffer, within the window its other modifiers give.
#include "sensor/detect/content_inspect.hpp"

#include "sensor/detect/asn1.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace eastwatch {

namespace {

inline uint8_t fold(uint8_t c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c + 32) : c; }

enum class Result { Match, NoMatch, Discontinue };

struct Window {
  int64_t start;
  int64_t end;
};

// A modifier's value: the constant, or its variable as an unsigned 32-bit number.
inline int64_t modifier(int8_t var, std::optional<int32_t> constant, const uint64_t* values) noexcept {
  return var < 0 ? constant.value_or(0) : static_cast<int64_t>(static_cast<uint32_t>(values[var]));
}

Window window_for(const ContentOption& c, int64_t prev_end, int64_t length, const uint64_t* values) noexcept {
  Window w{0, length};
  if (c.is_relative()) {
    const int64_t distance = c.distance_var < 0 ? c.distance.value_or(0)
                                                : static_cast<int32_t>(static_cast<uint32_t>(values[c.distance_var]));
    w.start = std::max<int64_t>(0, prev_end + distance);
    if (c.within) w.end = std::min<int64_t>(length, prev_end + distance + modifier(c.within_var, c.within, values));
  } else {
    w.start = modifier(c.offset_var, c.offset, values);
    if (c.depth) w.end = std::min<int64_t>(length, w.start + modifier(c.depth_var, c.depth, values));
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
  uint64_t* values;  // byte_extract/byte_math variables, kMaxByteVariables of them
};

bool step_is_relative(const BufferSection& section, const ChainStep& step) noexcept {
  switch (step.kind) {
    case ChainStep::Kind::Content: return section.contents[step.index].is_relative();
    case ChainStep::Kind::Pcre: return section.pcres[step.index].relative;
    case ChainStep::Kind::IsDataAt: return section.isdataats[step.index].relative;
    case ChainStep::Kind::ByteTest: return section.byte_tests[step.index].read.relative;
    case ChainStep::Kind::ByteJump: return section.byte_jumps[step.index].read.relative;
    case ChainStep::Kind::ByteExtract: return section.byte_extracts[step.index].read.relative;
    case ChainStep::Kind::ByteMath: return section.byte_maths[step.index].read.relative;
    case ChainStep::Kind::Bsize: return false;
    case ChainStep::Kind::Asn1: return section.asn1s[step.index].relative;
  }
  return false;
}

// Reads the number a byte_* option names at `at`; false when it does not fit in the buffer or
// (as a string) has no digits. `consumed`: the bytes read (a string: its digits).
// byte_test with 0 bytes and `string` (Suricata 7: strtoull over the rest of the buffer, not
// bounded to a length): optional leading white space and sign ('-' negates modulo 2^64), a "0x"
// prefix in base 16, then every digit up to the first non-digit or the buffer end. No digit or a
// value over 2^64-1 (ERANGE) is no number.
bool read_string_to_end(const uint8_t* p, const uint8_t* end, unsigned base, uint64_t& out) noexcept {
  while (p < end && (*p == ' ' || (*p >= '\t' && *p <= '\r'))) ++p;
  bool negative = false;
  if (p < end && (*p == '+' || *p == '-')) negative = *p++ == '-';
  if (base == 16 && end - p >= 3 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && std::isxdigit(p[2])) p += 2;
  uint64_t value = 0;
  bool digits = false, overflow = false;
  for (; p < end; ++p) {
    int digit = -1;
    if (*p >= '0' && *p <= '9') digit = *p - '0';
    else if (*p >= 'a' && *p <= 'z') digit = *p - 'a' + 10;
    else if (*p >= 'A' && *p <= 'Z') digit = *p - 'A' + 10;
    if (digit < 0 || digit >= static_cast<int>(base)) break;
    digits = true;
    if (value > (UINT64_MAX - static_cast<uint64_t>(digit)) / base) overflow = true;
    value = value * base + static_cast<uint64_t>(digit);
  }
  if (!digits || overflow) return false;
  out = negative ? 0 - value : value;
  return true;
}

bool read_number(const uint8_t* buffer, int64_t length, int64_t at, const ByteRead& read, uint64_t& out,
                 uint32_t* consumed = nullptr) noexcept {
  if (read.bytes == 0 && read.string_base != 0) {  // byte_test:0,...,string: to the end of the buffer
    if (at < 0 || at > length || !read_string_to_end(buffer + at, buffer + length, read.string_base, out)) return false;
    if (read.bitmask != 0) {
      out &= read.bitmask;
      out >>= __builtin_ctzll(read.bitmask);
    }
    return true;
  }
  if (at < 0 || at + read.bytes > length) return false;
  const uint8_t* p = buffer + at;
  uint64_t value = 0;
  if (read.string_base == 0) {
    for (uint8_t i = 0; i < read.bytes; ++i) {
      const uint8_t byte = read.little_endian ? p[read.bytes - 1 - i] : p[i];
      value = (value << 8) | byte;
    }
    if (consumed) *consumed = read.bytes;
  } else {
    uint8_t digits = 0;
    for (uint8_t i = 0; i < read.bytes; ++i) {
      const char c = static_cast<char>(p[i]);
      int digit = -1;
      if (c >= '0' && c <= '9') digit = c - '0';
      if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
      if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
      if (digit < 0 || digit >= read.string_base) break;
      value = value * read.string_base + static_cast<uint64_t>(digit);
      ++digits;
    }
    if (digits == 0) return false;
    if (consumed) *consumed = digits;
  }
  if (read.bitmask != 0) {
    value &= read.bitmask;
    value >>= __builtin_ctzll(read.bitmask);
  }
  out = value;
  return true;
}

bool byte_test_holds(const ByteTestOption& test, uint64_t value, uint64_t compare) noexcept {
  bool match = false;
  switch (test.op) {
    case ByteTestOption::Op::Less: match = value < compare; break;
    case ByteTestOption::Op::Greater: match = value > compare; break;
    case ByteTestOption::Op::Equal: match = value == compare; break;
    case ByteTestOption::Op::LessEqual: match = value <= compare; break;
    case ByteTestOption::Op::GreaterEqual: match = value >= compare; break;
    case ByteTestOption::Op::And: match = (value & compare) != 0; break;
    case ByteTestOption::Op::Xor: match = (value ^ compare) != 0; break;
  }
  return match != test.negated;
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

// Where a byte_extract/byte_math reads: from prev_end with `relative` (Suricata wants at least
// one byte left there), else from the buffer start; -1 when there is nothing to read.
int64_t read_position(const ByteRead& read, int64_t prev_end, int64_t length) noexcept {
  const int64_t at = (read.relative ? prev_end : 0) + read.offset;
  if (read.relative && length - at <= 0) return -1;
  return at < 0 ? -1 : at;
}

// byte_math's operation; false for a division by zero.
bool byte_math_apply(const ByteMathOption& math, uint64_t rvalue, uint64_t& value) noexcept {
  switch (math.op) {
    case ByteMathOption::Op::Add: value += rvalue; break;
    case ByteMathOption::Op::Subtract: value -= rvalue; break;
    case ByteMathOption::Op::Multiply: value *= rvalue; break;
    case ByteMathOption::Op::Divide:
      if (rvalue == 0) return false;
      value /= rvalue;
      break;
    case ByteMathOption::Op::LeftShift: value = rvalue >= 64 ? 0 : value << rvalue; break;
    case ByteMathOption::Op::RightShift: value = rvalue >= 64 ? 0 : value >> rvalue; break;
  }
  if (math.bitmask != 0) {
    value &= math.bitmask;
    if (value != 0) value >>= __builtin_ctz(math.bitmask);
  }
  return true;
}

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
      int64_t offset = d.offset;
      if (d.offset_var >= 0) {
        const uint64_t value = chain.values[d.offset_var];
        offset = value >= 100000000 ? length + 1 : static_cast<int64_t>(value);
      }
      const bool present = d.relative ? prev_end + offset <= length : offset < length;
      if (present == d.negated) return d.relative || d.offset_var >= 0 ? Result::NoMatch : Result::Discontinue;
      continue;
    }

    if (step.kind == ChainStep::Kind::ByteTest) {
      // byte_test checks a number; it does not move prev_end (as in Suricata).
      const ByteTestOption& test = section.byte_tests[step.index];
      const int64_t offset = test.read.offset_var < 0
                                 ? test.read.offset
                                 : static_cast<int32_t>(static_cast<uint32_t>(chain.values[test.read.offset_var]));
      const int64_t at = (test.read.relative ? prev_end : 0) + offset;
      const uint64_t compare = test.value_var < 0 ? test.value : chain.values[test.value_var];
      uint64_t value = 0;
      if (!read_number(chain.buffer, length, at, test.read, value) || !byte_test_holds(test, value, compare)) {
        const bool depends = test.read.relative || test.read.offset_var >= 0 || test.value_var >= 0;
        return depends ? Result::NoMatch : Result::Discontinue;
      }
      continue;
    }

    if (step.kind == ChainStep::Kind::ByteExtract || step.kind == ChainStep::Kind::ByteMath) {
      const bool extract = step.kind == ChainStep::Kind::ByteExtract;
      const ByteExtractOption* e = extract ? &section.byte_extracts[step.index] : nullptr;
      const ByteMathOption* m = extract ? nullptr : &section.byte_maths[step.index];
      const ByteRead& read = extract ? e->read : m->read;
      const bool depends = read.relative || (m != nullptr && m->rvalue_var >= 0);
      const int64_t at = read_position(read, prev_end, length);
      uint64_t value = 0;
      uint32_t consumed = 0;
      if (at < 0 || !read_number(chain.buffer, length, at, read, value, &consumed)) {
        return depends ? Result::NoMatch : Result::Discontinue;
      }
      if (extract) {
        value *= e->multiplier;
        if (e->align != 0 && value % e->align != 0) value += e->align - value % e->align;
        chain.values[e->slot] = value;
      } else {
        const uint64_t rvalue = m->rvalue_var < 0 ? m->rvalue : chain.values[m->rvalue_var];
        if (!byte_math_apply(*m, rvalue, value)) return depends ? Result::NoMatch : Result::Discontinue;
        chain.values[m->slot] = value;
      }
      prev_end = at + consumed;
      continue;
    }

    if (step.kind == ChainStep::Kind::Asn1) {
      // Suricata runs asn1 once, after the payload inspection matched, from the cursor it left:
      // a failure is final (no other occurrence of an earlier content is tried for it).
      if (!asn1_matches(section.asn1s[step.index], std::span<const uint8_t>(chain.buffer, static_cast<size_t>(length)),
                        prev_end)) {
        return Result::Discontinue;
      }
      continue;
    }

    if (step.kind == ChainStep::Kind::Bsize) {
      if (!section.bsizes[step.index].matches(static_cast<uint64_t>(length))) return Result::Discontinue;
      continue;
    }

    if (step.kind == ChainStep::Kind::ByteJump) {
      const ByteJumpOption& jump = section.byte_jumps[step.index];
      const int64_t offset = jump.read.offset_var < 0
                                 ? jump.read.offset
                                 : static_cast<int32_t>(static_cast<uint32_t>(chain.values[jump.read.offset_var]));
      const int64_t at = (jump.read.relative ? prev_end : 0) + offset;
      uint64_t value = 0;
      const bool fail_hard = !jump.read.relative && jump.read.offset_var < 0;
      if (!read_number(chain.buffer, length, at, jump.read, value) || value > (uint64_t{1} << 40)) {
        return fail_hard ? Result::Discontinue : Result::NoMatch;
      }
      int64_t distance = static_cast<int64_t>(value) * jump.multiplier;
      if (jump.align) distance = (distance + 3) & ~int64_t{3};
      const int64_t origin = jump.from_beginning ? 0 : jump.from_end ? length : at + jump.read.bytes;
      const int64_t target = origin + distance + jump.post_offset;
      if (target < 0 || target > length) return fail_hard ? Result::Discontinue : Result::NoMatch;
      prev_end = target;
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
    const Window window = window_for(content, prev_end, length, chain.values);
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
  uint64_t values[kMaxByteVariables] = {};
  const Chain chain{section, buffer.data(), static_cast<int64_t>(buffer.size()), skip_content, regex, budget, values};
  return inspect_from(chain, 0, 0) == Result::Match;
}

}  // namespace eastwatch

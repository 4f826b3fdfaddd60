// The asn1 keyword, as Suricata 7 does it (rust/src/asn1/mod.rs, decoding with der-parser's
// parse_ber_recursive; detect-asn1.c):
//
//  - Offset: absolute_offset, or the payload section's cursor (where its last match ended;
//    a negated content does not move it) + relative_offset; outside [0, 65535] or at or past the
//    end of the payload (Suricata hands the payload over as at most 65535 bytes) is no match.
//  - From there, top-level elements are decoded one after the other until the data ends or one
//    is malformed (that one and the rest are ignored; the ones before still count). Once
//    kAsn1MaxFrames (30) elements are decoded and data is left, the whole decoding fails: no
//    match, even if an earlier element matched (Suricata's MaxFrames error).
//  - An element is identifier octets (a tag number over at most 5 more octets), length octets
//    (short, long of at most 8 significant octets, 0x80 indefinite, 0xFF refused, above
//    2^32-1 refused) and content, which must be there in full (truncated = malformed).
//  - Universal and private classes are decoded by tag number as der-parser does: SEQUENCE and
//    SET must be constructed and hold elements one level deeper (definite length: elements until
//    one fails, the rest of the content ignored; indefinite: elements until an end-of-contents
//    (tag number 0, length 0), any malformed one failing the SEQUENCE); BOOLEAN has length 1,
//    NULL 0, BIT STRING at least 1, OBJECT IDENTIFIER at least 1 and its last octet < 0x80,
//    ENUMERATED 1 to 8; INTEGER, the strings and the identifiers must be primitive (BOOLEAN and
//    the times need not); UTF8String must be UTF-8, NumericString digits and space,
//    PrintableString its X.680 set, IA5String ASCII, VisibleString and the times 0x20-0x7f;
//    every one but SEQUENCE and SET of definite length. Other tag numbers (REAL, EXTERNAL,
//    EMBEDDED PDV, ...) and the application and context-specific classes are kept as raw
//    content (an indefinite one skipped element by element to its end-of-contents), never
//    descended into.
//  - Nesting: kAsn1MaxFrames levels (the top level is the first); a deeper element is malformed.
//  - Checks, on every element decoded (a match inside an element that ends up malformed does not
//    count): oversize_length N: a definite length > N, or raw content longer than N;
//    bitstring_overflow: a universal primitive BIT STRING whose first content octet (the unused
//    bits) is > 8 * its length; double_overflow: a universal primitive REAL whose first content
//    octet has its two high bits clear (decimal encoding) and whose length is > 256.
//  - Difference: der-parser's header length of an indefinite element is not a number; it counts
//    as 0 here (only raw content decides its oversize).
#include "sensor/detect/asn1.hpp"

#include <algorithm>

namespace eastwatch {

namespace {

constexpr uint64_t kMaxObjectSize = 4294967295;

enum : uint8_t { kUniversal = 0, kApplication = 1, kContext = 2, kPrivate = 3 };

struct Header {
  uint8_t cls = kUniversal;
  bool constructed = false;
  uint32_t tag = 0;
  bool indefinite = false;
  uint64_t length = 0;  // definite lengths only
};

struct Input {
  const uint8_t* data;
  size_t end;  // decoding stops here (a definite SEQUENCE's content end, or the data's end)
};

bool read_header(const Input& in, size_t& pos, Header& h) noexcept {
  if (pos >= in.end) return false;
  const size_t start = pos;
  const uint8_t first = in.data[start];
  h.cls = static_cast<uint8_t>(first >> 6);
  h.constructed = (first & 0x20) != 0;
  h.tag = first & 0x1f;
  size_t count = 1;
  if (h.tag == 0x1f) {
    h.tag = 0;
    while (true) {
      if (count >= in.end - start || count > 5) return false;
      const uint8_t octet = in.data[start + count];
      h.tag = (h.tag << 7) | (octet & 0x7f);  // wraps in 32 bits, as der-parser's u32
      ++count;
      if ((octet & 0x80) == 0) break;
    }
  }
  size_t p = start + count;
  if (p >= in.end) return false;
  const uint8_t length = in.data[p++];
  h.indefinite = false;
  h.length = length;
  if ((length & 0x80) != 0) {
    const size_t octets = length & 0x7f;
    if (octets == 0) {
      h.indefinite = true;
      h.length = 0;
    } else {
      if (octets == 0x7f || in.end - p < octets) return false;
      uint64_t value = 0;
      for (size_t i = 0; i < octets; ++i) {
        if ((value & 0xff00000000000000ULL) != 0) return false;
        value = (value << 8) | in.data[p + i];
      }
      p += octets;
      h.length = value;
    }
  }
  pos = p;
  return true;
}

// der-parser's skip of raw content: definite, its length; indefinite, elements (one level
// deeper each) until an end-of-contents. `eoc`: the element was itself an end-of-contents.
bool skip_content(const Input& in, size_t& pos, const Header& h, uint32_t depth, bool& eoc) noexcept {
  eoc = false;
  if (depth == 0) return false;
  if (!h.indefinite) {
    if (h.length == 0 && h.tag == 0) {
      eoc = true;
      return true;
    }
    if (in.end - pos < h.length) return false;
    pos += static_cast<size_t>(h.length);
    return true;
  }
  while (true) {  // every element takes at least two bytes
    Header child;
    if (!read_header(in, pos, child)) return false;
    bool child_eoc = false;
    if (!skip_content(in, pos, child, depth - 1, child_eoc)) return false;
    if (child_eoc) return true;
  }
}

// Rust's str::from_utf8: well-formed UTF-8 (no overlong form, no surrogate, at most U+10FFFF).
bool valid_utf8(const uint8_t* p, size_t n) noexcept {
  size_t i = 0;
  while (i < n) {
    const uint8_t c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra = 0;
    uint8_t low = 0x80, high = 0xbf;  // the allowed range of the second octet
    if (c >= 0xc2 && c <= 0xdf) {
      extra = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      extra = 2;
      if (c == 0xe0) low = 0xa0;
      if (c == 0xed) high = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
      if (c == 0xf0) low = 0x90;
      if (c == 0xf4) high = 0x8f;
    } else {
      return false;
    }
    if (n - i <= extra) return false;
    if (p[i + 1] < low || p[i + 1] > high) return false;
    for (size_t k = 2; k <= extra; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return false;
    }
    i += extra + 1;
  }
  return true;
}

template <class Allowed>
bool all_of(const uint8_t* p, size_t n, Allowed allowed) noexcept {
  return std::all_of(p, p + n, allowed);
}

bool printable(uint8_t c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case ' ': case '\'': case '(': case ')': case '+': case ',': case '-': case '.': case '/': case ':': case '=':
    case '?': return true;
    default: return false;
  }
}

bool visible(uint8_t c) noexcept { return c >= 0x20 && c <= 0x7f; }

// Tag numbers der-parser decodes (others are raw content).
bool typed(uint32_t tag) noexcept {
  switch (tag) {
    case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 10: case 12: case 13: case 16: case 17:
    case 18: case 19: case 20: case 21: case 22: case 23: case 24: case 25: case 26: case 27: case 28: case 30:
      return true;
    default: return false;
  }
}

// A primitive universal/private element's content: false where der-parser refuses it.
bool primitive_valid(const Header& h, const uint8_t* c, size_t len) noexcept {
  if (h.indefinite) return false;
  const bool primitive = !h.constructed;
  switch (h.tag) {
    case 0: return len == 0;
    case 1: return len == 1;
    case 3: return primitive && len >= 1;
    case 5: return primitive && len == 0;
    case 6: case 13: return primitive && len >= 1 && (c[len - 1] & 0x80) == 0;
    case 10: return primitive && len >= 1 && len <= 8;
    case 12: return primitive && valid_utf8(c, len);
    case 18: return primitive && all_of(c, len, [](uint8_t b) { return (b >= '0' && b <= '9') || b == ' '; });
    case 19: return primitive && all_of(c, len, printable);
    case 22: return primitive && all_of(c, len, [](uint8_t b) { return b < 0x80; });
    case 23: case 24: return all_of(c, len, visible);
    case 26: return primitive && all_of(c, len, visible);
    default: return primitive;  // INTEGER, OCTET STRING, ObjectDescriptor, the other strings
  }
}

bool oversize(const Asn1Option& o, const Header& h, size_t raw_length) noexcept {
  return o.oversize && ((!h.indefinite && h.length > o.oversize_length) || raw_length > o.oversize_length);
}

bool decode_element(const Input& in, const Asn1Option& o, size_t& pos, uint32_t depth, bool& matched) noexcept {
  matched = false;
  if (depth == 0) return false;
  Header h;
  size_t p = pos;
  if (!read_header(in, p, h)) return false;
  if (!h.indefinite && (h.length > kMaxObjectSize || in.end - p < h.length)) return false;
  const size_t content = p;
  const uint8_t* c = in.data + content;

  if (h.cls == kApplication || h.cls == kContext || !typed(h.tag)) {
    bool eoc = false;
    if (!skip_content(in, p, h, depth, eoc)) return false;
    const size_t raw = p - content;
    // REAL: der-parser keeps it raw; Suricata's check reads that content.
    const bool real = o.double_overflow && h.cls == kUniversal && h.tag == 9 && !h.constructed && raw > 0 &&
                      (c[0] & 0xc0) == 0 && ((!h.indefinite && h.length > 256) || raw > 256);
    matched = oversize(o, h, raw) || real;
    pos = p;
    return true;
  }

  if (h.tag == 16 || h.tag == 17) {  // SEQUENCE, SET
    if (!h.constructed) return false;
    bool inner = false;
    if (!h.indefinite) {
      const Input part{in.data, content + static_cast<size_t>(h.length)};
      size_t q = content;
      bool m = false;
      while (decode_element(part, o, q, depth - 1, m)) inner = inner || m;  // each takes >= 2 bytes
      pos = part.end;
    } else {
      size_t q = content;
      while (true) {
        Header end;
        size_t r = q;
        if (read_header(in, r, end) && end.tag == 0 && !end.indefinite && end.length == 0) {
          q = r;
          break;
        }
        bool m = false;
        if (!decode_element(in, o, q, depth - 1, m)) return false;
        inner = inner || m;
      }
      pos = q;
    }
    matched = inner || oversize(o, h, 0);
    return true;
  }

  const size_t len = static_cast<size_t>(h.length);
  if (!primitive_valid(h, c, len)) return false;
  const bool bits = o.bitstring_overflow && h.cls == kUniversal && h.tag == 3 && !h.constructed &&
                    static_cast<uint64_t>(c[0]) > h.length * 8;
  matched = oversize(o, h, 0) || bits;
  pos = content + len;
  return true;
}

}  // namespace

bool asn1_decode_matches(const Asn1Option& option, std::span<const uint8_t> data) noexcept {
  const Input in{data.data(), data.size()};
  size_t pos = 0;
  uint32_t frames = 0;
  bool matched = false;
  while (pos < in.end) {
    if (frames >= kAsn1MaxFrames) return false;  // Suricata: MaxFrames, the decoding fails
    bool m = false;
    if (!decode_element(in, option, pos, kAsn1MaxFrames, m)) break;
    ++frames;
    matched = matched || m;
  }
  return matched;
}

bool asn1_matches(const Asn1Option& option, std::span<const uint8_t> payload, int64_t cursor) noexcept {
  const size_t length = std::min<size_t>(payload.size(), 65535);
  int64_t offset = option.offset;
  if (option.relative) {
    offset = cursor + option.offset;
    if (offset < 0 || offset > 65535) return false;
  }
  if (offset >= static_cast<int64_t>(length)) return false;
  return asn1_decode_matches(option, payload.subspan(static_cast<size_t>(offset), length - static_cast<size_t>(offset)));
}

}  // namespace eastwatch

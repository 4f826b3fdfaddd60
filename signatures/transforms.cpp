#include "signatures/transforms.hpp"

#include <algorithm>
#include <cstring>

#include "signatures/digest.hpp"

namespace eastwatch {

namespace {

// The C locale's isspace and case mapping, without the locale lookup.
constexpr bool is_space(uint8_t c) noexcept { return c == ' ' || (c >= '\t' && c <= '\r'); }
constexpr uint8_t to_lower(uint8_t c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<uint8_t>(c + 32) : c; }
constexpr uint8_t to_upper(uint8_t c) noexcept { return c >= 'a' && c <= 'z' ? static_cast<uint8_t>(c - 32) : c; }
constexpr bool is_hex(uint8_t c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
// As Suricata decodes a hex digit already known to be one: letters by (c & 0xdf) - 'A' + 10.
constexpr uint8_t hex_digit(uint8_t c) noexcept {
  return c >= 'A' ? static_cast<uint8_t>((c & 0xdf) - 'A' + 10) : static_cast<uint8_t>(c - '0');
}

// Writes into a fixed buffer, dropping (and remembering) what does not fit.
class Writer {
 public:
  explicit Writer(std::array<uint8_t, TransformScratch::kCapacity>& buffer) noexcept : buffer_(buffer) {}
  void put(uint8_t c) noexcept {
    if (size_ < buffer_.size()) {
      buffer_[size_++] = c;
    } else {
      truncated_ = true;
    }
  }
  void put(std::span<const uint8_t> bytes) noexcept {
    const size_t room = buffer_.size() - size_;
    const size_t n = std::min(room, bytes.size());
    if (n != 0) std::memcpy(buffer_.data() + size_, bytes.data(), n);
    size_ += n;
    if (n < bytes.size()) truncated_ = true;
  }
  std::span<const uint8_t> data() const noexcept { return {buffer_.data(), size_}; }
  bool truncated() const noexcept { return truncated_; }

 private:
  std::array<uint8_t, TransformScratch::kCapacity>& buffer_;
  size_t size_ = 0;
  bool truncated_ = false;
};

void url_decode(std::span<const uint8_t> in, Writer& out) noexcept {
  // detect-transform-urldecode.c: %HH needs two hex digits with i + 2 < length; a bad or
  // trailing '%' stays as it is; '+' becomes a space; no %uHHHH.
  for (size_t i = 0; i < in.size(); ++i) {
    const uint8_t c = in[i];
    if (c == '%' && i + 2 < in.size() && is_hex(in[i + 1]) && is_hex(in[i + 2])) {
      out.put(static_cast<uint8_t>(hex_digit(in[i + 1]) << 4 | hex_digit(in[i + 2])));
      i += 2;
    } else if (c == '+') {
      out.put(' ');
    } else {
      out.put(c);
    }
  }
}

void strip_pseudo_headers(std::span<const uint8_t> in, Writer& out) noexcept {
  // detect-transform-strip-pseudo-headers.c: a line whose first byte (after any CR/LF) is ':'
  // is dropped up to and including its '\n'.
  bool new_line = true;
  bool pseudo = false;
  for (const uint8_t c : in) {
    if (new_line) {
      if (c == ':') pseudo = true;
      if (c != '\r' && c != '\n') new_line = false;
    } else if (c == '\n') {
      new_line = true;
      if (!pseudo) out.put(c);
      pseudo = false;
      continue;
    }
    if (!pseudo) out.put(c);
  }
}

void apply_one(const Transform& transform, std::span<const uint8_t> in, Writer& out) noexcept {
  switch (transform.kind) {
    case Transform::Kind::Dotprefix:
      if (in.empty()) return;  // Suricata leaves an empty buffer empty
      out.put('.');
      out.put(in);
      return;
    case Transform::Kind::StripWhitespace:
      for (const uint8_t c : in) {
        if (!is_space(c)) out.put(c);
      }
      return;
    case Transform::Kind::CompressWhitespace:
      // The first whitespace byte of a run is kept as it is (not turned into a space).
      for (size_t i = 0; i < in.size(); ++i) {
        out.put(in[i]);
        if (is_space(in[i])) {
          while (i + 1 < in.size() && is_space(in[i + 1])) ++i;
        }
      }
      return;
    case Transform::Kind::ToLowercase:
      for (const uint8_t c : in) out.put(to_lower(c));
      return;
    case Transform::Kind::ToUppercase:
      for (const uint8_t c : in) out.put(to_upper(c));
      return;
    case Transform::Kind::UrlDecode: url_decode(in, out); return;
    case Transform::Kind::ToMd5: out.put(md5(in)); return;
    case Transform::Kind::ToSha1: out.put(sha1(in)); return;
    case Transform::Kind::ToSha256: out.put(sha256(in)); return;
    case Transform::Kind::HeaderLowercase: {
      // Names (up to each line's first ':') in lower case; values as they are.
      bool in_name = true;
      for (const uint8_t c : in) {
        if (in_name) {
          if (c == ':') in_name = false;
          out.put(c == ':' ? c : to_lower(c));
        } else {
          out.put(c);
          if (c == '\n') in_name = true;
        }
      }
      return;
    }
    case Transform::Kind::StripPseudoHeaders: strip_pseudo_headers(in, out); return;
    case Transform::Kind::Xor: {
      const auto* key = reinterpret_cast<const uint8_t*>(transform.key.data());
      const size_t key_size = transform.key.size();
      if (key_size == 0) {  // the parser rejects an empty key; never divide by it
        out.put(in);
        return;
      }
      for (size_t i = 0; i < in.size(); ++i) out.put(static_cast<uint8_t>(in[i] ^ key[i % key_size]));
      return;
    }
  }
}

struct NameEntry {
  std::string_view name;
  Transform::Kind kind;
};
constexpr NameEntry kNames[] = {
    {"dotprefix", Transform::Kind::Dotprefix},
    {"strip_whitespace", Transform::Kind::StripWhitespace},
    {"compress_whitespace", Transform::Kind::CompressWhitespace},
    {"to_lowercase", Transform::Kind::ToLowercase},
    {"to_uppercase", Transform::Kind::ToUppercase},
    {"url_decode", Transform::Kind::UrlDecode},
    {"to_md5", Transform::Kind::ToMd5},
    {"to_sha1", Transform::Kind::ToSha1},
    {"to_sha256", Transform::Kind::ToSha256},
    {"header_lowercase", Transform::Kind::HeaderLowercase},
    {"strip_pseudo_headers", Transform::Kind::StripPseudoHeaders},
    {"xor", Transform::Kind::Xor},
};

}  // namespace

TransformOutput apply_transforms(std::span<const Transform> transforms, std::span<const uint8_t> input,
                                 TransformScratch& scratch) noexcept {
  TransformOutput result{input, false};
  bool into_first = true;
  for (const Transform& transform : transforms) {
    Writer out(into_first ? scratch.first : scratch.second);
    apply_one(transform, result.data, out);
    result.data = out.data();
    result.truncated = result.truncated || out.truncated();
    into_first = !into_first;
  }
  return result;
}

std::string_view transform_name(Transform::Kind kind) noexcept {
  for (const auto& entry : kNames) {
    if (entry.kind == kind) return entry.name;
  }
  return "";
}

std::optional<Transform::Kind> transform_from_name(std::string_view name) noexcept {
  for (const auto& entry : kNames) {
    if (entry.name == name) return entry.kind;
  }
  return std::nullopt;
}

bool transform_accepts_content(Transform::Kind kind, std::string_view pattern) noexcept {
  const auto any = [&](auto predicate) {
    return std::any_of(pattern.begin(), pattern.end(), [&](char c) { return predicate(static_cast<uint8_t>(c)); });
  };
  switch (kind) {
    case Transform::Kind::ToLowercase: return !any([](uint8_t c) { return c >= 'A' && c <= 'Z'; });
    case Transform::Kind::ToUppercase: return !any([](uint8_t c) { return c >= 'a' && c <= 'z'; });
    case Transform::Kind::StripWhitespace: return !any(is_space);
    case Transform::Kind::CompressWhitespace:
      for (size_t i = 0; i + 1 < pattern.size(); ++i) {
        if (is_space(static_cast<uint8_t>(pattern[i])) && is_space(static_cast<uint8_t>(pattern[i + 1]))) return false;
      }
      return true;
    default: return true;
  }
}

}  // namespace eastwatch

// Suricata 7's sticky-buffer transforms (dotprefix, strip_whitespace, compress_whitespace,
// to_lowercase, to_uppercase, url_decode, to_md5, to_sha1, to_sha256, header_lowercase,
// strip_pseudo_headers, xor), byte for byte as Suricata's detect-transform-*.c apply them,
// and the load-time check of a content against the transforms before it.
//
// Contract: apply_transforms() allocates nothing, throws nothing and reads each input byte a
// bounded number of times; it writes into caller-owned scratch (two fixed buffers it
// alternates between), so it is usable on the packet path. Output past the scratch capacity
// is cut and reported as truncated (the caller counts it). Whitespace and case follow the C
// locale (isspace: space, \t, \n, \v, \f, \r; only A-Z/a-z change case).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "signatures/rule.hpp"

namespace eastwatch {

// Per worker thread: 128 KiB, so allocate it once (e.g. in a unique_ptr), never per packet.
struct TransformScratch {
  static constexpr size_t kCapacity = 64 * 1024;
  std::array<uint8_t, kCapacity> first;
  std::array<uint8_t, kCapacity> second;
};

struct TransformOutput {
  std::span<const uint8_t> data;  // the input itself when there are no transforms, else scratch
  bool truncated = false;         // some output went past TransformScratch::kCapacity and was cut
};

// Applies `transforms` in order to `input`. The result stays valid until `scratch` is used again.
TransformOutput apply_transforms(std::span<const Transform> transforms, std::span<const uint8_t> input,
                                 TransformScratch& scratch) noexcept;

// The rule keyword of a transform (`to_lowercase`, ...) and back.
std::string_view transform_name(Transform::Kind kind) noexcept;
std::optional<Transform::Kind> transform_from_name(std::string_view name) noexcept;

// Suricata's TransformValidate: whether a content could ever match after `transform` (a
// to_lowercase buffer holds no upper-case letter, a strip_whitespace one no whitespace, a
// compress_whitespace one no two whitespace bytes in a row, to_uppercase no lower-case).
bool transform_accepts_content(Transform::Kind kind, std::string_view pattern) noexcept;

}  // namespace eastwatch

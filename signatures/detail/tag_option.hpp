// Internal: parsing of the `tag` keyword (Suricata 7's syntax, defaults and limits).
#pragma once

#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "signatures/rule.hpp"

namespace eastwatch::detail {

// `session|host [, count, packets|seconds|bytes [, src|dst]]`, as Suricata's
// `^\s*(host|session)\s*(,\s*(\d+)\s*,\s*(packets|bytes|seconds)\s*(,\s*(src|dst))?\s*)?$`:
// case-sensitive words, a decimal count up to 2^32-1 (0 allowed), packets capped at 256.
// A direction on a session tag is accepted and ignored (Suricata warns). Snort 3's form
// `session|host_src|host_dst, packets|seconds|bytes N` is read too, with one limit.
tl::expected<TagOption, std::string> parse_tag_option(std::string_view value);

}  // namespace eastwatch::detail

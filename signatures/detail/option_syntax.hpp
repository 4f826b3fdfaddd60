// Internal: the syntax under the rule options: splitting at ';', quoted values, integers,
// content strings, and the Suricata keywords Eastwatch knows but does not implement yet.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace eastwatch::detail {

// One option as written: `name[:value]`, both trimmed.
struct RawOption {
  std::string_view name;
  std::string_view value;
  bool has_value = false;
};

// Splits at unescaped ';' (quotes do not protect a ';', as in Suricata).
tl::expected<std::vector<RawOption>, std::string> split_options(std::string_view text);
// A quoted value: "..." with \" \; \\ escapes decoded; the quotes required.
tl::expected<std::string, std::string> unquote(std::string_view value, std::string_view option);
tl::expected<int64_t, std::string> parse_integer(std::string_view value, std::string_view option, int64_t min,
                                                 int64_t max);
int hex_value(char c);
// A Suricata keyword of a later release (reported as unsupported, not as unknown).
bool known_unsupported(std::string_view name);

}  // namespace eastwatch::detail

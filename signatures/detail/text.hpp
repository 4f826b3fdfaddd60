// Internal: small text helpers shared by the rule-language parsers.
#pragma once

#include <string_view>

namespace eastwatch::detail {

inline bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

// Without leading and trailing whitespace (spaces, tabs, CR, LF).
inline std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

}  // namespace eastwatch::detail

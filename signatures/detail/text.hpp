// Internal: small text helpers shared by the rule-language parsers.
#pragma once

#include <cstdint>
#include <string_view>

namespace eastwatch::detail {

inline bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

// Without leading and trailing whitespace (spaces, tabs, CR, LF).
inline std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

// Calls `f(line_number, line)` for each line of a config-style file (classification.config,
// reference.config, threshold.config), trimmed, skipping blank lines and `#` comments.
template <class F>
void for_each_config_line(std::string_view text, F&& f) {
  uint32_t line_number = 0;
  while (!text.empty()) {
    const size_t newline = text.find('\n');
    const std::string_view line = trim(text.substr(0, newline));
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    ++line_number;
    if (line.empty() || line.front() == '#') continue;
    f(line_number, line);
  }
}

}  // namespace eastwatch::detail

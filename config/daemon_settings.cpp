#include "config/daemon_settings.hpp"

#include <cctype>

namespace eastwatch {

tl::expected<RotateInterval, std::string> parse_rotate_interval(std::string_view text) {
  std::string value;
  for (char c : text) value.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (value == "minute") return RotateInterval{60, true};
  if (value == "hour") return RotateInterval{3600, true};
  if (value == "day") return RotateInterval{86400, true};
  size_t digits = 0;
  while (digits < value.size() && std::isdigit(static_cast<unsigned char>(value[digits]))) ++digits;
  const std::string_view unit = std::string_view(value).substr(digits);
  uint64_t multiplier = 0;
  if (unit.empty() || unit == "s") multiplier = 1;
  if (unit == "m") multiplier = 60;
  if (unit == "h") multiplier = 3600;
  if (unit == "d") multiplier = 86400;
  uint64_t seconds = 0;
  if (digits > 0 && digits <= 9) seconds = std::stoull(value.substr(0, digits)) * multiplier;
  if (multiplier == 0 || seconds == 0 || seconds > 366ull * 86400) {
    return tl::unexpected("'" + std::string(text) +
                          "' is not an interval (expected minute, hour, day, or 1s to 366d such as 30s, 15m, 1h, 1d)");
  }
  return RotateInterval{static_cast<uint32_t>(seconds), false};
}

}  // namespace eastwatch

#include "sensor/applayer/tls_eve_data.hpp"

#include <algorithm>
#include <cstdio>

namespace eastwatch {

std::string_view tls_version_name(uint16_t version, char (&buffer)[24]) noexcept {
  const char* name = nullptr;
  switch (version) {
    case 0: name = "UNDETERMINED"; break;
    case 0x0200: name = "SSLv2"; break;
    case 0x0300: name = "SSLv3"; break;
    case 0x0301: name = "TLSv1"; break;
    case 0x0302: name = "TLS 1.1"; break;
    case 0x0303: name = "TLS 1.2"; break;
    case 0x0304: name = "TLS 1.3"; break;
    case 0x7f01: name = "TLS 1.3 draft-<16"; break;
    case 0xfb14: name = "TLS 1.3 draft-20-fb"; break;
    case 0xfb15: name = "TLS 1.3 draft-21-fb"; break;
    case 0xfb16: name = "TLS 1.3 draft-22-fb"; break;
    case 0xfb17: name = "TLS 1.3 draft-23-fb"; break;
    case 0xfb1a: name = "TLS 1.3 draft-26-fb"; break;
    default: break;
  }
  int n = 0;
  if (name != nullptr) {
    n = std::snprintf(buffer, sizeof(buffer), "%s", name);
  } else if (version >= 0x7f10 && version <= 0x7f1c) {
    n = std::snprintf(buffer, sizeof(buffer), "TLS 1.3 draft-%u", static_cast<unsigned>(version & 0xff));
  } else {
    n = std::snprintf(buffer, sizeof(buffer), "0x%04x", static_cast<unsigned>(version));
  }
  return {buffer, static_cast<size_t>(std::clamp(n, 0, 23))};
}

std::string_view tls_format_time(int64_t seconds, char (&buffer)[24]) noexcept {
  // civil_from_days (Howard Hinnant's algorithm).
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const uint32_t doe = static_cast<uint32_t>(days - era * 146097);
  const uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const uint32_t mp = (5 * doy + 2) / 153;
  const uint32_t day = doy - (153 * mp + 2) / 5 + 1;
  const uint32_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = static_cast<int64_t>(yoe) + era * 400 + (month <= 2);
  const int n = std::snprintf(buffer, sizeof(buffer), "%04lld-%02u-%02uT%02u:%02u:%02u",
                              static_cast<long long>(std::clamp<int64_t>(year, 0, 9999)), month, day,
                              static_cast<unsigned>(rem / 3600), static_cast<unsigned>(rem / 60 % 60),
                              static_cast<unsigned>(rem % 60));
  return {buffer, static_cast<size_t>(std::clamp(n, 0, 23))};
}

}  // namespace eastwatch

// Target-based reassembly policies: how a host's IP stack resolves overlapping fragments and
// TCP segments. The names are Suricata's (`host-os-policy:` keys in suricata.yaml, plus the
// defrag-only "first" and "last"); the defragmenter and the stream engine each map them to
// the behaviours they implement.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace eastwatch {

enum class OsPolicy : uint8_t {
  First, Last, Bsd, BsdRight, Linux, OldLinux, Windows, Windows2k3, Vista, Solaris, OldSolaris, Hpux10, Hpux11,
  Irix, Macos,
};

inline constexpr std::array<std::string_view, 15> kOsPolicyNames = {
    "first", "last", "bsd", "bsd-right", "linux", "old-linux", "windows", "windows2k3", "vista", "solaris",
    "old-solaris", "hpux10", "hpux11", "irix", "macos"};

inline constexpr std::string_view os_policy_name(OsPolicy policy) noexcept {
  return kOsPolicyNames[static_cast<size_t>(policy)];
}

inline std::optional<OsPolicy> os_policy_from_name(std::string_view name) noexcept {
  for (size_t i = 0; i < kOsPolicyNames.size(); ++i) {
    if (kOsPolicyNames[i] == name) return static_cast<OsPolicy>(i);
  }
  return std::nullopt;
}

}  // namespace eastwatch

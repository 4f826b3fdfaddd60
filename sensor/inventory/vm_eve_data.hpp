// The EVE `vm` object of an alert (both sides' VM name, host, zone and tenant, same_host,
// scope), as bounded copies small enough to travel inside an AlertEvent.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace eastwatch {

struct VmEveData {
  template <uint32_t N>
  struct Text {
    char data[N] = {};
    uint8_t len = 0;  // longer values are cut at N bytes
    void set(std::string_view v) noexcept {
      len = static_cast<uint8_t>(std::min<size_t>(v.size(), N));
      if (len) std::memcpy(data, v.data(), len);
    }
    std::string_view view() const noexcept { return {data, len}; }
  };
  struct Side {
    bool known = false;
    Text<64> name;
    Text<64> host;
    Text<64> zone;
    Text<64> tenant;  // empty: not written
  };
  enum class Scope : uint8_t { IntraHost, InterHost, VmToExternal, ExternalToVm };

  Side src;   // the alert's src_ip side
  Side dest;  // the alert's dest_ip side
  bool same_host = false;
  Scope scope = Scope::IntraHost;
};

inline std::string_view vm_scope_name(VmEveData::Scope scope) noexcept {
  switch (scope) {
    case VmEveData::Scope::IntraHost: return "intra-host";
    case VmEveData::Scope::InterHost: return "inter-host";
    case VmEveData::Scope::VmToExternal: return "vm-to-external";
    case VmEveData::Scope::ExternalToVm: return "external-to-vm";
  }
  return "intra-host";
}

}  // namespace eastwatch

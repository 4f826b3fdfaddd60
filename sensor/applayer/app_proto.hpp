// Application-layer protocols, as detected by content (proto_detect.hpp), with Suricata's
// EVE `app_proto` names.
#pragma once

#include <cstdint>
#include <string_view>

namespace eastwatch {

// Stored in Flow::app_proto. Unknown: not (yet) detected, no `app_proto` field in EVE.
enum class AppProto : uint8_t { Unknown = 0, Http, Tls, Ssh, Smb, Dns, Ftp, Smtp, Failed };

constexpr std::string_view app_proto_name(AppProto proto) noexcept {
  switch (proto) {
    case AppProto::Http: return "http";
    case AppProto::Tls: return "tls";
    case AppProto::Ssh: return "ssh";
    case AppProto::Smb: return "smb";
    case AppProto::Dns: return "dns";
    case AppProto::Ftp: return "ftp";
    case AppProto::Smtp: return "smtp";
    case AppProto::Failed: return "failed";
    case AppProto::Unknown: break;
  }
  return "";
}

}  // namespace eastwatch

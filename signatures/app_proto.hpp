// Application-layer protocols, shared by the rule language (header protocols such as `http`,
// `app-layer-protocol:`, Snort 3's `service:`) and the sensor's protocol detection, with
// Suricata's EVE `app_proto` names.
#pragma once

#include <cstdint>
#include <optional>
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

// A protocol as rules name it: Suricata's header and app-layer-protocol names (http, http1,
// tls, ssh, smb, dns, ftp, smtp) and Snort 3's service names for the same (ssl,
// netbios-ssn). nullopt: a protocol Eastwatch does not detect.
constexpr std::optional<AppProto> app_proto_from_rule_name(std::string_view name) noexcept {
  if (name == "http" || name == "http1") return AppProto::Http;
  if (name == "tls" || name == "ssl") return AppProto::Tls;
  if (name == "ssh") return AppProto::Ssh;
  if (name == "smb" || name == "netbios-ssn") return AppProto::Smb;
  if (name == "dns") return AppProto::Dns;
  if (name == "ftp") return AppProto::Ftp;
  if (name == "smtp") return AppProto::Smtp;
  return std::nullopt;
}

}  // namespace eastwatch

// `xbits:` parsing (Suricata's detect-xbits.c syntax and checks).
//
// Suricata: `^([a-z]+)(?:,\s*([^,]+))?(?:,\s*(?:track\s+([^,]+)))(?:,\s*(?:expire\s+([^,]+)))?`.
// `track` is required, so `xbits:noalert;` (in Suricata's documentation) fails to parse there
// too; it is rejected here with the reason. Differences: text after `expire N` is an error
// here (Suricata's regex is not anchored at the end and ignores it), and a name's surrounding
// spaces are trimmed.
#include <charconv>

#include "signatures/detail/packet_options.hpp"
#include "signatures/detail/text.hpp"

namespace eastwatch::detail {

uint64_t xbit_id(std::string_view name) noexcept {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (char c : name) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ull;
  }
  return h;
}

tl::expected<XbitsOption, std::string> parse_xbits_option(std::string_view value) {
  static constexpr const char* kSyntax =
      " (expected <set|unset|toggle|isset|isnotset>,<name>,track <ip_src|ip_dst|ip_pair>[,expire <seconds>])";
  std::string_view parts[4];
  size_t count = 0;
  while (count < 4) {
    const size_t comma = value.find(',');
    parts[count++] = trim(value.substr(0, comma));
    if (comma == std::string_view::npos) {
      value = {};
      break;
    }
    value = value.substr(comma + 1);
  }
  if (!value.empty()) return tl::unexpected("xbits: too many arguments" + std::string(kSyntax));
  XbitsOption option;
  const std::string_view command = parts[0];
  if (command == "set") option.command = XbitsOption::Command::Set;
  else if (command == "unset") option.command = XbitsOption::Command::Unset;
  else if (command == "toggle") option.command = XbitsOption::Command::Toggle;
  else if (command == "isset") option.command = XbitsOption::Command::IsSet;
  else if (command == "isnotset") option.command = XbitsOption::Command::IsNotSet;
  else if (command == "noalert") {
    return tl::unexpected(std::string("xbits: noalert is not accepted (Suricata's xbits requires track; use the noalert keyword)"));
  } else {
    return tl::unexpected("xbits: unknown command '" + std::string(command) + "'" + kSyntax);
  }
  if (count < 3) return tl::unexpected("xbits: " + std::string(command) + " needs a name and a track" + kSyntax);
  const std::string_view name = parts[1];
  if (name.empty() || name.find_first_of(" \t;|&") != std::string_view::npos) {
    return tl::unexpected("xbits: invalid name '" + std::string(name) + "'");
  }
  option.name = std::string(name);
  option.id = xbit_id(name);
  auto keyword_arg = [](std::string_view part, std::string_view keyword) -> std::optional<std::string_view> {
    if (part.size() <= keyword.size() || part.substr(0, keyword.size()) != keyword) return std::nullopt;
    const char sep = part[keyword.size()];
    if (sep != ' ' && sep != '\t') return std::nullopt;
    return trim(part.substr(keyword.size()));
  };
  const auto track = keyword_arg(parts[2], "track");
  if (!track) return tl::unexpected("xbits: expected 'track <ip_src|ip_dst|ip_pair>', got '" + std::string(parts[2]) + "'");
  if (*track == "ip_src") option.track = XbitsOption::Track::IpSrc;
  else if (*track == "ip_dst") option.track = XbitsOption::Track::IpDst;
  else if (*track == "ip_pair") option.track = XbitsOption::Track::IpPair;
  else return tl::unexpected("xbits: unknown track '" + std::string(*track) + "' (expected ip_src, ip_dst or ip_pair)");
  if (count == 4) {
    const auto expire = keyword_arg(parts[3], "expire");
    if (!expire) return tl::unexpected("xbits: expected 'expire <seconds>', got '" + std::string(parts[3]) + "'");
    uint32_t seconds = 0;
    const auto [end, ec] = std::from_chars(expire->data(), expire->data() + expire->size(), seconds);
    if (ec != std::errc() || end != expire->data() + expire->size()) {
      return tl::unexpected("xbits: invalid expire '" + std::string(*expire) + "' (expected seconds, 1 to 4294967295)");
    }
    if (seconds == 0) return tl::unexpected(std::string("xbits: expire must be bigger than 0"));
    option.expire = seconds;
  }
  return option;
}

}  // namespace eastwatch::detail

#include "sensor/applayer/proto_detect.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace eastwatch {

namespace {

constexpr ProbeResult kNeedMore{ProbeVerdict::NeedMore, AppProto::Unknown};
constexpr ProbeResult kNoMatch{ProbeVerdict::NoMatch, AppProto::Unknown};
constexpr ProbeResult match(AppProto proto) { return {ProbeVerdict::Match, proto}; }

// `data` starts with `word` (Match), is a prefix of it (NeedMore) or neither (NoMatch).
ProbeVerdict starts_with(std::span<const uint8_t> data, std::string_view word, bool nocase = false) noexcept {
  const size_t n = std::min(data.size(), word.size());
  for (size_t i = 0; i < n; ++i) {
    uint8_t c = data[i];
    if (nocase && c >= 'a' && c <= 'z') c = static_cast<uint8_t>(c - 32);
    if (c != static_cast<uint8_t>(word[i])) return ProbeVerdict::NoMatch;
  }
  return n == word.size() ? ProbeVerdict::Match : ProbeVerdict::NeedMore;
}

// Request methods libhtp knows (RFC 7231 and WebDAV); each followed by a space.
constexpr std::string_view kMethods[] = {
    "GET ",      "POST ",   "HEAD ",     "PUT ",    "DELETE ",     "OPTIONS ", "CONNECT ",    "TRACE ",
    "PATCH ",    "PROPFIND ", "PROPPATCH ", "MKCOL ", "COPY ",       "MOVE ",    "LOCK ",       "UNLOCK ",
    "SEARCH ",   "CHECKOUT ", "CHECKIN ",  "REPORT ", "MKACTIVITY ", "MERGE ",   "VERSION-CONTROL ", "UNCHECKOUT ",
    "MKWORKSPACE ", "LABEL ", "BASELINE-CONTROL ", "MKCALENDAR ", "ACL ", "BIND ", "UNBIND ", "REBIND "};

ProbeResult probe_http_request(std::span<const uint8_t> data) noexcept {
  bool more = false;
  for (std::string_view method : kMethods) {
    const ProbeVerdict v = starts_with(data, method);
    if (v == ProbeVerdict::Match) return match(AppProto::Http);
    more |= v == ProbeVerdict::NeedMore;
  }
  return more ? kNeedMore : kNoMatch;
}

// The first line (up to 512 bytes) of a server banner contains `word` (case-insensitive).
bool line_contains(std::span<const uint8_t> line, std::string_view word) noexcept {
  if (line.size() < word.size()) return false;
  for (size_t i = 0; i + word.size() <= line.size(); ++i) {
    size_t j = 0;
    for (; j < word.size(); ++j) {
      uint8_t c = line[i + j];
      if (c >= 'a' && c <= 'z') c = static_cast<uint8_t>(c - 32);
      if (c != static_cast<uint8_t>(word[j])) break;
    }
    if (j == word.size()) return true;
  }
  return false;
}

// FTP and SMTP greet with "220 ..."; the banner line tells which (cheap, as Suricata's
// banner-based probing): "FTP" in it is FTP, "SMTP" is SMTP.
ProbeResult probe_banner(std::span<const uint8_t> data) noexcept {
  const ProbeVerdict v = starts_with(data, "220");
  if (v != ProbeVerdict::Match) return v == ProbeVerdict::NeedMore ? kNeedMore : kNoMatch;
  if (data.size() < 4) return kNeedMore;
  if (data[3] != ' ' && data[3] != '-') return kNoMatch;
  const size_t limit = std::min<size_t>(data.size(), 512);
  const auto end = std::find(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(limit), uint8_t{'\n'});
  const std::span<const uint8_t> line(data.data(), static_cast<size_t>(end - data.begin()));
  if (line_contains(line, "SMTP")) return match(AppProto::Smtp);
  if (line_contains(line, "FTP")) return match(AppProto::Ftp);
  if (end == data.begin() + static_cast<std::ptrdiff_t>(limit) && limit < 512) return kNeedMore;
  return kNoMatch;
}

ProbeResult probe_client_command(std::span<const uint8_t> data) noexcept {
  constexpr std::pair<std::string_view, AppProto> kCommands[] = {
      {"EHLO ", AppProto::Smtp}, {"HELO ", AppProto::Smtp}, {"USER ", AppProto::Ftp}, {"AUTH TLS", AppProto::Ftp}};
  bool more = false;
  for (const auto& [word, proto] : kCommands) {
    const ProbeVerdict v = starts_with(data, word, true);
    if (v == ProbeVerdict::Match) return match(proto);
    more |= v == ProbeVerdict::NeedMore;
  }
  return more ? kNeedMore : kNoMatch;
}

// TLS: a handshake record (0x16), version 3.x (SSL 3.0 .. TLS 1.3 record versions), a
// plausible length, and a ClientHello (to server) or ServerHello (to client).
ProbeResult probe_tls(std::span<const uint8_t> data, bool to_server) noexcept {
  if (data.empty()) return kNeedMore;
  if (data[0] != 0x16) return kNoMatch;
  if (data.size() < 2) return kNeedMore;
  if (data[1] != 0x03) return kNoMatch;
  if (data.size() < 3) return kNeedMore;
  if (data[2] > 0x04) return kNoMatch;
  if (data.size() < 6) return kNeedMore;
  const uint32_t length = uint32_t{data[3]} << 8 | data[4];
  if (length < 4 || length > 16384 + 2048) return kNoMatch;
  const uint8_t expected = to_server ? 0x01 : 0x02;
  return data[5] == expected ? match(AppProto::Tls) : kNoMatch;
}

// SMB over NetBIOS session service (port 139 or 445 direct hosting): a session message
// (type 0) with a 24-bit length, then \xffSMB (SMB1), \xfeSMB (SMB2/3) or \xfdSMB (transform).
ProbeResult probe_smb(std::span<const uint8_t> data) noexcept {
  if (data.empty()) return kNeedMore;
  if (data[0] != 0x00) return kNoMatch;
  if (data.size() < 8) return kNeedMore;
  const uint32_t length = uint32_t{data[1]} << 16 | uint32_t{data[2]} << 8 | data[3];
  if (length < 4) return kNoMatch;
  if ((data[4] == 0xff || data[4] == 0xfe || data[4] == 0xfd) && data[5] == 'S' && data[6] == 'M' && data[7] == 'B') {
    return match(AppProto::Smb);
  }
  return kNoMatch;
}

ProbeResult probe_dns_tcp(std::span<const uint8_t> data, uint16_t port) noexcept {
  if (data.size() < 2) return kNeedMore;
  const uint32_t length = uint32_t{data[0]} << 8 | data[1];
  if (length < 12) return kNoMatch;
  const std::span<const uint8_t> message = data.subspan(2);
  if (message.size() < std::min<uint32_t>(length, 512)) return kNeedMore;
  return looks_like_dns(message.first(std::min<size_t>(message.size(), length)), port != 53) ? match(AppProto::Dns)
                                                                                            : kNoMatch;
}

}  // namespace

bool looks_like_dns(std::span<const uint8_t> data, bool strict) noexcept {
  if (data.size() < 12) return false;
  const uint8_t opcode = (data[2] >> 3) & 0x0f;
  if (opcode == 3 || opcode > 6) return false;
  const uint32_t qdcount = uint32_t{data[4]} << 8 | data[5];
  const uint32_t ancount = uint32_t{data[6]} << 8 | data[7];
  const uint32_t nscount = uint32_t{data[8]} << 8 | data[9];
  const uint32_t arcount = uint32_t{data[10]} << 8 | data[11];
  const bool response = data[2] & 0x80;
  if (strict) {
    if (qdcount != 1 || (data[3] & 0x40) != 0) return false;  // one question, Z bit clear
    if (ancount > 64 || nscount > 64 || arcount > 64) return false;
    if (!response && ancount != 0) return false;
  } else {
    if (qdcount > 16) return false;
    if (qdcount == 0) return response || opcode == 4;  // notify / error answers without a question
  }
  // The first question: labels of 1..63 bytes, at most 255 in all, then type and class.
  size_t pos = 12, name_len = 0;
  for (uint32_t labels = 0; labels < 128; ++labels) {
    if (pos >= data.size()) return false;
    const uint8_t len = data[pos++];
    if (len == 0) break;
    if (len > 63) return false;  // no compression pointer in the first question name
    name_len += len + 1u;
    if (name_len > 255 || pos + len > data.size()) return false;
    pos += len;
  }
  if (pos + 4 > data.size()) return false;
  const uint32_t qclass = uint32_t{data[pos + 2]} << 8 | data[pos + 3];
  if (strict && qclass != 1 && qclass != 3 && qclass != 4 && qclass != 254 && qclass != 255) return false;
  return true;
}

ProbeResult probe_tcp(std::span<const uint8_t> data, bool to_server, uint16_t port) noexcept {
  if (data.empty()) return kNeedMore;
  const ProbeResult candidates[] = {
      to_server ? probe_http_request(data) : [&] {
        const ProbeVerdict v = starts_with(data, "HTTP/1.");
        return v == ProbeVerdict::Match ? match(AppProto::Http) : v == ProbeVerdict::NeedMore ? kNeedMore : kNoMatch;
      }(),
      probe_tls(data, to_server),
      starts_with(data, "SSH-") == ProbeVerdict::Match      ? match(AppProto::Ssh)
      : starts_with(data, "SSH-") == ProbeVerdict::NeedMore ? kNeedMore
                                                            : kNoMatch,
      probe_smb(data),
      probe_dns_tcp(data, port),
      to_server ? probe_client_command(data) : probe_banner(data),
  };
  bool more = false;
  for (const ProbeResult& r : candidates) {
    if (r.verdict == ProbeVerdict::Match) return r;
    more |= r.verdict == ProbeVerdict::NeedMore;
  }
  return more && data.size() < kProbeDepth ? kNeedMore : kNoMatch;
}

ProbeResult probe_udp(std::span<const uint8_t> data, uint16_t port) noexcept {
  return looks_like_dns(data, port != 53) ? match(AppProto::Dns) : kNoMatch;
}

}  // namespace eastwatch

// Buffer-selecting keywords and the app-layer value keywords, with Suricata 7's names and syntax.
#include "signatures/detail/buffer_options.hpp"

#include <algorithm>
#include <cctype>

#include "signatures/detail/packet_options.hpp"
#include "signatures/detail/text.hpp"
#include "signatures/transforms.hpp"

namespace eastwatch::detail {

namespace {

struct Name {
  std::string_view name;
  BufferKind kind;
};

// Suricata 7's sticky buffers: the dotted names and the legacy names that were sticky already
// (marked (*) in Suricata's keyword tables: http_request_line, http_accept, ...).
constexpr Name kSticky[] = {
    {"pkt_data", BufferKind::Payload},
    {"http.uri", BufferKind::HttpUri},
    {"http.uri.raw", BufferKind::HttpUriRaw},
    {"http.method", BufferKind::HttpMethod},
    {"http.request_line", BufferKind::HttpRequestLine},
    {"http_request_line", BufferKind::HttpRequestLine},
    {"http.host", BufferKind::HttpHost},
    {"http.host.raw", BufferKind::HttpHostRaw},
    {"http.user_agent", BufferKind::HttpUserAgent},
    {"http.accept", BufferKind::HttpAccept},
    {"http_accept", BufferKind::HttpAccept},
    {"http.accept_enc", BufferKind::HttpAcceptEnc},
    {"http_accept_enc", BufferKind::HttpAcceptEnc},
    {"http.accept_lang", BufferKind::HttpAcceptLang},
    {"http_accept_lang", BufferKind::HttpAcceptLang},
    {"http.referer", BufferKind::HttpReferer},
    {"http_referer", BufferKind::HttpReferer},
    {"http.connection", BufferKind::HttpConnection},
    {"http_connection", BufferKind::HttpConnection},
    {"http.request_body", BufferKind::HttpRequestBody},
    {"http.protocol", BufferKind::HttpProtocol},
    {"http_protocol", BufferKind::HttpProtocol},
    {"http.header", BufferKind::HttpHeader},
    {"http.header.raw", BufferKind::HttpHeaderRaw},
    {"http.header_names", BufferKind::HttpHeaderNames},
    {"http_header_names", BufferKind::HttpHeaderNames},
    {"http.cookie", BufferKind::HttpCookie},
    {"http.content_type", BufferKind::HttpContentType},
    {"http_content_type", BufferKind::HttpContentType},
    {"http.content_len", BufferKind::HttpContentLen},
    {"http_content_len", BufferKind::HttpContentLen},
    {"http.start", BufferKind::HttpStart},
    {"http_start", BufferKind::HttpStart},
    {"http.stat_code", BufferKind::HttpStatCode},
    {"http.stat_msg", BufferKind::HttpStatMsg},
    {"http.response_line", BufferKind::HttpResponseLine},
    {"http_response_line", BufferKind::HttpResponseLine},
    {"http.server", BufferKind::HttpServer},
    {"http.location", BufferKind::HttpLocation},
    {"http.response_body", BufferKind::HttpResponseBody},
    {"file.data", BufferKind::FileData},
    {"file_data", BufferKind::FileData},
    {"dns.query", BufferKind::DnsQuery},
    {"dns_query", BufferKind::DnsQuery},
    {"tls.sni", BufferKind::TlsSni},
    {"tls_sni", BufferKind::TlsSni},
    {"tls.cert_subject", BufferKind::TlsCertSubject},
    {"tls_cert_subject", BufferKind::TlsCertSubject},
    {"tls.cert_issuer", BufferKind::TlsCertIssuer},
    {"tls_cert_issuer", BufferKind::TlsCertIssuer},
    {"tls.cert_serial", BufferKind::TlsCertSerial},
    {"tls_cert_serial", BufferKind::TlsCertSerial},
    {"tls.cert_fingerprint", BufferKind::TlsCertFingerprint},
    {"tls_cert_fingerprint", BufferKind::TlsCertFingerprint},
    {"tls.certs", BufferKind::TlsCerts},
    {"ja3.hash", BufferKind::Ja3Hash},
    {"ja3_hash", BufferKind::Ja3Hash},
    {"ja3.string", BufferKind::Ja3String},
    {"ja3_string", BufferKind::Ja3String},
    {"ja3s.hash", BufferKind::Ja3sHash},
    {"ja3s_hash", BufferKind::Ja3sHash},
    {"ja3s.string", BufferKind::Ja3sString},
    {"ja3s_string", BufferKind::Ja3sString},
};

// Suricata's legacy content modifiers (Snort 2's, plus Suricata's http_raw_host and
// http_server_body).
constexpr Name kModifiers[] = {
    {"http_uri", BufferKind::HttpUri},
    {"http_raw_uri", BufferKind::HttpUriRaw},
    {"http_method", BufferKind::HttpMethod},
    {"http_header", BufferKind::HttpHeader},
    {"http_raw_header", BufferKind::HttpHeaderRaw},
    {"http_cookie", BufferKind::HttpCookie},
    {"http_user_agent", BufferKind::HttpUserAgent},
    {"http_host", BufferKind::HttpHost},
    {"http_raw_host", BufferKind::HttpHostRaw},
    {"http_client_body", BufferKind::HttpRequestBody},
    {"http_server_body", BufferKind::HttpResponseBody},
    {"http_stat_code", BufferKind::HttpStatCode},
    {"http_stat_msg", BufferKind::HttpStatMsg},
};

// Snort 3's buffer selectors that Eastwatch has a buffer for (http_raw_cookie, http_raw_body,
// http_raw_request/status, http_trailer, js_data... have none).
constexpr Name kSnort3[] = {
    {"pkt_data", BufferKind::Payload},
    // Snort 3 raw_data: the payload before a service inspector's normalization. Eastwatch
    // normalizes no service in place (telnet option negotiation stays in the payload), so it is
    // the packet payload, as pkt_data.
    {"raw_data", BufferKind::Payload},
    {"file_data", BufferKind::FileData},
    {"http_uri", BufferKind::HttpUri},
    {"http_raw_uri", BufferKind::HttpUriRaw},
    {"http_method", BufferKind::HttpMethod},
    {"http_header", BufferKind::HttpHeader},
    {"http_raw_header", BufferKind::HttpHeaderRaw},
    {"http_cookie", BufferKind::HttpCookie},
    {"http_client_body", BufferKind::HttpRequestBody},
    {"http_stat_code", BufferKind::HttpStatCode},
    {"http_stat_msg", BufferKind::HttpStatMsg},
    {"http_version", BufferKind::HttpProtocol},
    {"http_user_agent", BufferKind::HttpUserAgent},
    {"http_host", BufferKind::HttpHost},
};

// Snort 3 http_header:field NAME -> the header's own buffer.
constexpr Name kHeaderFields[] = {
    {"user-agent", BufferKind::HttpUserAgent},
    {"host", BufferKind::HttpHost},
    {"cookie", BufferKind::HttpCookie},
    {"referer", BufferKind::HttpReferer},
    {"content-type", BufferKind::HttpContentType},
    {"content-length", BufferKind::HttpContentLen},
    {"accept", BufferKind::HttpAccept},
    {"accept-encoding", BufferKind::HttpAcceptEnc},
    {"accept-language", BufferKind::HttpAcceptLang},
    {"connection", BufferKind::HttpConnection},
    {"server", BufferKind::HttpServer},
    {"location", BufferKind::HttpLocation},
};

template <size_t N>
std::optional<BufferKind> find(const Name (&table)[N], std::string_view name) {
  for (const auto& entry : table) {
    if (entry.name == name) return entry.kind;
  }
  return std::nullopt;
}

// Canonical names, indexed by BufferKind.
constexpr std::string_view kKindNames[] = {
    "pkt_data", "http.uri", "http.uri.raw", "http.method", "http.request_line", "http.host", "http.host.raw",
    "http.user_agent", "http.accept", "http.accept_enc", "http.accept_lang", "http.referer", "http.connection",
    "http.request_body", "http.protocol", "http.header", "http.header.raw", "http.header_names", "http.cookie",
    "http.content_type", "http.content_len", "http.start", "http.stat_code", "http.stat_msg", "http.response_line",
    "http.server", "http.location", "http.response_body", "file.data", "dns.query", "tls.sni", "tls.cert_subject",
    "tls.cert_issuer", "tls.cert_serial", "tls.cert_fingerprint", "tls.certs", "ja3.hash", "ja3.string", "ja3s.hash",
    "ja3s.string"};
static_assert(std::size(kKindNames) == kBufferKindCount, "a name for every BufferKind");

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<BufferKind> sticky_buffer_kind(std::string_view name) { return find(kSticky, name); }
std::optional<BufferKind> content_modifier_kind(std::string_view name) { return find(kModifiers, name); }
std::optional<BufferKind> snort3_buffer_kind(std::string_view name) { return find(kSnort3, name); }

tl::expected<BufferKind, std::string> snort3_header_field(std::string_view value) {
  value = trim(value);
  if (value.substr(0, 5) != "field" || value.size() < 6 || !is_space(value[5])) {
    return tl::unexpected("http_header: invalid value '" + std::string(value) + "' (expected 'field NAME')");
  }
  std::string field(trim(value.substr(5)));
  for (auto& c : field) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (auto kind = find(kHeaderFields, field)) return *kind;
  return tl::unexpected("unsupported keyword 'http_header:field " + field +
                        "' (not implemented yet: no buffer of its own for that header)");
}

std::optional<BufferKind> pcre_flag_kind(char flag) {
  switch (flag) {
    case 'U': return BufferKind::HttpUri;
    case 'I': return BufferKind::HttpUriRaw;
    case 'P': return BufferKind::HttpRequestBody;
    case 'Q': return BufferKind::FileData;  // Suricata: the file_data list
    case 'H': return BufferKind::HttpHeader;
    case 'D': return BufferKind::HttpHeaderRaw;
    case 'M': return BufferKind::HttpMethod;
    case 'C': return BufferKind::HttpCookie;
    case 'S': return BufferKind::HttpStatCode;
    case 'Y': return BufferKind::HttpStatMsg;
    case 'V': return BufferKind::HttpUserAgent;
    case 'W': return BufferKind::HttpHost;
    case 'Z': return BufferKind::HttpHostRaw;
    default: return std::nullopt;
  }
}

std::string_view buffer_kind_name(BufferKind kind) {
  const auto index = static_cast<size_t>(kind);
  return index < std::size(kKindNames) ? kKindNames[index] : "?";
}

AppProto buffer_app_proto(BufferKind kind) {
  if (kind == BufferKind::Payload || kind == BufferKind::FileData) return AppProto::Unknown;
  if (kind == BufferKind::DnsQuery) return AppProto::Dns;
  if (kind >= BufferKind::TlsSni) return AppProto::Tls;
  return AppProto::Http;
}

bool buffer_is_multi_instance(BufferKind kind) { return kind == BufferKind::DnsQuery || kind == BufferKind::TlsCerts; }

std::optional<tl::expected<Transform, std::string>> parse_transform(std::string_view name, std::string_view value,
                                                                    bool has_value) {
  const auto kind = transform_from_name(name);
  if (!kind) return std::nullopt;
  using Result = tl::expected<Transform, std::string>;
  Transform transform;
  transform.kind = *kind;
  if (*kind != Transform::Kind::Xor) {
    if (has_value) return Result(tl::unexpected(std::string(name) + ": takes no value"));
    return Result(transform);
  }
  // xor:"hexkey" — quotes required, an even number of hex digits, 1 to 255 key bytes.
  value = trim(value);
  if (value.size() < 2 || value.front() != '"' || value.back() != '"') {
    return Result(tl::unexpected(std::string("xor: expected a quoted hex key, e.g. xor:\"0d0ac8ff\"")));
  }
  value = value.substr(1, value.size() - 2);
  if (value.empty() || value.size() % 2 != 0 || value.size() / 2 > 255) {
    return Result(tl::unexpected("xor: invalid key '" + std::string(value) +
                                 "' (expected an even number of hex digits, 1 to 255 bytes)"));
  }
  for (size_t i = 0; i < value.size(); i += 2) {
    const int high = hex_digit(value[i]);
    const int low = hex_digit(value[i + 1]);
    if (high < 0 || low < 0) {
      return Result(tl::unexpected("xor: invalid key '" + std::string(value) + "' (expected hex digits only)"));
    }
    transform.key += static_cast<char>(high << 4 | low);
  }
  return Result(transform);
}

tl::expected<NumericTest, std::string> parse_dns_opcode(std::string_view value) {
  value = trim(value);
  NumericTest test;
  if (!value.empty() && value.front() == '!') {
    test.op = NumericTest::Op::NotEqual;
    value = trim(value.substr(1));
  }
  auto number = parse_numeric_test("dns.opcode", value, 255);
  if (!number || number->op != NumericTest::Op::Equal) {
    return tl::unexpected("dns.opcode: invalid value '" + std::string(value) + "' (expected [!]N, N from 0 to 255)");
  }
  test.a = number->a;
  return test;
}

tl::expected<uint16_t, std::string> parse_tls_version(std::string_view value) {
  value = trim(value);
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
  if (value == "1.0") return 0x0301;
  if (value == "1.1") return 0x0302;
  if (value == "1.2") return 0x0303;
  if (value == "1.3") return 0x0304;
  if (value.size() == 6 && value.substr(0, 2) == "0x") {
    uint16_t wire = 0;
    bool ok = true;
    for (char c : value.substr(2)) {
      const int digit = hex_digit(c);
      ok = ok && digit >= 0;
      wire = static_cast<uint16_t>(wire << 4 | (digit < 0 ? 0 : digit));
    }
    if (ok) return wire;
  }
  return tl::unexpected("tls.version: invalid value '" + std::string(value) + "' (expected 1.0, 1.1, 1.2, 1.3 or 0xNNNN)");
}

tl::expected<UriLen, std::string> parse_urilen(std::string_view value) {
  UriLen urilen;
  const size_t comma = value.find(',');
  if (comma != std::string_view::npos) {
    const std::string_view kind = trim(value.substr(comma + 1));
    if (kind == "raw") {
      urilen.raw = true;
    } else if (kind != "norm") {
      return tl::unexpected("urilen: unknown modifier '" + std::string(kind) + "' (expected norm or raw)");
    }
    value = value.substr(0, comma);
  }
  auto length = parse_numeric_test("urilen", value, 65535);
  if (!length) return tl::unexpected(length.error());
  urilen.length = *length;
  return urilen;
}

tl::expected<NumericTest, std::string> parse_bufferlen(std::string_view value) {
  value = trim(value);
  const size_t inclusive = value.find("<=>");
  if (inclusive == std::string_view::npos) {
    if (!value.empty() && value.front() == '=') value.remove_prefix(1);
    return parse_numeric_test("bufferlen", value, 65535);
  }
  // [low, high] as the exclusive Between (low - 1, high + 1); from 0 it is <= high.
  auto low = parse_numeric_test("bufferlen", value.substr(0, inclusive), 65535);
  auto high = parse_numeric_test("bufferlen", value.substr(inclusive + 3), 65535);
  if (!low || !high || low->op != NumericTest::Op::Equal || high->op != NumericTest::Op::Equal || high->a < low->a) {
    return tl::unexpected("bufferlen: invalid range '" + std::string(value) + "' (expected low<=>high)");
  }
  NumericTest test;
  if (low->a == 0) {
    test.op = NumericTest::Op::LessEqual;
    test.a = high->a;
  } else {
    test.op = NumericTest::Op::Between;
    test.a = low->a - 1;
    test.b = high->a + 1;
  }
  return test;
}

tl::expected<void, std::string> check_buffer_section(const BufferSection& section) {
  const auto printable = [](const std::string& pattern) {
    std::string out;
    for (const char c : pattern) {
      const auto byte = static_cast<unsigned char>(c);
      if (std::isprint(byte) && c != '|' && c != '"') {
        out += c;
      } else {
        static constexpr char kDigits[] = "0123456789ABCDEF";
        out += '|';
        out += kDigits[byte >> 4];
        out += kDigits[byte & 0x0f];
        out += '|';
      }
    }
    return out;
  };
  for (const ContentOption& content : section.contents) {
    for (const Transform& transform : section.transforms) {
      if (!transform_accepts_content(transform.kind, content.pattern)) {
        return tl::unexpected("content \"" + printable(content.pattern) + "\" can never match after " +
                              std::string(transform_name(transform.kind)) + " (incompatible with the transform)");
      }
    }
    if (section.kind == BufferKind::HttpHost && section.transforms.empty() && !content.nocase &&
        std::any_of(content.pattern.begin(), content.pattern.end(),
                    [](char c) { return std::isupper(static_cast<unsigned char>(c)) != 0; })) {
      return tl::unexpected("http.host: content \"" + printable(content.pattern) +
                            "\" has upper-case letters, but the host buffer is lower case (write it in lower case)");
    }
  }
  return {};
}

bool regex_has_upper_case(std::string_view regex) {
  // As Suricata's DetectPcreHasUpperCase: skips the letter after '\' and the two digits of \xHH.
  bool escaped = false;
  int hex_left = 0;
  for (const char c : regex) {
    if (hex_left > 0) {
      --hex_left;
    } else if (escaped) {
      if (c == 'x') hex_left = 2;
      escaped = false;
    } else if (c == '\\') {
      escaped = true;
    } else if (std::isupper(static_cast<unsigned char>(c))) {
      return true;
    }
  }
  return false;
}

}  // namespace eastwatch::detail

// The syntax under the rule options (see detail/option_syntax.hpp).
#include "signatures/detail/option_syntax.hpp"

#include <charconv>
#include <iterator>
#include <unordered_set>

#include "signatures/detail/option_parser.hpp"
#include "signatures/detail/text.hpp"

namespace eastwatch::detail {

namespace {

// Suricata keywords that Eastwatch does not implement yet: a rule using one is reported as
// unsupported (an honest "not yet"), distinct from a typo.
constexpr const char* kKnownUnsupported[] = {
    "flowint", "flowvar", "pktvar", "hostbits", "http_raw_cookie", "http.request_header",
    "http.response_header", "file.name", "filename", "fileext", "filemagic", "filestore", "filesize", "filemd5",
    "filesha1", "filesha256", "dns.answer.name", "dns.query.name", "tls.subject", "tls.issuerdn", "tls.fingerprint",
    "tls.store", "tls.cert_notbefore", "tls.cert_notafter", "tls.cert_expired", "tls.cert_valid",
    "tls_cert_notbefore", "tls_cert_notafter", "tls_cert_expired", "tls_cert_valid", "ssl_version", "ssl_state",
    "ssh.proto", "ssh.software", "ssh_proto", "ssh_software", "ssh.protoversion", "ssh.softwareversion", "ssh.hassh",
    "ssh.hassh.server", "ssh.hassh.string", "ssh.hassh.server.string", "app-layer-event", "stream-event",
    "engine-event", "base64_decode", "base64_data", "dce_iface", "dce_opnum", "dce_stub_data",
    "smb.named_pipe", "smb.share", "krb5_msg_type", "krb5_cipher", "krb5.cname", "krb5.sname", "krb5_err_code",
    "snmp.community", "snmp.pdu_type", "snmp.version", "sip.method", "sip.uri", "sip.request_line", "sip.stat_code",
    "sip.stat_msg", "sip.response_line", "sip.protocol", "ftpdata_command", "ftp.command",
    "ftp.command_data", "modbus", "dnp3_func", "dnp3_ind", "dnp3_obj", "dnp3_data", "enip_command", "cip_service",
    "lua", "luajit", "replace", "stream_reassemble", "prefilter", "bypass", "iprep", "geoip", "datarep", "dataset",
    "js_data", "vba_data", "sip_header", "sip_method", "sip_stat_code", "sip_body", "app-layer-state",
    "transform", "pcrexform", "quic.version", "quic.sni", "quic.ua", "quic.cyu.hash", "quic.cyu.string",
    "http2.frametype", "http2.errorcode", "http2.priority", "http2.window", "http2.size_update", "http2.settings",
    "http2.header_name", "http2.header", "mqtt.type", "mqtt.flags", "mqtt.qos", "mqtt.reason_code",
    "mqtt.connack.session_present", "mqtt.connect.clientid", "mqtt.connect.flags", "mqtt.connect.password",
    "mqtt.connect.username", "mqtt.connect.willmessage", "mqtt.connect.willtopic", "mqtt.protocol_version",
    "mqtt.publish.message", "mqtt.publish.topic", "mqtt.subscribe.topic", "mqtt.unsubscribe.topic", "rfb.name",
    "rfb.secresult", "rfb.sectype", "ike.init_spi", "ike.resp_spi", "ike.chosen_sa_attribute", "ike.exchtype",
    "ike.key_exchange_payload", "ike.key_exchange_payload_length", "ike.nonce_payload", "ike.nonce_payload_length",
    "ike.vendor", "tcp.hdr", "udp.hdr", "ipv4.hdr", "ipv6.hdr", "icmpv4.hdr", "icmpv6.hdr", "tcp.mss", "icmpv6.mtu",
    "template", "config", "requires", "flow.age", "flow.pkts", "flow.bytes", "frame", "entropy",
    "ldap.request.operation", "ldap.responses.operation", "dhcp.leasetime", "tls.random", "email.from",
    "email.subject", "email.to", "email.cc", "nfs_procedure", "nfs.version", "rpc", "tftp", "ssh.proto_version",
    // Snort 3 buffers without an Eastwatch buffer
    "http_raw_body", "http_raw_request", "http_raw_status", "http_true_ip", "http_trailer", "http_raw_trailer",
    "http_param", "http_num_headers", "http_num_trailers", "http_num_cookies", "http_version_match",
    "http_max_header_line", "http_max_trailer_line", "http_header_test", "http_trailer_test", "http_uri_raw"};

}  // namespace

bool known_unsupported(std::string_view name) {
  // Looked up for most of the 21,000 ET Open rules that do not load yet: a set, not a scan.
  static const std::unordered_set<std::string_view> keywords(std::begin(kKnownUnsupported),
                                                             std::end(kKnownUnsupported));
  return keywords.count(name) != 0;
}

tl::expected<std::vector<RawOption>, std::string> split_options(std::string_view text) {
  std::vector<RawOption> options;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\') {
      ++i;  // the next character is escaped
      continue;
    }
    // As Suricata: quotes do not protect a ';' (a literal one is written \; or |3B|), so a quote
    // inside a pcre (/^["']?post/) cannot swallow the rest of the rule.
    if (c != ';') continue;
    std::string_view option = trim(text.substr(start, i - start));
    start = i + 1;
    if (option.empty()) continue;
    RawOption raw;
    const size_t colon = option.find(':');
    if (colon == std::string_view::npos) {
      raw.name = option;
    } else {
      raw.name = trim(option.substr(0, colon));
      raw.value = trim(option.substr(colon + 1));
      raw.has_value = true;
    }
    options.push_back(raw);
  }
  if (!trim(text.substr(start)).empty()) {
    return tl::unexpected("option '" + std::string(trim(text.substr(start))) + "' is not terminated by ';'");
  }
  return options;
}

// A quoted value: "..." with \" \; \\ escapes decoded; the surrounding quotes required.
tl::expected<std::string, std::string> unquote(std::string_view value, std::string_view option) {
  if (value.size() < 2 || value.front() != '"' || value.back() != '"') {
    return tl::unexpected(std::string(option) + ": expected a quoted string");
  }
  std::string out;
  value = value.substr(1, value.size() - 2);
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size()) {
      out += value[++i];
    } else {
      out += value[i];
    }
  }
  return out;
}

tl::expected<int64_t, std::string> parse_integer(std::string_view value, std::string_view option, int64_t min,
                                                 int64_t max) {
  int64_t number = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size() || number < min || number > max) {
    return tl::unexpected(std::string(option) + ": invalid value '" + std::string(value) + "' (expected an integer from " +
                          std::to_string(min) + " to " + std::to_string(max) + ")");
  }
  return number;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

tl::expected<std::string, std::string> decode_content(std::string_view body) {
  std::string out;
  out.reserve(body.size());
  bool in_hex = false;
  int pending_nibble = -1;
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '|') {
      if (in_hex && pending_nibble >= 0) return tl::unexpected(std::string("odd number of hex digits in |hex| block"));
      in_hex = !in_hex;
      continue;
    }
    if (in_hex) {
      if (c == ' ' || c == '\t') continue;
      const int v = hex_value(c);
      if (v < 0) return tl::unexpected("invalid character '" + std::string(1, c) + "' in |hex| block");
      if (pending_nibble < 0) {
        pending_nibble = v;
      } else {
        out += static_cast<char>(pending_nibble * 16 + v);
        pending_nibble = -1;
      }
      continue;
    }
    if (c == '\\') {
      if (i + 1 >= body.size()) return tl::unexpected(std::string("trailing backslash"));
      const char next = body[++i];
      if (next != '"' && next != ';' && next != '\\' && next != ':' && next != '|') {
        return tl::unexpected("invalid escape '\\" + std::string(1, next) + "' (only \\\" \\; \\: \\| \\\\ are allowed)");
      }
      out += next;
      continue;
    }
    if (c == '"') return tl::unexpected(std::string("unescaped '\"' inside the pattern"));
    if (c == ';') return tl::unexpected(std::string("unescaped ';' inside the pattern"));
    out += c;
  }
  if (in_hex) return tl::unexpected(std::string("unterminated |hex| block"));
  return out;
}

}  // namespace eastwatch::detail

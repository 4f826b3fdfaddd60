// Rule options, with Suricata 7's semantics and validation. Options are split at unescaped
// ';' (Suricata does not treat quotes specially when splitting), each `name[:value]`.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <optional>
#include <unordered_set>

#include "signatures/detail/byte_options.hpp"
#include "signatures/detail/option_parser.hpp"
#include "signatures/detail/packet_options.hpp"
#include "signatures/detail/tag_option.hpp"
#include "signatures/detail/text.hpp"

namespace eastwatch::detail {

namespace {


// Suricata keywords that Eastwatch does not implement yet: a rule using one is reported as
// unsupported (an honest "not yet"), distinct from a typo.
constexpr const char* kKnownUnsupported[] = {
    // state and variables
    "flowint", "flowvar", "pktvar", "xbits", "hostbits",
    // HTTP (Snort 2 modifiers and Suricata sticky buffers)
    "urilen", "uricontent", "http_uri", "http_raw_uri", "http_header", "http_raw_header", "http_method", "http_cookie", "http_raw_cookie",
    "http_client_body", "http_server_body", "http_stat_code", "http_stat_msg", "http_user_agent", "http_host",
    "http_raw_host", "http.uri", "http.uri.raw", "http.method", "http.protocol", "http.request_line", "http.header",
    "http.header.raw", "http.host", "http.host.raw", "http.user_agent", "http.cookie", "http.accept",
    "http.accept_enc", "http.accept_lang", "http.content_type", "http.content_len", "http.referer", "http.connection",
    "http.header_names", "http.request_body", "http.stat_code", "http.stat_msg", "http.response_line",
    "http.response_body", "http.server", "http.location", "http.start", "http.request_header",
    "http.response_header", "http_request_line", "http_response_line", "http_header_names", "http_accept",
    "http_accept_enc", "http_accept_lang", "http_referer", "http_content_type", "http_content_len",
    "http_connection", "http_protocol", "http_start", "file_data", "file.data", "file.name", "filename", "fileext",
    "filemagic", "filestore", "filesize", "filemd5", "filesha1", "filesha256", "dns.query", "dns_query",
    "dns.opcode", "dns.answer.name", "dns.query.name", "tls.sni", "tls_sni", "tls.cert_subject", "tls.cert_issuer",
    "tls.cert_serial", "tls.cert_fingerprint", "tls.certs", "tls.version", "tls.subject", "tls.issuerdn",
    "tls_cert_subject", "tls_cert_issuer", "tls_cert_serial", "tls_cert_fingerprint", "tls.fingerprint",
    "tls.store", "tls.cert_notbefore", "tls.cert_notafter", "tls.cert_expired", "tls.cert_valid",
    "tls_cert_notbefore", "tls_cert_notafter", "tls_cert_expired", "tls_cert_valid", "ssl_version", "ssl_state",
    "ja3.hash", "ja3.string", "ja3s.hash", "ja3s.string", "ja3_hash", "ja3_string", "ja3s_hash", "ja3s_string",
    "ssh.proto", "ssh.software", "ssh_proto", "ssh_software", "ssh.protoversion", "ssh.softwareversion",
    "ssh.hassh", "ssh.hassh.server", "ssh.hassh.string", "ssh.hassh.server.string",
    "app-layer-event", "stream-event", "engine-event", "base64_decode", "base64_data",
    "asn1", "dce_iface", "dce_opnum", "dce_stub_data", "smb.named_pipe", "smb.share", "krb5_msg_type",
    "krb5_cipher", "krb5.cname", "krb5.sname", "krb5_err_code", "snmp.community", "snmp.pdu_type",
    "snmp.version", "sip.method", "sip.uri", "sip.request_line", "sip.stat_code", "sip.stat_msg",
    "sip.response_line", "sip.protocol", "ftpbounce", "ftpdata_command", "ftp.command", "ftp.command_data",
    "modbus", "dnp3_func", "dnp3_ind", "dnp3_obj", "dnp3_data", "enip_command", "cip_service",
    "lua", "luajit", "replace", "stream_reassemble", "prefilter", "bypass", "iprep", "geoip",
    "datarep", "dataset", "xor", "pkt_data", "raw_data", "js_data", "vba_data", "sip_header", "sip_method", "sip_stat_code", "sip_body", "app-layer-state", "transform", "to_md5", "to_sha1", "to_sha256",
    "to_lowercase", "to_uppercase", "strip_whitespace", "compress_whitespace", "dotprefix", "url_decode",
    "pcrexform", "header_lowercase", "strip_pseudo_headers", "quic.version", "quic.sni", "quic.ua",
    "quic.cyu.hash", "quic.cyu.string", "http2.frametype", "http2.errorcode", "http2.priority",
    "http2.window", "http2.size_update", "http2.settings", "http2.header_name", "http2.header", "mqtt.type",
    "mqtt.flags", "mqtt.qos", "mqtt.reason_code", "mqtt.connack.session_present", "mqtt.connect.clientid",
    "mqtt.connect.flags", "mqtt.connect.password", "mqtt.connect.username", "mqtt.connect.willmessage",
    "mqtt.connect.willtopic", "mqtt.protocol_version", "mqtt.publish.message", "mqtt.publish.topic",
    "mqtt.subscribe.topic", "mqtt.unsubscribe.topic", "rfb.name", "rfb.secresult", "rfb.sectype",
    "ike.init_spi", "ike.resp_spi", "ike.chosen_sa_attribute", "ike.exchtype", "ike.key_exchange_payload",
    "ike.key_exchange_payload_length", "ike.nonce_payload", "ike.nonce_payload_length", "ike.vendor",
    "tcp.hdr", "udp.hdr", "ipv4.hdr", "ipv6.hdr", "icmpv4.hdr", "icmpv6.hdr", "tcp.mss", "icmpv6.mtu",
    "template", "config", "requires", "flow.age", "flow.pkts", "flow.bytes", "frame", "entropy",
    "ldap.request.operation", "ldap.responses.operation", "dhcp.leasetime", "tls.random", "email.from",
    "email.subject", "email.to", "email.cc", "nfs_procedure", "nfs.version", "rpc", "tftp", "ssh.proto_version"};

bool known_unsupported(std::string_view name) {
  // Looked up for most of the 21,000 ET Open rules that do not load yet: a set, not a scan.
  static const std::unordered_set<std::string_view> keywords(std::begin(kKnownUnsupported),
                                                             std::end(kKnownUnsupported));
  return keywords.count(name) != 0;
}

// Splits at unescaped ';'. Returns the options as (name, value) with value possibly empty.
struct RawOption {
  std::string_view name;
  std::string_view value;
  bool has_value = false;
};

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

class OptionParser {
 public:
  OptionParser(const ClassificationTable* classifications, Rule& rule) : classifications_(classifications), rule_(rule) {}

  tl::expected<void, std::string> parse(std::string_view text) {
    auto options = split_options(text);
    if (!options) return tl::unexpected(options.error());
    bool have_sid = false;
    for (const auto& option : *options) {
      auto result = apply(option, have_sid);
      if (!result) return result;
    }
    if (!have_sid) return tl::unexpected(std::string("rule has no sid"));
    for (const BufferSection& section : rule_.sections) {
      if (auto fits = check_bsize(section); !fits) return fits;
    }
    if (explicit_priority_) rule_.priority = *explicit_priority_;
    return {};
  }

 private:
  using Result = tl::expected<void, std::string>;

  Result apply(const RawOption& option, bool& have_sid) {
    const std::string_view name = option.name;
    if (name == "msg") {
      auto text = unquote(option.value, "msg");
      if (!text) return tl::unexpected(text.error());
      rule_.msg = std::move(*text);
      return {};
    }
    if (name == "sid" || name == "rev" || name == "gid" || name == "priority") {
      if (!option.has_value) return tl::unexpected(std::string(name) + ": missing value");
      const int64_t min = name == "rev" ? 0 : 1;
      const int64_t max = name == "priority" ? 255 : 4294967295;
      auto number = parse_integer(option.value, name, min, max);
      if (!number) return tl::unexpected(number.error());
      if (name == "sid") {
        if (have_sid) return tl::unexpected(std::string("sid: duplicate sid option"));
        have_sid = true;
        rule_.sid = static_cast<uint32_t>(*number);
      } else if (name == "rev") {
        rule_.rev = static_cast<uint32_t>(*number);
      } else if (name == "gid") {
        rule_.gid = static_cast<uint32_t>(*number);
      } else {
        explicit_priority_ = static_cast<int>(*number);
      }
      return {};
    }
    if (name == "classtype") return apply_classtype(option.value);
    if (name == "reference") {
      const size_t comma = option.value.find(',');
      if (comma == std::string_view::npos) {
        return tl::unexpected("reference: expected 'system,id', got '" + std::string(option.value) + "'");
      }
      rule_.references.push_back(
          RuleReference{std::string(trim(option.value.substr(0, comma))), std::string(trim(option.value.substr(comma + 1)))});
      return {};
    }
    if (name == "metadata") {
      std::string_view rest = option.value;
      while (!rest.empty()) {
        const size_t comma = rest.find(',');
        const auto entry = trim(rest.substr(0, comma));
        if (!entry.empty()) rule_.metadata.emplace_back(entry);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
      return {};
    }
    if (name == "content") return apply_content(option);
    if (name == "pcre") return apply_pcre(option);
    if (name == "isdataat") return apply_isdataat(option);
    if (name == "byte_test") {
      BufferSection& section = current_section();
      auto test = parse_byte_test(option.value, section);
      if (!test) return tl::unexpected(test.error());
      section.steps.push_back(ChainStep{ChainStep::Kind::ByteTest, static_cast<uint16_t>(section.byte_tests.size())});
      section.byte_tests.push_back(*test);
      return {};
    }
    if (name == "byte_jump") {
      BufferSection& section = current_section();
      auto jump = parse_byte_jump(option.value, section);
      if (!jump) return tl::unexpected(jump.error());
      section.steps.push_back(ChainStep{ChainStep::Kind::ByteJump, static_cast<uint16_t>(section.byte_jumps.size())});
      section.byte_jumps.push_back(*jump);
      return {};
    }
    if (name == "byte_extract" || name == "byte_math" || name == "bsize") return apply_byte_variable(option);
    if (name == "service") return apply_service(option.value);
    if (name == "app-layer-protocol") return apply_app_layer_protocol(option.value);
    if (name == "target") {
      if (option.value == "src_ip") {
        rule_.target = Rule::Target::SrcIp;
      } else if (option.value == "dest_ip") {
        rule_.target = Rule::Target::DestIp;
      } else {
        return tl::unexpected("target: invalid value '" + std::string(option.value) + "' (expected src_ip or dest_ip)");
      }
      return {};
    }
    if (name == "noalert") {
      rule_.noalert = true;
      return {};
    }
    if (name == "tag") {
      auto tag = parse_tag_option(option.value);
      if (!tag) return tl::unexpected(tag.error());
      rule_.tags.push_back(*tag);
      return {};
    }
    if (name == "flowbits") {
      if (!option.has_value) return tl::unexpected(std::string("flowbits: missing value"));
      auto flowbits = parse_flowbits_option(option.value, rule_.flowbits, rule_.noalert);
      if (!flowbits) return tl::unexpected(flowbits.error());
      return {};
    }
    auto packet = parse_packet_option(name, option.value, option.has_value, rule_.packet, &rule_.threshold);
    if (!packet) return tl::unexpected(packet.error());
    if (*packet) return {};
    if (name == "nocase" || name == "rawbytes" || name == "fast_pattern" || name == "offset" || name == "depth" ||
        name == "distance" || name == "within" || name == "startswith" || name == "endswith") {
      return apply_modifier(option);
    }
    if (known_unsupported(name)) {
      return tl::unexpected("unsupported keyword '" + std::string(name) + "' (not implemented yet)");
    }
    return tl::unexpected("unknown rule option '" + std::string(name) + "'");
  }

  // byte_extract and byte_math (a new variable of the section) and bsize.
  Result apply_byte_variable(const RawOption& option) {
    BufferSection& section = current_section();
    const auto step = [&](ChainStep::Kind kind, size_t index) {
      section.steps.push_back(ChainStep{kind, static_cast<uint16_t>(index)});
    };
    if (option.name == "bsize") {
      auto bsize = parse_bsize(option.value);
      if (!bsize) return tl::unexpected(bsize.error());
      step(ChainStep::Kind::Bsize, section.bsizes.size());
      section.bsizes.push_back(*bsize);
      return {};
    }
    if (option.name == "byte_extract") {
      auto extract = parse_byte_extract(option.value, section);
      if (!extract) return tl::unexpected(extract.error());
      step(ChainStep::Kind::ByteExtract, section.byte_extracts.size());
      section.byte_extracts.push_back(std::move(*extract));
    } else {
      auto math = parse_byte_math(option.value, section);
      if (!math) return tl::unexpected(math.error());
      step(ChainStep::Kind::ByteMath, section.byte_maths.size());
      section.byte_maths.push_back(std::move(*math));
    }
    ++section.variables;
    return {};
  }

  // Snort 3 `service:http,ssl,...`: services Eastwatch identifies map to their protocol; the
  // others (imap, sunrpc, ...) are kept as never identified (the header's ports decide).
  Result apply_service(std::string_view value) {
    if (value.empty()) return tl::unexpected(std::string("service: missing value"));
    while (!value.empty()) {
      const size_t comma = value.find(',');
      const std::string_view name = trim(value.substr(0, comma));
      if (name.empty()) return tl::unexpected(std::string("service: empty service name"));
      const auto proto = app_proto_from_rule_name(name);
      rule_.services.push_back(proto ? static_cast<uint8_t>(*proto) : Rule::kUnidentifiedService);
      if (comma == std::string_view::npos) break;
      value.remove_prefix(comma + 1);
    }
    return {};
  }

  // Suricata `app-layer-protocol:[!]name`; `failed` and `unknown` as in Suricata.
  Result apply_app_layer_protocol(std::string_view value) {
    Rule::AppLayerProtocolTest test;
    if (!value.empty() && value.front() == '!') {
      test.negated = true;
      value = trim(value.substr(1));
    }
    const std::string_view name = trim(value.substr(0, value.find(',')));
    if (name == "failed") {
      test.proto = AppProto::Failed;
    } else if (name == "unknown") {
      test.proto = AppProto::Unknown;
    } else if (auto proto = app_proto_from_rule_name(name)) {
      test.proto = *proto;
    } else {
      return tl::unexpected("unsupported keyword 'app-layer-protocol:" + std::string(name) +
                            "' (not implemented yet: Eastwatch detects http, tls, ssh, smb, dns, ftp and smtp)");
    }
    if (rule_.app_layer_protocol) return tl::unexpected(std::string("app-layer-protocol: used twice in one rule"));
    rule_.app_layer_protocol = test;
    return {};
  }

  Result apply_classtype(std::string_view value) {
    if (value.empty()) return tl::unexpected(std::string("classtype: missing value"));
    rule_.classtype = std::string(value);
    if (classifications_ == nullptr) return {};
    const Classification* found = classifications_->find(value);
    if (found == nullptr) return tl::unexpected("unknown classtype '" + std::string(value) + "'");
    rule_.category = found->description;
    rule_.priority = found->priority;
    return {};
  }

  Result apply_content(const RawOption& option) {
    std::string_view value = option.value;
    ContentOption content;
    if (!value.empty() && value.front() == '!') {
      content.negated = true;
      value = trim(value.substr(1));
    }
    // Snort 3 writes the modifiers after the string: content:"abc",depth 5,nocase;
    std::string_view snort3_modifiers;
    if (!value.empty() && value.front() == '"' && value.back() != '"') {
      size_t close = 1;
      while (close < value.size() && !(value[close] == '"' && value[close - 1] != '\\')) ++close;
      if (close < value.size() && trim(value.substr(close + 1)).substr(0, 1) == ",") {
        snort3_modifiers = trim(value.substr(close + 1)).substr(1);
        value = value.substr(0, close + 1);
      }
    }
    if (value.size() < 2 || value.front() != '"' || value.back() != '"') {
      return tl::unexpected(std::string("content: expected a quoted string"));
    }
    auto bytes = decode_content(value.substr(1, value.size() - 2));
    if (!bytes) return tl::unexpected("content: " + bytes.error());
    if (bytes->empty()) return tl::unexpected(std::string("content: empty pattern"));
    content.pattern = std::move(*bytes);
    BufferSection& section = current_section();
    section.steps.push_back(ChainStep{ChainStep::Kind::Content, static_cast<uint16_t>(section.contents.size())});
    section.contents.push_back(std::move(content));
    return apply_snort3_modifiers(snort3_modifiers);
  }

  // Snort 3 sub-options of content: nocase, offset N, depth N, distance N, within N,
  // fast_pattern, fast_pattern_offset N, fast_pattern_length N. Each maps to its Snort 2 /
  // Suricata modifier, with the same validation.
  Result apply_snort3_modifiers(std::string_view modifiers) {
    std::optional<uint16_t> fp_offset;
    std::optional<uint16_t> fp_length;
    while (!modifiers.empty()) {
      const size_t comma = modifiers.find(',');
      const std::string_view item = trim(modifiers.substr(0, comma));
      modifiers = comma == std::string_view::npos ? std::string_view{} : modifiers.substr(comma + 1);
      if (item.empty()) continue;
      const size_t space = item.find_first_of(" \t");
      RawOption sub;
      sub.name = item.substr(0, space);
      if (space != std::string_view::npos) {
        sub.value = trim(item.substr(space));
        sub.has_value = true;
      }
      if (sub.name == "fast_pattern_offset" || sub.name == "fast_pattern_length") {
        auto number = parse_integer(sub.value, sub.name, 0, 65535);
        if (!number) return tl::unexpected(number.error());
        (sub.name == "fast_pattern_offset" ? fp_offset : fp_length) = static_cast<uint16_t>(*number);
        continue;
      }
      if (sub.name != "nocase" && sub.name != "offset" && sub.name != "depth" && sub.name != "distance" &&
          sub.name != "within" && sub.name != "fast_pattern") {
        return tl::unexpected("content: unknown sub-option '" + std::string(item) +
                              "' (expected nocase, offset, depth, distance, within, fast_pattern, "
                              "fast_pattern_offset, fast_pattern_length)");
      }
      if (auto applied = apply_modifier(sub); !applied) return applied;
    }
    if (fp_offset || fp_length) {
      ContentOption& content = rule_.sections.back().contents.back();
      const auto length = static_cast<uint16_t>(content.pattern.size());
      const uint16_t offset = fp_offset.value_or(0);
      const uint16_t chop = fp_length.value_or(static_cast<uint16_t>(length > offset ? length - offset : 0));
      if (offset + chop > length || chop == 0) {
        return tl::unexpected(std::string("content: fast_pattern_offset/length go past the end of the content"));
      }
      content.fast_pattern = true;
      content.fast_pattern_offset = offset;
      content.fast_pattern_length = chop;
    }
    return {};
  }

  BufferSection& current_section() {
    if (rule_.sections.empty()) rule_.sections.push_back(BufferSection{});
    return rule_.sections.back();
  }

  // pcre:[!]"/regex/flags"
  Result apply_pcre(const RawOption& option) {
    std::string_view value = option.value;
    PcreOption pcre;
    if (!value.empty() && value.front() == '!') {
      pcre.negated = true;
      value = trim(value.substr(1));
    }
    if (value.size() < 2 || value.front() != '"' || value.back() != '"') {
      return tl::unexpected(std::string("pcre: expected a quoted \"/regex/flags\""));
    }
    value = value.substr(1, value.size() - 2);
    pcre.source = std::string(value);
    const size_t open = value.find('/');
    const size_t close = value.rfind('/');
    if (open != 0 || close == std::string_view::npos || close == 0) {
      return tl::unexpected("pcre: expected /regex/flags, got '" + std::string(value) + "'");
    }
    const std::string_view regex = value.substr(1, close - 1);
    uint32_t options = 0;
    for (char flag : value.substr(close + 1)) {
      switch (flag) {
        case 'i': options |= PCRE2_CASELESS; break;
        case 's': options |= PCRE2_DOTALL; break;
        case 'm': options |= PCRE2_MULTILINE; break;
        case 'x': options |= PCRE2_EXTENDED; break;
        case 'A': options |= PCRE2_ANCHORED; break;
        case 'E': options |= PCRE2_DOLLAR_ENDONLY; break;
        case 'G': options |= PCRE2_UNGREEDY; break;
        case 'R': pcre.relative = true; break;
        case 'B': case 'O': break;
        case 'U': case 'I': case 'P': case 'Q': case 'H': case 'D': case 'M': case 'C': case 'K': case 'S':
        case 'Y': case 'V': case 'W': case 'Z':
          return tl::unexpected("unsupported keyword 'pcre/" + std::string(1, flag) +
                                "' (not implemented yet: the HTTP buffers it names)");
        default:
          return tl::unexpected("pcre: unknown flag '" + std::string(1, flag) + "' (expected i s m x A E G R B O)");
      }
    }
    auto compiled = Regex::compile(regex, options);
    if (!compiled) return tl::unexpected("pcre: invalid regular expression: " + compiled.error());
    pcre.regex = std::move(*compiled);
    pcre.expression = std::string(regex);
    pcre.options = options;
    BufferSection& section = current_section();
    section.steps.push_back(ChainStep{ChainStep::Kind::Pcre, static_cast<uint16_t>(section.pcres.size())});
    section.pcres.push_back(std::move(pcre));
    return {};
  }

  // isdataat:[!]N[,relative]
  Result apply_isdataat(const RawOption& option) {
    std::string_view value = option.value;
    IsDataAtOption isdataat;
    if (!value.empty() && value.front() == '!') {
      isdataat.negated = true;
      value = trim(value.substr(1));
    }
    const size_t comma = value.find(',');
    BufferSection& section = current_section();
    const std::string_view offset = trim(value.substr(0, comma));
    if (is_variable_name(offset)) {
      const auto slot = find_byte_variable(section, offset);
      if (!slot) return tl::unexpected("isdataat: unknown byte_extract/byte_math variable '" + std::string(offset) + "'");
      isdataat.offset_var = static_cast<int8_t>(*slot);
    } else {
      auto number = parse_integer(offset, "isdataat", 0, 65535);
      if (!number) return tl::unexpected(number.error());
      isdataat.offset = static_cast<uint32_t>(*number);
    }
    if (comma != std::string_view::npos) {
      const std::string_view modifier = trim(value.substr(comma + 1));
      if (modifier == "relative") {
        isdataat.relative = true;
      } else if (modifier != "rawbytes") {
        return tl::unexpected("isdataat: unknown modifier '" + std::string(modifier) + "' (expected relative)");
      }
    }
    section.steps.push_back(ChainStep{ChainStep::Kind::IsDataAt, static_cast<uint16_t>(section.isdataats.size())});
    section.isdataats.push_back(isdataat);
    return {};
  }

  Result apply_modifier(const RawOption& option) {
    const std::string name(option.name);
    if (rule_.sections.empty() || rule_.sections.back().contents.empty()) {
      return tl::unexpected(name + " needs a preceding content option");
    }
    ContentOption& content = rule_.sections.back().contents.back();
    const int32_t length = static_cast<int32_t>(content.pattern.size());
    if (name == "nocase") {
      if (content.nocase) return tl::unexpected(std::string("nocase: used twice on the same content"));
      content.nocase = true;
      return {};
    }
    if (name == "rawbytes") {
      content.rawbytes = true;
      return {};
    }
    if (name == "startswith") {
      // Suricata turns startswith into offset 0, depth = the content length.
      if (content.startswith) return tl::unexpected(std::string("startswith: used twice on the same content"));
      if (content.offset || content.depth || content.is_relative()) {
        return tl::unexpected(std::string("startswith: cannot be combined with offset, depth, distance or within"));
      }
      content.startswith = true;
      content.offset = 0;
      content.depth = length;
      return {};
    }
    if (name == "endswith") {
      if (content.endswith) return tl::unexpected(std::string("endswith: used twice on the same content"));
      if (content.negated) return tl::unexpected(std::string("endswith: cannot be used on a negated content"));
      content.endswith = true;
      return {};
    }
    if (name == "fast_pattern") return apply_fast_pattern(option, content);
    if (!option.has_value) return tl::unexpected(name + ": missing value");
    // A byte_extract/byte_math variable of this section in place of the number.
    int8_t var = -1;
    if (is_variable_name(option.value)) {
      const auto slot = find_byte_variable(rule_.sections.back(), option.value);
      if (!slot) return tl::unexpected(name + ": unknown byte_extract/byte_math variable '" + std::string(option.value) + "'");
      var = static_cast<int8_t>(*slot);
    }
    auto number = var >= 0 ? tl::expected<int64_t, std::string>(0)
                           : parse_integer(option.value, name, name == "distance" ? -65535 : 0, 65535);
    if (!number) return tl::unexpected(number.error());
    const auto value = static_cast<int32_t>(*number);
    const bool absolute = name == "offset" || name == "depth";
    if (content.startswith) {
      return tl::unexpected(name + ": cannot be combined with startswith (it already fixes offset and depth)");
    }
    if (absolute ? content.is_relative() : (content.offset || content.depth)) {
      return tl::unexpected(name +
                            ": cannot mix relative (distance, within) and absolute (offset, depth) modifiers on one content");
    }
    if (name == "offset") {
      if (content.offset) return tl::unexpected(std::string("offset: used twice on the same content"));
      content.offset = value;
      content.offset_var = var;
    } else if (name == "depth") {
      if (content.depth) return tl::unexpected(std::string("depth: used twice on the same content"));
      if (var < 0 && value < length) {
        return tl::unexpected("depth: " + std::to_string(value) + " is smaller than the content length " +
                              std::to_string(length) + " (it could never match)");
      }
      content.depth = value;
      content.depth_var = var;
    } else if (name == "distance") {
      if (content.distance) return tl::unexpected(std::string("distance: used twice on the same content"));
      content.distance = value;
      content.distance_var = var;
    } else {
      if (content.within) return tl::unexpected(std::string("within: used twice on the same content"));
      if (var < 0 && value < length) {
        return tl::unexpected("within: " + std::to_string(value) + " is smaller than the content length " +
                              std::to_string(length) + " (it could never match)");
      }
      content.within = value;
      content.within_var = var;
    }
    return {};
  }

  Result apply_fast_pattern(const RawOption& option, ContentOption& content) {
    for (const auto& section : rule_.sections) {
      for (const auto& other : section.contents) {
        if (&other != &content && other.fast_pattern) {
          return tl::unexpected(std::string("fast_pattern: only one content of a rule can be the fast pattern"));
        }
      }
    }
    if (content.fast_pattern) return tl::unexpected(std::string("fast_pattern: used twice on the same content"));
    if (content.negated) return tl::unexpected(std::string("fast_pattern: cannot be used on a negated content"));
    content.fast_pattern = true;
    if (!option.has_value) return {};
    if (option.value == "only") {
      content.fast_pattern_only = true;
      return {};
    }
    const size_t comma = option.value.find(',');
    if (comma == std::string_view::npos) {
      return tl::unexpected("fast_pattern: invalid value '" + std::string(option.value) +
                            "' (expected nothing, 'only' or '<offset>,<length>')");
    }
    auto offset = parse_integer(trim(option.value.substr(0, comma)), "fast_pattern", 0, 65535);
    auto length = parse_integer(trim(option.value.substr(comma + 1)), "fast_pattern", 1, 65535);
    if (!offset) return tl::unexpected(offset.error());
    if (!length) return tl::unexpected(length.error());
    if (*offset + *length > static_cast<int64_t>(content.pattern.size())) {
      return tl::unexpected("fast_pattern: " + std::to_string(*offset) + "," + std::to_string(*length) +
                            " goes past the end of the content (length " + std::to_string(content.pattern.size()) + ")");
    }
    content.fast_pattern_offset = static_cast<uint16_t>(*offset);
    content.fast_pattern_length = static_cast<uint16_t>(*length);
    return {};
  }

  const ClassificationTable* classifications_;
  Rule& rule_;
  std::optional<int> explicit_priority_;
};

}  // namespace

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

tl::expected<void, std::string> parse_rule_options(std::string_view options, const ClassificationTable* classifications,
                                                   Rule& rule) {
  return OptionParser(classifications, rule).parse(options);
}

}  // namespace eastwatch::detail

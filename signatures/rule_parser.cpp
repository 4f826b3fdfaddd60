#include "signatures/rule_parser.hpp"

#include <algorithm>
#include <cctype>
#include <array>
#include <fstream>
#include <sstream>

#include "signatures/detail/header_parser.hpp"
#include "signatures/detail/option_parser.hpp"
#include "signatures/detail/text.hpp"

namespace eastwatch {

using detail::is_space;
using detail::trim;

namespace {



// Application-layer and other header protocols Suricata knows that Eastwatch does not yet.
constexpr const char* kUnsupportedProtocols[] = {
    "http2", "ftp-data", "ssl", "dcerpc", "imap", "pop3",
    "modbus", "enip", "dnp3", "nfs", "ntp", "tftp", "ikev2", "ike", "krb5", "dhcp", "snmp", "sip", "rfb", "mqtt",
    "rdp", "pgsql", "telnet", "quic", "bittorrent-dht", "websocket", "ldap", "doh2", "sctp", "pkthdr",
    "icmpv4", "icmpv6", "udp-pkt", "ipv4", "ipv6", "ip4", "ip6", "ftp-data", "template",
    "mdns", "llmnr", "pop", "arp"};

tl::expected<RuleAction, std::string> parse_action(std::string_view text) {
  if (text == "alert") return RuleAction::Alert;
  if (text == "pass") return RuleAction::Pass;
  if (text == "drop") return RuleAction::Drop;
  if (text == "reject") return RuleAction::Reject;
  if (text == "rejectsrc") return RuleAction::RejectSrc;
  if (text == "rejectdst") return RuleAction::RejectDst;
  if (text == "rejectboth") return RuleAction::RejectBoth;
  return tl::unexpected("unknown action '" + std::string(text) +
                        "' (expected alert, pass, drop, reject, rejectsrc, rejectdst or rejectboth)");
}

tl::expected<RuleProtocol, std::string> parse_protocol(std::string_view text) {
  std::string lower(text);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // tcp-pkt / tcp-stream: TCP rules that inspect only packets / only the reassembled stream
  // (parse_header records which).
  if (lower == "tcp" || lower == "tcp-pkt" || lower == "tcp-stream") return RuleProtocol::Tcp;
  if (lower == "udp") return RuleProtocol::Udp;
  if (lower == "icmp") return RuleProtocol::Icmp;
  if (lower == "ip") return RuleProtocol::Ip;
  for (const char* name : kUnsupportedProtocols) {
    if (lower == name) return tl::unexpected("unsupported protocol '" + std::string(text) + "' (not implemented yet)");
  }
  return tl::unexpected("unknown protocol '" + std::string(text) + "' (expected tcp, udp, icmp or ip)");
}

// Splits the header into whitespace-separated fields, keeping [ ... ] lists whole.
std::vector<std::string_view> header_fields(std::string_view header) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < header.size()) {
    while (i < header.size() && is_space(header[i])) ++i;
    if (i >= header.size()) break;
    const size_t start = i;
    int depth = 0;
    while (i < header.size() && (depth > 0 || !is_space(header[i]))) {
      if (header[i] == '[') ++depth;
      if (header[i] == ']') --depth;
      ++i;
    }
    fields.push_back(header.substr(start, i - start));
  }
  return fields;
}

tl::expected<void, std::string> parse_header(std::string_view header, const RuleParseContext& context, Rule& rule) {
  const auto fields = header_fields(header);
  if (fields.size() != 7) {
    return tl::unexpected("rule header has " + std::to_string(fields.size()) +
                          " fields (expected: action protocol src_addr src_port -> dst_addr dst_port)");
  }
  auto action = parse_action(fields[0]);
  if (!action) return tl::unexpected(action.error());
  rule.action = *action;
  std::string protocol_name(fields[1]);
  for (auto& c : protocol_name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // An application-layer protocol in the header: TCP (DNS: UDP and TCP) flows detected as it.
  static constexpr std::string_view kHeaderAppProtocols[] = {"http", "http1", "tls", "ssh", "smb", "dns", "ftp", "smtp"};
  if (std::find(std::begin(kHeaderAppProtocols), std::end(kHeaderAppProtocols), protocol_name) !=
      std::end(kHeaderAppProtocols)) {
    rule.app_proto = *app_proto_from_rule_name(protocol_name);
    rule.protocol = rule.app_proto == AppProto::Dns ? RuleProtocol::Ip : RuleProtocol::Tcp;
  } else {
    auto protocol = parse_protocol(fields[1]);
    if (!protocol) return tl::unexpected(protocol.error());
    rule.protocol = *protocol;
  }
  if (fields[1] == "tcp-pkt") rule.stream = Rule::StreamMode::PacketOnly;
  if (fields[1] == "tcp-stream") rule.stream = Rule::StreamMode::StreamOnly;
  if (fields[4] == "->") {
    rule.bidirectional = false;
  } else if (fields[4] == "<>") {
    rule.bidirectional = true;
  } else {
    return tl::unexpected("invalid direction '" + std::string(fields[4]) + "' (expected -> or <>)");
  }
  // With a loader's cache each distinct expression is parsed once; the results are copied.
  auto address = [&](std::string_view text) -> tl::expected<AddressSet, std::string> {
    if (context.header_cache != nullptr) return context.header_cache->address(text);
    return detail::parse_address_expression(text, *context.variables);
  };
  auto port = [&](std::string_view text) -> tl::expected<PortSet, std::string> {
    if (context.header_cache != nullptr) return context.header_cache->port(text);
    return detail::parse_port_expression(text, *context.variables);
  };
  auto src = address(fields[2]);
  if (!src) return tl::unexpected("source address: " + src.error());
  auto sport = port(fields[3]);
  if (!sport) return tl::unexpected("source port: " + sport.error());
  auto dst = address(fields[5]);
  if (!dst) return tl::unexpected("destination address: " + dst.error());
  auto dport = port(fields[6]);
  if (!dport) return tl::unexpected("destination port: " + dport.error());
  rule.src_addresses = std::move(*src);
  rule.src_ports = std::move(*sport);
  rule.dst_addresses = std::move(*dst);
  rule.dst_ports = std::move(*dport);
  return {};
}

}  // namespace

std::string RuleError::to_string() const { return file + ":" + std::to_string(line) + ": " + message; }

tl::expected<Rule, RuleError> parse_rule(std::string_view text, const RuleParseContext& context) {
  auto fail = [&](std::string message) { return tl::unexpected(RuleError{context.file, context.line, std::move(message)}); };
  text = trim(text);
  const size_t open = text.find('(');
  if (open == std::string_view::npos) return fail("rule has no options: expected '(' after the header");
  const size_t close = text.rfind(')');
  if (close == std::string_view::npos || close < open) return fail("rule options must end with ')'");
  if (!trim(text.substr(close + 1)).empty()) {
    return fail("unexpected text after the closing ')': '" + std::string(trim(text.substr(close + 1))) + "'");
  }
  Rule rule;
  rule.file = context.file;
  rule.line = context.line;
  rule.text = std::string(text);
  if (context.variables == nullptr) return fail("internal error: no rule variables");
  if (auto header = parse_header(text.substr(0, open), context, rule); !header) return fail(header.error());
  if (auto options = detail::parse_rule_options(text.substr(open + 1, close - open - 1), context.classifications, rule);
      !options) {
    return fail(options.error());
  }
  if (const auto& flow = rule.packet.flow) {
    if ((flow->only_stream && rule.stream == Rule::StreamMode::PacketOnly) ||
        (flow->no_stream && rule.stream == Rule::StreamMode::StreamOnly)) {
      return fail("flow:" + std::string(flow->only_stream ? "only_stream" : "no_stream") +
                  " contradicts the header protocol '" + std::string(rule.stream == Rule::StreamMode::PacketOnly ? "tcp-pkt" : "tcp-stream") + "'");
    }
    if (flow->only_stream) rule.stream = Rule::StreamMode::StreamOnly;
    if (flow->no_stream) rule.stream = Rule::StreamMode::PacketOnly;
  }
  // dsize is a packet property: Suricata inspects such rules on packets only.
  if (rule.packet.dsize && rule.stream == Rule::StreamMode::Both) rule.stream = Rule::StreamMode::PacketOnly;
  if (rule.protocol != RuleProtocol::Tcp) {
    if (rule.stream == Rule::StreamMode::StreamOnly) return fail("flow:only_stream needs a tcp rule");
    rule.stream = Rule::StreamMode::PacketOnly;
  }
  return rule;
}

namespace {

constexpr int kMaxIncludeDepth = 16;

std::string directory_of(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string(".") : std::string(path.substr(0, slash));
}

class RuleFileLoader {
 public:
  RuleFileLoader(const RuleVariables& variables, const ClassificationTable* classifications, RuleLoadResult& result)
      : variables_(variables), classifications_(classifications), result_(result), header_cache_(variables) {}

  void load_file(const std::string& path, const RuleError* included_from) {
    if (std::find(stack_.begin(), stack_.end(), path) != stack_.end()) {
      error(*included_from, "include: '" + path + "' includes itself (through " + stack_.back() + ")");
      return;
    }
    if (included_from != nullptr) result_.included_files.push_back(path);
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      if (included_from != nullptr) {
        error(*included_from, "include: cannot open '" + path + "'");
      } else {
        result_.errors.push_back(RuleError{path, 0, "cannot open rule file"});
      }
      return;
    }
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string text = buffer.str();
    // About one rule per 600 bytes in ET Open: room reserved (address space, untouched until
    // used) saves moving every rule loaded so far each time the vector grows.
    const size_t wanted = result_.rules.size() + text.size() / 400;
    if (wanted > result_.rules.capacity()) result_.rules.reserve(std::max(wanted, 2 * result_.rules.capacity()));
    stack_.push_back(path);
    load_text(text, path);
    stack_.pop_back();
  }

  void load_text(std::string_view text, std::string_view file_name) {
    RuleParseContext context{&variables_, classifications_, std::string(file_name), 0, &header_cache_};
    std::string pending;  // a rule continued over several lines with a trailing backslash
    uint32_t pending_line = 0;
    uint32_t line_number = 0;
    while (!text.empty() || !pending.empty()) {
      std::string_view line;
      if (!text.empty()) {
        const size_t newline = text.find('\n');
        line = text.substr(0, newline);
        text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
        ++line_number;
      }
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      const std::string_view trimmed = trim(line);
      if (pending.empty() && (trimmed.empty() || trimmed.front() == '#')) {
        if (text.empty()) break;
        continue;
      }
      if (pending.empty()) pending_line = line_number;
      // As Suricata does: a trailing backslash joins the next line as it is (its indentation kept).
      if (!trimmed.empty() && trimmed.back() == '\\' && !text.empty()) {
        pending.append(pending.empty() ? trimmed.substr(0, trimmed.size() - 1) : line.substr(0, line.rfind('\\')));
        continue;
      }
      pending.append(pending.empty() ? trimmed : line);
      context.line = pending_line;
      if (pending.rfind("include", 0) == 0 && (pending.size() == 7 || is_space(pending[7]))) {
        include(trim(std::string_view(pending).substr(7)), context);
      } else {
        auto rule = parse_rule(pending, context);
        if (rule) {
          result_.rules.push_back(std::move(*rule));
        } else {
          result_.errors.push_back(std::move(rule.error()));
        }
      }
      pending.clear();
      if (text.empty()) break;
    }
  }

 private:
  // Snort's `include PATH`: relative paths and $RULE_PATH (or any leading $VARIABLE/) are
  // resolved against the directory of the including file.
  void include(std::string_view target, const RuleParseContext& context) {
    const RuleError where{context.file, context.line, ""};
    if (target.empty()) {
      error(where, "include: missing file name");
      return;
    }
    if (stack_.size() >= static_cast<size_t>(kMaxIncludeDepth)) {
      error(where, "include: nested more than " + std::to_string(kMaxIncludeDepth) + " deep");
      return;
    }
    std::string path(target);
    if (path.front() == '$') {
      const size_t slash = path.find('/');
      path = slash == std::string::npos ? std::string() : path.substr(slash + 1);
      if (path.empty()) {
        error(where, "include: expected $VARIABLE/file, got '" + std::string(target) + "'");
        return;
      }
    }
    if (path.front() != '/') path = directory_of(context.file) + "/" + path;
    load_file(path, &where);
  }

  void error(const RuleError& where, std::string message) {
    result_.errors.push_back(RuleError{where.file, where.line, std::move(message)});
  }

  const RuleVariables& variables_;
  const ClassificationTable* classifications_;
  RuleLoadResult& result_;
  std::vector<std::string> stack_;  // files being read, for cycles
  detail::HeaderCache header_cache_;
};

}  // namespace

RuleLoadResult load_rule_text(std::string_view text, std::string_view file_name, const RuleVariables& variables,
                              const ClassificationTable* classifications) {
  RuleLoadResult result;
  RuleFileLoader loader(variables, classifications, result);
  loader.load_text(text, file_name);
  return result;
}

RuleLoadResult load_rule_files(const std::vector<std::string>& paths, const RuleVariables& variables,
                               const ClassificationTable* classifications) {
  RuleLoadResult result;
  RuleFileLoader loader(variables, classifications, result);
  for (const auto& path : paths) loader.load_file(path, nullptr);
  return result;
}

}  // namespace eastwatch

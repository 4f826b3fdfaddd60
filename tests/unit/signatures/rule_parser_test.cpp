#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "signatures/rule_parser.hpp"

using namespace eastwatch;

namespace {

const RuleVariables& vars() {
  static const RuleVariables v = RuleVariables::with_suricata_defaults();
  return v;
}
const ClassificationTable& classes() {
  static const ClassificationTable c = ClassificationTable::builtin();
  return c;
}

tl::expected<Rule, RuleError> parse(const std::string& text) {
  return parse_rule(text, RuleParseContext{&vars(), &classes(), "t.rules", 7});
}

std::string error_of(const std::string& text) {
  auto rule = parse(text);
  if (rule) return "(parsed)";
  return rule.error().message;
}

}  // namespace

TEST_CASE("a full rule parses into the model") {
  auto rule = parse(
      R"(alert tcp $HOME_NET any -> $EXTERNAL_NET [80,443] (msg:"ET TEST \"quoted\" \; semi"; )"
      R"(content:"GET|20|/"; depth:5; content:!"evil"; nocase; distance:0; within:20; )"
      R"(content:"abc|0d 0a|"; fast_pattern:1,3; reference:cve,2021-44228; reference:url,example.com/a; )"
      R"(classtype:trojan-activity; metadata:created_at 2010_07_30, updated_at 2019_01_01; sid:2000001; rev:3; gid:1;))");
  REQUIRE(rule);
  CHECK(rule->action == RuleAction::Alert);
  CHECK(rule->protocol == RuleProtocol::Tcp);
  CHECK_FALSE(rule->bidirectional);
  CHECK(rule->msg == "ET TEST \"quoted\" ; semi");
  CHECK(rule->sid == 2000001);
  CHECK(rule->rev == 3);
  CHECK(rule->classtype == "trojan-activity");
  CHECK(rule->category == "A Network Trojan was detected");
  CHECK(rule->priority == 1);
  REQUIRE(rule->references.size() == 2);
  CHECK(rule->references[1].system == "url");
  CHECK(rule->references[1].id == "example.com/a");
  CHECK(rule->metadata == std::vector<std::string>{"created_at 2010_07_30", "updated_at 2019_01_01"});
  CHECK(rule->dst_ports.contains(443));
  CHECK_FALSE(rule->dst_ports.contains(8080));
  CHECK(rule->file == "t.rules");
  CHECK(rule->line == 7);
  REQUIRE(rule->sections.size() == 1);
  const auto& c = rule->sections[0].contents;
  REQUIRE(c.size() == 3);
  CHECK(c[0].pattern == "GET /");
  CHECK(c[0].depth == 5);
  CHECK_FALSE(c[0].offset);
  CHECK(c[1].negated);
  CHECK(c[1].nocase);
  CHECK(c[1].distance == 0);
  CHECK(c[1].within == 20);
  CHECK(c[1].is_relative());
  CHECK(c[2].pattern == "abc\r\n");
  CHECK(c[2].fast_pattern);
  CHECK(c[2].fast_pattern_offset == 1);
  CHECK(c[2].fast_pattern_length == 3);
}

TEST_CASE("priority overrides the classtype's - actions and protocols") {
  auto rule = parse(R"(drop udp any any <> any 53 (msg:"x"; classtype:trojan-activity; priority:4; sid:1;))");
  REQUIRE(rule);
  CHECK(rule->priority == 4);
  CHECK(rule->action == RuleAction::Drop);
  CHECK(rule->bidirectional);
  CHECK(parse(R"(pass ip any any -> any any (sid:1;))")->protocol == RuleProtocol::Ip);
  CHECK(parse(R"(alert icmp any any -> any any (sid:1;))")->protocol == RuleProtocol::Icmp);
  CHECK(parse(R"(alert tcp any any -> any any (sid:1;))")->priority == 3);
}

TEST_CASE("escapes and hex in content") {
  auto rule = parse(R"(alert tcp any any -> any any (content:"a\;b\"c\\d\:e|7C|f| 41 42 |"; sid:1;))");
  REQUIRE(rule);
  CHECK(rule->sections[0].contents[0].pattern == "a;b\"c\\d:e|fAB");
}

TEST_CASE("relative modifiers on the first content are relative to the buffer start") {
  auto rule = parse(R"(alert tcp any any -> any any (content:"a"; distance:0; content:"b"; within:5; sid:1;))");
  REQUIRE(rule);
  CHECK(rule->sections[0].contents[0].is_relative());
}

TEST_CASE("exact error texts") {
  const std::string h = "alert tcp any any -> any any ";
  CHECK(error_of(h + R"((msg:"x";))") == "rule has no sid");
  CHECK(error_of(h + R"((content:"abc"; depth:2; sid:1;))") ==
        "depth: 2 is smaller than the content length 3 (it could never match)");
  CHECK(error_of(h + R"((content:"a"; content:"abc"; within:2; sid:1;))") ==
        "within: 2 is smaller than the content length 3 (it could never match)");
  CHECK(error_of(h + R"((content:"abc"; offset:1; distance:2; sid:1;))") ==
        "distance: cannot mix relative (distance, within) and absolute (offset, depth) modifiers on one content");
  CHECK(error_of(h + R"((content:"abc"; depth:5; depth:6; sid:1;))") == "depth: used twice on the same content");
  CHECK(error_of(h + R"((content:"abc"; nocase; nocase; sid:1;))") == "nocase: used twice on the same content");
  CHECK(error_of(h + R"((nocase; content:"a"; sid:1;))") == "nocase needs a preceding content option");
  CHECK(error_of(h + R"((content:"abc"; offset:-1; sid:1;))") ==
        "offset: invalid value '-1' (expected an integer from 0 to 65535)");
  CHECK(error_of(h + R"((content:"abc"; offset:x1; sid:1;))") ==
        "offset: unknown byte_extract/byte_math variable 'x1'");
  CHECK(error_of(h + R"((content:"ab|4"; sid:1;))") == "content: unterminated |hex| block");
  CHECK(error_of(h + R"((content:"ab|4|"; sid:1;))") == "content: odd number of hex digits in |hex| block");
  CHECK(error_of(h + R"((content:"ab|zz|"; sid:1;))") == "content: invalid character 'z' in |hex| block");
  CHECK(error_of(h + R"((content:"a\nb"; sid:1;))") ==
        "content: invalid escape '\\n' (only \\\" \\; \\: \\| \\\\ are allowed)");
  CHECK(error_of(h + R"((content:""; sid:1;))") == "content: empty pattern");
  CHECK(error_of(h + R"((content:abc; sid:1;))") == "content: expected a quoted string");
  CHECK(error_of(h + R"((content:"a"; fast_pattern; content:"b"; fast_pattern; sid:1;))") ==
        "fast_pattern: only one content of a rule can be the fast pattern");
  CHECK(error_of(h + R"((content:!"a"; fast_pattern; sid:1;))") ==
        "fast_pattern: cannot be used on a negated content");
  CHECK(error_of(h + R"((content:"abc"; fast_pattern:2,5; sid:1;))") ==
        "fast_pattern: 2,5 goes past the end of the content (length 3)");
  CHECK(error_of(h + R"((classtype:no-such-class; sid:1;))") == "unknown classtype 'no-such-class'");
  CHECK(error_of(h + R"((sid:0;))") == "sid: invalid value '0' (expected an integer from 1 to 4294967295)");
  CHECK(error_of(h + R"((sid:1; sid:2;))") == "sid: duplicate sid option");
  CHECK(error_of(h + R"((priority:0; sid:1;))") == "priority: invalid value '0' (expected an integer from 1 to 255)");
  CHECK(error_of(h + R"((reference:nocomma; sid:1;))") == "reference: expected 'system,id', got 'nocomma'");
  CHECK(error_of(h + R"((flowint:count,+,1; sid:1;))") == "unsupported keyword 'flowint' (not implemented yet)");
  CHECK(error_of(h + R"((conten:"a"; sid:1;))") == "unknown rule option 'conten'");
  CHECK(error_of(h + R"((msg:"x"; sid:1))") == "option 'sid:1' is not terminated by ';'");
  CHECK(error_of(h + R"((msg:"x"; sid:1;) trailing)") == "unexpected text after the closing ')': 'trailing'");
  CHECK(error_of("alert tcp any any -> any any msg") == "rule has no options: expected '(' after the header");
  CHECK(error_of(R"(alert tcp any any any -> any any (sid:1;))") ==
        "rule header has 8 fields (expected: action protocol src_addr src_port -> dst_addr dst_port)");
  CHECK(error_of(R"(alert tcp any any <- any any (sid:1;))") == "invalid direction '<-' (expected -> or <>)");
  CHECK(error_of(R"(warn tcp any any -> any any (sid:1;))") ==
        "unknown action 'warn' (expected alert, pass, drop, reject, rejectsrc, rejectdst or rejectboth)");
  CHECK(error_of(R"(alert http2 any any -> any any (sid:1;))") == "unsupported protocol 'http2' (not implemented yet)");
  CHECK(error_of(R"(alert foo any any -> any any (sid:1;))") ==
        "unknown protocol 'foo' (expected tcp, udp, icmp or ip)");
  CHECK(error_of(R"(alert tcp $NOPE any -> any any (sid:1;))") == "source address: undefined variable $NOPE");
  CHECK(error_of(R"(alert tcp any 99999 -> any any (sid:1;))") ==
        "source port: invalid port '99999' (expected 0-65535, a range a:b, or a list)");
}

TEST_CASE("rule files: comments and continuation lines and CRLF and errors with file:line") {
  const std::string text =
      "# a comment\r\n"
      "\r\n"
      "alert tcp any any -> any any (msg:\"one\"; content:\"a\"; sid:1;)\r\n"
      "# alert tcp any any -> any any (msg:\"disabled\"; sid:2;)\n"
      "alert tcp any any -> any any (msg:\"two \\\n"
      "   lines\"; content:\"b\"; \\\n"
      "   sid:3;)\n"
      "alert tcp any any -> any any (msg:\"bad\"; content:\"abc\"; depth:1; sid:4;)\n"
      "alert tcp any any -> any any (msg:\"last, no newline\"; sid:5;)";
  RuleLoadResult result = load_rule_text(text, "pack.rules", vars(), &classes());
  REQUIRE(result.rules.size() == 3);
  CHECK(result.rules[0].sid == 1);
  CHECK(result.rules[0].line == 3);
  CHECK(result.rules[1].sid == 3);
  CHECK(result.rules[1].line == 5);
  CHECK(result.rules[1].msg == "two    lines");
  CHECK(result.rules[2].sid == 5);
  CHECK(result.rules[2].line == 9);
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].to_string() == "pack.rules:8: depth: 1 is smaller than the content length 3 (it could never match)");

  RuleLoadResult missing = load_rule_files({"/nonexistent.rules"}, vars(), &classes());
  REQUIRE(missing.errors.size() == 1);
  CHECK(missing.errors[0].to_string() == "/nonexistent.rules:0: cannot open rule file");
}

TEST_CASE("classification.config parsing") {
  std::vector<std::string> errors;
  auto table = ClassificationTable::parse(
      "# c\nconfig classification: a-b,Some Thing,2\nconfig classification: broken\nconfig classification: x,y,0\n",
      "c.config", &errors);
  REQUIRE(table.find("a-b"));
  CHECK(table.find("a-b")->description == "Some Thing");
  CHECK(table.find("a-b")->priority == 2);
  REQUIRE(errors.size() == 2);
  CHECK(errors[0] == "c.config:3: expected 'config classification: name,description,priority'");
  CHECK(errors[1] == "c.config:4: invalid classification ' x,y,0' (expected name,description,priority 1-255)");
  CHECK(ClassificationTable::builtin().size() >= 38);
}

TEST_CASE("Snort 3 content sub-options map to the Snort 2 / Suricata modifiers") {
  auto rule = parse(R"(alert tcp any any -> any any ( msg:"s3"; content:"2|00 00|Drives",depth 16,nocase; )"
                    R"(content:"qaz",distance 2,within 10; content:"abcdef",fast_pattern,fast_pattern_offset 1,)"
                    R"(fast_pattern_length 3; sid:105; rev:14; ))");
  REQUIRE(rule);
  const auto& c = rule->sections[0].contents;
  REQUIRE(c.size() == 3);
  CHECK(c[0].pattern == std::string("2\0\0Drives", 9));
  CHECK(c[0].depth == 16);
  CHECK(c[0].nocase);
  CHECK(c[1].distance == 2);
  CHECK(c[1].within == 10);
  CHECK(c[2].fast_pattern);
  CHECK(c[2].fast_pattern_offset == 1);
  CHECK(c[2].fast_pattern_length == 3);
  const std::string h = "alert tcp any any -> any any ";
  CHECK(error_of(h + R"((content:"abc",depth 2; sid:1;))") ==
        "depth: 2 is smaller than the content length 3 (it could never match)");
  CHECK(error_of(h + R"((content:"abc",sideways; sid:1;))") ==
        "content: unknown sub-option 'sideways' (expected nocase, offset, depth, distance, within, fast_pattern, "
        "fast_pattern_offset, fast_pattern_length)");
  auto service = parse(h + R"((service:http, imap ,ssl; content:"a"; sid:1;))");
  REQUIRE(service);
  CHECK(service->services == std::vector<uint8_t>{static_cast<uint8_t>(AppProto::Http), Rule::kUnidentifiedService,
                                                  static_cast<uint8_t>(AppProto::Tls)});
  CHECK(error_of(h + R"((service:; sid:1;))") == "service: missing value");
  CHECK(error_of(h + R"((service:http,,dns; sid:1;))") == "service: empty service name");
}

TEST_CASE("application-layer protocols: header protocols and app-layer-protocol") {
  auto http = parse(R"(alert http any any -> any any (content:"x"; sid:1;))");
  REQUIRE(http);
  CHECK(http->protocol == RuleProtocol::Tcp);
  CHECK(http->app_proto == AppProto::Http);
  CHECK(http->stream == Rule::StreamMode::Both);
  CHECK(parse(R"(alert HTTP1 any any -> any any (sid:1;))")->app_proto == AppProto::Http);
  CHECK(parse(R"(alert tls any any -> any any (sid:1;))")->app_proto == AppProto::Tls);
  auto dns = parse(R"(alert dns any any -> any any (sid:1;))");
  CHECK(dns->protocol == RuleProtocol::Ip);  // DNS over UDP and TCP
  CHECK(dns->app_proto == AppProto::Dns);
  CHECK(error_of(R"(alert dcerpc any any -> any any (sid:1;))") == "unsupported protocol 'dcerpc' (not implemented yet)");
  const std::string h = "alert tcp any any -> any any ";
  auto alp = parse(h + "(app-layer-protocol:!tls; sid:1;)");
  REQUIRE(alp);
  REQUIRE(alp->app_layer_protocol);
  CHECK(alp->app_layer_protocol->proto == AppProto::Tls);
  CHECK(alp->app_layer_protocol->negated);
  CHECK(parse(h + "(app-layer-protocol:failed; sid:1;)")->app_layer_protocol->proto == AppProto::Failed);
  CHECK(error_of(h + "(app-layer-protocol:krb5; sid:1;)") ==
        "unsupported keyword 'app-layer-protocol:krb5' (not implemented yet: Eastwatch detects http, tls, ssh, smb, "
        "dns, ftp and smtp)");
  CHECK(error_of(h + "(app-layer-protocol:http; app-layer-protocol:dns; sid:1;)") ==
        "app-layer-protocol: used twice in one rule");
  // Quotes do not protect a ';' (Suricata splits at unescaped ';' only): a quote inside a pcre
  // does not swallow the options after it.
  CHECK(error_of(h + R"((pcre:"/^["']?post/Ri"; sid:1;))") == "(parsed)");
}

TEST_CASE("include: Snort's include lines, relative to the including file, with errors at the line") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(EASTWATCH_BINARY_DIR) / "include_test";
  fs::remove_all(dir);
  fs::create_directories(dir / "more");
  auto write = [&](const fs::path& path, const std::string& text) { std::ofstream(path) << text; };
  write(dir / "main.rules",
        "alert tcp any any -> any any (content:\"a\"; sid:1;)\n"
        "include more/second.rules\n"
        "include $RULE_PATH/third.rules\n"
        "include missing.rules\n"
        "include main.rules\n"
        "alert tcp any any -> any any (content:\"z\"; sid:9;)\n");
  write(dir / "more" / "second.rules", "alert tcp any any -> any any (content:\"b\"; sid:2;)\ninclude ../third.rules\n");
  write(dir / "third.rules", "alert tcp any any -> any any (content:\"c\"; sid:3;)\n");
  const auto result = load_rule_files({(dir / "main.rules").string()}, RuleVariables::with_suricata_defaults(), nullptr);
  std::vector<uint32_t> sids;
  for (const auto& rule : result.rules) sids.push_back(rule.sid);
  CHECK(sids == std::vector<uint32_t>{1, 2, 3, 3, 9});
  CHECK(result.rules[2].file == (dir / "more" / "../third.rules").string());
  REQUIRE(result.errors.size() == 2);
  const std::string main_file = (dir / "main.rules").string();
  CHECK(result.errors[0].to_string() == main_file + ":4: include: cannot open '" + (dir / "missing.rules").string() + "'");
  CHECK(result.errors[1].to_string().rfind(main_file + ":5: include: '" + (dir / "main.rules").string() + "' includes itself", 0) == 0);
}

TEST_CASE("a loader parses each header expression once: rules sharing one get the same sets, and errors") {
  // The loader memoizes header expressions (detail::HeaderCache); what each rule gets must be
  // exactly what parsing the rule alone gives, for sets and for errors.
  const std::string text =
      "alert tcp $HOME_NET any -> !$HOME_NET $HTTP_PORTS (msg:\"a\"; sid:1;)\n"
      "alert tcp $HOME_NET any -> !$HOME_NET $HTTP_PORTS (msg:\"b\"; sid:2;)\n"
      "alert tcp !$HOME_NET 1024: -> $HOME_NET [80,!81] (msg:\"c\"; sid:3;)\n"
      "alert tcp $NO_SUCH_VAR any -> any any (msg:\"d\"; sid:4;)\n"
      "alert tcp $NO_SUCH_VAR any -> any any (msg:\"e\"; sid:5;)\n";
  const RuleLoadResult loaded = load_rule_text(text, "m.rules", vars(), &classes());
  REQUIRE(loaded.rules.size() == 3);
  REQUIRE(loaded.errors.size() == 2);
  CHECK(loaded.errors[0].message == loaded.errors[1].message);
  CHECK(loaded.errors[0].line == 4);
  CHECK(loaded.errors[1].line == 5);
  CHECK(loaded.errors[0].message == error_of("alert tcp $NO_SUCH_VAR any -> any any (msg:\"d\"; sid:4;)"));
  auto same = [](const auto& a, const auto& b) {
    if (a.is_any() != b.is_any() || a.ranges().size() != b.ranges().size()) return false;
    for (size_t i = 0; i < a.ranges().size(); ++i) {
      if (!(a.ranges()[i].first == b.ranges()[i].first) || !(a.ranges()[i].last == b.ranges()[i].last)) return false;
    }
    return true;
  };
  uint32_t line = 0;
  std::string_view rest = text;
  for (const Rule& rule : loaded.rules) {
    ++line;
    const std::string one(rest.substr(0, rest.find('\n')));
    rest.remove_prefix(one.size() + 1);
    auto alone = parse(one);
    REQUIRE(alone);
    CHECK(rule.line == line);
    CHECK(same(rule.src_addresses, alone->src_addresses));
    CHECK(same(rule.dst_addresses, alone->dst_addresses));
    CHECK(same(rule.src_ports, alone->src_ports));
    CHECK(same(rule.dst_ports, alone->dst_ports));
  }
  // And the sets mean what they say: !$HOME_NET excludes 10.1.2.3, $HTTP_PORTS holds 80.
  auto home = *AddressSet::parse_cidr("10.1.2.3/32");
  CHECK(loaded.rules[0].src_addresses.contains(home.first));
  CHECK_FALSE(loaded.rules[0].dst_addresses.contains(home.first));
  CHECK(loaded.rules[0].dst_ports.contains(80));
  CHECK(loaded.rules[2].dst_ports.contains(80));
  CHECK_FALSE(loaded.rules[2].dst_ports.contains(81));
}

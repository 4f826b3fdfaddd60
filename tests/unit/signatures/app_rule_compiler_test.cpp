// The compiler's handling of application-layer rules: which stage each section belongs to,
// where a rule's fast pattern lives, and that such rules leave the packet groups for the
// per-buffer databases (signatures/rule_compiler.hpp).
#include <string>

#include <catch2/catch.hpp>

#include "signatures/rule_compiler.hpp"
#include "signatures/rule_parser.hpp"

using namespace eastwatch;

namespace {

Rule rule_of(const std::string& options, uint32_t sid = 1, const std::string& protocol = "http") {
  static const RuleVariables vars = RuleVariables::with_suricata_defaults();
  auto rule = parse_rule("alert " + protocol + " any any -> any any (" + options + " sid:" + std::to_string(sid) + ";)",
                         RuleParseContext{&vars, nullptr, "t.rules", 1});
  REQUIRE(rule.has_value());
  return std::move(*rule);
}

}  // namespace

TEST_CASE("sections are staged: request headers, request body, response headers, response body") {
  const Rule r = rule_of(R"(http.uri; content:"/a"; http.request_body; content:"b"; http.stat_code; content:"200"; file.data; content:"x";)");
  REQUIRE(r.sections.size() == 4);
  CHECK(section_stage(r, 0, TxSide::Request) == 0);
  CHECK(section_stage(r, 1, TxSide::Request) == 1);
  CHECK(section_stage(r, 2, TxSide::Request) == 2);
  // file.data after a response buffer is the response body, whatever side is inspected.
  CHECK(section_stage(r, 3, TxSide::Request) == 3);
  CHECK(rule_tx_side(r) == TxSide::Request);

  // A two-sided buffer alone follows the rule's direction, else the side being inspected.
  const Rule either = rule_of(R"(http.header; content:"X-A";)");
  CHECK(rule_tx_side(either) == TxSide::Either);
  CHECK(section_stage(either, 0, TxSide::Request) == 0);
  CHECK(section_stage(either, 0, TxSide::Response) == 2);
  const Rule to_client = rule_of(R"(flow:to_client; file.data; content:"MZ";)");
  CHECK(rule_tx_side(to_client) == TxSide::Response);
  CHECK(section_stage(to_client, 0, TxSide::Request) == 3);

  const Rule dns = rule_of(R"(dns.query; content:"evil";)", 1, "dns");
  CHECK(section_stage(dns, 0, TxSide::Request) == 0);
  CHECK(app_protocol_of(BufferKind::DnsQuery) == AppTxProtocol::Dns);
  CHECK(app_protocol_of(BufferKind::Ja3sHash) == AppTxProtocol::Tls);
  CHECK(app_protocol_of(BufferKind::FileData) == AppTxProtocol::Http);
  CHECK(app_protocol_of(BufferKind::Payload) == AppTxProtocol::Count);
}

TEST_CASE("the fast pattern of an app-layer rule lives in its earliest stage, or in the body when the headers are carried") {
  std::vector<Rule> rules;
  // 0: method (carried) + body: the body's longer content.
  rules.push_back(rule_of(R"(http.method; content:"POST"; http.request_body; content:"password=";)", 1));
  // 1: the request headers block is carried too.
  rules.push_back(rule_of(R"(http.header; content:"X-Forwarded"; http.request_body; content:"cmd=whoami-and-more";)", 2));
  // 2: http.accept is not carried: the fast pattern stays in the headers.
  rules.push_back(rule_of(R"(http.accept; content:"*/*"; http.request_body; content:"longer-body-content";)", 3));
  // 3: request and response: the request's (earliest) stage.
  rules.push_back(rule_of(R"(http.uri; content:"/x"; http.stat_code; content:"200"; file.data; content:"much-longer-content";)", 4));
  // 4: a transform makes its own buffer variant.
  rules.push_back(rule_of(R"(http.uri; to_lowercase; content:"/admin";)", 5));
  rules.push_back(rule_of(R"(http.uri; content:"/Admin";)", 6));
  // 6: no content anywhere: checked on every HTTP transaction.
  rules.push_back(rule_of(R"(urilen:5;)", 7));
  // file.data on a known side shares that side's body database; without a side it has its own.
  rules.push_back(rule_of(R"(flow:to_client; file.data; content:"response-bytes";)", 9));
  rules.push_back(rule_of(R"(file.data; content:"either-side";)", 10));
  // 7: a packet rule stays a packet rule.
  rules.push_back(rule_of(R"(content:"packet-bytes";)", 8, "tcp"));
  auto compiled = compile_rules(std::move(rules));
  REQUIRE(compiled.has_value());
  const CompiledRuleSet& set = **compiled;
  auto index_of = [&](uint32_t sid) {
    for (uint32_t i = 0; i < set.rules().size(); ++i) {
      if (set.rules()[i].sid == sid) return i;
    }
    FAIL("no sid " << sid);
    return 0u;
  };
  CHECK(set.fast_pattern_bytes(index_of(1)) == "password=");
  CHECK(set.fast_pattern_bytes(index_of(2)) == "cmd=whoami-and-more");
  CHECK(set.fast_pattern_bytes(index_of(3)) == "*/*");
  CHECK(set.fast_pattern_bytes(index_of(4)) == "/x");
  CHECK(set.is_app_rule(index_of(1)));
  CHECK_FALSE(set.is_app_rule(index_of(8)));
  CHECK(set.has_app_rules());

  // Each rule with a fast pattern is in the variant of its fast pattern's section.
  const auto variants = set.buffer_prefilters();
  auto variant_of = [&](uint32_t sid) { return variants[static_cast<size_t>(set.fast_pattern_variant(index_of(sid)))]; };
  CHECK(variant_of(1).kind == BufferKind::HttpRequestBody);
  CHECK(variant_of(4).kind == BufferKind::HttpUri);
  CHECK(set.fast_pattern_variant(index_of(5)) != set.fast_pattern_variant(index_of(6)));
  CHECK(variant_of(5).transforms.size() == 1);
  CHECK(variant_of(6).transforms.empty());
  CHECK(set.variants(BufferKind::HttpUri).size() == 2);
  CHECK(set.fast_pattern_variant(index_of(8)) == -1);
  CHECK(variant_of(9).kind == BufferKind::HttpResponseBody);
  CHECK(variant_of(10).kind == BufferKind::FileData);
  const auto unprefiltered = set.app_unprefiltered(AppTxProtocol::Http);
  REQUIRE(unprefiltered.size() == 1);
  CHECK(set.rules()[unprefiltered[0]].sid == 7);
  CHECK(set.app_unprefiltered(AppTxProtocol::Dns).empty());

  // The packet groups know only the packet rule.
  const auto& tcp = set.group(PrefilterGroupId::Tcp, true, 80);
  for (uint32_t i = 0; i < set.rules().size(); ++i) CHECK(tcp.contains(i) == !set.is_app_rule(i));
}

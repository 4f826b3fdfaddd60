// asn1 option parsing (Suricata 7's rust/src/asn1/parse_rules.rs grammar and bounds, each case
// taken from its documented tests), byte_test with 0 bytes, and Snort 3's raw_data.
#include <catch2/catch.hpp>

#include "signatures/detail/asn1_option.hpp"
#include "signatures/rule_parser.hpp"

using namespace eastwatch;
using eastwatch::detail::parse_asn1;

namespace {

tl::expected<Rule, RuleError> parse(const std::string& options, const char* header = "alert tcp any any -> any any") {
  static const RuleVariables vars = RuleVariables::with_suricata_defaults();
  return parse_rule(std::string(header) + " (" + options + " sid:1;)", RuleParseContext{&vars, nullptr, "t", 1});
}

std::string error_of(const std::string& options) {
  auto rule = parse(options);
  return rule ? "(parsed)" : rule.error().message;
}

}  // namespace

TEST_CASE("asn1 options and their bounds as Suricata parses them") {
  auto one = parse_asn1("oversize_length 1024");
  REQUIRE(one);
  CHECK(one->oversize);
  CHECK(one->oversize_length == 1024);
  CHECK_FALSE(one->relative);
  CHECK(one->offset == 0);
  CHECK(parse_asn1("oversize_length 0"));
  CHECK(parse_asn1("oversize_length 4294967295"));
  CHECK_FALSE(parse_asn1("oversize_length 4294967296"));
  CHECK_FALSE(parse_asn1("oversize_length -1"));
  CHECK_FALSE(parse_asn1("oversize_length"));
  CHECK_FALSE(parse_asn1("oversize_length2048"));
  CHECK(parse_asn1("absolute_offset 0"));
  CHECK(parse_asn1("absolute_offset 65535")->offset == 65535);
  CHECK_FALSE(parse_asn1("absolute_offset 65536"));
  CHECK_FALSE(parse_asn1("absolute_offset -1"));
  CHECK_FALSE(parse_asn1("absolute_offset"));
  auto back = parse_asn1("relative_offset -65535");
  REQUIRE(back);
  CHECK(back->relative);
  CHECK(back->offset == -65535);
  CHECK(parse_asn1("relative_offset 65535"));
  CHECK_FALSE(parse_asn1("relative_offset -65536"));
  CHECK_FALSE(parse_asn1("relative_offset 65536"));
  CHECK_FALSE(parse_asn1("relative_offset"));
  CHECK(parse_asn1("bitstring_overflow")->bitstring_overflow);
  CHECK(parse_asn1("double_overflow")->double_overflow);
}

TEST_CASE("asn1 options are separated by a comma or white space in any order") {
  auto et = parse_asn1("double_overflow, bitstring_overflow, relative_offset 54, oversize_length 2048");
  REQUIRE(et);
  CHECK(et->double_overflow);
  CHECK(et->bitstring_overflow);
  CHECK(et->relative);
  CHECK(et->offset == 54);
  CHECK(et->oversize);
  CHECK(et->oversize_length == 2048);
  auto spaced = parse_asn1("oversize_length 1024 absolute_offset 10, bitstring_overflow");
  REQUIRE(spaced);
  CHECK(spaced->oversize_length == 1024);
  CHECK(spaced->offset == 10);
  CHECK(spaced->bitstring_overflow);
  auto lines = parse_asn1("\n\t double_overflow, oversize_length 1024 relative_offset 10,\n bitstring_overflow");
  REQUIRE(lines);
  CHECK(lines->double_overflow);
  CHECK(lines->bitstring_overflow);
  CHECK(lines->relative);
  CHECK(lines->offset == 10);
  // Suricata's failures: empty, an unknown option, two commas, options run together.
  CHECK_FALSE(parse_asn1(""));
  CHECK_FALSE(parse_asn1("oversize_length 1024, some_other_param 360"));
  CHECK_FALSE(parse_asn1("oversize_length 1024,,"));
  CHECK_FALSE(parse_asn1("bitstring_overflowabsolute_offset"));
  // White space then a comma: Suricata's separator is one or the other.
  CHECK_FALSE(parse_asn1("bitstring_overflow , double_overflow"));
  // absolute_offset wins over relative_offset (Suricata's asn1_decode checks it first).
  auto both = parse_asn1("relative_offset 5, absolute_offset 2, bitstring_overflow");
  REQUIRE(both);
  CHECK_FALSE(both->relative);
  CHECK(both->offset == 2);
}

TEST_CASE("asn1 joins the payload section last whatever the sticky buffer") {
  auto rule = parse(R"(asn1:bitstring_overflow, relative_offset 2; content:"a"; content:"b"; distance:0;)");
  REQUIRE(rule);
  REQUIRE(rule->sections.size() == 1);
  const BufferSection& payload = rule->sections[0];
  REQUIRE(payload.steps.size() == 3);
  CHECK(payload.steps[0].kind == ChainStep::Kind::Content);
  CHECK(payload.steps[1].kind == ChainStep::Kind::Content);
  CHECK(payload.steps[2].kind == ChainStep::Kind::Asn1);
  REQUIRE(payload.asn1s.size() == 1);
  CHECK(payload.asn1s[0].offset == 2);

  auto sticky = parse(R"(http.uri; content:"x"; asn1:oversize_length 10;)");
  REQUIRE(sticky);
  REQUIRE(sticky->sections.size() == 2);
  const BufferSection* section = nullptr;
  for (const auto& s : sticky->sections) {
    if (s.kind == BufferKind::Payload) section = &s;
  }
  REQUIRE(section != nullptr);
  REQUIRE(section->steps.size() == 1);
  CHECK(section->steps[0].kind == ChainStep::Kind::Asn1);

  CHECK(error_of("asn1:;").rfind("asn1:", 0) == 0);
  CHECK(error_of("asn1:bogus;").find("invalid option 'bogus'") != std::string::npos);
}

TEST_CASE("byte_test with 0 bytes needs string") {
  auto rule = parse(R"(content:"Len"; byte_test:0,<,1000,0,relative,string,dec;)");
  REQUIRE(rule);
  REQUIRE(rule->sections[0].byte_tests.size() == 1);
  CHECK(rule->sections[0].byte_tests[0].read.bytes == 0);
  CHECK(rule->sections[0].byte_tests[0].read.string_base == 10);
  CHECK(error_of("byte_test:0,=,0,0;").find("0 bytes needs 'string'") != std::string::npos);
  CHECK(error_of("byte_test:24,=,0,0,string,dec;").find("invalid byte count") != std::string::npos);
}

TEST_CASE("raw_data is a Snort 3 sticky buffer on the payload") {
  auto rule = parse(R"(flow:to_server,established; raw_data; content:"|FF F3 FF F3|",fast_pattern,nocase; service:telnet;)",
                    "alert tcp any any -> any 23");
  REQUIRE(rule);
  REQUIRE(rule->sections.size() == 1);
  CHECK(rule->sections[0].kind == BufferKind::Payload);
  REQUIRE(rule->sections[0].contents.size() == 1);
  CHECK(rule->sections[0].contents[0].nocase);
  // Back to the payload after an HTTP buffer (Snort 3 rule 3935's form).
  auto http = parse(R"(http_header; content:"HTTP/1.",depth 7; raw_data; content:"murica",fast_pattern,nocase; service:http;)");
  REQUIRE(http);
  REQUIRE(http->sections.size() == 2);
  CHECK(http->sections[0].kind == BufferKind::HttpHeader);
  CHECK(http->sections[1].kind == BufferKind::Payload);
  CHECK(http->sections[1].contents[0].pattern == "murica");
  // Suricata has no raw_data: a Suricata-syntax rule using it fails.
  CHECK(error_of(R"(content:"a"; raw_data; content:"b";)").rfind("raw_data: a Snort 3", 0) == 0);
}

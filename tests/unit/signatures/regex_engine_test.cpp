// The regex engine (EASTWATCH_REGEX_ENGINE: Hyperscan or Vectorscan) behind the literal
// databases: fast patterns that begin with a NUL byte (content:"|00 ..|", common in ET Open),
// which Vectorscan 5.4.9's literal API refuses, compile and match under either engine, in block
// and streaming mode, caseless ones too.
#include <algorithm>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "signatures/hs_cache.hpp"
#include "signatures/rule_compiler.hpp"
#include "signatures/rule_parser.hpp"

using namespace eastwatch;

namespace {

Rule parse(const std::string& text) {
  static const RuleVariables vars = RuleVariables::with_suricata_defaults();
  static const ClassificationTable classes = ClassificationTable::builtin();
  auto rule = parse_rule(text, RuleParseContext{&vars, &classes, "t.rules", 1});
  REQUIRE(rule.has_value());
  return *rule;
}

int on_match(unsigned int id, unsigned long long, unsigned long long, unsigned int, void* context) {
  static_cast<std::vector<unsigned>*>(context)->push_back(id);
  return 0;
}

}  // namespace

TEST_CASE("literals beginning with NUL compile and match under the configured engine") {
  INFO(regex_engine_description());
  std::vector<Rule> rules;
  rules.push_back(parse(R"(alert tcp any any -> any any (msg:"nul first"; content:"|00 11 22 33 44|"; sid:1;))"));
  rules.push_back(parse(R"(alert tcp any any -> any any (msg:"nul nocase"; content:"|00|AbCd"; nocase; sid:2;))"));
  rules.push_back(parse(R"(alert tcp any any -> any any (msg:"plain"; content:"plainword"; sid:3;))"));
  auto compiled = compile_rules(std::move(rules));
  REQUIRE(compiled.has_value());
  const CompiledRuleSet& set = **compiled;
  const PrefilterGroup& group = set.prefilter(PrefilterGroupId::Tcp);
  REQUIRE(group.database != nullptr);
  REQUIRE(group.pattern_count == 3);
  auto scratch = set.allocate_scratch();
  REQUIRE(scratch.has_value());

  static const char kPayload[] = "xx\x00\x11\x22\x33\x44yy\x00" "aBcD plainword \x00\x11\x22";
  const std::string payload(kPayload, sizeof kPayload - 1);
  std::vector<unsigned> ids;
  REQUIRE(hs_scan(group.database, payload.data(), static_cast<unsigned>(payload.size()), 0, scratch->get(), on_match,
                  &ids) == HS_SUCCESS);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  CHECK(ids.size() == 3);  // every literal found once at least; the truncated one at the end is not

  std::vector<unsigned> none;
  static const char kMiss[] = "\x00\x11\x22\x33 \x01" "abcd plain word";
  const std::string miss(kMiss, sizeof kMiss - 1);
  REQUIRE(hs_scan(group.database, miss.data(), static_cast<unsigned>(miss.size()), 0, scratch->get(), on_match,
                  &none) == HS_SUCCESS);
  CHECK(none.empty());

  // The streaming database of the same literals: a NUL-first literal split over two writes.
  REQUIRE(group.stream_database != nullptr);
  hs_stream_t* stream = nullptr;
  REQUIRE(hs_open_stream(group.stream_database, 0, &stream) == HS_SUCCESS);
  std::vector<unsigned> streamed;
  const std::string part1("ab\x00\x11", 4), part2("\x22\x33\x44", 3);
  CHECK(hs_scan_stream(stream, part1.data(), 4, 0, scratch->get(), on_match, &streamed) == HS_SUCCESS);
  CHECK(hs_scan_stream(stream, part2.data(), 3, 0, scratch->get(), on_match, &streamed) == HS_SUCCESS);
  CHECK(hs_close_stream(stream, scratch->get(), on_match, &streamed) == HS_SUCCESS);
  CHECK(streamed.size() == 1);
}

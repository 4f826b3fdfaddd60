// The bundled lateral-movement pack (signatures/rules/lateral-movement.rules) as the compiler sees
// it: every rule loads, carries the pack's metadata, resolves its references with the built-in
// reference.config, and gets the fast pattern the pack chose for it (the cheap, rare literal),
// except the few rules that are documented to have none. What the rules match is tested end to
// end on golden captures (tests/e2e/lateral_e2e.py).
#include <map>
#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "signatures/classification.hpp"
#include "signatures/reference_config.hpp"
#include "signatures/rule_compiler.hpp"
#include "signatures/rule_parser.hpp"

using namespace eastwatch;

namespace {

const std::string kPack = std::string(EASTWATCH_SOURCE_DIR) + "/signatures/rules/lateral-movement.rules";

std::string utf16(const std::string& text) {
  std::string out;
  for (char c : text) {
    out += c;
    out += '\0';
  }
  return out;
}

}  // namespace

TEST_CASE("lateral-movement.rules loads, compiles, and keeps its conventions") {
  const ClassificationTable classes = ClassificationTable::builtin();
  RuleLoadResult loaded = load_rule_files({kPack}, RuleVariables::with_suricata_defaults(), &classes);
  for (const auto& error : loaded.errors) UNSCOPED_INFO(error.to_string());
  REQUIRE(loaded.errors.empty());
  REQUIRE(loaded.rules.size() == 27);
  const ReferenceTable references = ReferenceTable::builtin();
  for (const Rule& rule : loaded.rules) {
    INFO("sid " << rule.sid);
    CHECK(rule.gid == 1);
    CHECK((rule.sid >= 9100001 && rule.sid <= 9100999));
    CHECK(rule.msg.rfind("EASTWATCH LATERAL ", 0) == 0);
    CHECK_FALSE(rule.classtype.empty());
    CHECK_FALSE(rule.category.empty());  // the classtype is in the built-in classification table
    REQUIRE_FALSE(rule.references.empty());
    for (const RuleReference& reference : rule.references) {
      CHECK(references.resolve(reference).rfind("http", 0) == 0);  // a known system: a URL
    }
    std::set<std::string> keys;
    for (const std::string& entry : rule.metadata) keys.insert(entry.substr(0, entry.find(' ')));
    for (const char* key : {"attack_target", "created_at", "signature_severity", "mitre_tactic_id", "mitre_technique_id"}) {
      CHECK(keys.count(key) == 1);
    }
  }
  CHECK(references.resolve(RuleReference{"mitre", "T1021/002"}) == "https://attack.mitre.org/techniques/T1021/002");

  auto compiled = compile_rules(std::move(loaded.rules));
  REQUIRE(compiled.has_value());
  const CompiledRuleSet& set = **compiled;
  // The fast pattern of each content rule: the literal marked in the pack.
  const std::string svcctl("\x81\xbb\x7a\x36\x44\x98\xf1\x35\xad\x32\x98\xf0\x38\x00\x10\x03", 16);
  const std::string wbem_login("\x5e\xf0\xc3\x8b\x6b\xd8\xd0\x11\xa0\x75\x00\xc0\x4f\xb6\x88\x20", 16);
  const std::string dce_request("\x05\x00\x00\x03\x10\x00\x00\x00", 8);
  const std::string rc4_only("\xa8\x05\x30\x03\x02\x01\x17", 7);
  const std::map<uint32_t, std::string> expected = {
      {9100001, std::string("\xff" "SMB\xa0", 5)},
      {9100002, std::string("\xff" "SMB\x33", 5)},
      {9100003, std::string("\xff" "SMB\x32", 5)},
      {9100004, std::string("\xff" "SMB\x32\x02\x00\x00\xc0", 9)},
      {9100005, std::string("\x02" "NT LM 0.12\x00", 12)},
      {9100020, utf16("\\ADMIN$")},
      {9100021, utf16(".exe")},
      {9100022, svcctl},
      {9100023, dce_request},
      {9100024, dce_request},
      {9100025, utf16("PSEXESVC")},
      {9100040, wbem_login},
      {9100041, utf16("Win32_Process")},
      {9100042, "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command"},
      {9100043, "-session-encrypted"},
      {9100061, std::string("\x00\x00\x20\x00\x01", 5)},
      {9100080, rc4_only},
      {9100081, rc4_only},
      {9100082, rc4_only},
      {9100083, rc4_only},
      {9100122, std::string("\x00\x00\x0a\x00\x01", 5)},
      {9100123, std::string("\x00\x00\x10\x00\x01", 5)},
  };
  // No literal at all: header rules (ports, byte tests, flags), a DNS name length test, and the
  // long-label rule, prefiltered by its regex.
  const std::set<uint32_t> without_literal = {9100060, 9100100, 9100101, 9100120, 9100121};
  const auto rules = set.rules();
  for (uint32_t i = 0; i < rules.size(); ++i) {
    const uint32_t sid = rules[i].sid;
    INFO("sid " << sid);
    if (without_literal.count(sid)) {
      CHECK(set.fast_pattern_bytes(i).empty());
      continue;
    }
    REQUIRE(expected.count(sid) == 1);
    CHECK(set.fast_pattern_bytes(i) == expected.at(sid));
  }
  CHECK(set.stats().regex_prefilters == 1);  // 9100120
}

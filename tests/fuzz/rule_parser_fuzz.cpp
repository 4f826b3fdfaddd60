// libFuzzer target: the rule parser (and the Hyperscan compiler for whatever parses) on
// untrusted rule text.
#include <cstdint>
#include <string_view>

#include "signatures/rule_compiler.hpp"
#include "signatures/rule_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eastwatch;
  static const RuleVariables variables = RuleVariables::with_suricata_defaults();
  static const ClassificationTable classifications = ClassificationTable::builtin();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  RuleLoadResult result = load_rule_text(text, "fuzz.rules", variables, &classifications);
  for (const auto& error : result.errors) {
    if (error.message.empty()) __builtin_trap();  // every failure must say why
  }
  if (!result.rules.empty() && result.rules.size() < 64) (void)compile_rules(std::move(result.rules));
  return 0;
}

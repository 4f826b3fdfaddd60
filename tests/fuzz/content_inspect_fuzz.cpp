// libFuzzer target: content inspection of an arbitrary buffer against a rule's content chain.
// Input: a rule line, a NUL byte, then the payload. Checks bounds (ASan) and the work bound.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

#include "sensor/detect/content_inspect.hpp"
#include "signatures/rule_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eastwatch;
  static const RuleVariables variables = RuleVariables::with_suricata_defaults();
  const auto* split = static_cast<const uint8_t*>(std::memchr(data, 0, size));
  if (split == nullptr) return 0;
  const std::string_view rule_text(reinterpret_cast<const char*>(data), static_cast<size_t>(split - data));
  auto rule = parse_rule(rule_text, RuleParseContext{&variables, nullptr, "fuzz", 1});
  if (!rule || rule->sections.empty()) return 0;
  const size_t length = size - static_cast<size_t>(split - data) - 1;
  std::unique_ptr<uint8_t[]> payload(new uint8_t[length ? length : 1]);
  if (length) std::memcpy(payload.get(), split + 1, length);
  InspectBudget budget;
  static RegexScratch regex;
  (void)inspect_section(rule->sections[0], std::span<const uint8_t>(payload.get(), length), -1, regex, budget);
  if (budget.remaining > 3000) __builtin_trap();
  return 0;
}

// Formats a rule profile (`--profile-rules`) for rule tuning: a text table in the layout of
// Suricata's rule_perf.log and a JSON document, both sorted by total cost, most costly first.
#pragma once

#include <span>
#include <string>

#include "sensor/detect/detect_engine.hpp"

namespace eastwatch {

struct RuleProfileReport {
  std::string table;
  std::string json;
};

// `ns_per_tick` converts timestamp-counter ticks to nanoseconds (measured over the run).
RuleProfileReport format_rule_profile(const CompiledRuleSet& rules, std::span<const RuleProfile> profile,
                                      double ns_per_tick);

}  // namespace eastwatch

// threshold.config, as Suricata reads it: lines that tune alerting without editing rules.
//   suppress gen_id G, sig_id S[, track by_src|by_dst|by_either, ip ADDRESSES]
//   threshold gen_id G, sig_id S, type limit|threshold|both, track by_src|by_dst|by_rule|by_both,
//             count N, seconds T            (event_filter is a synonym)
//   rate_filter gen_id G, sig_id S, track by_src|by_dst|by_rule|by_both, count N, seconds T,
//             new_action alert|log|drop|sdrop|pass|reject, timeout T
// sig_id 0 with gen_id 0 means every rule. A threshold line replaces the rule's own
// threshold/detection_filter, as in Suricata. Errors are "file:line: reason"; the other
// lines still apply.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "signatures/rule.hpp"
#include "signatures/rule_parser.hpp"
#include "signatures/variables.hpp"

namespace eastwatch {

struct ThresholdConfigEntry {
  enum class Kind : uint8_t { Suppress, Threshold, RateFilter };
  Kind kind = Kind::Suppress;
  uint32_t gid = 1;
  uint32_t sid = 0;  // 0 with gid 0: every rule
  Suppression suppression;
  ThresholdOption threshold;
  RateFilterOption rate_filter;
  uint32_t line = 0;
};

struct ThresholdConfig {
  std::vector<ThresholdConfigEntry> entries;
  std::vector<RuleError> errors;
};

ThresholdConfig parse_threshold_config(std::string_view text, std::string_view file_name,
                                       const RuleVariables& variables);

// Applies the entries to the rules; returns how many rules each entry touched (0 is reported
// by the caller as a warning: a sid that is not loaded).
std::vector<size_t> apply_threshold_config(const ThresholdConfig& config, std::vector<Rule>& rules);

}  // namespace eastwatch

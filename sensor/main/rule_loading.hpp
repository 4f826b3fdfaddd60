// Control plane: turns the config's (or -S) rule files into a compiled rule set.
// Bad rules are collected as `file:line: reason` and skipped; the rest load.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "config/settings.hpp"
#include "signatures/rule_compiler.hpp"
#include "signatures/rule_parser.hpp"

namespace eastwatch {

struct LoadedRules {
  std::shared_ptr<const CompiledRuleSet> compiled;
  std::vector<RuleError> errors;  // one per rule that failed to parse
  std::vector<std::string> config_errors;  // threshold.config problems and warnings
  size_t loaded = 0;
};

// `cli_rule_files` (from -S) replace the config's rule-files when not empty. Fails only on a
// problem that makes the whole set unusable (unreadable classification file, Hyperscan refusal).
// `previous` (a reload): the running set, whose flowbit names keep their numbers.
tl::expected<LoadedRules, std::string> load_rules(const Settings& settings,
                                                  const std::vector<std::string>& cli_rule_files,
                                                  const CompiledRuleSet* previous = nullptr);

// The rule files load_rules reads (-S, else rule-files under default-rule-path).
std::vector<std::string> rule_file_paths(const Settings& settings, const std::vector<std::string>& cli_rule_files);

}  // namespace eastwatch

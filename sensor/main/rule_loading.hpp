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
  // The rule snapshot in detect.hs-cache-dir (signatures/rule_snapshot.hpp): Off without a
  // cache directory; Loaded: the rules came from it instead of being parsed; Stored: parsed
  // and written; Failed: parsed, and it could not be written. `snapshot_note` says why one
  // that was there was ignored (corrupt, truncated, stale), else is empty.
  enum class Snapshot : uint8_t { Off, Loaded, Stored, Failed };
  Snapshot snapshot = Snapshot::Off;
  std::string snapshot_note;
  double parse_seconds = 0;  // parsing the rules, or decoding the snapshot
};

// `cli_rule_files` (from -S) replace the config's rule-files when not empty. Fails only on a
// problem that makes the whole set unusable (unreadable classification file, Hyperscan refusal).
// `previous` (a reload): the running set, whose flowbit names keep their numbers.
tl::expected<LoadedRules, std::string> load_rules(const Settings& settings,
                                                  const std::vector<std::string>& cli_rule_files,
                                                  const CompiledRuleSet* previous = nullptr);

// The process is about to exit: `rules` is never freed. Freeing the ~25,000 rules of ET Open
// (hundreds of thousands of small blocks) took 0.06-0.1 s of every exit; the system takes the
// memory back at once. Only at exit: a reload frees the set it replaces as before. The holder
// stays reachable (a leaked static), so leak checkers do not report it.
void keep_rules_until_exit(std::shared_ptr<const CompiledRuleSet> rules);

// The rule files load_rules reads (-S, else rule-files under default-rule-path).
std::vector<std::string> rule_file_paths(const Settings& settings, const std::vector<std::string>& cli_rule_files);

}  // namespace eastwatch

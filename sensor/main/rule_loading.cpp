#include "sensor/main/rule_loading.hpp"

#include "signatures/reference_config.hpp"
#include "signatures/threshold_config.hpp"

#include <fstream>
#include <sstream>
#include <unordered_map>

namespace eastwatch {

namespace {

std::vector<std::string> rule_paths(const Settings& settings, const std::vector<std::string>& cli_rule_files) {
  if (!cli_rule_files.empty()) return cli_rule_files;
  std::vector<std::string> paths;
  for (const auto& file : settings.rule_files) {
    if (!file.empty() && file.front() != '/' && !settings.default_rule_path.empty()) {
      paths.push_back(settings.default_rule_path + "/" + file);
    } else {
      paths.push_back(file);
    }
  }
  return paths;
}

tl::expected<ClassificationTable, std::string> load_classifications(const Settings& settings) {
  if (settings.classification_file.empty()) return ClassificationTable::builtin();
  std::ifstream in(settings.classification_file, std::ios::binary);
  if (!in) return tl::unexpected("cannot open classification file '" + settings.classification_file + "'");
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> errors;
  auto table = ClassificationTable::parse(text.str(), settings.classification_file, &errors);
  if (!errors.empty()) {
    std::string message = errors.front();
    for (size_t i = 1; i < errors.size(); ++i) message += "\n" + errors[i];
    return tl::unexpected(message);
  }
  return table;
}

tl::expected<ReferenceTable, std::string> load_references(const Settings& settings) {
  if (settings.reference_file.empty()) return ReferenceTable::builtin();
  std::ifstream in(settings.reference_file, std::ios::binary);
  if (!in) return tl::unexpected("cannot open reference config file '" + settings.reference_file + "'");
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> errors;
  auto table = ReferenceTable::parse(text.str(), settings.reference_file, &errors);
  if (!errors.empty()) {
    std::string message = errors.front();
    for (size_t i = 1; i < errors.size(); ++i) message += "\n" + errors[i];
    return tl::unexpected(message);
  }
  return table;
}

// Suricata keeps one signature per gid:sid: the higher revision wins (the first one on a tie)
// and the other is reported as a load error.
void drop_duplicate_signatures(std::vector<Rule>& rules, std::vector<RuleError>& errors) {
  std::unordered_map<uint64_t, size_t> first_of;  // gid:sid -> index of the rule kept so far
  std::vector<bool> keep(rules.size(), true);
  for (size_t i = 0; i < rules.size(); ++i) {
    const uint64_t id = (uint64_t{rules[i].gid} << 32) | rules[i].sid;
    auto [it, inserted] = first_of.emplace(id, i);
    if (inserted) continue;
    Rule& kept = rules[it->second];
    size_t loser = i;
    if (rules[i].rev > kept.rev) {
      loser = it->second;
      it->second = i;
    }
    const Rule& winner = rules[it->second];
    const Rule& dropped = rules[loser];
    keep[loser] = false;
    errors.push_back(RuleError{dropped.file, dropped.line,
                               "duplicate signature " + std::to_string(dropped.gid) + ":" + std::to_string(dropped.sid) +
                                   " (rev " + std::to_string(dropped.rev) + "); keeping rev " +
                                   std::to_string(winner.rev) + " from " + winner.file + ":" +
                                   std::to_string(winner.line)});
  }
  size_t out = 0;
  for (size_t i = 0; i < rules.size(); ++i) {
    if (keep[i]) {
      if (out != i) rules[out] = std::move(rules[i]);
      ++out;
    }
  }
  rules.resize(out);
}

}  // namespace

std::vector<std::string> rule_file_paths(const Settings& settings, const std::vector<std::string>& cli_rule_files) {
  return rule_paths(settings, cli_rule_files);
}

tl::expected<LoadedRules, std::string> load_rules(const Settings& settings,
                                                  const std::vector<std::string>& cli_rule_files,
                                                  const CompiledRuleSet* previous) {
  auto classifications = load_classifications(settings);
  if (!classifications) return tl::unexpected(classifications.error());
  auto references = load_references(settings);
  if (!references) return tl::unexpected(references.error());
  RuleLoadResult parsed = load_rule_files(rule_paths(settings, cli_rule_files), settings.variables, &*classifications);
  drop_duplicate_signatures(parsed.rules, parsed.errors);
  for (auto& rule : parsed.rules) {
    for (const auto& reference : rule.references) rule.reference_urls.push_back(references->resolve(reference));
  }
  LoadedRules result;
  if (!settings.threshold_file.empty()) {
    std::ifstream in(settings.threshold_file, std::ios::binary);
    if (!in) return tl::unexpected("cannot open threshold file '" + settings.threshold_file + "'");
    std::stringstream text;
    text << in.rdbuf();
    const ThresholdConfig thresholds = parse_threshold_config(text.str(), settings.threshold_file, settings.variables);
    for (const auto& error : thresholds.errors) result.config_errors.push_back(error.to_string());
    const auto touched = apply_threshold_config(thresholds, parsed.rules);
    for (size_t i = 0; i < touched.size(); ++i) {
      if (touched[i] == 0) {
        const auto& entry = thresholds.entries[i];
        result.config_errors.push_back(settings.threshold_file + ":" + std::to_string(entry.line) + ": no loaded rule " +
                                       std::to_string(entry.gid) + ":" + std::to_string(entry.sid));
      }
    }
  }
  result.loaded = parsed.rules.size();
  result.errors = std::move(parsed.errors);
  CompileOptions compile_options;
  compile_options.hs_cache_dir = settings.detect.hs_cache_dir;
  if (previous != nullptr) {
    compile_options.flowbit_names.assign(previous->flowbit_names().begin(), previous->flowbit_names().end());
  }
  auto compiled = compile_rules(std::move(parsed.rules), compile_options);
  if (!compiled) return tl::unexpected("cannot compile the rule set: " + compiled.error());
  result.compiled = std::move(*compiled);
  return result;
}

}  // namespace eastwatch

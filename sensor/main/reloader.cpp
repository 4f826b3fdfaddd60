#include "sensor/main/reloader.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "config/config_loader.hpp"
#include "sensor/inventory/inventory.hpp"
#include "sensor/main/rule_loading.hpp"

namespace eastwatch {

namespace {

void flatten(const YAML::Node& node, const std::string& prefix, std::map<std::string, std::string>& out) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      for (const auto& entry : node) {
        const std::string key = entry.first.Scalar();
        flatten(entry.second, prefix.empty() ? key : prefix + "." + key, out);
      }
      break;
    case YAML::NodeType::Sequence: {
      size_t index = 0;
      for (const auto& item : node) flatten(item, prefix + "[" + std::to_string(index++) + "]", out);
      if (index == 0) out[prefix] = "[]";
      break;
    }
    case YAML::NodeType::Scalar: out[prefix] = node.Scalar(); break;
    default: out[prefix] = ""; break;
  }
}

// The top-level part of a flattened key: "vars.address-groups.HOME_NET" -> "vars",
// "rule-files[0]" -> "rule-files".
std::string section_of(const std::string& key) {
  const size_t end = key.find_first_of(".[");
  return end == std::string::npos ? key : key.substr(0, end);
}

}  // namespace

std::optional<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::map<std::string, std::string> flatten_yaml(const std::string& text) {
  std::map<std::string, std::string> out;
  try {
    flatten(YAML::Load(text), "", out);
  } catch (const YAML::Exception&) {
    out.clear();
  }
  return out;
}

bool live_reloadable_key(const std::string& key) {
  const std::string section = section_of(key);
  return section == "vars" || section == "default-rule-path" || section == "rule-files" ||
         section == "classification-file" || section == "reference-config-file" || section == "threshold-file" ||
         key == "detect.hs-cache-dir";
}

Reloader::Reloader(CliOptions options, Settings running, RuleStore& store)
    : options_(std::move(options)), running_(std::move(running)), store_(store) {
  if (options_.config_file) {
    if (auto text = read_text_file(*options_.config_file)) running_config_ = flatten_yaml(*text);
  }
}

ReloadResult Reloader::reload(const char* why) {
  const auto started = std::chrono::steady_clock::now();
  std::fprintf(stderr, "eastwatch: reloading rules and config (%s)\n", why);
  ReloadResult result = attempt();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const RuleSnapshot* current = store_.current();
  result.generation = current->generation;
  if (!result.ok) result.loaded = current->loaded;
  for (const auto& error : result.errors) std::fprintf(stderr, "%s\n", error.c_str());
  for (const auto& key : result.needs_restart) {
    std::fprintf(stderr, "eastwatch: reload: %s changed: needs restart (keeps its running value)\n", key.c_str());
  }
  std::fprintf(stderr, "eastwatch: %s\n", result.message.c_str());
  if (hook_) hook_(result);
  return result;
}

ReloadResult Reloader::attempt() {
  ReloadResult result;
  auto settings = load_settings(options_.config_file, options_.overrides);
  if (!settings) {
    for (const auto& error : settings.error()) result.errors.push_back(error.message);
    result.message = "reload refused, keeping the running rule set: invalid configuration (" +
                     std::to_string(settings.error().size()) + " problem" +
                     (settings.error().size() == 1 ? "" : "s") + ")";
    return result;
  }
  // Keys that cannot change live: reported, their running values kept (only the rule-related
  // keys of the new settings are used below).
  if (options_.config_file) {
    const auto text = read_text_file(*options_.config_file);
    const auto now = text ? flatten_yaml(*text) : std::map<std::string, std::string>{};
    std::vector<std::string> changed;
    for (const auto& [key, value] : now) {
      const auto it = running_config_.find(key);
      if ((it == running_config_.end() || it->second != value) && !live_reloadable_key(key)) changed.push_back(key);
    }
    for (const auto& [key, value] : running_config_) {
      if (!now.contains(key) && !live_reloadable_key(key)) changed.push_back(key);
    }
    std::sort(changed.begin(), changed.end());
    changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
    result.needs_restart = std::move(changed);
  }
  Settings next = running_;
  next.variables = settings->variables;
  next.default_rule_path = settings->default_rule_path;
  next.rule_files = settings->rule_files;
  next.classification_file = settings->classification_file;
  next.reference_file = settings->reference_file;
  next.threshold_file = settings->threshold_file;
  next.detect.hs_cache_dir = settings->detect.hs_cache_dir;
  // The inventory's $ZONE_/$VM_ variables, from the file as it is now (the inventory watcher
  // publishes the same file for the workers).
  if (!running_.inventory.file.empty()) {
    auto inventory = load_inventory_file(running_.inventory.file);
    if (!inventory) {
      for (const auto& error : inventory.error()) result.errors.push_back(error);
      result.message = "reload refused, keeping the running rule set: invalid inventory " + running_.inventory.file;
      return result;
    }
    for (auto& [name, value] : (*inventory)->rule_variables()) next.variables.address_groups[name] = value;
  }

  const RuleSnapshot* current = store_.current();
  auto rules = load_rules(next, options_.rule_files, current->rules.get());
  if (!rules) {
    result.message = "reload refused, keeping the running rule set: " + rules.error();
    return result;
  }
  for (const auto& error : rules->errors) {
    if (error.line == 0) {  // an unreadable rule file: the set would silently lose its rules
      result.errors.push_back(error.to_string());
      result.message = "reload refused, keeping the running rule set: " + error.to_string();
      return result;
    }
  }
  for (const auto& error : rules->errors) result.errors.push_back(error.to_string());
  for (const auto& error : rules->config_errors) result.errors.push_back(error);
  result.failed = rules->errors.size();
  if (rules->loaded == 0) {
    result.message = "reload refused, keeping the running rule set: no rule loaded (" + std::to_string(result.failed) +
                     " failed)";
    return result;
  }

  auto snapshot = prepare_snapshot(rules->compiled, store_, running_.detect, running_.eve);
  snapshot->loaded = rules->loaded;
  snapshot->failed = result.failed;
  const CompileStats stats = snapshot->rules->stats();
  const size_t loaded = rules->loaded;
  if (auto published = store_.publish(std::move(snapshot)); !published) {
    result.message = "reload refused, keeping the running rule set: " + published.error();
    return result;
  }
  result.ok = true;
  result.loaded = loaded;
  char line[256];
  std::snprintf(line, sizeof line,
                "rules reloaded: %zu loaded, %zu failed; %u Hyperscan databases (cache: %u loaded, %u compiled); rule "
                "set %llu",
                loaded, result.failed, stats.databases, stats.cache_hits, stats.cache_misses,
                static_cast<unsigned long long>(store_.current()->generation));
  result.message = line;
  if (!result.needs_restart.empty()) {
    result.message += "; " + std::to_string(result.needs_restart.size()) + " changed key" +
                      (result.needs_restart.size() == 1 ? "" : "s") + " need a restart";
  }
  return result;
}

}  // namespace eastwatch

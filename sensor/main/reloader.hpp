// Reload of rules and config (SIGHUP, `eastwatch ctl reload`), run on the control thread.
//
// Contract:
//  - `reload` re-reads the config file (-c, with the same --set overrides and command-line
//    flags as at start; the embedded defaults without -c), the VM inventory's rule variables
//    ($ZONE_/$VM_ from inventory.file as it is now) and the rule files, parses and compiles the
//    new set (with the Hyperscan cache), validates it completely, prepares one DetectThread per
//    worker, and publishes it through the RuleStore. Packets never wait for any of it.
//  - Refused, keeping the running set, with the reason in the result: a config error (every
//    `FILE:LINE: key: what is wrong`), an unreadable rule, classification, reference or
//    threshold file, a Hyperscan compile failure, no rule loaded, workers not taking up the
//    previous set. Bad individual rules are reported as `FILE:LINE: reason` and skipped, as at
//    start.
//  - Config keys that can change live: vars, default-rule-path, rule-files, classification-
//    file, reference-config-file, threshold-file, detect.hs-cache-dir. Any other key whose value
//    in the file changed is reported as "needs restart" and keeps its running value.
//  - Not thread-safe: one control thread calls it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/settings.hpp"
#include "sensor/main/cli.hpp"
#include "sensor/main/rule_store.hpp"

namespace eastwatch {

struct ReloadResult {
  bool ok = false;
  std::string message;                      // one line: what happened, or why it was refused
  std::vector<std::string> errors;          // config problems (refused) or rules skipped (`FILE:LINE: reason`)
  std::vector<std::string> needs_restart;   // keys that changed but keep their running value
  uint64_t generation = 0;                  // the rule set in use afterwards
  size_t loaded = 0;                        // rules in the set in use afterwards
  size_t failed = 0;                        // rules that failed to load in this attempt
  double seconds = 0;
};

// Flattens a YAML document into "a.b.c" -> scalar text (sequences as "a.b[0]"), for the
// needs-restart comparison. An unparsable document gives an empty map.
std::map<std::string, std::string> flatten_yaml(const std::string& text);

// Whether a config key (flattened) may change without a restart.
bool live_reloadable_key(const std::string& key);

class Reloader {
 public:
  // `running`: the settings the run started with (after the command line); `options`: the
  // command line, re-applied on each reload.
  Reloader(CliOptions options, Settings running, RuleStore& store);

  // `on_result` is called after every attempt (counters, the live stats).
  void set_result_hook(std::function<void(const ReloadResult&)> hook) { hook_ = std::move(hook); }

  ReloadResult reload(const char* why);

 private:
  ReloadResult attempt();

  CliOptions options_;
  Settings running_;
  std::map<std::string, std::string> running_config_;  // the config file as it was at start
  RuleStore& store_;
  std::function<void(const ReloadResult&)> hook_;
};

// Reads a config file whole (empty optional: none or unreadable).
std::optional<std::string> read_text_file(const std::string& path);

}  // namespace eastwatch

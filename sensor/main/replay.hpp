// Offline replay: reads capture files in order through one worker and the output thread,
// then writes the end-of-run stats record. Returns the process exit code.
#pragma once

#include <memory>

#include "config/settings.hpp"
#include "sensor/inventory/inventory_store.hpp"
#include "sensor/main/cli.hpp"
#include "signatures/rule_compiler.hpp"

namespace eastwatch {

// `inventory`, when given, is the VM inventory the workers read (and the watcher reloads).
int run_replay(const CliOptions& options, const Settings& settings, std::shared_ptr<const CompiledRuleSet> rules,
               const InventoryStore* inventory = nullptr);

}  // namespace eastwatch

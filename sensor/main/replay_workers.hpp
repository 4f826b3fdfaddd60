// Several workers: a capture file replayed by the main thread, or live interfaces each read by
// a capture thread, spread over `capture.workers` worker threads by a symmetric flow hash
// (capture_dispatch). Alerts go through each worker's queue to the output thread; the final
// stats record sums every worker's counters. A live run ends on SIGINT/SIGTERM (or when
// every interface failed): captures stop, workers drain their rings and end their flows, the
// stats record is written, exit 0. An interface that cannot be opened: exit 2 before any
// output. Returns the process exit code.
#pragma once

#include <memory>

#include "config/settings.hpp"
#include "sensor/inventory/inventory_store.hpp"
#include "sensor/main/cli.hpp"
#include "signatures/rule_compiler.hpp"

namespace eastwatch {

int run_with_workers(const CliOptions& options, const Settings& settings, std::shared_ptr<const CompiledRuleSet> rules,
                     const InventoryStore* inventory = nullptr);

}  // namespace eastwatch

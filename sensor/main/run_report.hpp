// The end of a run, shared by the single-worker replay and the multi-worker run: every stage's
// counters of a worker into the stats record, and the --profile-rules report files.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>

#include "config/settings.hpp"
#include "sensor/detect/detect_engine.hpp"
#include "sensor/main/cli.hpp"
#include "sensor/main/stats_collector.hpp"
#include "sensor/main/worker.hpp"

namespace eastwatch {

// Adds a worker's decoder, flow, defrag, tcp, app_layer and detect counters (summed over the
// workers when called for each).
void add_worker_stats(StatsCollector& stats, const Worker& worker);
// The same from a copy a worker published (the live stats).
void add_worker_stats(StatsCollector& stats, const WorkerCounterSet& counters);

// Writes rule_perf.log and rule_perf.json into the log directory when `profile` is not empty;
// the timestamp counter is converted to time over the run since `started` / `started_ticks`.
void write_rule_profile(const CliOptions& options, const Settings& settings, const DetectEngine& detect,
                        std::span<const RuleProfile> profile, std::chrono::steady_clock::time_point started,
                        uint64_t started_ticks);

}  // namespace eastwatch

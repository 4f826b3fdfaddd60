#include "sensor/main/run_report.hpp"

#include <x86intrin.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>

#include "sensor/detect/rule_profile_report.hpp"

namespace eastwatch {

void add_worker_stats(StatsCollector& stats, const Worker& worker) {
  stats.add("decoder", worker.decode_stats());
  stats.add("flow", worker.flow_counters());
  stats.add("defrag", worker.defrag_counters());
  stats.add("tcp", worker.stream_counters());
  stats.add("app_layer", worker.app_layer_counters());
  stats.add("detect", worker.detect_counters());
  stats.add("detect", worker.vm_detect_counters());  // gid 9000 alerts sum into detect.alert
  stats.add("anomaly", worker.anomaly_counters());   // stats.log only
  stats.add("pcap_log", worker.pcap_log_counters());  // stats.log only
}

void add_worker_stats(StatsCollector& stats, const WorkerCounterSet& counters) {
  stats.add("decoder", counters.decode);
  stats.add("flow", counters.flow);
  stats.add("defrag", counters.defrag);
  stats.add("tcp", counters.stream);
  stats.add("app_layer", counters.app_layer);
  stats.add("detect", counters.detect);
  stats.add("detect", counters.vm_detect);
  stats.add("anomaly", counters.anomaly);
  stats.add("pcap_log", counters.pcap_log);
}

void write_rule_profile(const CliOptions& options, const Settings& settings, const DetectEngine& detect,
                        std::span<const RuleProfile> profile, std::chrono::steady_clock::time_point started,
                        uint64_t started_ticks) {
  if (profile.empty()) return;
  const double elapsed_ns =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - started).count();
  const double ns_per_tick = elapsed_ns / static_cast<double>(std::max<uint64_t>(1, __rdtsc() - started_ticks));
  const RuleProfileReport report = format_rule_profile(detect.rules(), profile, ns_per_tick);
  const std::string base = settings.log_dir + "/rule_perf";
  std::ofstream(base + ".log") << report.table;
  std::ofstream(base + ".json") << report.json;
  if (!options.quiet) std::fprintf(stderr, "eastwatch: rule profile in %s.log and %s.json\n", base.c_str(), base.c_str());
}

}  // namespace eastwatch

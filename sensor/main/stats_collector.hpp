// Gathers every stage's counters into one StatsSnapshot for the output thread:
// `visit` counters (named as in Suricata's EVE schema) go to both EVE and stats.log,
// `visit_extra` counters (Eastwatch-only) to stats.log alone. Adding the same stage again (one
// call per worker) sums the counters: stats are the total over workers.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sensor/output/stats_snapshot.hpp"

namespace eastwatch {

class StatsCollector {
 public:
  template <class Counters>
  void add(const std::string& prefix, const Counters& counters) {
    counters.visit([&](std::string_view name, uint64_t value) { put(snapshot_.eve, prefix, name, value); });
    if constexpr (requires { counters.visit_extra([](std::string_view, uint64_t) {}); }) {
      counters.visit_extra([&](std::string_view name, uint64_t value) { put(snapshot_.extra, prefix, name, value); });
    }
  }

  StatsSnapshot snapshot(int64_t ts_usec, uint64_t uptime_seconds) const {
    StatsSnapshot result = snapshot_;
    for (auto& entry : result.eve) {  // decoder.avg_pkt_size over every worker: bytes / pkts
      if (!entry.first.ends_with(".avg_pkt_size")) continue;
      const std::string prefix = entry.first.substr(0, entry.first.size() - std::string_view("avg_pkt_size").size());
      uint64_t bytes = 0, pkts = 0;
      for (const auto& other : result.eve) {
        if (other.first == prefix + "bytes") bytes = other.second;
        if (other.first == prefix + "pkts") pkts = other.second;
      }
      entry.second = pkts ? bytes / pkts : 0;
    }
    result.ts_usec = ts_usec;
    result.uptime_seconds = uptime_seconds;
    return result;
  }

 private:
  // A name added again (the same stage of another worker) sums into its first entry.
  static void put(std::vector<std::pair<std::string, uint64_t>>& out, const std::string& prefix, std::string_view name,
                  uint64_t value) {
    std::string full = prefix + "." + std::string(name);
    for (auto& entry : out) {
      if (entry.first != full) continue;
      // Maxima stay maxima; an average is recomputed from the summed totals in snapshot().
      entry.second = name.starts_with("max_") ? std::max(entry.second, value) : entry.second + value;
      return;
    }
    out.emplace_back(std::move(full), value);
  }

  StatsSnapshot snapshot_;
};

}  // namespace eastwatch

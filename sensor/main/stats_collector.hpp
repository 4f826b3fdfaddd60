// Gathers every stage's counters into one StatsSnapshot for the output thread:
// `visit` counters (named as in Suricata's EVE schema) go to both EVE and stats.log,
// `visit_extra` counters (Eastwatch-only) to stats.log alone.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "sensor/output/stats_snapshot.hpp"

namespace eastwatch {

class StatsCollector {
 public:
  template <class Counters>
  void add(const std::string& prefix, const Counters& counters) {
    counters.visit([&](std::string_view name, uint64_t value) {
      snapshot_.eve.emplace_back(prefix + "." + std::string(name), value);
    });
    if constexpr (requires { counters.visit_extra([](std::string_view, uint64_t) {}); }) {
      counters.visit_extra([&](std::string_view name, uint64_t value) {
        snapshot_.extra.emplace_back(prefix + "." + std::string(name), value);
      });
    }
  }

  StatsSnapshot snapshot(int64_t ts_usec, uint64_t uptime_seconds) const {
    StatsSnapshot result = snapshot_;
    result.ts_usec = ts_usec;
    result.uptime_seconds = uptime_seconds;
    return result;
  }

 private:
  StatsSnapshot snapshot_;
};

}  // namespace eastwatch

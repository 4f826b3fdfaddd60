// A point-in-time copy of every counter, handed to the output thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace eastwatch {

struct StatsSnapshot {
  int64_t ts_usec = 0;          // packet time of the snapshot (EVE `timestamp`)
  uint64_t uptime_seconds = 0;
  // Dotted names ("decoder.ipv4", "flow.mgr.flows_timeout") in stage order.
  std::vector<std::pair<std::string, uint64_t>> eve;    // names in Suricata's EVE schema
  std::vector<std::pair<std::string, uint64_t>> extra;  // Eastwatch-only (stats.log only)
};

}  // namespace eastwatch

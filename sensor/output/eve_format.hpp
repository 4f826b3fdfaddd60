// Formats EVE JSON records (Suricata 7's field names, order and formats) and fast.log lines.
// One formatter per output thread; it reuses its buffers, so formatting a record allocates
// only while the buffers grow to their working size.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/settings.hpp"
#include "sensor/detect/alert_event.hpp"
#include "sensor/output/anomaly_event.hpp"
#include "sensor/output/flow_event.hpp"
#include "sensor/output/stats_snapshot.hpp"

namespace eastwatch {

// "2023-11-14T22:13:20.012999+0000" in local time, as Suricata writes EVE timestamps.
std::string format_eve_timestamp(int64_t ts_usec);
// "11/14/2023-22:13:20.012999", as Suricata writes fast.log timestamps.
std::string format_fast_timestamp(int64_t ts_usec);
// "TCP", "UDP", "ICMP", "IPv6-ICMP", or the protocol number as text.
std::string_view protocol_name(uint8_t ip_proto);

class EveFormatter {
 public:
  EveFormatter(std::string sensor_name, const EveSettings& settings);

  // Each returns one complete line without the trailing newline; valid until the next call.
  std::string_view alert(const AlertEvent& event);
  std::string_view stats(const StatsSnapshot& snapshot);
  std::string_view flow(const FlowEvent& event);
  std::string_view anomaly(const AnomalyEvent& event);  // in anomaly_format.cpp
  std::string_view fast_log_line(const AlertEvent& event);

 private:
  std::string sensor_name_;
  EveSettings settings_;
  std::string line_;
};

// stats.log: Suricata's text table of every counter (EVE and Eastwatch-only).
std::string format_stats_log(const StatsSnapshot& snapshot);

}  // namespace eastwatch

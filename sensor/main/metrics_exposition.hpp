// The Prometheus text exposition (format 0.0.4) of a live stats snapshot.
//
// Contract:
//  - `format_metrics` writes every family once, each with `# HELP` and `# TYPE`; counters end
//    in `_total`, gauges do not. Curated families (packets, drops, flows, memcap hits per
//    table, alerts by signature and by zone pair, sinks, rules and reloads) come first, then
//    every counter of the stats record and stats.log under `eastwatch_<dotted name with . and -
//    as _>` (`_total` unless it is a gauge such as flow.active or tcp.memuse).
//  - Label cardinality is bounded by the snapshot's AlertTally caps: signatures past the cap
//    are one series `sid="other"`, zone pairs past it `src_zone="other",dest_zone="other"`.
//  - Label values and HELP text are escaped as the format requires (backslash, double quote and
//    newline in labels; backslash and newline in HELP), so any signature `msg` is safe.
#pragma once

#include <string>
#include <string_view>

#include "sensor/main/live_stats.hpp"

namespace eastwatch {

// A label value as the exposition format writes it between double quotes.
std::string escape_label_value(std::string_view value);
// HELP text.
std::string escape_help(std::string_view text);
// A dotted counter name ("capture.ring-drops") as a metric name ("eastwatch_capture_ring_drops"):
// every character outside [a-zA-Z0-9_] becomes '_'.
std::string metric_name(std::string_view dotted);
// Whether a stats counter is a gauge (a level that goes up and down) rather than a counter.
bool is_gauge_stat(std::string_view dotted);

std::string format_metrics(const LiveSnapshot& snapshot, std::string_view version);

}  // namespace eastwatch

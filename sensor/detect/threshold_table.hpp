// Per-worker state of threshold and detection_filter: how many times a rule matched for a
// tracked address (or pair, or the rule alone) within its time window.
//
// Contract: fixed capacity, allocated at construction; `allow` never allocates. Entries live
// in 4-way buckets; when a bucket is full the entry whose window started first is replaced
// (counted in `evicted`). Semantics follow Suricata's threshold engine:
//   limit:     the first `count` matches of each window alert.
//   threshold: every `count`-th match within a window alerts.
//   both:      the `count`-th match of a window alerts, once per window.
//   detection_filter: every match after the first `count` within the window alerts.
// A window starts at the first match and lasts `seconds`; a match after it starts a new one.
// Limitation: state is per worker, so a source whose flows land on two workers is counted
// twice (flows are sharded by a symmetric hash).
#pragma once

#include <cstdint>
#include <memory>

#include "signatures/address.hpp"
#include "signatures/rule.hpp"

namespace eastwatch {

class ThresholdTable {
 public:
  explicit ThresholdTable(uint32_t capacity = 1u << 16);

  // Whether this match of `rule_index` becomes an alert. `src`/`dst` are the packet's.
  bool allow(uint32_t rule_index, const ThresholdOption& option, const IpAddress& src, const IpAddress& dst,
             int64_t ts_usec) noexcept;

  // rate_filter (threshold.config): whether this match of `rule_index` falls while the rate
  // filter's new action applies. Suricata's semantics: matches are counted in a window of
  // `seconds` from the first; the match past `count` starts `timeout` seconds of the new
  // action; the first match after the timeout starts counting anew.
  bool rate_exceeded(uint32_t rule_index, const RateFilterOption& option, const IpAddress& src, const IpAddress& dst,
                     int64_t ts_usec) noexcept;

  uint64_t evicted() const noexcept { return evicted_; }

 private:
  struct Entry {
    uint64_t hash = 0;
    int64_t window_start_usec = 0;
    int64_t timeout_start_usec = -1;  // rate_filter: when its new action began; -1 when not in force
    uint32_t rule = 0;
    uint32_t count = 0;
    IpAddress a;
    IpAddress b;
    bool used = false;
  };
  static constexpr uint32_t kWays = 4;
  static constexpr uint32_t kRateFilterKey = 0x80000000u;  // rate_filter state apart from threshold's

  // The entry of (rule key, tracked addresses), found or made (evicting the oldest of a full
  // bucket); `fresh` says it was made.
  Entry& find(uint32_t rule_key, ThresholdOption::Track track, const IpAddress& src, const IpAddress& dst,
              int64_t ts_usec, bool& fresh) noexcept;

  uint32_t bucket_mask_;
  std::unique_ptr<Entry[]> entries_;
  uint64_t evicted_ = 0;
};

}  // namespace eastwatch

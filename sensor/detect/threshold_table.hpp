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

  uint64_t evicted() const noexcept { return evicted_; }

 private:
  struct Entry {
    uint64_t hash = 0;
    int64_t window_start_usec = 0;
    uint32_t rule = 0;
    uint32_t count = 0;
    IpAddress a;
    IpAddress b;
    bool used = false;
  };
  static constexpr uint32_t kWays = 4;

  uint32_t bucket_mask_;
  std::unique_ptr<Entry[]> entries_;
  uint64_t evicted_ = 0;
};

}  // namespace eastwatch

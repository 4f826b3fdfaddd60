// The state of threshold and detection_filter, shared by every worker: how many times a rule
// matched for a tracked address (or pair, or the rule alone) within its time window.
//
// Contract: fixed capacity, allocated at construction; `allow` never allocates or blocks on the
// kernel. Entries live in 4-way buckets; when a bucket is full the entry whose window started
// first is replaced (counted in `evicted`). Thread-safe: each bucket has a spin flag held for
// the few instructions of one look-up and update. Workers only come here when a rule with a
// threshold matched (never per packet), so two of them meet on one bucket rarely; sharing the
// counts is what makes a source's matches count once whichever worker its flows hash to
// (flows are sharded by a symmetric hash of both ends, not by source). Semantics follow Suricata's threshold engine:
//   limit:     the first `count` matches of each window alert.
//   threshold: every `count`-th match within a window alerts.
//   both:      the `count`-th match of a window alerts, once per window.
//   detection_filter: every match after the first `count` within the window alerts.
// A window starts at the first match and lasts `seconds`; a match after it starts a new one.
// Workers reach the table slightly out of timestamp order (each worker's own matches are in
// order; two workers drift apart by up to a queue of packets). A match older than the window's
// start moves the start back to it while the window's newest match stays less than `seconds`
// after it, so the counted matches always lie within one `seconds` span whatever the order;
// older than that, it belongs to a window already closed and is neither counted nor alerted.
// In timestamp order (one worker) this is exactly the rule above.
// Rules are keyed by gid:sid, so counts carry over a rule reload.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "signatures/address.hpp"
#include "signatures/rule.hpp"
#include "sensor/util/zeroed_array.hpp"

namespace eastwatch {

class ThresholdTable {
 public:
  explicit ThresholdTable(uint32_t capacity = 1u << 16);

  // A rule's key here: gid:sid.
  static uint64_t rule_id(uint32_t gid, uint32_t sid) noexcept { return (uint64_t{gid} << 32) | sid; }

  // Whether this match of rule `rule_id` becomes an alert. `src`/`dst` are the packet's. An
  // entry this call evicted (a full bucket) is also counted in `evicted`: the caller's counter.
  bool allow(uint64_t rule_id, const ThresholdOption& option, const IpAddress& src, const IpAddress& dst,
             int64_t ts_usec, uint64_t& evicted) noexcept;

  // rate_filter (threshold.config): whether this match of `rule_id` falls while the rate
  // filter's new action applies. Suricata's semantics: matches are counted in a window of
  // `seconds` from the first; the match past `count` starts `timeout` seconds of the new
  // action; the first match after the timeout starts counting anew.
  bool rate_exceeded(uint64_t rule_id, const RateFilterOption& option, const IpAddress& src, const IpAddress& dst,
                     int64_t ts_usec, uint64_t& evicted) noexcept;

  // Entries evicted by every caller together.
  uint64_t evicted() const noexcept { return evicted_.load(std::memory_order_relaxed); }

  // A window's counts (public for the step functions in the .cpp).
  struct EntryState {
    int64_t window_start_usec = 0;
    int64_t newest_usec = 0;          // the newest match counted in the window
    int64_t timeout_start_usec = -1;  // rate_filter: when its new action began; -1 when not in force
    uint32_t count = 0;
  };

 private:
  struct Entry {
    uint64_t hash = 0;
    uint64_t rule = 0;
    bool rate_filter = false;  // rate_filter state, apart from the rule's threshold
    IpAddress a;
    IpAddress b;
    bool used = false;
    EntryState state;
  };
  static constexpr uint32_t kWays = 4;

  // What an entry is for: a rule's threshold or rate_filter, and the tracked addresses.
  struct Key {
    uint64_t hash;
    uint64_t rule;
    bool rate_filter;
    IpAddress a;
    IpAddress b;
  };
  Key key_of(uint64_t rule, bool rate_filter, ThresholdOption::Track track, const IpAddress& src,
             const IpAddress& dst) const noexcept;
  // Locks the key's bucket (spinning while another worker holds it) and returns it.
  uint32_t lock(const Key& key) noexcept;
  void unlock(uint32_t bucket) noexcept;
  // The key's entry in its (locked) bucket, found or made (evicting the oldest of a full
  // bucket, counted in `evicted` too); `fresh` says it was made.
  Entry& find(uint32_t bucket, const Key& key, int64_t ts_usec, bool& fresh, uint64_t& evicted) noexcept;

  uint32_t bucket_mask_;
  ZeroedArray<Entry> entries_;
  std::unique_ptr<std::atomic<bool>[]> locks_;  // one per bucket
  std::atomic<uint64_t> evicted_{0};
};

}  // namespace eastwatch

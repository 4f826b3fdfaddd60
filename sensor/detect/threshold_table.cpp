#include "sensor/detect/threshold_table.hpp"

#include <xxhash.h>

#include <cstring>

#include <immintrin.h>

namespace eastwatch {

ThresholdTable::ThresholdTable(uint32_t capacity) {
  uint32_t buckets = 1;
  while (buckets * kWays < capacity) buckets <<= 1;
  bucket_mask_ = buckets - 1;
  // Zero pages, backed as buckets are first used. Not value-initialised (EntryState's
  // timeout_start_usec defaults to -1), but an unused entry is only read for `used` (zero:
  // false) and find() writes the whole entry when it takes one.
  entries_ = ZeroedArray<Entry>(size_t{buckets} * kWays, ZeroedUse::kWrittenBeforeRead);
  locks_ = std::make_unique<std::atomic<bool>[]>(buckets);
  for (uint32_t i = 0; i < buckets; ++i) locks_[i].store(false, std::memory_order_relaxed);
}

ThresholdTable::Key ThresholdTable::key_of(uint64_t rule, bool rate_filter, ThresholdOption::Track track,
                                           const IpAddress& src, const IpAddress& dst) const noexcept {
  Key key{0, rule, rate_filter, IpAddress{}, IpAddress{}};
  switch (track) {
    case ThresholdOption::Track::BySrc: key.a = src; break;
    case ThresholdOption::Track::ByDst: key.a = dst; break;
    case ThresholdOption::Track::ByRule: break;
    case ThresholdOption::Track::ByBoth: key.a = src; key.b = dst; break;
  }
  struct {
    uint64_t rule;
    uint8_t rate_filter;
    uint8_t a[16];
    uint8_t b[16];
  } bytes{};
  bytes.rule = rule;
  bytes.rate_filter = rate_filter ? 1 : 0;
  std::memcpy(bytes.a, key.a.bytes.data(), 16);
  std::memcpy(bytes.b, key.b.bytes.data(), 16);
  key.hash = XXH3_64bits(&bytes, sizeof bytes);
  return key;
}

uint32_t ThresholdTable::lock(const Key& key) noexcept {
  const uint32_t bucket = static_cast<uint32_t>(key.hash & bucket_mask_);
  std::atomic<bool>& flag = locks_[bucket];
  while (flag.exchange(true, std::memory_order_acquire)) {
    while (flag.load(std::memory_order_relaxed)) _mm_pause();
  }
  return bucket;
}

void ThresholdTable::unlock(uint32_t bucket) noexcept { locks_[bucket].store(false, std::memory_order_release); }

ThresholdTable::Entry& ThresholdTable::find(uint32_t bucket_index, const Key& key, int64_t ts_usec, bool& fresh,
                                            uint64_t& evicted) noexcept {
  Entry* bucket = &entries_[size_t{bucket_index} * kWays];
  Entry* victim = &bucket[0];
  for (uint32_t i = 0; i < kWays; ++i) {
    Entry& e = bucket[i];
    if (e.used && e.hash == key.hash && e.rule == key.rule && e.rate_filter == key.rate_filter && e.a == key.a &&
        e.b == key.b) {
      fresh = false;
      return e;
    }
    if (!e.used) {
      victim = &e;
    } else if (victim->used && e.state.window_start_usec < victim->state.window_start_usec) {
      victim = &e;
    }
  }
  if (victim->used) {
    evicted_.fetch_add(1, std::memory_order_relaxed);
    ++evicted;
  }
  *victim = Entry{key.hash, key.rule, key.rate_filter, key.a, key.b, true, EntryState{ts_usec, ts_usec, -1, 0}};
  fresh = true;
  return *victim;
}

namespace {

enum class Slot { kInWindow, kNewWindow, kLate };

// Where a (not fresh) match at `ts_usec` falls against `e`'s window of `span` microseconds;
// a late match inside the span widens the window back to it (see the header).
Slot place(ThresholdTable::EntryState& e, int64_t ts_usec, int64_t span) noexcept {
  if (ts_usec >= e.window_start_usec) {
    if (ts_usec - e.window_start_usec >= span) return Slot::kNewWindow;
    if (ts_usec > e.newest_usec) e.newest_usec = ts_usec;
    return Slot::kInWindow;
  }
  if (e.newest_usec - ts_usec < span) {
    e.window_start_usec = ts_usec;
    return Slot::kInWindow;
  }
  return Slot::kLate;
}

// rate_filter's step for one match: whether the new action applies to it.
bool rate_step(ThresholdTable::EntryState& e, bool fresh, const RateFilterOption& option, int64_t ts_usec) noexcept {
  if (fresh) {
    e.count = 1;
    if (option.count == 0) {
      e.timeout_start_usec = ts_usec;
      return true;
    }
    return false;
  }
  if (e.timeout_start_usec >= 0) {
    if (ts_usec - e.timeout_start_usec > int64_t{option.timeout} * 1'000'000) {
      e.timeout_start_usec = -1;
      e.window_start_usec = ts_usec;
      e.newest_usec = ts_usec;
      e.count = 1;
      return false;
    }
    return true;
  }
  switch (place(e, ts_usec, int64_t{option.seconds} * 1'000'000)) {
    case Slot::kInWindow:
      if (++e.count > option.count) {
        e.timeout_start_usec = ts_usec;
        return true;
      }
      return false;
    case Slot::kLate: return false;
    case Slot::kNewWindow: break;
  }
  e.window_start_usec = ts_usec;
  e.newest_usec = ts_usec;
  e.count = 1;
  return false;
}

// threshold / detection_filter's step for one match: whether it alerts.
bool threshold_step(ThresholdTable::EntryState& e, bool fresh, const ThresholdOption& option, int64_t ts_usec) noexcept {
  const uint32_t count = option.count;
  // The first match of a window (a new entry, or one whose window has passed).
  auto open_window = [&] {
    e.window_start_usec = ts_usec;
    e.newest_usec = ts_usec;
    e.count = 1;
    switch (option.type) {
      case ThresholdOption::Type::Limit: return true;
      case ThresholdOption::Type::Threshold:
        if (count <= 1) {
          e.count = 0;
          return true;
        }
        return false;
      case ThresholdOption::Type::Both: return count <= 1;
      case ThresholdOption::Type::DetectionFilter: return count == 0;
    }
    return false;
  };
  if (fresh) return open_window();
  switch (place(e, ts_usec, int64_t{option.seconds} * 1'000'000)) {
    case Slot::kNewWindow: return open_window();
    case Slot::kLate: return false;
    case Slot::kInWindow: break;
  }
  ++e.count;
  switch (option.type) {
    case ThresholdOption::Type::Limit: return e.count <= count;
    case ThresholdOption::Type::Threshold:
      if (e.count >= count) {
        e.count = 0;
        return true;
      }
      return false;
    case ThresholdOption::Type::Both: return e.count == count;
    case ThresholdOption::Type::DetectionFilter: return e.count > count;
  }
  return false;
}

}  // namespace

bool ThresholdTable::rate_exceeded(uint64_t rule_id, const RateFilterOption& option, const IpAddress& src,
                                   const IpAddress& dst, int64_t ts_usec, uint64_t& evicted) noexcept {
  const Key key = key_of(rule_id, true, option.track, src, dst);
  const uint32_t bucket = lock(key);
  bool fresh = false;
  Entry& entry = find(bucket, key, ts_usec, fresh, evicted);
  const bool exceeded = rate_step(entry.state, fresh, option, ts_usec);
  unlock(bucket);
  return exceeded;
}

bool ThresholdTable::allow(uint64_t rule_id, const ThresholdOption& option, const IpAddress& src, const IpAddress& dst,
                           int64_t ts_usec, uint64_t& evicted) noexcept {
  const Key key = key_of(rule_id, false, option.track, src, dst);
  const uint32_t bucket = lock(key);
  bool fresh = false;
  Entry& entry = find(bucket, key, ts_usec, fresh, evicted);
  const bool allowed = threshold_step(entry.state, fresh, option, ts_usec);
  unlock(bucket);
  return allowed;
}

}  // namespace eastwatch

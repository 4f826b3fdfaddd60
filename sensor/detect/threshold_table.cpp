#include "sensor/detect/threshold_table.hpp"

#include <xxhash.h>

#include <cstring>

namespace eastwatch {

ThresholdTable::ThresholdTable(uint32_t capacity) {
  uint32_t buckets = 1;
  while (buckets * kWays < capacity) buckets <<= 1;
  bucket_mask_ = buckets - 1;
  entries_ = std::make_unique<Entry[]>(size_t{buckets} * kWays);
}

ThresholdTable::Entry& ThresholdTable::find(uint32_t rule_key, ThresholdOption::Track track, const IpAddress& src,
                                            const IpAddress& dst, int64_t ts_usec, bool& fresh) noexcept {
  IpAddress a{};
  IpAddress b{};
  switch (track) {
    case ThresholdOption::Track::BySrc: a = src; break;
    case ThresholdOption::Track::ByDst: a = dst; break;
    case ThresholdOption::Track::ByRule: break;
    case ThresholdOption::Track::ByBoth: a = src; b = dst; break;
  }
  struct {
    uint32_t rule;
    uint8_t a[16];
    uint8_t b[16];
  } key{};
  key.rule = rule_key;
  std::memcpy(key.a, a.bytes.data(), 16);
  std::memcpy(key.b, b.bytes.data(), 16);
  const uint64_t hash = XXH3_64bits(&key, sizeof key);
  Entry* bucket = &entries_[(hash & bucket_mask_) * kWays];

  Entry* victim = &bucket[0];
  for (uint32_t i = 0; i < kWays; ++i) {
    Entry& e = bucket[i];
    if (e.used && e.hash == hash && e.rule == rule_key && e.a == a && e.b == b) {
      fresh = false;
      return e;
    }
    if (!e.used) {
      victim = &e;
    } else if (victim->used && e.window_start_usec < victim->window_start_usec) {
      victim = &e;
    }
  }
  if (victim->used) ++evicted_;
  *victim = Entry{hash, ts_usec, -1, rule_key, 0, a, b, true};
  fresh = true;
  return *victim;
}

bool ThresholdTable::rate_exceeded(uint32_t rule_index, const RateFilterOption& option, const IpAddress& src,
                                   const IpAddress& dst, int64_t ts_usec) noexcept {
  bool fresh = false;
  Entry& e = find(rule_index | kRateFilterKey, option.track, src, dst, ts_usec, fresh);
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
      e.count = 1;
      return false;
    }
    return true;
  }
  if (ts_usec - e.window_start_usec < int64_t{option.seconds} * 1'000'000) {
    if (++e.count > option.count) {
      e.timeout_start_usec = ts_usec;
      return true;
    }
    return false;
  }
  e.window_start_usec = ts_usec;
  e.count = 1;
  return false;
}

bool ThresholdTable::allow(uint32_t rule_index, const ThresholdOption& option, const IpAddress& src,
                           const IpAddress& dst, int64_t ts_usec) noexcept {
  bool fresh = false;
  Entry* entry = &find(rule_index, option.track, src, dst, ts_usec, fresh);
  const uint32_t count = option.count;
  // The first match of a window (a new entry, or one whose window has passed).
  auto open_window = [&](Entry& e) {
    e.window_start_usec = ts_usec;
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
  if (fresh) return open_window(*entry);
  if (ts_usec - entry->window_start_usec >= int64_t{option.seconds} * 1'000'000) return open_window(*entry);
  ++entry->count;
  switch (option.type) {
    case ThresholdOption::Type::Limit: return entry->count <= count;
    case ThresholdOption::Type::Threshold:
      if (entry->count >= count) {
        entry->count = 0;
        return true;
      }
      return false;
    case ThresholdOption::Type::Both: return entry->count == count;
    case ThresholdOption::Type::DetectionFilter: return entry->count > count;
  }
  return false;
}

}  // namespace eastwatch

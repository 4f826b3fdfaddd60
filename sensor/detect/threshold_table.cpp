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

bool ThresholdTable::allow(uint32_t rule_index, const ThresholdOption& option, const IpAddress& src,
                           const IpAddress& dst, int64_t ts_usec) noexcept {
  IpAddress a{};
  IpAddress b{};
  switch (option.track) {
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
  key.rule = rule_index;
  std::memcpy(key.a, a.bytes.data(), 16);
  std::memcpy(key.b, b.bytes.data(), 16);
  const uint64_t hash = XXH3_64bits(&key, sizeof key);
  Entry* bucket = &entries_[(hash & bucket_mask_) * kWays];

  Entry* entry = nullptr;
  Entry* victim = &bucket[0];
  for (uint32_t i = 0; i < kWays; ++i) {
    Entry& e = bucket[i];
    if (e.used && e.hash == hash && e.rule == rule_index && e.a == a && e.b == b) {
      entry = &e;
      break;
    }
    if (!e.used) {
      victim = &e;
    } else if (victim->used && e.window_start_usec < victim->window_start_usec) {
      victim = &e;
    }
  }

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
  if (entry == nullptr) {
    if (victim->used) ++evicted_;
    *victim = Entry{hash, ts_usec, rule_index, 0, a, b, true};
    return open_window(*victim);
  }
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

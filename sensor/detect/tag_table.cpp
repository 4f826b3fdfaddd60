#include "sensor/detect/tag_table.hpp"

#include <xxhash.h>

#include <limits>

namespace eastwatch {

namespace {

static_assert(sizeof(TagState) == 24, "a flow carries Flow::kMaxTags of these: keep it small");

constexpr uint8_t kRenewalLimit = 10;  // Suricata's DETECT_TAG_MATCH_LIMIT

int64_t seconds_of(int64_t ts_usec) noexcept {
  return ts_usec >= 0 ? ts_usec / 1'000'000 : -((-ts_usec + 999'999) / 1'000'000);
}

uint32_t epoch_second(int64_t sec) noexcept {
  return sec <= 0 ? 0 : sec >= int64_t{std::numeric_limits<uint32_t>::max()} ? std::numeric_limits<uint32_t>::max()
                                                                             : static_cast<uint32_t>(sec);
}

uint32_t saturating_add(uint32_t a, uint32_t b) noexcept {
  return a > std::numeric_limits<uint32_t>::max() - b ? std::numeric_limits<uint32_t>::max() : a + b;
}

}  // namespace

bool add_tag(TagState* tags, uint8_t& count, uint8_t capacity, const TagOption& option, uint32_t sid, uint32_t gid,
             int64_t ts_usec) noexcept {
  const int64_t sec = seconds_of(ts_usec);
  for (uint8_t i = 0; i < count; ++i) {
    TagState& t = tags[i];
    if (t.sid != sid || t.gid != gid) continue;
    // The rule alerted again: its tag starts over, a bounded number of times (a flood of
    // matches cannot keep a tag alive forever). The packet was counted already: it is tagged.
    if (t.renewals < kRenewalLimit) ++t.renewals;
    if (t.renewals < kRenewalLimit) {
      t.first_sec = epoch_second(sec);
      t.used = 0;
    }
    return true;
  }
  if (count >= capacity) return false;
  TagState& t = tags[count++];
  t = TagState{};
  t.sid = sid;
  t.gid = gid;
  t.count = option.count;
  t.metric = static_cast<uint8_t>(option.metric);
  t.first_sec = epoch_second(sec);
  return true;
}

bool advance_tags(TagState* tags, uint8_t& count, uint32_t packet_len, int64_t ts_usec) noexcept {
  const int64_t sec = seconds_of(ts_usec);
  bool tagged = false;
  for (uint8_t i = 0; i < count;) {
    TagState& t = tags[i];
    const auto metric = static_cast<TagOption::Metric>(t.metric);
    if (metric == TagOption::Metric::Packets) t.used = saturating_add(t.used, 1);
    if (metric == TagOption::Metric::Bytes) t.used = saturating_add(t.used, packet_len);
    if (!t.skipped_first) {  // the packet that alerted: the alert itself logs it
      t.skipped_first = true;
      ++i;
      continue;
    }
    const bool expired = metric == TagOption::Metric::Seconds ? sec - int64_t{t.first_sec} > int64_t{t.count}
                                                              : t.used > t.count;
    if (expired) {
      tags[i] = tags[--count];
      continue;
    }
    tagged = true;
    ++i;
  }
  return tagged;
}

TagTable::TagTable(uint32_t capacity) {
  uint32_t buckets = 1;
  while (buckets * kWays < capacity) buckets <<= 1;
  bucket_mask_ = buckets - 1;
  entries_ = ZeroedArray<Entry>(size_t{buckets} * kWays);  // zero pages, backed when first used
}

TagTable::Entry* TagTable::find(const IpAddress& host, uint64_t hash) noexcept {
  Entry* bucket = &entries_[(hash & bucket_mask_) * kWays];
  for (uint32_t i = 0; i < kWays; ++i) {
    if (bucket[i].tag_count != 0 && bucket[i].hash == hash && bucket[i].host == host) return &bucket[i];
  }
  return nullptr;
}

void TagTable::release(Entry& e) noexcept {
  if (e.tag_count != 0) --active_;
  e.tag_count = 0;
}

bool TagTable::add(const IpAddress& host, const TagOption& option, uint32_t sid, uint32_t gid,
                   int64_t ts_usec) noexcept {
  const uint64_t hash = XXH3_64bits(host.bytes.data(), host.bytes.size());
  const int64_t sec = seconds_of(ts_usec);
  Entry* e = find(host, hash);
  if (e != nullptr && sec - e->last_sec > kIdleSeconds) release(*e);  // its old tags timed out
  if (e == nullptr || e->tag_count == 0) {
    Entry* bucket = &entries_[(hash & bucket_mask_) * kWays];
    Entry* victim = e != nullptr ? e : &bucket[0];
    for (uint32_t i = 0; e == nullptr && i < kWays; ++i) {
      if (bucket[i].tag_count == 0) {
        victim = &bucket[i];
        break;
      }
      if (bucket[i].last_sec < victim->last_sec) victim = &bucket[i];
    }
    if (victim->tag_count != 0) {
      ++evicted_;
      release(*victim);
    }
    e = victim;
    e->hash = hash;
    e->host = host;
  }
  const bool was_empty = e->tag_count == 0;
  e->last_sec = sec;
  const bool added = add_tag(e->tags, e->tag_count, kTagsPerHost, option, sid, gid, ts_usec);
  if (was_empty && e->tag_count != 0) ++active_;
  return added;
}

bool TagTable::advance_host(const IpAddress& host, uint32_t packet_len, int64_t ts_usec) noexcept {
  Entry* e = find(host, XXH3_64bits(host.bytes.data(), host.bytes.size()));
  if (e == nullptr) return false;
  const int64_t sec = seconds_of(ts_usec);
  if (sec - e->last_sec > kIdleSeconds) {
    release(*e);
    return false;
  }
  e->last_sec = sec;
  const bool tagged = advance_tags(e->tags, e->tag_count, packet_len, ts_usec);
  if (e->tag_count == 0) --active_;
  return tagged;
}

bool TagTable::advance(const IpAddress& src, const IpAddress& dst, uint32_t packet_len, int64_t ts_usec) noexcept {
  if (active_ == 0) return false;
  const bool by_src = advance_host(src, packet_len, ts_usec);
  const bool by_dst = !(dst == src) && advance_host(dst, packet_len, ts_usec);
  return by_src || by_dst;
}

}  // namespace eastwatch

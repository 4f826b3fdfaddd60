#include "sensor/inventory/binding_table.hpp"

#include <immintrin.h>

namespace eastwatch {

namespace {

uint64_t mix(uint64_t value) noexcept {  // splitmix64's finalizer
  value ^= value >> 30;
  value *= 0xbf58476d1ce4e5b9ull;
  value ^= value >> 27;
  value *= 0x94d049bb133111ebull;
  return value ^ (value >> 31);
}

}  // namespace

BindingTable::BindingTable(uint64_t memcap, uint32_t timeout_seconds) : timeout_(timeout_seconds) {
  const uint64_t per_bucket = sizeof(Bucket) + sizeof(std::atomic<uint8_t>);
  uint64_t buckets = 1;
  while (buckets * 2 * per_bucket <= memcap && buckets < (1u << 30)) buckets *= 2;
  mask_ = static_cast<uint32_t>(buckets - 1);
  buckets_ = ZeroedArray<Bucket>(buckets);  // zero pages, backed when first used
  locks_ = std::make_unique<std::atomic<uint8_t>[]>(buckets);
  for (uint64_t i = 0; i < buckets; ++i) locks_[i].store(0, std::memory_order_relaxed);
}

uint32_t BindingTable::bucket_of(const IpKey& key) const noexcept {
  return static_cast<uint32_t>(mix(key.high ^ mix(key.low))) & mask_;
}

bool BindingTable::lock(uint32_t bucket) noexcept {
  std::atomic<uint8_t>& flag = locks_[bucket];
  for (uint32_t i = 0; i < kSpins; ++i) {
    if (flag.load(std::memory_order_relaxed) == 0 && flag.exchange(1, std::memory_order_acquire) == 0) return true;
    _mm_pause();
  }
  counters_.busy.fetch_add(1, std::memory_order_relaxed);
  return false;
}

bool BindingTable::find(const IpKey& key, uint32_t now, uint64_t& value) noexcept {
  const uint32_t b = bucket_of(key);
  if (!lock(b)) return false;
  bool found = false;
  for (const Entry& entry : buckets_[b].entries) {
    if (entry.used && entry.key == key && live(entry, now)) {
      value = entry.value;
      found = true;
      break;
    }
  }
  unlock(b);
  return found;
}

}  // namespace eastwatch

#include "sensor/detect/xbits_table.hpp"

#include <bit>
#include <cstring>

namespace eastwatch {
namespace {

void to_words(const IpAddress& addr, uint64_t out[2]) noexcept { std::memcpy(out, addr.bytes.data(), 16); }

uint64_t mix(uint64_t h, uint64_t v) noexcept {
  h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdull;
}

}  // namespace

XbitsTable::XbitsTable(uint32_t capacity) {
  const uint32_t size = std::bit_ceil(capacity < kProbe ? kProbe : capacity);
  entries_ = std::make_unique<Entry[]>(size);
  mask_ = size - 1;
}

uint64_t XbitsTable::hash(const Key& key) const noexcept {
  uint64_t w[4];
  to_words(key.a, w);
  to_words(key.b, w + 2);
  uint64_t h = mix(key.id, key.pair ? 1 : 0);
  for (uint64_t v : w) h = mix(h, v);
  return h ^ (h >> 29);
}

bool XbitsTable::key_equals(const Entry& e, const Key& key) const noexcept {
  uint64_t w[4];
  to_words(key.a, w);
  to_words(key.b, w + 2);
  if (e.id.load(std::memory_order_relaxed) != key.id) return false;
  if ((e.pair.load(std::memory_order_relaxed) != 0) != key.pair) return false;
  for (int i = 0; i < 4; ++i) {
    if (e.words[i].load(std::memory_order_relaxed) != w[i]) return false;
  }
  return true;
}

XbitsTable::Entry* XbitsTable::find(const Key& key) const noexcept {
  const uint64_t home = hash(key);
  for (uint32_t i = 0; i < kProbe; ++i) {
    Entry& e = entries_[(home + i) & mask_];
    const uint32_t s1 = e.seq.load(std::memory_order_acquire);
    if (s1 == 0) return nullptr;  // never used: the key was never inserted past here
    if (s1 & 1u) continue;
    const bool same = key_equals(e, key);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (same && e.seq.load(std::memory_order_relaxed) == s1) return &e;
  }
  return nullptr;
}

bool XbitsTable::is_set(const Key& key, int64_t now_usec) const noexcept {
  const Entry* e = find(key);
  return e != nullptr && now_usec < e->until_usec.load(std::memory_order_acquire);
}

void XbitsTable::unset(const Key& key) noexcept {
  if (Entry* e = find(key)) e->until_usec.store(0, std::memory_order_release);
}

bool XbitsTable::set(const Key& key, int64_t expire_usec, int64_t now_usec) noexcept {
  if (Entry* e = find(key)) {
    e->until_usec.store(expire_usec, std::memory_order_release);
    return true;
  }
  uint64_t w[4];
  to_words(key.a, w);
  to_words(key.b, w + 2);
  const uint64_t home = hash(key);
  for (uint32_t i = 0; i < kProbe; ++i) {
    Entry& e = entries_[(home + i) & mask_];
    uint32_t s = e.seq.load(std::memory_order_acquire);
    if (s & 1u) continue;
    // Free (never used) or expired: claim it by making the sequence odd.
    if (s != 0 && now_usec < e.until_usec.load(std::memory_order_acquire)) continue;
    if (!e.seq.compare_exchange_strong(s, s + 1, std::memory_order_acq_rel)) continue;
    if (s != 0 && now_usec < e.until_usec.load(std::memory_order_acquire)) {  // set again meanwhile
      e.seq.store(s + 2, std::memory_order_release);
      continue;
    }
    e.id.store(key.id, std::memory_order_relaxed);
    e.pair.store(key.pair ? 1 : 0, std::memory_order_relaxed);
    for (int k = 0; k < 4; ++k) e.words[k].store(w[k], std::memory_order_relaxed);
    e.until_usec.store(expire_usec, std::memory_order_relaxed);
    e.seq.store(s + 2, std::memory_order_release);
    return true;
  }
  full_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

}  // namespace eastwatch

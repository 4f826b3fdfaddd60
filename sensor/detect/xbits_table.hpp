// The state of `xbits` (host and ip-pair bits), shared by every worker: two flows of one host
// may be on different workers and must see each other's bits.
//
// Contract: fixed capacity, allocated at construction; no call allocates, locks or throws.
// Open addressing (linear probing, at most kProbe slots from the key's home). An entry holds
// its key (bit id, tracked address or unordered address pair) and the packet time (usec)
// until which the bit is set; 0: unset. Each entry has a sequence word: odd while a worker
// writes its key, so readers skip an entry being (re)written and re-check the sequence after
// reading the key. Insertion claims a free or expired slot with a CAS on the sequence, so
// expired entries are reused. A set that finds no slot within kProbe is counted (`full`).
// Time is the packet's, so replays are deterministic.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "signatures/address.hpp"

namespace eastwatch {

class XbitsTable {
 public:
  static constexpr uint32_t kProbe = 32;
  explicit XbitsTable(uint32_t capacity = 1u << 16);  // rounded up to a power of two

  // The key of a bit: for a host `b` equals `a`; a pair is stored with the lower address first.
  struct Key {
    uint64_t id = 0;
    IpAddress a;
    IpAddress b;
    bool pair = false;
  };
  static Key host_key(uint64_t id, const IpAddress& host) noexcept { return Key{id, host, host, false}; }
  static Key pair_key(uint64_t id, const IpAddress& x, const IpAddress& y) noexcept {
    return x < y ? Key{id, x, y, true} : Key{id, y, x, true};
  }

  bool is_set(const Key& key, int64_t now_usec) const noexcept;
  // Sets the bit until `expire_usec`; false when the table had no room (counted in full()).
  bool set(const Key& key, int64_t expire_usec, int64_t now_usec) noexcept;
  void unset(const Key& key) noexcept;

  uint32_t capacity() const noexcept { return mask_ + 1; }
  uint64_t full() const noexcept { return full_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    std::atomic<uint32_t> seq{0};       // even: key stable; odd: being written; 0: never used
    std::atomic<int64_t> until_usec{0};  // set while now < until; 0: unset
    std::atomic<uint64_t> id{0};
    std::atomic<uint64_t> words[4] = {};  // a, b as 2 x 64 bits each
    std::atomic<uint8_t> pair{0};
  };
  uint64_t hash(const Key& key) const noexcept;
  bool key_equals(const Entry& e, const Key& key) const noexcept;
  Entry* find(const Key& key) const noexcept;

  std::unique_ptr<Entry[]> entries_;
  uint32_t mask_ = 0;
  std::atomic<uint64_t> full_{0};
};

}  // namespace eastwatch

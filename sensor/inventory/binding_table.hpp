// Learned bindings: the inventory's dynamic half. What the segment itself says about who owns
// an address (ARP, DHCP acks, IPv6 neighbour discovery) or where a MAC lives (its VLAN, VNI,
// mirror session), kept in a bounded table that every worker of a run shares, so a claim
// seen by one worker is checked against a binding another worker learned.
//
// Contract:
//  - `BindingTable` is allocated in the constructor (`memcap` bytes at most, at least one
//    bucket) and never again. A key (an address, or a MAC as IpKey{tag, mac}) lives in one
//    bucket of kWays entries; a new key in a full bucket takes the least recently seen entry
//    (counted in `evicted` when that entry had not aged out yet).
//  - An entry ages out `timeout_seconds` (packet time) after it was last confirmed; an aged
//    entry is replaced by the next claim without a conflict.
//  - `claim` is noexcept, allocation-free and bounded (kWays entries). Workers call it at
//    once: each bucket has a flag taken with one atomic exchange and held for the few
//    instructions of the update (no system call, no allocation inside); a worker that does
//    not get it within kSpins tries gives up, counted in `busy`, and the claim is unchecked.
//    Claims are rare frames (ARP, DHCP, ND) and the first packet of a flow direction, never
//    every packet, and two workers meet on a bucket only for the same key's bucket.
//  - Counters are atomics (relaxed), read by the control side at the end of a run.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "signatures/address.hpp"
#include "sensor/util/zeroed_array.hpp"

namespace eastwatch {

class BindingTable {
 public:
  static constexpr uint32_t kWays = 4;
  static constexpr uint32_t kSpins = 1024;

  enum class Outcome : uint8_t {
    Learned,    // a new entry
    Confirmed,  // the claim agrees with the live entry (refreshed; `merge` may have added to it)
    Replaced,   // the entry had aged out (or `force`): the claim is the binding now
    Conflict,   // the claim contradicts a live entry; the entry is kept, `previous` holds it
    Busy,       // the bucket was not obtained (counted); nothing checked
  };

  struct Counters {
    std::atomic<uint64_t> learned{0};   // entries created
    std::atomic<uint64_t> replaced{0};  // entries replaced after aging out, or forced
    std::atomic<uint64_t> conflicts{0};
    std::atomic<uint64_t> evicted{0};   // live entries pushed out of a full bucket
    std::atomic<uint64_t> busy{0};      // claims given up on a contended bucket
    std::atomic<int64_t> entries{0};    // entries in use
  };

  BindingTable(uint64_t memcap, uint32_t timeout_seconds);

  // A claim that `key` is bound to `value`, at `now` (seconds of packet time). `merge(stored,
  // value)` decides an existing live entry: it returns false for a contradiction, or true and
  // may update `stored` (e.g. fill fields the entry did not know). `force` replaces a live
  // entry without a conflict (an authoritative source, such as a DHCP server's ack).
  template <class Merge>
  Outcome claim(const IpKey& key, uint64_t value, uint32_t now, Merge merge, uint64_t* previous = nullptr,
                bool force = false) noexcept;

  // The live value of `key`, without refreshing it; false when absent, aged or busy.
  bool find(const IpKey& key, uint32_t now, uint64_t& value) noexcept;

  const Counters& counters() const noexcept { return counters_; }
  uint32_t capacity() const noexcept { return (mask_ + 1) * kWays; }
  uint32_t timeout_seconds() const noexcept { return timeout_; }

 private:
  struct Entry {
    IpKey key;
    uint64_t value = 0;
    uint32_t last_seen = 0;
    bool used = false;
  };
  struct Bucket {
    Entry entries[kWays];
  };

  uint32_t bucket_of(const IpKey& key) const noexcept;
  bool lock(uint32_t bucket) noexcept;
  void unlock(uint32_t bucket) noexcept { locks_[bucket].store(0, std::memory_order_release); }
  // Packet times of several workers or files need not be ordered: a claim older than the entry
  // finds it live.
  bool live(const Entry& entry, uint32_t now) const noexcept {
    return static_cast<int32_t>(now - entry.last_seen) < static_cast<int32_t>(timeout_);
  }

  uint32_t mask_;
  uint32_t timeout_;
  ZeroedArray<Bucket> buckets_;
  std::unique_ptr<std::atomic<uint8_t>[]> locks_;
  Counters counters_;
};

template <class Merge>
BindingTable::Outcome BindingTable::claim(const IpKey& key, uint64_t value, uint32_t now, Merge merge,
                                          uint64_t* previous, bool force) noexcept {
  const uint32_t b = bucket_of(key);
  if (!lock(b)) return Outcome::Busy;
  Bucket& bucket = buckets_[b];
  Entry* victim = nullptr;
  for (Entry& entry : bucket.entries) {
    if (entry.used && entry.key == key) {
      if (previous != nullptr) *previous = entry.value;
      if (!force && live(entry, now)) {
        if (!merge(entry.value, value)) {
          counters_.conflicts.fetch_add(1, std::memory_order_relaxed);
          unlock(b);
          return Outcome::Conflict;
        }
        if (static_cast<int32_t>(now - entry.last_seen) > 0) entry.last_seen = now;
        unlock(b);
        return Outcome::Confirmed;
      }
      entry.value = value;
      entry.last_seen = now;
      counters_.replaced.fetch_add(1, std::memory_order_relaxed);
      unlock(b);
      return Outcome::Replaced;
    }
    if (!entry.used) {
      if (victim == nullptr || victim->used) victim = &entry;
    } else if (victim == nullptr || (victim->used && static_cast<int32_t>(entry.last_seen - victim->last_seen) < 0)) {
      victim = &entry;  // the least recently seen
    }
  }
  if (victim->used) {
    if (live(*victim, now)) counters_.evicted.fetch_add(1, std::memory_order_relaxed);
  } else {
    counters_.entries.fetch_add(1, std::memory_order_relaxed);
  }
  victim->key = key;
  victim->value = value;
  victim->last_seen = now;
  victim->used = true;
  counters_.learned.fetch_add(1, std::memory_order_relaxed);
  unlock(b);
  return Outcome::Learned;
}

// The two learned tables of a run, shared by its workers (InventoryStore::learned()).
struct LearnedBindings {
  LearnedBindings(uint64_t address_memcap, uint32_t address_timeout, uint64_t segment_memcap,
                  uint32_t segment_timeout)
      : addresses(address_memcap, address_timeout), segments(segment_memcap, segment_timeout) {}

  BindingTable addresses;  // IPv4/IPv6 address -> MAC (vmdetect sid 1)
  BindingTable segments;   // MAC -> VLAN, VNI, mirror session (vmdetect sid 2)
};

}  // namespace eastwatch

// The flow table: a fixed-size hash table over a preallocated flow pool, bounded by
// FlowSettings::memcap. Lookup is symmetric (both directions find the same flow).
//
// Contract:
//  - All memory is allocated in the constructor; `process`, `expire` and `flush` never
//    allocate, lock or throw.
//  - When the pool is exhausted, the least recently used flow is evicted (counted in
//    `get_used`), after its end callback has run. If even that is impossible the packet gets
//    no flow (counted in `memcap`) and is still inspected.
//  - Per-state timeouts come from FlowSettings (tcp/udp/icmp/other; new/established/closed).
//    Timestamps are packet time, so replays behave as live traffic did.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <vector>

#include "config/settings.hpp"
#include "sensor/decode/packet.hpp"
#include "sensor/flow/flow.hpp"
#include "sensor/util/zeroed_array.hpp"

namespace eastwatch {

struct FlowCounters {
  uint64_t total = 0;      // flows created
  uint64_t tcp = 0;
  uint64_t udp = 0;
  uint64_t icmpv4 = 0;
  uint64_t icmpv6 = 0;
  uint64_t active = 0;     // gauge
  uint64_t memcap = 0;     // packets that could get no flow
  uint64_t get_used = 0;   // LRU evictions of live flows
  uint64_t timeout = 0;    // flows ended by timeout
  uint64_t spare = 0;      // gauge: free flows in the pool
  uint64_t emerg_mode_entered = 0;
  uint64_t emerg_mode_over = 0;
  uint64_t end = 0;        // flows ended for any reason

  template <class F>
  void visit(F&& f) const {
    f("total", total); f("tcp", tcp); f("udp", udp); f("icmpv4", icmpv4); f("icmpv6", icmpv6);
    f("active", active); f("memcap", memcap); f("get_used", get_used); f("mgr.flows_timeout", timeout);
    f("spare", spare); f("emerg_mode_entered", emerg_mode_entered); f("emerg_mode_over", emerg_mode_over);
  }
};

enum class FlowEndReason : uint8_t { Timeout, Evicted, Flush };

// Called when a flow ends. Must not keep the pointer.
using FlowEndCallback = std::function<void(const Flow&, FlowEndReason)>;

class FlowTable {
 public:
  explicit FlowTable(const FlowSettings& settings);
  ~FlowTable();
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // Finds or creates the flow of a decoded IP packet, sets packet.flow and packet.to_server,
  // and updates the flow's counters, state and timestamps. Non-IP packets get no flow.
  Flow* process(Packet& packet) noexcept;

  // The hash `process` looks a packet's flow up by (symmetric: both directions give the same);
  // packet.flow_hash when packet.flow_hash_set. A thread that decodes ahead of the worker may
  // store it there (Packet::flow_hash).
  static uint64_t hash(const Packet& packet) noexcept;
  // Hints for a packet `process` will see soon (a burst processed in order): the first loads
  // the cache line of its home slot; the second, once that line is in, the first lines of the
  // flow the slot points to. Both only read, and do nothing for a packet without a stored hash.
  void prefetch_slot(const Packet& packet) const noexcept {
    if (packet.flow_hash_set) __builtin_prefetch(slots_.data() + (packet.flow_hash & slot_mask_));
  }
  void prefetch_flow(const Packet& packet) const noexcept;
  // The packet's flow, looked up by its stored hash without changing anything (null: none yet,
  // or no stored hash): to prefetch the flow's session and parser state ahead of `process`.
  const Flow* peek(const Packet& packet) const noexcept;

  // Ends flows idle past their timeout at `now_usec`; visits at most `max_checks` flows per
  // call, oldest first, so a worker can call it between bursts.
  void expire(int64_t now_usec, uint32_t max_checks) noexcept;

  // Ends every flow (end of a replay).
  void flush() noexcept;

  void set_end_callback(FlowEndCallback callback) { on_end_ = std::move(callback); }
  const FlowCounters& counters() const noexcept { return counters_; }
  uint32_t capacity() const noexcept { return capacity_; }
  bool emergency() const noexcept { return emergency_; }

 private:
  struct Slot {
    uint32_t tag;    // upper hash bits, to skip most non-matching flows without touching them
    uint32_t index;  // flow index + 1; 0 = empty
  };

  Flow* allocate(int64_t now_usec) noexcept;
  void end_flow(uint32_t index, FlowEndReason reason) noexcept;
  void slot_insert(uint64_t hash, uint32_t index) noexcept;
  void slot_erase(uint64_t hash, uint32_t index) noexcept;
  void lru_unlink(uint32_t index) noexcept;
  void lru_push_tail(uint32_t index) noexcept;
  bool timed_out(const Flow& flow, int64_t now_usec) const noexcept;
  void update_emergency() noexcept;

  FlowSettings settings_;
  uint32_t capacity_ = 0;
  uint64_t slot_mask_ = 0;
  ZeroedArray<Flow> flows_;     // capacity_ flows, zeroed, constructed on first use
  ZeroedArray<Slot> slots_;     // open addressing, linear probing, load <= 1/2
  ZeroedArray<uint32_t> free_;  // stack of free flow indices
  uint32_t free_count_ = 0;
  uint32_t never_used_ = 0;  // flows [never_used_, capacity_) were never handed out
  uint32_t lru_head_ = 0;    // index + 1
  uint32_t lru_tail_ = 0;
  uint64_t sequence_ = 0;    // flows created, for flow_id
  uint32_t expire_cursor_ = 0;
  bool emergency_ = false;
  FlowCounters counters_;
  FlowEndCallback on_end_;
};

}  // namespace eastwatch

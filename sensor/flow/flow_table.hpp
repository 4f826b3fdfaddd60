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
#include <functional>
#include <memory>
#include <vector>

#include "config/settings.hpp"
#include "sensor/decode/packet.hpp"
#include "sensor/flow/flow.hpp"

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

  template <class F>
  void visit(F&& f) const {
    f("total", total); f("tcp", tcp); f("udp", udp); f("icmpv4", icmpv4); f("icmpv6", icmpv6);
    f("active", active); f("memcap", memcap); f("get_used", get_used); f("mgr.flows_timeout", timeout);
    f("spare", spare);
  }
};

// Called when a flow ends (timeout, eviction, flush). Must not keep the pointer.
using FlowEndCallback = std::function<void(const Flow&)>;

class FlowTable {
 public:
  explicit FlowTable(const FlowSettings& settings);
  ~FlowTable();
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // Finds or creates the flow of a decoded IP packet, sets packet.flow and packet.to_server,
  // and updates the flow's counters, state and timestamps. Non-IP packets get no flow.
  Flow* process(Packet& packet) noexcept;

  // Ends flows idle past their timeout at `now_usec`; visits at most `max_checks` flows per
  // call, oldest first, so a worker can call it between bursts.
  void expire(int64_t now_usec, uint32_t max_checks) noexcept;

  // Ends every flow (end of a replay).
  void flush() noexcept;

  void set_end_callback(FlowEndCallback callback) { on_end_ = std::move(callback); }
  const FlowCounters& counters() const noexcept { return counters_; }
  uint32_t capacity() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  FlowCounters counters_;
  FlowEndCallback on_end_;
};

}  // namespace eastwatch

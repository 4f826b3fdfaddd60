// The live stats snapshot: every counter of the run in progress, read from another thread
// (the periodic stats records, the Prometheus endpoint, `eastwatch ctl stats`) while the
// workers run, without locks or read-modify-writes on the packet path.
//
// How: each worker publishes a copy of its counters (sensor/published_counters.hpp, a seqlock
// of relaxed atomic stores) every Worker::kPublishEveryBursts bursts, when it goes idle and at
// its end; each capture thread publishes its source's counters about once a second; the
// output side (sink queues, spools, the alert tally) is read through its own atomics and
// mutexes, which no worker touches. A snapshot sums the latest copies with the same
// StatsCollector as the final stats record, so its names are the EVE stats record's.
//
// Contract:
//  - A run `attach`es a collector (a LiveRun: views of its workers, capture, inventory and output)
//    before its threads start and `detach`es it, with its final snapshot, before they are freed;
//    `snapshot` between the two reads the published copies, afterwards returns the final one.
//  - `snapshot` may be called from any thread, any number at once.
//  - `control()` holds the control plane's facts (rules loaded/failed, reloads): set by whoever
//    loads or reloads rules, read by the snapshot.
//  - `StatsTicker` hands a snapshot to the output thread every `stats.interval` seconds (a
//    periodic EVE `stats` record and stats.log block, as Suricata's stats.interval).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sensor/inventory/inventory_store.hpp"
#include "sensor/main/capture_dispatch.hpp"
#include "sensor/main/stats_collector.hpp"
#include "sensor/main/worker.hpp"
#include "sensor/output/alert_tally.hpp"
#include "sensor/output/output_thread.hpp"
#include "sensor/published_counters.hpp"

namespace eastwatch {

// What the control plane knows: the rule set in use and its reloads (relaxed atomics; set on
// the control thread, read by the snapshot).
class ControlState {
 public:
  struct Copy {
    uint64_t rules_loaded = 0;
    uint64_t rules_failed = 0;
    uint64_t reloads = 0;          // reloads that swapped in a new rule set
    uint64_t reload_failures = 0;  // reloads that kept the running set
    int64_t last_reload_unix = 0;  // wall clock of the latest reload attempt; 0: none
    bool last_reload_ok = true;
  };

  void set_rules(uint64_t loaded, uint64_t failed) noexcept {
    rules_loaded_.store(loaded, std::memory_order_relaxed);
    rules_failed_.store(failed, std::memory_order_relaxed);
  }
  // A reload attempt ended: `ok` a new set is in use (with `loaded`/`failed` rules), else the
  // running set stays.
  void record_reload(bool ok, uint64_t loaded, uint64_t failed) noexcept;
  Copy copy() const noexcept;

 private:
  std::atomic<uint64_t> rules_loaded_{0};
  std::atomic<uint64_t> rules_failed_{0};
  std::atomic<uint64_t> reloads_{0};
  std::atomic<uint64_t> reload_failures_{0};
  std::atomic<int64_t> last_reload_unix_{0};
  std::atomic<bool> last_reload_ok_{true};
};

struct SinkGauges {
  std::string name;
  uint64_t queued = 0;  // records in its memory ring (the backlog in front of the collector)
  uint64_t sent = 0;
  uint64_t spooled = 0;
  uint64_t spool_bytes = 0;
  uint64_t dropped = 0;
  uint64_t reconnects = 0;
  bool connected = false;
};

struct LiveSnapshot {
  bool running = false;  // a run is attached (false: the final counters of the last run, or none)
  uint32_t workers = 0;
  StatsSnapshot stats;   // the EVE stats record's counters (and stats.log's extra ones)
  AlertTally::Copy alerts;
  uint64_t alerts_written = 0;  // alert records the output thread wrote (eve.json / sinks)
  std::vector<SinkGauges> sinks;
  ControlState::Copy control;
};

// Views of a run's parts, read by its collector. Unset parts are left out.
struct LiveRun {
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  bool wall_clock = false;  // live capture: snapshot timestamps are the wall clock; replay: packet time
  std::vector<const Worker*> workers;
  const WorkerPool* pool = nullptr;  // its producers' published capture and dispatch counters
  uint32_t producers = 0;
  const Published<CaptureCounters>* capture = nullptr;  // a single-threaded replay's reader
  const InventoryStore* inventory = nullptr;
  const OutputThread* output = nullptr;
};

class LiveStats {
 public:
  void attach(LiveRun run);
  void detach(const StatsSnapshot& final_stats);
  LiveSnapshot snapshot() const;
  ControlState& control() noexcept { return control_; }

 private:
  mutable std::mutex mutex_;
  bool attached_ = false;
  LiveRun run_;
  LiveSnapshot final_;
  ControlState control_;
};

// The process's live stats (one run at a time).
LiveStats& process_live_stats();

// The sinks' gauges and the alert tally of an output thread.
void add_output_state(LiveSnapshot& snapshot, const OutputThread& output);

class StatsTicker {
 public:
  // interval_seconds 0: no periodic records (no thread).
  StatsTicker(const LiveStats& live, OutputThread& output, uint32_t interval_seconds);
  ~StatsTicker() { stop(); }
  StatsTicker(const StatsTicker&) = delete;
  StatsTicker& operator=(const StatsTicker&) = delete;
  void stop();

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace eastwatch

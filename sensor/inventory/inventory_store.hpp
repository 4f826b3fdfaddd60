// Publishing inventory snapshots to workers, and the control thread that reloads them.
//
// Contract:
//  - `InventoryStore` holds the current immutable Inventory and a generation number (0: none
//    yet). `publish` (control plane) swaps in a new snapshot under a mutex and bumps the
//    generation. A worker reads `generation()` (one relaxed-acquire atomic load) between
//    bursts and calls `current()` (the mutex, a reference-count increment) only when it
//    changed, so no lock is taken per packet. Each worker keeps the snapshot it uses by
//    shared_ptr: the old one is freed when the last worker has moved past it.
//  - `InventoryWatcher` runs a control thread that checks the file's modification time (and
//    size) every `check_interval_ms`, and a hang-up counter (bumped by SIGHUP) every 100 ms;
//    on a change it loads and validates the file off the packet path: success publishes it
//    (one line on stderr), failure keeps the old snapshot and prints every problem. Traffic
//    never stops. Counters: inventory.reloads, inventory.reload_failures, inventory.vms
//    (stats.log only).
//  - It also owns the learned bindings (binding_table.hpp), the inventory's dynamic half,
//    which workers update concurrently; their counters join inventory.* in stats.log.
//    Likewise the vmdetect scan / brute-force counts (sensor/vmdetect/scan_tracker.hpp), made
//    by the run's setup (this library does not depend on vmdetect: the type is opaque here).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "sensor/inventory/binding_table.hpp"
#include "sensor/inventory/inventory.hpp"

namespace eastwatch {

class ScanTracker;

// Eastwatch-only inventory counters (stats.log).
struct InventoryCounters {
  uint64_t reloads = 0;          // snapshots published after the first
  uint64_t reload_failures = 0;  // reloads refused (bad file); the previous snapshot stayed
  uint64_t vms = 0;              // VMs in the current snapshot
  // The learned bindings (binding_table.hpp), when learning is on: entries in use, created,
  // replaced after aging out, conflicts, live entries evicted by the memcap, claims given up.
  uint64_t bindings = 0, bindings_learned = 0, bindings_replaced = 0, bindings_conflicts = 0,
           bindings_evicted = 0, bindings_busy = 0;
  uint64_t segments = 0, segments_learned = 0, segments_replaced = 0, segments_conflicts = 0,
           segments_evicted = 0, segments_busy = 0;

  template <class F>
  void visit(F&&) const {}
  template <class F>
  void visit_extra(F&& f) const {
    f("reloads", reloads); f("reload_failures", reload_failures); f("vms", vms);
    f("bindings", bindings); f("bindings_learned", bindings_learned); f("bindings_replaced", bindings_replaced);
    f("bindings_conflicts", bindings_conflicts); f("bindings_evicted", bindings_evicted);
    f("bindings_busy", bindings_busy);
    f("segments", segments); f("segments_learned", segments_learned); f("segments_replaced", segments_replaced);
    f("segments_conflicts", segments_conflicts); f("segments_evicted", segments_evicted);
    f("segments_busy", segments_busy);
  }
};

class InventoryStore {
 public:
  void publish(std::shared_ptr<const Inventory> inventory);
  void count_failure() noexcept { failures_.fetch_add(1, std::memory_order_relaxed); }

  uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }
  // The current snapshot and its generation, read together.
  std::shared_ptr<const Inventory> current(uint64_t* generation = nullptr) const;
  InventoryCounters counters() const;

  // The learned bindings every worker shares (vmdetect sids 1 and 2); null until
  // `enable_learning` (control plane, before the workers start) allocates them.
  void enable_learning(uint64_t address_memcap, uint32_t address_timeout, uint64_t segment_memcap,
                       uint32_t segment_timeout);
  LearnedBindings* learned() const noexcept { return learned_.get(); }
  // The scan / brute-force counts every worker shares (vmdetect sids 6 and 7); null until the
  // control plane shares one before the workers start.
  void share_scans(std::shared_ptr<ScanTracker> scans) noexcept { scans_ = std::move(scans); }
  ScanTracker* scans() const noexcept { return scans_.get(); }

 private:
  std::shared_ptr<ScanTracker> scans_;
  std::unique_ptr<LearnedBindings> learned_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Inventory> current_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> failures_{0};
};

class InventoryWatcher {
 public:
  // `hangups`, when given, is a counter a SIGHUP handler increments.
  InventoryWatcher(std::string path, InventoryStore& store, uint32_t check_interval_ms,
                   const std::atomic<uint64_t>* hangups);
  ~InventoryWatcher();
  InventoryWatcher(const InventoryWatcher&) = delete;
  InventoryWatcher& operator=(const InventoryWatcher&) = delete;

  // Loads the file now; false (the problems on stderr) when it is bad. Used by the thread.
  bool reload(const char* why);

 private:
  void run();
  bool file_changed();

  std::string path_;
  InventoryStore& store_;
  uint32_t check_interval_ms_;
  const std::atomic<uint64_t>* hangups_;
  uint64_t seen_hangups_ = 0;
  int64_t mtime_nsec_ = 0;
  int64_t size_ = -1;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace eastwatch

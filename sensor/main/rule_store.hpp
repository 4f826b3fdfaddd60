// Rule-set snapshots for reload: the control thread publishes a new immutable rule set, each
// worker moves to it between bursts, and the old one is freed once no worker can hold it.
//
// Contract:
//  - A `RuleSnapshot` is complete when published: the compiled rules, the DetectEngine over
//    them, one DetectThread per worker prepared off the packet path (Hyperscan scratch sized
//    for its databases, stream states, per-rule tables) and the map from its rules to the
//    previous generation's (by gid:sid). Nothing in it changes afterwards, except each worker's
//    own DetectThread, which only that worker touches.
//  - Workers: `current()` is one acquire load; a worker that sees a new generation calls its
//    thread's carry_over (counters, per-rule alerts and profile follow their rule) and then
//    `announce`s the generation it is on. `leave` says it will never look again (its loop ended).
//  - Epochs: snapshot g is freed when every worker has announced a generation above g (or
//    left): a worker announces g only after loading the pointer to g, and holds nothing older;
//    and once the output thread has popped the alert events made before that (they point at
//    their rule).
//  - `publish` (control thread only) first waits until every worker is on the current
//    generation, so every worker passes through every generation in order and the previous-
//    generation maps are always the right ones; a worker that does not get there in time makes
//    the publish fail (the running set stays). After the swap it waits (bounded) for the
//    workers to move and frees what no worker holds; `reclaim` retries later.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "sensor/detect/detect_engine.hpp"
#include "sensor/output/alert_queue.hpp"
#include "signatures/rule_compiler.hpp"

namespace eastwatch {

struct RuleSnapshot {
  uint64_t generation = 0;  // 1: the set loaded at start
  std::shared_ptr<const CompiledRuleSet> rules;
  std::unique_ptr<DetectEngine> engine;
  // Per rule of this set: its index in the previous generation (DetectThread::kNoRule: new);
  // per rule of the previous generation: its index here (kNoRule: gone).
  std::vector<uint32_t> previous_index;
  std::vector<uint32_t> old_to_new;
  // Last so that they are freed first (their Hyperscan streams and scratch belong to `rules`).
  std::vector<std::unique_ptr<DetectThread>> threads;  // one per worker
  size_t loaded = 0;  // rules loaded
  size_t failed = 0;  // rules that failed to load
  int64_t loaded_unix = 0;

  ~RuleSnapshot() { threads.clear(); }
};

// Fills `previous_index` and `old_to_new` of `next` against `previous` (by gid:sid).
void map_rules(const CompiledRuleSet& previous, RuleSnapshot& next);

class RuleStore;

// The next snapshot of `store` for `rules`: its engine, the maps to the current set, and one
// DetectThread per worker of the store (control plane: allocates, may take a while).
std::unique_ptr<RuleSnapshot> prepare_snapshot(std::shared_ptr<const CompiledRuleSet> rules, const RuleStore& store,
                                               const DetectSettings& detect, const EveSettings& eve);

class RuleStore {
 public:
  static constexpr uint64_t kLeft = UINT64_MAX;  // announced by a worker that stopped

  // `initial`: generation 1, without threads (the workers hand theirs over in attach_worker).
  RuleStore(std::unique_ptr<RuleSnapshot> initial, uint32_t workers);
  ~RuleStore();
  RuleStore(const RuleStore&) = delete;
  RuleStore& operator=(const RuleStore&) = delete;

  // Before the worker threads start: worker `index`'s thread becomes generation 1's, and its
  // stream session count sizes the threads of later generations.
  DetectThread* attach_worker(uint32_t index, std::unique_ptr<DetectThread> thread, uint32_t stream_sessions);

  // Workers.
  const RuleSnapshot* current() const noexcept { return current_.load(std::memory_order_acquire); }
  void announce(uint32_t worker, uint64_t generation) noexcept {
    epochs_[worker].generation.store(generation, std::memory_order_seq_cst);
  }
  void leave(uint32_t worker) noexcept { announce(worker, kLeft); }

  // Control thread.
  uint32_t worker_count() const noexcept { return worker_count_; }
  uint32_t stream_sessions(uint32_t worker) const noexcept { return epochs_[worker].stream_sessions; }
  uint64_t announced(uint32_t worker) const noexcept {
    return epochs_[worker].generation.load(std::memory_order_seq_cst);
  }
  tl::expected<void, std::string> publish(std::unique_ptr<RuleSnapshot> next,
                                          std::chrono::milliseconds wait = std::chrono::milliseconds(2000));
  // Alert events point at their rule: a retired set is freed only once each watched queue
  // has popped every event pushed before the workers moved past it. Before workers start.
  void watch_alert_queue(const AlertQueue* queue) { queues_.push_back(queue); }

  // Frees every retired snapshot no worker and no queued alert can hold; returns how many are
  // still kept.
  size_t reclaim();
  size_t retired() const noexcept { return retired_.size(); }

 private:
  struct alignas(64) Epoch {
    std::atomic<uint64_t> generation{1};
    uint32_t stream_sessions = 0;
  };
  bool all_workers_past(uint64_t generation) const noexcept;

  uint32_t worker_count_;
  std::unique_ptr<Epoch[]> epochs_;
  std::atomic<const RuleSnapshot*> current_{nullptr};
  std::unique_ptr<RuleSnapshot> current_owned_;
  struct Retired {
    std::unique_ptr<RuleSnapshot> snapshot;
    std::vector<uint64_t> drain_marks;  // per watched queue, once every worker moved past it
  };
  std::vector<const AlertQueue*> queues_;
  std::vector<Retired> retired_;
};

}  // namespace eastwatch

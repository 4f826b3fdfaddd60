#include "sensor/main/rule_store.hpp"

#include <malloc.h>

#include <thread>
#include <unordered_map>

namespace eastwatch {

namespace {

uint64_t rule_id(const Rule& rule) noexcept { return (uint64_t{rule.gid} << 32) | rule.sid; }

}  // namespace

void map_rules(const CompiledRuleSet& previous, RuleSnapshot& next) {
  const auto old_rules = previous.rules();
  const auto new_rules = next.rules->rules();
  std::unordered_map<uint64_t, uint32_t> old_index;
  old_index.reserve(old_rules.size());
  for (uint32_t i = 0; i < old_rules.size(); ++i) old_index.emplace(rule_id(old_rules[i]), i);
  next.previous_index.assign(new_rules.size(), DetectThread::kNoRule);
  next.old_to_new.assign(old_rules.size(), DetectThread::kNoRule);
  for (uint32_t i = 0; i < new_rules.size(); ++i) {
    const auto it = old_index.find(rule_id(new_rules[i]));
    if (it == old_index.end()) continue;
    next.previous_index[i] = it->second;
    next.old_to_new[it->second] = i;
  }
}

std::unique_ptr<RuleSnapshot> prepare_snapshot(std::shared_ptr<const CompiledRuleSet> rules, const RuleStore& store,
                                               const DetectSettings& detect, const EveSettings& eve) {
  const RuleSnapshot& current = *store.current();
  auto snapshot = std::make_unique<RuleSnapshot>();
  snapshot->rules = std::move(rules);
  snapshot->engine = std::make_unique<DetectEngine>(snapshot->rules, detect, eve);
  snapshot->loaded = snapshot->rules->rules().size();
  snapshot->loaded_unix =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  map_rules(*current.rules, *snapshot);
  const auto generation = static_cast<uint32_t>(current.generation + 1);
  for (uint32_t w = 0; w < store.worker_count(); ++w) {
    auto thread = snapshot->engine->make_thread(store.stream_sessions(w));
    thread->set_generation(generation, snapshot->old_to_new);
    snapshot->threads.push_back(std::move(thread));
  }
  return snapshot;
}

RuleStore::RuleStore(std::unique_ptr<RuleSnapshot> initial, uint32_t workers)
    : worker_count_(workers), epochs_(std::make_unique<Epoch[]>(workers)), current_owned_(std::move(initial)) {
  current_owned_->generation = 1;
  current_owned_->threads.resize(workers);
  current_.store(current_owned_.get(), std::memory_order_release);
}

RuleStore::~RuleStore() {
  retired_.clear();
  current_owned_.reset();
}

DetectThread* RuleStore::attach_worker(uint32_t index, std::unique_ptr<DetectThread> thread,
                                       uint32_t stream_sessions) {
  epochs_[index].stream_sessions = stream_sessions;
  thread->set_generation(1, {});
  current_owned_->threads[index] = std::move(thread);
  return current_owned_->threads[index].get();
}

bool RuleStore::all_workers_past(uint64_t generation) const noexcept {
  for (uint32_t w = 0; w < worker_count_; ++w) {
    if (epochs_[w].generation.load(std::memory_order_seq_cst) <= generation) return false;
  }
  return true;
}

tl::expected<void, std::string> RuleStore::publish(std::unique_ptr<RuleSnapshot> next, std::chrono::milliseconds wait) {
  using Clock = std::chrono::steady_clock;
  const uint64_t running = current_owned_->generation;
  // Every worker on the running generation first (or gone), so each one moves by one step.
  const auto deadline = Clock::now() + wait;
  while (!all_workers_past(running - 1)) {
    if (Clock::now() >= deadline) {
      return tl::unexpected("a worker has not taken up rule set " + std::to_string(running) +
                            " yet; keeping it, try again");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  next->generation = running + 1;
  const RuleSnapshot* published = next.get();
  retired_.push_back(Retired{std::move(current_owned_), {}});
  current_owned_ = std::move(next);
  current_.store(published, std::memory_order_seq_cst);
  // The workers move at their next burst, or within a backoff sleep when idle.
  const auto settle = Clock::now() + wait;
  while (reclaim() > 0 && Clock::now() < settle) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return {};
}

size_t RuleStore::reclaim() {
  const size_t held = retired_.size();
  for (size_t i = 0; i < retired_.size();) {
    Retired& retired = retired_[i];
    if (retired.drain_marks.empty() && all_workers_past(retired.snapshot->generation)) {
      // Every event made with this set was pushed before its worker moved on: it lies below
      // what each queue has pushed now.
      retired.drain_marks.reserve(queues_.size() + 1);
      for (const AlertQueue* queue : queues_) retired.drain_marks.push_back(queue->pushed());
      retired.drain_marks.push_back(0);  // marks set (also with no queue)
    }
    bool drained = !retired.drain_marks.empty();
    for (size_t q = 0; drained && q < queues_.size(); ++q) drained = queues_[q]->popped() >= retired.drain_marks[q];
    if (drained) {
      retired_.erase(retired_.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
  // A rule set of every ET Open rule is hundreds of megabytes in small blocks: hand what its
  // freeing left in malloc's arenas back to the system, or the process keeps two sets' worth.
  if (retired_.size() < held) malloc_trim(0);
  return retired_.size();
}

}  // namespace eastwatch

#include "sensor/inventory/inventory_store.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace eastwatch {

void InventoryStore::publish(std::shared_ptr<const Inventory> inventory) {
  std::shared_ptr<const Inventory> old;
  {
    std::lock_guard lock(mutex_);
    old = std::move(current_);
    current_ = std::move(inventory);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  // `old` is released here, outside the lock; workers still holding it keep it alive.
}

std::shared_ptr<const Inventory> InventoryStore::current(uint64_t* generation) const {
  std::lock_guard lock(mutex_);
  if (generation != nullptr) *generation = generation_.load(std::memory_order_relaxed);
  return current_;
}

InventoryCounters InventoryStore::counters() const {
  InventoryCounters counters;
  uint64_t generation = 0;
  const auto inventory = current(&generation);
  counters.reloads = generation > 1 ? generation - 1 : 0;
  counters.reload_failures = failures_.load(std::memory_order_relaxed);
  counters.vms = inventory ? inventory->vm_count() : 0;
  if (learned_) {
    const auto read = [](const BindingTable& table, uint64_t& entries, uint64_t& learned, uint64_t& replaced,
                         uint64_t& conflicts, uint64_t& evicted, uint64_t& busy) {
      const BindingTable::Counters& c = table.counters();
      entries = static_cast<uint64_t>(std::max<int64_t>(0, c.entries.load(std::memory_order_relaxed)));
      learned = c.learned.load(std::memory_order_relaxed);
      replaced = c.replaced.load(std::memory_order_relaxed);
      conflicts = c.conflicts.load(std::memory_order_relaxed);
      evicted = c.evicted.load(std::memory_order_relaxed);
      busy = c.busy.load(std::memory_order_relaxed);
    };
    read(learned_->addresses, counters.bindings, counters.bindings_learned, counters.bindings_replaced,
         counters.bindings_conflicts, counters.bindings_evicted, counters.bindings_busy);
    read(learned_->segments, counters.segments, counters.segments_learned, counters.segments_replaced,
         counters.segments_conflicts, counters.segments_evicted, counters.segments_busy);
  }
  return counters;
}

void InventoryStore::enable_learning(uint64_t address_memcap, uint32_t address_timeout, uint64_t segment_memcap,
                                     uint32_t segment_timeout) {
  learned_ = std::make_unique<LearnedBindings>(address_memcap, address_timeout, segment_memcap, segment_timeout);
}

InventoryWatcher::InventoryWatcher(std::string path, InventoryStore& store, uint32_t check_interval_ms,
                                   const std::atomic<uint64_t>* hangups)
    : path_(std::move(path)),
      store_(store),
      check_interval_ms_(std::max<uint32_t>(100, check_interval_ms)),
      hangups_(hangups),
      seen_hangups_(hangups ? hangups->load(std::memory_order_relaxed) : 0) {
  file_changed();  // the modification time of the file the store was loaded from
  thread_ = std::thread([this] { run(); });
}

InventoryWatcher::~InventoryWatcher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool InventoryWatcher::file_changed() {
  struct stat st {};
  if (stat(path_.c_str(), &st) != 0) return false;  // gone: keep the snapshot until it returns
  const int64_t mtime = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  const bool changed = mtime != mtime_nsec_ || st.st_size != size_;
  mtime_nsec_ = mtime;
  size_ = st.st_size;
  return changed;
}

bool InventoryWatcher::reload(const char* why) {
  auto loaded = load_inventory_file(path_);
  if (!loaded) {
    store_.count_failure();
    for (const auto& error : loaded.error()) std::fprintf(stderr, "%s\n", error.c_str());
    std::fprintf(stderr, "eastwatch: inventory reload (%s) refused, keeping the previous inventory\n", why);
    return false;
  }
  const size_t vms = (*loaded)->vm_count();
  store_.publish(std::move(*loaded));
  std::fprintf(stderr,
               "eastwatch: inventory reloaded from %s (%s): %zu VMs (rules keep the $ZONE_/$VM_ addresses they "
               "were loaded with)\n",
               path_.c_str(), why, vms);
  return true;
}

void InventoryWatcher::run() {
  using namespace std::chrono;
  auto next_check = steady_clock::now() + milliseconds(check_interval_ms_);
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, milliseconds(100), [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    const uint64_t hangups = hangups_ ? hangups_->load(std::memory_order_relaxed) : 0;
    if (hangups != seen_hangups_) {
      seen_hangups_ = hangups;
      file_changed();
      reload("SIGHUP");
    } else if (steady_clock::now() >= next_check) {
      next_check = steady_clock::now() + milliseconds(check_interval_ms_);
      if (file_changed()) reload("file changed");
    }
    lock.lock();
  }
}

}  // namespace eastwatch

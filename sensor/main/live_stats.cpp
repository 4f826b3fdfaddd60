#include "sensor/main/live_stats.hpp"

#include <algorithm>

#include "sensor/main/run_report.hpp"
#include "sensor/stats_visitor.hpp"

namespace eastwatch {

namespace {

int64_t wall_clock_usec() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The run's counters from the copies its threads published, summed as the final record sums
// them (same prefixes, same order: capture first, then each worker's stages, then inventory).
StatsSnapshot collect(const LiveRun& run) {
  StatsCollector stats;
  if (run.capture != nullptr) {
    CaptureCounters capture{};
    run.capture->read(capture);
    stats.add("capture", capture);
  }
  if (run.pool != nullptr) {
    CaptureCounters capture{};
    std::vector<DispatchCounters> dispatch(run.producers);
    for (uint32_t p = 0; p < run.producers; ++p) {
      ProducerCounterSet published{};
      if (!run.pool->read_producer(p, published)) continue;
      accumulate(capture, published.capture);
      dispatch[p] = published.dispatch;
    }
    stats.add("capture", capture);
    for (const auto& counters : dispatch) stats.add("capture", counters);
  }
  int64_t last_packet_usec = 0;
  for (const Worker* worker : run.workers) {
    WorkerCounterSet counters{};
    worker->read_published_stats(counters);  // nothing yet: zeros, so every name is there from the start
    add_worker_stats(stats, counters);
    last_packet_usec = std::max(last_packet_usec, counters.last_packet_usec);
  }
  if (run.inventory != nullptr) stats.add("inventory", run.inventory->counters());
  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - run.started);
  const int64_t ts = run.wall_clock || last_packet_usec == 0 ? wall_clock_usec() : last_packet_usec;
  return stats.snapshot(ts, static_cast<uint64_t>(uptime.count()));
}

}  // namespace

void ControlState::record_reload(bool ok, uint64_t loaded, uint64_t failed) noexcept {
  if (ok) {
    set_rules(loaded, failed);
    reloads_.store(reloads_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  } else {
    reload_failures_.store(reload_failures_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  last_reload_ok_.store(ok, std::memory_order_relaxed);
  last_reload_unix_.store(wall_clock_usec() / 1'000'000, std::memory_order_relaxed);
}

ControlState::Copy ControlState::copy() const noexcept {
  Copy copy;
  copy.rules_loaded = rules_loaded_.load(std::memory_order_relaxed);
  copy.rules_failed = rules_failed_.load(std::memory_order_relaxed);
  copy.reloads = reloads_.load(std::memory_order_relaxed);
  copy.reload_failures = reload_failures_.load(std::memory_order_relaxed);
  copy.last_reload_unix = last_reload_unix_.load(std::memory_order_relaxed);
  copy.last_reload_ok = last_reload_ok_.load(std::memory_order_relaxed);
  return copy;
}

void LiveStats::attach(LiveRun run) {
  std::lock_guard lock(mutex_);
  run_ = std::move(run);
  attached_ = true;
}

void LiveStats::detach(const StatsSnapshot& final_stats) {
  std::lock_guard lock(mutex_);
  if (!attached_) return;
  final_ = LiveSnapshot{};
  final_.workers = static_cast<uint32_t>(run_.workers.size());
  final_.stats = final_stats;
  if (run_.output != nullptr) add_output_state(final_, *run_.output);
  attached_ = false;
  run_ = LiveRun{};
}

LiveSnapshot LiveStats::snapshot() const {
  LiveSnapshot snapshot;
  {
    std::lock_guard lock(mutex_);
    if (attached_) {
      snapshot.running = true;
      snapshot.workers = static_cast<uint32_t>(run_.workers.size());
      snapshot.stats = collect(run_);
      if (run_.output != nullptr) add_output_state(snapshot, *run_.output);
    } else {
      snapshot = final_;
    }
  }
  snapshot.control = control_.copy();
  return snapshot;
}

LiveStats& process_live_stats() {
  static LiveStats live;
  return live;
}

void add_output_state(LiveSnapshot& snapshot, const OutputThread& output) {
  snapshot.alerts = output.alert_tally().copy();
  snapshot.alerts_written = output.alerts_written();
  snapshot.sinks.clear();
  for (const auto& sink : output.sinks()) {
    SinkGauges gauges;
    gauges.name = sink->name();
    gauges.queued = sink->queued();
    gauges.sent = sink->sent();
    gauges.spooled = sink->spooled();
    gauges.spool_bytes = sink->spool_bytes();
    gauges.dropped = sink->dropped();
    gauges.reconnects = sink->reconnects();
    gauges.connected = sink->connected();
    snapshot.sinks.push_back(std::move(gauges));
  }
}

StatsTicker::StatsTicker(const LiveStats& live, OutputThread& output, uint32_t interval_seconds) {
  if (interval_seconds == 0) return;
  thread_ = std::thread([this, &live, &output, interval_seconds] {
    std::unique_lock lock(mutex_);
    auto next = std::chrono::steady_clock::now() + std::chrono::seconds(interval_seconds);
    while (!stopping_) {
      if (wake_.wait_until(lock, next, [this] { return stopping_; })) break;
      next += std::chrono::seconds(interval_seconds);
      lock.unlock();
      LiveSnapshot snapshot = live.snapshot();
      if (snapshot.running) output.write_stats(std::move(snapshot.stats));
      lock.lock();
    }
  });
}

void StatsTicker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace eastwatch

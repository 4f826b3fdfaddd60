#include "sensor/main/dpdk_workers.hpp"

#include <cstdio>

#ifndef EASTWATCH_HAVE_DPDK

namespace eastwatch {

int run_dpdk(const CliOptions&, const Settings&, std::shared_ptr<const CompiledRuleSet>, const InventoryStore*) {
  std::fputs(
      "eastwatch: capture.mode dpdk: this eastwatch was built without DPDK (install libdpdk-dev and build with "
      "-DEASTWATCH_DPDK=ON)\n",
      stderr);
  return 2;
}

}  // namespace eastwatch

#else

#include <signal.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <x86intrin.h>

#include "sensor/capture/dpdk_source.hpp"
#include "sensor/detect/detect_engine.hpp"
#include "sensor/main/capture_dispatch.hpp"
#include "sensor/main/control_plane.hpp"
#include "sensor/main/live_stats.hpp"
#include "sensor/main/daemon.hpp"
#include "sensor/main/hangup.hpp"
#include "sensor/main/rule_loading.hpp"
#include "sensor/main/run_report.hpp"
#include "sensor/main/stats_collector.hpp"
#include "sensor/main/worker.hpp"
#include "sensor/output/output_thread.hpp"

namespace eastwatch {

namespace {

using Clock = std::chrono::steady_clock;

// Set by SIGINT/SIGTERM, or by the idle timer; every RX loop polls it between bursts.
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_dpdk_stop_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_dpdk_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int64_t steady_ms() noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

int64_t wall_clock_usec() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Empty polls: spin, then yield, then (clearly idle) sleep briefly so an idle sensor does not
// burn a shared core; 50 us is well inside what 1,024 descriptors hold at line rate.
void idle_backoff(uint32_t& idle) noexcept {
  ++idle;
  if (idle < 64) {
    _mm_pause();
  } else if (idle < 4096) {
    std::this_thread::yield();
  } else {
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

// A run-to-completion worker: its RX queue, its Worker, and when it last saw a frame.
struct alignas(64) RxWorker {
  std::unique_ptr<Settings> settings;
  std::unique_ptr<Worker> worker;
  std::unique_ptr<DpdkRxQueue> queue;
  uint32_t drain_bursts = 0;
  std::atomic<int64_t> last_frame_ms{0};
  uint64_t packets = 0;
};

// Reads the worker's queue until stopped, then drains what the port already holds (bounded).
int rx_worker_main(void* arg) {
  auto& self = *static_cast<RxWorker*>(arg);
  std::array<Packet, DpdkSource::kMaxBurst> burst{};
  uint32_t idle = 0;
  while (!g_stop.load(std::memory_order_relaxed)) {
    const size_t count = self.queue->next_burst(burst);
    if (count == 0) {
      if (idle == 0) self.worker->idle();  // the live stats: what the last bursts counted
      self.worker->refresh_rules();        // a reloaded rule set, also while no traffic comes
      idle_backoff(idle);
      continue;
    }
    idle = 0;
    self.worker->process_burst(std::span<Packet>(burst.data(), count));
    self.packets += count;
    self.last_frame_ms.store(steady_ms(), std::memory_order_relaxed);
  }
  for (uint32_t i = 0; i < self.drain_bursts; ++i) {
    const size_t count = self.queue->next_burst(burst);
    if (count == 0) break;
    self.worker->process_burst(std::span<Packet>(burst.data(), count));
    self.packets += count;
  }
  self.queue->release();
  self.worker->finish();
  self.worker->leave_rule_store();
  return 0;
}

// Waits for a stop signal, or for `idle_exit_s` seconds after the last frame `last_frame_ms` reports.
template <class LastFrame>
void wait_for_stop(uint32_t idle_exit_s, LastFrame last_frame_ms) {
  const int64_t started = steady_ms();
  while (!g_stop.load(std::memory_order_relaxed)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (idle_exit_s == 0) continue;
    const int64_t last = std::max(started, last_frame_ms());
    if (steady_ms() - last >= int64_t{idle_exit_s} * 1000) g_stop.store(true, std::memory_order_relaxed);
  }
}

std::vector<RuleProfile> merge_profiles(const std::vector<const Worker*>& workers, size_t rule_count) {
  std::vector<RuleProfile> profile;
  for (const Worker* worker : workers) {
    const auto part = worker->rule_profile(rule_count);
    if (part.empty()) continue;
    profile.resize(rule_count);
    for (size_t r = 0; r < rule_count; ++r) {
      profile[r].checks += part[r].checks;
      profile[r].matches += part[r].matches;
      profile[r].ticks += part[r].ticks;
      profile[r].match_ticks += part[r].match_ticks;
      profile[r].max_ticks = std::max(profile[r].max_ticks, part[r].max_ticks);
    }
  }
  return profile;
}

}  // namespace

int run_dpdk(const CliOptions& options, const Settings& settings, std::shared_ptr<const CompiledRuleSet> rules,
             const InventoryStore* inventory) {
  const auto started = Clock::now();
  const uint64_t started_ticks = __rdtsc();
  const DpdkSettings& dpdk = settings.capture.dpdk;
  const uint32_t workers = std::max<uint32_t>(1, settings.capture.workers);
  if (dpdk.ports.empty()) {
    std::fputs("eastwatch: capture.mode dpdk needs capture.dpdk.ports (the DPDK ports to read, e.g. [net_pcap0])\n",
               stderr);
    return 2;
  }

  DpdkSource::Options source_options;
  source_options.eal_args = dpdk.eal_args;
  source_options.ports = dpdk.ports;
  source_options.rx_queues = dpdk.rx_queues == 0 ? workers : dpdk.rx_queues;
  source_options.mbuf_pool_size = dpdk.mbuf_pool_size;
  source_options.mbuf_cache_size = dpdk.mbuf_cache_size;
  source_options.rx_descriptors = dpdk.rx_descriptors;
  source_options.promisc = settings.capture.promisc;
  auto opened = DpdkSource::open(source_options);
  if (!opened) {
    std::fprintf(stderr, "eastwatch: %s\n", opened.error().c_str());
    return 2;
  }
  DpdkSource& source = **opened;
  const bool run_to_completion = source.queues() == workers;
  const uint32_t snaplen = settings.capture.snaplen;
  const uint32_t drain_bursts = dpdk.rx_descriptors / std::max<uint32_t>(1, dpdk.burst_size) + 1;

  OutputOptions output_options;
  output_options.log_dir = settings.log_dir;
  output_options.sensor_name = settings.sensor_name;
  output_options.print_alerts = options.print_alerts;
  output_options.reopen_requests = &hangup_count();  // SIGHUP reopens eve.json and fast.log
  auto output = OutputThread::start(settings, output_options, workers);
  if (!output) {
    std::fprintf(stderr, "eastwatch: %s\n", output.error().c_str());
    return 2;
  }
  // The control socket, opened before any privilege is dropped.
  auto opened_socket = open_control_socket(settings.control.socket);
  if (!opened_socket) {
    std::fprintf(stderr, "eastwatch: %s\n", opened_socket.error().c_str());
    return 2;
  }
  std::unique_ptr<ControlSocket> control_socket = std::move(*opened_socket);
  // Captures and output files are open: switch user, READY=1 (sensor/main/daemon.hpp).
  if (auto error = daemon_started(); !error.empty()) {
    std::fprintf(stderr, "eastwatch: %s\n", error.c_str());
    return 2;
  }
  // The rule set, generation 1 of the store a reload publishes new ones to.
  auto initial_rules = std::make_unique<RuleSnapshot>();
  initial_rules->rules = rules;
  initial_rules->engine = std::make_unique<DetectEngine>(rules, settings.detect, settings.eve);
  initial_rules->loaded = rules->rules().size();
  RuleStore rule_store(std::move(initial_rules), workers);
  const DetectEngine& detect = *rule_store.current()->engine;
  g_stop.store(false);
  install_stop_handlers();

  StatsCollector stats;
  std::vector<const Worker*> worker_views;
  uint64_t packets = 0;
  uint64_t alerts = 0;
  std::vector<std::unique_ptr<RxWorker>> rx_workers;
  std::unique_ptr<WorkerPool> pool;
  // The live stats (sensor/main/live_stats.hpp) and the periodic stats records, once the workers exist.
  std::unique_ptr<StatsTicker> ticker;
  const auto start_live_stats = [&](std::vector<const Worker*> views) {
    LiveRun live_run;
    live_run.started = started;
    live_run.wall_clock = true;
    live_run.workers = std::move(views);
    live_run.output = output->get();
    process_live_stats().attach(std::move(live_run));
    ticker = std::make_unique<StatsTicker>(process_live_stats(), **output,
                                           settings.stats.enabled ? settings.stats.interval_s : 0);
  };
  // Reloads (SIGHUP, `eastwatch ctl reload`) and the control socket, once the workers exist.
  RunControl run_control;
  const auto start_control = [&] {
    run_control = start_run_control(options, settings, rule_store, rules->rules().size(), std::move(control_socket),
                                    {}, g_stop);
  };
  const std::vector<unsigned> lcores = source.worker_lcores();
  const bool on_lcores = run_to_completion && lcores.size() >= workers;
  if (!options.quiet) {
    std::fprintf(stderr, "eastwatch: dpdk: %zu port%s, %u RX queue%s each (%s), %u worker%s %s (SIGINT/SIGTERM to stop)\n",
                 source.ports().size(), source.ports().size() == 1 ? "" : "s", source.queues(),
                 source.queues() == 1 ? "" : "s", source.rss() ? "symmetric RSS" : "no RSS", workers,
                 workers == 1 ? "" : "s",
                 run_to_completion ? (on_lcores ? "on their lcores" : "on threads") : "fed by the flow hash");
  }

  if (run_to_completion) {
    for (uint32_t w = 0; w < workers; ++w) {
      auto rx = std::make_unique<RxWorker>();
      rx->settings = std::make_unique<Settings>(settings);
      rx->settings->flow.worker_index = w;  // flow ids unique across workers
      rx->worker =
          std::make_unique<Worker>(*rx->settings, detect, (*output)->queue(w), (*output)->flow_queue(w), inventory);
      rx->worker->set_anomaly_queue((*output)->anomaly_queue(w));
      rx->worker->attach_rule_store(rule_store, w);
      rule_store.watch_alert_queue(&(*output)->queue(w));
      rx->worker->set_pcap_log((*output)->pcap_log(), w);
      rx->queue = std::make_unique<DpdkRxQueue>(source, static_cast<uint16_t>(w), dpdk.burst_size, snaplen);
      rx->drain_bursts = drain_bursts;
      rx_workers.push_back(std::move(rx));
    }
    std::vector<const Worker*> views;
    for (const auto& rx : rx_workers) views.push_back(rx->worker.get());
    start_live_stats(std::move(views));
    start_control();
    std::vector<std::thread> threads;
    for (uint32_t w = 0; w < workers; ++w) {
      if (!on_lcores || !DpdkSource::launch(lcores[w], rx_worker_main, rx_workers[w].get())) {
        threads.emplace_back([rx = rx_workers[w].get()] { rx_worker_main(rx); });
      }
    }
    wait_for_stop(dpdk.idle_exit, [&] {
      int64_t last = 0;
      for (const auto& rx : rx_workers) last = std::max(last, rx->last_frame_ms.load(std::memory_order_relaxed));
      return last;
    });
    if (run_control.control) run_control.control->stop();  // no rule set is swapped once the workers wind down
    if (on_lcores) {
      for (uint32_t w = 0; w < workers; ++w) DpdkSource::wait_lcore(lcores[w]);
    }
    for (auto& thread : threads) thread.join();
    for (const auto& rx : rx_workers) {
      worker_views.push_back(rx->worker.get());
      packets += rx->packets;
    }
  } else {
    // Every queue of every port read by one RX thread and spread by the symmetric flow hash (as
    // the libpcap capture): one queue without RSS, or rx-queues that differ from the workers.
    pool = std::make_unique<WorkerPool>(settings, detect, **output, workers, 1, snaplen, inventory, &rule_store);
    std::vector<const Worker*> views;
    for (uint32_t w = 0; w < pool->size(); ++w) views.push_back(&pool->worker(w));
    start_live_stats(std::move(views));
    start_control();
    std::atomic<int64_t> last_frame_ms{0};
    std::thread rx_thread([&] {
      std::vector<std::unique_ptr<DpdkRxQueue>> queues;
      for (uint32_t q = 0; q < source.queues(); ++q) {
        queues.push_back(std::make_unique<DpdkRxQueue>(source, static_cast<uint16_t>(q), dpdk.burst_size, snaplen));
      }
      std::array<Packet, DpdkSource::kMaxBurst> burst{};
      uint32_t idle = 0;
      size_t next = 0;
      // One burst from the next queue that has frames (each tried once); 0 when all are empty.
      const auto receive = [&]() -> size_t {
        for (size_t tried = 0; tried < queues.size(); ++tried) {
          DpdkRxQueue& queue = *queues[next];
          next = (next + 1) % queues.size();
          if (const size_t count = queue.next_burst(burst); count > 0) {
            pool->dispatch(0, std::span<const Packet>(burst.data(), count), true, &g_stop);
            packets += count;
            return count;
          }
        }
        return 0;
      };
      while (!g_stop.load(std::memory_order_relaxed)) {
        if (receive() == 0) {
          idle_backoff(idle);
          continue;
        }
        idle = 0;
        last_frame_ms.store(steady_ms(), std::memory_order_relaxed);
      }
      for (uint32_t i = 0; i < drain_bursts * queues.size() && receive() > 0; ++i) {
      }
      for (auto& queue : queues) queue->release();
      pool->close(0);
    });
    wait_for_stop(dpdk.idle_exit, [&] { return last_frame_ms.load(std::memory_order_relaxed); });
    if (run_control.control) run_control.control->stop();  // no rule set is swapped once the workers wind down
    rx_thread.join();
    pool->finish();
    for (uint32_t w = 0; w < pool->size(); ++w) worker_views.push_back(&pool->worker(w));
  }

  if (ticker) ticker->stop();
  daemon_stopping();
  source.update_stats();
  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started).count();
  stats.add("capture", source.counters());
  stats.add("capture", source.dpdk_counters());
  if (pool) stats.add("capture", pool->counters(0));
  for (const Worker* worker : worker_views) {
    add_worker_stats(stats, *worker);
    alerts += worker->detect_counters().alert;
  }
  if (inventory != nullptr) stats.add("inventory", inventory->counters());
  const ControlState::Copy reload = process_live_stats().control().copy();
  stats.add("detect", ReloadCounters{reload.reloads, reload.reload_failures,
                                     static_cast<uint64_t>(reload.last_reload_unix), reload.rules_loaded,
                                     reload.rules_failed});
  const StatsSnapshot final_stats = stats.snapshot(wall_clock_usec(), static_cast<uint64_t>(uptime));
  (*output)->write_stats(final_stats);
  (*output)->stop();
  process_live_stats().detach(final_stats);
  const DetectEngine& final_detect = *rule_store.current()->engine;  // the rule set in use at the end
  write_rule_profile(options, settings, final_detect,
                     merge_profiles(worker_views, final_detect.rules().rules().size()), started, started_ticks);

  if (!options.quiet) {
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    std::fprintf(stderr, "eastwatch: %llu packets (%llu dropped), %llu alerts, %u workers, %.3f s; eve.json in %s\n",
                 static_cast<unsigned long long>(packets),
                 static_cast<unsigned long long>(source.counters().kernel_drops),
                 static_cast<unsigned long long>(alerts), workers, seconds, settings.log_dir.c_str());
  }
  rx_workers.clear();  // every mbuf back in the pool before the EAL goes
  pool.reset();
  opened->reset();
  keep_rules_until_exit(rule_store.current()->rules);  // about to exit: not freed (rule_loading.hpp)
  return 0;
}

}  // namespace eastwatch

#endif

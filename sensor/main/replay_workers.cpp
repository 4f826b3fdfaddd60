#include "sensor/main/replay_workers.hpp"

#include <signal.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <x86intrin.h>

#include "sensor/capture/pcap_file_source.hpp"
#include "sensor/capture/pcap_live_source.hpp"
#include "sensor/capture/retry_backoff.hpp"
#include "sensor/detect/detect_engine.hpp"
#include "sensor/main/capture_dispatch.hpp"
#include "sensor/main/control_plane.hpp"
#include "sensor/main/live_stats.hpp"
#include "sensor/main/daemon.hpp"
#include "sensor/main/hangup.hpp"
#include "sensor/main/rule_loading.hpp"
#include "sensor/main/run_report.hpp"
#include "sensor/main/stats_collector.hpp"
#include "sensor/output/output_thread.hpp"
#include "sensor/stats_visitor.hpp"

namespace eastwatch {

namespace {

using Clock = std::chrono::steady_clock;

// The interface's own receive drops (sysfs rx_dropped; 0 when unreadable), and their count at start.
uint64_t interface_drops(const std::string& interface) {
  std::FILE* file = std::fopen(("/sys/class/net/" + interface + "/statistics/rx_dropped").c_str(), "r");
  if (file == nullptr) return 0;
  unsigned long long drops = 0;
  if (std::fscanf(file, "%llu", &drops) != 1) drops = 0;
  std::fclose(file);
  return drops;
}
std::vector<uint64_t> g_ifdrops_at_start;

// Set by SIGINT/SIGTERM during a live run; capture threads poll it between bursts.
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void on_stop_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a blocking call returns, the loop sees the flag
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int64_t wall_clock_usec() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

PcapLiveSource::Options live_options(const CaptureSettings& capture, const std::string& interface) {
  PcapLiveSource::Options options;
  options.interface = interface;
  options.buffer_size = capture.buffer_size;
  options.snaplen = capture.snaplen;
  options.promisc = capture.promisc;
  options.bpf_filter = capture.bpf_filter;
  return options;
}

// Waits `ms` in short slices; false when the stop flag was raised meanwhile.
bool sleep_unless_stopped(uint32_t ms) {
  const auto until = Clock::now() + std::chrono::milliseconds(ms);
  while (!g_stop.load(std::memory_order_relaxed)) {
    const auto now = Clock::now();
    if (now >= until) return true;
    std::this_thread::sleep_for(std::min<Clock::duration>(until - now, std::chrono::milliseconds(50)));
  }
  return false;
}

// The interface failed and its handle is closed: reopens it with exponential back-off until it
// is back (true) or the stop flag is raised (false). Logs once going away and once coming back.
bool await_interface(PcapLiveSource& source, const CaptureSettings& capture) {
  std::fprintf(stderr, "eastwatch: interface '%s' failed: %s; reopening it (after %.1f s, doubling to %.1f s)\n",
               source.interface().c_str(), source.error().c_str(), capture.retry_delay_ms / 1000.0,
               capture.retry_max_ms / 1000.0);
  const auto down_since = Clock::now();
  RetryBackoff backoff(capture.retry_delay_ms, capture.retry_max_ms);
  while (sleep_unless_stopped(backoff.next_delay_ms())) {
    if (!source.reopen()) continue;
    const double seconds = std::chrono::duration<double>(Clock::now() - down_since).count();
    std::fprintf(stderr, "eastwatch: interface '%s' reopened after %.1f s (%u attempt%s), link %s\n",
                 source.interface().c_str(), seconds, backoff.attempts(), backoff.attempts() == 1 ? "" : "s",
                 link_state_name(source.link_state()));
    return true;
  }
  return false;
}

// Reads one interface until the stop flag, handing frames to the pool. Once a second it reads
// the link's state and logs each change (a down link keeps its socket: delivery resumes when it
// is up); an interface that fails is reopened with back-off. Neither stops the other capture
// threads or the workers.
void capture_loop(PcapLiveSource& source, const CaptureSettings& capture, WorkerPool& pool, uint32_t producer,
                  std::atomic<uint32_t>& running) {
  std::array<Packet, PcapLiveSource::kMaxBurst> burst{};
  auto next_publish = Clock::now();
  auto next_link_check = Clock::now() + std::chrono::seconds(1);
  LinkState logged = LinkState::Up;
  auto down_since = Clock::now();
  while (!g_stop.load(std::memory_order_relaxed)) {
    if (const auto now = Clock::now(); now >= next_publish) {  // the live stats: kernel counters once a second
      source.update_stats();
      pool.publish_producer(producer, source.counters());
      next_publish = now + std::chrono::seconds(1);
    }
    const size_t count = source.next_burst(burst, 100);
    if (count > 0) {
      pool.dispatch(producer, std::span<const Packet>(burst.data(), count), true, &g_stop);
    } else if (!source.is_open()) {
      if (logged == LinkState::Up) down_since = Clock::now();
      if (!await_interface(source, capture)) break;
      logged = source.link_state();  // reported by await_interface
    }
    const auto now = Clock::now();
    if (now < next_link_check) continue;
    next_link_check = now + std::chrono::seconds(1);
    const LinkState state = source.check_link();
    if (state == logged) continue;
    if (state == LinkState::Up) {
      std::fprintf(stderr, "eastwatch: interface '%s' is up again after %.1f s\n", source.interface().c_str(),
                   std::chrono::duration<double>(now - down_since).count());
    } else {
      if (logged == LinkState::Up) down_since = now;
      std::fprintf(stderr, "eastwatch: interface '%s' is %s; capture resumes when it is up\n",
                   source.interface().c_str(), link_state_name(state));
    }
    logged = state;
  }
  pool.close(producer);
  running.fetch_sub(1, std::memory_order_release);
}

// `ctl iface-stat`: per interface, what its capture thread last published (about once a
// second): frames delivered and dropped by the kernel ring, and the interface's own drops
// (rx_dropped in sysfs, since the start of the run).
std::string iface_stat_json(const std::vector<std::string>& interfaces, const WorkerPool& pool) {
  std::string out = "{\"ifaces\":[";
  for (uint32_t p = 0; p < interfaces.size(); ++p) {
    ProducerCounterSet counters{};
    pool.read_producer(p, counters);
    if (p > 0) out += ',';
    out += "{\"iface\":" + json_string(interfaces[p]) +
           ",\"pkts\":" + std::to_string(counters.capture.kernel_packets) +
           ",\"drop\":" + std::to_string(counters.capture.kernel_drops) +
           ",\"ifdrop\":" + std::to_string(interface_drops(interfaces[p]) - g_ifdrops_at_start[p]) +
           ",\"ring_drops\":" + std::to_string(counters.dispatch.ring_drops) + "}";
  }
  return out + "]}";
}

}  // namespace

int run_with_workers(const CliOptions& options, const Settings& settings, std::shared_ptr<const CompiledRuleSet> rules,
                     const InventoryStore* inventory) {
  const auto started = Clock::now();
  const uint64_t started_ticks = __rdtsc();
  const bool live = !settings.capture.interfaces.empty();
  const uint32_t workers = std::max<uint32_t>(1, settings.capture.workers);

  // Open every interface first: one that cannot be opened ends the run before any output.
  std::vector<std::unique_ptr<PcapLiveSource>> sources;
  uint32_t slot_bytes = WorkerPool::kSlotBytes;
  if (live) {
    for (const auto& interface : settings.capture.interfaces) {
      auto source = PcapLiveSource::open(live_options(settings.capture, interface));
      if (!source) {
        std::fprintf(stderr, "eastwatch: %s\n", source.error().c_str());
        return 2;
      }
      sources.push_back(std::move(*source));
      g_ifdrops_at_start.push_back(interface_drops(interface));
    }
    slot_bytes = settings.capture.snaplen;
  }

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
  // The control socket (live runs), opened before any privilege is dropped.
  std::unique_ptr<ControlSocket> control_socket;
  if (live) {
    auto opened = open_control_socket(settings.control.socket);
    if (!opened) {
      std::fprintf(stderr, "eastwatch: %s\n", opened.error().c_str());
      return 2;
    }
    control_socket = std::move(*opened);
  }
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
  const uint32_t producers = live ? static_cast<uint32_t>(sources.size()) : 1;
  WorkerPool pool(settings, *rule_store.current()->engine, **output, workers, producers, slot_bytes, inventory,
                  &rule_store);
  CaptureCounters capture_counters{};
  uint64_t packets = 0;
  int64_t last_ts_usec = 0;
  int exit_code = 0;
  LiveRun live_run;  // the live stats (sensor/main/live_stats.hpp) and the periodic stats records
  live_run.started = started;
  live_run.wall_clock = live;
  for (uint32_t w = 0; w < pool.size(); ++w) live_run.workers.push_back(&pool.worker(w));
  live_run.pool = &pool;
  live_run.producers = producers;
  live_run.inventory = inventory;
  live_run.output = output->get();
  process_live_stats().attach(std::move(live_run));
  StatsTicker ticker(process_live_stats(), **output, settings.stats.enabled ? settings.stats.interval_s : 0);

  // Reloads (SIGHUP, `eastwatch ctl reload`) and the control socket, on the control thread.
  RunControl run_control;
  if (live) {
    run_control = start_run_control(options, settings, rule_store, rules->rules().size(), std::move(control_socket),
                                    [&] { return iface_stat_json(settings.capture.interfaces, pool); }, g_stop);
  }

  if (live) {
    g_stop.store(false);
    install_stop_handlers();
    std::atomic<uint32_t> running{producers};
    std::vector<std::thread> captures;
    for (uint32_t p = 0; p < producers; ++p) {
      captures.emplace_back([&, p] { capture_loop(*sources[p], settings.capture, pool, p, running); });
    }
    if (!options.quiet) {
      std::fprintf(stderr, "eastwatch: capturing on %zu interface%s with %u worker%s (SIGINT/SIGTERM to stop)\n",
                   sources.size(), sources.size() == 1 ? "" : "s", workers, workers == 1 ? "" : "s");
    }
    while (!g_stop.load(std::memory_order_relaxed) && running.load(std::memory_order_acquire) > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    g_stop.store(true);
    if (run_control.control) run_control.control->stop();  // no rule set is swapped once the workers wind down
    for (auto& thread : captures) thread.join();
    for (auto& source : sources) {
      source->update_stats();
      accumulate(capture_counters, source->counters());
      packets += source->frames_read();
    }
    last_ts_usec = wall_clock_usec();
  } else {
    std::array<Packet, PcapFileSource::kMaxBurst> burst{};
    uint64_t pcap_cnt = 0;
    for (const auto& path : options.read_files) {
      auto source = PcapFileSource::open(path, pcap_cnt);
      if (!source) {
        std::fprintf(stderr, "eastwatch: %s\n", source.error().c_str());
        exit_code = 2;
        break;
      }
      for (uint64_t bursts = 0; size_t count = (*source)->next_burst(burst); ++bursts) {
        pool.dispatch(0, std::span<const Packet>(burst.data(), count), true);
        packets += count;
        last_ts_usec = burst[count - 1].ts_usec;
        if (bursts % Worker::kPublishEveryBursts == 0) {  // the live stats
          CaptureCounters so_far = capture_counters;
          accumulate(so_far, (*source)->counters());
          pool.publish_producer(0, so_far);
        }
      }
      if (!(*source)->error().empty()) {
        std::fprintf(stderr, "eastwatch: %s: %s\n", path.c_str(), (*source)->error().c_str());
      }
      pcap_cnt = (*source)->packets_read() + pcap_cnt;
      accumulate(capture_counters, (*source)->counters());
    }
  }
  daemon_stopping();
  pool.finish();
  ticker.stop();

  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started).count();
  StatsCollector stats;
  stats.add("capture", capture_counters);
  for (uint32_t p = 0; p < producers; ++p) stats.add("capture", pool.counters(p));
  for (const auto& source : sources) stats.add("capture", source->reopen_counters());
  uint64_t alerts = 0;
  for (uint32_t w = 0; w < pool.size(); ++w) {
    const Worker& worker = pool.worker(w);
    add_worker_stats(stats, worker);
    alerts += worker.detect_counters().alert;
  }
  if (inventory != nullptr) stats.add("inventory", inventory->counters());
  if (live) {
    const ControlState::Copy reload = process_live_stats().control().copy();
    stats.add("detect", ReloadCounters{reload.reloads, reload.reload_failures,
                                       static_cast<uint64_t>(reload.last_reload_unix), reload.rules_loaded,
                                       reload.rules_failed});
  }
  const StatsSnapshot final_stats = stats.snapshot(last_ts_usec, static_cast<uint64_t>(uptime));
  (*output)->write_stats(final_stats);
  (*output)->stop();
  process_live_stats().detach(final_stats);

  const DetectEngine& detect = *rule_store.current()->engine;  // the rule set in use at the end
  const size_t rule_count = detect.rules().rules().size();
  std::vector<RuleProfile> profile;
  for (uint32_t w = 0; w < pool.size(); ++w) {
    const auto part = pool.worker(w).rule_profile(rule_count);
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
  write_rule_profile(options, settings, detect, profile, started, started_ticks);

  if (!options.quiet) {
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    std::fprintf(stderr, "eastwatch: %llu packets, %llu alerts, %u workers, %.3f s; eve.json in %s\n",
                 static_cast<unsigned long long>(packets), static_cast<unsigned long long>(alerts), workers, seconds,
                 settings.log_dir.c_str());
  }
  keep_rules_until_exit(rule_store.current()->rules);  // about to exit: not freed (rule_loading.hpp)
  return exit_code;
}

}  // namespace eastwatch

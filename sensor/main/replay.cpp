#include "sensor/main/replay.hpp"
#include "sensor/main/replay_workers.hpp"

#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <string>

#include <x86intrin.h>


#include "sensor/detect/detect_engine.hpp"
#include "sensor/main/decode_ahead.hpp"
#include "sensor/main/live_stats.hpp"
#include "sensor/main/daemon.hpp"
#include "sensor/main/hangup.hpp"
#include "sensor/main/rule_loading.hpp"
#include "sensor/main/run_report.hpp"
#include "sensor/main/stats_collector.hpp"
#include "sensor/stats_visitor.hpp"
#include "sensor/main/worker.hpp"
#include "sensor/output/output_thread.hpp"

namespace eastwatch {

namespace {

using Clock = std::chrono::steady_clock;

// A progress line on stderr, redrawn at most twice a second, only when stderr is a terminal.
class ProgressLine {
 public:
  explicit ProgressLine(bool enabled) : enabled_(enabled && isatty(STDERR_FILENO)), start_(Clock::now()) {}

  void update(uint64_t packets, uint64_t bytes) {
    if (!enabled_ || (packets & 4095) != 0) return;
    const auto now = Clock::now();
    if (now - last_ < std::chrono::milliseconds(500)) return;
    last_ = now;
    draw(packets, bytes, now);
  }

  void finish(uint64_t packets, uint64_t bytes) {
    if (!enabled_) return;
    draw(packets, bytes, Clock::now());
    std::fputc('\n', stderr);
  }

 private:
  void draw(uint64_t packets, uint64_t bytes, Clock::time_point now) {
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const double gbps = seconds > 0 ? bytes * 8.0 / seconds / 1e9 : 0;
    std::fprintf(stderr, "\r[eastwatch] %llu packets, %.1f MB, %.2f Gbit/s   ",
                 static_cast<unsigned long long>(packets), bytes / 1e6, gbps);
  }

  bool enabled_;
  Clock::time_point start_;
  Clock::time_point last_{};
};

}  // namespace

int run_replay(const CliOptions& options, const Settings& settings, std::shared_ptr<const CompiledRuleSet> rules,
               const InventoryStore* inventory) {
  if (!settings.capture.interfaces.empty() || settings.capture.workers > 1) {
    return run_with_workers(options, settings, std::move(rules), inventory);
  }
  const auto started = Clock::now();
  const uint64_t started_ticks = __rdtsc();
  OutputOptions output_options;
  output_options.log_dir = settings.log_dir;
  output_options.sensor_name = settings.sensor_name;
  output_options.print_alerts = options.print_alerts;
  output_options.reopen_requests = &hangup_count();  // SIGHUP reopens eve.json and fast.log
  auto output = OutputThread::start(settings, output_options, 1);
  if (!output) {
    std::fprintf(stderr, "eastwatch: %s\n", output.error().c_str());
    return 2;
  }
  // Captures and output files are open: switch user, READY=1 (sensor/main/daemon.hpp).
  if (auto error = daemon_started(); !error.empty()) {
    std::fprintf(stderr, "eastwatch: %s\n", error.c_str());
    return 2;
  }

  DetectEngine detect(rules, settings.detect, settings.eve);
  Worker worker(settings, detect, (*output)->queue(0), (*output)->flow_queue(0), inventory);
  worker.set_anomaly_queue((*output)->anomaly_queue(0));
  worker.set_pcap_log((*output)->pcap_log(), 0);
  CaptureCounters capture_counters{};
  ProgressLine progress(!options.quiet);
  uint64_t packets_done = 0;
  uint64_t bytes = 0;
  int64_t last_ts_usec = 0;
  int exit_code = 0;
  Published<CaptureCounters> published_capture;  // the live stats (sensor/main/live_stats.hpp)
  LiveRun live_run;
  live_run.started = started;
  live_run.workers.push_back(&worker);
  live_run.capture = &published_capture;
  live_run.inventory = inventory;
  live_run.output = output->get();
  process_live_stats().attach(std::move(live_run));
  StatsTicker ticker(process_live_stats(), **output, settings.stats.enabled ? settings.stats.interval_s : 0);

  {
    // The reader thread reads and decodes the files ahead of this one (sensor/main/decode_ahead.hpp).
    DecodeAhead reader(options.read_files, settings.decoder, &published_capture);
    while (DecodeAhead::Burst* burst = reader.next()) {
      const std::span<Packet> packets(burst->packets.data(), burst->count);
      worker.process_decoded_burst(packets, burst->decoded);
      for (const Packet& packet : packets) bytes += packet.wirelen;
      packets_done += packets.size();
      last_ts_usec = packets.back().ts_usec;
      progress.update(packets_done, bytes);
    }
    for (const auto& message : reader.messages()) std::fprintf(stderr, "eastwatch: %s\n", message.c_str());
    if (reader.failed()) exit_code = 2;
    capture_counters = reader.capture_counters();
  }
  daemon_stopping();
  worker.finish();
  published_capture.publish(capture_counters);
  ticker.stop();
  progress.finish(packets_done, bytes);

  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started).count();
  StatsCollector stats;
  stats.add("capture", capture_counters);
  add_worker_stats(stats, worker);
  if (inventory != nullptr) stats.add("inventory", inventory->counters());
  const StatsSnapshot final_stats = stats.snapshot(last_ts_usec, static_cast<uint64_t>(uptime));
  (*output)->write_stats(final_stats);
  (*output)->stop();
  process_live_stats().detach(final_stats);

  write_rule_profile(options, settings, detect, worker.rule_profile(detect.rules().rules().size()), started,
                     started_ticks);

  if (!options.quiet) {
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    std::fprintf(stderr, "eastwatch: %llu packets, %llu alerts, %.3f s; eve.json in %s\n",
                 static_cast<unsigned long long>(packets_done),
                 static_cast<unsigned long long>(worker.detect_counters().alert), seconds, settings.log_dir.c_str());
  }
  keep_rules_until_exit(std::move(rules));  // about to exit: not freed (rule_loading.hpp)
  return exit_code;
}

}  // namespace eastwatch

#include "sensor/output/output_thread.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <spdlog/spdlog.h>

#include "sensor/output/sink_transports.hpp"

namespace eastwatch {

namespace {

std::atomic<uint64_t> g_heartbeat{0};

std::string join_path(const std::string& dir, const std::string& file) {
  if (file.empty() || file.front() == '/') return file;
  if (dir.empty()) return file;
  return dir.back() == '/' ? dir + file : dir + "/" + file;
}

}  // namespace

tl::expected<std::unique_ptr<OutputThread>, std::string> OutputThread::start(const Settings& settings,
                                                                              const OutputOptions& options,
                                                                              uint32_t worker_count) {
  std::unique_ptr<OutputThread> output(new OutputThread(settings, options, worker_count));
  auto open = [&](const std::string& name, const LogRotationSettings& rotation,
                  std::unique_ptr<LogFile>& into) -> std::string {
    auto file = LogFile::open(join_path(options.log_dir, name), rotation);
    if (!file) return file.error();
    into = std::move(*file);
    return {};
  };
  if (settings.eve.enabled) {
    if (auto error = open(settings.eve.filename, settings.eve.rotation, output->eve_); !error.empty()) {
      return tl::unexpected(error);
    }
  }
  if (settings.fast.enabled) {
    if (auto error = open(settings.fast.filename, LogRotationSettings{}, output->fast_); !error.empty()) {
      return tl::unexpected(error);
    }
  }
  if (options.reopen_requests != nullptr) output->reopens_seen_ = options.reopen_requests->load();
  if (settings.stats_log.enabled) output->stats_log_path_ = join_path(options.log_dir, settings.stats_log.filename);
  if (auto error = output->start_sinks(settings, options); !error.empty()) return tl::unexpected(error);
  if (settings.pcap_log.enabled) {
    auto pcap_log = PcapLogWriter::start(settings.pcap_log, options.log_dir, worker_count);
    if (!pcap_log) return tl::unexpected(pcap_log.error());
    output->pcap_log_ = std::move(*pcap_log);
  }
  output->thread_ = std::thread([raw = output.get()] { raw->run(); });
  return output;
}

OutputThread::OutputThread(const Settings& settings, const OutputOptions& options, uint32_t worker_count)
    : formatter_(options.sensor_name, settings.eve),
      options_(options),
      eve_settings_(settings.eve),
      alert_tally_(settings.metrics.max_signatures, settings.metrics.max_zone_pairs, settings.metrics.max_vm_pairs) {
  for (uint32_t i = 0; i < worker_count; ++i) {
    queues_.push_back(std::make_unique<AlertQueue>());
    flow_queues_.push_back(std::make_unique<FlowQueue>());
    if (settings.eve.enabled && settings.eve.anomaly.enabled) anomaly_queues_.push_back(std::make_unique<AnomalyQueue>());
  }
}

OutputThread::~OutputThread() { stop(); }

const std::atomic<uint64_t>& OutputThread::heartbeat() noexcept { return g_heartbeat; }

void OutputThread::write_line(std::FILE* file, std::string_view line) {
  std::fwrite(line.data(), 1, line.size(), file);
  std::fputc('\n', file);
}

bool OutputThread::drain_once() {
  bool any = false;
  for (auto& queue : queues_) {
    // Bounded per queue per round, so one busy worker cannot starve the others.
    for (int i = 0; i < 256; ++i) {
      const AlertEvent* event = queue->front();
      if (event == nullptr) break;
      if (eve_ != nullptr || !sinks_.empty()) {
        const std::string_view line = formatter_.alert(*event);
        if (eve_ != nullptr) eve_->write_line(line);
        to_sinks(line, event->has_flow ? event->flow_id : 0,
                 static_cast<uint8_t>(std::clamp(event->rule->priority, 1, 255)));
      }
      if (fast_ != nullptr || options_.print_alerts) {
        const std::string_view line = formatter_.fast_log_line(*event);
        if (fast_ != nullptr) fast_->write_line(line);
        if (options_.print_alerts) write_line(stdout, line);
      }
      alert_tally_.count(*event);
      queue->pop();
      alerts_written_.fetch_add(1, std::memory_order_relaxed);
      any = true;
    }
  }
  for (auto& queue : flow_queues_) {
    for (int i = 0; i < 256; ++i) {
      const FlowEvent* event = queue->front();
      if (event == nullptr) break;
      if ((eve_ != nullptr || !sinks_.empty()) && eve_settings_.flow) {
        const std::string_view line = formatter_.flow(*event);
        if (eve_ != nullptr) eve_->write_line(line);
        to_sinks(line, event->flow_id, 0);
      }
      queue->pop();
      any = true;
    }
  }
  for (auto& queue : anomaly_queues_) {
    for (int i = 0; i < 256; ++i) {
      const AnomalyEvent* event = queue->front();
      if (event == nullptr) break;
      const std::string_view line = formatter_.anomaly(*event);
      if (eve_ != nullptr) eve_->write_line(line);
      to_sinks(line, event->has_flow ? event->flow_id : 0, 0);
      queue->pop();
      any = true;
    }
  }
  return any;
}

void OutputThread::run() {
  auto idle = std::chrono::microseconds(50);
  while (true) {
    g_heartbeat.fetch_add(1, std::memory_order_relaxed);
    const bool stopping = stopping_.load(std::memory_order_acquire);
    reopen_files_if_requested();
    bool worked = drain_once();
    std::vector<StatsSnapshot> stats;
    {
      std::lock_guard lock(stats_mutex_);
      stats.swap(pending_stats_);
    }
    if (!stats.empty()) {
      // Everything pushed before write_stats() is in the queues by now: drain it first.
      while (drain_once()) {
      }
      for (const auto& snapshot : stats) {
        if ((eve_ != nullptr || !sinks_.empty()) && eve_settings_.stats) {
          const std::string_view line = formatter_.stats(snapshot);
          if (eve_ != nullptr) eve_->write_line(line);
          to_sinks(line, 0, 0);
        }
        last_stats_ts_usec_ = snapshot.ts_usec;
        if (!stats_log_path_.empty()) {
          if (std::FILE* file = std::fopen(stats_log_path_.c_str(), "a")) {
            StatsSnapshot with_sinks = snapshot;
            add_sink_counters(with_sinks);
            add_file_counters(with_sinks);
            const std::string text = format_stats_log(with_sinks);
            std::fwrite(text.data(), 1, text.size(), file);
            std::fclose(file);
          }
        }
      }
      worked = true;
    }
    if (stopping && !worked) break;
    if (worked) {
      idle = std::chrono::microseconds(50);
    } else {
      if (eve_ != nullptr) {
        eve_->flush();
        eve_->tick();
      }
      if (fast_ != nullptr) fast_->flush();
      std::this_thread::sleep_for(idle);
      idle = std::min<std::chrono::microseconds>(idle * 2, std::chrono::milliseconds(20));
    }
  }
}

void OutputThread::write_stats(StatsSnapshot snapshot) {
  if (pcap_log_) {  // what the workers queued is written first, so the counters are final
    pcap_log_->flush();
    pcap_log_->counters().visit_extra(
        [&](std::string_view name, uint64_t value) { snapshot.extra.emplace_back("pcap_log." + std::string(name), value); });
  }
  std::lock_guard lock(stats_mutex_);
  pending_stats_.push_back(std::move(snapshot));
}

void OutputThread::stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true, std::memory_order_release);
  thread_.join();
  if (pcap_log_) pcap_log_->stop();  // the workers are done: the rest of the packets, then the index
  eve_.reset();  // flushes and closes
  fast_.reset();
  if (options_.print_alerts) std::fflush(stdout);
  // Each sink drains (at most its drain-timeout) once everything has been handed to it; the
  // end-of-run stats.log then gets a block with the sinks' final counters.
  for (auto& sink : sinks_) sink->begin_stop();  // they drain side by side
  for (auto& sink : sinks_) sink->stop();
  if (!sinks_.empty() && !stats_log_path_.empty()) {
    if (std::FILE* file = std::fopen(stats_log_path_.c_str(), "a")) {
      StatsSnapshot final_counters;
      final_counters.ts_usec = last_stats_ts_usec_;
      add_sink_counters(final_counters);
      const std::string text = format_stats_log(final_counters);
      std::fwrite(text.data(), 1, text.size(), file);
      std::fclose(file);
    }
  }
}

std::string OutputThread::start_sinks(const Settings& settings, const OutputOptions& options) {
  const SinkSettings& config = settings.sinks;
  auto options_for = [&](const char* name, uint32_t batch_size) {
    SinkOptions sink;
    sink.name = name;
    sink.spool.dir = join_path(config.spool.dir, name);
    sink.spool.max_bytes = config.spool.max_bytes;
    // Sixteen segments per spool, so dropping the oldest one frees a sixteenth of the bound.
    sink.spool.segment_bytes = std::clamp<uint64_t>(config.spool.max_bytes / 16, 4096, 64ull << 20);
    sink.spool.fsync = config.spool.fsync == SpoolFsyncPolicy::None     ? SpoolFsync::None
                       : config.spool.fsync == SpoolFsyncPolicy::Always ? SpoolFsync::Always
                                                                        : SpoolFsync::Batch;
    sink.queue_size = config.spool.queue_size;
    sink.high_water = config.spool.high_water;
    sink.batch_size = batch_size;
    sink.drain_timeout = std::chrono::milliseconds(config.spool.drain_timeout_ms);
    return sink;
  };
  auto add = [&](const char* name, uint32_t batch_size, std::unique_ptr<SinkTransport> transport) -> std::string {
    auto sink = Sink::start(options_for(name, batch_size), std::move(transport));
    if (!sink) return sink.error();
    sinks_.push_back(std::move(*sink));
    return {};
  };
  std::string error;
  if (config.redis.enabled) error = add("redis", config.redis.batch_size, make_redis_transport(config.redis, options.sensor_name));
  if (error.empty() && config.syslog.enabled) {
    auto transport = make_syslog_transport(config.syslog, options.sensor_name);
    error = transport ? add("syslog", 256, std::move(*transport)) : transport.error();
  }
  if (error.empty() && config.unix_socket.enabled) error = add("unix", 256, make_unix_transport(config.unix_socket));
  if (error.empty() && config.kafka.enabled) {
    auto transport = make_kafka_transport(config.kafka, options.sensor_name);
    error = transport ? add("kafka", 256, std::move(*transport)) : transport.error();
  }
  return error;
}

void OutputThread::to_sinks(std::string_view line, uint64_t flow_id, uint8_t priority) {
  for (auto& sink : sinks_) sink->push(line, flow_id, priority);
}

void OutputThread::reopen_files_if_requested() {
  if (options_.reopen_requests == nullptr) return;
  const uint64_t requests = options_.reopen_requests->load(std::memory_order_relaxed);
  if (requests == reopens_seen_) return;
  reopens_seen_ = requests;
  // Between two records: whatever was written so far is flushed into the old file.
  if (eve_ != nullptr) eve_->reopen();
  if (fast_ != nullptr) fast_->reopen();
  spdlog::info("SIGHUP: reopened the log files in {}", options_.log_dir);
}

// stats.log only (not in the EVE schema): rotations, reopens, errors and records lost per file.
void OutputThread::add_file_counters(StatsSnapshot& snapshot) const {
  auto add = [&](const char* name, const LogFile* file) {
    if (file == nullptr) return;
    const LogFileCounters& counters = file->counters();
    const std::string prefix = std::string("output.") + name + ".";
    snapshot.extra.emplace_back(prefix + "rotations", counters.rotations);
    snapshot.extra.emplace_back(prefix + "reopens", counters.reopens);
    snapshot.extra.emplace_back(prefix + "errors", counters.errors);
    snapshot.extra.emplace_back(prefix + "lost", counters.lost);
  };
  add("eve", eve_.get());
  add("fast", fast_.get());
}

void OutputThread::add_sink_counters(StatsSnapshot& snapshot) const {
  for (const auto& sink : sinks_) {
    sink->visit_extra([&](std::string_view name, uint64_t value) {
      snapshot.extra.emplace_back("sinks." + sink->name() + "." + std::string(name), value);
    });
  }
}

}  // namespace eastwatch

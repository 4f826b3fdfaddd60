// The output thread: drains every worker's alert queue in order, formats EVE JSON and
// fast.log lines, and writes them; on request writes a stats record (EVE) and stats.log.
//
// Contract:
//  - `start` opens the files in the log directory (failing with a clear message when it
//    does not exist or is not writable) and starts the thread.
//  - `queue(w)` is worker w's single-producer queue; pushes never drop an alert.
//  - `write_stats` is written after every alert pushed before the call.
//  - Every record written to eve.json is also handed, formatted once, to each enabled sink
//    (sensor/output/sink.hpp: Redis, syslog, Unix socket, Kafka), which delivers it on its
//    own thread; a slow or absent collector never makes this thread wait.
//  - `stop` drains everything, flushes, closes and joins; then each sink gets its drain
//    time and what it could not deliver stays in its spool; it is idempotent.
//  - eve.json rotates as outputs.eve.rotate-* say (sensor/output/log_file.hpp); when the
//    counter `reopen_requests` points to changes (SIGHUP), eve.json and fast.log are closed and
//    opened again between two records (stats.log is opened for each write anyway).
//  - `heartbeat` advances on every round of the thread's loop (at least every 20 ms while it
//    is healthy): the systemd watchdog pings only while it moves.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <tl/expected.hpp>

#include "config/settings.hpp"
#include "sensor/output/alert_queue.hpp"
#include "sensor/output/alert_tally.hpp"
#include "sensor/output/anomaly_event.hpp"
#include "sensor/output/eve_format.hpp"
#include "sensor/output/log_file.hpp"
#include "sensor/output/pcap_log_writer.hpp"
#include "sensor/output/sink.hpp"
#include "sensor/output/stats_snapshot.hpp"

namespace eastwatch {

struct OutputOptions {
  std::string log_dir;
  std::string sensor_name;
  bool print_alerts = false;  // fast.log lines on stdout too
  const std::atomic<uint64_t>* reopen_requests = nullptr;  // e.g. the SIGHUP count; null: never
};

class OutputThread {
 public:
  static tl::expected<std::unique_ptr<OutputThread>, std::string> start(const Settings& settings,
                                                                        const OutputOptions& options,
                                                                        uint32_t worker_count);
  ~OutputThread();
  OutputThread(const OutputThread&) = delete;
  OutputThread& operator=(const OutputThread&) = delete;

  AlertQueue& queue(uint32_t worker) noexcept { return *queues_[worker]; }
  FlowQueue& flow_queue(uint32_t worker) noexcept { return *flow_queues_[worker]; }
  // Worker w's anomaly queue; null when outputs.eve.anomaly (or outputs.eve) is off.
  AnomalyQueue* anomaly_queue(uint32_t worker) noexcept {
    return worker < anomaly_queues_.size() ? anomaly_queues_[worker].get() : nullptr;
  }
  // The pcap-log writer (outputs.pcap-log); null when it is off. Workers take their queue.
  PcapLogWriter* pcap_log() noexcept { return pcap_log_.get(); }
  void write_stats(StatsSnapshot snapshot);
  void stop();

  uint64_t alerts_written() const noexcept { return alerts_written_.load(std::memory_order_relaxed); }
  // Advanced by every output thread's loop (one per process in practice); lives for the process.
  static const std::atomic<uint64_t>& heartbeat() noexcept;
  const std::vector<std::unique_ptr<Sink>>& sinks() const noexcept { return sinks_; }
  // Alerts written, by signature and by zone pair (the metrics); readable from any thread.
  const AlertTally& alert_tally() const noexcept { return alert_tally_; }

 private:
  OutputThread(const Settings& settings, const OutputOptions& options, uint32_t worker_count);
  std::string start_sinks(const Settings& settings, const OutputOptions& options);
  void run();
  bool drain_once();
  void write_line(std::FILE* file, std::string_view line);
  void reopen_files_if_requested();
  void add_file_counters(StatsSnapshot& snapshot) const;
  void to_sinks(std::string_view line, uint64_t flow_id, uint8_t priority);
  void add_sink_counters(StatsSnapshot& snapshot) const;

  EveFormatter formatter_;
  OutputOptions options_;
  EveSettings eve_settings_;
  std::vector<std::unique_ptr<AlertQueue>> queues_;
  std::vector<std::unique_ptr<FlowQueue>> flow_queues_;
  std::vector<std::unique_ptr<AnomalyQueue>> anomaly_queues_;
  std::unique_ptr<LogFile> eve_;
  std::unique_ptr<LogFile> fast_;
  uint64_t reopens_seen_ = 0;
  std::string stats_log_path_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> alerts_written_{0};
  std::mutex stats_mutex_;
  std::vector<StatsSnapshot> pending_stats_;
  std::vector<std::unique_ptr<Sink>> sinks_;
  std::unique_ptr<PcapLogWriter> pcap_log_;
  int64_t last_stats_ts_usec_ = 0;
  AlertTally alert_tally_;
};

}  // namespace eastwatch

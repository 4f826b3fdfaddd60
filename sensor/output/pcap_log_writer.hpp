// The pcap-log writer thread: drains every worker's PcapLogQueue into that worker's current
// pcap file (libpcap format 2.4, microsecond timestamps, snaplen 262144, the frames' link
// type), opening the file each kNewFile record names; keeps at most `max-files` files (the
// oldest is deleted); writes `<filename>.index` in the log directory, one JSON object per kept
// file: {"file", "worker", "first_ts", "last_ts", "first_usec", "last_usec", "packets",
// "bytes"}, rewritten (temporary file, rename) whenever a file is opened or closed, and
// at the end of the run.
//
// Contract: `start` checks the directory and the names (error text otherwise); the thread
// polls the queues (the workers never signal it), flushes its files whenever the queues run
// empty, and `stop` writes everything queued before it, closes the files and the index and
// joins (idempotent). A failed write is counted (`write_errors`) and the rest of that file
// skipped until the next file.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <list>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <tl/expected.hpp>

#include "config/settings.hpp"
#include "sensor/output/pcap_log_queue.hpp"

namespace eastwatch {

// Counters of the writer (stats.log only: pcap_log.*).
struct PcapLogWriterCounters {
  uint64_t written = 0;        // packets written to files
  uint64_t files_deleted = 0;  // files removed by max-files
  uint64_t write_errors = 0;   // failed opens and writes

  template <class F>
  void visit(F&&) const {}
  template <class F>
  void visit_extra(F&& f) const {
    f("written", written); f("files_deleted", files_deleted); f("write_errors", write_errors);
  }
};

class PcapLogWriter {
 public:
  static tl::expected<std::unique_ptr<PcapLogWriter>, std::string> start(const PcapLogSettings& settings,
                                                                         const std::string& dir,
                                                                         uint32_t worker_count);
  ~PcapLogWriter();
  PcapLogWriter(const PcapLogWriter&) = delete;
  PcapLogWriter& operator=(const PcapLogWriter&) = delete;

  PcapLogQueue& queue(uint32_t worker) noexcept { return *queues_[worker]; }
  uint32_t worker_count() const noexcept { return static_cast<uint32_t>(queues_.size()); }
  const std::string& dir() const noexcept { return dir_; }

  // Waits until everything queued so far is written and flushed.
  void flush();
  void stop();
  PcapLogWriterCounters counters() const noexcept;

 private:
  struct FileInfo {
    std::string name;
    uint32_t worker = 0;
    int64_t first_usec = 0;
    int64_t last_usec = 0;
    uint64_t packets = 0;
    uint64_t bytes = 0;
    bool open = false;
  };
  struct Output {
    std::FILE* file = nullptr;
    bool failed = false;       // skip records until the next file
    FileInfo* info = nullptr;  // its entry in files_
  };

  PcapLogWriter(const PcapLogSettings& settings, std::string dir, uint32_t worker_count);
  void run();
  bool drain_once();
  void write_record(uint32_t worker, const PcapLogQueue::Record& record);
  void open_file(uint32_t worker, const PcapLogQueue::Record& record);
  void close_file(uint32_t worker);
  void enforce_max_files();
  void write_index();

  PcapLogSettings settings_;
  std::string dir_;
  std::vector<std::unique_ptr<PcapLogQueue>> queues_;
  std::vector<Output> outputs_;
  std::list<FileInfo> files_;  // kept files, oldest first
  std::vector<char> buffer_;    // stdio buffers, one 256 KiB region per worker
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> flush_requested_{0};
  std::atomic<uint64_t> flush_done_{0};
  std::atomic<uint64_t> written_{0};
  std::atomic<uint64_t> files_deleted_{0};
  std::atomic<uint64_t> write_errors_{0};
  bool stopped_ = false;
};

}  // namespace eastwatch

#include "sensor/output/output_thread.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>

namespace eastwatch {

namespace {

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
  auto open = [&](const std::string& name, std::FILE*& into) -> std::string {
    const std::string path = join_path(options.log_dir, name);
    into = std::fopen(path.c_str(), "a");
    if (into == nullptr) return "cannot open '" + path + "' for writing: " + std::strerror(errno);
    return {};
  };
  if (settings.eve.enabled) {
    if (auto error = open(settings.eve.filename, output->eve_); !error.empty()) return tl::unexpected(error);
  }
  if (settings.fast.enabled) {
    if (auto error = open(settings.fast.filename, output->fast_); !error.empty()) return tl::unexpected(error);
  }
  if (settings.stats_log.enabled) output->stats_log_path_ = join_path(options.log_dir, settings.stats_log.filename);
  output->thread_ = std::thread([raw = output.get()] { raw->run(); });
  return output;
}

OutputThread::OutputThread(const Settings& settings, const OutputOptions& options, uint32_t worker_count)
    : formatter_(options.sensor_name, settings.eve), options_(options), eve_settings_(settings.eve) {
  for (uint32_t i = 0; i < worker_count; ++i) {
    queues_.push_back(std::make_unique<AlertQueue>());
    flow_queues_.push_back(std::make_unique<FlowQueue>());
  }
}

OutputThread::~OutputThread() { stop(); }

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
      if (eve_ != nullptr) write_line(eve_, formatter_.alert(*event));
      if (fast_ != nullptr || options_.print_alerts) {
        const std::string_view line = formatter_.fast_log_line(*event);
        if (fast_ != nullptr) write_line(fast_, line);
        if (options_.print_alerts) write_line(stdout, line);
      }
      queue->pop();
      alerts_written_.fetch_add(1, std::memory_order_relaxed);
      any = true;
    }
  }
  for (auto& queue : flow_queues_) {
    for (int i = 0; i < 256; ++i) {
      const FlowEvent* event = queue->front();
      if (event == nullptr) break;
      if (eve_ != nullptr && eve_settings_.flow) write_line(eve_, formatter_.flow(*event));
      queue->pop();
      any = true;
    }
  }
  return any;
}

void OutputThread::run() {
  auto idle = std::chrono::microseconds(50);
  while (true) {
    const bool stopping = stopping_.load(std::memory_order_acquire);
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
        if (eve_ != nullptr && eve_settings_.stats) write_line(eve_, formatter_.stats(snapshot));
        if (!stats_log_path_.empty()) {
          if (std::FILE* file = std::fopen(stats_log_path_.c_str(), "a")) {
            const std::string text = format_stats_log(snapshot);
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
      if (eve_ != nullptr) std::fflush(eve_);
      if (fast_ != nullptr) std::fflush(fast_);
      std::this_thread::sleep_for(idle);
      idle = std::min<std::chrono::microseconds>(idle * 2, std::chrono::milliseconds(20));
    }
  }
}

void OutputThread::write_stats(StatsSnapshot snapshot) {
  std::lock_guard lock(stats_mutex_);
  pending_stats_.push_back(std::move(snapshot));
}

void OutputThread::stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true, std::memory_order_release);
  thread_.join();
  if (eve_ != nullptr) std::fclose(eve_);
  if (fast_ != nullptr) std::fclose(fast_);
  if (options_.print_alerts) std::fflush(stdout);
  eve_ = fast_ = nullptr;
}

}  // namespace eastwatch

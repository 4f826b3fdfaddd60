#include "sensor/main/logging.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace eastwatch {

namespace {

// systemd sets JOURNAL_STREAM=<dev>:<inode> of the stream it connected stderr to.
bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  if (stream == nullptr) return false;
  unsigned long long device = 0, inode = 0;
  if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) return false;
  struct stat st {};
  return fstat(STDERR_FILENO, &st) == 0 && st.st_dev == device && st.st_ino == inode;
}

// %* : the journal's `<N>` priority prefix, or a level word for warnings, errors and debug lines.
class LevelPrefix final : public spdlog::custom_flag_formatter {
 public:
  explicit LevelPrefix(bool journal) : journal_(journal) {}
  void format(const spdlog::details::log_msg& message, const std::tm&, spdlog::memory_buf_t& dest) override {
    const char* text = "";
    switch (message.level) {
      case spdlog::level::critical: text = journal_ ? "<2>" : "critical: "; break;
      case spdlog::level::err: text = journal_ ? "<3>" : "error: "; break;
      case spdlog::level::warn: text = journal_ ? "<4>" : "warning: "; break;
      case spdlog::level::info: text = journal_ ? "<6>" : ""; break;
      default: text = journal_ ? "<7>" : "debug: "; break;
    }
    dest.append(text, text + std::strlen(text));
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<LevelPrefix>(journal_); }

 private:
  bool journal_;
};

// An appending file sink that reopens its path when the reopen counter moves (logrotate moved it).
class ReopeningFileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  ReopeningFileSink(std::FILE* file, std::string path, const std::atomic<uint64_t>* reopen_requests)
      : file_(file), path_(std::move(path)), reopen_requests_(reopen_requests),
        seen_(reopen_requests != nullptr ? reopen_requests->load() : 0) {}
  ~ReopeningFileSink() override {
    if (file_ != nullptr) std::fclose(file_);
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    if (reopen_requests_ != nullptr) {
      const uint64_t requests = reopen_requests_->load(std::memory_order_relaxed);
      if (requests != seen_) {
        seen_ = requests;
        if (std::FILE* reopened = std::fopen(path_.c_str(), "a")) {
          if (file_ != nullptr) std::fclose(file_);
          file_ = reopened;
        }
      }
    }
    if (file_ == nullptr) return;
    spdlog::memory_buf_t formatted;
    formatter_->format(message, formatted);
    std::fwrite(formatted.data(), 1, formatted.size(), file_);
    std::fflush(file_);
  }
  void flush_() override {
    if (file_ != nullptr) std::fflush(file_);
  }

 private:
  std::FILE* file_;
  std::string path_;
  const std::atomic<uint64_t>* reopen_requests_;
  uint64_t seen_;
};

spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::Error: return spdlog::level::err;
    case LogLevel::Warning: return spdlog::level::warn;
    case LogLevel::Info: return spdlog::level::info;
    case LogLevel::Debug: return spdlog::level::debug;
  }
  return spdlog::level::info;
}

}  // namespace

std::string setup_logging(const LoggingSettings& settings, const std::atomic<uint64_t>* reopen_requests) {
  const bool journal = stderr_is_journal();
  auto stderr_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto stderr_format = std::make_unique<spdlog::pattern_formatter>();
  stderr_format->add_flag<LevelPrefix>('*', journal).set_pattern(journal ? "%*%v" : "eastwatch: %*%v");
  stderr_sink->set_formatter(std::move(stderr_format));
  std::vector<spdlog::sink_ptr> sinks{stderr_sink};
  if (!settings.file.empty()) {
    std::FILE* file = std::fopen(settings.file.c_str(), "a");
    if (file == nullptr) return "logging.file: cannot open '" + settings.file + "' for writing: " + std::strerror(errno);
    auto file_sink = std::make_shared<ReopeningFileSink>(file, settings.file, reopen_requests);
    file_sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z [%l] %v");
    sinks.push_back(std::move(file_sink));
  }
  auto logger = std::make_shared<spdlog::logger>("eastwatch", sinks.begin(), sinks.end());
  logger->set_level(to_spdlog(settings.level));
  logger->flush_on(spdlog::level::debug);
  spdlog::set_default_logger(std::move(logger));
  return {};
}

}  // namespace eastwatch

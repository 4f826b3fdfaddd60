#include "sensor/output/pcap_log_writer.hpp"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstring>

#include "sensor/output/eve_format.hpp"

namespace eastwatch {

namespace {

constexpr uint32_t kSnaplen = 262144;
constexpr size_t kStdioBuffer = 256 << 10;

std::string join(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

struct PcapFileHeader {
  uint32_t magic = 0xa1b2c3d4;  // microsecond timestamps, written in host order (readers swap)
  uint16_t version_major = 2;
  uint16_t version_minor = 4;
  int32_t thiszone = 0;
  uint32_t sigfigs = 0;
  uint32_t snaplen = kSnaplen;
  uint32_t linktype = 1;
};
static_assert(sizeof(PcapFileHeader) == 24);

struct PcapRecordHeader {
  uint32_t ts_sec;
  uint32_t ts_usec;
  uint32_t caplen;
  uint32_t len;
};
static_assert(sizeof(PcapRecordHeader) == 16);

void json_string(std::string& out, std::string_view text) {
  out += '"';
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      out += escaped;
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace

tl::expected<std::unique_ptr<PcapLogWriter>, std::string> PcapLogWriter::start(const PcapLogSettings& settings,
                                                                               const std::string& dir,
                                                                               uint32_t worker_count) {
  if (dir.size() + settings.filename.size() + 48 >= AlertEvent::kMaxCaptureFile) {
    return tl::unexpected("outputs.pcap-log: the log directory '" + dir + "' is too long for the pcap file names (at most " +
                          std::to_string(AlertEvent::kMaxCaptureFile - 48 - settings.filename.size()) + " characters)");
  }
  if (::access(dir.empty() ? "." : dir.c_str(), W_OK) != 0) {
    return tl::unexpected("cannot write pcap-log files in '" + dir + "': " + std::strerror(errno));
  }
  std::unique_ptr<PcapLogWriter> writer(new PcapLogWriter(settings, dir, worker_count));
  writer->write_index();  // an empty index: this run's files, none yet
  writer->thread_ = std::thread([raw = writer.get()] { raw->run(); });
  return writer;
}

PcapLogWriter::PcapLogWriter(const PcapLogSettings& settings, std::string dir, uint32_t worker_count)
    : settings_(settings), dir_(std::move(dir)) {
  const uint32_t count = std::max<uint32_t>(1, worker_count);
  for (uint32_t w = 0; w < count; ++w) queues_.push_back(std::make_unique<PcapLogQueue>(settings.queue_size, w));
  outputs_.resize(count);
  buffer_.resize(size_t{count} * kStdioBuffer);
}

PcapLogWriter::~PcapLogWriter() { stop(); }

PcapLogWriterCounters PcapLogWriter::counters() const noexcept {
  PcapLogWriterCounters counters;
  counters.written = written_.load(std::memory_order_relaxed);
  counters.files_deleted = files_deleted_.load(std::memory_order_relaxed);
  counters.write_errors = write_errors_.load(std::memory_order_relaxed);
  return counters;
}

bool PcapLogWriter::drain_once() {
  bool any = false;
  for (uint32_t w = 0; w < queues_.size(); ++w) {
    PcapLogQueue& queue = *queues_[w];
    PcapLogQueue::Record record;
    // Bounded per queue per round, so one busy worker cannot starve the others.
    for (int i = 0; i < 1024 && queue.front(record); ++i) {
      write_record(w, record);
      queue.pop(record);
      any = true;
    }
  }
  return any;
}

void PcapLogWriter::run() {
  auto idle = std::chrono::microseconds(100);
  while (true) {
    const bool stopping = stopping_.load(std::memory_order_acquire);
    const uint64_t requested = flush_requested_.load(std::memory_order_acquire);
    if (drain_once()) {
      idle = std::chrono::microseconds(100);
      continue;
    }
    // The queues ran empty: what was written reaches the files (readable during the run).
    for (Output& output : outputs_) {
      if (output.file != nullptr) std::fflush(output.file);
    }
    flush_done_.store(requested, std::memory_order_release);
    if (stopping) break;
    std::this_thread::sleep_for(idle);
    idle = std::min(idle * 2, std::chrono::microseconds(5000));
  }
  for (uint32_t w = 0; w < outputs_.size(); ++w) close_file(w);
  write_index();
}

void PcapLogWriter::write_record(uint32_t worker, const PcapLogQueue::Record& record) {
  const PcapLogQueue::RecordHeader& header = *record.header;
  if (header.flags & PcapLogQueue::kNewFile) open_file(worker, record);
  Output& output = outputs_[worker];
  if (output.file == nullptr || output.failed) return;
  const int64_t sec = header.ts_usec >= 0 ? header.ts_usec / 1'000'000 : (header.ts_usec - 999'999) / 1'000'000;
  PcapRecordHeader pcap{static_cast<uint32_t>(sec), static_cast<uint32_t>(header.ts_usec - sec * 1'000'000),
                        header.caplen, header.wirelen};
  if (std::fwrite(&pcap, sizeof pcap, 1, output.file) != 1 ||
      (header.caplen > 0 && std::fwrite(record.frame.data(), header.caplen, 1, output.file) != 1)) {
    output.failed = true;
    write_errors_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  FileInfo& info = *output.info;
  if (info.packets == 0) info.first_usec = header.ts_usec;
  info.last_usec = header.ts_usec;
  ++info.packets;
  info.bytes += sizeof pcap + header.caplen;
  written_.fetch_add(1, std::memory_order_relaxed);
}

void PcapLogWriter::open_file(uint32_t worker, const PcapLogQueue::Record& record) {
  close_file(worker);
  Output& output = outputs_[worker];
  files_.push_back(FileInfo{std::string(record.name), worker, record.header->ts_usec, record.header->ts_usec, 0,
                            sizeof(PcapFileHeader), true});
  output.info = &files_.back();
  output.failed = false;
  const std::string path = join(dir_, output.info->name);
  output.file = std::fopen(path.c_str(), "wb");
  if (output.file == nullptr) {  // not kept: the index lists files that exist
    output.failed = true;
    output.info = nullptr;
    files_.pop_back();
    write_errors_.fetch_add(1, std::memory_order_relaxed);
  } else {
    std::setvbuf(output.file, buffer_.data() + size_t{worker} * kStdioBuffer, _IOFBF, kStdioBuffer);
    PcapFileHeader header;
    header.linktype = record.header->link_type;
    if (std::fwrite(&header, sizeof header, 1, output.file) != 1) {
      output.failed = true;
      write_errors_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  enforce_max_files();
  write_index();
}

void PcapLogWriter::close_file(uint32_t worker) {
  Output& output = outputs_[worker];
  if (output.info != nullptr) output.info->open = false;
  output.info = nullptr;
  if (output.file == nullptr) return;
  if (std::fclose(output.file) != 0) write_errors_.fetch_add(1, std::memory_order_relaxed);
  output.file = nullptr;
}

// The oldest closed files go while more than max-files are kept (open files stay).
void PcapLogWriter::enforce_max_files() {
  if (settings_.max_files == 0) return;
  for (auto it = files_.begin(); files_.size() > settings_.max_files && it != files_.end();) {
    if (it->open) {
      ++it;
      continue;
    }
    const std::string path = join(dir_, it->name);
    if (std::remove(path.c_str()) != 0 && errno != ENOENT) write_errors_.fetch_add(1, std::memory_order_relaxed);
    files_deleted_.fetch_add(1, std::memory_order_relaxed);
    it = files_.erase(it);
  }
}

void PcapLogWriter::write_index() {
  std::string text;
  for (const FileInfo& info : files_) {
    text += "{\"file\":";
    json_string(text, info.name);
    text += ",\"worker\":" + std::to_string(info.worker + 1);
    text += ",\"first_ts\":";
    json_string(text, format_eve_timestamp(info.first_usec));
    text += ",\"last_ts\":";
    json_string(text, format_eve_timestamp(info.last_usec));
    text += ",\"first_usec\":" + std::to_string(info.first_usec) + ",\"last_usec\":" + std::to_string(info.last_usec);
    text += ",\"packets\":" + std::to_string(info.packets) + ",\"bytes\":" + std::to_string(info.bytes);
    text += info.open ? ",\"open\":true}\n" : "}\n";
  }
  const std::string path = join(dir_, settings_.filename + ".index");
  const std::string temporary = path + ".tmp";
  std::FILE* file = std::fopen(temporary.c_str(), "wb");
  if (file == nullptr) {
    write_errors_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const bool ok = std::fwrite(text.data(), 1, text.size(), file) == text.size();
  if (std::fclose(file) != 0 || !ok || std::rename(temporary.c_str(), path.c_str()) != 0) {
    write_errors_.fetch_add(1, std::memory_order_relaxed);
  }
}

void PcapLogWriter::flush() {
  if (stopped_ || !thread_.joinable()) return;
  const uint64_t ticket = flush_requested_.fetch_add(1, std::memory_order_acq_rel) + 1;
  while (flush_done_.load(std::memory_order_acquire) < ticket) std::this_thread::sleep_for(std::chrono::microseconds(200));
}

void PcapLogWriter::stop() {
  if (stopped_) return;
  stopped_ = true;
  stopping_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
}

}  // namespace eastwatch

#include "sensor/output/log_file.hpp"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

namespace eastwatch {

namespace {

constexpr size_t kStampLength = 17;  // YYYY-mm-dd-HHMMSS
constexpr uint32_t kMaxSequence = 9999;

std::string directory_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_name_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// "<stamp>" or "<stamp>.<n>" after "<base>."; the stamp's digits and dashes in place.
bool parse_suffix(std::string_view suffix, std::string_view& stamp, uint32_t& sequence) {
  if (suffix.size() < kStampLength) return false;
  stamp = suffix.substr(0, kStampLength);
  for (size_t i = 0; i < kStampLength; ++i) {
    const bool dash = i == 4 || i == 7 || i == 10;
    if (dash ? stamp[i] != '-' : !std::isdigit(static_cast<unsigned char>(stamp[i]))) return false;
  }
  sequence = 0;
  std::string_view rest = suffix.substr(kStampLength);
  if (rest.empty()) return true;
  if (rest.front() != '.' || rest.size() < 2 || rest.size() > 5) return false;
  for (char c : rest.substr(1)) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    sequence = sequence * 10 + static_cast<uint32_t>(c - '0');
  }
  return sequence > 0;
}

}  // namespace

std::string rotated_file_name(const std::string& path, std::time_t when, uint32_t sequence) {
  std::tm local{};
  localtime_r(&when, &local);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d-%H%M%S", &local);
  std::string name = path + "." + stamp;
  if (sequence > 0) name += "." + std::to_string(sequence);
  return name;
}

std::time_t next_rotation_time(std::time_t now, uint32_t seconds, bool aligned) {
  if (seconds == 0) return 0;
  if (!aligned) return now + seconds;
  std::tm local{};
  localtime_r(&now, &local);
  local.tm_sec = 0;
  if (seconds >= 3600) local.tm_min = 0;
  if (seconds >= 86400) local.tm_hour = 0;
  if (seconds >= 86400) {
    ++local.tm_mday;  // mktime normalizes the month, and a DST change of the day
  } else if (seconds >= 3600) {
    ++local.tm_hour;
  } else {
    ++local.tm_min;
  }
  local.tm_isdst = -1;
  const std::time_t next = std::mktime(&local);
  return next > now ? next : now + seconds;
}

std::vector<std::string> rotated_files_in_order(const std::string& path, const std::vector<std::string>& names) {
  const std::string prefix = base_name_of(path) + ".";
  struct Entry {
    std::string_view stamp;
    uint32_t sequence;
    const std::string* name;
  };
  std::vector<Entry> entries;
  for (const auto& name : names) {
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    Entry entry{{}, 0, &name};
    if (parse_suffix(std::string_view(name).substr(prefix.size()), entry.stamp, entry.sequence)) {
      entries.push_back(entry);
    }
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.stamp != b.stamp ? a.stamp < b.stamp : a.sequence < b.sequence;
  });
  std::vector<std::string> ordered;
  ordered.reserve(entries.size());
  for (const auto& entry : entries) ordered.push_back(*entry.name);
  return ordered;
}

tl::expected<std::unique_ptr<LogFile>, std::string> LogFile::open(std::string path, LogRotationSettings rotation) {
  std::unique_ptr<LogFile> file(new LogFile(std::move(path), rotation));
  if (!file->open_file()) return tl::unexpected("cannot open '" + file->path_ + "' for writing: " + std::strerror(errno));
  if (rotation.size == 0 && rotation.interval_seconds == 0) return file;
  // Rotated files of earlier runs count against rotate-count too, and the newest one's name
  // continues the sequence (a restart within its second must not take a lower, pruned name).
  const std::string directory = directory_of(file->path_);
  std::vector<std::string> names;
  if (DIR* dir = opendir(directory.c_str())) {
    while (dirent* entry = readdir(dir)) names.emplace_back(entry->d_name);
    closedir(dir);
  }
  const std::string prefix = file->path_.find('/') == std::string::npos ? "" : directory + "/";
  const std::vector<std::string> rotated = rotated_files_in_order(file->path_, names);
  if (!rotated.empty()) {
    const std::string_view suffix = std::string_view(rotated.back()).substr(base_name_of(file->path_).size() + 1);
    std::string_view stamp;
    parse_suffix(suffix, stamp, file->last_sequence_);
    file->last_stamped_ = file->path_ + "." + std::string(stamp);
  }
  if (rotation.count > 0) {
    for (const auto& name : rotated) file->rotated_.push_back(prefix + name);
    file->prune();
  }
  return file;
}

LogFile::LogFile(std::string path, LogRotationSettings rotation) : path_(std::move(path)), rotation_(rotation) {
  next_rotation_ = next_rotation_time(std::time(nullptr), rotation_.interval_seconds, rotation_.interval_aligned);
}

LogFile::~LogFile() {
  if (file_ != nullptr) std::fclose(file_);
}

bool LogFile::open_file() {
  file_ = std::fopen(path_.c_str(), "a");
  if (file_ == nullptr) return false;
  struct stat st {};
  size_ = fstat(fileno(file_), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  return true;
}

void LogFile::warn(const std::string& what) {
  ++counters_.errors;
  const std::time_t now = std::time(nullptr);
  if (now - last_warning_ < 60) return;
  last_warning_ = now;
  spdlog::warn("{}: {}", path_, what);
}

void LogFile::write_line(std::string_view line) {
  if (file_ == nullptr) {
    const std::time_t now = std::time(nullptr);
    if (now < next_open_retry_ || !open_file()) {
      if (now >= next_open_retry_) warn(std::string("cannot open for writing: ") + std::strerror(errno));
      next_open_retry_ = now + 1;
      ++counters_.lost;
      return;
    }
  }
  if (next_rotation_ != 0 || rotation_.size != 0) {
    const std::time_t now = std::time(nullptr);
    const bool due = next_rotation_ != 0 && now >= next_rotation_;
    const bool full = rotation_.size != 0 && size_ != 0 && size_ + line.size() + 1 > rotation_.size;
    if ((due && size_ != 0) || full) {
      rotate(now);
      if (file_ == nullptr) {
        ++counters_.lost;
        return;
      }
    } else if (due) {
      next_rotation_ = next_rotation_time(now, rotation_.interval_seconds, rotation_.interval_aligned);
    }
  }
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fputc('\n', file_) == EOF) {
    warn(std::string("write failed: ") + std::strerror(errno));
    std::clearerr(file_);
  }
  size_ += line.size() + 1;
}

void LogFile::tick() {
  if (next_rotation_ == 0 || file_ == nullptr) return;
  const std::time_t now = std::time(nullptr);
  if (now < next_rotation_) return;
  if (size_ != 0) {
    rotate(now);
  } else {
    next_rotation_ = next_rotation_time(now, rotation_.interval_seconds, rotation_.interval_aligned);
  }
}

void LogFile::rotate(std::time_t now) {
  next_rotation_ = next_rotation_time(now, rotation_.interval_seconds, rotation_.interval_aligned);
  if (std::fclose(file_) != 0) warn(std::string("write failed: ") + std::strerror(errno));
  file_ = nullptr;
  // Sequences only grow within a second, so names sort as the files were rotated even after
  // rotate-count deleted the lower ones.
  const std::string stamped = rotated_file_name(path_, now, 0);
  std::string target;
  uint32_t sequence = stamped == last_stamped_ ? last_sequence_ + 1 : 0;
  struct stat st {};
  for (; sequence <= kMaxSequence; ++sequence) {
    target = rotated_file_name(path_, now, sequence);
    if (lstat(target.c_str(), &st) != 0 && errno == ENOENT) break;
    target.clear();
  }
  if (target.empty()) {
    warn("cannot rotate: every rotated name for this second is taken");
  } else if (std::rename(path_.c_str(), target.c_str()) != 0) {
    warn("cannot rotate to '" + target + "': " + std::strerror(errno));
  } else {
    ++counters_.rotations;
    last_stamped_ = stamped;
    last_sequence_ = sequence;
    if (rotation_.count > 0) rotated_.push_back(target);
    prune();
    spdlog::debug("{} rotated to {}", path_, target);
  }
  if (!open_file()) {
    warn(std::string("cannot open for writing after rotation: ") + std::strerror(errno));
    next_open_retry_ = now + 1;
  }
}

void LogFile::prune() {
  if (rotation_.count == 0) return;
  while (rotated_.size() > rotation_.count) {
    if (std::remove(rotated_.front().c_str()) != 0 && errno != ENOENT) {
      warn("cannot delete old rotated file '" + rotated_.front() + "': " + std::strerror(errno));
    }
    rotated_.pop_front();
  }
}

void LogFile::reopen() {
  if (file_ != nullptr && std::fclose(file_) != 0) warn(std::string("write failed: ") + std::strerror(errno));
  file_ = nullptr;
  if (open_file()) {
    ++counters_.reopens;
  } else {
    warn(std::string("cannot reopen for writing: ") + std::strerror(errno));
    next_open_retry_ = std::time(nullptr) + 1;
  }
}

void LogFile::flush() {
  if (file_ != nullptr && std::fflush(file_) != 0) {
    warn(std::string("write failed: ") + std::strerror(errno));
    std::clearerr(file_);
  }
}

}  // namespace eastwatch

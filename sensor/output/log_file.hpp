// A line-oriented output file (eve.json, fast.log) owned by the output thread.
//
// Contract:
//  - `write_line` writes one whole record and its newline; a rotation or a reopen only ever
//    happens between two records, so none is split or lost across files.
//  - Rotation (outputs.eve.rotate-size/-interval/-count): the active file keeps its name
//    (readers that follow the name, such as Filebeat or `tail -F`, keep up); a due file is
//    closed, renamed `<path>.<YYYY-mm-dd-HHMMSS>` (local time of the rotation; `.1`, `.2` ...
//    past the first name taken in a second) and a new one is opened. Size: before a record that
//    would take a non-empty file past rotate-size. Interval: at the first record or `tick` past
//    the due time, never for an empty file. rotate-count keeps that many rotated files (also
//    those found from earlier runs), deleting the oldest. Sequence numbers only grow within a
//    second (also across a restart), so the names sort in rotation order.
//  - `reopen` closes and opens the path again (logrotate moved the file; SIGHUP).
//  - A rename or open that fails is counted and logged (at most once a minute) and writing goes
//    on in the file at hand; if no file could be opened, records count as lost until one can.
//  - Not thread-safe: one thread (the output thread) calls everything.
#pragma once

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "config/daemon_settings.hpp"

namespace eastwatch {

struct LogFileCounters {
  uint64_t rotations = 0;   // files rotated (renamed and replaced)
  uint64_t reopens = 0;     // reopen() calls that opened the path again
  uint64_t errors = 0;      // failed renames, opens, writes and deletions of old rotated files
  uint64_t lost = 0;        // records dropped because no file was open
};

class LogFile {
 public:
  static tl::expected<std::unique_ptr<LogFile>, std::string> open(std::string path, LogRotationSettings rotation);
  ~LogFile();
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;

  void write_line(std::string_view line);
  // Interval rotation while no record arrives; cheap (a clock read) when nothing is due.
  void tick();
  void reopen();
  void flush();

  const std::string& path() const noexcept { return path_; }
  uint64_t size() const noexcept { return size_; }
  const LogFileCounters& counters() const noexcept { return counters_; }

 private:
  LogFile(std::string path, LogRotationSettings rotation);
  bool open_file();
  void rotate(std::time_t now);
  void prune();
  void warn(const std::string& what);

  std::string path_;
  LogRotationSettings rotation_;
  std::FILE* file_ = nullptr;
  uint64_t size_ = 0;
  std::time_t next_rotation_ = 0;   // 0: no interval rotation
  std::time_t next_open_retry_ = 0;
  std::time_t last_warning_ = 0;
  std::deque<std::string> rotated_;  // oldest first (with rotate-count only)
  std::string last_stamped_;         // <path>.<stamp> of the latest rotation ...
  uint32_t last_sequence_ = 0;       // ... and its sequence
  LogFileCounters counters_;
};

// The pure parts, for the tests.
// `<path>.<YYYY-mm-dd-HHMMSS>` for `when` in local time, `.<sequence>` added when sequence > 0.
std::string rotated_file_name(const std::string& path, std::time_t when, uint32_t sequence);
// When a file opened (or rotated) at `now` is next due: aligned intervals (minute, hour, day)
// on the local clock's next boundary, others `seconds` later.
std::time_t next_rotation_time(std::time_t now, uint32_t seconds, bool aligned);
// The rotated files of `path` among `names` (base names in path's directory), oldest first.
std::vector<std::string> rotated_files_in_order(const std::string& path, const std::vector<std::string>& names);

}  // namespace eastwatch

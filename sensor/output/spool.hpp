// An on-disk spool for one sink: the records it could not deliver yet, in order, kept until
// the sink confirms them.
//
// Layout: a directory of append-only segment files `<20-digit number>.seg` (numbered in
// write order) and an `offset` file with the read position ("<segment> <byte offset>\n",
// written to a temporary file and renamed, so it is always whole). Each record in a segment is
// [u32 length][u32 crc32 of the bytes][bytes], little-endian.
//
// Contract:
//  - `open` creates the directory when missing, scans every segment and cuts the last one
//    back to its last whole record (a crash in the middle of an append loses only that
//    record); a corrupt record in an older segment ends that segment (its remaining records
//    are counted in `dropped`).
//  - `append` writes at the end; when the spool would grow past `max_bytes`, the oldest
//    segments are deleted first and their unread records counted in `dropped` (a record
//    larger than the whole bound is dropped itself).
//  - `read` returns the next records after the committed position without consuming them;
//    `commit(n)` consumes the first n of them, writes the offset file and deletes segments
//    read to the end. Records come back in append order, each exactly once across restarts
//    as long as every delivered batch is committed.
//  - Single-threaded: one sink thread owns its spool.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace eastwatch {

enum class SpoolFsync : uint8_t {
  None,    // the OS writes back when it likes: survives a crash of eastwatch, not of the machine
  Batch,   // fsync after each batch of appends and each offset commit
  Always,  // fsync after every record
};

struct SpoolOptions {
  std::string dir;
  uint64_t max_bytes = 1ull << 30;
  uint64_t segment_bytes = 16ull << 20;  // a segment is closed once it holds this much
  SpoolFsync fsync = SpoolFsync::Batch;
};

class Spool {
 public:
  static tl::expected<std::unique_ptr<Spool>, std::string> open(const SpoolOptions& options);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // False when the write failed (disk full, I/O error); the record is counted in `dropped`.
  bool append(std::string_view record);
  // Ends a batch of appends (fsync under SpoolFsync::Batch).
  void flush();
  // Up to max_records records (and about max_bytes) after the committed position.
  size_t read(size_t max_records, size_t max_bytes, std::vector<std::string>& out);
  // Consumes the first `records` records after the committed position (at most what `read`
  // returned since the last commit).
  void commit(size_t records);

  bool empty() const noexcept { return records_ == 0; }
  uint64_t records() const noexcept { return records_; }
  uint64_t bytes() const noexcept { return bytes_; }  // unread bytes on disk
  uint64_t dropped() const noexcept { return dropped_; }
  const std::string& last_error() const noexcept { return last_error_; }

 private:
  struct Segment {
    uint64_t number = 0;
    uint64_t size = 0;     // bytes of whole records
    uint64_t records = 0;  // whole records in the file (read ones included)
  };
  explicit Spool(const SpoolOptions& options);
  std::string segment_path(uint64_t number) const;
  bool scan(Segment& segment, bool is_last);
  bool open_writer();
  void drop_oldest();
  void remove_front_segment();
  void write_offset();
  void sync_fd(int fd);

  SpoolOptions options_;
  std::deque<Segment> segments_;   // oldest first; the back one is written
  uint64_t read_offset_ = 0;       // committed position in segments_.front()
  uint64_t read_index_ = 0;        // records of segments_.front() before read_offset_
  int write_fd_ = -1;
  int read_fd_ = -1;
  uint64_t read_fd_number_ = 0;
  uint64_t records_ = 0;  // unread
  uint64_t bytes_ = 0;    // unread
  uint64_t dropped_ = 0;
  bool dirty_ = false;
  std::string last_error_;
  std::string buffer_;
};

}  // namespace eastwatch

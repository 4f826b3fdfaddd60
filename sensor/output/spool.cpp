#include "sensor/output/spool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <zlib.h>

namespace eastwatch {

namespace {

constexpr uint64_t kHeader = 8;
constexpr uint32_t kMaxRecord = 64u << 20;  // a length past this is corruption, not a record

void put_u32(uint8_t* to, uint32_t value) {
  for (int i = 0; i < 4; ++i) to[i] = static_cast<uint8_t>(value >> (8 * i));
}
uint32_t get_u32(const uint8_t* from) {
  return static_cast<uint32_t>(from[0]) | static_cast<uint32_t>(from[1]) << 8 | static_cast<uint32_t>(from[2]) << 16 |
         static_cast<uint32_t>(from[3]) << 24;
}
uint32_t checksum(std::string_view bytes) {
  return static_cast<uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

bool pread_all(int fd, void* into, size_t size, uint64_t offset) {
  auto* bytes = static_cast<uint8_t*>(into);
  while (size > 0) {
    const ssize_t got = pread(fd, bytes, size, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    bytes += got;
    size -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return true;
}

bool make_dirs(const std::string& dir) {
  for (size_t slash = dir.find('/', 1); ; slash = dir.find('/', slash + 1)) {
    const std::string part = dir.substr(0, slash);
    if (!part.empty() && mkdir(part.c_str(), 0750) != 0 && errno != EEXIST) return false;
    if (slash == std::string::npos) return true;
  }
}

}  // namespace

Spool::Spool(const SpoolOptions& options) : options_(options) {
  if (options_.segment_bytes == 0) options_.segment_bytes = 1;
}

Spool::~Spool() {
  if (write_fd_ >= 0) {
    if (options_.fsync != SpoolFsync::None) fsync(write_fd_);
    close(write_fd_);
  }
  if (read_fd_ >= 0) close(read_fd_);
}

std::string Spool::segment_path(uint64_t number) const {
  char name[32];
  std::snprintf(name, sizeof name, "/%020llu.seg", static_cast<unsigned long long>(number));
  return options_.dir + name;
}

// Walks the records of `segment` (verifying each checksum when it is the last one, the only
// one a crash can leave half-written) and cuts the file back to its last whole record.
bool Spool::scan(Segment& segment, bool is_last) {
  const std::string path = segment_path(segment.number);
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    last_error_ = "cannot open '" + path + "': " + std::strerror(errno);
    return false;
  }
  struct stat info {};
  fstat(fd, &info);
  const uint64_t file_size = static_cast<uint64_t>(info.st_size);
  uint64_t offset = 0;
  uint64_t records = 0;
  uint8_t header[kHeader];
  while (offset + kHeader <= file_size && pread_all(fd, header, kHeader, offset)) {
    const uint32_t length = get_u32(header);
    if (length > kMaxRecord || offset + kHeader + length > file_size) break;
    if (is_last) {
      buffer_.resize(length);
      if (!pread_all(fd, buffer_.data(), length, offset + kHeader)) break;
      if (checksum(buffer_) != get_u32(header + 4)) break;
    }
    offset += kHeader + length;
    ++records;
  }
  if (offset < file_size) {
    if (is_last) {
      if (ftruncate(fd, static_cast<off_t>(offset)) != 0) last_error_ = "cannot truncate '" + path + "'";
    } else {
      ++dropped_;  // at least one record of an older segment is unreadable
    }
  }
  close(fd);
  segment.size = offset;
  segment.records = records;
  return true;
}

tl::expected<std::unique_ptr<Spool>, std::string> Spool::open(const SpoolOptions& options) {
  std::unique_ptr<Spool> spool(new Spool(options));
  if (options.dir.empty()) return tl::unexpected(std::string("spool directory not set"));
  if (!make_dirs(options.dir)) {
    return tl::unexpected("cannot create the spool directory '" + options.dir + "': " + std::strerror(errno));
  }
  DIR* dir = opendir(options.dir.c_str());
  if (dir == nullptr) return tl::unexpected("cannot read '" + options.dir + "': " + std::strerror(errno));
  std::vector<uint64_t> numbers;
  while (dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name.size() == 24 && name.ends_with(".seg") &&
        std::all_of(name.begin(), name.begin() + 20, [](unsigned char c) { return std::isdigit(c); })) {
      numbers.push_back(std::stoull(name.substr(0, 20)));
    }
  }
  closedir(dir);
  std::sort(numbers.begin(), numbers.end());

  uint64_t offset_segment = 0;
  uint64_t offset_bytes = 0;
  if (std::FILE* file = std::fopen((options.dir + "/offset").c_str(), "r")) {
    unsigned long long segment = 0;
    unsigned long long bytes = 0;
    if (std::fscanf(file, "%llu %llu", &segment, &bytes) == 2) {
      offset_segment = segment;
      offset_bytes = bytes;
    }
    std::fclose(file);
  }
  for (uint64_t number : numbers) {
    if (number < offset_segment) {  // read to the end before a crash kept it from being deleted
      unlink(spool->segment_path(number).c_str());
      continue;
    }
    spool->segments_.push_back({number, 0, 0});
  }
  for (size_t i = 0; i < spool->segments_.size(); ++i) {
    if (!spool->scan(spool->segments_[i], i + 1 == spool->segments_.size())) return tl::unexpected(spool->last_error_);
  }
  if (spool->segments_.empty()) spool->segments_.push_back({std::max<uint64_t>(offset_segment, 1), 0, 0});
  Segment& front = spool->segments_.front();
  if (front.number == offset_segment && offset_bytes > 0) {
    // Count the records before the committed offset, walking the headers.
    const int fd = ::open(spool->segment_path(front.number).c_str(), O_RDONLY | O_CLOEXEC);
    uint64_t at = 0;
    uint64_t before = 0;
    uint8_t header[kHeader];
    while (fd >= 0 && at < offset_bytes && at + kHeader <= front.size && pread_all(fd, header, kHeader, at)) {
      at += kHeader + get_u32(header);
      ++before;
    }
    if (fd >= 0) close(fd);
    spool->read_offset_ = std::min(at, front.size);
    spool->read_index_ = before;
  }
  for (const Segment& segment : spool->segments_) {
    spool->records_ += segment.records;
    spool->bytes_ += segment.size;
  }
  spool->records_ -= spool->read_index_;
  spool->bytes_ -= spool->read_offset_;
  if (!spool->open_writer()) return tl::unexpected(spool->last_error_);
  return spool;
}

bool Spool::open_writer() {
  if (write_fd_ >= 0) close(write_fd_);
  const std::string path = segment_path(segments_.back().number);
  write_fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (write_fd_ < 0) {
    last_error_ = "cannot open '" + path + "' for writing: " + std::strerror(errno);
    return false;
  }
  return true;
}

void Spool::sync_fd(int fd) {
  if (fd >= 0) fdatasync(fd);
}

void Spool::remove_front_segment() {
  const Segment front = segments_.front();
  if (read_fd_ >= 0 && read_fd_number_ == front.number) {
    close(read_fd_);
    read_fd_ = -1;
  }
  if (segments_.size() == 1) {  // the write segment: start the next one
    segments_.push_back({front.number + 1, 0, 0});
    segments_.pop_front();
    open_writer();
  } else {
    segments_.pop_front();
  }
  unlink(segment_path(front.number).c_str());
  read_offset_ = 0;
  read_index_ = 0;
}

void Spool::drop_oldest() {
  const Segment& front = segments_.front();
  const uint64_t unread_records = front.records - read_index_;
  dropped_ += unread_records;
  records_ -= unread_records;
  bytes_ -= front.size - read_offset_;
  remove_front_segment();
  write_offset();
}

bool Spool::append(std::string_view record) {
  const uint64_t size = kHeader + record.size();
  if (size > options_.max_bytes || record.size() > kMaxRecord) {
    ++dropped_;
    last_error_ = "a record larger than the spool bound was dropped";
    return false;
  }
  if (write_fd_ < 0 && !open_writer()) {
    ++dropped_;
    return false;
  }
  uint64_t on_disk = 0;
  for (const Segment& segment : segments_) on_disk += segment.size;
  if (segments_.back().size > 0 && segments_.back().size + size > options_.segment_bytes) {
    segments_.push_back({segments_.back().number + 1, 0, 0});
    if (options_.fsync != SpoolFsync::None) sync_fd(write_fd_);
    if (!open_writer()) {
      segments_.pop_back();
      ++dropped_;
      return false;
    }
  }
  while (on_disk + size > options_.max_bytes && segments_.size() > 1) {
    on_disk -= segments_.front().size;
    drop_oldest();
  }
  if (on_disk + size > options_.max_bytes && segments_.back().size > 0) {
    // Only the write segment is left and it is too full: start over with this record.
    segments_.push_back({segments_.back().number + 1, 0, 0});
    open_writer();
    drop_oldest();
  }
  uint8_t header[kHeader];
  put_u32(header, static_cast<uint32_t>(record.size()));
  put_u32(header + 4, checksum(record));
  iovec parts[2] = {{header, kHeader}, {const_cast<char*>(record.data()), record.size()}};
  size_t done = 0;
  while (done < size) {
    ssize_t wrote = 0;
    if (done < kHeader) {
      iovec rest[2] = {{header + done, kHeader - done}, parts[1]};
      wrote = writev(write_fd_, rest, 2);
    } else {
      wrote = write(write_fd_, record.data() + (done - kHeader), size - done);
    }
    if (wrote < 0 && errno == EINTR) continue;
    if (wrote <= 0) {
      last_error_ = std::string("spool write failed: ") + std::strerror(errno);
      if (ftruncate(write_fd_, static_cast<off_t>(segments_.back().size)) != 0) {
        // The half-written record is cut off by the checksum scan at the next start.
      }
      ++dropped_;
      return false;
    }
    done += static_cast<size_t>(wrote);
  }
  segments_.back().size += size;
  segments_.back().records += 1;
  records_ += 1;
  bytes_ += size;
  dirty_ = true;
  if (options_.fsync == SpoolFsync::Always) {
    sync_fd(write_fd_);
    dirty_ = false;
  }
  return true;
}

void Spool::flush() {
  if (dirty_ && options_.fsync == SpoolFsync::Batch) sync_fd(write_fd_);
  dirty_ = false;
}

size_t Spool::read(size_t max_records, size_t max_bytes, std::vector<std::string>& out) {
  out.clear();
  size_t index = 0;
  uint64_t offset = read_offset_;
  size_t bytes = 0;
  while (out.size() < max_records && index < segments_.size() && (out.empty() || bytes < max_bytes)) {
    const Segment& segment = segments_[index];
    if (offset >= segment.size) {
      ++index;
      offset = 0;
      continue;
    }
    if (read_fd_ < 0 || read_fd_number_ != segment.number) {
      if (read_fd_ >= 0) close(read_fd_);
      read_fd_ = ::open(segment_path(segment.number).c_str(), O_RDONLY | O_CLOEXEC);
      read_fd_number_ = segment.number;
      if (read_fd_ < 0) {
        last_error_ = "cannot read '" + segment_path(segment.number) + "': " + std::strerror(errno);
        break;
      }
    }
    uint8_t header[kHeader];
    if (!pread_all(read_fd_, header, kHeader, offset)) break;
    const uint32_t length = get_u32(header);
    std::string record(length, '\0');
    if (!pread_all(read_fd_, record.data(), length, offset + kHeader)) break;
    offset += kHeader + length;
    bytes += length;
    out.push_back(std::move(record));
  }
  return out.size();
}

void Spool::commit(size_t count) {
  uint8_t header[kHeader];
  while (count > 0 && !segments_.empty()) {
    Segment& front = segments_.front();
    if (read_offset_ >= front.size) {
      if (segments_.size() == 1) break;
      remove_front_segment();
      continue;
    }
    if (read_fd_ < 0 || read_fd_number_ != front.number) {
      if (read_fd_ >= 0) close(read_fd_);
      read_fd_ = ::open(segment_path(front.number).c_str(), O_RDONLY | O_CLOEXEC);
      read_fd_number_ = front.number;
    }
    if (read_fd_ < 0 || !pread_all(read_fd_, header, kHeader, read_offset_)) break;
    const uint64_t size = kHeader + get_u32(header);
    read_offset_ += size;
    read_index_ += 1;
    records_ -= 1;
    bytes_ -= size;
    --count;
  }
  // Segments read to the end go; an empty spool keeps one fresh write segment.
  while (!segments_.empty() && read_offset_ >= segments_.front().size && segments_.front().size > 0) {
    remove_front_segment();
  }
  write_offset();
}

void Spool::write_offset() {
  const std::string path = options_.dir + "/offset";
  const std::string temporary = path + ".tmp";
  char text[64];
  const int length = std::snprintf(text, sizeof text, "%llu %llu\n",
                                   static_cast<unsigned long long>(segments_.front().number),
                                   static_cast<unsigned long long>(read_offset_));
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    last_error_ = "cannot write '" + temporary + "': " + std::strerror(errno);
    return;
  }
  const bool ok = write(fd, text, static_cast<size_t>(length)) == length;
  if (options_.fsync != SpoolFsync::None) fdatasync(fd);
  close(fd);
  if (!ok || rename(temporary.c_str(), path.c_str()) != 0) last_error_ = "cannot write '" + path + "'";
}

}  // namespace eastwatch

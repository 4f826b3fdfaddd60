// The hand-off of packet copies from one worker to the pcap-log writer thread: a bounded
// single-producer/single-consumer byte ring of variable-length records, preallocated.
//
// Contract:
//  - `try_push` (the worker) never blocks, allocates or locks: a record that does not fit
//    returns false and the caller counts it (pcap_log.dropped).
//  - `front`/`pop` (the writer) see records in push order.
//  - A record is [RecordHeader][file name, name_len bytes][frame, caplen bytes], padded to 8;
//    a record that would run past the end of the ring is preceded by a skip marker and
//    written at its start.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>

namespace eastwatch {

class PcapLogQueue {
 public:
  struct RecordHeader {
    uint32_t size = 0;   // bytes the record takes in the ring, header and padding included
    uint32_t flags = 0;  // kSkip, kNewFile
    int64_t ts_usec = 0;
    uint32_t caplen = 0;
    uint32_t wirelen = 0;
    uint16_t link_type = 1;  // the libpcap LINKTYPE of the frame (its file's link type)
    uint16_t name_len = 0;   // kNewFile: the new file's name follows the header
    uint32_t reserved = 0;
  };
  static_assert(sizeof(RecordHeader) == 32);
  static constexpr uint32_t kSkip = 1;     // the rest of the ring up to its end is unused
  static constexpr uint32_t kNewFile = 2;  // close the worker's file and open `name` for this packet

  struct Record {
    const RecordHeader* header = nullptr;
    std::string_view name;  // kNewFile only
    std::span<const uint8_t> frame;
  };

  // `capacity`: bytes, rounded down to a multiple of 8 (at least 4 KiB). `worker`: 0-based.
  PcapLogQueue(uint64_t capacity, uint32_t worker)
      : capacity_(std::max<uint64_t>(4096, capacity & ~uint64_t{7})),
        worker_(worker),
        ring_(std::make_unique<uint8_t[]>(capacity_)) {}

  uint32_t worker() const noexcept { return worker_; }
  uint64_t capacity() const noexcept { return capacity_; }

  static uint64_t record_size(uint32_t name_len, uint32_t caplen) noexcept {
    return (sizeof(RecordHeader) + name_len + caplen + 7) & ~uint64_t{7};
  }

  // Producer side.
  bool try_push(uint32_t flags, int64_t ts_usec, uint32_t wirelen, uint16_t link_type, std::string_view name,
                std::span<const uint8_t> frame) noexcept {
    const uint64_t size = record_size(static_cast<uint32_t>(name.size()), static_cast<uint32_t>(frame.size()));
    const uint64_t head = head_.load(std::memory_order_relaxed);
    const uint64_t used = head - tail_.load(std::memory_order_acquire);
    const uint64_t at = head % capacity_;
    const uint64_t to_end = capacity_ - at;
    const uint64_t need = to_end < size ? to_end + size : size;
    if (size > capacity_ / 2 || used + need > capacity_) return false;
    uint64_t next = head;
    if (to_end < size) {  // a skip marker fills the end; the record goes to the start
      RecordHeader skip;
      skip.size = static_cast<uint32_t>(to_end);
      skip.flags = kSkip;
      std::memcpy(ring_.get() + at, &skip, 8);  // size and flags: the ring's 8-byte alignment leaves room
      next += to_end;
    }
    uint8_t* out = ring_.get() + next % capacity_;
    RecordHeader header;
    header.size = static_cast<uint32_t>(size);
    header.flags = flags;
    header.ts_usec = ts_usec;
    header.caplen = static_cast<uint32_t>(frame.size());
    header.wirelen = wirelen;
    header.link_type = link_type;
    header.name_len = static_cast<uint16_t>(name.size());
    std::memcpy(out, &header, sizeof header);
    if (!name.empty()) std::memcpy(out + sizeof header, name.data(), name.size());
    if (!frame.empty()) std::memcpy(out + sizeof header + name.size(), frame.data(), frame.size());
    head_.store(next + size, std::memory_order_release);
    return true;
  }

  // Consumer side: the oldest record, or false when empty; valid until `pop`.
  bool front(Record& record) noexcept {
    while (true) {
      const uint64_t tail = tail_.load(std::memory_order_relaxed);
      if (tail == head_.load(std::memory_order_acquire)) return false;
      const uint8_t* at = ring_.get() + tail % capacity_;
      uint32_t size = 0, flags = 0;
      std::memcpy(&size, at, 4);
      std::memcpy(&flags, at + 4, 4);
      if (flags & kSkip) {
        tail_.store(tail + size, std::memory_order_release);
        continue;
      }
      const auto* header = reinterpret_cast<const RecordHeader*>(at);
      record.header = header;
      record.name = std::string_view(reinterpret_cast<const char*>(at + sizeof(RecordHeader)), header->name_len);
      record.frame = std::span<const uint8_t>(at + sizeof(RecordHeader) + header->name_len, header->caplen);
      return true;
    }
  }
  void pop(const Record& record) noexcept {
    tail_.store(tail_.load(std::memory_order_relaxed) + record.header->size, std::memory_order_release);
  }
  bool empty() const noexcept {
    return tail_.load(std::memory_order_acquire) == head_.load(std::memory_order_acquire);
  }

 private:
  const uint64_t capacity_;
  const uint32_t worker_;
  std::unique_ptr<uint8_t[]> ring_;
  alignas(64) std::atomic<uint64_t> head_{0};
  alignas(64) std::atomic<uint64_t> tail_{0};
};

}  // namespace eastwatch

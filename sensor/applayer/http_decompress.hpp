// Body decompression (Content-Encoding gzip, x-gzip, deflate) with zlib, from a per-worker
// pool of decompressors preallocated at construction (their arenas are zero pages, backed
// when first used). zlib allocates through a bump
// allocator over each decompressor's own arena, so inflating never touches the heap.
//
// Contract:
//  - `acquire` gives a free decompressor (or kNone when all are busy: the caller inspects the
//    body raw and counts it); `release` returns it (at the body's end or the flow's end).
//  - `inflate` decompresses `in` into `out` and returns the bytes written; it stops at the
//    end of `out` (the rest of this input is dropped: the caller sized `out` to what it still
//    inspects), at the end of the compressed stream, or at an error (`failed` set, then every
//    later call returns 0). "deflate" is tried as zlib-wrapped and, if its first bytes are
//    not a zlib header, as raw deflate (as libhtp does).
//  - The bomb check: total output beyond `bomb_limit`, or beyond `bomb_ratio` times the
//    input once past 64 KiB, sets `bomb` and ends decompression of that body.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "sensor/util/zeroed_array.hpp"

namespace eastwatch {

enum class ContentEncoding : uint8_t { Identity, Gzip, Deflate };

class HttpDecompressorPool {
 public:
  static constexpr uint32_t kNone = 0xffffffffu;

  HttpDecompressorPool(uint32_t count, uint64_t bomb_limit, uint32_t bomb_ratio);
  ~HttpDecompressorPool();
  HttpDecompressorPool(const HttpDecompressorPool&) = delete;
  HttpDecompressorPool& operator=(const HttpDecompressorPool&) = delete;

  uint32_t acquire(ContentEncoding encoding) noexcept;
  void release(uint32_t index) noexcept;

  struct Result {
    uint32_t written = 0;
    bool failed = false;  // a corrupt stream (this call or earlier)
    bool bomb = false;    // the size or ratio limit was hit in this call
    bool ended = false;   // the compressed stream ended, or decompression was stopped
  };
  Result inflate(uint32_t index, std::span<const uint8_t> in, std::span<uint8_t> out) noexcept;

  uint32_t capacity() const noexcept { return count_; }
  uint32_t in_use() const noexcept { return in_use_; }

 private:
  struct Slot;
  uint32_t count_;
  uint64_t bomb_limit_;
  uint32_t bomb_ratio_;
  uint32_t in_use_ = 0;
  std::unique_ptr<Slot[]> slots_;
  ZeroPages arenas_;  // count_ x the arena each slot's zlib state lives in
};

}  // namespace eastwatch

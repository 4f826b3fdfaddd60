#include "sensor/applayer/http_decompress.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstring>

namespace eastwatch {

namespace {
// zlib's inflate state (about 7 KB) plus its 32 KB window, with room for alignment.
constexpr uint32_t kArenaBytes = 48 * 1024;
}  // namespace

struct HttpDecompressorPool::Slot {
  z_stream stream{};
  uint8_t* arena = nullptr;  // kArenaBytes of the pool's zero pages
  uint32_t arena_used = 0;
  bool busy = false;
  bool started = false;  // inflateInit2 done (decided at the first input byte)
  bool failed = false;
  bool ended = false;
  ContentEncoding encoding = ContentEncoding::Gzip;
  uint64_t total_in = 0;
  uint64_t total_out = 0;

  static voidpf alloc(voidpf opaque, uInt items, uInt size) {
    Slot* slot = static_cast<Slot*>(opaque);
    const uint64_t bytes = (uint64_t{items} * size + 15) & ~uint64_t{15};
    if (slot->arena_used + bytes > kArenaBytes) return Z_NULL;
    void* p = slot->arena + slot->arena_used;
    slot->arena_used += static_cast<uint32_t>(bytes);
    return p;
  }
  static void free(voidpf, voidpf) {}  // the arena is reset when the slot is released
};

HttpDecompressorPool::HttpDecompressorPool(uint32_t count, uint64_t bomb_limit, uint32_t bomb_ratio)
    : count_(count),
      bomb_limit_(bomb_limit),
      bomb_ratio_(bomb_ratio),
      slots_(std::make_unique<Slot[]>(count)),
      arenas_(size_t{count} * kArenaBytes) {  // zero pages: an arena is backed when zlib first uses it
  for (uint32_t i = 0; i < count_; ++i) {
    slots_[i].arena = reinterpret_cast<uint8_t*>(arenas_.data()) + size_t{i} * kArenaBytes;
  }
}

HttpDecompressorPool::~HttpDecompressorPool() {
  for (uint32_t i = 0; i < count_; ++i) {
    if (slots_[i].started) inflateEnd(&slots_[i].stream);
  }
}

uint32_t HttpDecompressorPool::acquire(ContentEncoding encoding) noexcept {
  for (uint32_t i = 0; i < count_; ++i) {  // the pool is small (app-layer.http.decompressors)
    Slot& slot = slots_[i];
    if (slot.busy) continue;
    slot.busy = true;
    slot.started = slot.failed = slot.ended = false;
    slot.encoding = encoding;
    slot.arena_used = 0;
    slot.total_in = slot.total_out = 0;
    ++in_use_;
    return i;
  }
  return kNone;
}

void HttpDecompressorPool::release(uint32_t index) noexcept {
  if (index >= count_ || !slots_[index].busy) return;
  Slot& slot = slots_[index];
  if (slot.started) inflateEnd(&slot.stream);
  slot.started = false;
  slot.busy = false;
  --in_use_;
}

HttpDecompressorPool::Result HttpDecompressorPool::inflate(uint32_t index, std::span<const uint8_t> in,
                                                           std::span<uint8_t> out) noexcept {
  Result result;
  if (index >= count_) return result;
  Slot& slot = slots_[index];
  result.failed = slot.failed;
  result.ended = slot.ended || slot.failed;
  if (result.ended || in.empty() || out.empty()) return result;
  if (!slot.started) {
    std::memset(&slot.stream, 0, sizeof slot.stream);
    slot.stream.zalloc = &Slot::alloc;
    slot.stream.zfree = &Slot::free;
    slot.stream.opaque = &slot;
    int bits = 15 + 32;  // gzip or zlib, by header
    if (slot.encoding == ContentEncoding::Deflate) {
      const bool zlib_header = in.size() >= 2 ? ((in[0] & 0x0f) == 8 && ((in[0] << 8) | in[1]) % 31 == 0)
                                              : (in[0] & 0x0f) == 8;
      bits = zlib_header ? 15 : -15;
    }
    if (inflateInit2(&slot.stream, bits) != Z_OK) {
      slot.failed = result.failed = result.ended = true;
      return result;
    }
    slot.started = true;
  }
  // Never more than one byte past the bomb limit, so a bomb is caught before it is written out.
  const uint64_t allowed = bomb_limit_ + 1 > slot.total_out ? bomb_limit_ + 1 - slot.total_out : 0;
  out = out.first(static_cast<size_t>(std::min<uint64_t>(out.size(), allowed)));
  z_stream& z = slot.stream;
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  // Bounded: each round consumes input or produces output, and both are finite.
  for (uint32_t round = 0; round < 1024 && z.avail_in > 0 && z.avail_out > 0; ++round) {
    const int rc = ::inflate(&z, Z_SYNC_FLUSH);
    if (rc == Z_STREAM_END) {
      slot.ended = result.ended = true;
      break;
    }
    if (rc == Z_BUF_ERROR) break;  // needs more input
    if (rc != Z_OK) {
      slot.failed = result.failed = result.ended = true;
      break;
    }
  }
  result.written = static_cast<uint32_t>(out.size() - z.avail_out);
  slot.total_in += in.size() - z.avail_in;
  slot.total_out += result.written;
  if (slot.total_out > bomb_limit_ ||
      (slot.total_out > 65536 && slot.total_out > uint64_t{bomb_ratio_} * std::max<uint64_t>(1, slot.total_in))) {
    slot.ended = result.ended = result.bomb = true;
  }
  return result;
}

}  // namespace eastwatch

// Tables and pools whose memory starts as the kernel's zero pages (`ZeroedArray`, `SlotPool`):
// a large preallocated table costs nothing at start-up or exit beyond the pages a run touches.
//
// Contract:
//  - `ZeroPages(bytes)` maps `bytes` of private anonymous memory (page-aligned, every byte 0).
//    No page is backed until it is first used, so a memcap is reserved, not spent: start-up does
//    not write the memory and exit does not free what was never touched. Failure throws
//    std::bad_alloc (construction is off the packet path). `prefault()` writes every page now,
//    for the settings that ask for preallocation.
//  - `ZeroedArray<T>(n)` is n entries over such pages; T is trivially copyable and trivially
//    destructible (an entry's bytes are its value), and every entry starts as all-zero bytes.
//    Unless the owner says its entries are always written before they are read
//    (`kWrittenBeforeRead`: queue slots), the constructor checks once that a value-initialised
//    T() is all-zero bytes, and throws std::logic_error otherwise (a type whose default is not
//    zero would start wrong; the check finds that at start-up, in every test that builds one).
//  - Indexing never allocates, locks or throws. Move-only; size 0 maps nothing.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace eastwatch {

class ZeroPages {
 public:
  ZeroPages() = default;
  explicit ZeroPages(size_t bytes) : bytes_(bytes) {
    if (bytes_ == 0) return;
    void* p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    data_ = static_cast<std::byte*>(p);
  }
  ~ZeroPages() {
    if (data_ != nullptr) ::munmap(data_, bytes_);
  }
  ZeroPages(ZeroPages&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
  ZeroPages& operator=(ZeroPages&& other) noexcept {
    if (this != &other) {
      ZeroPages old(std::move(*this));
      data_ = std::exchange(other.data_, nullptr);
      bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
  }
  ZeroPages(const ZeroPages&) = delete;
  ZeroPages& operator=(const ZeroPages&) = delete;

  std::byte* data() const noexcept { return data_; }
  size_t bytes() const noexcept { return bytes_; }
  // Backs every page now (a write of each page's first byte, its own value: contents unchanged).
  void prefault() noexcept {
    for (size_t at = 0; at < bytes_; at += kPageBytes) {
      volatile std::byte* byte = data_ + at;
      *byte = *byte;
    }
  }
  static constexpr size_t kPageBytes = 4096;

 private:
  std::byte* data_ = nullptr;
  size_t bytes_ = 0;
};

// Whether T() is all-zero bytes (padding included: T() is built over zeroed storage).
template <class T>
bool value_initialised_is_zero() {
  alignas(T) unsigned char storage[sizeof(T)] = {};
  const T* object = ::new (static_cast<void*>(storage)) T();
  (void)object;
  for (unsigned char byte : storage) {
    if (byte != 0) return false;
  }
  return true;
}

enum class ZeroedUse { kZeroIsInitial, kWrittenBeforeRead };

template <class T>
class ZeroedArray {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>,
                "ZeroedArray holds types whose bytes are their value");

 public:
  ZeroedArray() = default;
  explicit ZeroedArray(size_t count, ZeroedUse use = ZeroedUse::kZeroIsInitial)
      : pages_(count * sizeof(T)), count_(count) {
    if constexpr (std::is_default_constructible_v<T>) {
      if (use == ZeroedUse::kZeroIsInitial && !value_initialised_is_zero<T>()) {
        throw std::logic_error("ZeroedArray: the type's default value is not all-zero bytes");
      }
    }
  }

  T* data() const noexcept { return reinterpret_cast<T*>(pages_.data()); }
  T& operator[](size_t i) const noexcept { return data()[i]; }
  size_t size() const noexcept { return count_; }
  T* begin() const noexcept { return data(); }
  T* end() const noexcept { return data() + count_; }
  void prefault() noexcept { pages_.prefault(); }

 private:
  ZeroPages pages_;
  size_t count_ = 0;
};

}  // namespace eastwatch

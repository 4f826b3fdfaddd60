// Free lists and pools built lazily (`LazyFreeList`, `SlotPool`): a pool of N entries is ready
// at once without writing N links or constructing N objects at start-up.
//
// Contract:
//  - `LazyFreeList(capacity)` holds the free indexes of [0, capacity): the released ones on a
//    chain through the owner's entries (`link(index)` is entry index's uint32_t link field:
//    index + 1 of the next, 0 ends), the never-used ones implicitly as [fresh, capacity). `pop`
//    (only when !empty()) gives the most recently pushed index, else the lowest never-used one:
//    the same order as a chain built once over every entry (0, 1, 2, ...), without touching
//    entries that are never used. Neither call allocates, locks or throws.
//  - `SlotPool<T>(capacity)` hands out slots by index: `acquire` gives a free slot's index (kNone
//    when all are taken), constructing its T() the first time the slot is handed out; a released
//    slot keeps its object, so the owner (re)initialises what it needs on each acquire, as with
//    a pool built up front. The storage is zero pages (zeroed_array.hpp): untouched slots cost
//    neither start-up nor exit. Destruction destroys every object ever constructed.
#pragma once

#include <cstdint>
#include <new>
#include <type_traits>

#include "sensor/util/zeroed_array.hpp"

namespace eastwatch {

class LazyFreeList {
 public:
  LazyFreeList() = default;
  explicit LazyFreeList(uint32_t capacity) noexcept : capacity_(capacity) {}

  bool empty() const noexcept { return head_ == 0 && fresh_ == capacity_; }
  uint32_t capacity() const noexcept { return capacity_; }
  // How many indexes were ever handed out (the prefix [0, touched) of the entries).
  uint32_t touched() const noexcept { return fresh_; }

  template <class Link>
  uint32_t pop(Link&& link) noexcept {
    if (head_ != 0) {
      const uint32_t index = head_ - 1;
      head_ = link(index);
      return index;
    }
    return fresh_++;
  }
  template <class Link>
  void push(uint32_t index, Link&& link) noexcept {
    link(index) = head_;
    head_ = index + 1;
  }

 private:
  uint32_t capacity_ = 0;
  uint32_t head_ = 0;   // index + 1 of the most recently pushed; 0: none
  uint32_t fresh_ = 0;  // [fresh_, capacity_) never handed out
};

template <class T>
class SlotPool {
 public:
  static constexpr uint32_t kNone = 0xffffffffu;

  explicit SlotPool(uint32_t capacity)
      : slots_(size_t{capacity} * sizeof(T)), links_(capacity), free_(capacity) {}
  ~SlotPool() {
    if constexpr (!std::is_trivially_destructible_v<T>) {
      for (uint32_t i = 0; i < free_.touched(); ++i) (*this)[i].~T();
    }
  }
  SlotPool(const SlotPool&) = delete;
  SlotPool& operator=(const SlotPool&) = delete;

  uint32_t acquire() noexcept {
    // Here, not on the class: a pool may be a member of the class that nests T.
    static_assert(std::is_nothrow_default_constructible_v<T>, "slots are built on the packet path");
    if (free_.empty()) return kNone;
    const uint32_t built = free_.touched();
    const uint32_t index = free_.pop([this](uint32_t i) -> uint32_t& { return links_[i]; });
    if (index == built) ::new (static_cast<void*>(slots_.data() + size_t{index} * sizeof(T))) T();
    ++in_use_;
    return index;
  }
  void release(uint32_t index) noexcept {
    free_.push(index, [this](uint32_t i) -> uint32_t& { return links_[i]; });
    --in_use_;
  }

  T& operator[](uint32_t index) noexcept {
    return *std::launder(reinterpret_cast<T*>(slots_.data() + size_t{index} * sizeof(T)));
  }
  const T& operator[](uint32_t index) const noexcept {
    return *std::launder(reinterpret_cast<const T*>(slots_.data() + size_t{index} * sizeof(T)));
  }
  uint32_t capacity() const noexcept { return free_.capacity(); }
  uint32_t in_use() const noexcept { return in_use_; }
  // Slots ever handed out, i.e. objects constructed.
  uint32_t constructed() const noexcept { return free_.touched(); }

 private:
  ZeroPages slots_;
  ZeroedArray<uint32_t> links_;  // the released slots' chain
  LazyFreeList free_;
  uint32_t in_use_ = 0;
};

}  // namespace eastwatch

// Bounded single-producer/single-consumer rings between one worker and the output thread:
// alert events, and flow records. `push` never allocates or locks; when a ring is full the
// worker waits (yielding) until the output thread frees a slot, so nothing is dropped — each
// wait is counted in `producer_waits`.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>

#include "sensor/detect/alert_event.hpp"
#include "sensor/output/flow_event.hpp"
#include "sensor/util/zeroed_array.hpp"

namespace eastwatch {

// How an item is copied into its slot: alerts copy only the evidence bytes they hold.
inline void copy_item(AlertEvent& to, const AlertEvent& from) noexcept {
  constexpr size_t kFixed = offsetof(AlertEvent, payload);
  std::memcpy(static_cast<void*>(&to), &from, kFixed);
  std::memcpy(to.payload, from.payload, from.payload_len);
  std::memcpy(to.packet, from.packet, from.packet_len);
}
inline void copy_item(FlowEvent& to, const FlowEvent& from) noexcept { to = from; }

template <class T>
class SpscQueue {
 public:
  explicit SpscQueue(uint32_t capacity_pow2 = 1024)
      : mask_(capacity_pow2 - 1), slots_(capacity_pow2, ZeroedUse::kWrittenBeforeRead) {}

  // Producer side (the worker).
  void push(const T& item) noexcept {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    while (head - tail_.load(std::memory_order_acquire) > mask_) {
      ++producer_waits_;
      std::this_thread::yield();
    }
    copy_item(slots_[head & mask_], item);
    head_.store(head + 1, std::memory_order_release);
  }

  // Consumer side (the output thread): the oldest item, or nullptr when empty. The pointer
  // stays valid until `pop`.
  const T* front() const noexcept {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail == head_.load(std::memory_order_acquire)) return nullptr;
    return &slots_[tail & mask_];
  }
  void pop() noexcept { tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

  uint64_t producer_waits() const noexcept { return producer_waits_; }
  // Items pushed and popped so far (any thread): a rule-set reload frees the old set only once
  // the events pushed before the workers moved have been popped (they point into it).
  uint64_t pushed() const noexcept { return head_.load(std::memory_order_acquire); }
  uint64_t popped() const noexcept { return tail_.load(std::memory_order_acquire); }

 private:
  const uint64_t mask_;
  ZeroedArray<T> slots_;  // zero pages: a slot's page is backed when first pushed into
  alignas(64) std::atomic<uint64_t> head_{0};
  alignas(64) std::atomic<uint64_t> tail_{0};
  alignas(64) uint64_t producer_waits_ = 0;
};

using AlertQueue = SpscQueue<AlertEvent>;
using FlowQueue = SpscQueue<FlowEvent>;

}  // namespace eastwatch

// A bounded single-producer/single-consumer ring of alert events between one worker and
// the output thread. `push` never allocates or locks; when the ring is full the worker
// waits (yielding) until the output thread frees a slot, so an alert is never dropped —
// each wait is counted in `producer_waits`.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <thread>

#include "sensor/detect/alert_event.hpp"

namespace eastwatch {

class AlertQueue {
 public:
  explicit AlertQueue(uint32_t capacity_pow2 = 1024)
      : mask_(capacity_pow2 - 1), slots_(std::make_unique<AlertEvent[]>(capacity_pow2)) {}

  // Producer side (the worker).
  void push(const AlertEvent& event) noexcept {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    while (head - tail_.load(std::memory_order_acquire) > mask_) {
      ++producer_waits_;
      std::this_thread::yield();
    }
    copy_event(slots_[head & mask_], event);
    head_.store(head + 1, std::memory_order_release);
  }

  // Consumer side (the output thread): the oldest event, or nullptr when empty. The pointer
  // stays valid until `pop`.
  const AlertEvent* front() const noexcept {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail == head_.load(std::memory_order_acquire)) return nullptr;
    return &slots_[tail & mask_];
  }
  void pop() noexcept { tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

  uint64_t producer_waits() const noexcept { return producer_waits_; }

 private:
  // Copies only the evidence bytes actually present (the arrays are large).
  static void copy_event(AlertEvent& to, const AlertEvent& from) noexcept {
    constexpr size_t kFixed = offsetof(AlertEvent, payload);
    std::memcpy(static_cast<void*>(&to), &from, kFixed);
    std::memcpy(to.payload, from.payload, from.payload_len);
    std::memcpy(to.packet, from.packet, from.packet_len);
  }

  const uint64_t mask_;
  std::unique_ptr<AlertEvent[]> slots_;
  alignas(64) std::atomic<uint64_t> head_{0};
  alignas(64) std::atomic<uint64_t> tail_{0};
  alignas(64) uint64_t producer_waits_ = 0;
};

}  // namespace eastwatch

// Exponential back-off for reopening a capture interface that failed: the first wait is
// `initial_ms`, each further one twice the last, never more than `max_ms`; `reset` starts over
// (after a successful reopen). Pure arithmetic: no clock, no sleeping.
#pragma once

#include <algorithm>
#include <cstdint>

namespace eastwatch {

class RetryBackoff {
 public:
  RetryBackoff(uint32_t initial_ms, uint32_t max_ms) noexcept
      : initial_ms_(std::max<uint32_t>(1, initial_ms)), max_ms_(std::max(max_ms, initial_ms_)), next_ms_(initial_ms_) {}

  // The wait before the next attempt; the one after it doubles (up to the maximum).
  uint32_t next_delay_ms() noexcept {
    const uint32_t delay = next_ms_;
    next_ms_ = static_cast<uint32_t>(std::min<uint64_t>(uint64_t{next_ms_} * 2, max_ms_));
    ++attempts_;
    return delay;
  }
  void reset() noexcept {
    next_ms_ = initial_ms_;
    attempts_ = 0;
  }
  uint32_t attempts() const noexcept { return attempts_; }  // delays handed out since the last reset

 private:
  uint32_t initial_ms_;
  uint32_t max_ms_;
  uint32_t next_ms_;
  uint32_t attempts_ = 0;
};

}  // namespace eastwatch

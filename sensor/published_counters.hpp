// A copy of a counters struct that one thread (a worker, a capture thread) publishes and any
// other thread (the stats thread, the metrics server, the control socket) reads while the
// owner keeps counting: the live stats snapshot.
//
// Contract:
//  - `T` is trivially copyable and a whole number of uint64_t (every Counters struct is, see
//    sensor/stats_visitor.hpp).
//  - `publish` is called by one thread only (the owner of the counters). It never allocates,
//    locks or waits, and does no read-modify-write: a plain store of a sequence number, relaxed
//    stores of each word, a release store of the sequence number (a seqlock made of atomics,
//    Boehm's "Can seqlocks get along with programming language memory models?").
//  - `read` returns a consistent copy of one `publish` (retrying while one is in progress);
//    false (out untouched) when nothing was ever published. It may be called from any number of
//    threads at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <thread>
#include <type_traits>

namespace eastwatch {

template <class T>
class Published {
  static_assert(std::is_trivially_copyable_v<T>);
  static_assert(sizeof(T) % sizeof(uint64_t) == 0);
  static constexpr size_t kWords = sizeof(T) / sizeof(uint64_t);

 public:
  void publish(const T& value) noexcept {
    const auto* bytes = reinterpret_cast<const unsigned char*>(&value);
    const uint64_t seq = seq_.load(std::memory_order_relaxed);
    seq_.store(seq + 1, std::memory_order_relaxed);  // odd: a copy is being written
    std::atomic_thread_fence(std::memory_order_release);
    for (size_t i = 0; i < kWords; ++i) {
      uint64_t word;
      std::memcpy(&word, bytes + i * sizeof word, sizeof word);
      words_[i].store(word, std::memory_order_relaxed);
    }
    seq_.store(seq + 2, std::memory_order_release);
  }

  bool read(T& out) const noexcept {
    alignas(T) unsigned char bytes[sizeof(T)];
    // A publish takes well under a microsecond and owners publish at most every few bursts; a
    // reader racing a publisher retries, yielding after the first tries, and after a bounded
    // number of tries (a publisher that never pauses) keeps the last copy: at worst counters of
    // two neighbouring publishes, each a value that really was counted.
    for (int attempt = 0; attempt < 100000; ++attempt) {
      if (attempt >= 16) std::this_thread::yield();
      const uint64_t before = seq_.load(std::memory_order_acquire);
      if (before == 0) return false;
      for (size_t i = 0; i < kWords; ++i) {
        const uint64_t word = words_[i].load(std::memory_order_relaxed);
        std::memcpy(bytes + i * sizeof word, &word, sizeof word);
      }
      std::atomic_thread_fence(std::memory_order_acquire);
      const uint64_t after = seq_.load(std::memory_order_relaxed);
      if ((before & 1) == 0 && before == after) break;
    }
    std::memcpy(&out, bytes, sizeof(T));
    return true;
  }

  // How many times `publish` ran (for tests and staleness checks).
  uint64_t publications() const noexcept { return seq_.load(std::memory_order_acquire) / 2; }

 private:
  alignas(64) std::atomic<uint64_t> seq_{0};
  std::atomic<uint64_t> words_[kWords];  // value-initialized (C++20)
};

}  // namespace eastwatch

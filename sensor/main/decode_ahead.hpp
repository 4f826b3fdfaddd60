// Offline replay with one worker, in two threads: a reader thread reads the capture files and
// decodes each frame (the first touch of its bytes, the page faults of the mapped file, the
// checksums) while the worker runs flows, streams, the app layer and detection on the bursts
// decoded before. The worker still sees every packet in capture order, so alerts, stats and
// output are those of one thread doing both; only the wall clock changes.
//
// Contract:
//  - `DecodeAhead(files, decoder)` starts the reader; `next()` returns the next decoded burst
//    in order (blocking while the reader is behind), or nullptr once every file is read or a
//    file failed to open. A burst stays valid until the following `next()` call, which gives it
//    back. Frames are handed over in place from the mapped files (no copy): at most
//    kSlots bursts are in flight, and a mapped file's pages are given back only once the
//    bursts holding them are given back. A file libpcap has to read (pcapng) has one burst in
//    flight at a time, its frames being in the source's own arena.
//  - Waiting is a short spin, then yields (no locks, no allocation after construction).
//  - After `next()` returned nullptr: `messages()` holds what the replay reports on stderr
//    (open and read errors, in file order), `failed()` whether a file could not be opened,
//    and `capture_counters()` the capture totals.
//  - `capture` (optional) receives the capture counters so far every few bursts (live stats).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "sensor/capture/capture_stats.hpp"
#include "sensor/decode/decode_stats.hpp"
#include "sensor/decode/decoder.hpp"
#include "sensor/decode/packet.hpp"
#include "sensor/main/worker.hpp"
#include "sensor/published_counters.hpp"

namespace eastwatch {

class DecodeAhead {
 public:
  static constexpr uint32_t kBurstSize = Worker::kBurstSize;
  static constexpr uint32_t kSlots = 32;  // bursts in flight: ~1,000 frames, a few hundred KB

  struct Burst {
    std::array<Packet, kBurstSize> packets;
    uint32_t count = 0;
    DecodeStats decoded;  // the reader's decode counters, cumulative, as of this burst's end
  };

  DecodeAhead(std::vector<std::string> files, const DecoderSettings& decoder,
              Published<CaptureCounters>* capture = nullptr);
  ~DecodeAhead();
  DecodeAhead(const DecodeAhead&) = delete;
  DecodeAhead& operator=(const DecodeAhead&) = delete;

  Burst* next() noexcept;

  const std::vector<std::string>& messages() const noexcept { return messages_; }
  bool failed() const noexcept { return failed_; }
  const CaptureCounters& capture_counters() const noexcept { return capture_counters_; }

 private:
  void read_all() noexcept;
  // Reader, having published `produced` bursts: waits until the worker holds fewer than
  // `in_flight` of them (or the replay stops), handing `release` the count given back so far.
  template <class Release>
  void wait_for_room(uint64_t produced, uint32_t in_flight, Release&& release) noexcept;

  std::vector<std::string> files_;
  DecoderSettings decoder_;
  Published<CaptureCounters>* capture_;
  std::unique_ptr<std::array<Burst, kSlots>> slots_;
  std::array<const uint8_t*, kSlots> slot_end_{};  // reader-only: where each slot's last frame ends

  alignas(64) std::atomic<uint64_t> produced_{0};  // bursts published by the reader
  alignas(64) std::atomic<uint64_t> consumed_{0};  // bursts given back by the worker
  alignas(64) std::atomic<bool> done_{false};      // the reader has published its last burst
  std::atomic<bool> stop_{false};                  // the destructor: the reader stops early
  uint64_t taken_ = 0;                             // worker-only: bursts returned by next()

  // Written by the reader before done_ (release), read after (acquire).
  std::vector<std::string> messages_;
  bool failed_ = false;
  CaptureCounters capture_counters_{};
  DecodeStats decode_stats_{};
  std::thread reader_;
};

}  // namespace eastwatch

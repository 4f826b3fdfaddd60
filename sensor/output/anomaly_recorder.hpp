// Per worker: turns the decoder, defrag and stream events raised on a packet into EVE anomaly
// events (sensor/output/anomaly_event.hpp) on the worker's anomaly queue, as Suricata's
// output-json-anomaly does: one record per event per packet, type "decode" (decoder and defrag
// events) or "stream".
//
// Contract:
//  - `record` never allocates, locks, throws or logs; it does nothing when anomaly records are
//    off (outputs.eve.anomaly.enabled, or no queue set) or the packet raised no event.
//  - At most `rate-limit` records per second of packet time per event name; the rest are
//    counted in `rate_limited`. A full queue refuses the event, counted in `queue_full`.
//  - Stream events come from the stream engine's counters: `stream_anomalies` compares them
//    before and after the engine processed one packet.
#pragma once

#include <array>
#include <cstdint>

#include "config/settings.hpp"
#include "sensor/decode/packet.hpp"
#include "sensor/output/anomaly_event.hpp"
#include "sensor/stream/stream_counters.hpp"

namespace eastwatch {

// Eastwatch-only counters (stats.log: anomaly.*); the EVE stats schema has none for these.
struct AnomalyCounters {
  uint64_t records = 0;       // events queued for the output thread
  uint64_t rate_limited = 0;  // events over outputs.eve.anomaly.rate-limit, not written
  uint64_t queue_full = 0;    // events refused by a full queue, not written

  template <class F>
  void visit(F&&) const {}
  template <class F>
  void visit_extra(F&& f) const {
    f("records", records); f("rate_limited", rate_limited); f("queue_full", queue_full);
  }
};

// At most `per_second` events per slot (an event name) per second; 0: no limit. The second is
// the packet's, so a replay gives the same records however fast it runs.
class AnomalyRateLimiter {
 public:
  static constexpr size_t kSlots = kDecodeEventCount + kStreamAnomalyCount;

  explicit AnomalyRateLimiter(uint32_t per_second) noexcept : per_second_(per_second) {
    second_.fill(INT64_MIN);
    count_.fill(0);
  }
  bool allow(size_t slot, int64_t ts_usec) noexcept;

 private:
  uint32_t per_second_;
  std::array<int64_t, kSlots> second_;
  std::array<uint32_t, kSlots> count_;
};

// The stream events one packet raised: which of the stream engine's counters it moved.
StreamAnomalySet stream_anomalies(const StreamCounters& before, const StreamCounters& after,
                                  const Packet& packet) noexcept;

class AnomalyRecorder {
 public:
  explicit AnomalyRecorder(const AnomalySettings& settings) noexcept;

  void set_queue(AnomalyQueue* queue) noexcept { queue_ = (decode_ || stream_) ? queue : nullptr; }
  // Whether stream events are wanted (the worker then compares the stream counters).
  bool wants_stream() const noexcept { return queue_ != nullptr && stream_; }

  void record(const Packet& packet, StreamAnomalySet stream) noexcept {
    if (queue_ == nullptr || !((decode_ && packet.events.any()) || stream.any())) return;
    record_events(packet, stream);
  }

  const AnomalyCounters& counters() const noexcept { return counters_; }

 private:
  void record_events(const Packet& packet, StreamAnomalySet stream) noexcept;
  void push(const Packet& packet, AnomalyEvent::Type type, std::string_view name, size_t slot) noexcept;

  bool decode_;
  bool stream_;
  bool packethdr_;
  AnomalyQueue* queue_ = nullptr;
  AnomalyRateLimiter limiter_;
  AnomalyEvent event_{};  // filled per record, then copied into the queue
  AnomalyCounters counters_{};
};

}  // namespace eastwatch

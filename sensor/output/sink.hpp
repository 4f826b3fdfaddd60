// A sink: one collector (Redis, syslog, a Unix socket, Kafka) fed from the output thread
// through its own bounded queue and thread, with an on-disk spool for what it cannot deliver.
//
// Contract:
//  - `push` (output thread) never blocks and never does I/O: the record goes to the in-memory
//    ring; a full ring (the sink thread stuck in a send for longer than the ring lasts) drops
//    the record and counts it in `dropped`.
//  - The sink thread delivers in order: first the spool (records of earlier outages, earlier
//    runs included), then the ring. Whenever the spool holds records, the transport is down,
//    or the ring is above its high-water mark, the ring moves to the end of the spool, so the
//    order spool -> ring always holds. A spooled record is removed only after the transport
//    confirmed it (`SinkTransport::send`), and the read offset is committed after each batch.
//  - A failed send closes the transport; it reconnects with exponential back-off (counted in
//    `reconnects` when it succeeds again).
//  - `stop` gives the sink `drain_timeout` to deliver what it holds; what is left is spooled
//    (and delivered first by the next run).
// What "confirmed" means depends on the transport; see sensor/output/README.md.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <tl/expected.hpp>

#include "sensor/output/spool.hpp"

namespace eastwatch {

// A queued or spooled record: [u8 rule priority, 0 when not an alert][u64 flow_id LE][EVE line].
struct SinkRecordView {
  uint8_t priority = 0;
  uint64_t flow_id = 0;
  std::string_view line;
};
void encode_sink_record(std::string& into, std::string_view line, uint64_t flow_id, uint8_t priority);
SinkRecordView decode_sink_record(std::string_view record) noexcept;

// One connection to a collector. Called from the sink thread only.
class SinkTransport {
 public:
  virtual ~SinkTransport() = default;
  // Opens the connection; false with `error` set when the collector cannot be reached.
  virtual bool connect(std::string& error) = 0;
  // Sends the records in order and returns how many of the first ones the collector confirmed.
  // Fewer than all: the connection is broken (the sink closes it and reconnects later).
  virtual size_t send(std::span<const std::string> records, std::string& error) = 0;
  virtual void close() = 0;
  // Called by the sink before the first connect: a transport that waits for the collector
  // inside `send` (a full socket buffer, pending delivery reports) calls it every 10-50 ms, so
  // the sink can move its ring to the spool meanwhile.
  void set_waiting_hook(std::function<void()> hook) { waiting_ = std::move(hook); }

 protected:
  void waiting() {
    if (waiting_) waiting_();
  }

 private:
  std::function<void()> waiting_;
};

struct SinkOptions {
  std::string name;  // "redis", "syslog", ...: the spool subdirectory and the stats prefix
  SpoolOptions spool;
  uint32_t queue_size = 65536;  // records in memory
  uint32_t high_water = 75;     // percent of queue_size past which the ring moves to the spool
  uint32_t batch_size = 256;    // records per send
  std::chrono::milliseconds drain_timeout{10000};
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{5000};
};

class Sink {
 public:
  static tl::expected<std::unique_ptr<Sink>, std::string> start(const SinkOptions& options,
                                                                std::unique_ptr<SinkTransport> transport);
  ~Sink();
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  void push(std::string_view line, uint64_t flow_id, uint8_t priority);
  // Starts the drain clock without waiting (so several sinks drain at the same time).
  void begin_stop();
  void stop();

  const std::string& name() const noexcept { return options_.name; }
  uint64_t sent() const noexcept { return sent_.load(std::memory_order_relaxed); }
  uint64_t spooled() const noexcept { return spooled_.load(std::memory_order_relaxed); }
  uint64_t spool_bytes() const noexcept { return spool_bytes_.load(std::memory_order_relaxed); }
  uint64_t dropped() const noexcept {
    return queue_dropped_.load(std::memory_order_relaxed) + spool_dropped_.load(std::memory_order_relaxed);
  }
  uint64_t reconnects() const noexcept { return reconnects_.load(std::memory_order_relaxed); }
  bool connected() const noexcept { return connected_.load(std::memory_order_relaxed); }
  // Records waiting in the memory ring (the metrics' backlog gauge; takes the ring's lock).
  size_t queued() const {
    std::lock_guard lock(mutex_);
    return ring_count_;
  }

  // stats.log counters: <name>.sent, .spooled, .spool_bytes, .dropped, .reconnects.
  template <class F>
  void visit_extra(F&& f) const {
    f("sent", sent());
    f("spooled", spooled());
    f("spool_bytes", spool_bytes());
    f("dropped", dropped());
    f("reconnects", reconnects());
  }

 private:
  using Clock = std::chrono::steady_clock;
  Sink(const SinkOptions& options, std::unique_ptr<SinkTransport> transport, std::unique_ptr<Spool> spool);
  void run();
  void spool_records(std::span<std::string> records);
  size_t take_from_ring(std::vector<std::string>& into, size_t max, bool everything);
  void update_spool_gauges();
  void relieve_pressure();

  SinkOptions options_;
  std::unique_ptr<SinkTransport> transport_;
  std::unique_ptr<Spool> spool_;
  std::thread thread_;

  mutable std::mutex mutex_;  // guards the ring and the stop request
  std::condition_variable wake_;
  std::vector<std::string> ring_;
  size_t ring_head_ = 0;
  size_t ring_count_ = 0;
  bool stop_requested_ = false;
  Clock::time_point deadline_{};

  // While a ring batch is being sent: the batch, and whether relieve_pressure() spooled it
  // (it is then the front of the spool and is committed there once confirmed).
  const std::vector<std::string>* in_flight_from_ring_ = nullptr;
  bool in_flight_spooled_ = false;
  size_t high_water_ = 1;
  std::vector<std::string> overflow_;

  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> spooled_{0};
  std::atomic<uint64_t> spool_bytes_{0};
  std::atomic<uint64_t> queue_dropped_{0};
  std::atomic<uint64_t> spool_dropped_{0};
  std::atomic<uint64_t> reconnects_{0};
};

}  // namespace eastwatch

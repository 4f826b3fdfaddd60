#include "sensor/output/sink.hpp"

#include <algorithm>

namespace eastwatch {

void encode_sink_record(std::string& into, std::string_view line, uint64_t flow_id, uint8_t priority) {
  into.resize(9 + line.size());
  into[0] = static_cast<char>(priority);
  for (int i = 0; i < 8; ++i) into[1 + i] = static_cast<char>(flow_id >> (8 * i));
  std::copy(line.begin(), line.end(), into.begin() + 9);
}

SinkRecordView decode_sink_record(std::string_view record) noexcept {
  SinkRecordView view;
  if (record.size() < 9) {
    view.line = record;
    return view;
  }
  view.priority = static_cast<uint8_t>(record[0]);
  for (int i = 0; i < 8; ++i) view.flow_id |= static_cast<uint64_t>(static_cast<uint8_t>(record[1 + i])) << (8 * i);
  view.line = record.substr(9);
  return view;
}

tl::expected<std::unique_ptr<Sink>, std::string> Sink::start(const SinkOptions& options,
                                                            std::unique_ptr<SinkTransport> transport) {
  auto spool = Spool::open(options.spool);
  if (!spool) return tl::unexpected(options.name + ": " + spool.error());
  std::unique_ptr<Sink> sink(new Sink(options, std::move(transport), std::move(*spool)));
  sink->thread_ = std::thread([raw = sink.get()] { raw->run(); });
  return sink;
}

Sink::Sink(const SinkOptions& options, std::unique_ptr<SinkTransport> transport, std::unique_ptr<Spool> spool)
    : options_(options), transport_(std::move(transport)), spool_(std::move(spool)) {
  options_.queue_size = std::max<uint32_t>(options_.queue_size, 2);
  options_.batch_size = std::max<uint32_t>(options_.batch_size, 1);
  ring_.resize(options_.queue_size);
  high_water_ = std::max<size_t>(1, ring_.size() * std::min<uint32_t>(options_.high_water, 100) / 100);
  transport_->set_waiting_hook([this] { relieve_pressure(); });
  update_spool_gauges();
}

// Runs on the sink thread while the transport waits for a slow collector: past the high-water
// mark the ring goes to the spool. A ring batch in flight goes there first (the spool is empty
// when a ring batch is taken), so the order holds whatever the send's outcome.
void Sink::relieve_pressure() {
  {
    std::lock_guard lock(mutex_);
    if (ring_count_ <= high_water_) return;
  }
  if (in_flight_from_ring_ != nullptr && !in_flight_spooled_) {
    for (const auto& record : *in_flight_from_ring_) {
      if (spool_->append(record)) spooled_.fetch_add(1, std::memory_order_relaxed);
    }
    in_flight_spooled_ = true;
  }
  take_from_ring(overflow_, 0, true);
  spool_records(overflow_);
}

Sink::~Sink() { stop(); }

void Sink::push(std::string_view line, uint64_t flow_id, uint8_t priority) {
  bool was_empty = false;
  {
    std::lock_guard lock(mutex_);
    if (ring_count_ == ring_.size()) {
      queue_dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    encode_sink_record(ring_[(ring_head_ + ring_count_) % ring_.size()], line, flow_id, priority);
    was_empty = ring_count_ == 0;
    ++ring_count_;
  }
  if (was_empty) wake_.notify_one();
}

// Moves up to `max` records (all when `everything`) out of the ring; strings are swapped, so
// their buffers go back and forth instead of being allocated per record.
size_t Sink::take_from_ring(std::vector<std::string>& into, size_t max, bool everything) {
  std::lock_guard lock(mutex_);
  const size_t count = everything ? ring_count_ : std::min(max, ring_count_);
  into.resize(count);
  for (size_t i = 0; i < count; ++i) {
    into[i].swap(ring_[ring_head_]);
    ring_head_ = (ring_head_ + 1) % ring_.size();
  }
  ring_count_ -= count;
  return count;
}

void Sink::spool_records(std::span<std::string> records) {
  if (records.empty()) return;
  for (const auto& record : records) {
    if (spool_->append(record)) spooled_.fetch_add(1, std::memory_order_relaxed);
  }
  spool_->flush();
  update_spool_gauges();
}

void Sink::update_spool_gauges() {
  spool_bytes_.store(spool_->bytes(), std::memory_order_relaxed);
  spool_dropped_.store(spool_->dropped(), std::memory_order_relaxed);
}

void Sink::run() {
  std::vector<std::string> batch;
  std::string error;
  bool connected = false;
  bool ever_connected = false;
  auto backoff = options_.backoff_min;
  Clock::time_point next_attempt = Clock::now();
  const size_t high_water = high_water_;
  constexpr size_t kBatchBytes = 1u << 20;

  auto lost_connection = [&] {
    transport_->close();
    connected = false;
    connected_.store(false, std::memory_order_relaxed);
    next_attempt = Clock::now() + backoff;
    backoff = std::min(backoff * 2, options_.backoff_max);
  };

  while (true) {
    bool stopping = false;
    Clock::time_point deadline;
    size_t queued = 0;
    {
      std::lock_guard lock(mutex_);
      stopping = stop_requested_;
      deadline = deadline_;
      queued = ring_count_;
    }
    if (stopping && (Clock::now() >= deadline || (queued == 0 && spool_->empty()))) break;

    // Spool first whenever the ring cannot go straight out, keeping spool -> ring in order.
    if (queued > 0 && (!connected || !spool_->empty() || queued > high_water)) {
      take_from_ring(batch, 0, true);
      spool_records(batch);
    }

    if (!connected) {
      const auto now = Clock::now();
      if (now >= next_attempt) {
        if (transport_->connect(error)) {
          connected = true;
          connected_.store(true, std::memory_order_relaxed);
          if (ever_connected) reconnects_.fetch_add(1, std::memory_order_relaxed);
          ever_connected = true;
          backoff = options_.backoff_min;
          continue;
        }
        next_attempt = now + backoff;
        backoff = std::min(backoff * 2, options_.backoff_max);
      }
      std::unique_lock lock(mutex_);
      auto until = next_attempt;
      if (stop_requested_) until = std::min(until, deadline_);
      // A push wakes it too, so that records reach the disk while the collector is away.
      wake_.wait_until(lock, until, [&] { return (stop_requested_ && !stopping) || ring_count_ > 0; });
      continue;
    }

    if (!spool_->empty()) {
      spool_->read(options_.batch_size, kBatchBytes, batch);
      if (batch.empty()) {  // unreadable spool: give up on it rather than spin
        spool_->commit(static_cast<size_t>(spool_->records()));
        update_spool_gauges();
        continue;
      }
      const size_t confirmed = transport_->send(batch, error);
      spool_->commit(confirmed);
      sent_.fetch_add(confirmed, std::memory_order_relaxed);
      update_spool_gauges();
      if (confirmed < batch.size()) lost_connection();
      continue;
    }

    if (take_from_ring(batch, options_.batch_size, false) == 0) {
      if (stopping) break;
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, std::chrono::milliseconds(100), [&] { return ring_count_ > 0 || stop_requested_; });
      continue;
    }
    in_flight_from_ring_ = &batch;
    const size_t confirmed = transport_->send(batch, error);
    in_flight_from_ring_ = nullptr;
    sent_.fetch_add(confirmed, std::memory_order_relaxed);
    if (in_flight_spooled_) {  // the batch is the front of the spool now
      in_flight_spooled_ = false;
      spool_->commit(confirmed);
      update_spool_gauges();
      if (confirmed < batch.size()) lost_connection();
      continue;
    }
    if (confirmed < batch.size()) {
      // The spool is empty here, so the unconfirmed rest goes first, before the ring.
      spool_records(std::span<std::string>(batch).subspan(confirmed));
      lost_connection();
    }
  }
  // Out of time: whatever is still in memory follows the spool on disk.
  take_from_ring(batch, 0, true);
  spool_records(batch);
  spool_->flush();
  update_spool_gauges();
  if (connected) transport_->close();
  connected_.store(false, std::memory_order_relaxed);
}

void Sink::begin_stop() {
  {
    std::lock_guard lock(mutex_);
    if (stop_requested_) return;
    stop_requested_ = true;
    deadline_ = Clock::now() + options_.drain_timeout;
  }
  wake_.notify_all();
}

void Sink::stop() {
  if (!thread_.joinable()) return;
  begin_stop();
  thread_.join();
}

}  // namespace eastwatch

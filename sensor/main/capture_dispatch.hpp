// Capture threads -> workers: a symmetric flow hash picks each frame's worker, and the frame
// is copied into that worker's ring.
//
// Contract:
//  - `flow_hash` parses just enough of a frame (Ethernet/SLL/raw, up to two VLAN tags,
//    IPv4/IPv6 with extension headers) to hash it: both directions of a flow hash the same;
//    every fragment of an IP datagram (first or later) hashes by (src, dst, id) alone, since
//    later fragments carry no ports; other IP packets by addresses and TCP/UDP/SCTP ports; non-IP
//    frames hash to 0. Bounded, never reads past caplen, never allocates.
//  - `FrameRing` is a single-producer single-consumer ring of fixed-size slots, allocated at
//    construction; push and pop use atomics only. A frame longer than a slot is cut to it
//    (counted in `capture.ring-truncated`).
//  - `WorkerPool` runs N worker threads, each owning one `Worker` (flow table, streams,
//    detection, counters) and reading one ring per producer (capture thread), so every ring
//    has exactly one producer and one consumer. `dispatch` never allocates or locks: with
//    `wait_when_full` (files, and live capture, which leaves frames in the kernel ring
//    meanwhile) it waits for room until `stop` is raised; otherwise, or once stopped, a full
//    ring drops the frame and counts it (`capture.ring-drops`). `finish` lets the workers drain
//    their rings, end their flows and exit, then joins them.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <thread>
#include <vector>

#include "config/settings.hpp"
#include "sensor/capture/capture_stats.hpp"
#include "sensor/decode/packet.hpp"
#include "sensor/detect/detect_engine.hpp"
#include "sensor/main/worker.hpp"
#include "sensor/output/output_thread.hpp"

namespace eastwatch {

// With `decoder`, a frame that may carry a mirror encapsulation (GRE, a VXLAN/Geneve port, an
// RSPAN VLAN) is hashed by its inner frame and mirror session / VNI instead, as the flow table
// keys it (decoded on a copy of the view; the frame's worker decodes it again).
uint32_t flow_hash(const Packet& frame, const DecoderSettings* decoder = nullptr) noexcept;

// Eastwatch-only dispatch counters of one producer (stats.log only).
struct DispatchCounters {
  uint64_t ring_drops = 0;      // live frames dropped because the worker's ring was full
  uint64_t ring_truncated = 0;  // frames longer than a ring slot, cut to it

  template <class F>
  void visit(F&&) const {}
  template <class F>
  void visit_extra(F&& f) const {
    f("ring-drops", ring_drops); f("ring-truncated", ring_truncated);
  }
};

// What a producer (capture thread) publishes for the live stats: its source's counters and its
// dispatch counters.
struct ProducerCounterSet {
  CaptureCounters capture;
  DispatchCounters dispatch;
};

class FrameRing {
 public:
  FrameRing(uint32_t slots, uint32_t slot_bytes);

  // Producer side.
  bool try_push(const Packet& frame, bool& truncated) noexcept;
  void close() noexcept { closed_.store(true, std::memory_order_release); }

  // Consumer side: up to out.size() frames whose bytes stay valid until `release(n)`.
  size_t peek(std::span<Packet> out) noexcept;
  void release(size_t count) noexcept { tail_.store(tail_.load(std::memory_order_relaxed) + count, std::memory_order_release); }
  bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }

 private:
  const uint32_t mask_;
  const uint32_t slot_bytes_;
  std::unique_ptr<Packet[]> frames_;  // frame fields of each slot (data points into bytes_)
  std::unique_ptr<uint8_t[]> bytes_;
  alignas(64) std::atomic<uint64_t> head_{0};  // next slot the producer fills
  uint64_t cached_tail_ = 0;                    // producer's copy of tail_
  alignas(64) std::atomic<uint64_t> tail_{0};  // next slot the consumer reads
  uint64_t cached_head_ = 0;                    // consumer's copy of head_
  alignas(64) std::atomic<bool> closed_{false};
};

class WorkerPool {
 public:
  static constexpr uint32_t kRingSlots = 512;  // per (producer, worker) pair
  static constexpr uint32_t kSlotBytes = 65536;

  WorkerPool(const Settings& settings, const DetectEngine& detect, OutputThread& output, uint32_t workers,
             uint32_t producers, uint32_t slot_bytes = kSlotBytes, const InventoryStore* inventory = nullptr,
             RuleStore* rule_store = nullptr);  // rule_store: reloads (its generation 1 is `detect`)
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Producer `producer` hands frames to the workers (their bytes are copied).
  void dispatch(uint32_t producer, std::span<const Packet> frames, bool wait_when_full,
                const std::atomic<bool>* stop = nullptr) noexcept;
  // Producer `producer` is done.
  void close(uint32_t producer) noexcept;
  // Closes every ring, waits for the workers to drain them and end their flows, joins them.
  void finish();

  uint32_t size() const noexcept { return static_cast<uint32_t>(workers_.size()); }
  const Worker& worker(uint32_t index) const noexcept { return *workers_[index]; }
  const DispatchCounters& counters(uint32_t producer) const noexcept { return counters_[producer]; }

  // The live stats of producer `producer`: it publishes its source's counters (with its
  // dispatch counters) now and then; any thread reads the latest copy.
  void publish_producer(uint32_t producer, const CaptureCounters& capture) noexcept;
  bool read_producer(uint32_t producer, ProducerCounterSet& out) const noexcept { return published_[producer].read(out); }

 private:
  void run(uint32_t index) noexcept;
  FrameRing& ring(uint32_t producer, uint32_t worker) noexcept { return *rings_[producer * size() + worker]; }

  uint32_t producers_;
  std::vector<std::unique_ptr<Settings>> settings_;  // per worker: flow.worker_index set
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<FrameRing>> rings_;  // [producer][worker]
  std::vector<DispatchCounters> counters_;         // per producer, written by that producer only
  std::unique_ptr<Published<ProducerCounterSet>[]> published_;  // per producer
  std::vector<std::thread> threads_;
  bool finished_ = false;
};

}  // namespace eastwatch

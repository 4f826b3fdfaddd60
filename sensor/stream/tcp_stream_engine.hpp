// The TCP stream engine: per-worker session tracking (Suricata's state machine) and
// per-direction reassembly with target-based overlap policies.
//
// Contract:
//  - All memory is allocated in the constructor: a session pool sized by stream.memcap (each
//    session with two look-back buffers of 2 x inspect-window bytes) and a chunk pool for
//    out-of-order data sized by stream.reassembly.memcap. `process`, `drain`,
//    `stop_inspection` and `release` never allocate, lock, throw or log.
//  - A flow gets a session at a SYN (or, with stream.midstream, at the first packet seen);
//    a flow without one is not reassembled (still inspected packet by packet). A full
//    session pool is counted (ssn_memcap_drop). `release` must be called when the flow ends
//    (the flow table's end callback); it frees the session and its queued segments.
//  - Output, per TCP packet, in that packet's direction: the bytes that became contiguous,
//    in stream order, as at most StreamUpdate::kMaxSpans spans with their stream offsets
//    (offset 0 is the byte after the ISN). In the common in-order case this is the packet's
//    own payload, not copied (it points into the capture buffer). When a segment fills a hole,
//    the spans after the first point into the chunk pool (data copied once, when the
//    out-of-order segment was queued; chunks are at most kChunkBytes long). Every delivered
//    byte is also copied into the direction's look-back buffer (the only other copy).
//  - Each byte is delivered once; bytes delivered earlier are never changed: a later segment
//    overlapping them is counted (overlap, overlap_diff_data) and dropped, whatever the
//    policy. Overlaps among queued (not yet delivered) segments follow the receiving host's
//    policy (host-os-policy, Suricata's stream-tcp-list.c rules).
//  - Spans and the look-back view stay valid until the next call into the engine.
//  - `session` is set for every packet (and drain) of a flow with a session, the SYN included.
//  - With Hyperscan streaming mode: scan spans[0..span_count) in order with one stream per
//    direction; a span with `gap` set follows skipped bytes (restart the stream there); `done`
//    says nothing more comes in this direction (close the stream). Match offsets are
//    `span.offset + local offset`, and the look-back view covers the most recent bytes for
//    the verifier (see StreamUpdate::window).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>

#include "config/settings.hpp"
#include "sensor/decode/packet.hpp"
#include "sensor/flow/flow.hpp"
#include "sensor/flow/host_os_policy.hpp"
#include "sensor/stream/stream_counters.hpp"
#include "sensor/stream/tcp_session.hpp"
#include "sensor/util/zeroed_array.hpp"

namespace eastwatch {

struct StreamSpan {
  const uint8_t* data = nullptr;
  uint32_t len = 0;
  uint64_t offset = 0;  // stream offset of data[0]
  bool gap = false;     // bytes right before this span were never seen (skipped)
};

struct StreamUpdate {
  static constexpr uint32_t kMaxSpans = 16;
  StreamSpan spans[kMaxSpans];
  uint32_t span_count = 0;
  bool to_server = true;
  bool tracked = false;  // the flow has a session (handshake seen or midstream pickup)
  bool gap = false;      // some span follows a gap
  bool done = false;     // this direction delivers nothing more (depth reached or stopped)
  bool more = false;     // more contiguous bytes are queued than fit: call drain()
  // The flow's session after this packet (null when the flow has none), for keywords such as
  // stream_size; valid until the flow ends.
  const TcpSession* session = nullptr;
  // The look-back view after this update: the most recent delivered bytes of this direction,
  // ending at the last delivered byte; at least min(inspect-window, bytes since the last gap),
  // at most twice that. Empty when nothing was delivered in this update, or when a gap was
  // skipped after the last span.
  std::span<const uint8_t> window;
  uint64_t window_offset = 0;  // stream offset of window[0]

  std::span<const StreamSpan> span_list() const noexcept { return {spans, span_count}; }
  // What this update delivers past `consumed` (a stream parser's offset in this direction), in
  // order: first the bytes delivered before the parser started (the flow was detected late, or
  // this direction had not begun), from the look-back window while it still holds them, then the
  // spans, a hole given to on_gap(length). `consumed` ends past the last byte given to on_bytes.
  template <class OnBytes, class OnGap>
  void for_each_new(uint64_t& consumed, OnBytes&& on_bytes, OnGap&& on_gap) const noexcept {
    if (span_count > 0 && consumed < spans[0].offset) {
      const uint64_t w_begin = window_offset, w_end = w_begin + window.size();
      if (!window.empty() && w_begin <= consumed && w_end >= spans[0].offset) {
        const uint64_t n = spans[0].offset - consumed;
        on_bytes(window.subspan(consumed - w_begin, n));
        consumed += n;
      }
    }
    for (const StreamSpan& span : span_list()) {
      if (span.offset + span.len <= consumed) continue;
      if (span.offset > consumed) {
        on_gap(span.offset - consumed);
        consumed = span.offset;
      }
      const uint64_t skip = consumed - span.offset;
      on_bytes(std::span<const uint8_t>(span.data + skip, span.len - skip));
      consumed = span.offset + span.len;
    }
  }
  // Empties the update (the span array is left as is: only span_count counts).
  void reset(bool direction_to_server) noexcept {
    span_count = 0;
    to_server = direction_to_server;
    tracked = gap = done = more = false;
    session = nullptr;
    window = {};
    window_offset = 0;
  }
};

struct StreamLookback {
  std::span<const uint8_t> bytes;
  uint64_t offset = 0;  // stream offset of bytes[0]
};

class TcpStreamEngine {
 public:
  static constexpr uint32_t kChunkBytes = 2048;  // out-of-order data is queued in chunks of at most this

  // `policies` (may be null: every host bsd) must outlive the engine.
  explicit TcpStreamEngine(const StreamSettings& settings, const HostOsPolicyTable* policies = nullptr);
  ~TcpStreamEngine();
  TcpStreamEngine(const TcpStreamEngine&) = delete;
  TcpStreamEngine& operator=(const TcpStreamEngine&) = delete;

  // Tracks a decoded TCP packet whose flow the flow table set (packet.flow); fills `update`.
  // Other packets only leave `update` empty.
  void process(Packet& packet, StreamUpdate& update) noexcept;

  // Delivers further contiguous queued bytes of one direction (after update.more).
  void drain(const Flow& flow, bool to_server, StreamUpdate& update) noexcept;

  // No more reassembly or inspection in one direction (its queue is freed).
  void stop_inspection(const Flow& flow, bool to_server) noexcept;

  // The flow ended: frees its session and segments.
  void release(const Flow& flow) noexcept;

  const TcpSession* session(const Flow& flow) const noexcept;
  // A hint for the next packet of `flow` in one direction: loads its session and the end of that
  // direction's look-back buffer (where its bytes will be copied) into the cache. Only reads.
  void prefetch(const Flow& flow, bool to_server) const noexcept {
    if (flow.stream_session == 0 || flow.stream_session > session_capacity_) return;
    const TcpSession* s = &session_pool()[flow.stream_session - 1];
    __builtin_prefetch(s);
    __builtin_prefetch(reinterpret_cast<const char*>(s) + 64);
    __builtin_prefetch(reinterpret_cast<const char*>(s) + 128);
    __builtin_prefetch(window_of(flow.stream_session - 1, to_server));
  }
  StreamLookback lookback(const Flow& flow, bool to_server) const noexcept;
  const StreamCounters& counters() const noexcept { return counters_; }
  uint32_t session_capacity() const noexcept { return session_capacity_; }
  uint32_t chunk_capacity() const noexcept { return chunk_capacity_; }

 private:
  struct Chunk;

  TcpSession* session_of(const Flow& flow) const noexcept;
  TcpSession* create_session(Flow& flow) noexcept;
  void free_session(uint32_t index) noexcept;
  void handle(Packet& packet, TcpSession& session, uint32_t index, StreamUpdate& update) noexcept;
  bool valid_rst(const TcpSession& session, const TcpDirection& sender, const Packet& packet) const noexcept;
  void update_ack(TcpDirection& receiver_data, uint32_t ack) noexcept;

  // Reassembly (tcp_reassembly.cpp).
  void reassemble(TcpDirection& d, uint8_t* window, uint32_t seq, const uint8_t* data, uint32_t len,
                  StreamUpdate& update) noexcept;
  void deliver(TcpDirection& d, uint8_t* window, const uint8_t* data, uint32_t len, StreamUpdate& update) noexcept;
  void deliver_queue(TcpDirection& d, uint8_t* window, StreamUpdate& update) noexcept;
  bool insert(TcpDirection& d, uint32_t seq, const uint8_t* data, uint32_t len) noexcept;
  void compare_delivered(const TcpDirection& d, const uint8_t* window, uint32_t seq, const uint8_t* data,
                         uint32_t len) noexcept;
  void skip_to(TcpDirection& d, uint32_t seq) noexcept;
  void finish_direction(TcpDirection& d, StreamUpdate* update) noexcept;
  void free_queue(TcpDirection& d) noexcept;
  uint32_t alloc_chunk() noexcept;
  void free_chunk(uint32_t index) noexcept;
  void release_deferred() noexcept;
  void fill_window(const TcpDirection& d, const uint8_t* window, StreamUpdate& update) const noexcept;
  uint8_t* window_of(uint32_t session_index, bool to_server) const noexcept;

  StreamSettings settings_;
  const HostOsPolicyTable* policies_;
  uint32_t session_capacity_ = 0;
  uint32_t chunk_capacity_ = 0;
  uint32_t window_bytes_ = 0;  // per direction: 2 x inspect-window
  uint64_t session_bytes_ = 0; // memory per session, for memuse
  ZeroPages sessions_;  // session_capacity_ TcpSessions, constructed on first use
  ZeroPages windows_;   // 2 x window_bytes_ per session
  ZeroPages chunks_;    // chunk_capacity_ Chunks
  TcpSession* session_pool() const noexcept { return reinterpret_cast<TcpSession*>(sessions_.data()); }
  uint8_t* window_memory() const noexcept { return reinterpret_cast<uint8_t*>(windows_.data()); }
  Chunk* chunk_pool() const noexcept { return reinterpret_cast<Chunk*>(chunks_.data()); }
  uint32_t session_free_ = 0;     // free list head (index + 1)
  uint32_t session_never_used_ = 0;
  uint32_t chunk_free_ = 0;       // free list head (index + 1)
  uint32_t chunk_never_used_ = 0;
  uint32_t deferred_ = 0;         // chunks delivered by the last call, freed at the next (index + 1)
  bool memory_short_ = false;     // the last insert could not queue everything
  StreamCounters counters_;
};

}  // namespace eastwatch

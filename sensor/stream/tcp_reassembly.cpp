// Per-direction reassembly: in-order delivery (zero-copy), the out-of-order queue in pooled
// chunks with Suricata's overlap policies, retransmissions, gaps, depth, the look-back buffer.
#include <algorithm>
#include <cstring>

#include "sensor/stream/detail/chunk.hpp"
#include "sensor/stream/tcp_stream_engine.hpp"

namespace eastwatch {

namespace {

// Suricata's DoHandleDataOverlap: whether the new segment's bytes replace those of a queued
// ("list") segment where the two overlap with different data.
bool new_data_wins(OsPolicy policy, uint32_t seq, uint32_t end, uint32_t list_seq, uint32_t list_end) noexcept {
  if (policy == OsPolicy::Last) return true;
  const bool solaris_like = policy == OsPolicy::Solaris || policy == OsPolicy::Hpux11;
  if (seq == list_seq) {
    if (seq_lt(end, list_end)) return false;
    if (seq_gt(end, list_end) && policy == OsPolicy::Linux) return true;
    return policy == OsPolicy::OldLinux || solaris_like;
  }
  if (seq_lt(seq, list_seq)) {
    if (seq_geq(end, list_end) && solaris_like) return true;
    switch (policy) {
      case OsPolicy::Bsd:
      case OsPolicy::Hpux10:
      case OsPolicy::Irix:
      case OsPolicy::Windows:
      case OsPolicy::Windows2k3:
      case OsPolicy::OldLinux:
      case OsPolicy::Linux:
      case OsPolicy::Macos: return true;
      default: return false;
    }
  }
  return seq_gt(end, list_end) && solaris_like;
}

}  // namespace

uint32_t TcpStreamEngine::alloc_chunk() noexcept {
  uint32_t index = 0;
  if (chunk_free_ != 0) {
    index = chunk_free_ - 1;
    chunk_free_ = chunk_pool()[index].next;
  } else if (chunk_never_used_ < chunk_capacity_) {
    index = chunk_never_used_++;
  } else {
    return 0;
  }
  counters_.reassembly_memuse += sizeof(Chunk);
  chunk_pool()[index].next = 0;
  return index + 1;
}

void TcpStreamEngine::free_chunk(uint32_t index) noexcept {
  chunk_pool()[index].next = chunk_free_;
  chunk_free_ = index + 1;
  counters_.reassembly_memuse -= sizeof(Chunk);
}

void TcpStreamEngine::release_deferred() noexcept {
  // Bounded by the chunk pool: each chunk is on at most one list.
  while (deferred_ != 0) {
    const uint32_t index = deferred_ - 1;
    deferred_ = chunk_pool()[index].next;
    free_chunk(index);
  }
}

void TcpStreamEngine::free_queue(TcpDirection& d) noexcept {
  while (d.queue_head != 0) {
    const uint32_t index = d.queue_head - 1;
    d.queue_head = chunk_pool()[index].next;
    free_chunk(index);
  }
  d.queue_count = 0;
}

void TcpStreamEngine::fill_window(const TcpDirection& d, const uint8_t* window, StreamUpdate& update) const noexcept {
  if (update.span_count == 0) return;
  const StreamSpan& last = update.spans[update.span_count - 1];
  if (d.window_used == 0 || d.window_end != last.offset + last.len) return;  // a gap came after the last span
  update.window = {window, d.window_used};
  update.window_offset = d.window_end - d.window_used;
}

void TcpStreamEngine::finish_direction(TcpDirection& d, StreamUpdate* update) noexcept {
  if (!d.done) ++counters_.stream_depth_reached;
  d.done = true;
  free_queue(d);
  if (update != nullptr) update->done = true;
}

void TcpStreamEngine::skip_to(TcpDirection& d, uint32_t seq) noexcept {
  if (!seq_gt(seq, d.next_seq)) return;
  d.offset += seq - d.next_seq;
  d.next_seq = seq;
  d.gap_pending = true;
  d.window_used = 0;  // the look-back buffer holds contiguous bytes only
  d.window_end = d.offset;
  ++counters_.reassembly_gap;
  if (settings_.reassembly.depth != 0 && d.offset >= settings_.reassembly.depth) finish_direction(d, nullptr);
}

// Appends `len` bytes at next_seq as one span (the caller checked there is room), keeps the
// look-back buffer, applies the depth.
void TcpStreamEngine::deliver(TcpDirection& d, uint8_t* window, const uint8_t* data, uint32_t len,
                              StreamUpdate& update) noexcept {
  uint32_t usable = len;
  bool reached = false;
  const uint64_t depth = settings_.reassembly.depth;
  if (depth != 0 && d.offset + len >= depth) {
    usable = static_cast<uint32_t>(depth - std::min(depth, d.offset));
    reached = true;
  }
  if (usable > 0) {
    StreamSpan& span = update.spans[update.span_count++];
    span = StreamSpan{data, usable, d.offset, d.gap_pending};
    update.gap |= d.gap_pending;
    d.gap_pending = false;
    // Look-back buffer of 2W bytes: keep at least the last W when it fills up.
    const uint32_t w = window_bytes_ / 2;
    if (usable >= w) {
      std::memcpy(window, data + usable - w, w);
      d.window_used = w;
    } else {
      if (d.window_used + usable > window_bytes_) {
        const uint32_t keep = std::min(d.window_used, w);
        std::memmove(window, window + d.window_used - keep, keep);
        d.window_used = keep;
      }
      std::memcpy(window + d.window_used, data, usable);
      d.window_used += usable;
    }
    d.window_end = d.offset + usable;
  }
  d.offset += len;
  d.next_seq += len;
  if (reached) finish_direction(d, &update);
}

void TcpStreamEngine::deliver_queue(TcpDirection& d, uint8_t* window, StreamUpdate& update) noexcept {
  Chunk* chunks = chunk_pool();
  while (d.queue_head != 0 && !d.done) {  // bounded by the queue limit
    const uint32_t index = d.queue_head - 1;
    Chunk& c = chunks[index];
    if (c.seq != d.next_seq) break;
    if (update.span_count == StreamUpdate::kMaxSpans) {
      update.more = true;
      break;
    }
    d.queue_head = c.next;
    --d.queue_count;
    c.next = deferred_;  // the span points into it until the next call
    deferred_ = index + 1;
    deliver(d, window, c.data, c.len, update);
  }
}

// Compares bytes before next_seq (already delivered) with the look-back buffer, where it
// still has them; delivered bytes are never replaced.
void TcpStreamEngine::compare_delivered(const TcpDirection& d, const uint8_t* window, uint32_t seq,
                                        const uint8_t* data, uint32_t len) noexcept {
  ++counters_.overlap;
  const uint32_t before = d.next_seq - seq;  // bytes of the segment before next_seq (>= len possible)
  const uint64_t start = d.offset - std::min<uint64_t>(d.offset, before);
  const uint64_t window_start = d.window_end - d.window_used;
  const uint64_t from = std::max(start, window_start);
  const uint64_t to = std::min<uint64_t>(start + len, d.window_end);
  if (from >= to) return;
  if (std::memcmp(window + (from - window_start), data + (from - start), to - from) != 0) {
    ++counters_.overlap_diff_data;
  }
}

// Queues [seq, seq + len) (all after next_seq) into the sorted, non-overlapping chunk list.
// Where it overlaps queued data, the receiving host's policy picks the bytes. Returns false
// when some of it could not be queued (pool or queue limit).
bool TcpStreamEngine::insert(TcpDirection& d, uint32_t seq, const uint8_t* data, uint32_t len) noexcept {
  Chunk* chunks = chunk_pool();
  const uint32_t end = seq + len;
  uint32_t pos = seq;
  uint32_t* link = &d.queue_head;  // the link to rewrite when inserting before *link
  bool overlapped = false;
  bool different = false;
  bool complete = true;
  // Each step consumes queued chunks or bytes of the segment; bounded by queue limit + len.
  while (seq_lt(pos, end)) {
    while (*link != 0 && seq_leq(chunks[*link - 1].seq + chunks[*link - 1].len, pos)) link = &chunks[*link - 1].next;
    Chunk* cur = *link != 0 ? &chunks[*link - 1] : nullptr;
    if (cur == nullptr || seq_gt(cur->seq, pos)) {
      // A hole in the queue at pos: new chunks up to the next queued chunk or the segment end.
      uint32_t hole_end = (cur != nullptr && seq_lt(cur->seq, end)) ? cur->seq : end;
      const uint32_t piece = std::min<uint32_t>(hole_end - pos, kChunkBytes);
      if (d.queue_count >= settings_.reassembly.queue_limit) {
        ++counters_.queue_limit_drop;
        complete = false;
        break;
      }
      const uint32_t fresh = alloc_chunk();
      if (fresh == 0) {
        ++counters_.segment_memcap_drop;
        complete = false;
        break;
      }
      Chunk& c = chunks[fresh - 1];
      c.seq = pos;
      c.len = static_cast<uint16_t>(piece);
      c.owner_seq = seq;
      c.owner_end = end;
      std::memcpy(c.data, data + (pos - seq), piece);
      c.next = *link;
      *link = fresh;
      ++d.queue_count;
      link = &c.next;
      pos += piece;
      continue;
    }
    // cur covers pos: the overlapping bytes [pos, min(end, cur end)).
    const uint32_t overlap_end = seq_lt(end, cur->seq + cur->len) ? end : cur->seq + cur->len;
    const uint32_t n = overlap_end - pos;
    uint8_t* old_bytes = cur->data + (pos - cur->seq);
    const uint8_t* new_bytes = data + (pos - seq);
    overlapped = true;
    if (std::memcmp(old_bytes, new_bytes, n) != 0) {
      different = true;
      if (new_data_wins(d.policy, seq, end, cur->owner_seq, cur->owner_end)) std::memcpy(old_bytes, new_bytes, n);
    }
    pos = overlap_end;
  }
  if (overlapped) ++counters_.overlap;
  if (different) ++counters_.overlap_diff_data;
  return complete;
}

void TcpStreamEngine::reassemble(TcpDirection& d, uint8_t* window, uint32_t seq, const uint8_t* data, uint32_t len,
                                 StreamUpdate& update) noexcept {
  uint32_t end = seq + len;
  if (d.done) {
    // Not reassembled any more; next_seq still follows the stream (RST validation).
    if (seq_leq(seq, d.next_seq) && seq_gt(end, d.next_seq)) d.next_seq = end;
    if (d.ack_seen && seq_gt(d.last_ack, d.next_seq)) d.next_seq = d.last_ack;
    return;
  }
  const auto queue_seq = [&]() { return chunk_pool()[d.queue_head - 1].seq; };
  // A hole before this segment that the receiver already acknowledged will never be seen:
  // skip to the first byte we have.
  if (seq_gt(seq, d.next_seq) && d.ack_seen && seq_gt(d.last_ack, d.next_seq)) {
    uint32_t target = seq_lt(seq, d.last_ack) ? seq : d.last_ack;
    if (d.queue_head != 0 && seq_lt(queue_seq(), target)) target = queue_seq();
    skip_to(d, target);
    deliver_queue(d, window, update);
    if (d.done) return;
  }
  if (seq_leq(end, d.next_seq)) {  // a retransmission of delivered bytes
    ++counters_.retransmissions;
    compare_delivered(d, window, seq, data, len);
    deliver_queue(d, window, update);  // what an earlier update had no room for
    return;
  }
  if (seq_lt(seq, d.next_seq)) {  // partly delivered already: the rest is new
    ++counters_.retransmissions;
    const uint32_t old = d.next_seq - seq;
    compare_delivered(d, window, seq, data, old);
    data += old;
    len -= old;
    seq = d.next_seq;
  }
  end = seq + len;
  const bool fits_before_queue = d.queue_head == 0 || seq_leq(end, queue_seq());
  if (seq == d.next_seq && fits_before_queue && update.span_count < StreamUpdate::kMaxSpans) {
    deliver(d, window, data, len, update);  // the common case: in order, not copied
  } else if (seq_geq(seq, d.next_seq + std::max<uint32_t>(d.window, 65535))) {
    ++counters_.outside_window;
  } else if (!insert(d, seq, data, len) && d.queue_head != 0 && queue_seq() != d.next_seq) {
    // Out of memory for this direction: give up the hole before the queue and go on.
    deliver_queue(d, window, update);
    if (!d.done) skip_to(d, queue_seq());
  }
  deliver_queue(d, window, update);
  // The segment went into the queue beyond a hole the receiver has acknowledged.
  if (!d.done && d.ack_seen && seq_gt(d.last_ack, d.next_seq) && d.queue_head != 0 &&
      seq_leq(queue_seq(), d.last_ack)) {
    skip_to(d, queue_seq());
    deliver_queue(d, window, update);
  }
}

}  // namespace eastwatch

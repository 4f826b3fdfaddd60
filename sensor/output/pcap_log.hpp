// Conditional packet logging (Suricata's pcap-log, `conditional: alerts | tag | all`), the
// worker's side. Per packet, after detection:
//  - alerts: every packet of a flow from its first alert on, with the flow's last `history`
//    packets before it first; until then each packet is copied into the flow's history. A
//    packet without a flow that alerted, and a tagged packet (its "Tagged Packet" event), is
//    logged alone: as in Suricata, a tag does not make its flow an alerting one.
//  - tag: only packets that alerted with a rule that has `tag:`, and tagged packets.
//  - all: every packet.
// "Logged" means copied into the worker's PcapLogQueue for the writer thread
// (pcap_log_writer.hpp); nothing here does file I/O.
//
// Files: the worker decides, when it queues a packet, which file and which position in it the
// packet gets (the writer obeys), so an alert can name both at once: a packet that would take
// the file past `limit` (or has another link type) starts a new file named after it (the
// file name rule is pcap_log_file_name()). A packet the queue cannot take is counted
// (`dropped`) and takes no position.
//
// Contract: nothing here allocates, locks or throws after construction. The history is a
// pool of 256-byte chunks and packet entries sized by `history-memcap`: a flow keeps at most
// `history` entries (its oldest goes first); a full pool gives up the oldest kept packet of
// any flow (`history_evicted`), so a flow's history is always its latest packets, without gaps.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "config/settings.hpp"
#include "sensor/decode/packet.hpp"
#include "sensor/detect/alert_event.hpp"
#include "sensor/flow/flow.hpp"
#include "sensor/output/pcap_log_queue.hpp"

namespace eastwatch {

// Counters of one worker's packet logging (stats.log only: pcap_log.*).
struct PcapLogCounters {
  uint64_t packets = 0;          // packets queued for the log files
  uint64_t history_packets = 0;  // ... of them, kept before their flow's first alert
  uint64_t bytes = 0;            // frame bytes queued
  uint64_t dropped = 0;          // packets the full queue could not take (not logged)
  uint64_t history_evicted = 0;  // kept packets given up for memory (history-memcap)
  uint64_t history_too_big = 0;  // packets larger than the whole history pool, never kept
  uint64_t files = 0;            // files started

  template <class F>
  void visit(F&&) const {}
  template <class F>
  void visit_extra(F&& f) const {
    f("packets", packets); f("history_packets", history_packets); f("bytes", bytes); f("dropped", dropped);
    f("history_evicted", history_evicted); f("history_too_big", history_too_big); f("files", files);
  }
};

// The file name of a worker's next file: <filename>[.<worker + 1>].<sec>[.<usec>] (the worker
// number only with several workers; usec zero-padded to 6 digits), then .1, .2 ... when the
// previous file of the worker had that name already (`repeat`: how many times). Returns the
// length written into `out` (nul-terminated, truncated to out_size - 1).
size_t pcap_log_file_name(const PcapLogSettings& settings, uint32_t worker, uint32_t worker_count, int64_t ts_usec,
                          uint32_t repeat, char* out, size_t out_size) noexcept;

// A pool of packet copies kept per flow: entries chained per flow (oldest first) and in one
// global age list, their bytes in 256-byte chunks.
class PacketHistory {
 public:
  static constexpr uint32_t kChunkBytes = 256;

  struct Kept {  // one kept packet, as handed back by `take`
    int64_t ts_usec;
    uint32_t caplen;
    uint32_t wirelen;
    uint16_t link_type;
  };

  PacketHistory(uint64_t memcap, uint32_t per_flow);

  // Keeps a copy of the packet's frame at the end of `flow`'s history (its oldest goes when
  // the flow has per_flow already; the pool's oldest when the pool is full).
  void keep(Flow& flow, const Packet& packet) noexcept;
  // Calls `f(kept, frame bytes as up to a few spans via copy_out)` for each of the flow's
  // kept packets, oldest first, and frees them. `scratch` (at least 262144 bytes) receives
  // each frame's bytes.
  template <class F>
  void take(Flow& flow, uint8_t* scratch, F&& f) noexcept {
    while (flow.pcap_history_head != 0) {
      const uint32_t e = flow.pcap_history_head - 1;
      const Entry& entry = entries_[e];
      copy_out(entry, scratch);
      f(Kept{entry.ts_usec, entry.caplen, entry.wirelen, entry.link_type},
        std::span<const uint8_t>(scratch, entry.caplen));
      free_entry(e);
    }
  }
  // Frees the kept packets of a flow that is ending (without writing to it).
  void release(const Flow& flow) noexcept;

  uint32_t per_flow() const noexcept { return per_flow_; }
  uint64_t evicted() const noexcept { return evicted_; }
  uint64_t too_big() const noexcept { return too_big_; }
  uint32_t entries_in_use() const noexcept { return entries_in_use_; }
  uint32_t free_chunks() const noexcept { return free_chunks_; }
  uint32_t chunk_count() const noexcept { return chunk_count_; }

 private:
  static constexpr uint32_t kNone = 0xffffffffu;
  struct Entry {
    int64_t ts_usec = 0;
    Flow* owner = nullptr;
    uint32_t caplen = 0;
    uint32_t wirelen = 0;
    uint32_t first_chunk = kNone;
    uint32_t flow_next = 0;  // the flow's next newer entry (index + 1; 0: none)
    uint32_t age_prev = kNone;  // the global age list (older / newer neighbour)
    uint32_t age_next = kNone;
    uint16_t link_type = 1;
  };

  void free_entry(uint32_t e) noexcept;  // e must be its owner's oldest entry (or have no owner)
  void free_chunks(Entry& entry) noexcept;
  void unlink_age(uint32_t e) noexcept;
  void release_owned(Flow& flow) noexcept;
  void copy_out(const Entry& entry, uint8_t* out) const noexcept;

  uint32_t per_flow_;
  uint32_t entry_count_;
  uint32_t chunk_count_;
  std::unique_ptr<Entry[]> entries_;
  std::unique_ptr<uint32_t[]> chunk_next_;  // the chunk chain of an entry; free list
  std::unique_ptr<uint8_t[]> chunks_;
  uint32_t free_entry_head_ = kNone;  // free entries, chained through flow_next (index + 1)
  uint32_t free_chunk_head_ = kNone;
  uint32_t free_chunks_ = 0;
  uint32_t entries_in_use_ = 0;
  uint32_t oldest_ = kNone;  // the global age list
  uint32_t newest_ = kNone;
  uint64_t evicted_ = 0;
  uint64_t too_big_ = 0;
};

class PcapLogRecorder {
 public:
  // Allocates the history pool (conditional alerts with history > 0) when enabled.
  explicit PcapLogRecorder(const PcapLogSettings& settings);

  // Worker `queue->worker()` of `worker_count`, logging into `dir` (the log directory);
  // null: off. Before the first packet.
  void set_queue(PcapLogQueue* queue, uint32_t worker_count, const std::string& dir) noexcept;
  bool enabled() const noexcept { return queue_ != nullptr; }

  // `packet` made `events` (pushed next): logs `frame`, the captured frame (the packet itself,
  // or the fragment that completed it when defrag rebuilt it), once (after the flow's history,
  // at the flow's first alert) and names its file and position in each event (capture_file
  // empty when it is not logged).
  void on_alert(const Packet& packet, const Packet& frame, std::span<AlertEvent> events) noexcept;
  // The packet has been through detection: logs it when its flow is logged (or with
  // conditional all), else keeps it in its flow's history. Once per captured frame.
  void on_packet(const Packet& packet) noexcept;
  // The flow ended: its history goes.
  void release(const Flow& flow) noexcept {
    if (history_) history_->release(flow);
  }

  const PcapLogCounters& counters() const noexcept;

 private:
  // One frame logged lately: on_alert and on_packet (and a rebuilt datagram's alert) see the
  // same captured frame, which is logged once.
  struct Logged {
    const uint8_t* data = nullptr;
    uint64_t cnt = 0;
    int64_t ts = 0;
    uint32_t position = 0;  // 1-based in its file; 0: dropped
    uint32_t name_offset = 0;
    char path[AlertEvent::kMaxCaptureFile] = {};
  };

  // Queues one frame; true when it got a position (the file_packets_-th of path_).
  bool log_frame(int64_t ts_usec, uint32_t wirelen, uint16_t link_type, std::span<const uint8_t> frame,
                 bool from_history) noexcept;
  void log_packet(const Packet& frame) noexcept;
  const Logged* find_logged(const Packet& frame) const noexcept;

  PcapLogSettings settings_;
  PcapLogQueue* queue_ = nullptr;
  uint32_t worker_count_ = 1;
  std::unique_ptr<PacketHistory> history_;
  std::unique_ptr<uint8_t[]> scratch_;  // one frame out of the history
  mutable PcapLogCounters counters_{};
  // The current file as the writer will have it.
  char path_[AlertEvent::kMaxCaptureFile] = {};  // <dir>/<name>
  uint32_t name_offset_ = 0;
  uint32_t name_len_ = 0;
  bool file_open_ = false;
  uint64_t file_bytes_ = 0;  // with the 24-byte file header
  uint32_t file_packets_ = 0;
  uint16_t file_link_type_ = 0;
  uint32_t name_repeat_ = 0;  // files in a row that got the same base name
  int64_t name_key_ = 0;      // the base name's second (usec: microsecond) of the current file
  Logged logged_[2];
  uint32_t logged_next_ = 0;
};

}  // namespace eastwatch

// IP defragmentation (IPv4 and IPv6), Suricata's `defrag` as the reference: one Defragmenter
// per worker holds the fragments of incomplete datagrams and, when a datagram's last missing
// fragment arrives, rebuilds it into a buffer of its own (Suricata's pseudo packet), which the
// worker decodes and inspects like a captured packet.
//
// Contract:
// - `process` takes a decoded IP fragment (packet.ip_fragment). Trackers are keyed by family,
//   source, destination, identification (32 bits for IPv6), protocol and both VLAN ids.
//   Overlaps are resolved with the destination host's policy (`host-os-policy:`, else bsd),
//   exactly as Suricata's DefragInsertFrag does for first, last, bsd, bsd-right, linux, windows
//   and solaris.
// - Anomalies raise decoder events on the fragment (packet.events) and count them in the
//   given DecodeStats: ipv4/ipv6.frag_overlap (any overlap, as Suricata), frag_pkt_too_large
//   (past 65535 bytes), frag_ignored (no storage left, or max-frags reached),
//   ipv6.frag_invalid_length (a non-last IPv6 fragment whose length is not a multiple of 8).
// - Memory: trackers, their index, fragment records and fragment bytes (fixed-size blocks)
//   are allocated in the constructor, bounded by defrag.memcap; `process` and `expire` never
//   allocate, throw, lock or log. A tracker idle past defrag.timeout is reclaimed; when every
//   tracker is busy the least recently used one is dropped (tracker_hard_reuse).
// - The returned packet (frame fields only: raw IPv4/IPv6 link type, the completing
//   fragment's ts_usec and pcap_cnt) and its bytes stay valid until the next `process` call.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "config/settings.hpp"
#include "sensor/decode/decode_stats.hpp"
#include "sensor/decode/packet.hpp"
#include "sensor/flow/host_os_policy.hpp"
#include "sensor/util/slot_pool.hpp"

namespace eastwatch {

// The overlap behaviours Suricata's defrag implements.
enum class DefragPolicy : uint8_t { First, Last, Bsd, BsdRight, Linux, Windows, Solaris };

// Suricata's DefragGetOsPolicy: host OS policy -> defrag policy.
DefragPolicy defrag_policy_for(OsPolicy policy) noexcept;

struct DefragCounters {
  uint64_t ipv4_fragments = 0;
  uint64_t ipv4_reassembled = 0;
  uint64_t ipv4_timeouts = 0;
  uint64_t ipv6_fragments = 0;
  uint64_t ipv6_reassembled = 0;
  uint64_t ipv6_timeouts = 0;
  uint64_t max_frags_reached = 0;     // a fragment not stored: its datagram had max-frags already
  uint64_t max_trackers_reached = 0;  // a fragment not tracked: no tracker could be had
  uint64_t memuse = 0;                // gauge: bytes of trackers and fragments in use
  uint64_t tracker_hard_reuse = 0;    // an incomplete datagram dropped to make room for a new one
  uint64_t tracker_soft_reuse = 0;    // a timed-out tracker reused in place by its own key
  uint64_t tracker_timeout = 0;       // trackers reclaimed after defrag.timeout (wrk.tracker_timeout)
  // Eastwatch-only (stats.log):
  uint64_t memcap_dropped = 0;        // fragments not stored: the fragment storage (memcap) was full
  uint64_t overlaps = 0;              // fragments that overlapped stored data
  uint64_t too_large = 0;             // fragments or datagrams past 65535 bytes
  uint64_t invalid = 0;               // fragments that could not be parsed or were truncated
  uint64_t capacity_trackers = 0;     // sizes chosen from the memcap
  uint64_t capacity_fragments = 0;
  uint64_t capacity_bytes = 0;

  template <class F>
  void visit(F&& f) const {
    f("ipv4.fragments", ipv4_fragments); f("ipv4.reassembled", ipv4_reassembled); f("ipv4.timeouts", ipv4_timeouts);
    f("ipv6.fragments", ipv6_fragments); f("ipv6.reassembled", ipv6_reassembled); f("ipv6.timeouts", ipv6_timeouts);
    f("max_frags_reached", max_frags_reached); f("max_trackers_reached", max_trackers_reached);
    f("memuse", memuse); f("tracker_hard_reuse", tracker_hard_reuse); f("tracker_soft_reuse", tracker_soft_reuse);
    f("wrk.tracker_timeout", tracker_timeout);
  }
  template <class F>
  void visit_extra(F&& f) const {
    f("memcap_dropped", memcap_dropped); f("overlaps", overlaps); f("too_large", too_large); f("invalid", invalid);
    f("capacity.trackers", capacity_trackers); f("capacity.fragments", capacity_fragments);
    f("capacity.bytes", capacity_bytes);
  }
};

class Defragmenter {
 public:
  Defragmenter(const DefragSettings& settings, const std::vector<HostOsPolicyEntry>& host_os_policy);
  ~Defragmenter();
  Defragmenter(const Defragmenter&) = delete;
  Defragmenter& operator=(const Defragmenter&) = delete;

  // Stores the fragment; returns the rebuilt datagram when this fragment completed it, else
  // nullptr. Non-fragments are ignored (nullptr).
  const Packet* process(Packet& fragment, DecodeStats& stats) noexcept;

  // Reclaims trackers idle past the timeout at `now_usec`, visiting at most `max_checks`.
  void expire(int64_t now_usec, uint32_t max_checks) noexcept;

  const DefragCounters& counters() const noexcept { return counters_; }
  uint32_t active_trackers() const noexcept { return active_trackers_; }
  uint32_t fragments_in_use() const noexcept { return fragments_in_use_; }

  static constexpr uint32_t kBlockSize = 256;         // fragment bytes are stored in blocks of this size
  static constexpr uint32_t kMaxDatagram = 65535 + 64 + 40;  // an IPv6 header plus 65535 payload, with room

  struct Tracker;
  struct Fragment;
  struct Parsed;

 private:
  Tracker* find_or_create(const Packet& packet, const Parsed& parsed, int64_t now_usec) noexcept;
  void release(Tracker& tracker) noexcept;
  void free_fragments(Tracker& tracker) noexcept;
  void lru_touch(Tracker& tracker) noexcept;
  void lru_unlink(Tracker& tracker) noexcept;
  bool store(const Packet& packet, const Parsed& parsed, uint16_t ltrim, uint32_t& out) noexcept;
  void free_fragment(uint32_t index) noexcept;
  const Packet* reassemble(Tracker& tracker, Packet& completing, DecodeStats& stats) noexcept;
  void copy_out(const Fragment& fragment, uint32_t from, uint32_t length, uint8_t* out) const noexcept;
  void count_memuse() noexcept;

  DefragSettings settings_;
  HostOsPolicyTable policies_;
  DefragCounters counters_;

  uint32_t tracker_capacity_ = 0;
  uint32_t bucket_mask_ = 0;
  uint32_t fragment_capacity_ = 0;
  uint32_t block_capacity_ = 0;
  ZeroPages trackers_;    // tracker_capacity_ Trackers
  ZeroPages buckets_;     // uint32_t: tracker index + 1 of each chain's head; 0: empty
  ZeroPages fragments_;   // fragment_capacity_ Fragments
  ZeroPages blocks_;      // block_capacity_ * kBlockSize bytes
  ZeroPages block_next_;  // uint32_t: chain of each fragment's blocks / free list
  ZeroPages output_;      // the rebuilt datagram
  Tracker* tracker_pool() const noexcept { return reinterpret_cast<Tracker*>(trackers_.data()); }
  uint32_t* bucket_heads() const noexcept { return reinterpret_cast<uint32_t*>(buckets_.data()); }
  Fragment* fragment_pool() const noexcept { return reinterpret_cast<Fragment*>(fragments_.data()); }
  uint8_t* block_bytes() const noexcept { return reinterpret_cast<uint8_t*>(blocks_.data()); }
  uint32_t* block_links() const noexcept { return reinterpret_cast<uint32_t*>(block_next_.data()); }
  uint8_t* output_bytes() const noexcept { return reinterpret_cast<uint8_t*>(output_.data()); }
  Packet rebuilt_{};

  LazyFreeList free_trackers_;   // chained by Tracker::hash_next
  LazyFreeList free_fragments_;  // chained by Fragment::next
  LazyFreeList free_blocks_;     // chained by block_next_
  uint32_t free_block_count_ = 0;
  uint32_t lru_head_ = 0;       // index + 1: least recently updated active tracker
  uint32_t lru_tail_ = 0;
  uint32_t active_trackers_ = 0;
  uint32_t fragments_in_use_ = 0;
  uint32_t expire_cursor_ = 0;
};

}  // namespace eastwatch

// The detection engine: runs a compiled rule set against decoded packets.
//
// Per packet: pick the prefilter group by protocol, one Hyperscan scan of the payload
// yields candidate rules (deduplicated), plus the group's rules without fast pattern;
// each candidate is checked against its header (addresses, ports, direction) and its full
// option chain with Suricata's semantics. A rule alerts at most once per packet; alerts
// come out in rule evaluation order, at most `max_alerts_per_packet`. A matching pass rule
// silences the rest of the packet and the rest of its flow, as in Suricata. A packet that a
// `tag` holds (tag_table.hpp) gets one more event after them, of CompiledRuleSet::tag_rule().
//
// Contract: `inspect` never allocates, locks or throws. A DetectThread belongs to one worker.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "config/settings.hpp"
#include "sensor/decode/packet.hpp"
#include "sensor/detect/alert_event.hpp"
#include "sensor/detect/tag_table.hpp"
#include "sensor/detect/threshold_table.hpp"
#include "sensor/detect/xbits_table.hpp"
#include "sensor/stream/tcp_stream_engine.hpp"
#include "signatures/regex.hpp"
#include "signatures/rule_compiler.hpp"

namespace eastwatch {

class AppLayer;
struct TransformScratch;
struct TxView;

struct DetectCounters {
  uint64_t alert = 0;                 // alerts raised
  uint64_t alert_queue_overflow = 0;  // alerts dropped past max_alerts_per_packet
  uint64_t alerts_suppressed = 0;     // matches that threshold/detection_filter kept from alerting
  uint64_t prefilter_candidates = 0;  // rules handed to verification by the prefilter
  uint64_t scans = 0;                 // Hyperscan scans run
  uint64_t inspection_budget_exhausted = 0;  // verifications cut short by the recursion limit
  uint64_t threshold_evicted = 0;  // threshold entries replaced because their bucket was full
  uint64_t flowbits_dropped = 0;   // flowbit sets that did not fit in the flow
  uint64_t pcre_limit_hit = 0;     // regex matches stopped by PCRE2's match/depth limits
  uint64_t passed_packets = 0;     // packets of flows a pass rule matched, not inspected
  uint64_t rate_filtered = 0;      // matches while a rate_filter's new action applied
  uint64_t stream_scans = 0;       // streaming-mode scans of reassembled bytes
  uint64_t stream_candidates = 0;  // rules handed to verification by the stream scans
  uint64_t stream_matches = 0;     // rules that matched on the reassembled stream
  uint64_t stream_unscanned = 0;   // stream updates of sessions beyond the prepared stream states
  uint64_t tagged_packets = 0;     // "Tagged Packet" events (gid 2, sid 1) of `tag` rules
  uint64_t tag_dropped = 0;        // tags that did not fit in their flow's or host's list
  uint64_t tag_evicted = 0;        // hosts whose tags were given up for a new host (table full)
  uint64_t tx_scans = 0;           // Hyperscan scans of application-layer buffers
  uint64_t tx_candidates = 0;      // application-layer rules handed to verification
  uint64_t tx_state_dropped = 0;   // part-matched transactions forgotten (Flow::tx_matches full)
  uint64_t transform_truncated = 0;  // transformed buffers cut at the transform scratch size
  uint64_t xbits_table_full = 0;     // xbits sets that found no free slot in the xbits table

  template <class F>
  void visit(F&& f) const {  // names in Suricata's EVE schema (stats.detect.*)
    f("alert", alert); f("alert_queue_overflow", alert_queue_overflow); f("alerts_suppressed", alerts_suppressed);
  }
  template <class F>
  void visit_extra(F&& f) const {  // Eastwatch-only: stats.log, not EVE
    f("prefilter_candidates", prefilter_candidates); f("scans", scans);
    f("inspection_budget_exhausted", inspection_budget_exhausted);
    f("threshold_evicted", threshold_evicted); f("flowbits_dropped", flowbits_dropped);
    f("pcre_limit_hit", pcre_limit_hit); f("passed_packets", passed_packets); f("rate_filtered", rate_filtered);
    f("stream_scans", stream_scans); f("stream_candidates", stream_candidates);
    f("stream_matches", stream_matches); f("stream_unscanned", stream_unscanned);
    f("tagged_packets", tagged_packets); f("tag_dropped", tag_dropped); f("tag_evicted", tag_evicted);
    f("tx_scans", tx_scans); f("tx_candidates", tx_candidates); f("tx_state_dropped", tx_state_dropped);
    f("transform_truncated", transform_truncated); f("xbits_table_full", xbits_table_full);
  }
};

class DetectThread;

// Per-rule cost, collected when DetectSettings::profile_rules is on (`--profile-rules`).
struct RuleProfile {
  uint64_t checks = 0;       // times the rule was verified (it was a candidate)
  uint64_t matches = 0;
  uint64_t ticks = 0;        // CPU timestamp-counter ticks spent verifying it
  uint64_t match_ticks = 0;  // of those, in verifications that matched
  uint64_t max_ticks = 0;
};

class DetectEngine {
 public:
  DetectEngine(std::shared_ptr<const CompiledRuleSet> rules, const DetectSettings& settings, const EveSettings& eve);

  // Per-worker state (scratch, candidate buffers, one Hyperscan stream state per direction of
  // each of `stream_sessions` TCP sessions); allocated here, off the packet path.
  std::unique_ptr<DetectThread> make_thread(uint32_t stream_sessions = 0) const;

  // Inspects one decoded packet; writes up to out.size() alert events; returns how many.
  // `stream`, for a TCP packet the stream engine tracked, holds the bytes that became
  // contiguous in its direction: rules that inspect streams also match across segments there
  // (a match completed by this packet's bytes). `stream_only` skips the packet's own payload
  // and header-only rules (a further delivery of queued bytes for the same packet).
  size_t inspect(const Packet& packet, DetectThread& thread, std::span<AlertEvent> out,
                 const StreamUpdate* stream = nullptr, bool stream_only = false) const noexcept;

  // Inspects the application-layer transactions the packet's parsing produced (`app`'s
  // HTTP, DNS and TLS outputs) with the rules on their buffers; call after `inspect` for the
  // same packet (and after each further delivery). A rule alerts once per transaction, its
  // event carrying the transaction's id. Writes up to out.size() events; returns how many.
  size_t inspect_transactions(const Packet& packet, const AppLayer& app, DetectThread& thread,
                              std::span<AlertEvent> out) const noexcept;

  const CompiledRuleSet& rules() const noexcept { return *rules_; }

  // A hint for the next packet of a TCP flow with a session: loads the start of the Hyperscan
  // stream state of its direction into the cache. Only reads.
  static void prefetch_stream(const Flow& flow, bool to_server, const DetectThread& thread) noexcept;

 private:
  static constexpr uint32_t kMaxTxBuffers = 16;  // instances of one buffer kind per entry (DNS names, certificates)
  uint32_t tx_buffers(const TxView& view, BufferKind kind, DetectThread& thread, std::span<const uint8_t>* out,
                      uint32_t max) const noexcept;
  bool section_matches_tx(const BufferSection& section, const TxView& view, int skip,
                          DetectThread& thread) const noexcept;
  bool tx_rule_matches(const Rule& rule, uint32_t index, const Packet& p, const TxView& view,
                       DetectThread& thread) const noexcept;
  size_t inspect_tx(const Packet& p, const TxView& view, DetectThread& thread, std::span<AlertEvent> out) const noexcept;
  bool rule_matches(const Rule& rule, uint32_t index, const Packet& p, std::span<const uint8_t> payload,
                    DetectThread& thread) const noexcept;
  bool on_match(const Rule& rule, uint32_t index, const Packet& p, DetectThread& thread, std::span<AlertEvent> out,
                size_t& produced) const noexcept;
  void scan_stream(const Packet& p, const StreamUpdate& stream, const PrefilterGroup& group,
                   const SignatureGroup& members, bool for_packet_too, DetectThread& thread) const noexcept;
  // `tag`: sets the tags of a rule that alerted; counts the packet against the tags in force
  // and appends its "Tagged Packet" event at out[produced] when it is tagged.
  void set_tags(const Rule& rule, const Packet& p, DetectThread& thread) const noexcept;
  size_t tag_packet(const Packet& p, DetectThread& thread, std::span<AlertEvent> out, size_t produced) const noexcept;

  std::shared_ptr<const CompiledRuleSet> rules_;
  DetectSettings settings_;
  EveSettings eve_;
  // threshold/detection_filter/rate_filter state, one for every thread (made with the first).
  mutable std::once_flag thresholds_once_;
  mutable std::shared_ptr<ThresholdTable> thresholds_;
  // xbits state, one for every thread (made with the first, when some rule has xbits).
  mutable std::once_flag xbits_once_;
  mutable std::shared_ptr<XbitsTable> xbits_;
};

class DetectThread {
 public:
  static constexpr uint32_t kNoRule = UINT32_MAX;

  ~DetectThread();
  const DetectCounters& counters() const noexcept { return counters_; }
  // Alerts raised by rule i (CompiledRuleSet order) since the start, across reloads; readable
  // from another thread (relaxed atomic loads of what the worker stores).
  uint64_t rule_alerts(size_t rule) const noexcept {
    return std::atomic_ref<uint64_t>(const_cast<uint64_t&>(rule_alerts_[rule])).load(std::memory_order_relaxed);
  }

  // Reload (control plane, before the thread is published): this thread serves rule-set
  // generation `generation`; `old_to_new` maps each rule of the previous generation to its
  // index here (kNoRule: gone; it must outlive the thread), for the flows' part-matched
  // transactions.
  void set_generation(uint32_t generation, std::span<const uint32_t> old_to_new) noexcept;
  uint32_t generation() const noexcept { return generation_; }
  // Reload (the worker, between bursts, when it moves from `previous` to this thread): the
  // counters continue, per-rule alerts and profile entries follow their rule
  // (`previous_index[i]`: rule i's index in the previous set, kNoRule: new), host tags move
  // over. Threshold and detection_filter counting starts afresh. Never allocates.
  void carry_over(DetectThread& previous, std::span<const uint32_t> previous_index) noexcept;
  // One entry per rule (in CompiledRuleSet order), or empty when profiling is off.
  std::span<const RuleProfile> profile(size_t rule_count) const noexcept {
    return profile_ ? std::span<const RuleProfile>(profile_.get(), rule_count) : std::span<const RuleProfile>();
  }

 private:
  friend class DetectEngine;
  DetectThread() = default;
  HsScratch scratch_;
  std::vector<uint32_t> candidates_;   // reserved to the rule count
  std::vector<uint32_t> header_candidates_;  // rules without fast pattern that the address index kept
  std::vector<uint32_t> seen_stamp_;   // per rule: last packet stamp it was queued in
  std::vector<uint32_t> stream_candidates_;  // rules the stream scan (or no literal) selected
  std::vector<uint32_t> stream_seen_;        // per rule: last packet stamp of the stream scan
  std::vector<hs_stream_t*> streams_;        // [(session - 1) * 2 + (to_server ? 0 : 1)]
  std::vector<uint64_t> stream_owner_;       // flow_id each stream state belongs to
  std::shared_ptr<ThresholdTable> thresholds_;  // the engine's, when some rule has a threshold
  std::shared_ptr<XbitsTable> xbits_;           // the engine's, when some rule has xbits
  std::unique_ptr<TagTable> host_tags_;         // only when some rule has a host tag
  std::unique_ptr<RegexScratch> regex_;
  std::unique_ptr<RuleProfile[]> profile_;
  std::unique_ptr<uint64_t[]> rule_alerts_;  // per rule
  size_t rule_count_ = 0;
  uint32_t generation_ = 0;            // Flow::detect_generation of the flows this thread touched
  std::span<const uint32_t> old_to_new_;  // previous generation's rule -> this one's (kNoRule: gone)
  uint32_t stamp_ = 0;
  // Application layer: candidates per transaction entry, their stamps, transform and
  // http.start scratch.
  static constexpr uint32_t kStartBuffer = 32 * 1024;
  std::vector<uint32_t> tx_candidates_;
  std::vector<uint32_t> tx_seen_;
  uint32_t tx_stamp_ = 0;
  std::unique_ptr<TransformScratch> transform_;
  std::unique_ptr<uint8_t[]> start_buffer_;
  DetectCounters counters_;
};

}  // namespace eastwatch

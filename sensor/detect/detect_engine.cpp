#include "sensor/detect/detect_engine.hpp"

#include <x86intrin.h>

#include <algorithm>
#include <cstring>

#include "sensor/detect/content_inspect.hpp"
#include "sensor/detect/packet_tests.hpp"
#include "sensor/detect/rule_match.hpp"
#include "sensor/flow/flow.hpp"
#include "signatures/transforms.hpp"

namespace eastwatch {

using namespace detail;

namespace {

PrefilterGroupId group_of(const Packet& p) noexcept {
  if (!p.has_transport) return PrefilterGroupId::OtherIp;
  switch (p.ip_proto) {
    case 6: return PrefilterGroupId::Tcp;
    case 17: return PrefilterGroupId::Udp;
    case 1:
    case 58: return PrefilterGroupId::Icmp;
    default: return PrefilterGroupId::OtherIp;
  }
}

struct ScanContext {
  const PrefilterGroup* group;
  const SignatureGroup* members;
  std::vector<uint32_t>* candidates;
  std::vector<uint32_t>* seen;
  uint32_t stamp;
};

int on_fast_pattern(unsigned int id, unsigned long long, unsigned long long, unsigned int, void* context) {
  auto* scan = static_cast<ScanContext*>(context);
  const PrefilterGroup& group = *scan->group;
  for (uint32_t i = group.pattern_rule_offsets[id]; i < group.pattern_rule_offsets[id + 1]; ++i) {
    const uint32_t rule = group.pattern_rules[i];
    if (!scan->members->contains(rule)) continue;  // its ports or direction cannot match
    uint32_t& seen = (*scan->seen)[rule];
    if (seen == scan->stamp) continue;
    seen = scan->stamp;
    scan->candidates->push_back(rule);  // capacity reserved to the rule count: never reallocates
  }
  return 0;
}

struct StreamScanContext {
  const PrefilterGroup* group;
  const SignatureGroup* members;
  std::span<const Rule> rules;
  std::vector<uint32_t>* candidates;
  std::vector<uint32_t>* seen;
  uint32_t stamp;
  bool for_packet_too;  // the scan also stands for the packet's own block scan
};

int on_stream_pattern(unsigned int id, unsigned long long, unsigned long long, unsigned int, void* context) {
  auto* scan = static_cast<StreamScanContext*>(context);
  const PrefilterGroup& group = *scan->group;
  for (uint32_t i = group.pattern_rule_offsets[id]; i < group.pattern_rule_offsets[id + 1]; ++i) {
    const uint32_t rule = group.pattern_rules[i];
    const Rule& r = scan->rules[rule];
    if (!scan->for_packet_too && (r.protocol != RuleProtocol::Tcp || r.stream == Rule::StreamMode::PacketOnly)) {
      continue;
    }
    if (!scan->members->contains(rule)) continue;
    uint32_t& seen = (*scan->seen)[rule];
    if (seen == scan->stamp) continue;
    seen = scan->stamp;
    scan->candidates->push_back(rule);
  }
  return 0;
}

}  // namespace

void DetectEngine::scan_stream(const Packet& p, const StreamUpdate& stream, const PrefilterGroup& group,
                               const SignatureGroup& members, bool for_packet_too,
                               DetectThread& thread) const noexcept {
  auto& candidates = thread.stream_candidates_;
  const uint32_t slot = (p.flow->stream_session - 1) * 2 + (stream.to_server ? 0 : 1);
  if (group.stream_database != nullptr && thread.scratch_ && slot < thread.streams_.size()) {
    hs_stream_t* hs = thread.streams_[slot];
    if (thread.stream_owner_[slot] != p.flow->flow_id) {  // the slot's previous flow ended
      hs_reset_stream(hs, 0, nullptr, nullptr, nullptr);
      thread.stream_owner_[slot] = p.flow->flow_id;
    }
    StreamScanContext context{&group,           &members, rules_->rules(), &candidates, &thread.stream_seen_,
                              thread.stamp_, for_packet_too};
    for (const StreamSpan& span : stream.span_list()) {
      // Bytes were skipped before this span: nothing may match across the hole.
      if (span.gap) hs_reset_stream(hs, 0, nullptr, nullptr, nullptr);
      hs_scan_stream(hs, reinterpret_cast<const char*>(span.data), span.len, 0, thread.scratch_.get(),
                     on_stream_pattern, &context);
      ++thread.counters_.stream_scans;
    }
    std::sort(candidates.begin(), candidates.end());
  } else if (slot >= thread.streams_.size()) {
    ++thread.counters_.stream_unscanned;
  }
  thread.counters_.stream_candidates += candidates.size();
  // Stream rules without a literal: verified whenever the stream grows (rare: negated-only
  // contents, byte tests, pcres).
  if (!group.stream_unprefiltered.empty()) {
    const size_t literal_hits = candidates.size();
    for (uint32_t rule : group.stream_unprefiltered) {
      if (members.contains(rule)) candidates.push_back(rule);
    }
    std::inplace_merge(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(literal_hits),
                       candidates.end());
  }
}

void DetectEngine::set_tags(const Rule& rule, const Packet& p, DetectThread& thread) const noexcept {
  for (const TagOption& tag : rule.tags) {
    bool added = true;
    if (tag.scope == TagOption::Scope::Host) {
      if (!thread.host_tags_) continue;
      added = thread.host_tags_->add(tag.by_src ? p.src : p.dst, tag, rule.sid, rule.gid, p.ts_usec);
      thread.counters_.tag_evicted = thread.host_tags_->evicted();
    } else if (p.flow != nullptr) {
      added = add_tag(p.flow->tags, p.flow->tag_count, Flow::kMaxTags, tag, rule.sid, rule.gid, p.ts_usec);
    }
    if (!added) ++thread.counters_.tag_dropped;
  }
}

size_t DetectEngine::tag_packet(const Packet& p, DetectThread& thread, std::span<AlertEvent> out,
                                size_t produced) const noexcept {
  const bool session = p.flow != nullptr && p.flow->tag_count != 0;
  const bool host = thread.host_tags_ && thread.host_tags_->active() != 0;
  if (!session && !host) return produced;  // the common case: two loads and out
  // Every list counts the packet (as Suricata), even when an earlier one tagged it already.
  bool tagged = session && advance_tags(p.flow->tags, p.flow->tag_count, p.caplen, p.ts_usec);
  if (host && thread.host_tags_->advance(p.src, p.dst, p.caplen, p.ts_usec)) tagged = true;
  if (!tagged) return produced;
  if (produced >= out.size()) {
    ++thread.counters_.alert_queue_overflow;
    return produced;
  }
  fill_event(out[produced++], rules_->tag_rule(), p, eve_);
  ++thread.counters_.alert;
  ++thread.counters_.tagged_packets;
  return produced;
}

void DetectEngine::prefetch_stream(const Flow& flow, bool to_server, const DetectThread& thread) noexcept {
  if (flow.stream_session == 0) return;
  const size_t slot = (size_t{flow.stream_session} - 1) * 2 + (to_server ? 0 : 1);
  if (slot >= thread.streams_.size()) return;
  const char* state = reinterpret_cast<const char*>(thread.streams_[slot]);
  __builtin_prefetch(state);
  __builtin_prefetch(state + 64);
}

DetectThread::~DetectThread() {
  for (hs_stream_t* stream : streams_) hs_close_stream(stream, scratch_.get(), nullptr, nullptr);
}

void DetectThread::set_generation(uint32_t generation, std::span<const uint32_t> old_to_new) noexcept {
  generation_ = generation;
  old_to_new_ = old_to_new;
}

void DetectThread::carry_over(DetectThread& previous, std::span<const uint32_t> previous_index) noexcept {
  counters_ = previous.counters_;
  const size_t count = std::min(rule_count_, previous_index.size());
  for (size_t i = 0; i < count; ++i) {
    const uint32_t from = previous_index[i];
    if (from == kNoRule || from >= previous.rule_count_) continue;
    std::atomic_ref<uint64_t>(rule_alerts_[i]).store(previous.rule_alerts_[from], std::memory_order_relaxed);
    if (profile_ && previous.profile_) profile_[i] = previous.profile_[from];
  }
  if (host_tags_ && previous.host_tags_) std::swap(host_tags_, previous.host_tags_);
  // Threshold counts (keyed by gid:sid) go on: a reload does not reopen every window. Every
  // thread of the previous set shared one table, so every thread of this one shares it too.
  if (thresholds_ && previous.thresholds_) thresholds_ = previous.thresholds_;
  // The Hyperscan stream states here are new (owner 0): each session's stream scan restarts
  // at its next bytes, with this set's database.
}

DetectEngine::DetectEngine(std::shared_ptr<const CompiledRuleSet> rules, const DetectSettings& settings,
                           const EveSettings& eve)
    : rules_(std::move(rules)), settings_(settings), eve_(eve) {}

std::unique_ptr<DetectThread> DetectEngine::make_thread(uint32_t stream_sessions) const {
  std::unique_ptr<DetectThread> thread(new DetectThread());
  auto scratch = rules_->allocate_scratch();
  if (scratch) thread->scratch_ = std::move(*scratch);
  const size_t rule_count = rules_->rules().size();
  thread->candidates_.reserve(rule_count);
  thread->header_candidates_.reserve(rule_count);
  thread->stream_candidates_.reserve(rule_count);
  thread->seen_stamp_.assign(rule_count, 0);
  thread->stream_seen_.assign(rule_count, 0);
  // One Hyperscan stream state per session direction, opened here and reset on reuse.
  if (const hs_database_t* database = rules_->prefilter(PrefilterGroupId::Tcp).stream_database) {
    thread->streams_.reserve(size_t{stream_sessions} * 2);
    for (uint32_t i = 0; i < stream_sessions * 2; ++i) {
      hs_stream_t* stream = nullptr;
      if (hs_open_stream(database, 0, &stream) != HS_SUCCESS) break;
      thread->streams_.push_back(stream);
    }
    thread->stream_owner_.assign(thread->streams_.size(), 0);
  }
  thread->regex_ = std::make_unique<RegexScratch>();
  if (rules_->has_app_rules()) {
    thread->tx_candidates_.reserve(rule_count);
    thread->tx_seen_.assign(rule_count, 0);
    thread->transform_ = std::make_unique<TransformScratch>();
    thread->start_buffer_ = std::make_unique_for_overwrite<uint8_t[]>(DetectThread::kStartBuffer);
  }
  if (settings_.profile_rules) thread->profile_ = std::make_unique<RuleProfile[]>(rule_count);
  thread->rule_alerts_ = std::make_unique<uint64_t[]>(rule_count);  // zeroed
  thread->rule_count_ = rule_count;
  const auto rules = rules_->rules();
  if (std::any_of(rules.begin(), rules.end(),
                  [](const Rule& r) { return r.threshold.has_value() || r.rate_filter.has_value(); })) {
    // One table for every thread: a source's matches count once whichever worker they reach.
    std::call_once(thresholds_once_, [&] { thresholds_ = std::make_shared<ThresholdTable>(); });
    thread->thresholds_ = thresholds_;
  }
  if (std::any_of(rules.begin(), rules.end(), [](const Rule& r) { return !r.xbits.empty(); })) {
    std::call_once(xbits_once_, [&] { xbits_ = std::make_shared<XbitsTable>(settings_.xbits_table_size); });
    thread->xbits_ = xbits_;
  }
  if (std::any_of(rules.begin(), rules.end(), [](const Rule& r) {
        return std::any_of(r.tags.begin(), r.tags.end(),
                           [](const TagOption& t) { return t.scope == TagOption::Scope::Host; });
      })) {
    thread->host_tags_ = std::make_unique<TagTable>();
  }
  return thread;
}

bool DetectEngine::rule_matches(const Rule& rule, uint32_t index, const Packet& p, std::span<const uint8_t> payload,
                                DetectThread& thread) const noexcept {
  if (!header_matches(rule, p)) return false;
  if ((rule.app_proto != AppProto::Unknown || rule.app_layer_protocol || !rule.services.empty()) &&
      !app_layer_matches(rule, p)) {
    return false;
  }
  if (!packet_tests_match(rule.packet, p)) return false;
  if (!rule.flowbits.empty() && !flowbit_conditions_hold(rule, p.flow)) return false;
  if (!rule.xbits.empty() && !xbit_conditions_hold(rule, p, thread.xbits_.get())) return false;
  if (rule.ftpbounce && !ftpbounce_matches(p, payload)) return false;
  for (size_t s = 0; s < rule.sections.size(); ++s) {
    const BufferSection& section = rule.sections[s];
    if (section.steps.empty()) continue;
    if (payload.empty()) return false;
    int skip = -1;
    if (rules_->fast_pattern_section(index) == static_cast<int16_t>(s)) {
      const int16_t fp = rules_->fast_pattern_content(index);  // -1: a pcre prefilter
      if (fp >= 0 && section.contents[static_cast<size_t>(fp)].fast_pattern_only) skip = fp;
    }
    InspectBudget budget;
    const bool matched = inspect_section(section, payload, skip, *thread.regex_, budget);
    if (budget.exhausted) ++thread.counters_.inspection_budget_exhausted;
    thread.counters_.pcre_limit_hit += budget.regex_limits_hit;
    if (!matched) return false;
  }
  return true;
}

// A rule matched: its flowbit actions, then pass (true: stop inspecting the packet), noalert,
// suppression, threshold, rate_filter and tags decide whether out[produced] gets its alert.
bool DetectEngine::on_match(const Rule& rule, uint32_t index, const Packet& p, DetectThread& thread,
                            std::span<AlertEvent> out, size_t& produced) const noexcept {
  if (!rule.flowbits.empty() && !apply_flowbit_actions(rule, p.flow)) ++thread.counters_.flowbits_dropped;
  if (!rule.xbits.empty()) thread.counters_.xbits_table_full += apply_xbit_actions(rule, p, thread.xbits_.get());
  if (rule.action == RuleAction::Pass) {
    // As in Suricata: nothing ordered after a pass rule alerts on this packet, and the rest
    // of the flow is not inspected (it is still tracked and counted).
    if (p.flow != nullptr) p.flow->passed = true;
    return true;
  }
  if (rule.noalert) {
    if (!rule.tags.empty()) set_tags(rule, p, thread);  // Suricata tags on noalert matches too
    return false;
  }
  if (!rule.suppressions.empty() && suppressed(rule, p)) {
    ++thread.counters_.alerts_suppressed;
    return false;
  }
  if (rule.threshold && thread.thresholds_) {
    const bool allowed = thread.thresholds_->allow(ThresholdTable::rule_id(rule.gid, rule.sid), *rule.threshold, p.src,
                                                   p.dst, p.ts_usec, thread.counters_.threshold_evicted);
    if (!allowed) {
      ++thread.counters_.alerts_suppressed;
      return false;
    }
  }
  if (rule.rate_filter && thread.thresholds_ &&
      thread.thresholds_->rate_exceeded(ThresholdTable::rule_id(rule.gid, rule.sid), *rule.rate_filter, p.src, p.dst,
                                        p.ts_usec, thread.counters_.threshold_evicted)) {
    ++thread.counters_.rate_filtered;
    if (rule.rate_filter->new_action == RateFilterOption::NewAction::Pass) {
      ++thread.counters_.alerts_suppressed;
      return false;
    }
  }
  if (!rule.tags.empty()) set_tags(rule, p, thread);
  if (produced >= out.size()) {
    ++thread.counters_.alert_queue_overflow;
    return false;
  }
  fill_event(out[produced++], rule, p, eve_);
  if (p.flow != nullptr) p.flow->alerted = true;
  ++thread.counters_.alert;
  uint64_t& rule_alerts = thread.rule_alerts_[index];  // stored atomically: ctl rule-stats reads it
  std::atomic_ref<uint64_t>(rule_alerts).store(rule_alerts + 1, std::memory_order_relaxed);
  return false;
}

size_t DetectEngine::inspect(const Packet& p, DetectThread& thread, std::span<AlertEvent> out,
                             const StreamUpdate* stream, bool stream_only) const noexcept {
  if (p.ip_version == 0) return 0;
  if (p.flow != nullptr && p.flow->passed) {  // a pass rule matched earlier in this flow
    ++thread.counters_.passed_packets;
    return 0;
  }
  const bool has_ports = p.has_transport && (p.ip_proto == 6 || p.ip_proto == 17);
  const PrefilterGroupId protocol = group_of(p);
  const PrefilterGroup& group = rules_->prefilter(protocol);
  const SignatureGroup& members =
      rules_->group(protocol, p.to_server, has_ports ? (p.to_server ? p.dst_port : p.src_port) : 0);
  const auto rules = rules_->rules();
  if (++thread.stamp_ == 0) {  // the stamp wrapped: forget every old mark once
    std::fill(thread.seen_stamp_.begin(), thread.seen_stamp_.end(), 0);
    std::fill(thread.stream_seen_.begin(), thread.stream_seen_.end(), 0);
    thread.stamp_ = 1;
  }
  auto& candidates = thread.candidates_;
  candidates.clear();
  const std::span<const uint8_t> payload = stream_only ? std::span<const uint8_t>() : p.payload();
  // The reassembled stream of this packet's direction, when the stream engine delivered bytes.
  const bool stream_usable = stream != nullptr && stream->tracked && stream->span_count > 0 &&
                             !stream->window.empty() && p.flow != nullptr && p.flow->stream_session != 0 &&
                             protocol == PrefilterGroupId::Tcp;
  // In order, the new stream bytes are exactly this packet's payload: the streaming scan finds
  // every literal the block scan would (and those completed across the segment boundary), so
  // one scan serves the packet and the stream.
  const bool one_scan = stream_usable && !stream_only && group.stream_database != nullptr &&
                        stream->span_count == 1 && !stream->spans[0].gap && !payload.empty() &&
                        stream->spans[0].data == payload.data() && stream->spans[0].len == payload.size() &&
                        (p.flow->stream_session - 1) * 2 + 1 < thread.streams_.size();
  if (!payload.empty() && thread.scratch_) {
    ScanContext context{&group, &members, &candidates, &thread.seen_stamp_, thread.stamp_};
    for (const hs_database_t* database : {one_scan ? nullptr : group.database, group.regex_database}) {
      if (database == nullptr) continue;
      hs_scan(database, reinterpret_cast<const char*>(payload.data()), static_cast<unsigned>(payload.size()), 0,
              thread.scratch_.get(), on_fast_pattern, &context);
      ++thread.counters_.scans;
    }
    thread.counters_.prefilter_candidates += candidates.size();
  }
  std::sort(candidates.begin(), candidates.end());  // the few rules the fast patterns selected

  // Rules without a fast pattern: the address index narrows them to those whose address sets
  // can hold this packet, already in rule order.
  auto& header_candidates = thread.header_candidates_;
  header_candidates.clear();
  const HeaderOnlyRules& header_only = group.header_only;
  if (!header_only.rules.empty() && !stream_only) {
    const uint64_t* src = header_only.by_src.lookup(p.src);
    const uint64_t* dst = header_only.by_dst.lookup(p.dst);
    const uint64_t* src_reversed = header_only.by_src.lookup(p.dst);
    const uint64_t* dst_reversed = header_only.by_dst.lookup(p.src);
    const uint32_t words = header_only.by_src.words();
    for (uint32_t w = 0; w < words; ++w) {
      uint64_t bits = ((src[w] & dst[w]) | (src_reversed[w] & dst_reversed[w] & header_only.bidirectional[w])) &
                      members.header_only_mask[w];
      while (bits != 0) {
        const uint32_t j = w * 64 + static_cast<uint32_t>(__builtin_ctzll(bits));
        bits &= bits - 1;
        header_candidates.push_back(header_only.rules[j]);
      }
    }
  }
  // The new stream bytes scanned in streaming mode select the stream candidates, verified
  // against the direction's look-back window.
  auto& stream_candidates = thread.stream_candidates_;
  stream_candidates.clear();
  std::span<const uint8_t> window;
  if (stream_usable) {
    window = stream->window;
    scan_stream(p, *stream, group, members, one_scan, thread);
  }
  if (candidates.empty() && header_candidates.empty() && stream_candidates.empty()) {
    return stream_only ? 0 : tag_packet(p, thread, out, 0);
  }

  size_t produced = 0;
  const uint32_t limit = std::min<uint32_t>(settings_.max_alerts_per_packet, static_cast<uint32_t>(out.size()));
  // The candidate lists are sorted: walk them merged, in rule order; a rule in several is
  // checked once on the packet and once on the stream, and alerts at most once.
  size_t next_fast = 0;
  size_t next_header = 0;
  size_t next_stream = 0;
  constexpr uint32_t kEnd = UINT32_MAX;
  while (true) {
    const uint32_t fast = next_fast < candidates.size() ? candidates[next_fast] : kEnd;
    const uint32_t header = next_header < header_candidates.size() ? header_candidates[next_header] : kEnd;
    const uint32_t on_stream = next_stream < stream_candidates.size() ? stream_candidates[next_stream] : kEnd;
    const uint32_t index = std::min({fast, header, on_stream});
    if (index == kEnd) break;
    const Rule& rule = rules[index];
    const bool packet_candidate = fast == index || header == index || (one_scan && on_stream == index);
    const bool stream_candidate = on_stream == index && rule.protocol == RuleProtocol::Tcp &&
                                  rule.stream != Rule::StreamMode::PacketOnly;
    while (next_fast < candidates.size() && candidates[next_fast] == index) ++next_fast;
    if (header == index) ++next_header;
    while (next_stream < stream_candidates.size() && stream_candidates[next_stream] == index) ++next_stream;
    auto verify = [&]() noexcept {
      if (!rule.packet.stream_size.empty() &&
          !stream_size_matches(rule.packet.stream_size, stream != nullptr ? stream->session : nullptr)) {
        return false;
      }
      if (packet_candidate && rule.stream != Rule::StreamMode::StreamOnly &&
          rule_matches(rule, index, p, payload, thread)) {
        return true;
      }
      if (stream_candidate && rule_matches(rule, index, p, window, thread)) {
        ++thread.counters_.stream_matches;
        return true;
      }
      return false;
    };
    bool matched = false;
    if (thread.profile_) {
      const uint64_t started = __rdtsc();
      matched = verify();
      RuleProfile& profile = thread.profile_[index];
      const uint64_t ticks = __rdtsc() - started;
      ++profile.checks;
      profile.ticks += ticks;
      if (ticks > profile.max_ticks) profile.max_ticks = ticks;
      if (matched) {
        ++profile.matches;
        profile.match_ticks += ticks;
      }
    } else {
      matched = verify();
    }
    if (!matched) continue;
    if (on_match(rule, index, p, thread, out.first(limit), produced)) break;
  }
  return stream_only ? produced : tag_packet(p, thread, out, produced);
}

}  // namespace eastwatch

// Detection on application-layer transactions: the HTTP, DNS and TLS buffers a packet's
// parsing produced (sticky buffers), with Suricata's semantics (see detect_engine.hpp).
//
// Each transaction entry of the packet offers the buffers of one or two stages (HTTP request
// headers and a first body piece, say). Every buffer variant (kind + transforms) with a
// database is scanned once over the buffers present; the rules it selects, the protocol's rules
// without a prefilter and the rules part-way through this transaction (Flow::tx_matches) are
// verified in rule order. A rule's sections are checked stage by stage; the stages it matched
// are remembered in the flow until its last stage arrives, so a rule on http.uri and
// http.stat_code alerts on the response of the request whose URI matched, once per transaction.
#include <algorithm>
#include <cstring>

#include "sensor/applayer/app_layer.hpp"
#include "sensor/applayer/dns_parser.hpp"
#include "sensor/applayer/http_parser.hpp"
#include "sensor/applayer/tls_parser.hpp"
#include "sensor/detect/content_inspect.hpp"
#include "sensor/detect/detect_engine.hpp"
#include "sensor/detect/packet_tests.hpp"
#include "sensor/detect/rule_match.hpp"
#include "sensor/flow/flow.hpp"
#include "signatures/transforms.hpp"

namespace eastwatch {

using namespace detail;

// One transaction entry of the packet, whatever its protocol.
struct TxView {
  AppTxProtocol protocol = AppTxProtocol::Count;
  bool request_side = true;
  uint64_t tx_id = 0;
  uint8_t stages = 0;  // stage bits whose buffers are in this entry
  bool body_start = true;  // the body piece starts the body (offset 0)
  bool body_end = true;    // the body piece ends it
  bool carried = false;    // the entry carries its side's header buffers again (HttpTransaction::carried)
  const HttpTransaction* http = nullptr;
  const DnsTransaction* dns = nullptr;
  const TlsEntry* tls = nullptr;
};

namespace {

constexpr uint8_t stage_bit(uint8_t stage) noexcept { return static_cast<uint8_t>(1u << stage); }


constexpr uint64_t kHttpRequestHeaders = http_bit(HttpBuffer::Method) | http_bit(HttpBuffer::Uri) |
                                         http_bit(HttpBuffer::RequestLine) | http_bit(HttpBuffer::RequestHeaders);
constexpr uint64_t kHttpResponseHeaders = http_bit(HttpBuffer::StatusCode) | http_bit(HttpBuffer::ResponseLine) |
                                          http_bit(HttpBuffer::ResponseHeaders);

TxView http_view(const HttpTransaction& tx) noexcept {
  TxView view;
  view.protocol = AppTxProtocol::Http;
  view.request_side = tx.request_side;
  view.tx_id = tx.tx_id;
  view.http = &tx;
  const uint64_t present = tx.complete | tx.progress;
  const HttpBuffer body = tx.request_side ? HttpBuffer::RequestBody : HttpBuffer::ResponseBody;
  const uint8_t base = tx.request_side ? 0 : 2;
  if (present & (tx.request_side ? kHttpRequestHeaders : kHttpResponseHeaders)) view.stages |= stage_bit(base);
  if (tx.has(body) && !tx.get(body).empty()) view.stages |= stage_bit(base + 1);
  view.body_start = tx.body_offset == 0;
  view.body_end = (tx.complete & http_bit(body)) != 0;
  view.carried = tx.carried != 0;
  return view;
}

// The HTTP buffer of a kind on a side (Count: none there).
HttpBuffer http_buffer(BufferKind kind, bool request) noexcept {
  switch (kind) {
    case BufferKind::HttpUri: return request ? HttpBuffer::Uri : HttpBuffer::Count;
    case BufferKind::HttpUriRaw: return request ? HttpBuffer::UriRaw : HttpBuffer::Count;
    case BufferKind::HttpMethod: return request ? HttpBuffer::Method : HttpBuffer::Count;
    case BufferKind::HttpRequestLine: return request ? HttpBuffer::RequestLine : HttpBuffer::Count;
    case BufferKind::HttpHost: return request ? HttpBuffer::Host : HttpBuffer::Count;
    case BufferKind::HttpHostRaw: return request ? HttpBuffer::HostRaw : HttpBuffer::Count;
    case BufferKind::HttpUserAgent: return request ? HttpBuffer::UserAgent : HttpBuffer::Count;
    case BufferKind::HttpAccept: return request ? HttpBuffer::Accept : HttpBuffer::Count;
    case BufferKind::HttpAcceptEnc: return request ? HttpBuffer::AcceptEncoding : HttpBuffer::Count;
    case BufferKind::HttpAcceptLang: return request ? HttpBuffer::AcceptLanguage : HttpBuffer::Count;
    case BufferKind::HttpReferer: return request ? HttpBuffer::Referer : HttpBuffer::Count;
    case BufferKind::HttpConnection: return request ? HttpBuffer::Connection : HttpBuffer::Count;
    case BufferKind::HttpRequestBody: return request ? HttpBuffer::RequestBody : HttpBuffer::Count;
    case BufferKind::HttpProtocol: return request ? HttpBuffer::Protocol : HttpBuffer::ResponseProtocol;
    case BufferKind::HttpHeader: return request ? HttpBuffer::RequestHeaders : HttpBuffer::ResponseHeaders;
    case BufferKind::HttpHeaderRaw: return request ? HttpBuffer::RequestHeadersRaw : HttpBuffer::ResponseHeadersRaw;
    case BufferKind::HttpHeaderNames:
      return request ? HttpBuffer::RequestHeaderNames : HttpBuffer::ResponseHeaderNames;
    case BufferKind::HttpCookie: return request ? HttpBuffer::Cookie : HttpBuffer::SetCookie;
    case BufferKind::HttpContentType: return request ? HttpBuffer::ContentType : HttpBuffer::ResponseContentType;
    case BufferKind::HttpContentLen: return request ? HttpBuffer::ContentLength : HttpBuffer::ResponseContentLength;
    case BufferKind::HttpStatCode: return request ? HttpBuffer::Count : HttpBuffer::StatusCode;
    case BufferKind::HttpStatMsg: return request ? HttpBuffer::Count : HttpBuffer::StatusMessage;
    case BufferKind::HttpResponseLine: return request ? HttpBuffer::Count : HttpBuffer::ResponseLine;
    case BufferKind::HttpServer: return request ? HttpBuffer::Count : HttpBuffer::Server;
    case BufferKind::HttpLocation: return request ? HttpBuffer::Count : HttpBuffer::Location;
    case BufferKind::HttpResponseBody: return request ? HttpBuffer::Count : HttpBuffer::ResponseBody;
    case BufferKind::FileData: return request ? HttpBuffer::RequestBody : HttpBuffer::ResponseBody;
    default: return HttpBuffer::Count;
  }
}

bool is_body(BufferKind kind) noexcept {
  return kind == BufferKind::HttpRequestBody || kind == BufferKind::HttpResponseBody || kind == BufferKind::FileData;
}

// A section whose options say where in the buffer something is (an absolute offset, depth,
// startswith, bsize, endswith): on a body piece it can only be judged where the body starts
// (or ends); elsewhere its verdict would be about the piece, not the body.
bool needs_body_start(const BufferSection& section) noexcept {
  if (!section.bsizes.empty()) return true;
  for (const auto& c : section.contents) {
    if (!c.is_relative() && (c.offset || c.depth || c.startswith)) return true;
  }
  return false;
}
bool needs_body_end(const BufferSection& section) noexcept {
  if (!section.bsizes.empty()) return true;
  return std::any_of(section.contents.begin(), section.contents.end(), [](const ContentOption& c) { return c.endswith; });
}

}  // namespace

// The views of `kind` in the entry (several for DNS questions and TLS certificates); at most
// `max`. http.start is assembled in the thread's buffer.
uint32_t DetectEngine::tx_buffers(const TxView& view, BufferKind kind, DetectThread& thread,
                                  std::span<const uint8_t>* out, uint32_t max) const noexcept {
  auto bytes = [](ByteView v) { return std::span<const uint8_t>(v.data, v.len); };
  switch (view.protocol) {
    case AppTxProtocol::Http: {
      const HttpTransaction& tx = *view.http;
      if (kind == BufferKind::HttpStart) {
        // Suricata's http.start: the request or status line, then the header block as received.
        const ByteView line = tx.get(tx.request_side ? HttpBuffer::RequestLine : HttpBuffer::ResponseLine);
        const ByteView raw = tx.get(tx.request_side ? HttpBuffer::RequestHeadersRaw : HttpBuffer::ResponseHeadersRaw);
        if (line.empty()) return 0;
        uint8_t* start = thread.start_buffer_.get();
        uint32_t n = std::min<uint32_t>(line.len, DetectThread::kStartBuffer - 2);
        std::memcpy(start, line.data, n);
        start[n++] = '\r';
        start[n++] = '\n';
        const uint32_t rest = std::min<uint32_t>(raw.len, DetectThread::kStartBuffer - n);
        if (rest != 0) std::memcpy(start + n, raw.data, rest);
        out[0] = {start, n + rest};
        return 1;
      }
      const HttpBuffer b = http_buffer(kind, tx.request_side);
      if (b == HttpBuffer::Count || !tx.has(b)) return 0;
      out[0] = bytes(tx.get(b));
      return 1;
    }
    case AppTxProtocol::Dns: {
      if (kind != BufferKind::DnsQuery || !view.dns->request_side) return 0;
      uint32_t n = 0;
      for (const DnsQuestion& q : view.dns->question_list()) {
        if (n == max) break;
        out[n++] = bytes(q.name);
      }
      return n;
    }
    case AppTxProtocol::Tls: {
      const TlsEntry& tls = *view.tls;
      auto one = [&](TlsPart part, ByteView v) -> uint32_t {
        if (!tls.has(part) || v.empty()) return 0;
        out[0] = bytes(v);
        return 1;
      };
      switch (kind) {
        case BufferKind::TlsSni: return one(TlsPart::ClientHello, tls.sni);
        case BufferKind::Ja3Hash: return one(TlsPart::ClientHello, tls.ja3_hash);
        case BufferKind::Ja3String: return one(TlsPart::ClientHello, tls.ja3_string);
        case BufferKind::Ja3sHash: return one(TlsPart::ServerHello, tls.ja3s_hash);
        case BufferKind::Ja3sString: return one(TlsPart::ServerHello, tls.ja3s_string);
        case BufferKind::TlsCertSubject: return one(TlsPart::Certificate, tls.cert_subject);
        case BufferKind::TlsCertIssuer: return one(TlsPart::Certificate, tls.cert_issuer);
        case BufferKind::TlsCertSerial: return one(TlsPart::Certificate, tls.cert_serial);
        case BufferKind::TlsCertFingerprint: return one(TlsPart::Certificate, tls.cert_fingerprint);
        case BufferKind::TlsCerts: {
          if (!tls.has(TlsPart::Certificate)) return 0;
          uint32_t n = 0;
          for (const ByteView& cert : tls.cert_list()) {
            if (n == max) break;
            if (!cert.empty()) out[n++] = bytes(cert);
          }
          return n;
        }
        default: return 0;
      }
    }
    default: return 0;
  }
}

namespace {

struct TxScanContext {
  const BufferPrefilter* prefilter;
  std::vector<uint32_t>* candidates;
  std::vector<uint32_t>* seen;
  uint32_t stamp;
};

int on_buffer_pattern(unsigned int id, unsigned long long, unsigned long long, unsigned int, void* context) {
  auto* scan = static_cast<TxScanContext*>(context);
  const BufferPrefilter& prefilter = *scan->prefilter;
  for (uint32_t i = prefilter.pattern_rule_offsets[id]; i < prefilter.pattern_rule_offsets[id + 1]; ++i) {
    const uint32_t rule = prefilter.pattern_rules[i];
    uint32_t& seen = (*scan->seen)[rule];
    if (seen == scan->stamp) continue;
    seen = scan->stamp;
    scan->candidates->push_back(rule);  // capacity reserved to the rule count
  }
  return 0;
}

Flow::TxMatch* find_tx_match(Flow& flow, uint32_t rule, uint32_t tx) noexcept {
  for (uint8_t i = 0; i < flow.tx_match_count; ++i) {
    if (flow.tx_matches[i].rule == rule && flow.tx_matches[i].tx == tx) return &flow.tx_matches[i];
  }
  return nullptr;
}

// Records the stages a rule matched (or that it alerted) on transaction `tx`; false when an
// older entry had to make room.
bool remember_tx_match(Flow& flow, uint32_t rule, uint32_t tx, uint8_t stages, bool alerted) noexcept {
  if (Flow::TxMatch* m = find_tx_match(flow, rule, tx)) {
    m->stages = stages;
    m->alerted = alerted;
    return true;
  }
  bool replaced = false;
  Flow::TxMatch* slot = nullptr;
  if (flow.tx_match_count < Flow::kMaxTxMatches) {
    slot = &flow.tx_matches[flow.tx_match_count++];
  } else {
    slot = &flow.tx_matches[flow.tx_match_next];
    flow.tx_match_next = static_cast<uint8_t>((flow.tx_match_next + 1) % Flow::kMaxTxMatches);
    replaced = true;
  }
  *slot = Flow::TxMatch{rule, tx, stages, alerted};
  return !replaced;
}

}  // namespace

// Does `section` match any of the entry's buffers of its kind (after its transforms)?
bool DetectEngine::section_matches_tx(const BufferSection& section, const TxView& view, int skip,
                                      DetectThread& thread) const noexcept {
  std::span<const uint8_t> buffers[kMaxTxBuffers];
  const uint32_t count = tx_buffers(view, section.kind, thread, buffers, kMaxTxBuffers);
  if (count == 0) return false;
  if (is_body(section.kind)) {
    if (!view.body_start && needs_body_start(section)) return false;
    if (!view.body_end && needs_body_end(section)) return false;
  }
  for (uint32_t i = 0; i < count; ++i) {
    std::span<const uint8_t> buffer = buffers[i];
    if (!section.transforms.empty()) {
      const TransformOutput transformed = apply_transforms(section.transforms, buffer, *thread.transform_);
      if (transformed.truncated) ++thread.counters_.transform_truncated;
      buffer = transformed.data;
    }
    InspectBudget budget;
    const bool matched = inspect_section(section, buffer, skip, *thread.regex_, budget);
    if (budget.exhausted) ++thread.counters_.inspection_budget_exhausted;
    thread.counters_.pcre_limit_hit += budget.regex_limits_hit;
    if (matched) return true;
  }
  return false;
}

// Verifies an application-layer rule on one entry. True: the rule's last stage matched now.
bool DetectEngine::tx_rule_matches(const Rule& rule, uint32_t index, const Packet& p, const TxView& view,
                                   DetectThread& thread) const noexcept {
  if (!header_matches(rule, p)) return false;
  if ((rule.app_proto != AppProto::Unknown || rule.app_layer_protocol || !rule.services.empty()) &&
      !app_layer_matches(rule, p)) {
    return false;
  }
  if (!packet_tests_match(rule.packet, p)) return false;
  if (!rule.flowbits.empty() && !flowbit_conditions_hold(rule, p.flow)) return false;
  if (!rule.xbits.empty() && !xbit_conditions_hold(rule, p, thread.xbits_.get())) return false;
  const TxSide rule_side = rule_tx_side(rule);
  const TxSide side = view.request_side ? TxSide::Request : TxSide::Response;
  uint8_t needed = 0;
  for (size_t s = 0; s < rule.sections.size(); ++s) {
    if (rule.sections[s].kind != BufferKind::Payload) needed |= stage_bit(section_stage(rule, s, side));
  }
  // dns.opcode / tls.version only: any entry of the protocol.
  if (needed == 0) needed = static_cast<uint8_t>(view.stages & (~view.stages + 1));
  uint8_t available = view.stages;
  // A body piece after its headers' packet carries the header buffers again: a rule on both
  // (its fast pattern in the body) checks its header stage here.
  if (view.carried) {
    for (uint8_t body : {uint8_t{1}, uint8_t{3}}) {
      if ((needed & view.stages & stage_bit(body)) != 0) available |= stage_bit(body - 1);
    }
  }
  const uint8_t present = needed & available;
  if (present == 0) return false;
  const uint32_t tx = static_cast<uint32_t>(view.tx_id);
  Flow& flow = *p.flow;
  const Flow::TxMatch* earlier = find_tx_match(flow, index, tx);
  if (earlier != nullptr && earlier->alerted) return false;  // once per transaction
  uint8_t done = earlier != nullptr ? earlier->stages : 0;
  const uint8_t first_present = static_cast<uint8_t>(__builtin_ctz(present));
  if ((needed & (stage_bit(first_present) - 1) & ~done) != 0) return false;  // an earlier stage did not match

  const int16_t fp_section = rules_->fast_pattern_section(index);
  const int16_t fp_content = rules_->fast_pattern_content(index);
  const uint8_t before = done;
  for (uint8_t stage = first_present; stage < 4; ++stage) {
    if ((needed & stage_bit(stage)) == 0 || (done & stage_bit(stage)) != 0) continue;
    if ((present & stage_bit(stage)) == 0) break;  // a later stage, in a later packet
    bool all = true;
    for (size_t s = 0; s < rule.sections.size() && all; ++s) {
      const BufferSection& section = rule.sections[s];
      if (section.kind == BufferKind::Payload || section_stage(rule, s, side) != stage) continue;
      int skip = -1;
      if (fp_section == static_cast<int16_t>(s) && fp_content >= 0 &&
          section.contents[static_cast<size_t>(fp_content)].fast_pattern_only) {
        skip = fp_content;
      }
      all = section_matches_tx(section, view, skip, thread);
    }
    if (!all) break;
    done |= stage_bit(stage);
  }
  if (done != needed) {
    if (done != before && !remember_tx_match(flow, index, tx, done, false)) ++thread.counters_.tx_state_dropped;
    return false;
  }
  // Every app-layer stage matched: the value tests and the packet's own payload sections.
  if (rule.dns_opcode && (view.dns == nullptr || !rule.dns_opcode->matches(view.dns->opcode))) return false;
  if (!rule.tls_versions.empty()) {
    if (view.tls == nullptr) return false;
    const uint16_t version = view.request_side ? view.tls->client_version : view.tls->version;
    if (std::find(rule.tls_versions.begin(), rule.tls_versions.end(), version) == rule.tls_versions.end()) return false;
  }
  for (const auto& section : rule.sections) {
    if (section.kind != BufferKind::Payload || section.steps.empty()) continue;
    InspectBudget budget;
    if (!inspect_section(section, p.payload(), -1, *thread.regex_, budget)) return false;
  }
  // Stages that come in pieces (bodies) or twice (a two-sided rule) must not alert again.
  if ((needed & (stage_bit(1) | stage_bit(3))) != 0 || rule_side == TxSide::Either || earlier != nullptr) {
    if (!remember_tx_match(flow, index, tx, done, true)) ++thread.counters_.tx_state_dropped;
  }
  return true;
}

size_t DetectEngine::inspect_tx(const Packet& p, const TxView& view, DetectThread& thread,
                                std::span<AlertEvent> out) const noexcept {
  if (view.stages == 0) return 0;
  if (++thread.tx_stamp_ == 0) {
    std::fill(thread.tx_seen_.begin(), thread.tx_seen_.end(), 0);
    thread.tx_stamp_ = 1;
  }
  auto& candidates = thread.tx_candidates_;
  candidates.clear();
  const TxSide entry_side = view.request_side ? TxSide::Request : TxSide::Response;
  const auto prefilters = rules_->buffer_prefilters();
  for (const BufferPrefilter& prefilter : prefilters) {
    if (app_protocol_of(prefilter.kind) != view.protocol || !thread.scratch_) continue;
    if ((view.stages & stage_bit(buffer_stage(prefilter.kind, entry_side))) == 0) continue;
    std::span<const uint8_t> buffers[kMaxTxBuffers];
    const uint32_t count = tx_buffers(view, prefilter.kind, thread, buffers, kMaxTxBuffers);
    TxScanContext context{&prefilter, &candidates, &thread.tx_seen_, thread.tx_stamp_};
    for (uint32_t i = 0; i < count; ++i) {
      std::span<const uint8_t> buffer = buffers[i];
      if (!prefilter.transforms.empty()) {
        const TransformOutput transformed = apply_transforms(prefilter.transforms, buffer, *thread.transform_);
        if (transformed.truncated) ++thread.counters_.transform_truncated;
        buffer = transformed.data;
      }
      if (buffer.empty()) continue;
      for (const hs_database_t* database : {prefilter.database, prefilter.regex_database}) {
        if (database == nullptr) continue;
        hs_scan(database, reinterpret_cast<const char*>(buffer.data()), static_cast<unsigned>(buffer.size()), 0,
                thread.scratch_.get(), on_buffer_pattern, &context);
        ++thread.counters_.tx_scans;
      }
    }
  }
  auto add = [&](uint32_t rule) {
    uint32_t& seen = thread.tx_seen_[rule];
    if (seen == thread.tx_stamp_) return;
    seen = thread.tx_stamp_;
    candidates.push_back(rule);
  };
  for (uint32_t rule : rules_->app_unprefiltered(view.protocol)) add(rule);
  const uint32_t tx = static_cast<uint32_t>(view.tx_id);
  for (uint8_t i = 0; i < p.flow->tx_match_count; ++i) {
    const Flow::TxMatch& m = p.flow->tx_matches[i];
    if (m.tx == tx && !m.alerted) add(m.rule);
  }
  if (candidates.empty()) return 0;
  std::sort(candidates.begin(), candidates.end());
  thread.counters_.tx_candidates += candidates.size();

  const auto rules = rules_->rules();
  size_t produced = 0;
  for (uint32_t index : candidates) {
    const Rule& rule = rules[index];
    bool matched = false;
    if (thread.profile_) {
      const uint64_t started = __builtin_ia32_rdtsc();
      matched = tx_rule_matches(rule, index, p, view, thread);
      RuleProfile& profile = thread.profile_[index];
      const uint64_t ticks = __builtin_ia32_rdtsc() - started;
      ++profile.checks;
      profile.ticks += ticks;
      profile.max_ticks = std::max(profile.max_ticks, ticks);
      if (matched) {
        ++profile.matches;
        profile.match_ticks += ticks;
      }
    } else {
      matched = tx_rule_matches(rule, index, p, view, thread);
    }
    if (!matched) continue;
    const size_t before = produced;
    const bool stop = on_match(rule, index, p, thread, out, produced);
    if (produced > before) {
      out[produced - 1].has_tx = true;
      out[produced - 1].tx_id = view.tx_id;
    }
    if (stop) break;
  }
  return produced;
}

// The flow's part-matched transactions name rules by their index in the set of its generation:
// after a reload they are mapped to this set (entries of a rule that is gone are dropped), and
// forgotten when they are older than the previous set.
static void sync_tx_generation(Flow& flow, const DetectThread& thread, std::span<const uint32_t> old_to_new) noexcept {
  if (flow.detect_generation == thread.generation()) return;
  const bool mappable = flow.detect_generation != 0 && flow.detect_generation + 1 == thread.generation();
  uint8_t kept = 0;
  for (uint8_t i = 0; i < flow.tx_match_count; ++i) {
    const uint32_t rule = flow.tx_matches[i].rule;
    if (!mappable || rule >= old_to_new.size() || old_to_new[rule] == DetectThread::kNoRule) continue;
    flow.tx_matches[kept] = flow.tx_matches[i];
    flow.tx_matches[kept++].rule = old_to_new[rule];
  }
  flow.tx_match_count = kept;
  flow.tx_match_next = 0;
  flow.detect_generation = thread.generation();
}

size_t DetectEngine::inspect_transactions(const Packet& p, const AppLayer& app, DetectThread& thread,
                                          std::span<AlertEvent> out) const noexcept {
  if (p.flow == nullptr || p.flow->passed || !rules_->has_app_rules()) return 0;
  sync_tx_generation(*p.flow, thread, thread.old_to_new_);
  const std::span<AlertEvent> limited = out.first(std::min<size_t>(out.size(), settings_.max_alerts_per_packet));
  size_t produced = 0;
  for (const HttpTransaction& tx : app.http_output().transactions()) {
    produced += inspect_tx(p, http_view(tx), thread, limited.subspan(produced));
    if (p.flow->passed) return produced;
  }
  for (const DnsTransaction& tx : app.dns_output().transactions()) {
    TxView view;
    view.protocol = AppTxProtocol::Dns;
    view.request_side = tx.request_side;
    view.tx_id = tx.tx_id;
    view.stages = stage_bit(tx.request_side ? 0 : 2);
    view.dns = &tx;
    produced += inspect_tx(p, view, thread, limited.subspan(produced));
    if (p.flow->passed) return produced;
  }
  for (const TlsEntry& entry : app.tls_output().entries()) {
    TxView view;
    view.protocol = AppTxProtocol::Tls;
    view.request_side = p.to_server;
    view.tx_id = 0;  // a TLS session is one transaction, as in Suricata
    view.tls = &entry;
    if (entry.has(TlsPart::ClientHello)) view.stages |= stage_bit(0);
    if (entry.has(TlsPart::ServerHello)) view.stages |= stage_bit(2);
    if (entry.has(TlsPart::Certificate)) view.stages |= stage_bit(3);
    produced += inspect_tx(p, view, thread, limited.subspan(produced));
    if (p.flow->passed) return produced;
  }
  return produced;
}

}  // namespace eastwatch

#include "sensor/applayer/app_layer.hpp"

#include <algorithm>

#include "sensor/applayer/proto_detect.hpp"

namespace eastwatch {

namespace {

// Flow::app_detect bits: a direction done probing (matched or not), and a direction that
// matched nothing; kNoState: an HTTP flow the state pool could not take (counted once).
constexpr uint8_t kDoneToServer = 0x01, kDoneToClient = 0x02, kNoMatchToServer = 0x04, kNoMatchToClient = 0x08,
                  kNoState = 0x10;

constexpr uint32_t kNoSlot = 0xffffffffu;  // SlotPool<T>::kNone

uint8_t* buffers(const ZeroPages& pages) noexcept { return reinterpret_cast<uint8_t*>(pages.data()); }

uint32_t output_arena_bytes(const AppLayerSettings& s) {
  // Headers of a packet's transactions plus up to two bodies' limits, within [256 KiB, 32 MiB].
  const uint64_t bodies = 2 * std::max(s.http.request_body_limit, s.http.response_body_limit);
  return static_cast<uint32_t>(std::clamp<uint64_t>(bodies + 8ull * s.http.header_limit * 4, 256u << 10, 32u << 20));
}

}  // namespace

uint32_t AppLayer::http_pool_capacity(const AppLayerSettings& s) {
  const uint64_t per_state = sizeof(HttpState) + 2ull * s.http.header_limit;
  return static_cast<uint32_t>(std::min<uint64_t>(s.memcap / per_state, 1u << 24));
}
uint32_t AppLayer::tls_pool_capacity(const AppLayerSettings& s) {
  const uint64_t per_state = sizeof(TlsState) + 2ull * s.tls.handshake_limit;
  return static_cast<uint32_t>(std::min<uint64_t>(s.tls.memcap / per_state, 1u << 24));
}
uint32_t AppLayer::dns_pool_capacity(const AppLayerSettings& s) {
  const uint64_t per_state = sizeof(DnsTcpState) + 2ull * s.dns.tcp_buffer_size;
  return static_cast<uint32_t>(std::min<uint64_t>(s.dns.global_memcap / per_state, 1u << 24));
}

// The pools and their buffers are zero pages (sensor/util): a state and its buffers are
// backed when a flow first takes them, so start-up and exit cost nothing for unused ones.
AppLayer::AppLayer(const AppLayerSettings& settings)
    : settings_(settings),
      output_(output_arena_bytes(settings)),
      decompressors_(settings.http.decompressors, settings.http.compression_bomb_limit,
                     settings.http.compression_bomb_ratio),
      context_{settings_.http, counters_, output_, decompressors_},
      states_(http_pool_capacity(settings)),
      buffers_(2ull * settings.http.header_limit * states_.capacity()),
      tls_output_(4 * settings.tls.handshake_limit + (16u << 10)),  // a chain's DER, JA3 strings, names
      tls_context_{counters_.tls, tls_output_},
      tls_states_(tls_pool_capacity(settings)),
      tls_buffers_(2ull * settings.tls.handshake_limit * tls_states_.capacity()),
      dns_states_(dns_pool_capacity(settings)),
      dns_buffers_(2ull * settings.dns.tcp_buffer_size * dns_states_.capacity()) {}

AppLayer::~AppLayer() = default;

void AppLayer::process(Packet& packet, const StreamUpdate* stream) noexcept {
  output_.reset();
  tls_output_.reset();
  dns_output_.reset();
  Flow* flow = packet.flow;
  if (flow == nullptr || !settings_.enabled) return;
  if (stream != nullptr) {
    process_tcp(*flow, *stream);
  } else if (packet.is_udp()) {
    if (flow->app_proto == static_cast<uint8_t>(AppProto::Unknown)) detect_udp(*flow, packet);
    if (flow->app_proto == static_cast<uint8_t>(AppProto::Dns)) process_dns_udp(*flow, packet);
  }
}

void AppLayer::process_drained(Packet& packet, const StreamUpdate& stream) noexcept {
  if (packet.flow != nullptr && settings_.enabled) process_tcp(*packet.flow, stream);
}

void AppLayer::set_proto(Flow& flow, AppProto proto, bool udp) noexcept {
  flow.app_proto = static_cast<uint8_t>(proto);
  switch (proto) {
    case AppProto::Http: ++counters_.flow_http; break;
    case AppProto::Tls: ++counters_.flow_tls; break;
    case AppProto::Ssh: ++counters_.flow_ssh; break;
    case AppProto::Smb: ++counters_.flow_smb; break;
    case AppProto::Dns: ++(udp ? counters_.flow_dns_udp : counters_.flow_dns_tcp); break;
    case AppProto::Ftp: ++counters_.flow_ftp; break;
    case AppProto::Smtp: ++counters_.flow_smtp; break;
    case AppProto::Failed: ++(udp ? counters_.failed_udp : counters_.failed_tcp); break;
    case AppProto::Unknown: break;
  }
}

void AppLayer::detect_udp(Flow& flow, const Packet& packet) noexcept {
  const std::span<const uint8_t> payload(packet.data + packet.payload_offset, packet.payload_len);
  if (payload.empty()) return;
  const ProbeResult r = probe_udp(payload, flow.key.server_port);
  set_proto(flow, r.verdict == ProbeVerdict::Match ? r.proto : AppProto::Failed, true);
}

void AppLayer::detect_tcp(Flow& flow, const StreamUpdate& update) noexcept {
  const bool ts = update.to_server;
  const uint8_t done = ts ? kDoneToServer : kDoneToClient;
  if (flow.app_detect & done) return;
  if (update.span_count == 0) return;
  ProbeResult r;
  if (update.window_offset == 0 && !update.window.empty() && !update.spans[0].gap) {
    const size_t n = std::min<size_t>(update.window.size(), kProbeDepth);
    r = probe_tcp(update.window.first(n), ts, flow.key.server_port);
    if (r.verdict == ProbeVerdict::NeedMore && n >= kProbeDepth) r.verdict = ProbeVerdict::NoMatch;
  }  // else: the direction's start is out of sight: NoMatch
  if (r.verdict == ProbeVerdict::NeedMore) return;
  flow.app_detect |= done;
  if (r.verdict == ProbeVerdict::Match) {
    if (flow.app_proto == static_cast<uint8_t>(AppProto::Unknown)) set_proto(flow, r.proto, false);
    return;
  }
  flow.app_detect |= ts ? kNoMatchToServer : kNoMatchToClient;
  if ((flow.app_detect & (kNoMatchToServer | kNoMatchToClient)) == (kNoMatchToServer | kNoMatchToClient) &&
      flow.app_proto == static_cast<uint8_t>(AppProto::Unknown)) {
    set_proto(flow, AppProto::Failed, false);
  }
}

AppLayer::HttpState* AppLayer::http_state(Flow& flow) noexcept {
  if (flow.app_state != 0) return &states_[flow.app_state - 1];
  if (flow.app_detect & kNoState) return nullptr;
  const uint32_t index = states_.acquire();
  if (index == kNoSlot) {
    flow.app_detect |= kNoState;
    ++counters_.error_http_alloc;
    return nullptr;
  }
  HttpState& state = states_[index];
  state.parser.init(buffers(buffers_) + 2ull * settings_.http.header_limit * index, settings_.http.header_limit);
  state.consumed[0] = state.consumed[1] = 0;
  flow.app_state = index + 1;
  ++counters_.http_states_in_use;
  return &state;
}

void AppLayer::process_tcp(Flow& flow, const StreamUpdate& update) noexcept {
  if (!update.tracked) return;
  if (flow.app_proto == static_cast<uint8_t>(AppProto::Unknown)) detect_tcp(flow, update);
  if (flow.app_proto == static_cast<uint8_t>(AppProto::Tls)) return process_tls(flow, update);
  if (flow.app_proto == static_cast<uint8_t>(AppProto::Dns)) return process_dns_tcp(flow, update);
  if (flow.app_proto != static_cast<uint8_t>(AppProto::Http)) return;
  HttpState* state = http_state(flow);
  if (state == nullptr) return;
  const bool ts = update.to_server;
  HttpFlowParser& parser = state->parser;
  update.for_each_new(
      state->consumed[ts ? 0 : 1], [&](std::span<const uint8_t> bytes) { parser.feed(ts, bytes, context_); },
      [&](uint64_t length) { parser.gap(ts, length, context_); });
  if (update.done) state->parser.end(ts, context_);
}

void AppLayer::release(const Flow& flow) noexcept {
  if (flow.app_state == 0) return;
  if (flow.app_proto == static_cast<uint8_t>(AppProto::Dns)) {
    if (flow.key.ip_proto == 6) {  // UDP: app_state is the tx counter, no state
      dns_states_.release(flow.app_state - 1);
      --counters_.dns.tcp_states_in_use;
    }
    return;
  }
  if (flow.app_proto == static_cast<uint8_t>(AppProto::Tls)) {
    tls_states_.release(flow.app_state - 1);
    --counters_.tls.states_in_use;
    return;
  }
  const uint32_t index = flow.app_state - 1;
  states_[index].parser.release(context_);
  states_.release(index);  // the flow's fields are reset when the table reuses it
  --counters_.http_states_in_use;
}

const HttpEveData* AppLayer::http_eve(const Flow& flow) const noexcept {
  if (flow.app_proto != static_cast<uint8_t>(AppProto::Http)) return nullptr;
  return flow.app_state != 0 ? &states_[flow.app_state - 1].parser.eve() : nullptr;
}

AppLayer::TlsState* AppLayer::tls_state(Flow& flow) noexcept {
  if (flow.app_state != 0) return &tls_states_[flow.app_state - 1];
  if (flow.app_detect & kNoState) return nullptr;
  const uint32_t index = tls_states_.acquire();
  if (index == kNoSlot) {
    flow.app_detect |= kNoState;
    ++counters_.tls.error_alloc;
    return nullptr;
  }
  TlsState& state = tls_states_[index];
  state.parser.init(buffers(tls_buffers_) + 2ull * settings_.tls.handshake_limit * index, settings_.tls.handshake_limit);
  state.consumed[0] = state.consumed[1] = 0;
  flow.app_state = index + 1;
  ++counters_.tls.states_in_use;
  ++counters_.tls.tx;
  return &state;
}

void AppLayer::process_tls(Flow& flow, const StreamUpdate& update) noexcept {
  TlsState* state = tls_state(flow);
  if (state == nullptr) return;
  const bool ts = update.to_server;
  if (state->parser.done(ts)) return;
  TlsFlowParser& parser = state->parser;
  update.for_each_new(
      state->consumed[ts ? 0 : 1], [&](std::span<const uint8_t> bytes) { parser.feed(ts, bytes, tls_context_); },
      [&](uint64_t length) { parser.gap(ts, length, tls_context_); });
}

const TlsEveData* AppLayer::tls_eve(const Flow& flow) const noexcept {
  if (flow.app_proto != static_cast<uint8_t>(AppProto::Tls) || flow.app_state == 0) return nullptr;
  return &tls_states_[flow.app_state - 1].parser.eve();
}

// UDP: each datagram is one message; the flow's app_state counts its transactions.
void AppLayer::process_dns_udp(Flow& flow, const Packet& packet) noexcept {
  if (!settings_.dns.udp_enabled || packet.payload_len == 0) return;
  const std::span<const uint8_t> payload(packet.data + packet.payload_offset, packet.payload_len);
  if (parse_dns_message(payload, packet.to_server, flow.app_state, dns_output_, counters_.dns)) {
    ++flow.app_state;
    ++counters_.dns.tx_udp;
  } else {
    ++counters_.dns.error_udp_parser;
  }
}

void AppLayer::process_dns_tcp(Flow& flow, const StreamUpdate& update) noexcept {
  if (!settings_.dns.tcp_enabled) return;
  if (flow.app_state == 0) {
    if (flow.app_detect & kNoState) return;
    const uint32_t index = dns_states_.acquire();
    if (index == kNoSlot) {
      flow.app_detect |= kNoState;
      ++counters_.dns.error_tcp_alloc;
      return;
    }
    dns_states_[index].init(buffers(dns_buffers_) + 2ull * settings_.dns.tcp_buffer_size * index,
                            settings_.dns.tcp_buffer_size);
    flow.app_state = index + 1;
    ++counters_.dns.tcp_states_in_use;
  }
  dns_states_[flow.app_state - 1].feed_update(update, dns_output_, counters_.dns);
}

}  // namespace eastwatch

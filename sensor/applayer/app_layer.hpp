// The application layer, one per worker (`AppLayer`): protocol detection by content on each
// flow's first bytes, and the HTTP/1.x parser over each HTTP flow's reassembled streams.
//
// Contract:
//  - All memory is allocated in the constructor: a pool of HTTP flow states (parser state,
//    EVE facts and 2 x app-layer.http.header-limit bytes of header buffers each) sized by
//    app-layer.memcap, the decompressor pool, and the per-packet output (transactions and an
//    arena). The pools are zero pages built lazily (sensor/util/slot_pool.hpp): a state is
//    constructed, and its pages backed, when a flow first takes it. `process`, `process_drained` and `release` never allocate, lock, throw or log.
//  - `process` runs once per packet after the stream engine (stream: its update for a TCP
//    packet, else null) and first empties the HTTP output; `process_drained` runs for each
//    further update of the same packet (StreamUpdate::more). Detection then reads
//    `http_output()`: every view in it stays valid until the next `process` call.
//  - TCP detection reads the stream's look-back view while it still starts at offset 0 (up to
//    kProbeDepth bytes per direction); a direction that matches nothing within that, or whose
//    start was lost (gap), is done. The first match sets Flow::app_proto; both directions done
//    without one set AppProto::Failed (counted). UDP: each packet of a flow until decided; DNS
//    only (a UDP flow whose first packet in a direction is not DNS is failed).
//  - An HTTP flow gets a parser state when it is detected; a full pool is counted
//    (error.http.alloc) and the flow is then only detected, not parsed. `release` must be
//    called when the flow ends (the flow table's end callback): it frees the state.
//  - A TLS flow gets a TlsFlowParser state from a second pool (app-layer.tls.memcap; full:
//    error.tls.alloc); `tls_output()` lists, per packet, what its handshake yielded
//    (tls_parser.hpp), and `tls_eve` the flow's EVE `tls` facts.
//  - DNS (dns_parser.hpp): every UDP datagram of a DNS flow is a message; a DNS/TCP flow gets a
//    DnsTcpState from a third pool (app-layer.dns.global-memcap; full: error.dns_tcp.alloc).
//    `dns_output()` lists the packet's DNS transactions. A UDP DNS flow has no state: its
//    Flow::app_state counts its transactions (the next tx id).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>

#include "config/settings.hpp"
#include "sensor/applayer/app_layer_counters.hpp"
#include "sensor/applayer/app_proto.hpp"
#include "sensor/applayer/dns_parser.hpp"
#include "sensor/applayer/http_decompress.hpp"
#include "sensor/applayer/http_parser.hpp"
#include "sensor/applayer/tls_parser.hpp"
#include "sensor/decode/packet.hpp"
#include "sensor/flow/flow.hpp"
#include "sensor/stream/tcp_stream_engine.hpp"
#include "sensor/util/slot_pool.hpp"

namespace eastwatch {

class AppLayer {
 public:
  explicit AppLayer(const AppLayerSettings& settings);
  ~AppLayer();
  AppLayer(const AppLayer&) = delete;
  AppLayer& operator=(const AppLayer&) = delete;

  void process(Packet& packet, const StreamUpdate* stream) noexcept;
  void process_drained(Packet& packet, const StreamUpdate& stream) noexcept;
  void release(const Flow& flow) noexcept;

  // The HTTP transactions that progressed in the current packet.
  const HttpOutput& http_output() const noexcept { return output_; }
  // Whether detection reads the bytes of http_output()'s views (HttpContext::fill_bytes; true
  // at construction): the worker says no while its rule set has no application-layer rule.
  void set_output_read(bool read) noexcept { context_.fill_bytes = read; }
  // A hint for the next packet of an HTTP flow: loads the start of its parser state and its
  // stream offsets into the cache. Only reads.
  void prefetch(const Flow& flow) const noexcept {
    if (flow.app_state == 0 || flow.app_proto != static_cast<uint8_t>(AppProto::Http) ||
        flow.app_state > states_.capacity()) {
      return;
    }
    const HttpState* state = &states_[flow.app_state - 1];
    __builtin_prefetch(state);
    __builtin_prefetch(reinterpret_cast<const char*>(state) + 64);
    __builtin_prefetch(&state->consumed);
  }
  // The EVE `http` facts of the flow's latest transaction; null when the flow has no parser.
  const HttpEveData* http_eve(const Flow& flow) const noexcept;
  // The TLS handshake facts that became available in the current packet.
  const TlsOutput& tls_output() const noexcept { return tls_output_; }
  // The EVE `tls` facts of the flow; null when the flow has no TLS parser.
  const TlsEveData* tls_eve(const Flow& flow) const noexcept;
  // The DNS transactions parsed in the current packet.
  const DnsOutput& dns_output() const noexcept { return dns_output_; }

  const AppLayerCounters& counters() const noexcept { return counters_; }
  uint32_t http_capacity() const noexcept { return states_.capacity(); }
  uint32_t tls_capacity() const noexcept { return tls_states_.capacity(); }
  uint32_t dns_tcp_capacity() const noexcept { return dns_states_.capacity(); }

 private:
  struct HttpState {
    HttpFlowParser parser;
    uint64_t consumed[2] = {0, 0};  // stream offset parsed up to, per direction
  };

  void process_tcp(Flow& flow, const StreamUpdate& update) noexcept;
  void detect_tcp(Flow& flow, const StreamUpdate& update) noexcept;
  void detect_udp(Flow& flow, const Packet& packet) noexcept;
  void set_proto(Flow& flow, AppProto proto, bool udp) noexcept;
  HttpState* http_state(Flow& flow) noexcept;
  struct TlsState {
    TlsFlowParser parser;
    uint64_t consumed[2] = {0, 0};
  };
  void process_tls(Flow& flow, const StreamUpdate& update) noexcept;
  TlsState* tls_state(Flow& flow) noexcept;
  void process_dns_udp(Flow& flow, const Packet& packet) noexcept;
  void process_dns_tcp(Flow& flow, const StreamUpdate& update) noexcept;
  static uint32_t http_pool_capacity(const AppLayerSettings& settings);
  static uint32_t tls_pool_capacity(const AppLayerSettings& settings);
  static uint32_t dns_pool_capacity(const AppLayerSettings& settings);

  AppLayerSettings settings_;
  AppLayerCounters counters_;
  HttpOutput output_;
  HttpDecompressorPool decompressors_;
  HttpContext context_;
  SlotPool<HttpState> states_;
  ZeroPages buffers_;  // states_.capacity() x 2 x header-limit, touched when used
  // TLS: states, 2 x handshake-limit of buffer each (touched when used).
  TlsOutput tls_output_;
  TlsContext tls_context_;
  SlotPool<TlsState> tls_states_;
  ZeroPages tls_buffers_;
  // DNS: the per-packet output; DNS/TCP states, 2 x tcp.buffer-size each (touched when used).
  DnsOutput dns_output_;
  SlotPool<DnsTcpState> dns_states_;
  ZeroPages dns_buffers_;
};

}  // namespace eastwatch

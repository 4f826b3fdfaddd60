// A client/server TCP conversation driven through a real FlowTable and TcpStreamEngine:
// each call builds a packet (TCP header with options, payload) and returns the engine's update.
#pragma once

#include <deque>
#include <string>
#include <vector>

#include "sensor/flow/flow_table.hpp"
#include "sensor/flow/host_os_policy.hpp"
#include "sensor/stream/tcp_stream_engine.hpp"

namespace eastwatch::test {

inline constexpr uint8_t kSyn = tcp_flag::Syn, kAck = tcp_flag::Ack, kFin = tcp_flag::Fin, kRst = tcp_flag::Rst,
                         kPsh = tcp_flag::Psh;

class StreamHarness {
 public:
  explicit StreamHarness(StreamSettings settings = {}, OsPolicy policy = OsPolicy::Bsd)
      : policies_({}, policy), flows_(FlowSettings{}), engine_(settings, &policies_) {
    flows_.set_end_callback([this](const Flow& flow, FlowEndReason) { engine_.release(flow); });
  }

  // One packet; `options` are raw TCP option bytes (padded to 4 here).
  const StreamUpdate& send(bool to_server, uint8_t flags, uint32_t seq, uint32_t ack, const std::string& payload = "",
                           std::vector<uint8_t> options = {}, uint16_t window = 65535, uint16_t client_port = 40000) {
    Packet p = make(to_server, flags, seq, ack, payload, std::move(options), window, client_port);
    return run(p);
  }

  // Processes a packet built by make(); allocates nothing itself.
  const StreamUpdate& run(Packet& p) {
    p.ts_usec = ++clock_ * 1000;
    flows_.process(p);
    last_packet_ = p;
    engine_.process(p, update_);
    return update_;
  }

  // Builds a packet whose bytes live as long as the harness.
  Packet make(bool to_server, uint8_t flags, uint32_t seq, uint32_t ack, const std::string& payload = "",
              std::vector<uint8_t> options = {}, uint16_t window = 65535, uint16_t client_port = 40000) {
    while (options.size() % 4) options.push_back(1);
    std::vector<uint8_t>& b = buffers_.emplace_back();
    const uint16_t sport = to_server ? client_port : 80, dport = to_server ? 80 : client_port;
    auto u16 = [&](uint16_t v) { b.push_back(uint8_t(v >> 8)); b.push_back(uint8_t(v)); };
    auto u32 = [&](uint32_t v) { u16(uint16_t(v >> 16)); u16(uint16_t(v)); };
    u16(sport); u16(dport); u32(seq); u32(ack);
    b.push_back(uint8_t((5 + options.size() / 4) << 4));
    b.push_back(flags);
    u16(window); u16(0); u16(0);
    b.insert(b.end(), options.begin(), options.end());
    const uint32_t header = static_cast<uint32_t>(b.size());
    b.insert(b.end(), payload.begin(), payload.end());
    Packet p;
    p.data = b.data();
    p.caplen = p.wirelen = static_cast<uint32_t>(b.size());
    p.decoded = true;
    p.ip_version = 4;
    p.ip_proto = 6;
    p.has_transport = true;
    p.src = *IpAddress::parse(to_server ? "10.0.0.1" : "10.0.0.2");
    p.dst = *IpAddress::parse(to_server ? "10.0.0.2" : "10.0.0.1");
    p.src_port = sport;
    p.dst_port = dport;
    p.tcp_flags = flags;
    p.tcp_seq = seq;
    p.tcp_ack = ack;
    p.tcp_window = window;
    p.l4_offset = 0;
    p.payload_offset = header;
    p.payload_len = static_cast<uint32_t>(payload.size());
    return p;
  }

  // Client ISN `c`, server ISN `s`; leaves the session ESTABLISHED.
  void handshake(uint32_t c, uint32_t s, std::vector<uint8_t> syn_options = {}, std::vector<uint8_t> synack_options = {}) {
    send(true, kSyn, c, 0, "", syn_options);
    send(false, kSyn | kAck, s, c + 1, "", synack_options);
    send(true, kAck, c + 1, s + 1);
  }

  Flow& flow() { return *last_packet_.flow; }
  const TcpSession* session() { return engine_.session(flow()); }
  TcpStreamEngine& engine() { return engine_; }
  FlowTable& flows() { return flows_; }
  const StreamCounters& counters() { return engine_.counters(); }
  const Packet& last_packet() const { return last_packet_; }

 private:
  HostOsPolicyTable policies_;
  FlowTable flows_;
  TcpStreamEngine engine_;
  StreamUpdate update_;
  std::deque<std::vector<uint8_t>> buffers_;
  Packet last_packet_;
  int64_t clock_ = 1'000'000;
};

// The update's spans as one string; checks they are contiguous in stream offsets.
inline std::string bytes_of(const StreamUpdate& u, uint64_t* first_offset = nullptr) {
  std::string out;
  for (uint32_t i = 0; i < u.span_count; ++i) {
    const StreamSpan& s = u.spans[i];
    if (i == 0 && first_offset) *first_offset = s.offset;
    out.append(reinterpret_cast<const char*>(s.data), s.len);
  }
  return out;
}

}  // namespace eastwatch::test

// Session tracking: pools, Suricata's TCP state machine, RST validation, ACK and window
// bookkeeping. The reassembly itself is in tcp_reassembly.cpp.
#include "sensor/stream/tcp_stream_engine.hpp"

#include <algorithm>
#include <new>

#include "sensor/stream/detail/chunk.hpp"

namespace eastwatch {

namespace {

constexpr uint8_t kMaxWindowScale = 14;  // RFC 7323

struct TcpOptions {
  bool wscale_ok = false;
  uint8_t wscale = 0;
  bool sack_ok = false;
};

// The options of the packet's TCP header (the decoder already validated their lengths).
TcpOptions parse_options(const Packet& p) noexcept {
  TcpOptions out;
  if (p.data == nullptr || p.payload_offset < p.l4_offset + 20) return out;
  const uint8_t* h = p.data + p.l4_offset;
  const uint32_t header_length = p.payload_offset - p.l4_offset;
  for (uint32_t i = 20; i < header_length;) {  // each step advances by at least one byte
    const uint8_t kind = h[i];
    if (kind == 0) break;
    if (kind == 1) {
      ++i;
      continue;
    }
    if (i + 1 >= header_length) break;
    const uint8_t length = h[i + 1];
    if (length < 2 || i + length > header_length) break;
    if (kind == 3 && length == 3) {
      out.wscale_ok = true;
      out.wscale = std::min<uint8_t>(h[i + 2], kMaxWindowScale);
    } else if (kind == 4 && length == 2) {
      out.sack_ok = true;
    }
    i += length;
  }
  return out;
}

void init_direction(TcpDirection& d, uint32_t isn, OsPolicy policy) noexcept {
  d = TcpDirection{};
  d.isn = isn;
  d.next_seq = isn + 1;
  d.max_seq = isn + 1;
  d.policy = policy;
}

bool has(uint8_t flags, uint8_t bits) noexcept { return (flags & bits) == bits; }

}  // namespace

TcpStreamEngine::TcpStreamEngine(const StreamSettings& settings, const HostOsPolicyTable* policies)
    : settings_(settings), policies_(policies) {
  window_bytes_ = 2 * std::max<uint32_t>(settings.reassembly.inspect_window, 1);
  session_bytes_ = sizeof(TcpSession) + 2ull * window_bytes_;
  session_capacity_ = static_cast<uint32_t>(std::clamp<uint64_t>(settings.memcap / session_bytes_, 16, 1u << 24));
  chunk_capacity_ =
      static_cast<uint32_t>(std::clamp<uint64_t>(settings.reassembly.memcap / sizeof(Chunk), 16, 1u << 24));
  // Zero pages (sensor/util): memory costs RSS, start-up and exit time only once used.
  sessions_ = ZeroPages(sizeof(TcpSession) * session_capacity_);
  windows_ = ZeroPages(size_t{session_capacity_} * 2 * window_bytes_);
  chunks_ = ZeroPages(sizeof(Chunk) * chunk_capacity_);
}

TcpStreamEngine::~TcpStreamEngine() = default;

uint8_t* TcpStreamEngine::window_of(uint32_t session_index, bool to_server) const noexcept {
  return window_memory() + (size_t{session_index} * 2 + (to_server ? 0 : 1)) * window_bytes_;
}

TcpSession* TcpStreamEngine::session_of(const Flow& flow) const noexcept {
  if (flow.stream_session == 0 || flow.stream_session > session_capacity_) return nullptr;
  TcpSession* s = &session_pool()[flow.stream_session - 1];
  return s->in_use ? s : nullptr;
}

const TcpSession* TcpStreamEngine::session(const Flow& flow) const noexcept { return session_of(flow); }

StreamLookback TcpStreamEngine::lookback(const Flow& flow, bool to_server) const noexcept {
  const TcpSession* s = session_of(flow);
  if (s == nullptr) return {};
  const TcpDirection& d = to_server ? s->client : s->server;
  return {{window_of(flow.stream_session - 1, to_server), d.window_used}, d.window_end - d.window_used};
}

TcpSession* TcpStreamEngine::create_session(Flow& flow) noexcept {
  uint32_t index = 0;
  if (session_free_ != 0) {
    index = session_free_ - 1;
    session_free_ = session_pool()[index].next_free;
  } else if (session_never_used_ < session_capacity_) {
    index = session_never_used_++;
  } else {
    ++counters_.ssn_memcap_drop;
    return nullptr;
  }
  TcpSession* s = new (&session_pool()[index]) TcpSession{};
  s->in_use = true;
  flow.stream_session = index + 1;
  s->client.policy = policies_ ? policies_->lookup(flow.key.server) : OsPolicy::Bsd;
  s->server.policy = policies_ ? policies_->lookup(flow.key.client) : OsPolicy::Bsd;
  ++counters_.sessions;
  ++counters_.active_sessions;
  counters_.memuse += session_bytes_;
  return s;
}

void TcpStreamEngine::free_session(uint32_t index) noexcept {
  TcpSession& s = session_pool()[index];
  if (!s.in_use) return;
  free_queue(s.client);
  free_queue(s.server);
  s.in_use = false;
  s.next_free = session_free_;
  session_free_ = index + 1;
  --counters_.active_sessions;
  counters_.memuse -= session_bytes_;
}

void TcpStreamEngine::release(const Flow& flow) noexcept {
  release_deferred();
  if (session_of(flow) != nullptr) free_session(flow.stream_session - 1);
}

void TcpStreamEngine::stop_inspection(const Flow& flow, bool to_server) noexcept {
  release_deferred();
  TcpSession* s = session_of(flow);
  if (s == nullptr) return;
  TcpDirection& d = to_server ? s->client : s->server;
  d.done = true;
  free_queue(d);
}

void TcpStreamEngine::drain(const Flow& flow, bool to_server, StreamUpdate& update) noexcept {
  update.reset(to_server);
  release_deferred();
  TcpSession* s = session_of(flow);
  if (s == nullptr) return;
  update.tracked = true;
  update.session = s;
  TcpDirection& d = to_server ? s->client : s->server;
  uint8_t* window = window_of(flow.stream_session - 1, to_server);
  if (!d.done) deliver_queue(d, window, update);
  update.done = d.done;
  fill_window(d, window, update);
}

void TcpStreamEngine::update_ack(TcpDirection& d, uint32_t ack) noexcept {
  if (d.ack_seen && !seq_gt(ack, d.last_ack)) return;
  if (seq_gt(ack, d.max_seq)) {
    ++counters_.ack_unseen_data;
    // An ACK far beyond anything the window allows is not believed (it would open a gap).
    if (seq_gt(ack, d.max_seq + std::max<uint32_t>(d.window, 65535))) return;
  }
  d.last_ack = ack;
  d.ack_seen = true;
}

// Suricata's StreamTcpValidateRst: which sequence numbers the receiving host's stack accepts.
bool TcpStreamEngine::valid_rst(const TcpSession& s, const TcpDirection& sender, const Packet& p) const noexcept {
  const uint32_t seq = p.tcp_seq;
  if (s.state == TcpState::SynSent) {
    // Only the server can reset a connection attempt, by acknowledging the SYN.
    return !p.to_server && (p.tcp_flags & tcp_flag::Ack) && p.tcp_ack == s.client.isn + 1;
  }
  switch (sender.policy) {
    case OsPolicy::Hpux11:
      return seq_geq(seq, sender.next_seq);
    case OsPolicy::Linux:
    case OsPolicy::OldLinux:
    case OsPolicy::Solaris: {
      const uint32_t acked = sender.ack_seen ? sender.last_ack : sender.next_seq;
      return seq_geq(seq + p.payload_len, acked) &&
             seq_lt(seq, sender.next_seq + std::max<uint32_t>(sender.window, 1));
    }
    default:
      return seq == sender.next_seq;
  }
}

void TcpStreamEngine::process(Packet& p, StreamUpdate& update) noexcept {
  update.reset(p.to_server);
  if (!p.is_tcp() || !p.has_transport) return;
  release_deferred();
  const uint8_t flags = p.tcp_flags;
  if (p.l4_checksum_bad) ++counters_.invalid_checksum;
  if (has(flags, tcp_flag::Syn | tcp_flag::Ack)) {
    ++counters_.synack;
  } else if (flags & tcp_flag::Syn) {
    ++counters_.syn;
  }
  if (flags & tcp_flag::Rst) ++counters_.rst;
  if (p.flow == nullptr) {
    ++counters_.no_flow;
    return;
  }
  Flow& flow = *p.flow;
  TcpSession* s = session_of(flow);
  if (s == nullptr) {
    const bool syn = (flags & (tcp_flag::Syn | tcp_flag::Ack | tcp_flag::Rst)) == tcp_flag::Syn;
    const bool pickup = settings_.midstream && !(flags & (tcp_flag::Rst | tcp_flag::Fin));
    if (!((syn && p.to_server) || pickup) || (s = create_session(flow)) == nullptr) {
      ++counters_.not_reassembled;
      return;
    }
    update.session = s;
    const TcpOptions options = parse_options(p);
    const bool synack = has(flags, tcp_flag::Syn | tcp_flag::Ack);
    if (syn && p.to_server) {
      const OsPolicy policy = s->client.policy;
      init_direction(s->client, p.tcp_seq, policy);
      s->client.wscale_ok = options.wscale_ok;
      s->client.wscale = options.wscale;
      s->client.sack_ok = options.sack_ok;
      s->server.window = p.tcp_window;  // SYN windows are never scaled
      s->state = TcpState::SynSent;
      return;
    }
    // Midstream pickup (Suricata: window scale unknown, so assumed the largest).
    ++counters_.midstream_pickups;
    s->midstream = true;
    TcpDirection& sender = p.to_server ? s->client : s->server;
    TcpDirection& other = p.to_server ? s->server : s->client;
    const OsPolicy sender_policy = sender.policy;
    const OsPolicy other_policy = other.policy;
    init_direction(sender, synack ? p.tcp_seq : p.tcp_seq - 1, sender_policy);
    init_direction(other, p.tcp_ack - 1, other_policy);
    other.unknown = !(flags & tcp_flag::Ack);  // no ACK: the other side starts at its first packet
    sender.wscale_ok = other.wscale_ok = true;
    sender.wscale = other.wscale = synack && options.wscale_ok ? options.wscale : kMaxWindowScale;
    if (synack) {
      sender.wscale_ok = options.wscale_ok;
      sender.sack_ok = options.sack_ok;
      other.window = p.tcp_window;
      s->state = TcpState::SynRecv;
      update_ack(other, p.tcp_ack);
      return;
    }
    s->state = TcpState::Established;
  }
  update.tracked = true;
  update.session = s;
  handle(p, *s, flow.stream_session - 1, update);
}

void TcpStreamEngine::handle(Packet& p, TcpSession& s, uint32_t index, StreamUpdate& update) noexcept {
  const uint8_t flags = p.tcp_flags;
  const bool to_server = p.to_server;
  TcpDirection& sender = to_server ? s.client : s.server;
  TcpDirection& receiver = to_server ? s.server : s.client;  // the data this packet's ACK acknowledges

  if (flags & tcp_flag::Rst) {
    if (s.state == TcpState::Closed) return;
    if (valid_rst(s, sender, p)) {
      s.state = TcpState::Closed;
      return;
    }
    ++counters_.rst_invalid;
    // The receiver ignores it, so the flow is not closed by it (the flow table closed it on
    // any RST): restore what the handshake and FINs say.
    Flow& flow = *p.flow;
    if (!(flow.fin_toserver && flow.fin_toclient)) {
      flow.state = flow.established_once ? FlowState::Established : FlowState::New;
    }
    return;
  }

  // Handshake.
  switch (s.state) {
    case TcpState::SynSent:
      if (!to_server && has(flags, tcp_flag::Syn | tcp_flag::Ack)) {
        if (p.tcp_ack != s.client.isn + 1) {
          ++counters_.invalid_ack;
          return;
        }
        const TcpOptions options = parse_options(p);
        const OsPolicy policy = s.server.policy;
        const uint32_t window = s.server.window;
        init_direction(s.server, p.tcp_seq, policy);
        s.server.window = window;
        // Window scaling and SACK hold only when both sides announced them.
        const bool scaling = s.client.wscale_ok && options.wscale_ok;
        s.server.wscale_ok = s.client.wscale_ok = scaling;
        s.server.wscale = scaling ? options.wscale : 0;
        if (!scaling) s.client.wscale = 0;
        s.server.sack_ok = s.client.sack_ok = s.client.sack_ok && options.sack_ok;
        s.client.window = p.tcp_window;  // unscaled on a SYN/ACK
        update_ack(s.client, p.tcp_ack);
        s.state = TcpState::SynRecv;
        return;
      }
      if (to_server && (flags & tcp_flag::Syn) && !(flags & tcp_flag::Ack)) {
        if (p.tcp_seq != s.client.isn) {  // a new attempt with another ISN replaces the old one
          const OsPolicy policy = s.client.policy;
          init_direction(s.client, p.tcp_seq, policy);
          const TcpOptions options = parse_options(p);
          s.client.wscale_ok = options.wscale_ok;
          s.client.wscale = options.wscale;
          s.client.sack_ok = options.sack_ok;
        }
        return;
      }
      if (to_server && settings_.async_oneside && (flags & tcp_flag::Ack) && !(flags & tcp_flag::Syn)) {
        // Only the client side is seen: the server's sequence space starts at this ACK.
        const OsPolicy policy = s.server.policy;
        init_direction(s.server, p.tcp_ack - 1, policy);
        s.client.wscale = 0;
        s.client.wscale_ok = false;
        s.state = TcpState::Established;
        s.handshake_done = true;
        break;
      }
      return;
    case TcpState::SynRecv:
      if (flags & tcp_flag::Syn) return;  // SYN or SYN/ACK retransmission
      if (to_server && (flags & tcp_flag::Ack)) {
        if (p.tcp_ack != s.server.next_seq && !s.midstream) {
          ++counters_.invalid_ack;
          return;
        }
        s.state = TcpState::Established;
        s.handshake_done = !s.midstream;
        break;
      }
      if (!to_server && settings_.async_oneside && (flags & tcp_flag::Ack)) {
        s.state = TcpState::Established;  // only the server side is seen
        s.handshake_done = true;
        break;
      }
      if (!to_server && s.midstream && (flags & tcp_flag::Ack)) {
        s.state = TcpState::Established;
        break;
      }
      return;
    case TcpState::None:
    case TcpState::Closed:  // after a RST or the last ACK nothing more is taken
      return;
    default:
      if (flags & tcp_flag::Syn) return;  // a SYN inside a session: not data
      break;
  }

  if (sender.unknown) {  // midstream, first packet of this side: its sequence space starts here
    const OsPolicy policy = sender.policy;
    const uint32_t window = sender.window;
    init_direction(sender, p.tcp_seq - 1, policy);
    sender.window = window;
    sender.wscale_ok = true;
    sender.wscale = kMaxWindowScale;
  }
  // Windows (the one this packet advertises is for the data going the other way) and ACKs.
  receiver.window = sender.wscale_ok ? uint32_t{p.tcp_window} << sender.wscale : p.tcp_window;
  if (flags & tcp_flag::Ack) update_ack(receiver, p.tcp_ack);

  // Data.
  const uint32_t len = p.payload_len;
  if (len > 0 && !(sender.fin_seen && seq_geq(p.tcp_seq, sender.fin_seq))) {
    if (seq_gt(p.tcp_seq + len, sender.max_seq)) sender.max_seq = p.tcp_seq + len;
    reassemble(sender, window_of(index, to_server), p.tcp_seq, p.data + p.payload_offset, len, update);
  } else if (!sender.done) {
    deliver_queue(sender, window_of(index, to_server), update);  // what an earlier update had no room for
  }
  update.done = sender.done;

  // Teardown.
  const auto acks_fin = [&](const TcpDirection& d) {
    return d.fin_seen && (flags & tcp_flag::Ack) && seq_geq(p.tcp_ack, d.fin_seq + 1);
  };
  if ((flags & tcp_flag::Fin) && !sender.fin_seen) {
    sender.fin_seen = true;
    sender.fin_seq = p.tcp_seq + len;
    if (seq_gt(sender.fin_seq + 1, sender.max_seq)) sender.max_seq = sender.fin_seq + 1;
    switch (s.state) {
      case TcpState::Established: s.state = to_server ? TcpState::FinWait1 : TcpState::CloseWait; break;
      case TcpState::FinWait1:
        if (!to_server) s.state = acks_fin(s.client) ? TcpState::TimeWait : TcpState::Closing;
        break;
      case TcpState::FinWait2:
        if (!to_server) s.state = TcpState::TimeWait;
        break;
      case TcpState::CloseWait:
        if (to_server) s.state = TcpState::LastAck;
        break;
      default: break;
    }
  } else if (flags & tcp_flag::Ack) {
    switch (s.state) {
      case TcpState::FinWait1:
        if (!to_server && acks_fin(s.client)) s.state = TcpState::FinWait2;
        break;
      case TcpState::Closing:
        if (to_server && acks_fin(s.server)) s.state = TcpState::TimeWait;
        break;
      case TcpState::LastAck:
        if (!to_server && acks_fin(s.client)) s.state = TcpState::Closed;
        break;
      case TcpState::TimeWait:
        if (acks_fin(receiver)) s.state = TcpState::Closed;
        break;
      default: break;
    }
  }
  fill_window(sender, window_of(index, to_server), update);
}

}  // namespace eastwatch

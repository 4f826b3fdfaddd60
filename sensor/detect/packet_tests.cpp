#include "sensor/detect/packet_tests.hpp"

namespace eastwatch {

namespace {

bool bits_match(TcpFlagsTest::Mode mode, uint8_t wanted, uint8_t actual) noexcept {
  switch (mode) {
    case TcpFlagsTest::Mode::Exact: return actual == wanted;
    case TcpFlagsTest::Mode::All: return (actual & wanted) == wanted;
    case TcpFlagsTest::Mode::Any: return wanted == 0 ? actual == 0 : (actual & wanted) != 0;
    case TcpFlagsTest::Mode::Not: return (actual & wanted) == 0;
  }
  return false;
}

bool flow_matches(const FlowCondition& flow, const Packet& p) noexcept {
  if (p.flow == nullptr) {
    // Without a flow (memcap) only a purely stateless condition can hold.
    return flow.stateless && !flow.to_server && !flow.to_client && !flow.established && !flow.not_established;
  }
  if (flow.to_server && !p.to_server) return false;
  if (flow.to_client && p.to_server) return false;
  if (flow.established && !p.flow_established) return false;
  if (flow.not_established && p.flow_established) return false;
  return true;
}

// ICMP messages that carry an identifier and sequence number (echo, timestamp, information,
// address mask, and their ICMPv6 echo counterparts), as Suricata's icmp_id/icmp_seq require.
bool icmp_has_id(const Packet& p) noexcept {
  if (p.ip_proto == 1) {
    switch (p.icmp_type) {
      case 0: case 8: case 13: case 14: case 15: case 16: case 17: case 18: return true;
      default: return false;
    }
  }
  return p.ip_proto == 58 && (p.icmp_type == 128 || p.icmp_type == 129);
}

}  // namespace

bool packet_tests_match(const PacketTests& t, const Packet& p) noexcept {
  if (t.flow && !flow_matches(*t.flow, p)) return false;
  if (t.dsize && !t.dsize->matches(p.payload_len)) return false;
  if (t.ttl && !t.ttl->matches(p.ip_ttl)) return false;
  if (t.tos && !t.tos->matches(p.ip_tos)) return false;
  if (t.ip_proto && !t.ip_proto->matches(p.ip_proto)) return false;
  if (t.sameip && p.src != p.dst) return false;
  if ((p.events.words[0] & t.decode_events.words[0]) != t.decode_events.words[0] ||
      (p.events.words[1] & t.decode_events.words[1]) != t.decode_events.words[1]) {
    return false;
  }
  if (t.ip_id && (p.ip_version != 4 || !t.ip_id->matches(p.ip_id))) return false;
  if (t.fragbits && (p.ip_version != 4 || !bits_match(t.fragbits->mode, t.fragbits->bits, p.ip_frag_bits))) {
    return false;
  }
  if (t.fragoffset && (p.ip_version != 4 || !t.fragoffset->matches(p.ip_frag_offset))) return false;
  if (t.ipopts) {  // all the options named, or with `any` (0) at least one option
    if (p.ip_version != 4) return false;
    if (*t.ipopts == 0 ? p.ip_options == 0 : (p.ip_options & *t.ipopts) != *t.ipopts) return false;
  }

  const bool icmp = p.has_transport && (p.ip_proto == 1 || p.ip_proto == 58);
  if (t.itype && (!icmp || !t.itype->matches(p.icmp_type))) return false;
  if (t.icode && (!icmp || !t.icode->matches(p.icmp_code))) return false;
  if (t.icmp_id && (!icmp || !icmp_has_id(p) || !t.icmp_id->matches(p.icmp_id))) return false;
  if (t.icmp_seq && (!icmp || !icmp_has_id(p) || !t.icmp_seq->matches(p.icmp_seq))) return false;

  const bool tcp = p.has_transport && p.ip_proto == 6;
  if (t.flags) {
    if (!tcp) return false;
    const uint8_t actual = p.tcp_flags & static_cast<uint8_t>(~t.flags->ignore);
    if (!bits_match(t.flags->mode, t.flags->flags & static_cast<uint8_t>(~t.flags->ignore), actual)) return false;
  }
  if (t.tcp_window && (!tcp || !t.tcp_window->matches(p.tcp_window))) return false;
  if (t.tcp_seq && (!tcp || !t.tcp_seq->matches(p.tcp_seq))) return false;
  if (t.tcp_ack && (!tcp || !t.tcp_ack->matches(p.tcp_ack))) return false;
  return true;
}

bool stream_size_matches(const StreamSizeTest& test, const TcpSession* session) noexcept {
  if (session == nullptr) return false;
  const bool server = test.size.matches(session->server.next_seq - session->server.isn);
  const bool client = test.size.matches(session->client.next_seq - session->client.isn);
  switch (test.side) {
    case StreamSizeTest::Side::Server: return server;
    case StreamSizeTest::Side::Client: return client;
    case StreamSizeTest::Side::Both: return server && client;
    case StreamSizeTest::Side::Either: return server || client;
  }
  return false;
}

bool stream_size_matches(std::span<const StreamSizeTest> tests, const TcpSession* session) noexcept {
  for (const StreamSizeTest& test : tests) {
    if (!stream_size_matches(test, session)) return false;
  }
  return true;
}

}  // namespace eastwatch

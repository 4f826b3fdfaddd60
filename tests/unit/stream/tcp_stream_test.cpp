#include <atomic>
#include <cstdlib>
#include <new>

#include <catch2/catch.hpp>

#include "tests/unit/stream/stream_harness.hpp"

using namespace eastwatch;
using namespace eastwatch::test;

// Proves the packet path allocates nothing (skipped under AddressSanitizer).
#include "tests/unit/support/counting_allocator.hpp"

namespace {

constexpr uint32_t kClientIsn = 1000;
constexpr uint32_t kServerIsn = 5000;
constexpr uint32_t kC = kClientIsn + 1;  // first client data byte
constexpr uint32_t kS = kServerIsn + 1;

StreamSettings small_settings() {
  StreamSettings s;
  s.memcap = 1 << 20;
  s.reassembly.memcap = 1 << 20;
  return s;
}

}  // namespace

TEST_CASE("the three-way handshake walks SYN_SENT, SYN_RECV, ESTABLISHED") {
  StreamHarness h(small_settings());
  // SYN with window scale 7 and SACK-permitted; SYN/ACK with window scale 8 and SACK-permitted.
  const std::vector<uint8_t> syn_options = {3, 3, 7, 4, 2};
  const std::vector<uint8_t> synack_options = {3, 3, 8, 4, 2};
  h.send(true, kSyn, kClientIsn, 0, "", syn_options);
  REQUIRE(h.session());
  CHECK(h.session()->state == TcpState::SynSent);
  CHECK(h.session()->client.isn == kClientIsn);
  h.send(false, kSyn | kAck, kServerIsn, kClientIsn + 1, "", synack_options);
  CHECK(h.session()->state == TcpState::SynRecv);
  CHECK(h.session()->server.isn == kServerIsn);
  CHECK(h.session()->client.sack_ok);
  CHECK(h.session()->server.wscale == 8);
  const StreamUpdate& u = h.send(true, kAck, kC, kS, "", {}, 100);
  CHECK(u.tracked);
  CHECK(h.session()->state == TcpState::Established);
  CHECK(h.session()->handshake_done);
  CHECK(h.flow().state == FlowState::Established);
  // The client scales its windows by 7: 100 << 7 is the window for the server's data.
  CHECK(h.session()->server.window == (100u << 7));
  h.send(false, kAck, kS, kC, "", {}, 10);
  CHECK(h.session()->client.window == (10u << 8));
  CHECK(h.counters().syn == 1);
  CHECK(h.counters().synack == 1);
  CHECK(h.counters().sessions == 1);
  CHECK(h.counters().active_sessions == 1);
}

TEST_CASE("without both window scale options, windows are not scaled") {
  StreamHarness h(small_settings());
  h.handshake(kClientIsn, kServerIsn, {3, 3, 7}, {});
  h.send(true, kAck, kC, kS, "", {}, 100);
  CHECK(h.session()->server.window == 100);
  CHECK_FALSE(h.session()->client.sack_ok);
}

TEST_CASE("a SYN/ACK acknowledging the wrong sequence does not advance the handshake") {
  StreamHarness h(small_settings());
  h.send(true, kSyn, kClientIsn, 0);
  h.send(false, kSyn | kAck, kServerIsn, kClientIsn + 7);
  CHECK(h.session()->state == TcpState::SynSent);
  CHECK(h.counters().invalid_ack == 1);
}

TEST_CASE("FIN teardown from the client: FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSED") {
  StreamHarness h(small_settings());
  h.handshake(kClientIsn, kServerIsn);
  h.send(true, kFin | kAck, kC, kS);
  CHECK(h.session()->state == TcpState::FinWait1);
  h.send(false, kAck, kS, kC + 1);
  CHECK(h.session()->state == TcpState::FinWait2);
  h.send(false, kFin | kAck, kS, kC + 1);
  CHECK(h.session()->state == TcpState::TimeWait);
  h.send(true, kAck, kC + 1, kS + 1);
  CHECK(h.session()->state == TcpState::Closed);
}

TEST_CASE("FIN teardown from the server: CLOSE_WAIT, LAST_ACK, CLOSED") {
  StreamHarness h(small_settings());
  h.handshake(kClientIsn, kServerIsn);
  h.send(false, kFin | kAck, kS, kC);
  CHECK(h.session()->state == TcpState::CloseWait);
  h.send(true, kFin | kAck, kC, kS + 1);
  CHECK(h.session()->state == TcpState::LastAck);
  h.send(false, kAck, kS + 1, kC + 1);
  CHECK(h.session()->state == TcpState::Closed);
}

TEST_CASE("simultaneous close: FIN_WAIT1, CLOSING, TIME_WAIT") {
  StreamHarness h(small_settings());
  h.handshake(kClientIsn, kServerIsn);
  h.send(true, kFin | kAck, kC, kS);
  h.send(false, kFin | kAck, kS, kC);  // does not acknowledge the client's FIN
  CHECK(h.session()->state == TcpState::Closing);
  h.send(true, kAck, kC + 1, kS + 1);
  CHECK(h.session()->state == TcpState::TimeWait);
}

TEST_CASE("midstream off: a flow without a handshake is not reassembled") {
  StreamHarness h(small_settings());
  const StreamUpdate& u = h.send(true, kAck | kPsh, 777, 888, "GET / HTTP/1.1\r\n");
  CHECK_FALSE(u.tracked);
  CHECK(u.span_count == 0);
  CHECK(h.session() == nullptr);
  CHECK(h.counters().sessions == 0);
  CHECK(h.counters().not_reassembled == 1);
}

TEST_CASE("midstream on: the session is picked up ESTABLISHED and reassembled in both directions") {
  StreamSettings settings = small_settings();
  settings.midstream = true;
  StreamHarness h(settings);
  const StreamUpdate& u = h.send(true, kAck | kPsh, 777, 888, "GET /");
  CHECK(u.tracked);
  CHECK(bytes_of(u) == "GET /");
  REQUIRE(h.session());
  CHECK(h.session()->state == TcpState::Established);
  CHECK(h.session()->midstream);
  CHECK_FALSE(h.session()->handshake_done);
  CHECK(h.counters().midstream_pickups == 1);
  CHECK(bytes_of(h.send(true, kAck, 782, 888, " HTTP")) == " HTTP");
  CHECK(bytes_of(h.send(false, kAck, 888, 787, "200 OK")) == "200 OK");
}

TEST_CASE("midstream pickup from a packet without ACK: the other side starts at its first packet") {
  StreamSettings settings = small_settings();
  settings.midstream = true;
  StreamHarness h(settings);
  CHECK(bytes_of(h.send(true, kPsh, 777, 0, "push")) == "push");
  CHECK(bytes_of(h.send(false, kAck, 123456, 781, "reply")) == "reply");
  CHECK(bytes_of(h.send(false, kAck, 123461, 781, "!")) == "!");
}

TEST_CASE("in-order data is delivered once, not copied, with stream offsets") {
  StreamHarness h(small_settings());
  h.handshake(kClientIsn, kServerIsn);
  const StreamUpdate& a = h.send(true, kAck | kPsh, kC, kS, "hello");
  REQUIRE(a.span_count == 1);
  CHECK(a.spans[0].offset == 0);
  CHECK(a.spans[0].data == h.last_packet().data + h.last_packet().payload_offset);  // zero-copy
  CHECK_FALSE(a.gap);
  const StreamUpdate& b = h.send(true, kAck | kPsh, kC + 5, kS, " world");
  REQUIRE(b.span_count == 1);
  CHECK(b.spans[0].offset == 5);
  CHECK(bytes_of(b) == " world");
  // The look-back window spans both segments.
  CHECK(std::string(reinterpret_cast<const char*>(b.window.data()), b.window.size()) == "hello world");
  CHECK(b.window_offset == 0);
  const StreamUpdate& c = h.send(false, kAck, kS, kC + 11, "reply");
  CHECK(c.to_server == false);
  CHECK(bytes_of(c) == "reply");
  CHECK(c.spans[0].offset == 0);
}

TEST_CASE("segments in reverse order produce the in-order bytes once, at the segment that completes them") {
  StreamHarness h(small_settings());
  h.handshake(kClientIsn, kServerIsn);
  CHECK(h.send(true, kAck, kC + 8, kS, "CCCC").span_count == 0);
  CHECK(h.send(true, kAck, kC + 4, kS, "BBBB").span_count == 0);
  CHECK(h.counters().reassembly_memuse > 0);
  uint64_t offset = 99;
  const StreamUpdate& u = h.send(true, kAck, kC, kS, "AAAA");
  CHECK(bytes_of(u, &offset) == "AAAABBBBCCCC");
  CHECK(offset == 0);
  CHECK(u.span_count == 3);
  CHECK(u.spans[1].offset == 4);
  CHECK(u.spans[2].offset == 8);
  CHECK(h.counters().overlap == 0);
  // Nothing is delivered twice.
  CHECK(h.send(true, kAck, kC + 4, kS, "BBBB").span_count == 0);
  CHECK(bytes_of(h.send(true, kAck, kC + 12, kS, "D")) == "D");
  CHECK(h.counters().reassembly_memuse == 0);
}

TEST_CASE("retransmissions: exact ones deliver nothing, partial ones only the new bytes") {
  StreamHarness h(small_settings());
  h.handshake(kClientIsn, kServerIsn);
  h.send(true, kAck, kC, kS, "abcdef");
  CHECK(h.send(true, kAck, kC, kS, "abcdef").span_count == 0);
  CHECK(h.counters().retransmissions == 1);
  CHECK(h.counters().overlap == 1);
  CHECK(h.counters().overlap_diff_data == 0);
  const StreamUpdate& u = h.send(true, kAck, kC + 3, kS, "defGHI");
  CHECK(bytes_of(u) == "GHI");
  CHECK(u.spans[0].offset == 6);
  CHECK(h.counters().retransmissions == 2);
  CHECK(h.counters().overlap_diff_data == 0);
  // A retransmission with other bytes: counted, the delivered bytes stand.
  CHECK(h.send(true, kAck, kC, kS, "XXXdef").span_count == 0);
  CHECK(h.counters().overlap_diff_data == 1);
}

namespace {

// A queued segment "aaaaaaaaaa" at [10, 20), then a second segment overlapping it with other
// bytes, then the hole [0, x) filled: returns the 25 or so reassembled bytes.
std::string overlap_case(OsPolicy policy, uint32_t second_start, const std::string& second) {
  StreamHarness h(small_settings(), policy);
  h.handshake(kClientIsn, kServerIsn);
  h.send(true, kAck, kC + 10, kS, "aaaaaaaaaa");
  h.send(true, kAck, kC + second_start, kS, second);
  CHECK(h.counters().overlap == 1);
  CHECK(h.counters().overlap_diff_data == 1);
  const uint32_t fill = std::min<uint32_t>(second_start, 10);
  std::string out = bytes_of(h.send(true, kAck, kC, kS, std::string(fill, 'z')));
  return out;
}

}  // namespace

TEST_CASE("overlap: a segment starting before and ending after a queued one (Suricata's policies)") {
  // [5, 25) of b over [10, 20) of a.
  const std::string b20(20, 'b');
  const std::string new_wins = "zzzzz" + std::string(20, 'b');
  const std::string old_wins = "zzzzzbbbbbaaaaaaaaaabbbbb";
  CHECK(overlap_case(OsPolicy::Bsd, 5, b20) == new_wins);
  CHECK(overlap_case(OsPolicy::Linux, 5, b20) == new_wins);
  CHECK(overlap_case(OsPolicy::Windows, 5, b20) == new_wins);
  CHECK(overlap_case(OsPolicy::Solaris, 5, b20) == new_wins);
  CHECK(overlap_case(OsPolicy::Last, 5, b20) == new_wins);
  CHECK(overlap_case(OsPolicy::First, 5, b20) == old_wins);
  CHECK(overlap_case(OsPolicy::Vista, 5, b20) == old_wins);
}

TEST_CASE("overlap: a segment starting at a queued one and ending after it") {
  // [10, 25) of b over [10, 20) of a.
  const std::string b15(15, 'b');
  const std::string new_wins = std::string(10, 'z') + std::string(15, 'b');
  const std::string old_wins = std::string(10, 'z') + std::string(10, 'a') + "bbbbb";
  CHECK(overlap_case(OsPolicy::Linux, 10, b15) == new_wins);
  CHECK(overlap_case(OsPolicy::OldLinux, 10, b15) == new_wins);
  CHECK(overlap_case(OsPolicy::Solaris, 10, b15) == new_wins);
  CHECK(overlap_case(OsPolicy::Hpux11, 10, b15) == new_wins);
  CHECK(overlap_case(OsPolicy::Bsd, 10, b15) == old_wins);
  CHECK(overlap_case(OsPolicy::Windows, 10, b15) == old_wins);
  CHECK(overlap_case(OsPolicy::Macos, 10, b15) == old_wins);
}

TEST_CASE("overlap: a segment starting inside a queued one and ending after it") {
  // [15, 25) of b over [10, 20) of a.
  const std::string b10(10, 'b');
  const std::string new_wins = std::string(10, 'z') + "aaaaa" + std::string(10, 'b');
  const std::string old_wins = std::string(10, 'z') + std::string(10, 'a') + "bbbbb";
  CHECK(overlap_case(OsPolicy::Solaris, 15, b10) == new_wins);
  CHECK(overlap_case(OsPolicy::Hpux11, 15, b10) == new_wins);
  CHECK(overlap_case(OsPolicy::Last, 15, b10) == new_wins);
  CHECK(overlap_case(OsPolicy::Bsd, 15, b10) == old_wins);
  CHECK(overlap_case(OsPolicy::Linux, 15, b10) == old_wins);
  CHECK(overlap_case(OsPolicy::First, 15, b10) == old_wins);
}

TEST_CASE("RST: in window it closes the session, out of window it is ignored") {
  StreamHarness h(small_settings());
  h.handshake(kClientIsn, kServerIsn);
  h.send(true, kAck, kC, kS, "data");
  h.send(true, kRst, kC + 1000, 0);  // bsd: only the next expected sequence number counts
  CHECK(h.session()->state == TcpState::Established);
  CHECK(h.counters().rst_invalid == 1);
  CHECK(h.flow().state == FlowState::Established);
  h.send(true, kRst, kC + 4, 0);
  CHECK(h.session()->state == TcpState::Closed);
  CHECK(h.flow().state == FlowState::Closed);
  CHECK(h.counters().rst == 2);
}

TEST_CASE("RST on a linux host: anywhere in the window is accepted") {
  StreamHarness h(small_settings(), OsPolicy::Linux);
  h.handshake(kClientIsn, kServerIsn);
  h.send(false, kAck, kS, kC, "", {}, 1000);  // the server's window for client data: 1000
  h.send(true, kRst, kC + 2000, 0);
  CHECK(h.session()->state == TcpState::Established);
  h.send(true, kRst, kC + 500, 0);
  CHECK(h.session()->state == TcpState::Closed);
}

TEST_CASE("reassembly depth: bytes up to the depth, then nothing more in that direction") {
  StreamSettings settings = small_settings();
  settings.reassembly.depth = 16;
  StreamHarness h(settings);
  h.handshake(kClientIsn, kServerIsn);
  CHECK(bytes_of(h.send(true, kAck, kC, kS, "0123456789")) == "0123456789");
  const StreamUpdate& u = h.send(true, kAck, kC + 10, kS, "abcdefghij");
  CHECK(bytes_of(u) == "abcdef");
  CHECK(u.done);
  CHECK(h.counters().stream_depth_reached == 1);
  const StreamUpdate& after = h.send(true, kAck, kC + 20, kS, "more");
  CHECK(after.span_count == 0);
  CHECK(after.done);
  CHECK(h.counters().stream_depth_reached == 1);
  // The other direction is unaffected; and the sequence is still followed for RSTs.
  CHECK(bytes_of(h.send(false, kAck, kS, kC + 24, "reply")) == "reply");
  h.send(true, kRst, kC + 24, 0);
  CHECK(h.session()->state == TcpState::Closed);
}

TEST_CASE("stop_inspection marks a direction done") {
  StreamHarness h(small_settings());
  h.handshake(kClientIsn, kServerIsn);
  h.send(true, kAck, kC + 5, kS, "later");
  h.engine().stop_inspection(h.flow(), true);
  CHECK(h.counters().reassembly_memuse == 0);
  const StreamUpdate& u = h.send(true, kAck, kC, kS, "first");
  CHECK(u.span_count == 0);
  CHECK(u.done);
}

TEST_CASE("segment memcap: a full chunk pool is counted and the hole skipped") {
  StreamSettings settings = small_settings();
  settings.reassembly.memcap = 1;  // the smallest pool: 16 chunks
  StreamHarness h(settings);
  h.handshake(kClientIsn, kServerIsn);
  const uint32_t chunks = h.engine().chunk_capacity();
  REQUIRE(chunks == 16);
  // Out-of-order segments of 10 bytes after a 10-byte hole, each on its own chunk.
  for (uint32_t i = 0; i < chunks; ++i) h.send(true, kAck, kC + 20 + 20 * i, kS, "0123456789");
  CHECK(h.counters().segment_memcap_drop == 0);
  const StreamUpdate& u = h.send(true, kAck, kC + 20 + 20 * chunks, kS, "0123456789");
  CHECK(h.counters().segment_memcap_drop == 1);
  // The engine gave up the first hole to make progress: the first queued segment came out
  // after a gap.
  CHECK(h.counters().reassembly_gap >= 1);
  REQUIRE(u.span_count >= 1);
  CHECK(u.spans[0].gap);
  CHECK(u.spans[0].offset == 20);
}

TEST_CASE("session memcap: a full session pool is counted, the flow still gets no session") {
  StreamSettings settings = small_settings();
  settings.memcap = 1;  // the smallest pool: 16 sessions
  StreamHarness h(settings);
  const uint32_t capacity = h.engine().session_capacity();
  REQUIRE(capacity == 16);
  for (uint32_t i = 0; i <= capacity; ++i) {
    h.send(true, kSyn, kClientIsn, 0, "", {}, 65535, static_cast<uint16_t>(30000 + i));
  }
  CHECK(h.counters().sessions == capacity);
  CHECK(h.counters().ssn_memcap_drop == 1);
  CHECK(h.session() == nullptr);
  // Ending the flows frees the sessions.
  h.flows().flush();
  CHECK(h.counters().active_sessions == 0);
  CHECK(h.counters().memuse == 0);
}

TEST_CASE("gap: data the receiver acknowledged but never seen is skipped") {
  StreamHarness h(small_settings());
  h.handshake(kClientIsn, kServerIsn);
  CHECK(bytes_of(h.send(true, kAck, kC, kS, "AAAA")) == "AAAA");
  // [4, 8) is lost; [8, 12) is queued.
  CHECK(h.send(true, kAck, kC + 8, kS, "CCCC").span_count == 0);
  h.send(false, kAck, kS, kC + 12);  // the server has all 12 bytes
  CHECK(h.counters().ack_unseen_data == 0);
  const StreamUpdate& u = h.send(true, kAck, kC + 12, kS, "DDDD");
  CHECK(h.counters().reassembly_gap == 1);
  REQUIRE(u.span_count == 2);
  CHECK(u.gap);
  CHECK(u.spans[0].gap);
  CHECK(u.spans[0].offset == 8);
  CHECK_FALSE(u.spans[1].gap);
  CHECK(bytes_of(u) == "CCCCDDDD");
  // The look-back window restarts after the gap.
  CHECK(std::string(reinterpret_cast<const char*>(u.window.data()), u.window.size()) == "CCCCDDDD");
  CHECK(u.window_offset == 8);
}

TEST_CASE("an ACK for data never sent is counted") {
  StreamHarness h(small_settings());
  h.handshake(kClientIsn, kServerIsn);
  h.send(false, kAck, kS, kC + 100);
  CHECK(h.counters().ack_unseen_data == 1);
}

TEST_CASE("sequence numbers wrap around 2^32") {
  StreamHarness h(small_settings());
  const uint32_t isn = 0xFFFFFFF8u;
  h.handshake(isn, kServerIsn);
  // Bytes at offsets 0..15 occupy sequence numbers 0xFFFFFFF9 .. 0x00000008.
  CHECK(h.send(true, kAck, isn + 1 + 10, kS, "KLMNOP").span_count == 0);
  CHECK(h.send(true, kAck, isn + 1 + 5, kS, "FGHIJ").span_count == 0);
  const StreamUpdate& u = h.send(true, kAck, isn + 1, kS, "ABCDE");
  CHECK(bytes_of(u) == "ABCDEFGHIJKLMNOP");
  CHECK(u.spans[u.span_count - 1].offset == 10);
  CHECK(h.session()->client.next_seq == 9u);
  CHECK(bytes_of(h.send(true, kAck, 9u, kS, "Q")) == "Q");
}

TEST_CASE("many holes filled at once come out in several calls when they exceed the spans") {
  StreamHarness h(small_settings());
  h.handshake(kClientIsn, kServerIsn);
  const uint32_t n = StreamUpdate::kMaxSpans + 4;
  for (uint32_t i = n; i >= 1; --i) h.send(true, kAck, kC + i, kS, std::string(1, char('a' + i % 26)));
  const StreamUpdate& u = h.send(true, kAck, kC, kS, "_");
  CHECK(u.span_count == StreamUpdate::kMaxSpans);
  CHECK(u.more);
  std::string all = bytes_of(u);
  StreamUpdate rest;
  h.engine().drain(h.flow(), true, rest);
  all += bytes_of(rest);
  CHECK_FALSE(rest.more);
  std::string expected = "_";
  for (uint32_t i = 1; i <= n; ++i) expected += char('a' + i % 26);
  CHECK(all == expected);
}

TEST_CASE("the flow's end frees its session and queued segments") {
  StreamHarness h(small_settings());
  h.handshake(kClientIsn, kServerIsn);
  h.send(true, kAck, kC + 100, kS, "queued");
  CHECK(h.counters().reassembly_memuse > 0);
  h.flows().flush();
  CHECK(h.counters().reassembly_memuse == 0);
  CHECK(h.counters().active_sessions == 0);
}

TEST_CASE("stream processing allocates nothing") {
  if (!EASTWATCH_COUNTING_ALLOCATOR) {
    WARN("skipped under AddressSanitizer: it replaces operator new");
    return;
  }
  StreamHarness h(small_settings());
  std::vector<Packet> packets;
  for (uint16_t port = 20000; port < 20004; ++port) {
    packets.push_back(h.make(true, kSyn, kClientIsn, 0, "", {3, 3, 7, 4, 2}, 65535, port));
    packets.push_back(h.make(false, kSyn | kAck, kServerIsn, kClientIsn + 1, "", {3, 3, 7}, 65535, port));
    packets.push_back(h.make(true, kAck, kC, kS, "", {}, 65535, port));
    for (uint32_t i = 50; i >= 1; --i) {  // reverse order: all queued, then delivered at once
      packets.push_back(h.make(true, kAck, kC + 100 * i, kS, std::string(100, 'x'), {}, 65535, port));
    }
    packets.push_back(h.make(true, kAck, kC, kS, std::string(100, 'y'), {}, 65535, port));
    packets.push_back(h.make(true, kAck, kC + 50, kS, std::string(100, 'y'), {}, 65535, port));  // overlap
    packets.push_back(h.make(false, kAck, kS, kC + 5100, "ok", {}, 65535, port));
    packets.push_back(h.make(true, kFin | kAck, kC + 5100, kS + 2, "", {}, 65535, port));
    packets.push_back(h.make(true, kRst, kC + 5101, 0, "", {}, 65535, port));
  }
  const uint64_t before = g_allocations.load();
  uint64_t delivered = 0;
  StreamUpdate rest;
  for (Packet& p : packets) {
    const StreamUpdate& u = h.run(p);
    for (const StreamSpan& span : u.span_list()) delivered += span.len;
    for (bool more = u.more; more; more = rest.more) {
      h.engine().drain(*p.flow, p.to_server, rest);
      for (const StreamSpan& span : rest.span_list()) delivered += span.len;
    }
  }
  h.flows().flush();
  CHECK(g_allocations.load() == before);
  CHECK(delivered == 4 * (5100 + 2));
  CHECK(h.counters().sessions == 4);
  CHECK(h.counters().active_sessions == 0);
}

TEST_CASE("async-oneside: a session where only the client side is seen") {
  StreamSettings settings = small_settings();
  StreamHarness off(settings);
  off.send(true, kSyn, kClientIsn, 0);
  CHECK(off.send(true, kAck, kC, kS, "data").span_count == 0);
  CHECK(off.session()->state == TcpState::SynSent);
  settings.async_oneside = true;
  StreamHarness on(settings);
  on.send(true, kSyn, kClientIsn, 0);
  CHECK(bytes_of(on.send(true, kAck, kC, kS, "data")) == "data");
  CHECK(on.session()->state == TcpState::Established);
}

TEST_CASE("a FIN's sequence number is not data, data after the FIN is ignored") {
  StreamHarness h(small_settings());
  h.handshake(kClientIsn, kServerIsn);
  CHECK(bytes_of(h.send(true, kFin | kAck, kC, kS, "bye")) == "bye");
  CHECK(h.send(true, kAck, kC + 4, kS, "late").span_count == 0);
  CHECK(h.session()->client.fin_seq == kC + 3);
}

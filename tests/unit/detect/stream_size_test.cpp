// `stream_size` in detection: Suricata's next_seq - ISN per side on the packet's TCP session
// (from StreamUpdate::session), `both`/`either`, no match without a session; rules without
// content go through the header-only path and are checked on every packet.
#include <catch2/catch.hpp>

#include "sensor/detect/detect_engine.hpp"
#include "sensor/detect/packet_tests.hpp"
#include "signatures/rule_parser.hpp"
#include "tests/unit/detect/detect_harness.hpp"
#include "tests/unit/stream/stream_harness.hpp"

using namespace eastwatch;
using namespace eastwatch::test;

namespace {

StreamSizeTest test_of(StreamSizeTest::Side side, NumericTest::Op op, uint64_t n) {
  StreamSizeTest t;
  t.side = side;
  t.size.op = op;
  t.size.a = n;
  return t;
}

TcpSession session_with(uint32_t client_isn, uint32_t client_sent, uint32_t server_isn, uint32_t server_sent) {
  TcpSession s;
  s.client.isn = client_isn;
  s.client.next_seq = client_isn + 1 + client_sent;
  s.server.isn = server_isn;
  s.server.next_seq = server_isn + 1 + server_sent;
  return s;
}

// An engine with Hyperscan stream states for the harness's sessions.
struct StreamEngine : Engine {
  explicit StreamEngine(const std::string& text) : Engine(text, 15, 16) {}
};

// The sids that alert on the harness's last packet, in rule order.
std::vector<uint32_t> sids_on(Engine& e, StreamHarness& h, const StreamUpdate& update) {
  return e.sids(h.last_packet(), &update);
}

using Sids = std::vector<uint32_t>;

}  // namespace

TEST_CASE("stream_size compares next_seq - ISN of the side named, the SYN counting as one") {
  using Side = StreamSizeTest::Side;
  using Op = NumericTest::Op;
  const TcpSession s = session_with(1000, 99, 5000, 10);  // client 100, server 11
  CHECK(stream_size_matches(test_of(Side::Client, Op::Equal, 100), &s));
  CHECK_FALSE(stream_size_matches(test_of(Side::Client, Op::Greater, 100), &s));
  CHECK(stream_size_matches(test_of(Side::Client, Op::GreaterEqual, 100), &s));
  CHECK(stream_size_matches(test_of(Side::Server, Op::Less, 12), &s));
  CHECK_FALSE(stream_size_matches(test_of(Side::Server, Op::LessEqual, 10), &s));
  CHECK(stream_size_matches(test_of(Side::Server, Op::NotEqual, 10), &s));
  CHECK_FALSE(stream_size_matches(test_of(Side::Both, Op::Greater, 50), &s));
  CHECK(stream_size_matches(test_of(Side::Both, Op::Greater, 10), &s));
  CHECK(stream_size_matches(test_of(Side::Either, Op::Greater, 50), &s));
  CHECK_FALSE(stream_size_matches(test_of(Side::Either, Op::Greater, 100), &s));
  // Across the 2^32 wrap the difference still counts the bytes.
  const TcpSession wrapped = session_with(0xffffff00u, 0x200, 7, 0);
  CHECK(stream_size_matches(test_of(Side::Client, Op::Equal, 0x201), &wrapped));
  // Without a session nothing matches, not even `<` or `!=`.
  CHECK_FALSE(stream_size_matches(test_of(Side::Client, Op::Less, 5), nullptr));
  CHECK_FALSE(stream_size_matches(test_of(Side::Either, Op::NotEqual, 5), nullptr));
}

TEST_CASE("stream_size rules on a session: client, server, both and either as the bytes flow") {
  StreamEngine e(R"(alert tcp any any -> any any (msg:"client"; stream_size:client,>,100; sid:1;)
alert tcp any any -> any any (msg:"either"; stream_size:either,>=,50; sid:2;)
alert tcp any any -> any any (msg:"both"; stream_size:both,>,20; sid:3;)
alert tcp any any -> any any (msg:"server small"; stream_size:server,<,5; sid:4;)
alert tcp any any -> any any (msg:"content too"; content:"late"; stream_size:client,>,100; sid:5;)
alert tcp any any -> any any (msg:"two"; stream_size:client,=,61; stream_size:server,=,1; sid:6;))");
  StreamHarness h;
  CHECK(sids_on(e, h, h.send(true, kSyn, 1000, 0)) == Sids{4});  // client 1, server 0 (unknown yet)
  CHECK(sids_on(e, h, h.send(false, kSyn | kAck, 5000, 1001)) == Sids{4});
  CHECK(sids_on(e, h, h.send(true, kAck, 1001, 5001)) == Sids{4});
  CHECK(sids_on(e, h, h.send(true, kAck | kPsh, 1001, 5001, std::string(60, 'a'))) == Sids{2, 4, 6});  // client 61
  CHECK(sids_on(e, h, h.send(false, kAck, 5001, 1061)) == Sids{2, 4, 6});
  CHECK(sids_on(e, h, h.send(true, kAck | kPsh, 1061, 5001, std::string(36, 'b') + "late")) == Sids{1, 2, 4, 5});  // 101
  CHECK(sids_on(e, h, h.send(false, kAck | kPsh, 5001, 1101, std::string(30, 'c'))) == Sids{1, 2, 3});  // server 31
  // The content rule needs its content as well.
  CHECK(sids_on(e, h, h.send(true, kAck, 1101, 5031)) == Sids{1, 2, 3});
}

TEST_CASE("stream_size: out-of-order bytes count once the hole is filled (next_seq)") {
  StreamEngine e(R"(alert tcp any any -> any any (stream_size:client,>,10; sid:1;))");
  StreamHarness h;
  h.handshake(1000, 5000);
  CHECK(sids_on(e, h, h.send(true, kAck, 1011, 5001, "0123456789")).empty());  // queued: next_seq stays at 1001
  CHECK(sids_on(e, h, h.send(true, kAck, 1001, 5001, "abcdefghij")) == Sids{1});  // client 21
}

TEST_CASE("stream_size: packets of a flow without a session never match") {
  StreamEngine e(R"(alert tcp any any -> any any (stream_size:client,<,100000; sid:1;)
alert tcp any any -> any any (stream_size:either,!=,7; sid:2;))");
  StreamHarness h;  // midstream off: data without a handshake gets no session
  const StreamUpdate& u = h.send(true, kAck | kPsh, 1, 1, "data");
  CHECK_FALSE(u.tracked);
  CHECK(u.session == nullptr);
  CHECK(sids_on(e, h, u).empty());
  // And without any stream update (not TCP-tracked by the worker).
  CHECK(e.engine->inspect(h.last_packet(), *e.thread, e.out) == 0);
}

TEST_CASE("the stream engine hands detection the session on every packet of a tracked flow") {
  StreamHarness h;
  const StreamUpdate& syn = h.send(true, kSyn, 1000, 0);
  REQUIRE(syn.session != nullptr);
  CHECK(syn.session == h.session());
  h.send(false, kSyn | kAck, 5000, 1001);
  const StreamUpdate& data = h.send(true, kAck, 1001, 5001, "abc");
  REQUIRE(data.session != nullptr);
  CHECK(data.session->client.next_seq - data.session->client.isn == 4);
  CHECK(data.session->server.next_seq - data.session->server.isn == 1);
}

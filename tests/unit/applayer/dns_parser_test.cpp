#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "app_layer_harness.hpp"
#include "sensor/applayer/dns_parser.hpp"
#include "tests/unit/support/counting_allocator.hpp"

using namespace eastwatch;
using namespace eastwatch::test;

namespace {

// A DNS message built byte by byte.
struct DnsBuilder {
  std::vector<uint8_t> bytes;

  DnsBuilder& u8(uint8_t v) { bytes.push_back(v); return *this; }
  DnsBuilder& u16(uint16_t v) { return u8(static_cast<uint8_t>(v >> 8)).u8(static_cast<uint8_t>(v)); }
  DnsBuilder& u32(uint32_t v) { return u16(static_cast<uint16_t>(v >> 16)).u16(static_cast<uint16_t>(v)); }
  DnsBuilder& header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an = 0, uint16_t ns = 0, uint16_t ar = 0) {
    return u16(id).u16(flags).u16(qd).u16(an).u16(ns).u16(ar);
  }
  // "www.example.com" as labels, ended by the root label unless `end` is false.
  DnsBuilder& name(std::string_view dotted, bool end = true) {
    size_t start = 0;
    while (start < dotted.size()) {
      size_t dot = dotted.find('.', start);
      if (dot == std::string_view::npos) dot = dotted.size();
      u8(static_cast<uint8_t>(dot - start));
      for (size_t i = start; i < dot; ++i) u8(static_cast<uint8_t>(dotted[i]));
      start = dot + 1;
    }
    if (end) u8(0);
    return *this;
  }
  DnsBuilder& pointer(uint16_t offset) { return u16(static_cast<uint16_t>(0xc000 | offset)); }
  DnsBuilder& question(std::string_view n, uint16_t type = 1, uint16_t cls = 1) { return name(n).u16(type).u16(cls); }
  // A record whose name is already written; rdata as given.
  DnsBuilder& record_tail(uint16_t type, uint32_t ttl, const std::vector<uint8_t>& rdata) {
    u16(type).u16(1).u32(ttl).u16(static_cast<uint16_t>(rdata.size()));
    bytes.insert(bytes.end(), rdata.begin(), rdata.end());
    return *this;
  }
  std::span<const uint8_t> span() const { return bytes; }
  std::string str() const { return std::string(bytes.begin(), bytes.end()); }
  std::string tcp() const {  // with the 2-byte length prefix
    std::string s;
    s.push_back(static_cast<char>(bytes.size() >> 8));
    s.push_back(static_cast<char>(bytes.size() & 0xff));
    return s + str();
  }
};

std::string text(ByteView v) { return std::string(v.text()); }

struct Parsed {
  DnsOutput out;
  DnsCounters counters;
  bool ok = false;
  const DnsTransaction& tx() const { return out.transactions()[0]; }
};

void parse(Parsed& p, const DnsBuilder& b, bool to_server = true) {
  p.out.reset();
  p.ok = parse_dns_message(b.span(), to_server, 7, p.out, p.counters);
}

DnsBuilder query(std::string_view name, uint16_t id = 0x1234) {
  DnsBuilder b;
  b.header(id, 0x0100, 1).question(name);
  return b;
}

}  // namespace

TEST_CASE("dns: a query's header and question") {
  Parsed p;
  parse(p, query("www.example.com"));
  REQUIRE(p.ok);
  REQUIRE(p.out.transactions().size() == 1);
  const DnsTransaction& tx = p.tx();
  CHECK(tx.tx_id == 7);
  CHECK(tx.request_side);
  CHECK(tx.id == 0x1234);
  CHECK(tx.flags == 0x0100);
  CHECK(tx.opcode == 0);
  CHECK(tx.rcode == 0);
  REQUIRE(tx.question_count == 1);
  CHECK(text(tx.questions[0].name) == "www.example.com");
  CHECK(tx.questions[0].rrtype == 1);
  CHECK(tx.questions[0].rrclass == 1);
  CHECK(tx.record_count == 0);
}

TEST_CASE("dns: a response's answers with compression (CNAME, A, AAAA, MX, TXT, PTR, NS) and an authority") {
  DnsBuilder b;
  b.header(0x1234, 0x8183, 1, 6, 1).question("www.example.com");  // rcode 3 (NXDOMAIN)
  b.pointer(12).record_tail(5, 300, {});  // CNAME, rdata filled below
  // CNAME rdata: "web" + pointer to "example.com" (offset 16)
  b.bytes.resize(b.bytes.size() - 2);
  b.u16(6).u8(3).u8('w').u8('e').u8('b').pointer(16);
  b.pointer(16).record_tail(1, 60, {10, 0, 0, 1});
  b.pointer(16).record_tail(28, 60, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  b.pointer(16).u16(15).u16(1).u32(60).u16(4).u16(10).pointer(12);  // MX 10 www.example.com
  b.pointer(16).record_tail(16, 60, {5, 'h', 'e', 'l', 'l', 'o', 2, 'x', 'y'});
  b.pointer(16).u16(12).u16(1).u32(60).u16(2).pointer(12);  // PTR
  b.pointer(16).u16(2).u16(1).u32(3600).u16(6).u8(3).u8('n').u8('s').u8('1').pointer(16);  // NS (authority)
  Parsed p;
  parse(p, b, false);
  REQUIRE(p.ok);
  const DnsTransaction& tx = p.tx();
  CHECK_FALSE(tx.request_side);
  CHECK(tx.rcode == 3);
  REQUIRE(tx.record_count == 7);
  CHECK(text(tx.records[0].name) == "www.example.com");
  CHECK(tx.records[0].rrtype == 5);
  CHECK(tx.records[0].ttl == 300);
  CHECK(text(tx.records[0].rdata) == "web.example.com");
  CHECK(text(tx.records[1].name) == "example.com");
  CHECK(tx.records[1].rdata.len == 4);
  CHECK(tx.records[2].rdata.len == 16);
  CHECK(text(tx.records[3].rdata) == "www.example.com");
  CHECK(text(tx.records[4].rdata) == "hello");  // the first character-string
  CHECK(text(tx.records[5].rdata) == "www.example.com");
  CHECK(tx.records[6].authority);
  CHECK_FALSE(tx.records[5].authority);
  CHECK(text(tx.records[6].rdata) == "ns1.example.com");
  CHECK(p.counters.malformed_data == 0);

  DnsEveData eve;
  dns_eve_fill(tx, eve);
  CHECK_FALSE(eve.request);
  REQUIRE(eve.query_count == 1);
  CHECK(eve.view(eve.queries[0].rrname) == "www.example.com");
  REQUIRE(eve.answer_count == 7);
  CHECK(eve.view(eve.answers[1].rdata) == "10.0.0.1");
  CHECK(eve.view(eve.answers[2].rdata) == "2001:0db8:0000:0000:0000:0000:0000:0001");
  CHECK(eve.answers[6].authority);
  CHECK_FALSE(eve.truncated);
  CHECK(dns_rrtype_name(28) == "AAAA");
  CHECK(dns_rrtype_name(65000).empty());
  CHECK(dns_rcode_name(3) == "NXDOMAIN");
}

TEST_CASE("dns: a forward pointer is followed") {
  DnsBuilder b;
  b.header(1, 0x0100, 2);
  b.pointer(12 + 2 + 4).u16(1).u16(1);  // question 1 points at question 2's name, written after it
  b.question("fwd.example");
  Parsed p;
  parse(p, b);
  REQUIRE(p.ok);
  REQUIRE(p.tx().question_count == 2);
  CHECK(text(p.tx().questions[0].name) == "fwd.example");
  CHECK(text(p.tx().questions[1].name) == "fwd.example");
}

TEST_CASE("dns: pointer loops end at the loop guard (infinite_loop), never hang") {
  Parsed p;
  SECTION("a pointer to itself") {
    DnsBuilder b;
    b.header(1, 0x0100, 1).pointer(12).u16(1).u16(1);
    parse(p, b);
  }
  SECTION("two pointers to each other, after a label") {
    DnsBuilder b;
    b.header(1, 0x0100, 1).u8(1).u8('a').pointer(16).pointer(12).u16(1).u16(1);
    parse(p, b);
  }
  CHECK_FALSE(p.ok);
  CHECK(p.out.transactions().empty());
  CHECK(p.counters.infinite_loop == 1);
}

TEST_CASE("dns: a chain of distinct pointers beyond the hop limit is a loop") {
  DnsBuilder b;
  b.header(1, 0x0100, 1);
  const uint16_t first = static_cast<uint16_t>(b.bytes.size());
  for (uint32_t i = 0; i < kDnsMaxHops + 1; ++i) b.pointer(static_cast<uint16_t>(first + 2 * (i + 1)));
  b.u8(0).u16(1).u16(1);
  Parsed p;
  parse(p, b);
  CHECK_FALSE(p.ok);
  CHECK(p.counters.infinite_loop == 1);
}

TEST_CASE("dns: malformed messages are counted, never crash") {
  Parsed p;
  SECTION("shorter than the header") {
    DnsBuilder b;
    b.u16(1).u16(0x0100).u16(1);
    parse(p, b);
  }
  SECTION("a label past the end") {
    DnsBuilder b;
    b.header(1, 0x0100, 1).u8(10).u8('a');
    parse(p, b);
  }
  SECTION("a 0x40 label type") {
    DnsBuilder b;
    b.header(1, 0x0100, 1).u8(0x41).u8('a').u8(0).u16(1).u16(1);
    parse(p, b);
  }
  SECTION("a pointer outside the message") {
    DnsBuilder b;
    b.header(1, 0x0100, 1).pointer(0x3fff).u16(1).u16(1);
    parse(p, b);
  }
  SECTION("a question without type and class") {
    DnsBuilder b;
    b.header(1, 0x0100, 1).name("a.b").u8(0);
    parse(p, b);
  }
  SECTION("more questions counted than present") {
    DnsBuilder b;
    b.header(1, 0x0100, 3).question("a.b");
    parse(p, b);
  }
  SECTION("an answer's rdlength past the end") {
    DnsBuilder b;
    b.header(1, 0x8180, 1, 1).question("a.b").pointer(12).u16(1).u16(1).u32(1).u16(40).u8(1);
    parse(p, b, false);
  }
  CHECK_FALSE(p.ok);
  CHECK(p.out.transactions().empty());
  CHECK(p.counters.malformed_data == 1);
}

TEST_CASE("dns: every truncation of a valid response is handled") {
  DnsBuilder b;
  b.header(9, 0x8180, 1, 2).question("www.example.com");
  b.pointer(12).record_tail(5, 1, {3, 'c', 'd', 'n', 0xc0, 12});
  b.pointer(12).record_tail(1, 1, {1, 2, 3, 4});
  Parsed p;
  for (size_t n = 0; n < b.bytes.size(); ++n) {
    p.out.reset();
    CHECK_FALSE(parse_dns_message(b.span().first(n), false, 0, p.out, p.counters));
  }
  CHECK(p.counters.malformed_data == b.bytes.size());
  p.out.reset();
  CHECK(parse_dns_message(b.span(), false, 0, p.out, p.counters));
  CHECK(text(p.tx().records[0].rdata) == "cdn.www.example.com");
}

TEST_CASE("dns: names are cut at 255 bytes (name_too_long)") {
  std::string name;
  for (int i = 0; i < 5; ++i) name += std::string(63, static_cast<char>('a' + i)) + (i < 4 ? "." : "");
  REQUIRE(name.size() == 319);
  Parsed p;
  parse(p, query(name));
  REQUIRE(p.ok);
  CHECK(p.tx().questions[0].name.len == 255);
  CHECK(text(p.tx().questions[0].name) == name.substr(0, 255));
  CHECK(p.counters.name_too_long == 1);

  const std::string exact = name.substr(0, 255);  // 4 labels of 63 + '.' separators = 255 bytes
  parse(p, query(exact.substr(0, 63 * 4 + 3)));
  CHECK(p.tx().questions[0].name.len == 255);
  CHECK(p.counters.name_too_long == 1);
}

TEST_CASE("dns: too many labels") {
  std::string name;
  for (uint32_t i = 0; i < kDnsMaxLabels + 1; ++i) name += i ? ".a" : "a";
  Parsed p;
  parse(p, query(name));
  CHECK_FALSE(p.ok);
  CHECK(p.counters.too_many_labels == 1);
}

TEST_CASE("dns: questions beyond kMaxQuestions are parsed but not kept") {
  DnsBuilder b;
  b.header(1, 0x0100, 40);
  for (int i = 0; i < 40; ++i) b.question("q" + std::to_string(i) + ".example", 16);
  Parsed p;
  parse(p, b);
  REQUIRE(p.ok);
  CHECK(p.tx().question_count == DnsTransaction::kMaxQuestions);
  CHECK(p.tx().qdcount == 40);
  CHECK(text(p.tx().questions[15].name) == "q15.example");
  CHECK(p.tx().questions[15].rrtype == 16);
  CHECK(p.counters.too_many_questions == 1);
}

TEST_CASE("dns: the header events (not_request, not_response, z_flag_set, invalid_opcode)") {
  Parsed p;
  DnsBuilder response;
  response.header(1, 0x8180, 1).question("a.example");
  parse(p, response, true);  // a response travelling to the server
  CHECK_FALSE(p.ok);
  CHECK(p.counters.not_request == 1);
  CHECK(p.out.transactions().empty());

  parse(p, query("a.example"), false);  // a query travelling to the client: kept
  CHECK(p.ok);
  CHECK(p.counters.not_response == 1);
  CHECK_FALSE(p.tx().request_side);

  DnsBuilder z;
  z.header(1, 0x0140, 1).question("a.example");
  parse(p, z);
  CHECK(p.ok);
  CHECK(p.counters.z_flag_set == 1);

  DnsBuilder op;
  op.header(1, 0x7900, 1).question("a.example");  // opcode 15
  parse(p, op);
  CHECK(p.ok);
  CHECK(p.tx().opcode == 15);
  CHECK(p.counters.invalid_opcode == 1);
}

TEST_CASE("dns: UDP through the app layer, one transaction per message in flow order") {
  AppLayerHarness h({}, 53, 17);
  h.datagram(true, query("example.com", 0x42).str());
  CHECK(h.proto() == AppProto::Dns);
  REQUIRE(h.app->dns_output().transactions().size() == 1);
  CHECK(h.app->dns_output().transactions()[0].tx_id == 0);
  DnsBuilder r;
  r.header(0x42, 0x8180, 1, 1).question("example.com").pointer(12).record_tail(1, 5, {1, 2, 3, 4});
  h.datagram(false, r.str());
  REQUIRE(h.app->dns_output().transactions().size() == 1);
  const DnsTransaction& tx = h.app->dns_output().transactions()[0];
  CHECK(tx.tx_id == 1);  // Suricata: the response is a transaction of its own
  CHECK(tx.id == 0x42);
  CHECK_FALSE(tx.request_side);
  CHECK(h.counters().dns.tx_udp == 2);
  DnsBuilder truncated;
  truncated.header(1, 0x0100, 1).u8(5).u8('a').u8('b');
  h.datagram(true, truncated.str());
  CHECK(h.app->dns_output().transactions().empty());
  CHECK(h.counters().dns.error_udp_parser == 1);
  CHECK(h.counters().flow_dns_udp == 1);
}

TEST_CASE("dns: TCP messages split at every byte boundary") {
  DnsBuilder r;
  r.header(7, 0x8180, 1, 1).question("split.example").pointer(12).record_tail(1, 5, {9, 9, 9, 9});
  const std::string q = query("split.example", 7).tcp(), a = r.tcp();
  for (size_t cut = 1; cut < q.size(); ++cut) {
    AppLayerHarness h({}, 53, 6);
    CHECK(h.request(q.substr(0, cut)).transactions().empty());
    h.request(q.substr(cut));
    REQUIRE(h.app->dns_output().transactions().size() == 1);
    CHECK(text(h.app->dns_output().transactions()[0].questions[0].name) == "split.example");
    for (size_t i = 0; i + 1 < a.size(); ++i) {
      h.response(a.substr(i, 1));
      CHECK(h.app->dns_output().transactions().empty());
    }
    h.response(a.substr(a.size() - 1));
    REQUIRE(h.app->dns_output().transactions().size() == 1);
    const DnsTransaction& tx = h.app->dns_output().transactions()[0];
    CHECK(tx.tx_id == 1);
    CHECK(tx.record_count == 1);
    CHECK(h.counters().dns.tx_tcp == 2);
    h.app->release(h.flow);
    CHECK(h.counters().dns.tcp_states_in_use == 0);
  }
}

TEST_CASE("dns: two TCP messages in one segment, and one after a split") {
  AppLayerHarness h({}, 53, 6);
  const std::string a = query("one.example", 1).tcp(), b = query("two.example", 2).tcp(),
                    c = query("three.example", 3).tcp();
  const std::string all = a + b + c;
  h.request(all.substr(0, a.size() + b.size() + 5));
  auto txs = h.app->dns_output().transactions();
  REQUIRE(txs.size() == 2);
  CHECK(txs[0].tx_id == 0);
  CHECK(text(txs[1].questions[0].name) == "two.example");
  CHECK(txs[1].tx_id == 1);
  h.request(all.substr(a.size() + b.size() + 5));
  txs = h.app->dns_output().transactions();
  REQUIRE(txs.size() == 1);
  CHECK(text(txs[0].questions[0].name) == "three.example");
  CHECK(txs[0].tx_id == 2);
  h.app->release(h.flow);
}

TEST_CASE("dns: a split TCP message longer than the buffer is skipped and counted") {
  AppLayerSettings s;
  s.dns.tcp_buffer_size = 512;
  AppLayerHarness h(s, 53, 6);
  DnsBuilder big;
  big.header(1, 0x0100, 1).question("big.example", 16);
  big.bytes.resize(900, 0);  // trailing bytes after the question (ignored in a request)
  const std::string msg = big.tcp(), next = query("next.example", 2).tcp();
  h.request(msg.substr(0, 100));  // the detection needs the first 512 bytes; feed them in two parts
  h.request(msg.substr(100, 500));
  h.request(msg.substr(600) + next);
  CHECK(h.counters().dns.tcp_message_too_long == 1);
  auto txs = h.app->dns_output().transactions();
  REQUIRE(txs.size() == 1);
  CHECK(text(txs[0].questions[0].name) == "next.example");
  h.app->release(h.flow);
}

TEST_CASE("dns: a TCP gap drops the gathered bytes, parsing resumes at a message start") {
  AppLayerHarness h({}, 53, 6);
  // Delivers `bytes` at stream offset `offset` of the to-server direction, without a look-back view.
  auto deliver = [&](uint64_t offset, const std::string& bytes) {
    std::string& s = h.sent[0];
    s.resize(offset);
    s.append(bytes);
    h.update.reset(true);
    h.update.tracked = true;
    h.update.spans[0] = {reinterpret_cast<const uint8_t*>(s.data()) + offset, static_cast<uint32_t>(bytes.size()),
                         offset, false};
    h.update.span_count = 1;
    h.app->process(h.packet, &h.update);
    return h.app->dns_output().transactions();
  };
  const std::string a = query("first.example", 1).tcp();
  h.request(a);
  REQUIRE(h.app->dns_output().transactions().size() == 1);
  const std::string b = query("second.example", 2).tcp();
  CHECK(deliver(a.size(), b.substr(0, 5)).empty());
  // A hole of 10 bytes; the span after it begins inside the message: not resynchronised there.
  const std::string rest = b.substr(5 + 10) + query("third.example", 3).tcp();
  CHECK(deliver(a.size() + 15, rest).empty());
  CHECK(h.counters().dns.error_tcp_gap == 1);
  const auto txs = deliver(a.size() + 15 + rest.size(), query("fourth.example", 4).tcp());
  REQUIRE(txs.size() == 1);
  CHECK(text(txs[0].questions[0].name) == "fourth.example");
  CHECK(txs[0].tx_id == 1);
  h.app->release(h.flow);
}

TEST_CASE("dns: a full DNS/TCP state pool is counted and the flow only detected") {
  AppLayerSettings s;
  s.dns.global_memcap = 0;
  AppLayerHarness h(s, 53, 6);
  CHECK(h.app->dns_tcp_capacity() == 0);
  h.request(query("a.example").tcp());
  CHECK(h.proto() == AppProto::Dns);
  CHECK(h.app->dns_output().transactions().empty());
  CHECK(h.counters().dns.error_tcp_alloc == 1);
  h.request(query("b.example").tcp());
  CHECK(h.counters().dns.error_tcp_alloc == 1);
  h.app->release(h.flow);
}

TEST_CASE("dns: more transactions in one packet than the output holds are counted") {
  AppLayerHarness h({}, 53, 6);
  std::string all;
  for (uint32_t i = 0; i < DnsOutput::kMaxTx + 3; ++i) all += query("m.example", static_cast<uint16_t>(i)).tcp();
  h.request(all);
  CHECK(h.app->dns_output().transactions().size() == DnsOutput::kMaxTx);
  CHECK(h.counters().dns.tx_overflow == 3);
  CHECK(h.counters().dns.tx_tcp == DnsOutput::kMaxTx + 3);
  h.request(query("after.example").tcp());
  CHECK(h.app->dns_output().transactions()[0].tx_id == DnsOutput::kMaxTx + 3);
  h.app->release(h.flow);
}

TEST_CASE("dns: parsing UDP and TCP DNS (split, pipelined, malformed, overflowing) allocates nothing") {
  if (!EASTWATCH_COUNTING_ALLOCATOR) {
    WARN("skipped under AddressSanitizer: it replaces operator new");
    return;
  }
  // Every message is built before counting.
  DnsBuilder r;
  r.header(5, 0x8180, 1, 2).question("alloc.example").pointer(12).record_tail(5, 1, {3, 'c', 'd', 'n', 0xc0, 12});
  r.pointer(12).record_tail(1, 1, {1, 2, 3, 4});
  DnsBuilder loop;
  loop.header(1, 0x0100, 1).pointer(12).u16(1).u16(1);
  const std::string udp_query = query("alloc.example", 5).str(), udp_response = r.str(), bad = loop.str();
  std::string pipelined;
  for (int i = 0; i < 20; ++i) pipelined += query("p" + std::to_string(i) + ".example").tcp();
  const std::string tcp_response = r.tcp();
  AppLayerHarness udp({}, 53, 17);
  udp.udp_payload.reserve(4096);
  AppLayerHarness tcp({}, 53, 6);
  const uint64_t before = g_allocations.load();
  for (int round = 0; round < 20; ++round) {
    udp.datagram(true, udp_query);
    udp.datagram(false, udp_response);
    udp.datagram(true, bad);
    for (size_t i = 0; i < pipelined.size(); i += 7) tcp.request(std::string_view(pipelined).substr(i, 7));
    tcp.response(tcp_response);
  }
  tcp.app->release(tcp.flow);
  udp.app->release(udp.flow);
  CHECK(g_allocations.load() == before);
  CHECK(udp.counters().dns.tx_udp == 40);
  CHECK(udp.counters().dns.infinite_loop == 20);
  CHECK(tcp.counters().dns.tx_tcp == 20 * 21);
}

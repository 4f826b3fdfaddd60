#include <atomic>
#include <cstdlib>
#include <new>
#include <set>
#include <string_view>

#include <catch2/catch.hpp>

#include "sensor/flow/flow_table.hpp"

using namespace eastwatch;

// Proves the packet path allocates nothing (skipped under AddressSanitizer).
#include "tests/unit/support/counting_allocator.hpp"

namespace {

Packet tcp_packet(const char* src, uint16_t sport, const char* dst, uint16_t dport, uint8_t flags, int64_t ts_usec,
                  uint16_t vlan = 0) {
  Packet p;
  p.ip_version = 4;
  p.ip_proto = 6;
  p.has_transport = true;
  p.src = *IpAddress::parse(src);
  p.dst = *IpAddress::parse(dst);
  p.src_port = sport;
  p.dst_port = dport;
  p.tcp_flags = flags;
  p.ts_usec = ts_usec;
  p.wirelen = 100;
  if (vlan) {
    p.vlan_count = 1;
    p.vlan_id[0] = vlan;
  }
  return p;
}

Packet udp_packet(const char* src, uint16_t sport, const char* dst, uint16_t dport, int64_t ts_usec) {
  Packet p = tcp_packet(src, sport, dst, dport, 0, ts_usec);
  p.ip_proto = 17;
  return p;
}

constexpr int64_t kSecond = 1'000'000;

}  // namespace

TEST_CASE("both directions find the same flow - direction and counters and handshake state") {
  FlowTable table(FlowSettings{});
  Packet syn = tcp_packet("10.0.0.1", 40000, "10.0.0.2", 80, tcp_flag::Syn, 1 * kSecond);
  Packet synack = tcp_packet("10.0.0.2", 80, "10.0.0.1", 40000, tcp_flag::Syn | tcp_flag::Ack, 2 * kSecond);
  Packet ack = tcp_packet("10.0.0.1", 40000, "10.0.0.2", 80, tcp_flag::Ack, 3 * kSecond);
  Flow* f1 = table.process(syn);
  REQUIRE(f1 != nullptr);
  CHECK(syn.to_server);
  CHECK(f1->state == FlowState::New);
  Flow* f2 = table.process(synack);
  CHECK(f2 == f1);
  CHECK_FALSE(synack.to_server);
  table.process(ack);
  CHECK(f1->state == FlowState::Established);
  CHECK(f1->pkts_toserver == 2);
  CHECK(f1->pkts_toclient == 1);
  CHECK(f1->bytes_toserver == 200);
  CHECK(f1->start_usec == 1 * kSecond);
  CHECK(f1->last_usec == 3 * kSecond);
  CHECK(f1->key.client == *IpAddress::parse("10.0.0.1"));
  CHECK(f1->key.server_port == 80);
  CHECK(table.counters().total == 1);
  CHECK(table.counters().tcp == 1);
  CHECK(table.counters().active == 1);

  Packet fin1 = tcp_packet("10.0.0.1", 40000, "10.0.0.2", 80, tcp_flag::Fin | tcp_flag::Ack, 4 * kSecond);
  Packet fin2 = tcp_packet("10.0.0.2", 80, "10.0.0.1", 40000, tcp_flag::Fin | tcp_flag::Ack, 4 * kSecond);
  table.process(fin1);
  CHECK(f1->state == FlowState::Established);
  table.process(fin2);
  CHECK(f1->state == FlowState::Closed);
}

TEST_CASE("a flow first seen at its SYN/ACK belongs to the other side") {
  FlowTable table(FlowSettings{});
  Packet synack = tcp_packet("10.0.0.2", 80, "10.0.0.1", 40000, tcp_flag::Syn | tcp_flag::Ack, kSecond);
  Flow* flow = table.process(synack);
  REQUIRE(flow);
  CHECK(flow->key.client == *IpAddress::parse("10.0.0.1"));
  CHECK(flow->key.server_port == 80);
  CHECK_FALSE(synack.to_server);
}

TEST_CASE("VLAN ids and protocol separate flows - UDP is established once both sides spoke") {
  FlowTable table(FlowSettings{});
  Packet a = tcp_packet("10.0.0.1", 1, "10.0.0.2", 2, tcp_flag::Ack, kSecond, 10);
  Packet b = tcp_packet("10.0.0.1", 1, "10.0.0.2", 2, tcp_flag::Ack, kSecond, 20);
  Packet u = udp_packet("10.0.0.1", 1, "10.0.0.2", 2, kSecond);
  CHECK(table.process(a) != table.process(b));
  Flow* udp = table.process(u);
  CHECK(udp != a.flow);
  CHECK(udp->state == FlowState::New);
  Packet reply = udp_packet("10.0.0.2", 2, "10.0.0.1", 1, 2 * kSecond);
  table.process(reply);
  CHECK(udp->state == FlowState::Established);
  CHECK(table.counters().total == 3);
  CHECK(table.counters().udp == 1);
}

TEST_CASE("flows time out per state - expire ends them with the callback") {
  FlowSettings settings;
  settings.udp.new_seconds = 30;
  settings.udp.established_seconds = 300;
  FlowTable table(settings);
  std::vector<FlowEndReason> ended;
  table.set_end_callback([&](const Flow&, FlowEndReason reason) { ended.push_back(reason); });
  Packet one_way = udp_packet("10.0.0.1", 1, "10.0.0.2", 2, 0);
  table.process(one_way);
  Packet a = udp_packet("10.0.0.3", 1, "10.0.0.4", 2, 0);
  Packet b = udp_packet("10.0.0.4", 2, "10.0.0.3", 1, 0);
  table.process(a);
  table.process(b);
  table.expire(29 * kSecond, 100);
  CHECK(ended.empty());
  table.expire(31 * kSecond, 100);  // the one-way (new) flow is gone, the established one stays
  REQUIRE(ended.size() == 1);
  CHECK(ended[0] == FlowEndReason::Timeout);
  CHECK(table.counters().timeout == 1);
  CHECK(table.counters().active == 1);
  table.expire(301 * kSecond, 100);
  CHECK(ended.size() == 2);
  CHECK(table.counters().active == 0);
}

TEST_CASE("a full table evicts the least recently used flow and enters emergency mode") {
  FlowSettings settings;
  settings.memcap = 1;  // the smallest table: 16 flows
  FlowTable table(settings);
  REQUIRE(table.capacity() == 16);
  std::vector<std::pair<IpAddress, FlowEndReason>> ended;
  table.set_end_callback([&](const Flow& f, FlowEndReason r) { ended.emplace_back(f.key.client, r); });
  std::vector<Packet> packets;
  for (int i = 0; i < 16; ++i) {
    const std::string src = "10.0.1." + std::to_string(i);
    packets.push_back(udp_packet(src.c_str(), 1, "10.0.0.2", 2, kSecond + i));
  }
  for (auto& p : packets) table.process(p);
  CHECK(table.counters().spare == 0);
  // Touch flow 0 again so that flow 1 becomes the least recently used.
  Packet again = packets[0];
  table.process(again);
  Packet newcomer = udp_packet("10.0.2.1", 1, "10.0.0.2", 2, 2 * kSecond);
  REQUIRE(table.process(newcomer) != nullptr);
  REQUIRE(ended.size() == 1);
  CHECK(ended[0].first == *IpAddress::parse("10.0.1.1"));
  CHECK(ended[0].second == FlowEndReason::Evicted);
  CHECK(table.counters().get_used == 1);
  CHECK(table.counters().emerg_mode_entered == 1);
  CHECK(table.emergency());
  // Freeing enough of the pool leaves emergency mode.
  table.flush();
  CHECK(table.counters().active == 0);
  Packet after = udp_packet("10.0.3.1", 1, "10.0.0.2", 2, 3 * kSecond);
  table.process(after);
  CHECK_FALSE(table.emergency());
  CHECK(table.counters().emerg_mode_over == 1);
}

TEST_CASE("flow ids are unique and non-zero and JSON-safe") {
  FlowTable table(FlowSettings{});
  std::set<uint64_t> ids;
  for (int i = 0; i < 5000; ++i) {
    const std::string src = "10." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ".1";
    Packet p = udp_packet(src.c_str(), static_cast<uint16_t>(i), "10.0.0.2", 53, kSecond);
    Flow* f = table.process(p);
    REQUIRE(f);
    CHECK(f->flow_id != 0);
    CHECK(f->flow_id < (uint64_t{1} << 51));
    ids.insert(f->flow_id);
  }
  CHECK(ids.size() == 5000);
  CHECK(table.counters().active == 5000);
  table.flush();
  CHECK(table.counters().active == 0);
}

TEST_CASE("processing packets allocates nothing") {
  if (!EASTWATCH_COUNTING_ALLOCATOR) {
    WARN("skipped under AddressSanitizer: it replaces operator new");
    return;
  }
  FlowTable table(FlowSettings{});
  std::vector<Packet> packets;
  for (int i = 0; i < 2000; ++i) {
    const std::string src = "10.1." + std::to_string(i / 200) + "." + std::to_string(i % 200);
    packets.push_back(tcp_packet(src.c_str(), 1000, "10.0.0.2", 80, tcp_flag::Syn, kSecond + i));
  }
  const uint64_t before = g_allocations.load();
  for (auto& p : packets) table.process(p);
  for (auto& p : packets) table.process(p);
  table.expire(1000 * kSecond, 500);
  CHECK(g_allocations.load() == before);
}

TEST_CASE("non-IP packets get no flow") {
  FlowTable table(FlowSettings{});
  Packet arp;
  CHECK(table.process(arp) == nullptr);
  CHECK(table.counters().total == 0);
}

TEST_CASE("a hash stored by the decoding thread finds the same flows - peek reads them without changing anything") {
  FlowTable table(FlowSettings{});
  // Addresses that differ only in their last 8 bytes, only in their first 8, and IPv4: the hash
  // orders the two endpoints by address bytes, so both directions must give the same hash.
  const char* pairs[][2] = {{"2001:db8::1:1", "2001:db8::1:2"}, {"2001:db8::7", "2001:db9::7"}, {"10.0.0.9", "10.0.0.10"},
                            {"10.0.0.5", "10.0.0.5"}};
  for (const auto& pair : pairs) {
    Packet request = tcp_packet(pair[0], 40000, pair[1], 80, tcp_flag::Syn, kSecond);
    Packet reply = tcp_packet(pair[1], 80, pair[0], 40000, tcp_flag::Syn | tcp_flag::Ack, 2 * kSecond);
    if (std::string_view(pair[0]).find(':') != std::string_view::npos) request.ip_version = reply.ip_version = 6;
    INFO(pair[0] << " " << pair[1]);
    CHECK(FlowTable::hash(request) == FlowTable::hash(reply));
    CHECK(table.peek(request) == nullptr);  // no stored hash: nothing looked up
    request.flow_hash = FlowTable::hash(request);
    request.flow_hash_set = true;
    CHECK(table.peek(request) == nullptr);  // not created yet
    table.prefetch_slot(request);
    table.prefetch_flow(request);
    Flow* flow = table.process(request);
    REQUIRE(flow != nullptr);
    CHECK(flow->hash == request.flow_hash);
    CHECK(table.peek(request) == flow);
    reply.flow_hash = FlowTable::hash(reply);
    reply.flow_hash_set = true;
    CHECK(table.peek(reply) == flow);
    CHECK(flow->pkts_toclient == 0);  // peek counted nothing
    // The reply without a stored hash finds the same flow as with one.
    Packet plain = reply;
    plain.flow_hash_set = false;
    CHECK(table.process(plain) == flow);
    CHECK_FALSE(plain.to_server);
    CHECK(table.process(reply) == flow);
    CHECK(flow->pkts_toclient == 2);
    // Another port is another flow, for peek as for process.
    Packet other = tcp_packet(pair[0], 40001, pair[1], 80, tcp_flag::Syn, 3 * kSecond);
    other.ip_version = request.ip_version;
    other.flow_hash = FlowTable::hash(other);
    other.flow_hash_set = true;
    CHECK(table.peek(other) == nullptr);
    CHECK(table.process(other) != flow);
  }
  CHECK(table.counters().total == 8);
}

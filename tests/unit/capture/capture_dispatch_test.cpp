// The capture -> worker hand-off: the symmetric flow hash (both directions, every fragment of a
// datagram, VLAN and IPv6 alike), the SPSC frame ring, the capture config keys, and the sum
// of stats over workers.
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "config/config_loader.hpp"
#include "sensor/main/capture_dispatch.hpp"
#include "sensor/main/stats_collector.hpp"

using namespace eastwatch;

namespace {

struct Bytes {
  std::vector<uint8_t> v;
  Bytes& u8(uint8_t x) { v.push_back(x); return *this; }
  Bytes& u16(uint16_t x) { return u8(static_cast<uint8_t>(x >> 8)).u8(static_cast<uint8_t>(x)); }
  Bytes& u32(uint32_t x) { return u16(static_cast<uint16_t>(x >> 16)).u16(static_cast<uint16_t>(x)); }
  Bytes& addr4(uint32_t a) { return u32(a); }
  Packet packet(LinkType link = LinkType::Ethernet) const {
    Packet p;
    p.data = v.data();
    p.caplen = p.wirelen = static_cast<uint32_t>(v.size());
    p.link_type = link;
    return p;
  }
};

void ethernet(Bytes& b, uint16_t ether_type, int vlans = 0) {
  for (int i = 0; i < 12; ++i) b.u8(static_cast<uint8_t>(i));
  for (int i = 0; i < vlans; ++i) b.u16(0x8100).u16(static_cast<uint16_t>(100 + i));
  b.u16(ether_type);
}

// An IPv4 packet: proto with ports (TCP/UDP) unless it is a later fragment.
Bytes ipv4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t sport, uint16_t dport, uint16_t id = 7,
           uint16_t frag = 0, int vlans = 0) {
  Bytes b;
  ethernet(b, 0x0800, vlans);
  b.u8(0x45).u8(0).u16(40).u16(id).u16(frag).u8(64).u8(proto).u16(0).addr4(src).addr4(dst);
  if ((frag & 0x1fff) == 0) b.u16(sport).u16(dport).u32(1).u32(2);  // first fragment or whole: ports
  else b.u32(0xdeadbeef).u32(0xfeedface);                           // later fragment: payload only
  return b;
}

Bytes ipv6(uint8_t last, uint8_t other, uint8_t next_header, uint16_t sport, uint16_t dport, bool fragment = false,
           uint16_t frag_offset = 0, uint32_t id = 99) {
  Bytes b;
  ethernet(b, 0x86dd);
  b.u32(0x60000000).u16(32).u8(fragment ? 44 : next_header).u8(64);
  b.u32(0x20010db8).u32(0).u32(0).u32(last);
  b.u32(0x20010db8).u32(0).u32(0).u32(other);
  if (fragment) b.u8(next_header).u8(0).u16(static_cast<uint16_t>(frag_offset << 3 | 1)).u32(id);
  if (!fragment || frag_offset == 0) b.u16(sport).u16(dport).u32(0);
  else b.u32(0x11111111).u32(0x22222222);
  return b;
}

}  // namespace

TEST_CASE("flow_hash is symmetric: both directions of a flow hash alike") {
  const auto a = ipv4(0x0a000001, 0x0a000002, 6, 41000, 80);
  const auto b = ipv4(0x0a000002, 0x0a000001, 6, 80, 41000);
  CHECK(flow_hash(a.packet()) == flow_hash(b.packet()));
  // Another flow between the same hosts (another client port) hashes differently (XXH3: these
  // two are known not to collide).
  const auto c = ipv4(0x0a000001, 0x0a000002, 6, 41001, 80);
  CHECK(flow_hash(a.packet()) != flow_hash(c.packet()));
  // Same addresses, swapped ports but not swapped addresses: a different flow.
  const auto d = ipv4(0x0a000001, 0x0a000002, 6, 80, 41000);
  CHECK(flow_hash(a.packet()) != flow_hash(d.packet()));
  // VLAN-tagged (one and two tags) frames are parsed through to the same IP header.
  const auto tagged = ipv4(0x0a000002, 0x0a000001, 6, 80, 41000, 7, 0, 1);
  const auto qinq = ipv4(0x0a000001, 0x0a000002, 6, 41000, 80, 7, 0, 2);
  CHECK(flow_hash(tagged.packet()) == flow_hash(a.packet()));
  CHECK(flow_hash(qinq.packet()) == flow_hash(a.packet()));
}

TEST_CASE("flow_hash sends every fragment of an IPv4 datagram alike, first one with ports included") {
  const auto first = ipv4(0x0a000001, 0x0a000002, 17, 5000, 53, 0x4242, 0x2000);      // MF, offset 0
  const auto middle = ipv4(0x0a000001, 0x0a000002, 17, 0, 0, 0x4242, 0x2000 | 185);   // MF, offset 185
  const auto last = ipv4(0x0a000001, 0x0a000002, 17, 0, 0, 0x4242, 370);              // offset 370
  CHECK(flow_hash(first.packet()) == flow_hash(middle.packet()));
  CHECK(flow_hash(first.packet()) == flow_hash(last.packet()));
  // Another datagram (another IP id) of the same hosts is hashed on its own.
  const auto other = ipv4(0x0a000001, 0x0a000002, 17, 0, 0, 0x4243, 370);
  CHECK(flow_hash(other.packet()) != flow_hash(last.packet()));
}

TEST_CASE("flow_hash handles IPv6 flows and fragments") {
  CHECK(flow_hash(ipv6(1, 2, 6, 40000, 443).packet()) == flow_hash(ipv6(2, 1, 6, 443, 40000).packet()));
  const auto first = ipv6(1, 2, 17, 5000, 53, true, 0, 77);
  const auto later = ipv6(1, 2, 17, 0, 0, true, 100, 77);
  CHECK(flow_hash(first.packet()) == flow_hash(later.packet()));
  CHECK(flow_hash(first.packet()) != flow_hash(ipv6(1, 2, 17, 0, 0, true, 100, 78).packet()));
}

TEST_CASE("flow_hash never reads past a truncated frame and gives 0 for non-IP") {
  const auto whole = ipv4(0x0a000001, 0x0a000002, 6, 41000, 80);
  for (size_t len = 0; len < whole.v.size(); ++len) {
    Packet p = whole.packet();
    p.caplen = static_cast<uint32_t>(len);
    (void)flow_hash(p);  // under ASan: any over-read fails the test
  }
  Bytes arp;
  ethernet(arp, 0x0806);
  arp.u32(0);
  CHECK(flow_hash(arp.packet()) == 0);
  Packet empty;
  CHECK(flow_hash(empty) == 0);
}

TEST_CASE("FrameRing copies frames in order, fills up, and frees slots on release") {
  FrameRing ring(4, 64);
  std::vector<uint8_t> bytes(100);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i);
  Packet frame;
  frame.data = bytes.data();
  frame.caplen = 10;
  frame.wirelen = 60;
  bool truncated = true;
  for (uint64_t i = 1; i <= 4; ++i) {
    frame.pcap_cnt = i;
    REQUIRE(ring.try_push(frame, truncated));
    CHECK_FALSE(truncated);
  }
  frame.pcap_cnt = 5;
  CHECK_FALSE(ring.try_push(frame, truncated));  // full

  std::vector<Packet> out(8);
  REQUIRE(ring.peek(out) == 4);
  CHECK(out[0].pcap_cnt == 1);
  CHECK(out[3].pcap_cnt == 4);
  CHECK(out[2].wirelen == 60);
  CHECK(out[2].data != bytes.data());  // a copy
  CHECK(std::memcmp(out[2].data, bytes.data(), 10) == 0);
  ring.release(2);
  REQUIRE(ring.try_push(frame, truncated));
  frame.caplen = 100;  // longer than a slot: cut to 64
  frame.pcap_cnt = 6;
  REQUIRE(ring.try_push(frame, truncated));
  CHECK(truncated);
  CHECK_FALSE(ring.try_push(frame, truncated));
  REQUIRE(ring.peek(out) == 4);
  CHECK(out[0].pcap_cnt == 3);
  CHECK(out[2].pcap_cnt == 5);
  CHECK(out[3].caplen == 64);
  CHECK_FALSE(ring.closed());
  ring.close();
  CHECK(ring.closed());
}

TEST_CASE("capture config keys: defaults, values, and errors") {
  auto defaults = load_settings(std::nullopt, {});
  REQUIRE(defaults);
  const CaptureSettings built_in;
  CHECK(defaults->capture.interfaces.empty());
  CHECK(defaults->capture.buffer_size == built_in.buffer_size);
  CHECK(defaults->capture.buffer_size == 64ull << 20);
  CHECK(defaults->capture.snaplen == 65535);
  CHECK(defaults->capture.promisc == built_in.promisc);
  CHECK(defaults->capture.bpf_filter.empty());
  CHECK(defaults->capture.workers == 1);

  auto set = load_settings(std::nullopt, {"capture.interfaces=[eth1, eth2]", "capture.workers=4",
                                          "capture.buffer-size=128mb", "capture.promisc=no",
                                          "capture.bpf-filter=not port 22", "capture.snaplen=1514"});
  REQUIRE(set);
  CHECK(set->capture.interfaces == std::vector<std::string>{"eth1", "eth2"});
  CHECK(set->capture.workers == 4);
  CHECK(set->capture.buffer_size == 128ull << 20);
  CHECK_FALSE(set->capture.promisc);
  CHECK(set->capture.bpf_filter == "not port 22");
  CHECK(set->capture.snaplen == 1514);

  auto bad = load_settings(std::nullopt, {"capture.workers=0"});
  REQUIRE_FALSE(bad);
  CHECK(bad.error()[0].message.find("capture.workers") != std::string::npos);
  auto unknown = load_settings(std::nullopt, {"capture.threads=2"});
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error()[0].message.find("unknown key") != std::string::npos);
}

namespace {
struct FakeCounters {
  uint64_t pkts = 0, bytes = 0, max_pkt_size = 0, drops = 0;
  template <class F>
  void visit(F&& f) const {
    f("pkts", pkts); f("bytes", bytes); f("avg_pkt_size", pkts ? bytes / pkts : 0); f("max_pkt_size", max_pkt_size);
  }
  template <class F>
  void visit_extra(F&& f) const { f("drops", drops); }
};

uint64_t value_of(const std::vector<std::pair<std::string, uint64_t>>& list, const std::string& name) {
  for (const auto& entry : list) {
    if (entry.first == name) return entry.second;
  }
  FAIL("no counter " << name);
  return 0;
}
}  // namespace

TEST_CASE("StatsCollector sums a stage added once per worker (maxima kept, averages recomputed)") {
  StatsCollector stats;
  stats.add("decoder", FakeCounters{10, 1000, 300, 1});
  stats.add("decoder", FakeCounters{30, 1000, 200, 2});
  const StatsSnapshot snapshot = stats.snapshot(0, 0);
  CHECK(snapshot.eve.size() == 4);  // one entry per name, not one per worker
  CHECK(value_of(snapshot.eve, "decoder.pkts") == 40);
  CHECK(value_of(snapshot.eve, "decoder.bytes") == 2000);
  CHECK(value_of(snapshot.eve, "decoder.max_pkt_size") == 300);
  CHECK(value_of(snapshot.eve, "decoder.avg_pkt_size") == 50);
  CHECK(value_of(snapshot.extra, "decoder.drops") == 3);
}

TEST_CASE("FrameRing hands every frame across threads once, in order, with its bytes") {
  FrameRing ring(64, 32);
  constexpr uint64_t kFrames = 200'000;
  std::thread producer([&ring] {
    uint8_t bytes[32];
    Packet frame;
    frame.data = bytes;
    frame.caplen = sizeof bytes;
    bool truncated = false;
    for (uint64_t i = 1; i <= kFrames; ++i) {
      std::memset(bytes, static_cast<int>(i & 0xff), sizeof bytes);
      frame.pcap_cnt = i;
      while (!ring.try_push(frame, truncated)) std::this_thread::yield();
    }
    ring.close();
  });
  std::vector<Packet> out(16);
  uint64_t expected = 1;
  bool bytes_ok = true;
  for (;;) {
    const bool closed = ring.closed();
    const size_t count = ring.peek(out);
    for (size_t i = 0; i < count; ++i) {
      if (out[i].pcap_cnt != expected) break;
      bytes_ok = bytes_ok && out[i].data[0] == static_cast<uint8_t>(expected & 0xff) &&
                 out[i].data[31] == static_cast<uint8_t>(expected & 0xff);
      ++expected;
    }
    ring.release(count);
    if (count == 0 && closed) break;
    if (count == 0) std::this_thread::yield();
  }
  producer.join();
  CHECK(expected == kFrames + 1);
  CHECK(bytes_ok);
}

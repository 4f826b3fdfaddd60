// The whole packet path of a worker — decode, defrag, flow, stream, application layer, detection,
// alert events — allocates nothing once the worker is built: proven with a counting operator new
// over the bundled capture of a guest-to-guest attack (HTTP, SSH, Redis, ICMP sweeps, VLANs,
// IPv6) and a capture written here with IP fragments and out-of-order TCP segments.
#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <vector>

#include "config/config_loader.hpp"
#include "sensor/capture/pcap_file_source.hpp"
#include "sensor/detect/detect_engine.hpp"
#include "sensor/main/worker.hpp"
#include "signatures/rule_parser.hpp"
#include "tests/unit/support/counting_allocator.hpp"

using namespace eastwatch;

namespace {

struct Frame {
  std::vector<uint8_t> bytes;
  int64_t ts_usec;
  LinkType link_type;
};

std::vector<Frame> read_capture(const std::string& path) {
  std::vector<Frame> frames;
  auto source = PcapFileSource::open(path);
  REQUIRE(source);
  std::array<Packet, 32> burst{};
  while (size_t n = (*source)->next_burst(burst)) {
    for (size_t i = 0; i < n; ++i) {
      frames.push_back(Frame{std::vector<uint8_t>(burst[i].data, burst[i].data + burst[i].caplen), burst[i].ts_usec,
                             burst[i].link_type});
    }
  }
  return frames;
}

// An Ethernet/IPv4 frame with `payload` after a 20-byte header (checksum left 0: counted only).
std::vector<uint8_t> ipv4_frame(uint8_t proto, uint16_t id, uint16_t frag_field, const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> f(14, 0);
  f[12] = 0x08;
  const uint16_t total = static_cast<uint16_t>(20 + payload.size());
  const uint8_t ip[20] = {0x45, 0, uint8_t(total >> 8), uint8_t(total), uint8_t(id >> 8), uint8_t(id),
                          uint8_t(frag_field >> 8), uint8_t(frag_field), 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
  f.insert(f.end(), ip, ip + 20);
  f.insert(f.end(), payload.begin(), payload.end());
  return f;
}

std::vector<uint8_t> tcp_segment(uint32_t seq, uint32_t ack, uint8_t flags, const std::string& data, bool to_server) {
  std::vector<uint8_t> t(20, 0);
  const uint16_t sport = to_server ? 40000 : 80, dport = to_server ? 80 : 40000;
  t[0] = sport >> 8; t[1] = sport & 0xff; t[2] = dport >> 8; t[3] = dport & 0xff;
  t[4] = seq >> 24; t[5] = seq >> 16; t[6] = seq >> 8; t[7] = seq;
  t[8] = ack >> 24; t[9] = ack >> 16; t[10] = ack >> 8; t[11] = ack;
  t[12] = 0x50; t[13] = flags; t[14] = 0xff; t[15] = 0xff;
  t.insert(t.end(), data.begin(), data.end());
  return t;
}

std::vector<Frame> fragments_and_reordering() {
  std::vector<Frame> frames;
  int64_t ts = 1'795'165'200'000'000;
  auto add = [&](std::vector<uint8_t> frame, bool reverse = false) {
    if (reverse) {  // server -> client: swap the addresses
      std::swap_ranges(frame.begin() + 26, frame.begin() + 30, frame.begin() + 30);
    }
    frames.push_back(Frame{std::move(frame), ts += 1000, LinkType::Ethernet});
  };
  // A handshake, then a request in three segments sent last-first, then a response.
  add(ipv4_frame(6, 1, 0, tcp_segment(100, 0, 0x02, "", true)));
  add(ipv4_frame(6, 2, 0, tcp_segment(500, 101, 0x12, "", false)), true);
  add(ipv4_frame(6, 3, 0, tcp_segment(101, 501, 0x10, "", true)));
  add(ipv4_frame(6, 4, 0, tcp_segment(121, 501, 0x18, "User-Agent: ${jndi:ld", true)));
  add(ipv4_frame(6, 5, 0, tcp_segment(111, 501, 0x18, "HTTP/1.1\r\n", true)));
  add(ipv4_frame(6, 6, 0, tcp_segment(101, 501, 0x18, "GET /x?a=b", true)));
  add(ipv4_frame(6, 7, 0, tcp_segment(142, 501, 0x18, "ap://e/}\r\n\r\n", true)));
  add(ipv4_frame(6, 8, 0, tcp_segment(501, 154, 0x18, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false)), true);
  // A UDP datagram in three fragments, the last first.
  std::vector<uint8_t> udp = {0x13, 0x88, 0x17, 0x70, 0, 32, 0, 0};
  for (int i = 0; i < 24; ++i) udp.push_back(static_cast<uint8_t>('A' + i));
  add(ipv4_frame(17, 77, 0x0002, std::vector<uint8_t>(udp.begin() + 16, udp.end())));                    // offset 16
  add(ipv4_frame(17, 77, 0x2000, std::vector<uint8_t>(udp.begin(), udp.begin() + 8)));                   // 0, MF
  add(ipv4_frame(17, 77, 0x2001, std::vector<uint8_t>(udp.begin() + 8, udp.begin() + 16)));              // 8, MF
  return frames;
}

}  // namespace

TEST_CASE("a worker's packet path allocates nothing once it is built") {
  if (!EASTWATCH_COUNTING_ALLOCATOR) {
    WARN("skipped under AddressSanitizer: it replaces operator new");
    return;
  }
  auto settings = load_settings(std::nullopt, {});
  REQUIRE(settings);
  auto loaded = load_rule_files({std::string(EASTWATCH_SOURCE_DIR) + "/signatures/rules/eastwatch.rules"},
                                settings->variables, nullptr);
  REQUIRE(loaded.errors.empty());
  loaded.rules.push_back(*parse_rule(R"(alert tcp any any -> any 80 (msg:"split"; content:"${jndi:ldap"; sid:1;))",
                                     RuleParseContext{&settings->variables, nullptr, "t", 1}));
  loaded.rules.push_back(*parse_rule(R"(alert udp any any -> any any (msg:"frag"; content:"HIJKLMNOP"; sid:2;))",
                                     RuleParseContext{&settings->variables, nullptr, "t", 2}));
  auto compiled = compile_rules(std::move(loaded.rules));
  REQUIRE(compiled);
  DetectEngine detect(*compiled, settings->detect, settings->eve);
  AlertQueue alerts(4096);
  FlowQueue flows(4096);
  Worker worker(*settings, detect, alerts, flows);

  std::vector<Frame> frames = read_capture(std::string(EASTWATCH_SOURCE_DIR) + "/tests/pcaps/guest-to-guest-attack.pcap");
  for (auto& frame : fragments_and_reordering()) frames.push_back(std::move(frame));
  std::vector<Packet> packets(frames.size());
  auto run = [&]() {
    uint64_t alerted = 0;
    for (size_t i = 0; i < frames.size(); ++i) {
      Packet& p = packets[i];
      p = Packet{};
      p.data = frames[i].bytes.data();
      p.caplen = p.wirelen = static_cast<uint32_t>(frames[i].bytes.size());
      p.ts_usec = frames[i].ts_usec;
      p.pcap_cnt = i + 1;
      p.link_type = frames[i].link_type;
    }
    for (size_t i = 0; i < packets.size(); i += Worker::kBurstSize) {
      const size_t n = std::min<size_t>(Worker::kBurstSize, packets.size() - i);
      worker.process_burst(std::span<Packet>(packets.data() + i, n));
    }
    while (alerts.front() != nullptr) {
      ++alerted;
      alerts.pop();
    }
    return alerted;
  };
  // The first pass meets every first-use path (Hyperscan, PCRE2 JIT, pools); the flows end, so
  // the second pass creates them again.
  const uint64_t first_alerts = run();
  worker.finish();
  while (flows.front() != nullptr) flows.pop();
  const uint64_t before = g_allocations.load();
  const uint64_t second_alerts = run();
  const uint64_t allocated = g_allocations.load() - before;
  CHECK(allocated == 0);
  CHECK(second_alerts == first_alerts);
  CHECK(first_alerts >= 20);  // the demo's 18 and at least the two written here
  CHECK(worker.stream_counters().sessions > 0);
}

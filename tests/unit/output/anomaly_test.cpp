// EVE anomaly records: the rate limiter, the recorder (real frames through the decoder), the
// formatter's fields and order (Suricata 7's output-json-anomaly), the config keys.
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include "config/config_loader.hpp"
#include "sensor/decode/decoder.hpp"
#include "sensor/output/anomaly_recorder.hpp"
#include "sensor/output/eve_format.hpp"
#include "tests/unit/decode/frame_builder.hpp"
#include "tests/unit/support/counting_allocator.hpp"

using namespace eastwatch;
using eastwatch::test::Frame;

namespace {

struct UtcZone {
  UtcZone() {
    setenv("TZ", "UTC", 1);
    tzset();
  }
};
const UtcZone utc_zone;

constexpr int64_t kSecond = 1'000'000;
constexpr int64_t kT0 = 1700000000012999;  // 2023-11-14T22:13:20.012999 UTC

rapidjson::Document parse(std::string_view line) {
  rapidjson::Document doc;
  doc.Parse(line.data(), line.size());
  REQUIRE_FALSE(doc.HasParseError());
  return doc;
}

std::vector<std::string> keys(const rapidjson::Value& object) {
  std::vector<std::string> out;
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) out.emplace_back(it->name.GetString());
  return out;
}

// Decodes `frame` as captured packet `pcap_cnt` at `ts_usec`.
Packet decode(const Frame& frame, uint64_t pcap_cnt, int64_t ts_usec = kT0) {
  Packet packet;
  packet.data = frame.bytes.data();
  packet.caplen = packet.wirelen = static_cast<uint32_t>(frame.bytes.size());
  packet.ts_usec = ts_usec;
  packet.pcap_cnt = pcap_cnt;
  DecodeStats stats{};
  decode_packet(packet, stats);
  return packet;
}

// A TCP packet whose IPv4 total length claims more than the frame holds (ipv4.trunc_pkt).
Frame truncated_ipv4() {
  Frame frame;
  frame.ethernet(0x0800).ipv4(6, 200).tcp(1234, 80, 0x18);
  return frame;
}

// A TCP header with data offset 2 (tcp.hlen_too_small) in a valid IPv4 packet.
Frame short_tcp_header() {
  Frame frame;
  frame.ethernet(0x0800).ipv4(6, 40).tcp(1234, 80, 0x18, 2);
  return frame;
}

std::vector<AnomalyEvent> drain(AnomalyQueue& queue) {
  std::vector<AnomalyEvent> out;
  while (const AnomalyEvent* event = queue.front()) {
    out.push_back(*event);
    queue.pop();
  }
  return out;
}

AnomalySettings enabled_settings() {
  AnomalySettings settings;
  settings.enabled = true;
  return settings;
}

}  // namespace

TEST_CASE("the rate limiter lets N events per name per second through") {
  AnomalyRateLimiter limiter(2);
  CHECK(limiter.allow(0, kT0));
  CHECK(limiter.allow(0, kT0 + 10));
  CHECK_FALSE(limiter.allow(0, kT0 + 20));     // third in the same second
  CHECK(limiter.allow(1, kT0 + 20));           // another name has its own budget
  CHECK(limiter.allow(0, kT0 + kSecond));      // the next second starts again
  CHECK(limiter.allow(0, kT0 + kSecond + 1));
  CHECK_FALSE(limiter.allow(0, kT0 + kSecond + 2));
  CHECK_FALSE(limiter.allow(AnomalyRateLimiter::kSlots, kT0));  // out of range: refused, no crash

  AnomalyRateLimiter unlimited(0);
  for (int i = 0; i < 1000; ++i) REQUIRE(unlimited.allow(3, kT0));
}

TEST_CASE("the recorder queues one event per decode event, rate-limited, and counts the rest") {
  AnomalySettings settings = enabled_settings();
  settings.rate_limit = 2;
  AnomalyRecorder recorder(settings);
  AnomalyQueue queue(16);
  recorder.set_queue(&queue);
  const Frame frame = truncated_ipv4();
  for (uint64_t i = 1; i <= 10; ++i) {
    const Packet packet = decode(frame, i);
    REQUIRE(packet.events.test(DecodeEvent::Ipv4TruncPkt));
    recorder.record(packet, {});
  }
  const auto events = drain(queue);
  REQUIRE(events.size() == 2);
  CHECK(events[0].event == "ipv4.trunc_pkt");
  CHECK(events[0].type == AnomalyEvent::Type::Decode);
  CHECK(events[0].pcap_cnt == 1);
  CHECK(events[1].pcap_cnt == 2);
  CHECK(recorder.counters().records == 2);
  CHECK(recorder.counters().rate_limited == 8);
  CHECK(recorder.counters().queue_full == 0);
}

TEST_CASE("a full anomaly queue drops and counts, the worker never waits") {
  AnomalySettings settings = enabled_settings();
  settings.rate_limit = 0;
  AnomalyRecorder recorder(settings);
  AnomalyQueue queue(4);
  recorder.set_queue(&queue);
  const Frame frame = short_tcp_header();
  for (uint64_t i = 1; i <= 10; ++i) recorder.record(decode(frame, i), {});
  CHECK(drain(queue).size() == 4);
  CHECK(recorder.counters().records == 4);
  CHECK(recorder.counters().queue_full == 6);
}

TEST_CASE("the recorder is off by default, without a queue, and per type") {
  const Frame frame = truncated_ipv4();
  const Packet packet = decode(frame, 1);
  AnomalyQueue queue(16);
  StreamAnomalySet stream;
  stream.set(StreamAnomaly::PktRetransmission);

  AnomalyRecorder off{AnomalySettings{}};
  off.set_queue(&queue);
  off.record(packet, stream);
  CHECK_FALSE(off.wants_stream());
  CHECK(queue.front() == nullptr);

  AnomalyRecorder no_queue(enabled_settings());
  no_queue.record(packet, stream);
  CHECK(no_queue.counters().records == 0);

  AnomalySettings stream_only = enabled_settings();
  stream_only.decode = false;
  AnomalyRecorder streams(stream_only);
  streams.set_queue(&queue);
  CHECK(streams.wants_stream());
  streams.record(packet, stream);
  auto events = drain(queue);
  REQUIRE(events.size() == 1);
  CHECK(events[0].type == AnomalyEvent::Type::Stream);
  CHECK(events[0].event == "stream.pkt_retransmission");
}

TEST_CASE("recording allocates nothing: queued, rate-limited and refused events alike") {
  if (!EASTWATCH_COUNTING_ALLOCATOR) {
    WARN("skipped under AddressSanitizer: it replaces operator new");
    return;
  }
  AnomalySettings settings = enabled_settings();
  settings.rate_limit = 3;
  settings.packethdr = true;
  AnomalyRecorder recorder(settings);
  AnomalyQueue queue(8);
  recorder.set_queue(&queue);
  const Frame truncated = truncated_ipv4();
  const Frame short_tcp = short_tcp_header();
  std::vector<Packet> packets;
  for (uint64_t i = 0; i < 64; ++i) packets.push_back(decode(i % 2 ? truncated : short_tcp, i + 1, kT0 + int64_t(i) * 100'000));
  StreamAnomalySet stream;
  stream.set(StreamAnomaly::ReassemblySeqGap);
  const uint64_t before = g_allocations.load();
  for (const Packet& packet : packets) recorder.record(packet, stream);
  const uint64_t allocations = g_allocations.load() - before;
  CHECK(allocations == 0);
  CHECK(recorder.counters().records == 8);  // the queue holds 8; nothing drained it
  CHECK(recorder.counters().queue_full + recorder.counters().records + recorder.counters().rate_limited == 128);
}

TEST_CASE("stream events are the stream counters one packet moved") {
  StreamCounters before, after;
  Packet packet;
  CHECK_FALSE(stream_anomalies(before, after, packet).any());
  after.retransmissions = 1;
  after.overlap_diff_data = 3;
  after.overlap = 3;  // overlaps with the same bytes are no event in Suricata
  auto set = stream_anomalies(before, after, packet);
  CHECK(set.test(StreamAnomaly::PktRetransmission));
  CHECK(set.test(StreamAnomaly::ReassemblyOverlapDifferentData));
  CHECK_FALSE(set.test(StreamAnomaly::ReassemblySeqGap));
  StreamCounters ack = before;
  ack.invalid_ack = 1;
  packet.tcp_flags = tcp_flag::Syn | tcp_flag::Ack;
  CHECK(stream_anomalies(before, ack, packet).test(StreamAnomaly::SynackWithWrongAck));
  packet.tcp_flags = tcp_flag::Ack;
  CHECK(stream_anomalies(before, ack, packet).test(StreamAnomaly::WrongSeqWrongAck));
}

TEST_CASE("an anomaly record has Suricata 7's fields in its order") {
  AnomalyRecorder recorder(enabled_settings());
  AnomalyQueue queue(16);
  recorder.set_queue(&queue);
  const Frame frame = short_tcp_header();
  recorder.record(decode(frame, 7), {});
  const auto events = drain(queue);
  REQUIRE(events.size() == 1);
  EveFormatter formatter("esx-01-sensor", EveSettings{});
  const auto doc = parse(formatter.anomaly(events[0]));
  // The IP header decoded, the TCP header did not: addresses, ports 0 (as Suricata), no flow.
  CHECK(keys(doc) == std::vector<std::string>{"timestamp", "pcap_cnt", "event_type", "src_ip", "src_port", "dest_ip",
                                              "dest_port", "proto", "pkt_src", "host", "anomaly"});
  CHECK(std::string(doc["timestamp"].GetString()) == "2023-11-14T22:13:20.012999+0000");
  CHECK(doc["pcap_cnt"].GetUint64() == 7);
  CHECK(std::string(doc["event_type"].GetString()) == "anomaly");
  CHECK(std::string(doc["src_ip"].GetString()) == "10.0.0.1");
  CHECK(doc["src_port"].GetUint() == 0);
  CHECK(std::string(doc["dest_ip"].GetString()) == "10.0.0.2");
  CHECK(std::string(doc["proto"].GetString()) == "TCP");
  CHECK(std::string(doc["pkt_src"].GetString()) == "wire/pcap");
  CHECK(keys(doc["anomaly"]) == std::vector<std::string>{"type", "event"});
  CHECK(std::string(doc["anomaly"]["type"].GetString()) == "decode");
  CHECK(std::string(doc["anomaly"]["event"].GetString()) == "tcp.hlen_too_small");
}

TEST_CASE("a non-IP anomaly has no addresses, packethdr adds the frame's first 32 bytes") {
  AnomalySettings settings = enabled_settings();
  settings.packethdr = true;
  AnomalyRecorder recorder(settings);
  AnomalyQueue queue(16);
  recorder.set_queue(&queue);
  Frame runt;
  runt.raw({1, 2, 3, 4, 5, 6, 7, 8, 9, 10});  // not even an Ethernet header
  recorder.record(decode(runt, 3), {});
  const Frame frame = truncated_ipv4();
  recorder.record(decode(frame, 4), {});
  const auto events = drain(queue);
  REQUIRE(events.size() == 2);
  EveFormatter formatter("", EveSettings{});
  const auto runt_doc = parse(formatter.anomaly(events[0]));
  CHECK(keys(runt_doc) == std::vector<std::string>{"timestamp", "pcap_cnt", "event_type", "pkt_src", "anomaly", "packet",
                                                   "packet_info"});
  CHECK(std::string(runt_doc["anomaly"]["event"].GetString()) == "ethernet.pkt_too_small");
  CHECK(std::string(runt_doc["packet"].GetString()) == "AQIDBAUGBwgJCg==");
  CHECK(runt_doc["packet_info"]["linktype"].GetUint() == 1);
  const auto ip_doc = parse(formatter.anomaly(events[1]));
  CHECK(std::string(ip_doc["packet"].GetString()).size() == 44);  // 32 bytes in base64
  // Suricata drops IPv4 header errors' addresses (CLEAR_IPV4_PACKET): none here either.
  CHECK_FALSE(ip_doc.HasMember("src_ip"));
}

TEST_CASE("anomaly records validate against Suricata's EVE schema") {
  const std::string schema = std::string(EASTWATCH_SOURCE_DIR) + "/../shared/reference/suricata-eve-schema.json";
  if (std::system("/usr/bin/python3 -c 'import jsonschema' 2>/dev/null") != 0 || !std::ifstream(schema)) {
    WARN("skipped: needs /usr/bin/python3 with jsonschema and ../shared/reference");
    return;
  }
  AnomalyEvent event;
  event.event = "stream.reassembly_seq_gap";
  event.type = AnomalyEvent::Type::Stream;
  event.ts_usec = kT0;
  event.pcap_cnt = 9;
  event.has_flow = true;
  event.flow_id = 1191513640613311;
  event.has_ip = true;
  event.src = *IpAddress::parse("10.20.0.11");
  event.dst = *IpAddress::parse("10.20.0.12");
  event.ip_proto = 6;
  event.vlan_count = 1;
  event.vlan_id[0] = 20;
  event.packet_len = 4;
  EveFormatter formatter("s1", EveSettings{});
  const std::string path = std::string(EASTWATCH_BINARY_DIR) + "/eve_anomaly_schema_test.json";
  std::ofstream out(path);
  out << formatter.anomaly(event) << "\n";
  event.has_ip = false;
  event.has_flow = false;
  out << formatter.anomaly(event) << "\n";
  out.close();
  const std::string command = "/usr/bin/python3 " + std::string(EASTWATCH_SOURCE_DIR) +
                              "/tests/tools/validate_eve.py " + schema + " " + path;
  CHECK(std::system(command.c_str()) == 0);
}

TEST_CASE("outputs.eve.anomaly: Suricata's keys, defaults as the embedded yaml, validated") {
  auto defaults = load_settings(std::nullopt, {});
  REQUIRE(defaults);
  const AnomalySettings built_in;
  const AnomalySettings& loaded = defaults->eve.anomaly;
  CHECK(loaded.enabled == built_in.enabled);
  CHECK_FALSE(loaded.enabled);
  CHECK(loaded.decode == built_in.decode);
  CHECK(loaded.stream == built_in.stream);
  CHECK(loaded.applayer == built_in.applayer);
  CHECK(loaded.packethdr == built_in.packethdr);
  CHECK(loaded.rate_limit == built_in.rate_limit);

  auto set = load_settings(std::nullopt, {"outputs.eve.anomaly.enabled=yes", "outputs.eve.anomaly.types.stream=no",
                                          "outputs.eve.anomaly.rate-limit=2", "outputs.eve.anomaly.packethdr=yes"});
  REQUIRE(set);
  CHECK(set->eve.anomaly.enabled);
  CHECK_FALSE(set->eve.anomaly.stream);
  CHECK(set->eve.anomaly.decode);
  CHECK(set->eve.anomaly.rate_limit == 2);
  CHECK(set->eve.anomaly.packethdr);

  auto bad = load_settings(std::nullopt, {"outputs.eve.anomaly.rate-limit=-1"});
  REQUIRE_FALSE(bad);
  CHECK(bad.error().front().message.find("outputs.eve.anomaly.rate-limit") != std::string::npos);
  auto unknown = load_settings(std::nullopt, {"outputs.eve.anomaly.types.tls=yes"});
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().front().message.find("outputs.eve.anomaly.types") != std::string::npos);
}

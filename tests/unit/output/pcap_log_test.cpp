// Packet logging (outputs.pcap-log): the writer's queue, the per-flow history pool (ring,
// memcap eviction, release), file names, and the recorder with the writer thread: rotation
// by size, positions named in alerts, drops counted, nothing allocated per packet. The pcap
// files are read back with a small reader written from the libpcap format.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <rapidjson/document.h>

#include "config/config_loader.hpp"
#include "sensor/output/eve_format.hpp"
#include "sensor/output/pcap_log.hpp"
#include "sensor/output/pcap_log_writer.hpp"
#include "tests/unit/support/counting_allocator.hpp"

using namespace eastwatch;

namespace {

constexpr int64_t kT0 = 1700000000000000;  // 2023-11-14T22:13:20 UTC

struct Frame {
  std::vector<uint8_t> bytes;
  int64_t ts_usec;
};

// A frame of `size` bytes whose content names it (`id` in every byte, then the index).
Frame make_frame(uint32_t size, uint8_t id, int64_t ts_usec) {
  Frame frame{std::vector<uint8_t>(size), ts_usec};
  for (uint32_t i = 0; i < size; ++i) frame.bytes[i] = static_cast<uint8_t>(i % 7 == 0 ? id : i);
  return frame;
}

Packet packet_of(const Frame& frame, Flow* flow, uint64_t pcap_cnt) {
  Packet packet;
  packet.data = frame.bytes.data();
  packet.caplen = packet.wirelen = static_cast<uint32_t>(frame.bytes.size());
  packet.ts_usec = frame.ts_usec;
  packet.pcap_cnt = pcap_cnt;
  packet.flow = flow;
  return packet;
}

struct PcapRecord {
  int64_t ts_usec;
  std::vector<uint8_t> bytes;
  uint32_t wirelen;
};

// Reads a libpcap file (microsecond, host byte order, as written): the records, or fails.
std::vector<PcapRecord> read_pcap(const std::string& path, uint32_t* linktype = nullptr) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  uint32_t header[6];
  in.read(reinterpret_cast<char*>(header), 24);
  REQUIRE(in.gcount() == 24);
  REQUIRE(header[0] == 0xa1b2c3d4);
  REQUIRE((header[1] & 0xffff) == 2);  // version 2.4
  REQUIRE((header[1] >> 16) == 4);
  REQUIRE(header[4] == 262144);  // snaplen
  if (linktype != nullptr) *linktype = header[5];
  std::vector<PcapRecord> records;
  uint32_t record[4];
  while (in.read(reinterpret_cast<char*>(record), 16)) {
    PcapRecord r{int64_t{record[0]} * 1'000'000 + record[1], std::vector<uint8_t>(record[2]), record[3]};
    REQUIRE(record[1] < 1'000'000);
    in.read(reinterpret_cast<char*>(r.bytes.data()), record[2]);
    REQUIRE(static_cast<uint32_t>(in.gcount()) == record[2]);
    records.push_back(std::move(r));
  }
  REQUIRE(in.gcount() == 0);  // no partial record at the end
  return records;
}

struct TempDir {
  std::string path;
  TempDir() {
    char name[] = "/tmp/pcap_log_test.XXXXXX";
    REQUIRE(mkdtemp(name) != nullptr);
    path = name;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

// Pops every record of `queue`: (flags, name, ts, frame bytes).
struct Popped {
  uint32_t flags;
  std::string name;
  int64_t ts_usec;
  std::vector<uint8_t> bytes;
};
std::vector<Popped> drain(PcapLogQueue& queue) {
  std::vector<Popped> out;
  PcapLogQueue::Record record;
  while (queue.front(record)) {
    out.push_back({record.header->flags, std::string(record.name), record.header->ts_usec,
                   std::vector<uint8_t>(record.frame.begin(), record.frame.end())});
    queue.pop(record);
  }
  return out;
}

}  // namespace

TEST_CASE("pcap log queue: records in order, across the ring's end, a full ring refuses") {
  PcapLogQueue queue(4096, 0);
  std::vector<Frame> frames;
  for (int i = 0; i < 40; ++i) frames.push_back(make_frame(100 + i * 13 % 300, static_cast<uint8_t>(i), kT0 + i));
  size_t next_pop = 0;
  for (size_t i = 0; i < frames.size(); ++i) {
    const bool new_file = i % 9 == 0;
    REQUIRE(queue.try_push(new_file ? PcapLogQueue::kNewFile : 0, frames[i].ts_usec, 1500, 1,
                           new_file ? "log.pcap.x" : "", frames[i].bytes));
    if (i % 5 == 4) {  // the consumer lags behind, so the ring wraps with records in it
      for (const Popped& p : drain(queue)) {
        CHECK(p.bytes == frames[next_pop].bytes);
        CHECK(p.ts_usec == frames[next_pop].ts_usec);
        CHECK(p.flags == (next_pop % 9 == 0 ? PcapLogQueue::kNewFile : 0u));
        CHECK(p.name == (next_pop % 9 == 0 ? "log.pcap.x" : ""));
        ++next_pop;
      }
    }
  }
  for (const Popped& p : drain(queue)) CHECK(p.bytes == frames[next_pop++].bytes);
  CHECK(next_pop == frames.size());

  // Full: a push that does not fit is refused; after a pop it fits again (with a skip marker
  // at the end of the ring: 352 bytes left there, the record goes to the start).
  PcapLogQueue fresh(4096, 0);
  const Frame big = make_frame(900, 1, kT0);
  int pushed = 0;
  while (fresh.try_push(0, kT0, 900, 1, "", big.bytes)) ++pushed;
  CHECK(pushed == 4);  // 4 x 936 bytes of 4096
  PcapLogQueue::Record record;
  REQUIRE(fresh.front(record));
  fresh.pop(record);
  CHECK(fresh.try_push(0, kT0, 900, 1, "", big.bytes));
  CHECK(drain(fresh).size() == 4);
  CHECK(fresh.empty());
  // More than half the ring never fits.
  const Frame huge = make_frame(2100, 2, kT0);
  CHECK(PcapLogQueue(1 << 20, 0).try_push(0, kT0, 2100, 1, "", huge.bytes));
  CHECK_FALSE(PcapLogQueue(4096, 0).try_push(0, kT0, 2100, 1, "", huge.bytes));
}

TEST_CASE("packet history: a flow keeps its last N packets, exact bytes and times") {
  PacketHistory history(1 << 20, 3);
  Flow flow;
  std::vector<Frame> frames;
  for (int i = 0; i < 5; ++i) frames.push_back(make_frame(i == 2 ? 1514 : 60 + i, static_cast<uint8_t>(i), kT0 + i));
  for (int i = 0; i < 5; ++i) history.keep(flow, packet_of(frames[i], &flow, i + 1));
  CHECK(flow.pcap_history_count == 3);
  CHECK(history.entries_in_use() == 3);
  std::vector<uint8_t> scratch(262144);
  std::vector<Frame> taken;
  history.take(flow, scratch.data(), [&](const PacketHistory::Kept& kept, std::span<const uint8_t> bytes) {
    CHECK(kept.wirelen == bytes.size());
    taken.push_back(Frame{std::vector<uint8_t>(bytes.begin(), bytes.end()), kept.ts_usec});
  });
  REQUIRE(taken.size() == 3);  // packets 3, 4, 5 (the 1514-byte one spans 6 chunks)
  for (int i = 0; i < 3; ++i) {
    CHECK(taken[i].bytes == frames[i + 2].bytes);
    CHECK(taken[i].ts_usec == frames[i + 2].ts_usec);
  }
  CHECK(flow.pcap_history_count == 0);
  CHECK(flow.pcap_history_head == 0);
  CHECK(flow.pcap_history_tail == 0);
  CHECK(history.entries_in_use() == 0);
  CHECK(history.free_chunks() == history.chunk_count());
}

TEST_CASE("packet history: past the memcap the pool's oldest packets go, each flow keeps its latest") {
  // 64 KiB: about 225 chunks of 256 bytes; 1000-byte packets take 4 each, so two flows of
  // up to 50 packets each do not fit.
  PacketHistory history(64 << 10, 50);
  const uint32_t chunks = history.chunk_count();
  REQUIRE(chunks < 260);
  Flow a, b;
  std::vector<Frame> frames;
  for (int i = 0; i < 120; ++i) frames.push_back(make_frame(1000, static_cast<uint8_t>(i), kT0 + i));
  for (int i = 0; i < 120; ++i) {
    Flow& flow = i % 2 == 0 ? a : b;
    history.keep(flow, packet_of(frames[i], &flow, i + 1));
    CHECK(history.free_chunks() <= chunks);
  }
  CHECK(history.evicted() > 0);
  // Whatever each flow kept is its latest packets, consecutive, newest last.
  std::vector<uint8_t> scratch(262144);
  for (int parity = 0; parity < 2; ++parity) {
    Flow& flow = parity == 0 ? a : b;
    std::vector<std::vector<uint8_t>> kept;
    history.take(flow, scratch.data(), [&](const PacketHistory::Kept&, std::span<const uint8_t> bytes) {
      kept.emplace_back(bytes.begin(), bytes.end());
    });
    REQUIRE_FALSE(kept.empty());
    CHECK(kept.size() < 50);
    for (size_t k = 0; k < kept.size(); ++k) {
      const size_t expected_index = 120 - 2 * (kept.size() - k) + parity;
      CHECK(kept[k] == frames[expected_index].bytes);
    }
  }
  CHECK(history.free_chunks() == chunks);

  // A packet larger than the whole pool is never kept, and the flow's older ones go with it.
  Flow c;
  history.keep(c, packet_of(frames[0], &c, 1));
  const Frame huge = make_frame(70000, 9, kT0);
  history.keep(c, packet_of(huge, &c, 2));
  CHECK(history.too_big() == 1);
  CHECK(c.pcap_history_count == 0);
  CHECK(history.entries_in_use() == 0);
}

TEST_CASE("packet history: an ending flow gives its packets back, other flows keep theirs") {
  PacketHistory history(1 << 20, 4);
  Flow a, b;
  const Frame frame = make_frame(600, 1, kT0);
  for (int i = 0; i < 4; ++i) {
    history.keep(a, packet_of(frame, &a, 1));
    history.keep(b, packet_of(frame, &b, 1));
  }
  CHECK(history.entries_in_use() == 8);
  history.release(a);
  CHECK(history.entries_in_use() == 4);
  CHECK(b.pcap_history_count == 4);
  std::vector<uint8_t> scratch(262144);
  int n = 0;
  history.take(b, scratch.data(), [&](const PacketHistory::Kept&, std::span<const uint8_t> bytes) {
    CHECK(std::equal(bytes.begin(), bytes.end(), frame.bytes.begin(), frame.bytes.end()));
    ++n;
  });
  CHECK(n == 4);
  CHECK(history.free_chunks() == history.chunk_count());
}

TEST_CASE("pcap log file names: Suricata's log.pcap.<sec>, the worker with several, usec, repeats") {
  PcapLogSettings settings;
  char name[128];
  const int64_t ts = 1700000000012345;
  pcap_log_file_name(settings, 0, 1, ts, 0, name, sizeof name);
  CHECK(std::string(name) == "log.pcap.1700000000");
  pcap_log_file_name(settings, 2, 4, ts, 0, name, sizeof name);
  CHECK(std::string(name) == "log.pcap.3.1700000000");
  pcap_log_file_name(settings, 0, 1, ts, 2, name, sizeof name);
  CHECK(std::string(name) == "log.pcap.1700000000.2");
  settings.ts_usec = true;
  settings.filename = "alerts.pcap";
  pcap_log_file_name(settings, 0, 1, 1700000000000042, 0, name, sizeof name);
  CHECK(std::string(name) == "alerts.pcap.1700000000.000042");
  char small[8];
  CHECK(pcap_log_file_name(settings, 0, 1, ts, 0, small, sizeof small) == 7);
  CHECK(std::string(small) == "alerts.");
}

TEST_CASE("pcap log recorder: history then alert then the flow, rotation by size, positions in alerts") {
  TempDir dir;
  PcapLogSettings settings;
  settings.enabled = true;
  settings.history = 2;
  settings.limit = 1024;  // 24 + 4 x (16 + 200) = 888; a fifth packet opens the next file
  auto writer = PcapLogWriter::start(settings, dir.path, 1);
  REQUIRE(writer);
  PcapLogRecorder recorder(settings);
  recorder.set_queue(&(*writer)->queue(0), 1, dir.path);

  Flow alerting, quiet;
  std::vector<Frame> frames;
  for (int i = 0; i < 12; ++i) frames.push_back(make_frame(200, static_cast<uint8_t>(i), kT0 + i * 1000));
  Rule rule;
  rule.gid = 1;
  rule.sid = 7;
  std::vector<AlertEvent> events(2);
  for (AlertEvent& event : events) {
    event.rule = &rule;
    std::strcpy(event.capture_file, "stale");
  }
  // Packets 0-3 of the alerting flow and 4-5 of the quiet one; 3 alerts; then 6-11 alternate.
  for (int i = 0; i < 12; ++i) {
    const bool of_alerting = i < 4 || (i >= 6 && i % 2 == 0);
    Flow* flow = of_alerting ? &alerting : &quiet;
    const Packet packet = packet_of(frames[i], flow, i + 1);
    if (i == 3) recorder.on_alert(packet, packet, events);
    recorder.on_packet(packet);
  }
  (*writer)->flush();
  // Logged: 1, 2 (history), 3 (alert), then 6, 8, 10 of the flow: 6 packets, 4 + 2 in two files.
  const std::string first = dir.path + "/log.pcap.1700000000";
  const std::string second = dir.path + "/log.pcap.1700000000.1";
  for (const AlertEvent& event : events) {
    CHECK(std::string(event.capture_file) == first);
    CHECK(std::string(event.capture_file + event.capture_file_name) == "log.pcap.1700000000");
    CHECK(event.pcap_packet == 3);
  }
  (*writer)->stop();
  uint32_t linktype = 0;
  const auto one = read_pcap(first, &linktype);
  CHECK(linktype == 1);
  const auto two = read_pcap(second);
  const std::vector<int> expected = {1, 2, 3, 6, 8, 10};
  REQUIRE(one.size() == 4);
  REQUIRE(two.size() == 2);
  for (size_t k = 0; k < expected.size(); ++k) {
    const PcapRecord& r = k < 4 ? one[k] : two[k - 4];
    CHECK(r.bytes == frames[expected[k]].bytes);
    CHECK(r.ts_usec == frames[expected[k]].ts_usec);
    CHECK(r.wirelen == 200);
  }
  CHECK(std::filesystem::file_size(first) <= settings.limit);
  CHECK(recorder.counters().packets == 6);
  CHECK(recorder.counters().history_packets == 2);
  CHECK(recorder.counters().files == 2);
  CHECK((*writer)->counters().written == 6);
  // The index: both files, their first and last packet times.
  std::ifstream index(dir.path + "/log.pcap.index");
  std::string line1, line2;
  std::getline(index, line1);
  std::getline(index, line2);
  CHECK(line1.find("\"file\":\"log.pcap.1700000000\"") != std::string::npos);
  CHECK(line1.find("\"first_usec\":" + std::to_string(frames[1].ts_usec)) != std::string::npos);
  CHECK(line1.find("\"last_usec\":" + std::to_string(frames[6].ts_usec)) != std::string::npos);
  CHECK(line1.find("\"packets\":4") != std::string::npos);
  CHECK(line2.find("\"file\":\"log.pcap.1700000000.1\"") != std::string::npos);
  CHECK(line2.find("\"packets\":2") != std::string::npos);
}

TEST_CASE("pcap log recorder: a full queue drops and counts, positions stay exact, no allocation") {
  PcapLogSettings settings;
  settings.enabled = true;
  settings.conditional = PcapLogSettings::Conditional::All;
  PcapLogQueue queue(8192, 0);  // no writer: nothing drains it
  PcapLogRecorder recorder(settings);
  recorder.set_queue(&queue, 1, "/var/log/x");
  std::vector<Frame> frames;
  for (int i = 0; i < 10; ++i) frames.push_back(make_frame(1000, static_cast<uint8_t>(i), kT0 + i));
  Rule rule;
  std::vector<AlertEvent> events(1);
  events[0].rule = &rule;
  Flow flow;
  const uint64_t before = g_allocations.load();
  for (int i = 0; i < 10; ++i) recorder.on_packet(packet_of(frames[i], &flow, i + 1));
  const Packet late = packet_of(frames[9], &flow, 11);
  recorder.on_alert(late, late, events);
  if (EASTWATCH_COUNTING_ALLOCATOR) CHECK(g_allocations.load() == before);
  // 1016-byte records (rounded to 8: 1056 with the name in the first), 4096 of 8192 at most each.
  const uint64_t fitted = recorder.counters().packets;
  CHECK(fitted == 7);
  CHECK(recorder.counters().dropped == 4);
  CHECK(events[0].capture_file[0] == 0);  // its packet was dropped: no position named
  const auto popped = drain(queue);
  REQUIRE(popped.size() == fitted);
  CHECK(popped[0].flags == PcapLogQueue::kNewFile);
  CHECK(popped[0].name == "log.pcap.1700000000");
  // The next packet that fits is the 8th of the file: dropped ones take no position.
  const Packet next = packet_of(frames[0], &flow, 12);
  recorder.on_alert(next, next, events);
  CHECK(events[0].pcap_packet == fitted + 1);
  CHECK(std::string(events[0].capture_file) == "/var/log/x/log.pcap.1700000000");
}

TEST_CASE("pcap log recorder: conditional tag logs only packets of tag rules and tagged packets") {
  PcapLogSettings settings;
  settings.enabled = true;
  settings.conditional = PcapLogSettings::Conditional::Tag;
  PcapLogQueue queue(1 << 20, 0);
  PcapLogRecorder recorder(settings);
  recorder.set_queue(&queue, 1, "");
  Rule plain, tagging, tagged;
  plain.sid = 1;
  tagging.sid = 2;
  tagging.tags.push_back(TagOption{});
  tagged.gid = 2;
  tagged.sid = 1;
  Flow flow;
  std::vector<Frame> frames;
  for (int i = 0; i < 4; ++i) frames.push_back(make_frame(80, static_cast<uint8_t>(i), kT0 + i));
  std::vector<AlertEvent> events(1);
  const Rule* rules[] = {&plain, &tagging, nullptr, &tagged};
  for (int i = 0; i < 4; ++i) {
    const Packet packet = packet_of(frames[i], &flow, i + 1);
    if (rules[i] != nullptr) {
      events[0].rule = rules[i];
      recorder.on_alert(packet, packet, events);
      CHECK((events[0].capture_file[0] != 0) == (i != 0));
    }
    recorder.on_packet(packet);
  }
  const auto popped = drain(queue);
  REQUIRE(popped.size() == 2);
  CHECK(popped[0].bytes == frames[1].bytes);
  CHECK(popped[1].bytes == frames[3].bytes);
}

TEST_CASE("outputs.pcap-log: Suricata's keys, defaults as the embedded yaml, validated") {
  auto defaults = load_settings(std::nullopt, {});
  REQUIRE(defaults);
  const PcapLogSettings built_in;
  const PcapLogSettings& loaded = defaults->pcap_log;
  CHECK_FALSE(loaded.enabled);
  CHECK(loaded.filename == built_in.filename);
  CHECK(loaded.limit == built_in.limit);
  CHECK(loaded.max_files == built_in.max_files);
  CHECK(loaded.ts_usec == built_in.ts_usec);
  CHECK(loaded.conditional == built_in.conditional);
  CHECK(loaded.history == built_in.history);
  CHECK(loaded.history_memcap == built_in.history_memcap);
  CHECK(loaded.queue_size == built_in.queue_size);

  auto set = load_settings(std::nullopt, {"outputs.pcap-log.enabled=yes", "outputs.pcap-log.limit=10mb",
                                          "outputs.pcap-log.max-files=3", "outputs.pcap-log.ts-format=usec",
                                          "outputs.pcap-log.conditional=tag", "outputs.pcap-log.history=0",
                                          "outputs.pcap-log.mode=multi", "outputs.pcap-log.compression=none",
                                          "outputs.pcap-log.filename=evidence.pcap"});
  REQUIRE(set);
  CHECK(set->pcap_log.enabled);
  CHECK(set->pcap_log.limit == 10u << 20);
  CHECK(set->pcap_log.max_files == 3);
  CHECK(set->pcap_log.ts_usec);
  CHECK(set->pcap_log.conditional == PcapLogSettings::Conditional::Tag);
  CHECK(set->pcap_log.history == 0);
  CHECK(set->pcap_log.filename == "evidence.pcap");

  for (const char* bad : {"outputs.pcap-log.conditional=sometimes", "outputs.pcap-log.limit=10",
                          "outputs.pcap-log.compression=lz4", "outputs.pcap-log.mode=sguil",
                          "outputs.pcap-log.history=5000", "outputs.pcap-log.filename=../x",
                          "outputs.pcap-log.dir=/tmp"}) {
    auto result = load_settings(std::nullopt, {bad});
    INFO(bad);
    REQUIRE_FALSE(result);
    CHECK(result.error().front().message.find("outputs.pcap-log") != std::string::npos);
  }
}

TEST_CASE("an alert of a logged packet carries capture_file and pcap_log, none without") {
  Rule rule;
  rule.sid = 5;
  rule.msg = "x";
  AlertEvent event;
  event.rule = &rule;
  event.ip_version = 4;
  event.ip_proto = 6;
  EveSettings settings;
  EveFormatter formatter("sensor", settings);
  rapidjson::Document plain;
  const std::string_view line = formatter.alert(event);
  plain.Parse(line.data(), line.size());
  REQUIRE_FALSE(plain.HasParseError());
  CHECK_FALSE(plain.HasMember("capture_file"));
  CHECK_FALSE(plain.HasMember("pcap_log"));

  std::strcpy(event.capture_file, "/var/log/eastwatch/log.pcap.1700000000");
  event.capture_file_name = std::strlen("/var/log/eastwatch/");
  event.pcap_packet = 12;
  rapidjson::Document doc;
  const std::string_view logged = formatter.alert(event);
  doc.Parse(logged.data(), logged.size());
  REQUIRE_FALSE(doc.HasParseError());
  CHECK(std::string(doc["capture_file"].GetString()) == "/var/log/eastwatch/log.pcap.1700000000");
  CHECK(std::string(doc["pcap_log"]["file"].GetString()) == "log.pcap.1700000000");
  CHECK(doc["pcap_log"]["packet"].GetUint() == 12);
}

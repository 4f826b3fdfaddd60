// The live stats snapshot: the seqlock copy (consistent under a busy writer), a worker's
// published counters (every kPublishEveryBursts bursts, when idle, at its end), and LiveStats
// giving the same names and values as the end-of-run stats record.
#include <catch2/catch.hpp>

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "config/config_loader.hpp"
#include "sensor/capture/pcap_file_source.hpp"
#include "sensor/detect/detect_engine.hpp"
#include "sensor/main/live_stats.hpp"
#include "sensor/main/run_report.hpp"
#include "sensor/main/worker.hpp"
#include "signatures/rule_parser.hpp"

using namespace eastwatch;

namespace {

struct Wide {
  uint64_t words[96];
};

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

}  // namespace

TEST_CASE("Published: a reader never sees a torn copy while the writer publishes", "[live_stats]") {
  Published<Wide> published;
  Wide out{};
  CHECK_FALSE(published.read(out));  // nothing published yet
  constexpr uint64_t kPublishes = 200000;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    Wide value{};
    for (uint64_t i = 1; i <= kPublishes; ++i) {
      for (auto& word : value.words) word = i;
      published.publish(value);
      // A worker publishes between bursts, not back to back: a short pause (a few hundred ns).
      for (int spin = 0; spin < 64; ++spin) _mm_pause();
    }
    done.store(true);
  });
  uint64_t reads = 0, torn = 0, went_back = 0, last = 0;
  while (!done.load() || reads == 0) {
    if (!published.read(out)) continue;
    ++reads;
    for (const uint64_t word : out.words) torn += word != out.words[0];
    went_back += out.words[0] < last;
    last = out.words[0];
  }
  writer.join();
  CHECK(reads > 0);
  CHECK(torn == 0);
  CHECK(went_back == 0);
  REQUIRE(published.read(out));
  CHECK(out.words[95] == kPublishes);
  CHECK(published.publications() == kPublishes);
}

TEST_CASE("Worker publishes its counters every kPublishEveryBursts bursts, when idle and at the end", "[live_stats]") {
  auto settings = load_settings(std::nullopt, {});
  REQUIRE(settings);
  auto loaded = load_rule_files({std::string(EASTWATCH_SOURCE_DIR) + "/signatures/rules/eastwatch.rules"},
                                settings->variables, nullptr);
  REQUIRE(loaded.errors.empty());
  auto compiled = compile_rules(std::move(loaded.rules));
  REQUIRE(compiled);
  DetectEngine detect(*compiled, settings->detect, settings->eve);
  AlertQueue alerts(4096);
  FlowQueue flows(4096);
  Worker worker(*settings, detect, alerts, flows);

  const std::vector<Frame> frames =
      read_capture(std::string(EASTWATCH_SOURCE_DIR) + "/tests/pcaps/guest-to-guest-attack.pcap");
  constexpr size_t kFramesPerBurst = 4;
  REQUIRE(frames.size() > kFramesPerBurst * (Worker::kPublishEveryBursts + 1));
  std::vector<Packet> packets(frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    Packet& p = packets[i];
    p.data = frames[i].bytes.data();
    p.caplen = p.wirelen = static_cast<uint32_t>(frames[i].bytes.size());
    p.ts_usec = frames[i].ts_usec;
    p.link_type = frames[i].link_type;
    p.pcap_cnt = i + 1;
  }
  WorkerCounterSet published{};
  size_t next = 0;
  auto run_bursts = [&](size_t bursts) {
    for (size_t b = 0; b < bursts && next < packets.size(); ++b) {
      const size_t count = std::min(kFramesPerBurst, packets.size() - next);
      worker.process_burst(std::span<Packet>(packets.data() + next, count));
      next += count;
    }
  };
  run_bursts(Worker::kPublishEveryBursts - 1);
  CHECK_FALSE(worker.read_published_stats(published));  // not yet
  run_bursts(1);
  REQUIRE(worker.read_published_stats(published));
  CHECK(published.decode.pkts == kFramesPerBurst * Worker::kPublishEveryBursts);
  CHECK(published.last_packet_usec == packets[next - 1].ts_usec);
  run_bursts(1);
  REQUIRE(worker.read_published_stats(published));
  CHECK(published.decode.pkts == kFramesPerBurst * Worker::kPublishEveryBursts);  // between publishes: the last copy
  worker.idle();
  REQUIRE(worker.read_published_stats(published));
  CHECK(published.decode.pkts == next);
  run_bursts(packets.size());
  worker.finish();
  REQUIRE(worker.read_published_stats(published));
  CHECK(published.decode.pkts == frames.size());
  CHECK(published.detect.alert == worker.detect_counters().alert);
  CHECK(published.detect.alert > 0);
  CHECK(published.flow.total == worker.flow_counters().total);
  CHECK(published.stream.sessions == worker.stream_counters().sessions);

  SECTION("LiveStats: the live snapshot has the final record's names and values") {
    StatsCollector final_collector;
    add_worker_stats(final_collector, worker);
    const StatsSnapshot final_stats = final_collector.snapshot(packets.back().ts_usec, 0);

    LiveStats live;
    CHECK_FALSE(live.snapshot().running);
    LiveRun run;
    run.workers.push_back(&worker);
    live.attach(std::move(run));
    live.control().set_rules(12, 3);
    LiveSnapshot snapshot = live.snapshot();
    CHECK(snapshot.running);
    CHECK(snapshot.workers == 1);
    CHECK(snapshot.stats.eve == final_stats.eve);
    for (const auto& entry : snapshot.stats.extra) {  // the final record may add later stages' extras
      INFO(entry.first);
      CHECK(std::find(final_stats.extra.begin(), final_stats.extra.end(), entry) != final_stats.extra.end());
    }
    CHECK(snapshot.stats.ts_usec == packets.back().ts_usec);  // a replay: packet time
    CHECK(snapshot.control.rules_loaded == 12);
    CHECK(snapshot.control.rules_failed == 3);

    live.control().record_reload(false, 0, 0);
    live.control().record_reload(true, 20, 1);
    live.detach(final_stats);
    snapshot = live.snapshot();
    CHECK_FALSE(snapshot.running);
    CHECK(snapshot.stats.eve == final_stats.eve);
    CHECK(snapshot.control.reloads == 1);
    CHECK(snapshot.control.reload_failures == 1);
    CHECK(snapshot.control.rules_loaded == 20);
    CHECK(snapshot.control.last_reload_ok);
    CHECK(snapshot.control.last_reload_unix > 1'700'000'000);
  }
}

TEST_CASE("StatsTicker: a stats record and a stats.log block every interval while a run is attached", "[live_stats]") {
  const auto dir = std::filesystem::path(EASTWATCH_BINARY_DIR) / "metrics_test_ticker";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Settings settings;
  auto output = OutputThread::start(settings, OutputOptions{dir.string(), "s1", false}, 1);
  REQUIRE(output);
  const auto read_uptimes = [&] {
    std::vector<uint64_t> uptimes;
    std::ifstream eve(dir / "eve.json");
    for (std::string line; std::getline(eve, line);) {
      const size_t at = line.find("\"uptime\":");
      if (line.find("\"event_type\":\"stats\"") == std::string::npos || at == std::string::npos) continue;
      uptimes.push_back(std::stoull(line.substr(at + 9)));
    }
    return uptimes;
  };
  LiveStats live;
  {
    StatsTicker none(live, **output, 0);  // interval 0: no thread, no record
  }
  LiveRun run;
  run.started = std::chrono::steady_clock::now() - std::chrono::seconds(100);
  run.wall_clock = true;
  run.output = output->get();
  live.attach(std::move(run));
  std::vector<uint64_t> uptimes;
  {
    StatsTicker ticker(live, **output, 1);
    // Two records come within about two seconds; wait for them (bounded), whatever the load.
    for (int i = 0; i < 600 && uptimes.size() < 2; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      uptimes = read_uptimes();
    }
  }
  REQUIRE(uptimes.size() >= 2);
  CHECK(uptimes[0] >= 101);  // the run started 100 s ago, the first record a second later
  CHECK(uptimes[1] > uptimes[0]);
  live.detach(StatsSnapshot{});
  const size_t before = read_uptimes().size();
  {
    StatsTicker detached(live, **output, 1);  // nothing attached: the ticker writes nothing
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  }
  (*output)->stop();
  uptimes = read_uptimes();
  CHECK(uptimes.size() == before);
  std::ifstream log(dir / "stats.log");
  size_t blocks = 0;
  for (std::string line; std::getline(log, line);) blocks += line.rfind("Date: ", 0) == 0;
  CHECK(blocks == uptimes.size());  // each record has its stats.log block
}

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "sensor/output/output_thread.hpp"

using namespace eastwatch;

namespace {

std::string fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::path(EASTWATCH_BINARY_DIR) / ("output_test_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

size_t count_lines(const std::string& path, const std::string& needle) {
  std::ifstream in(path);
  size_t count = 0;
  for (std::string line; std::getline(in, line);) count += line.find(needle) != std::string::npos;
  return count;
}

}  // namespace

TEST_CASE("the output thread writes every alert and in order and then the stats record") {
  const std::string dir = fresh_dir("order");
  Settings settings;
  Rule rule;
  rule.sid = 42;
  rule.msg = "m";
  auto output = OutputThread::start(settings, OutputOptions{dir, "s1", false}, 2);
  REQUIRE(output);
  constexpr int kAlerts = 5000;  // more than a queue holds: producers must wait, never drop
  auto produce = [&](uint32_t worker) {
    AlertEvent event;
    event.rule = &rule;
    event.ip_proto = 6;
    for (int i = 1; i <= kAlerts; ++i) {
      event.pcap_cnt = static_cast<uint64_t>(i) * 2 + worker;
      (*output)->queue(worker).push(event);
    }
  };
  std::thread a(produce, 0);
  std::thread b(produce, 1);
  a.join();
  b.join();
  StatsSnapshot snapshot;
  snapshot.eve = {{"detect.alert", 2 * kAlerts}};
  (*output)->write_stats(snapshot);
  (*output)->stop();
  CHECK((*output)->alerts_written() == 2 * kAlerts);

  std::ifstream in(dir + "/eve.json");
  std::string line;
  uint64_t last[2] = {0, 0};
  size_t alerts = 0;
  bool stats_last = false;
  while (std::getline(in, line)) {
    stats_last = line.find("\"event_type\":\"stats\"") != std::string::npos;
    if (stats_last) continue;
    const auto at = line.find("\"pcap_cnt\":");
    REQUIRE(at != std::string::npos);
    const uint64_t cnt = std::stoull(line.substr(at + 11));
    CHECK(cnt > last[cnt % 2]);  // each worker's alerts stay in order
    last[cnt % 2] = cnt;
    ++alerts;
  }
  CHECK(alerts == 2 * kAlerts);
  CHECK(stats_last);
  CHECK(count_lines(dir + "/fast.log", "[1:42:0]") == 2 * kAlerts);
  CHECK(count_lines(dir + "/stats.log", "detect.alert") == 1);
}

TEST_CASE("a log directory that does not exist fails with a clear message") {
  Settings settings;
  auto output = OutputThread::start(settings, OutputOptions{"/nonexistent/dir", "s1", false}, 1);
  REQUIRE_FALSE(output);
  CHECK(output.error() == "cannot open '/nonexistent/dir/eve.json' for writing: No such file or directory");
}

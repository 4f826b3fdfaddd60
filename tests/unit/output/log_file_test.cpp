// EVE file rotation and reopen (sensor/output/log_file.hpp): the rotated names, the interval
// schedule, the order of rotated files, and real files rotated by size, by interval and by count.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "config/daemon_settings.hpp"
#include "sensor/output/log_file.hpp"

using namespace eastwatch;

namespace {

std::string fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::path(EASTWATCH_BINARY_DIR) / ("log_file_test_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Local time is UTC in these tests, so names and boundaries are exact.
struct Utc {
  Utc() {
    setenv("TZ", "UTC", 1);
    tzset();
  }
};

}  // namespace

TEST_CASE("rotate-interval takes Suricata's words and numbers with units") {
  CHECK(parse_rotate_interval("minute")->seconds == 60);
  CHECK(parse_rotate_interval("minute")->aligned);
  CHECK(parse_rotate_interval("Hour")->seconds == 3600);
  CHECK(parse_rotate_interval("day")->seconds == 86400);
  CHECK(parse_rotate_interval("day")->aligned);
  CHECK(parse_rotate_interval("30s")->seconds == 30);
  CHECK_FALSE(parse_rotate_interval("30s")->aligned);
  CHECK(parse_rotate_interval("45")->seconds == 45);
  CHECK(parse_rotate_interval("15m")->seconds == 900);
  CHECK(parse_rotate_interval("1h")->seconds == 3600);
  CHECK_FALSE(parse_rotate_interval("1h")->aligned);  // a number counts from the open, as Suricata
  CHECK(parse_rotate_interval("2d")->seconds == 172800);
  for (const char* bad : {"", "0", "0s", "h", "1w", "1.5h", "-1m", "weekly", "367d", "9999999999"}) {
    INFO(bad);
    CHECK_FALSE(parse_rotate_interval(bad));
  }
  CHECK(parse_rotate_interval("1w").error() ==
        "'1w' is not an interval (expected minute, hour, day, or 1s to 366d such as 30s, 15m, 1h, 1d)");
}

TEST_CASE("rotated files are named after the local time of the rotation, with a sequence past the first") {
  Utc utc;
  const std::time_t when = 1764649800 + 9;  // 2025-12-02 04:30:09 UTC
  CHECK(rotated_file_name("/var/log/eastwatch/eve.json", when, 0) == "/var/log/eastwatch/eve.json.2025-12-02-043009");
  CHECK(rotated_file_name("eve.json", when, 3) == "eve.json.2025-12-02-043009.3");
}

TEST_CASE("aligned intervals fall on the clock's boundaries, numbered ones count from now") {
  Utc utc;
  const std::time_t now = 1764649800 + 9;  // 04:30:09
  CHECK(next_rotation_time(now, 60, true) == 1764649800 + 60);                   // 04:31:00
  CHECK(next_rotation_time(now, 3600, true) == 1764648000 + 3600);               // 05:00:00
  CHECK(next_rotation_time(now, 86400, true) == 1764633600 + 86400);             // 2025-12-03 00:00:00
  CHECK(next_rotation_time(1764633600 + 86399, 86400, true) == 1764633600 + 86400);  // one second before midnight
  CHECK(next_rotation_time(now, 3600, false) == now + 3600);
  CHECK(next_rotation_time(now, 0, false) == 0);
}

TEST_CASE("rotated files sort oldest first, sequences numerically, other names ignored") {
  const std::vector<std::string> names = {
      "eve.json",
      "eve.json.2025-12-02-043009.10",
      "eve.json.2025-12-02-043009",
      "eve.json.2025-12-02-043009.2",
      "eve.json.2025-12-01-235959",
      "eve.json.1",                       // logrotate's name: not ours
      "eve.json.2025-12-02-043009.0",     // no sequence 0
      "eve.json.2025-12-02-0430xx",
      "fast.log.2025-12-01-000000",
      "eve.json.2025-12-02-043010.gz",
  };
  CHECK(rotated_files_in_order("/log/eve.json", names) ==
        std::vector<std::string>{"eve.json.2025-12-01-235959", "eve.json.2025-12-02-043009",
                                 "eve.json.2025-12-02-043009.2", "eve.json.2025-12-02-043009.10"});
}

TEST_CASE("size rotation: every file within the bound, whole records only, none lost") {
  const std::string dir = fresh_dir("size");
  LogRotationSettings rotation;
  rotation.size = 4096;
  auto file = LogFile::open(dir + "/eve.json", rotation);
  REQUIRE(file);
  constexpr int kRecords = 1000;
  for (int i = 0; i < kRecords; ++i) {
    const std::string record = "{\"n\":" + std::to_string(i) + ",\"pad\":\"" + std::string(i % 50, 'x') + "\"}";
    (*file)->write_line(record);
  }
  (*file)->flush();
  const auto names = files_in(dir);
  REQUIRE(names.size() > 5);
  CHECK(names.front() == "eve.json");
  CHECK((*file)->counters().rotations == names.size() - 1);
  std::vector<int> seen;
  // Oldest first: the rotated files in order, then the active one.
  std::vector<std::string> in_order = rotated_files_in_order(dir + "/eve.json", names);
  in_order.push_back("eve.json");
  for (const auto& name : in_order) {
    const std::string path = dir + "/" + name;
    CHECK(std::filesystem::file_size(path) <= 4096);
    for (const auto& line : lines_of(path)) {
      REQUIRE(line.rfind("{\"n\":", 0) == 0);
      REQUIRE(line.back() == '}');
      seen.push_back(std::stoi(line.substr(5)));
    }
  }
  REQUIRE(seen.size() == kRecords);
  for (int i = 0; i < kRecords; ++i) CHECK(seen[i] == i);
}

TEST_CASE("a record larger than rotate-size gets a file of its own") {
  const std::string dir = fresh_dir("large");
  LogRotationSettings rotation;
  rotation.size = 4096;
  auto file = LogFile::open(dir + "/eve.json", rotation);
  REQUIRE(file);
  (*file)->write_line("small");
  (*file)->write_line(std::string(10000, 'L'));
  (*file)->write_line("after");
  (*file)->flush();
  const auto rotated = rotated_files_in_order(dir + "/eve.json", files_in(dir));
  REQUIRE(rotated.size() == 2);
  CHECK(lines_of(dir + "/" + rotated[0]) == std::vector<std::string>{"small"});
  CHECK(lines_of(dir + "/" + rotated[1]) == std::vector<std::string>{std::string(10000, 'L')});
  CHECK(lines_of(dir + "/eve.json") == std::vector<std::string>{"after"});
}

TEST_CASE("rotate-count keeps the newest rotated files, also those of an earlier run") {
  const std::string dir = fresh_dir("count");
  // An earlier run's rotated files, older than anything rotated now.
  for (const char* old : {"eve.json.2001-01-01-000000", "eve.json.2001-01-01-000001", "eve.json.1"}) {
    std::ofstream(dir + "/" + old) << "old\n";
  }
  LogRotationSettings rotation;
  rotation.size = 4096;
  rotation.count = 3;
  auto file = LogFile::open(dir + "/eve.json", rotation);
  REQUIRE(file);
  for (int i = 0; i < 40; ++i) {  // 4 records a file: 9 rotations, most within one second
    std::string record = std::to_string(i);
    record.resize(1000, ' ');
    (*file)->write_line(record);
  }
  (*file)->flush();
  const auto names = files_in(dir);
  auto kept = rotated_files_in_order(dir + "/eve.json", names);
  CHECK(kept.size() == 3);
  CHECK((*file)->counters().rotations == 9);
  CHECK(std::find(names.begin(), names.end(), "eve.json.2001-01-01-000000") == names.end());
  CHECK(std::find(names.begin(), names.end(), "eve.json.1") != names.end());  // not ours: left alone
  // The newest are kept, in name order: records 24-35 rotated, 36-39 in eve.json.
  kept.push_back("eve.json");
  int expected = 24;
  for (const auto& name : kept) {
    for (const auto& line : lines_of(dir + "/" + name)) CHECK(std::stoi(line) == expected++);
  }
  CHECK(expected == 40);
}

TEST_CASE("a restart within the second of the last rotation continues its sequence") {
  const std::string dir = fresh_dir("restart");
  LogRotationSettings rotation;
  rotation.size = 4096;
  const std::string record(3000, 'r');
  for (int run = 0; run < 2; ++run) {
    auto file = LogFile::open(dir + "/eve.json", rotation);
    REQUIRE(file);
    for (int i = 0; i < 3; ++i) (*file)->write_line(record);
  }
  const auto rotated = rotated_files_in_order(dir + "/eve.json", files_in(dir));
  REQUIRE(rotated.size() == 5);  // 2 in the first run; the second starts with a full file: 3 more
  // Whatever the seconds, each name sorts after the one before it (no reused lower sequence).
  for (size_t i = 1; i < rotated.size(); ++i) CHECK(rotated[i - 1] < rotated[i]);
}

TEST_CASE("interval rotation: a due file rotates at the next record or tick, an empty one never") {
  const std::string dir = fresh_dir("interval");
  LogRotationSettings rotation;
  rotation.interval_seconds = 1;
  auto file = LogFile::open(dir + "/eve.json", rotation);
  REQUIRE(file);
  (*file)->write_line("first");
  // Past the due time (1-2 s from the open, on the second's boundary of time()).
  const std::time_t start = std::time(nullptr);
  while (std::time(nullptr) < start + 2) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  (*file)->tick();
  CHECK((*file)->counters().rotations == 1);
  CHECK(lines_of(dir + "/eve.json").empty());
  // Empty when due again: nothing to rotate.
  while (std::time(nullptr) < start + 4) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  (*file)->tick();
  CHECK((*file)->counters().rotations == 1);
  (*file)->write_line("second");
  (*file)->flush();
  const auto rotated = rotated_files_in_order(dir + "/eve.json", files_in(dir));
  REQUIRE(rotated.size() == 1);
  CHECK(lines_of(dir + "/" + rotated[0]) == std::vector<std::string>{"first"});
  CHECK(lines_of(dir + "/eve.json") == std::vector<std::string>{"second"});
}

TEST_CASE("reopen after the file was moved away writes to a new file of the same name") {
  const std::string dir = fresh_dir("reopen");
  auto file = LogFile::open(dir + "/fast.log", LogRotationSettings{});
  REQUIRE(file);
  (*file)->write_line("before");
  (*file)->flush();
  std::filesystem::rename(dir + "/fast.log", dir + "/fast.log.1");
  (*file)->write_line("still the old file");  // until the reopen, as with any daemon
  (*file)->reopen();
  (*file)->write_line("after");
  (*file)->flush();
  CHECK(lines_of(dir + "/fast.log.1") == std::vector<std::string>{"before", "still the old file"});
  CHECK(lines_of(dir + "/fast.log") == std::vector<std::string>{"after"});
  CHECK((*file)->counters().reopens == 1);
  CHECK((*file)->counters().errors == 0);
}

TEST_CASE("a directory that refuses the rotation: counted, and writing goes on in the same file") {
  if (geteuid() == 0) {
    SUCCEED("skipped as root: a directory's mode bits do not stop root's rename");
    return;
  }
  const std::string dir = fresh_dir("readonly");
  LogRotationSettings rotation;
  rotation.size = 4096;
  auto file = LogFile::open(dir + "/eve.json", rotation);
  REQUIRE(file);
  chmod(dir.c_str(), 0500);
  const std::string record(1000, 'r');
  for (int i = 0; i < 8; ++i) (*file)->write_line(record);
  (*file)->flush();
  chmod(dir.c_str(), 0700);
  CHECK((*file)->counters().rotations == 0);
  CHECK((*file)->counters().errors > 0);
  CHECK(lines_of(dir + "/eve.json").size() == 8);
}

TEST_CASE("an unwritable path is an error at open") {
  auto file = LogFile::open("/nonexistent-dir/eve.json", LogRotationSettings{});
  REQUIRE_FALSE(file);
  CHECK(file.error() == "cannot open '/nonexistent-dir/eve.json' for writing: No such file or directory");
}

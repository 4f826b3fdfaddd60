// The daemon's config keys: outputs.eve.rotate-*, run-as, logging, pid-file; their defaults
// (the embedded eastwatch.yaml equals the built-in structs) and their error messages.
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "config/config_loader.hpp"

using namespace eastwatch;

namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = std::string(EASTWATCH_BINARY_DIR) + "/daemon_config_test_" + name + ".yaml";
  std::ofstream(path) << text;
  return path;
}

std::vector<std::string> errors_of(const std::string& path, const std::vector<std::string>& overrides = {}) {
  auto settings = load_settings(path, overrides);
  std::vector<std::string> out;
  if (!settings) {
    for (const auto& error : settings.error()) out.push_back(error.message);
  }
  return out;
}

}  // namespace

TEST_CASE("the daemon keys default to no rotation, no user switch, info to stderr, no pid file") {
  auto settings = load_settings(std::nullopt, {});
  REQUIRE(settings);
  const LogRotationSettings& rotation = settings->eve.rotation;
  CHECK(rotation.size == 0);
  CHECK(rotation.interval_seconds == 0);
  CHECK(rotation.count == 0);
  CHECK(settings->daemon.run_as.user.empty());
  CHECK(settings->daemon.run_as.group.empty());
  CHECK_FALSE(settings->daemon.run_as.net_admin);
  CHECK(settings->daemon.run_as.allow_root);
  CHECK(settings->daemon.logging.level == LogLevel::Info);
  CHECK(settings->daemon.logging.file.empty());
  CHECK(settings->daemon.pid_file.empty());
}

TEST_CASE("the daemon keys are read") {
  const std::string path = write_temp("good",
                                      "outputs:\n"
                                      "  eve:\n"
                                      "    rotate-size: 10mb\n"
                                      "    rotate-interval: hour\n"
                                      "    rotate-count: 24\n"
                                      "run-as: {user: eastwatch, group: adm, net-admin: yes, allow-root: no}\n"
                                      "logging: {level: debug, file: /var/log/eastwatch/eastwatch.log}\n"
                                      "pid-file: /run/eastwatch/eastwatch.pid\n");
  auto settings = load_settings(path, {"outputs.eve.rotate-interval=30m"});
  REQUIRE(settings);
  CHECK(settings->eve.rotation.size == 10ull << 20);
  CHECK(settings->eve.rotation.interval_seconds == 1800);
  CHECK_FALSE(settings->eve.rotation.interval_aligned);
  CHECK(settings->eve.rotation.count == 24);
  CHECK(settings->daemon.run_as.user == "eastwatch");
  CHECK(settings->daemon.run_as.group == "adm");
  CHECK(settings->daemon.run_as.net_admin);
  CHECK_FALSE(settings->daemon.run_as.allow_root);
  CHECK(settings->daemon.logging.level == LogLevel::Debug);
  CHECK(settings->daemon.logging.file == "/var/log/eastwatch/eastwatch.log");
  CHECK(settings->daemon.pid_file == "/run/eastwatch/eastwatch.pid");
}

TEST_CASE("bad daemon keys are reported with file, line and key, all of them") {
  const std::string path = write_temp("bad",
                                      "outputs:\n"
                                      "  eve:\n"
                                      "    rotate-size: 100\n"
                                      "    rotate-interval: weekly\n"
                                      "    rotate-count: -1\n"
                                      "run-as:\n"
                                      "  group: adm\n"
                                      "  uid: 5\n"
                                      "logging:\n"
                                      "  level: verbose\n");
  CHECK(errors_of(path) ==
        std::vector<std::string>{
            path + ":3: outputs.eve.rotate-size: is too small (expected 0 for off, or at least 4kb)",
            path + ":4: outputs.eve.rotate-interval: 'weekly' is not an interval (expected minute, hour, day, or 1s "
                   "to 366d such as 30s, 15m, 1h, 1d)",
            path + ":5: outputs.eve.rotate-count: '-1' is not valid (expected an integer from 0 to 100000)",
            path + ":8: run-as.uid: unknown key (expected one of: user, group, net-admin, allow-root)",
            path + ":7: run-as.group: needs run-as.user (expected a user to switch to as well)",
            path + ":10: logging.level: 'verbose' is not valid (expected one of: error, warning, info, debug)",
        });
  CHECK(errors_of(write_temp("empty", ""), {"outputs.eve.rotate-interval=0"}).empty());
  CHECK(errors_of(write_temp("empty2", ""), {"outputs.eve.rotate-interval=2x"}) ==
        std::vector<std::string>{"--set outputs.eve.rotate-interval=2x: '2x' is not an interval (expected minute, "
                                 "hour, day, or 1s to 366d such as 30s, 15m, 1h, 1d)"});
}

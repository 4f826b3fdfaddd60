#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "config/config_loader.hpp"

using namespace eastwatch;

namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = std::string(EASTWATCH_BINARY_DIR) + "/stream_config_test_" + name + ".yaml";
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("the embedded stream: section equals the built-in defaults (Suricata's)") {
  auto settings = load_settings(std::nullopt, {});
  REQUIRE(settings);
  const StreamSettings defaults;
  CHECK(settings->stream.memcap == defaults.memcap);
  CHECK(settings->stream.memcap == 64ull << 20);
  CHECK(settings->stream.midstream == false);
  CHECK(settings->stream.async_oneside == false);
  CHECK(settings->stream.reassembly.memcap == defaults.reassembly.memcap);
  CHECK(settings->stream.reassembly.depth == 1ull << 20);
  CHECK(settings->stream.reassembly.inspect_window == defaults.reassembly.inspect_window);
  CHECK(settings->stream.reassembly.queue_limit == defaults.reassembly.queue_limit);
}

TEST_CASE("stream: keys are read and validated") {
  const auto path = write_temp("valid", R"(
stream:
  memcap: 32mb
  midstream: yes
  async-oneside: true
  reassembly:
    memcap: 8mb
    depth: 0
    inspect-window: 4kb
    queue-limit: 64
)");
  auto settings = load_settings(path, {});
  REQUIRE(settings);
  CHECK(settings->stream.memcap == 32ull << 20);
  CHECK(settings->stream.midstream);
  CHECK(settings->stream.async_oneside);
  CHECK(settings->stream.reassembly.memcap == 8ull << 20);
  CHECK(settings->stream.reassembly.depth == 0);
  CHECK(settings->stream.reassembly.inspect_window == 4096);
  CHECK(settings->stream.reassembly.queue_limit == 64);

  auto set = load_settings(std::nullopt, {"stream.reassembly.depth=64kb", "stream.midstream=on"});
  REQUIRE(set);
  CHECK(set->stream.reassembly.depth == 64ull << 10);
  CHECK(set->stream.midstream);
}

TEST_CASE("bad stream: values are reported with file, line and key") {
  const auto path = write_temp("invalid", R"(stream:
  memcap: lots
  reassembly:
    depth: 1mb
    inspect-window: 2gb
    queue-limit: 0
    segment-prealloc: 2048
)");
  auto settings = load_settings(path, {});
  REQUIRE_FALSE(settings);
  std::vector<std::string> errors;
  for (const auto& e : settings.error()) errors.push_back(e.message);
  REQUIRE(errors.size() == 4);
  CHECK(errors[0] == path + ":2: stream.memcap: 'lots' is not a size (expected a number with an optional kb, mb or "
                                "gb suffix)");
  CHECK(errors[1] == path + ":7: stream.reassembly.segment-prealloc: unknown key (expected one of: memcap, depth, "
                                "inspect-window, queue-limit)");
  CHECK(errors[2] == path + ":5: stream.reassembly.inspect-window: '2gb' is too large (expected at most 1mb)");
  CHECK(errors[3].find(":6: stream.reassembly.queue-limit: '0' is not valid") != std::string::npos);
}

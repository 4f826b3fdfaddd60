// load_rules with a rule snapshot in detect.hs-cache-dir: the first load parses and stores it,
// the next decodes it with the same counts, FILE:LINE errors and config errors; a corrupt one
// is ignored with a note and the rules parsed; a changed rule file, variable or threshold
// file is a new key (parsed again).
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "sensor/main/rule_loading.hpp"

using namespace eastwatch;

namespace {

struct Dir {
  std::filesystem::path path;
  Dir() {
    path = std::filesystem::path(EASTWATCH_BINARY_DIR) / ("rule-snapshot-test-" + std::to_string(getpid()));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path / "cache");
  }
  ~Dir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name, std::ios::binary | std::ios::trunc) << text;
    return (path / name).string();
  }
  std::vector<std::filesystem::path> snapshots() const {
    std::vector<std::filesystem::path> out;
    for (const auto& entry : std::filesystem::directory_iterator(path / "cache")) {
      if (entry.path().extension() == ".snapshot") out.push_back(entry.path());
    }
    return out;
  }
};

constexpr const char* kRules =
    "alert udp any any -> any 9999 (msg:\"one\"; content:\"alpha\"; pcre:\"/alpha\\d+/\"; sid:1; rev:1;)\n"
    "alert udp any any -> any 9999 (msg:\"bad\"; content:\"beta\"; nosuch; sid:2; rev:1;)\n"
    "alert tcp $HOME_NET any -> any $WEB (msg:\"three\"; flow:to_server; content:\"gamma\"; sid:3; rev:1;)\n"
    "alert tcp any any -> any any (msg:\"dup\"; content:\"delta\"; sid:3; rev:1;)\n";

std::vector<std::string> lines(const LoadedRules& loaded) {
  std::vector<std::string> out;
  for (const auto& error : loaded.errors) out.push_back(error.to_string());
  for (const auto& error : loaded.config_errors) out.push_back(error);
  out.push_back(std::to_string(loaded.loaded) + " loaded, " + std::to_string(loaded.errors.size()) + " failed");
  return out;
}

}  // namespace

TEST_CASE("rule snapshot: stored, then decoded with the same rules, counts and messages", "[snapshot]") {
  Dir dir;
  Settings settings;
  settings.variables = RuleVariables::with_suricata_defaults();
  settings.variables.port_groups["WEB"] = "80";
  settings.rule_files = {dir.write("local.rules", kRules)};
  settings.threshold_file = dir.write("threshold.config", "suppress gen_id 1, sig_id 1, track by_src, ip 10.0.0.1\n"
                                                          "suppress gen_id 1, sig_id 99\n");

  auto plain = load_rules(settings, {});  // no cache directory: no snapshot
  REQUIRE(plain);
  CHECK(plain->snapshot == LoadedRules::Snapshot::Off);
  settings.detect.hs_cache_dir = (dir.path / "cache").string();
  auto first = load_rules(settings, {});
  REQUIRE(first);
  CHECK(first->snapshot == LoadedRules::Snapshot::Stored);
  CHECK(first->snapshot_note.empty());
  REQUIRE(dir.snapshots().size() == 1);
  auto second = load_rules(settings, {});
  REQUIRE(second);
  CHECK(second->snapshot == LoadedRules::Snapshot::Loaded);
  CHECK(second->snapshot_note.empty());
  CHECK(lines(*plain) == lines(*first));
  CHECK(lines(*first) == lines(*second));
  CHECK(lines(*second).size() == 4);  // nosuch, duplicate sid 3, no loaded rule 1:99, counts
  const auto a = first->compiled->rules();
  const auto b = second->compiled->rules();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].sid == b[i].sid);
    CHECK(a[i].text == b[i].text);
    CHECK(a[i].suppressions.size() == b[i].suppressions.size());
    CHECK(a[i].dst_ports.ranges().size() == b[i].dst_ports.ranges().size());
  }
  CHECK(first->compiled->stats().patterns == second->compiled->stats().patterns);

  SECTION("a corrupt snapshot is ignored with a note, the rules parsed and the snapshot written again") {
    const auto file = dir.snapshots().front();
    const auto size = std::filesystem::file_size(file);
    {
      std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(static_cast<std::streamoff>(size / 2));
      f.put('\x5a');
    }
    auto again = load_rules(settings, {});
    REQUIRE(again);
    CHECK(again->snapshot == LoadedRules::Snapshot::Stored);
    CHECK(again->snapshot_note.find("ignored: checksum mismatch") != std::string::npos);
    CHECK(lines(*again) == lines(*first));
    std::filesystem::resize_file(file, size / 3);  // truncated
    auto truncated = load_rules(settings, {});
    REQUIRE(truncated);
    CHECK(truncated->snapshot_note.find("ignored: truncated") != std::string::npos);
    CHECK(lines(*truncated) == lines(*first));
    CHECK(load_rules(settings, {})->snapshot == LoadedRules::Snapshot::Loaded);
  }
  SECTION("a changed rule file, variable or threshold file parses again") {
    dir.write("local.rules", std::string(kRules) + "alert udp any any -> any 1 (msg:\"new\"; content:\"eps\"; sid:9;)\n");
    auto changed = load_rules(settings, {});
    REQUIRE(changed);
    CHECK(changed->snapshot == LoadedRules::Snapshot::Stored);
    CHECK(changed->loaded == first->loaded + 1);
    settings.variables.port_groups["WEB"] = "8080";
    auto variable = load_rules(settings, {});
    REQUIRE(variable);
    CHECK(variable->snapshot == LoadedRules::Snapshot::Stored);
    bool port_8080 = false;
    for (const Rule& rule : variable->compiled->rules()) port_8080 |= rule.sid == 3 && rule.dst_ports.contains(8080);
    CHECK(port_8080);
    dir.write("threshold.config", "suppress gen_id 1, sig_id 1\n");
    auto threshold = load_rules(settings, {});
    REQUIRE(threshold);
    CHECK(threshold->snapshot == LoadedRules::Snapshot::Stored);
    CHECK(threshold->config_errors.empty());
    CHECK(load_rules(settings, {})->snapshot == LoadedRules::Snapshot::Loaded);
    CHECK(dir.snapshots().size() == 4);  // one per key so far, at most 4 kept
    settings.variables.port_groups["WEB"] = "8081";
    CHECK(load_rules(settings, {})->snapshot == LoadedRules::Snapshot::Stored);
    CHECK(dir.snapshots().size() == 4);
  }
}

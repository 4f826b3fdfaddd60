// Reload of rules and config from real files: a good reload swaps in the new set; a broken
// config, an unreadable rule file or a set without any rule keeps the running one and says
// why; bad rules are skipped with FILE:LINE; changed keys that cannot change live are listed.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "config/config_loader.hpp"
#include "sensor/main/reloader.hpp"
#include "sensor/main/rule_loading.hpp"

using namespace eastwatch;

namespace {

struct Files {
  std::filesystem::path dir;
  Files() {
    dir = std::filesystem::path(EASTWATCH_BINARY_DIR) / ("reloader-test-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~Files() { std::filesystem::remove_all(dir); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name, std::ios::binary | std::ios::trunc) << text;
    return (dir / name).string();
  }
  std::string config(const std::string& memcap, const std::string& rule_file = "local.rules") const {
    return write("eastwatch.yaml", "default-rule-path: " + dir.string() + "\nrule-files:\n  - " + rule_file +
                                       "\nflow:\n  memcap: " + memcap + "\nvars:\n  port-groups:\n    WEB: \"80\"\n");
  }
};

constexpr const char* kOne = "alert udp any any -> any 9999 (msg:\"one\"; content:\"alpha\"; sid:1; rev:1;)\n";
constexpr const char* kTwo = "alert udp any any -> any 9999 (msg:\"two\"; content:\"beta\"; sid:2; rev:1;)\n";

struct Run {
  CliOptions options;
  Settings settings;
  std::unique_ptr<RuleStore> store;
  std::unique_ptr<Reloader> reloader;

  explicit Run(const std::string& config_path) {
    options.config_file = config_path;
    auto loaded = load_settings(options.config_file, options.overrides);
    REQUIRE(loaded);
    settings = *loaded;
    auto rules = load_rules(settings, {});
    REQUIRE(rules);
    auto snapshot = std::make_unique<RuleSnapshot>();
    snapshot->rules = rules->compiled;
    snapshot->engine = std::make_unique<DetectEngine>(snapshot->rules, settings.detect, settings.eve);
    snapshot->loaded = rules->loaded;
    store = std::make_unique<RuleStore>(std::move(snapshot), 0);
    reloader = std::make_unique<Reloader>(options, settings, *store);
  }
  std::vector<uint32_t> sids() const {
    std::vector<uint32_t> out;
    for (const Rule& rule : store->current()->rules->rules()) out.push_back(rule.sid);
    std::sort(out.begin(), out.end());
    return out;
  }
};

}  // namespace

TEST_CASE("a reload swaps in the new rules and reports bad ones with FILE:LINE", "[reload]") {
  Files files;
  files.write("local.rules", kOne);
  Run run(files.config("8mb"));
  CHECK(run.sids() == std::vector<uint32_t>{1});

  const std::string rules = files.write("local.rules", std::string(kOne) + kTwo + "alert udp any any -> any 1 (content:\"x\" sid:3;)\n");
  int hooked = 0;
  run.reloader->set_result_hook([&](const ReloadResult&) { ++hooked; });
  const ReloadResult result = run.reloader->reload("test");
  CHECK(result.ok);
  CHECK(hooked == 1);
  CHECK(result.generation == 2);
  CHECK(result.loaded == 2);
  CHECK(result.failed == 1);
  REQUIRE(result.errors.size() == 1);
  CHECK(result.errors[0].starts_with(rules + ":3: "));
  CHECK(result.needs_restart.empty());
  CHECK(run.sids() == std::vector<uint32_t>{1, 2});
}

TEST_CASE("a broken config keeps the running rule set and says where", "[reload]") {
  Files files;
  files.write("local.rules", kOne);
  const std::string config = files.config("8mb");
  Run run(config);
  files.write("local.rules", std::string(kOne) + kTwo);
  files.write("eastwatch.yaml", "rule-files: [local.rules\nflow: {memcap: 8mb}\n");  // unclosed sequence
  ReloadResult result = run.reloader->reload("test");
  CHECK_FALSE(result.ok);
  CHECK(result.message.find("invalid configuration") != std::string::npos);
  REQUIRE_FALSE(result.errors.empty());
  CHECK(result.errors[0].starts_with(config + ":"));
  CHECK(run.store->current()->generation == 1);
  CHECK(run.sids() == std::vector<uint32_t>{1});

  // An unknown key is a config error too.
  files.write("eastwatch.yaml", "default-rule-path: " + files.dir.string() + "\nrule-files: [local.rules]\nflwo: {}\n");
  result = run.reloader->reload("test");
  CHECK_FALSE(result.ok);
  REQUIRE_FALSE(result.errors.empty());
  CHECK(result.errors[0].find("flwo") != std::string::npos);
  CHECK(run.store->current()->generation == 1);
}

TEST_CASE("an unreadable rule file or a set without rules is refused", "[reload]") {
  Files files;
  files.write("local.rules", kOne);
  Run run(files.config("8mb"));
  files.config("8mb", "missing.rules");
  ReloadResult result = run.reloader->reload("test");
  CHECK_FALSE(result.ok);
  CHECK(result.message.find("cannot open rule file") != std::string::npos);
  CHECK(run.store->current()->generation == 1);

  files.config("8mb");
  files.write("local.rules", "# nothing here\nalert udp any any -> any any (msg:\"broken\"; content:\"x\" sid:5;)\n");
  result = run.reloader->reload("test");
  CHECK_FALSE(result.ok);
  CHECK(result.message.find("no rule loaded (1 failed)") != std::string::npos);
  CHECK(result.loaded == 1);  // the running set's
  CHECK(run.sids() == std::vector<uint32_t>{1});
}

TEST_CASE("keys that cannot change live are reported and keep their value", "[reload]") {
  Files files;
  files.write("local.rules", kOne);
  Run run(files.config("8mb"));
  files.write("local.rules", std::string(kOne) + kTwo);
  files.write("eastwatch.yaml", "default-rule-path: " + files.dir.string() +
                                    "\nrule-files:\n  - local.rules\nflow:\n  memcap: 16mb\nvars:\n  port-groups:\n"
                                    "    WEB: \"8080\"\n");
  const ReloadResult result = run.reloader->reload("test");
  CHECK(result.ok);
  CHECK(result.needs_restart == std::vector<std::string>{"flow.memcap"});  // vars changed too, live
  CHECK(result.message.find("1 changed key need a restart") != std::string::npos);
  CHECK(run.sids() == std::vector<uint32_t>{1, 2});
}

TEST_CASE("flattened YAML keys", "[reload]") {
  const auto flat = flatten_yaml("a:\n  b: 1\n  c: [x, y]\nd: []\n");
  CHECK(flat.at("a.b") == "1");
  CHECK(flat.at("a.c[0]") == "x");
  CHECK(flat.at("a.c[1]") == "y");
  CHECK(flat.at("d") == "[]");
  CHECK(flatten_yaml("a: [").empty());
  CHECK(live_reloadable_key("vars.address-groups.HOME_NET"));
  CHECK(live_reloadable_key("rule-files[2]"));
  CHECK(live_reloadable_key("detect.hs-cache-dir"));
  CHECK_FALSE(live_reloadable_key("detect.max-alerts-per-packet"));
  CHECK_FALSE(live_reloadable_key("capture.interfaces[0]"));
}

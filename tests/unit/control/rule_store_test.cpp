// The rule-set swap: a worker moves to a published set between bursts (alerts of the new rule
// only after, counters and per-rule alerts carried over), the old set is freed only once every
// worker moved past it and the alerts made with it were popped, a publish waits for laggards,
// flowbit numbers survive a reload, and the swap itself allocates nothing on the worker.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "config/config_loader.hpp"
#include "sensor/main/rule_store.hpp"
#include "sensor/main/worker.hpp"
#include "signatures/rule_parser.hpp"
#include "tests/unit/support/counting_allocator.hpp"

using namespace eastwatch;

namespace {

Settings small_settings() {
  auto settings = load_settings(std::nullopt, {"flow.memcap=4mb", "stream.memcap=2mb", "app-layer.memcap=4mb",
                                               "defrag.memcap=2mb"});
  REQUIRE(settings);
  return *settings;
}

std::shared_ptr<const CompiledRuleSet> compile(const Settings& settings, const std::string& text) {
  auto loaded = load_rule_text(text, "test.rules", settings.variables, nullptr);
  REQUIRE(loaded.errors.empty());
  auto compiled = compile_rules(std::move(loaded.rules));
  REQUIRE(compiled);
  return *compiled;
}

std::unique_ptr<RuleSnapshot> initial_snapshot(const Settings& settings, std::shared_ptr<const CompiledRuleSet> rules) {
  auto snapshot = std::make_unique<RuleSnapshot>();
  snapshot->rules = rules;
  snapshot->engine = std::make_unique<DetectEngine>(rules, settings.detect, settings.eve);
  return snapshot;
}

// An Ethernet/IPv4/UDP frame to port 9999 carrying `payload`.
std::vector<uint8_t> udp_frame(const std::string& payload) {
  std::vector<uint8_t> f(14, 0);
  f[12] = 0x08;
  const uint16_t total = static_cast<uint16_t>(28 + payload.size());
  const uint8_t ip[20] = {0x45, 0, uint8_t(total >> 8), uint8_t(total), 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
  f.insert(f.end(), ip, ip + 20);
  const uint16_t udp_len = static_cast<uint16_t>(8 + payload.size());
  const uint8_t udp[8] = {0x30, 0x39, 0x27, 0x0f, uint8_t(udp_len >> 8), uint8_t(udp_len), 0, 0};
  f.insert(f.end(), udp, udp + 8);
  f.insert(f.end(), payload.begin(), payload.end());
  return f;
}

struct Rig {
  Settings settings = small_settings();
  AlertQueue alerts{1024};
  FlowQueue flows{1024};
  std::shared_ptr<const CompiledRuleSet> first;
  std::unique_ptr<RuleStore> store;
  std::unique_ptr<Worker> worker;
  int64_t now = 1'000'000;

  explicit Rig(const std::string& rules) {
    first = compile(settings, rules);
    store = std::make_unique<RuleStore>(initial_snapshot(settings, first), 1);
    worker = std::make_unique<Worker>(settings, *store->current()->engine, alerts, flows);
    worker->attach_rule_store(*store, 0);
    store->watch_alert_queue(&alerts);
  }

  // Sends one frame per payload in one burst; returns the sids that alerted, in order.
  std::vector<uint32_t> send(const std::vector<std::string>& payloads) {
    std::vector<std::vector<uint8_t>> frames;
    for (const auto& payload : payloads) frames.push_back(udp_frame(payload));
    std::vector<Packet> packets(frames.size());
    for (size_t i = 0; i < frames.size(); ++i) {
      packets[i].data = frames[i].data();
      packets[i].caplen = packets[i].wirelen = static_cast<uint32_t>(frames[i].size());
      packets[i].ts_usec = now += 1000;
      packets[i].link_type = LinkType::Ethernet;
    }
    worker->process_burst(packets);
    return drain();
  }

  std::vector<uint32_t> drain() {
    std::vector<uint32_t> sids;
    while (const AlertEvent* event = alerts.front()) {
      sids.push_back(event->rule->sid);
      alerts.pop();
    }
    return sids;
  }

  std::unique_ptr<RuleSnapshot> next(const std::string& rules) {
    return prepare_snapshot(compile(settings, rules), *store, settings.detect, settings.eve);
  }
};

constexpr const char* kRuleOld = "alert udp any any -> any 9999 (msg:\"old\"; content:\"alpha\"; sid:1; rev:1;)\n";
constexpr const char* kRuleNew = "alert udp any any -> any 9999 (msg:\"new\"; content:\"beta\"; sid:2; rev:1;)\n";

}  // namespace

TEST_CASE("a published rule set is taken up at the next burst, counters carried over", "[rule_store]") {
  Rig rig(kRuleOld);
  CHECK(rig.send({"alpha", "beta"}) == std::vector<uint32_t>{1});
  CHECK(rig.store->current()->generation == 1);

  auto next = rig.next(std::string(kRuleNew) + kRuleOld);
  REQUIRE(next->previous_index.size() == 2);
  REQUIRE(rig.store->publish(std::move(next), std::chrono::milliseconds(20)));
  CHECK(rig.store->current()->generation == 2);
  // The worker has not looked yet: the old set is still held.
  CHECK(rig.store->retired() == 1);
  CHECK(rig.store->announced(0) == 1);

  CHECK(rig.send({"alpha", "beta"}) == std::vector<uint32_t>{1, 2});
  CHECK(rig.store->announced(0) == 2);
  CHECK(rig.store->reclaim() == 0);  // moved, and its alerts were popped
  CHECK(rig.worker->detect_counters().alert == 3);  // 1 before the swap, 2 after: carried over
  const auto rules = rig.store->current()->rules->rules();
  for (size_t i = 0; i < rules.size(); ++i) {
    CHECK(rig.worker->detect_thread().rule_alerts(i) == (rules[i].sid == 1 ? 2u : 1u));
  }
}

TEST_CASE("an old set stays while alerts made with it wait in the queue", "[rule_store]") {
  Rig rig(kRuleOld);
  // An alert of the old set, not yet popped by the output side.
  std::vector<uint8_t> frame = udp_frame("alpha");
  Packet packet;
  packet.data = frame.data();
  packet.caplen = packet.wirelen = static_cast<uint32_t>(frame.size());
  packet.ts_usec = 2'000'000;
  packet.link_type = LinkType::Ethernet;
  rig.worker->process_burst(std::span<Packet>(&packet, 1));
  REQUIRE(rig.alerts.front() != nullptr);

  REQUIRE(rig.store->publish(rig.next(kRuleNew), std::chrono::milliseconds(5)));
  rig.worker->refresh_rules();
  CHECK(rig.store->announced(0) == 2);
  CHECK(rig.store->reclaim() == 1);  // the queued event points into the old set
  const AlertEvent* event = rig.alerts.front();
  REQUIRE(event != nullptr);
  CHECK(event->rule->sid == 1);
  CHECK(event->rule->msg == "old");
  rig.alerts.pop();
  CHECK(rig.store->reclaim() == 0);
}

TEST_CASE("a publish waits for a worker still on an older set, and fails when it does not move", "[rule_store]") {
  Rig rig(kRuleOld);
  REQUIRE(rig.store->publish(rig.next(kRuleNew), std::chrono::milliseconds(5)));
  // The worker never took up generation 2: generation 3 must not skip it.
  auto refused = rig.store->publish(rig.next(kRuleOld), std::chrono::milliseconds(5));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().find("has not taken up rule set 2") != std::string::npos);
  CHECK(rig.store->current()->generation == 2);
  rig.worker->refresh_rules();
  REQUIRE(rig.store->publish(rig.next(kRuleOld), std::chrono::milliseconds(5)));
  CHECK(rig.store->current()->generation == 3);
  rig.worker->refresh_rules();
  CHECK(rig.store->reclaim() == 0);
  CHECK(rig.send({"alpha", "beta"}) == std::vector<uint32_t>{1});
}

TEST_CASE("a worker that left does not hold sets back", "[rule_store]") {
  Rig rig(kRuleOld);
  rig.worker->leave_rule_store();
  CHECK(rig.store->announced(0) == RuleStore::kLeft);
  REQUIRE(rig.store->publish(rig.next(kRuleNew), std::chrono::milliseconds(5)));
  CHECK(rig.store->reclaim() == 0);
}

TEST_CASE("rules are mapped to the previous set by gid:sid", "[rule_store]") {
  Rig rig(std::string(kRuleOld) + "alert udp any any -> any 1 (msg:\"gone\"; content:\"x\"; sid:3;)\n");
  auto next = rig.next(std::string(kRuleNew) + kRuleOld);
  const auto old_rules = rig.first->rules();
  const auto new_rules = next->rules->rules();
  for (size_t i = 0; i < new_rules.size(); ++i) {
    if (new_rules[i].sid == 2) {
      CHECK(next->previous_index[i] == DetectThread::kNoRule);
    } else {
      REQUIRE(next->previous_index[i] != DetectThread::kNoRule);
      CHECK(old_rules[next->previous_index[i]].sid == new_rules[i].sid);
    }
  }
  for (size_t i = 0; i < old_rules.size(); ++i) {
    if (old_rules[i].sid == 3) CHECK(next->old_to_new[i] == DetectThread::kNoRule);
    if (old_rules[i].sid == 1) CHECK(new_rules[next->old_to_new[i]].sid == 1);
  }
  CHECK(next->threads.size() == 1);
  CHECK(next->threads[0]->generation() == 2);
}

TEST_CASE("flowbit numbers of the running set survive a reload", "[rule_store]") {
  const Settings settings = small_settings();
  const auto first = compile(settings,
                             "alert udp any any -> any any (msg:\"a\"; flowbits:set,seen.a; flowbits:noalert; sid:1;)\n"
                             "alert udp any any -> any any (msg:\"b\"; flowbits:set,seen.b; flowbits:noalert; sid:2;)\n");
  auto loaded = load_rule_text(
      "alert udp any any -> any any (msg:\"c\"; flowbits:set,fresh; flowbits:noalert; sid:3;)\n"
      "alert udp any any -> any any (msg:\"b\"; flowbits:isset,seen.b; sid:2;)\n",
      "next.rules", settings.variables, nullptr);
  REQUIRE(loaded.errors.empty());
  CompileOptions options;
  options.flowbit_names.assign(first->flowbit_names().begin(), first->flowbit_names().end());
  auto second = compile_rules(std::move(loaded.rules), options);
  REQUIRE(second);
  auto id_of = [](const CompiledRuleSet& set, const std::string& name) {
    const auto names = set.flowbit_names();
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == name) return static_cast<int>(i);
    }
    return -1;
  };
  REQUIRE(id_of(*first, "seen.b") >= 0);
  CHECK(id_of(**second, "seen.b") == id_of(*first, "seen.b"));
  CHECK(id_of(**second, "seen.a") == id_of(*first, "seen.a"));
  CHECK(id_of(**second, "fresh") == 2);
  for (const Rule& rule : (*second)->rules()) {
    if (rule.sid == 2) CHECK(rule.flowbits[0].ids[0] == id_of(*first, "seen.b"));
  }
}

TEST_CASE("taking up a new set allocates nothing on the worker", "[rule_store]") {
  if (!EASTWATCH_COUNTING_ALLOCATOR) {
    WARN("skipped under AddressSanitizer: it replaces operator new");
    return;
  }
  Rig rig(kRuleOld);
  rig.send({"alpha"});
  REQUIRE(rig.store->publish(rig.next(std::string(kRuleNew) + kRuleOld), std::chrono::milliseconds(5)));
  const uint64_t before = g_allocations.load();
  rig.worker->refresh_rules();
  CHECK(g_allocations.load() - before == 0);
  CHECK(rig.store->announced(0) == 2);
}

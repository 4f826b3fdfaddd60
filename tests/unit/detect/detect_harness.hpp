// Shared by the detection tests: a rule set compiled from text with its engine and one thread,
// and a TCP/UDP packet built around a payload.
#pragma once

#include <algorithm>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "sensor/detect/content_inspect.hpp"
#include "sensor/detect/detect_engine.hpp"
#include "sensor/flow/flow.hpp"
#include "signatures/rule_parser.hpp"

namespace eastwatch::test {

// The one buffer section of `alert tcp any any -> any any (OPTIONS sid:1;)` inspected on PAYLOAD
// (no stream window); BUDGET_LEFT, when given, receives what the inspection left of its budget.
inline bool inspect_one_section(const std::string& options, std::span<const uint8_t> payload,
                                uint32_t* budget_left = nullptr) {
  static const RuleVariables vars = RuleVariables::with_suricata_defaults();
  auto rule = parse_rule("alert tcp any any -> any any (" + options + " sid:1;)", RuleParseContext{&vars, nullptr, "t", 1});
  REQUIRE(rule);
  REQUIRE(rule->sections.size() == 1);
  InspectBudget budget;
  RegexScratch regex;
  const bool result = inspect_section(rule->sections[0], payload, -1, regex, budget);
  if (budget_left) *budget_left = budget.remaining;
  return result;
}

inline bool inspect_one_section(const std::string& options, const std::string& payload,
                                uint32_t* budget_left = nullptr) {
  return inspect_one_section(
      options, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()), budget_left);
}

struct Engine {
  std::shared_ptr<const CompiledRuleSet> rules;
  std::unique_ptr<DetectEngine> engine;
  std::unique_ptr<DetectThread> thread;
  std::vector<AlertEvent> out;

  explicit Engine(const std::string& text, uint32_t max_alerts = 15, uint32_t stream_sessions = 0) {
    auto loaded = load_rule_text(text, "t.rules", RuleVariables::with_suricata_defaults(), nullptr);
    for (const auto& e : loaded.errors) FAIL(e.to_string());
    auto compiled = compile_rules(std::move(loaded.rules));
    REQUIRE(compiled);
    rules = *compiled;
    DetectSettings settings;
    settings.max_alerts_per_packet = max_alerts;
    engine = std::make_unique<DetectEngine>(rules, settings, EveSettings{});
    thread = engine->make_thread(stream_sessions);
    out.resize(std::max<uint32_t>(64, max_alerts));
  }

  // The sids that alert, in order.
  std::vector<uint32_t> sids(const Packet& p, const StreamUpdate* stream = nullptr) {
    const size_t n = engine->inspect(p, *thread, out, stream);
    std::vector<uint32_t> result;
    for (size_t i = 0; i < n; ++i) result.push_back(out[i].rule->sid);
    return result;
  }

  // "gid:sid" of each event, in order.
  std::vector<std::string> events(const Packet& p) {
    const size_t n = engine->inspect(p, *thread, out);
    std::vector<std::string> result;
    for (size_t i = 0; i < n; ++i) result.push_back(std::to_string(out[i].rule->gid) + ":" + std::to_string(out[i].rule->sid));
    return result;
  }
};

struct TestPacket {
  std::string payload;
  Packet packet;

  TestPacket(const char* src, uint16_t sport, const char* dst, uint16_t dport, std::string data, uint8_t proto = 6)
      : payload(std::move(data)) {
    packet.data = reinterpret_cast<const uint8_t*>(payload.data());
    packet.caplen = packet.wirelen = static_cast<uint32_t>(payload.size());
    packet.payload_offset = 0;
    packet.payload_len = static_cast<uint32_t>(payload.size());
    packet.ip_version = 4;
    packet.ip_proto = proto;
    packet.has_transport = true;
    packet.src = *IpAddress::parse(src);
    packet.dst = *IpAddress::parse(dst);
    packet.src_port = sport;
    packet.dst_port = dport;
    packet.pcap_cnt = 7;
  }

  // TCP 40000 -> 80 at `ts_usec`, in `flow`.
  TestPacket(const char* src, const char* dst, std::string data, int64_t ts_usec = 0, Flow* flow = nullptr)
      : TestPacket(src, 40000, dst, 80, std::move(data)) {
    packet.ts_usec = ts_usec;
    packet.flow = flow;
  }
};

}  // namespace eastwatch::test

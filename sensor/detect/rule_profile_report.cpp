#include "sensor/detect/rule_profile_report.hpp"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <vector>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace eastwatch {

RuleProfileReport format_rule_profile(const CompiledRuleSet& rules, std::span<const RuleProfile> profile,
                                      double ns_per_tick) {
  std::vector<uint32_t> order;
  uint64_t total_ticks = 0;
  for (uint32_t i = 0; i < profile.size(); ++i) {
    if (profile[i].checks == 0) continue;
    order.push_back(i);
    total_ticks += profile[i].ticks;
  }
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return profile[a].ticks > profile[b].ticks; });

  RuleProfileReport report;
  char line[320];
  std::snprintf(line, sizeof line, "  %-8s %-12s %-8s %-8s %-14s %-7s %-10s %-9s %-11s %-11s %-11s %-12s\n", "Num",
                "Rule", "Gid", "Rev", "Ticks", "%", "Checks", "Matches", "Max Ticks", "Avg Ticks", "Avg Match",
                "Avg No Match");
  report.table += line;
  report.table += "  -------- ------------ -------- -------- -------------- ------- ---------- --------- ----------- "
                  "----------- ----------- ------------\n";

  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> json(buffer);
  json.StartObject();
  json.Key("ns_per_tick");
  json.Double(ns_per_tick);
  json.Key("total_ticks");
  json.Uint64(total_ticks);
  json.Key("rules");
  json.StartArray();
  uint32_t rank = 0;
  for (uint32_t i : order) {
    const Rule& rule = rules.rules()[i];
    const RuleProfile& p = profile[i];
    const double percent = total_ticks ? 100.0 * static_cast<double>(p.ticks) / static_cast<double>(total_ticks) : 0;
    const double average = static_cast<double>(p.ticks) / static_cast<double>(p.checks);
    const double average_match = p.matches ? static_cast<double>(p.match_ticks) / static_cast<double>(p.matches) : 0;
    const uint64_t misses = p.checks - p.matches;
    const double average_miss = misses ? static_cast<double>(p.ticks - p.match_ticks) / static_cast<double>(misses) : 0;
    std::snprintf(line, sizeof line, "  %-8u %-12u %-8u %-8u %-14llu %-7.2f %-10llu %-9llu %-11llu %-11.2f %-11.2f %-12.2f\n",
                  ++rank, rule.sid, rule.gid, rule.rev, static_cast<unsigned long long>(p.ticks), percent,
                  static_cast<unsigned long long>(p.checks), static_cast<unsigned long long>(p.matches),
                  static_cast<unsigned long long>(p.max_ticks), average, average_match, average_miss);
    report.table += line;
    json.StartObject();
    json.Key("signature_id");
    json.Uint(rule.sid);
    json.Key("gid");
    json.Uint(rule.gid);
    json.Key("rev");
    json.Uint(rule.rev);
    json.Key("signature");
    json.String(rule.msg.c_str(), static_cast<rapidjson::SizeType>(rule.msg.size()));
    json.Key("file");
    json.String(rule.file.c_str(), static_cast<rapidjson::SizeType>(rule.file.size()));
    json.Key("line");
    json.Uint(rule.line);
    json.Key("checks");
    json.Uint64(p.checks);
    json.Key("matches");
    json.Uint64(p.matches);
    json.Key("ticks");
    json.Uint64(p.ticks);
    json.Key("percent");
    json.Double(percent);
    json.Key("max_ticks");
    json.Uint64(p.max_ticks);
    json.Key("avg_ticks");
    json.Double(average);
    json.Key("avg_ticks_match");
    json.Double(average_match);
    json.Key("avg_ticks_no_match");
    json.Double(average_miss);
    json.Key("total_ns");
    json.Double(static_cast<double>(p.ticks) * ns_per_tick);
    json.EndObject();
  }
  json.EndArray();
  json.EndObject();
  report.json = std::string(buffer.GetString(), buffer.GetSize()) + "\n";
  return report;
}

}  // namespace eastwatch

// The Prometheus text exposition: escaping, HELP/TYPE once per family, counters vs gauges, the
// bounded signature and zone series, and the endpoint over a real socket.
#include <catch2/catch.hpp>

#include <httplib.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "sensor/main/metrics_exposition.hpp"
#include "sensor/main/metrics_server.hpp"
#include "sensor/output/alert_tally.hpp"

using namespace eastwatch;

namespace {

struct Parsed {
  std::map<std::string, std::string> types;  // family -> counter|gauge
  std::map<std::string, int> help_count, type_count;
  std::map<std::string, std::string> samples;  // "name{labels}" -> value
  std::vector<std::string> bad_lines;
};

// A strict reader of the text format, written from the format's description (not from our writer):
// comment lines are "# HELP name text" / "# TYPE name type"; sample lines are
// name{label="value",...} value, label values with \\, \" and \n as the only escapes.
Parsed parse(const std::string& text) {
  Parsed parsed;
  std::istringstream in(text);
  std::string line;
  const std::regex name_re("[a-zA-Z_:][a-zA-Z0-9_:]*");
  const std::regex sample_re(R"re(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\})? (-?[0-9]+(?:\.[0-9]+)?))re");
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      const bool help = line[2] == 'H';
      const size_t space = line.find(' ', 7);
      const std::string name = line.substr(7, space - 7);
      if (!std::regex_match(name, name_re) || space == std::string::npos) parsed.bad_lines.push_back(line);
      if (help) {
        ++parsed.help_count[name];
      } else {
        ++parsed.type_count[name];
        parsed.types[name] = line.substr(space + 1);
      }
      continue;
    }
    std::smatch match;
    if (!std::regex_match(line, match, sample_re)) {
      parsed.bad_lines.push_back(line);
      continue;
    }
    parsed.samples[match[1].str() + (match[2].matched ? match[2].str() : "")] = match[4].str();
    if (!parsed.types.count(match[1].str())) parsed.bad_lines.push_back("no TYPE before: " + line);
  }
  return parsed;
}

Rule make_rule(uint32_t sid, const std::string& msg) {
  Rule rule;
  rule.gid = 1;
  rule.sid = sid;
  rule.rev = 3;
  rule.msg = msg;
  return rule;
}

}  // namespace

TEST_CASE("escape_label_value: backslash, double quote and newline, nothing else", "[metrics]") {
  CHECK(escape_label_value("plain text") == "plain text");
  CHECK(escape_label_value(R"(a "quoted" \ path)") == R"(a \"quoted\" \\ path)");
  CHECK(escape_label_value("two\nlines") == "two\\nlines");
  CHECK(escape_label_value("tab\tstays") == "tab\tstays");
  CHECK(escape_label_value("\\n") == "\\\\n");  // a backslash followed by n is not a newline
  CHECK(escape_help("a \"quote\" stays\nand \\") == "a \"quote\" stays\\nand \\\\");
}

TEST_CASE("metric_name and is_gauge_stat", "[metrics]") {
  CHECK(metric_name("capture.ring-drops") == "eastwatch_capture_ring_drops");
  CHECK(metric_name("app_layer.flow.http") == "eastwatch_app_layer_flow_http");
  CHECK(is_gauge_stat("flow.active"));
  CHECK(is_gauge_stat("tcp.memuse"));
  CHECK(is_gauge_stat("tcp.reassembly_memuse"));
  CHECK(is_gauge_stat("decoder.max_pkt_size"));
  CHECK(is_gauge_stat("flow.spare"));
  CHECK_FALSE(is_gauge_stat("decoder.pkts"));
  CHECK_FALSE(is_gauge_stat("flow.memcap"));
  CHECK_FALSE(is_gauge_stat("detect.alert"));
  CHECK(is_gauge_stat("app_layer.http.states_in_use"));
  CHECK(is_gauge_stat("tcp.active_sessions"));
  CHECK_FALSE(is_gauge_stat("defrag.max_frags_reached"));  // events, not a maximum
  CHECK_FALSE(is_gauge_stat("defrag.max_trackers_reached"));
}

TEST_CASE("format_metrics: a valid exposition with bounded, escaped alert series", "[metrics]") {
  AlertTally tally(2, 1, 1);  // two signatures, one zone pair, one VM pair: the rest go to "other"
  const Rule tricky = make_rule(1001, "ET \"quoted\" C:\\path\nsecond line");
  const Rule plain = make_rule(1002, "plain");
  const Rule third = make_rule(1003, "third");
  AlertEvent event{};
  event.rule = &tricky;
  event.has_vm = true;
  event.vm.src.known = event.vm.dest.known = true;
  event.vm.src.zone.set("dmz");
  event.vm.dest.zone.set("db");
  event.vm.src.name.set("web-01");
  event.vm.dest.name.set("db-01");
  tally.count(event);
  tally.count(event);
  event.rule = &plain;
  event.vm.dest.zone.set("app");  // a second zone pair (and VM pair): past the cap of one
  event.vm.dest.name.set("app-01");
  tally.count(event);
  event.rule = &third;  // a third signature: past the cap of two
  event.has_vm = false;
  tally.count(event);

  LiveSnapshot snapshot;
  snapshot.running = true;
  snapshot.workers = 2;
  snapshot.stats.uptime_seconds = 42;
  snapshot.stats.eve = {{"capture.kernel_packets", 100}, {"capture.kernel_drops", 7}, {"decoder.pkts", 93},
                        {"decoder.bytes", 9300},       {"decoder.invalid", 2},      {"flow.active", 5},
                        {"flow.spare", 995},           {"flow.memcap", 1},          {"tcp.ssn_memcap_drop", 4},
                        {"tcp.memuse", 65536},         {"detect.alert", 4}};
  snapshot.stats.extra = {{"capture.ring-drops", 3}, {"defrag.memcap_dropped", 0}};
  snapshot.alerts = tally.copy();
  snapshot.sinks.push_back({"redis", 12, 40, 8, 2048, 1, 2, true});
  snapshot.control.rules_loaded = 24740;
  snapshot.control.rules_failed = 87;
  snapshot.control.reloads = 2;
  snapshot.control.reload_failures = 1;
  snapshot.control.last_reload_unix = 1800000000;
  snapshot.control.last_reload_ok = false;

  const std::string text = format_metrics(snapshot, "1.2.3");
  const Parsed parsed = parse(text);
  INFO(text);
  CHECK(parsed.bad_lines.empty());
  for (const auto& [name, count] : parsed.type_count) {
    INFO(name);
    CHECK(count == 1);
    CHECK(parsed.help_count.at(name) == 1);
    // Counters end in _total, gauges do not.
    CHECK((parsed.types.at(name) == "counter") == name.ends_with("_total"));
  }
  CHECK(parsed.samples.at("eastwatch_kernel_drops_total") == "7");
  CHECK(parsed.samples.at("eastwatch_packets_total") == "93");
  CHECK(parsed.samples.at("eastwatch_ring_drops_total") == "3");
  CHECK(parsed.samples.at("eastwatch_decode_errors_total") == "2");
  CHECK(parsed.samples.at("eastwatch_flows_active") == "5");
  CHECK(parsed.types.at("eastwatch_flows_active") == "gauge");
  CHECK(parsed.samples.at("eastwatch_memcap_hits_total{table=\"flow\"}") == "1");
  CHECK(parsed.samples.at("eastwatch_memcap_hits_total{table=\"tcp_session\"}") == "4");
  CHECK(parsed.samples.at("eastwatch_memcap_hits_total{table=\"defrag\"}") == "0");
  CHECK(parsed.samples.count("eastwatch_memcap_hits_total{table=\"http\"}") == 0);  // not in the snapshot
  CHECK(parsed.samples.at("eastwatch_alerts_total") == "4");
  CHECK(parsed.samples.at(R"(eastwatch_alerts_by_signature_total{gid="1",sid="1001",rev="3",signature="ET \"quoted\" C:\\path\nsecond line"})") == "2");
  CHECK(parsed.samples.at(R"(eastwatch_alerts_by_signature_total{gid="1",sid="1002",rev="3",signature="plain"})") == "1");
  CHECK(parsed.samples.at(R"(eastwatch_alerts_by_signature_total{gid="other",sid="other",rev="other",signature="other"})") == "1");
  CHECK(parsed.samples.at(R"(eastwatch_alerts_by_zone_total{src_zone="dmz",dest_zone="db"})") == "2");
  CHECK(parsed.samples.at(R"(eastwatch_alerts_by_zone_total{src_zone="other",dest_zone="other"})") == "2");
  CHECK(parsed.samples.at(R"(eastwatch_alerts_by_vm_total{src_vm="web-01",dest_vm="db-01"})") == "2");
  CHECK(parsed.samples.at(R"(eastwatch_alerts_by_vm_total{src_vm="other",dest_vm="other"})") == "2");
  CHECK(parsed.samples.at(R"(eastwatch_sink_backlog_records{sink="redis"})") == "12");
  CHECK(parsed.samples.at(R"(eastwatch_sink_spool_bytes{sink="redis"})") == "2048");
  CHECK(parsed.samples.at(R"(eastwatch_sink_connected{sink="redis"})") == "1");
  CHECK(parsed.samples.at("eastwatch_rules_loaded") == "24740");
  CHECK(parsed.samples.at("eastwatch_reload_failures_total") == "1");
  CHECK(parsed.samples.at("eastwatch_last_reload_success") == "0");
  CHECK(parsed.samples.at("eastwatch_last_reload_timestamp_seconds") == "1800000000");
  CHECK(parsed.samples.at("eastwatch_uptime_seconds") == "42");
  CHECK(parsed.samples.at("eastwatch_build_info{version=\"1.2.3\"}") == "1");
  // Every counter also under its own name.
  CHECK(parsed.samples.at("eastwatch_capture_ring_drops_total") == "3");
  CHECK(parsed.samples.at("eastwatch_tcp_memuse") == "65536");
  CHECK(parsed.types.at("eastwatch_tcp_memuse") == "gauge");
  CHECK(parsed.samples.at("eastwatch_detect_alert_total") == "4");
}

TEST_CASE("MetricsServer: GET /metrics on a free port, 404 elsewhere, a busy port refused", "[metrics]") {
  int calls = 0;
  auto server = MetricsServer::start("127.0.0.1:0", [&calls] {
    ++calls;
    return std::string("# HELP eastwatch_x X\n# TYPE eastwatch_x gauge\neastwatch_x 1\n");
  });
  REQUIRE(server);
  REQUIRE((*server)->port() != 0);
  httplib::Client client("127.0.0.1", (*server)->port());
  auto response = client.Get("/metrics");
  REQUIRE(response);
  CHECK(response->status == 200);
  CHECK(response->get_header_value("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(response->body == "# HELP eastwatch_x X\n# TYPE eastwatch_x gauge\neastwatch_x 1\n");
  CHECK(calls == 1);
  auto missing = client.Get("/");
  REQUIRE(missing);
  CHECK(missing->status == 404);
  auto busy = MetricsServer::start("127.0.0.1:" + std::to_string((*server)->port()), [] { return std::string(); });
  REQUIRE_FALSE(busy);
  CHECK(busy.error().find("cannot listen on '127.0.0.1:") != std::string::npos);
  (*server)->stop();
  CHECK_FALSE(client.Get("/metrics"));  // stopped: nothing listens
}

TEST_CASE("MetricsServer: an IPv6 listen address in brackets", "[metrics]") {
  auto server = MetricsServer::start("[::1]:0", [] { return std::string("eastwatch_x 1\n"); });
  if (!server) {  // a host without IPv6 loopback
    WARN("no [::1]: " << server.error());
    return;
  }
  CHECK((*server)->host() == "::1");
  httplib::Client client("::1", (*server)->port());
  auto response = client.Get("/metrics");
  REQUIRE(response);
  CHECK(response->body == "eastwatch_x 1\n");
}

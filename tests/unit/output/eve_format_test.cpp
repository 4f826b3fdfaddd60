#include <cstdlib>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <rapidjson/document.h>

#include "sensor/output/eve_format.hpp"

using namespace eastwatch;

namespace {

struct UtcZone {
  UtcZone() {
    setenv("TZ", "UTC", 1);
    tzset();
  }
};
const UtcZone utc_zone;

Rule sample_rule() {
  Rule rule;
  rule.gid = 1;
  rule.sid = 9000010;
  rule.rev = 3;
  rule.msg = "EASTWATCH test \"quoted\" message";
  rule.category = "Attempted Administrator Privilege Gain";
  rule.priority = 1;
  rule.metadata = {"created_at 2026_11_20", "attack_target Server", "created_at 2026_11_21"};
  return rule;
}

AlertEvent sample_event(const Rule& rule) {
  AlertEvent event;
  event.rule = &rule;
  event.ts_usec = 1700000000012999;  // 2023-11-14T22:13:20.012999 UTC
  event.pcap_cnt = 14;
  event.src = *IpAddress::parse("10.20.0.11");
  event.dst = *IpAddress::parse("10.20.0.12");
  event.src_port = 41234;
  event.dst_port = 8080;
  event.ip_version = 4;
  event.ip_proto = 6;
  event.has_flow = true;
  event.flow_id = 1191513640613311;
  event.flow_start_usec = 1700000000000000;
  event.pkts_toserver = 4;
  event.pkts_toclient = 2;
  event.bytes_toserver = 612;
  event.bytes_toclient = 148;
  event.flow_src = event.src;
  event.flow_dst = event.dst;
  event.flow_src_port = 41234;
  event.flow_dst_port = 8080;
  event.to_server = true;
  const std::string payload = "GET /x HTTP/1.1\r\n\x01";
  event.payload_len = static_cast<uint32_t>(payload.size());
  std::memcpy(event.payload, payload.data(), payload.size());
  return event;
}

rapidjson::Document parse(std::string_view line) {
  rapidjson::Document doc;
  doc.Parse(line.data(), line.size());
  REQUIRE_FALSE(doc.HasParseError());
  return doc;
}

}  // namespace

TEST_CASE("EVE timestamps use Suricata's format") {
  CHECK(format_eve_timestamp(1700000000012999) == "2023-11-14T22:13:20.012999+0000");
  CHECK(format_eve_timestamp(1700000000000000) == "2023-11-14T22:13:20.000000+0000");
  CHECK(format_fast_timestamp(1700000000012999) == "11/14/2023-22:13:20.012999");
}

TEST_CASE("protocol names follow Suricata") {
  CHECK(protocol_name(6) == "TCP");
  CHECK(protocol_name(17) == "UDP");
  CHECK(protocol_name(1) == "ICMP");
  CHECK(protocol_name(58) == "IPv6-ICMP");
  CHECK(protocol_name(250) == "250");
}

TEST_CASE("an alert record has Suricata's fields and values") {
  const Rule rule = sample_rule();
  const AlertEvent event = sample_event(rule);
  EveFormatter formatter("esx-01-sensor", EveSettings{});
  const auto doc = parse(formatter.alert(event));
  CHECK(std::string(doc["timestamp"].GetString()) == "2023-11-14T22:13:20.012999+0000");
  CHECK(doc["flow_id"].GetUint64() == 1191513640613311);
  CHECK(doc["pcap_cnt"].GetUint64() == 14);
  CHECK(std::string(doc["event_type"].GetString()) == "alert");
  CHECK(std::string(doc["src_ip"].GetString()) == "10.20.0.11");
  CHECK(doc["src_port"].GetUint() == 41234);
  CHECK(std::string(doc["dest_ip"].GetString()) == "10.20.0.12");
  CHECK(doc["dest_port"].GetUint() == 8080);
  CHECK(std::string(doc["proto"].GetString()) == "TCP");
  CHECK(std::string(doc["direction"].GetString()) == "to_server");
  CHECK(std::string(doc["host"].GetString()) == "esx-01-sensor");
  CHECK_FALSE(doc.HasMember("vlan"));
  CHECK_FALSE(doc.HasMember("payload"));
  const auto& alert = doc["alert"];
  CHECK(std::string(alert["action"].GetString()) == "allowed");
  CHECK(alert["gid"].GetUint() == 1);
  CHECK(alert["signature_id"].GetUint() == 9000010);
  CHECK(alert["rev"].GetUint() == 3);
  CHECK(std::string(alert["signature"].GetString()) == "EASTWATCH test \"quoted\" message");
  CHECK(std::string(alert["category"].GetString()) == "Attempted Administrator Privilege Gain");
  CHECK(alert["severity"].GetInt() == 1);
  // Suricata groups metadata values by key, in first-seen order.
  REQUIRE(alert["metadata"]["created_at"].Size() == 2);
  CHECK(std::string(alert["metadata"]["created_at"][1].GetString()) == "2026_11_21");
  CHECK(std::string(alert["metadata"]["attack_target"][0].GetString()) == "Server");
  const auto& flow = doc["flow"];
  CHECK(flow["pkts_toserver"].GetUint64() == 4);
  CHECK(flow["bytes_toclient"].GetUint64() == 148);
  CHECK(std::string(flow["start"].GetString()) == "2023-11-14T22:13:20.000000+0000");
}

TEST_CASE("alert records for VLAN and ICMP and IPv6 and evidence") {
  const Rule rule = sample_rule();
  AlertEvent event = sample_event(rule);
  EveSettings settings;
  settings.alert_payload = settings.alert_payload_printable = settings.alert_packet = true;
  EveFormatter formatter("", settings);

  event.vlan_count = 2;
  event.vlan_id[0] = 20;
  event.vlan_id[1] = 300;
  event.ip_proto = 1;
  event.icmp_type = 8;
  event.icmp_code = 0;
  event.packet_len = 3;
  event.packet[0] = 0xde;
  event.packet[1] = 0xad;
  event.packet[2] = 0xbe;
  auto doc = parse(formatter.alert(event));
  REQUIRE(doc["vlan"].Size() == 2);
  CHECK(doc["vlan"][1].GetUint() == 300);
  CHECK(std::string(doc["proto"].GetString()) == "ICMP");
  CHECK_FALSE(doc.HasMember("src_port"));
  CHECK(doc["icmp_type"].GetUint() == 8);
  CHECK_FALSE(doc.HasMember("host"));  // no sensor name configured
  CHECK(std::string(doc["payload"].GetString()) == "R0VUIC94IEhUVFAvMS4xDQoB");
  CHECK(std::string(doc["payload_printable"].GetString()) == "GET /x HTTP/1.1\r\n.");
  CHECK(std::string(doc["packet"].GetString()) == "3q2+");
  CHECK(doc["packet_info"]["linktype"].GetUint() == 1);

  event.ip_proto = 58;
  event.src = *IpAddress::parse("2001:db8::11");
  doc = parse(formatter.alert(event));
  CHECK(std::string(doc["proto"].GetString()) == "IPv6-ICMP");
  CHECK(std::string(doc["src_ip"].GetString()) == IpAddress::parse("2001:db8::11")->to_string());
}

TEST_CASE("target names alert.source and alert.target") {
  Rule rule = sample_rule();
  rule.target = Rule::Target::DestIp;
  const AlertEvent event = sample_event(rule);
  EveFormatter formatter("", EveSettings{});
  const auto doc = parse(formatter.alert(event));
  CHECK(std::string(doc["alert"]["target"]["ip"].GetString()) == "10.20.0.12");
  CHECK(doc["alert"]["target"]["port"].GetUint() == 8080);
  CHECK(std::string(doc["alert"]["source"]["ip"].GetString()) == "10.20.0.11");
  rule.target = Rule::Target::SrcIp;
  const auto flipped = parse(formatter.alert(event));
  CHECK(std::string(flipped["alert"]["target"]["ip"].GetString()) == "10.20.0.11");
}

TEST_CASE("fast.log lines follow Suricata's format") {
  const Rule rule = sample_rule();
  const AlertEvent event = sample_event(rule);
  EveFormatter formatter("", EveSettings{});
  CHECK(std::string(formatter.fast_log_line(event)) ==
        "11/14/2023-22:13:20.012999  [**] [1:9000010:3] EASTWATCH test \"quoted\" message [**] "
        "[Classification: Attempted Administrator Privilege Gain] [Priority: 1] {TCP} 10.20.0.11:41234 -> "
        "10.20.0.12:8080");
}

TEST_CASE("a stats record nests dotted counter names") {
  StatsSnapshot snapshot;
  snapshot.ts_usec = 1700000000000000;
  snapshot.uptime_seconds = 7;
  snapshot.eve = {{"decoder.pkts", 10}, {"decoder.event.ipv4.trunc_pkt", 2}, {"decoder.invalid", 2},
                  {"flow.mgr.flows_timeout", 1}, {"detect.alert", 3}};
  snapshot.extra = {{"detect.scans", 8}};
  EveFormatter formatter("s1", EveSettings{});
  const auto doc = parse(formatter.stats(snapshot));
  CHECK(std::string(doc["event_type"].GetString()) == "stats");
  const auto& stats = doc["stats"];
  CHECK(stats["uptime"].GetUint64() == 7);
  CHECK(stats["decoder"]["pkts"].GetUint64() == 10);
  CHECK(stats["decoder"]["invalid"].GetUint64() == 2);
  CHECK(stats["decoder"]["event"]["ipv4"]["trunc_pkt"].GetUint64() == 2);
  CHECK(stats["flow"]["mgr"]["flows_timeout"].GetUint64() == 1);
  CHECK(stats["detect"]["alert"].GetUint64() == 3);
  CHECK_FALSE(stats["detect"].HasMember("scans"));  // Eastwatch-only: stats.log, not EVE

  const std::string log = format_stats_log(snapshot);
  CHECK(log.find("detect.scans") != std::string::npos);
  CHECK(log.find("decoder.event.ipv4.trunc_pkt") != std::string::npos);
}

TEST_CASE("every record kind validates against Suricata's EVE schema") {
  const std::string schema = std::string(EASTWATCH_SOURCE_DIR) + "/../shared/reference/suricata-eve-schema.json";
  if (std::system("/usr/bin/python3 -c 'import jsonschema' 2>/dev/null") != 0 || !std::ifstream(schema)) {
    WARN("skipped: needs /usr/bin/python3 with jsonschema and ../shared/reference");
    return;
  }
  const Rule rule = sample_rule();
  AlertEvent event = sample_event(rule);
  EveSettings settings;
  settings.alert_payload = settings.alert_payload_printable = settings.alert_packet = true;
  EveFormatter plain("s1", EveSettings{});
  EveFormatter evidence("s1", settings);
  const std::string path = std::string(EASTWATCH_BINARY_DIR) + "/eve_schema_test.json";
  std::ofstream out(path);
  out << plain.alert(event) << "\n" << evidence.alert(event) << "\n";
  Rule targeted = sample_rule();
  targeted.target = Rule::Target::DestIp;
  AlertEvent targeted_event = sample_event(targeted);
  out << plain.alert(targeted_event) << "\n";
  event.vlan_count = 1;
  event.vlan_id[0] = 20;
  event.ip_proto = 1;
  event.src = *IpAddress::parse("2001:db8::1");
  out << evidence.alert(event) << "\n";
  event.has_flow = false;
  out << plain.alert(event) << "\n";
  StatsSnapshot snapshot;
  snapshot.eve = {{"capture.kernel_packets", 1}, {"decoder.pkts", 1}, {"decoder.invalid", 0},
                  {"flow.total", 1}, {"flow.mgr.flows_timeout", 0}, {"detect.alert", 1}};
  out << plain.stats(snapshot) << "\n";
  out.close();
  const std::string command = "/usr/bin/python3 " + std::string(EASTWATCH_SOURCE_DIR) +
                              "/tests/tools/validate_eve.py " + schema + " " + path;
  CHECK(std::system(command.c_str()) == 0);
}

TEST_CASE("alert.references lists the rule's references as URLs when switched on") {
  Rule rule = sample_rule();
  rule.reference_urls = {"http://cve.mitre.org/cgi-bin/cvename.cgi?name=2021-44228", "http://example.com/x"};
  const AlertEvent event = sample_event(rule);
  CHECK_FALSE(parse(EveFormatter("s", EveSettings{}).alert(event))["alert"].HasMember("references"));
  EveSettings settings;
  settings.alert_references = true;
  const auto doc = parse(EveFormatter("s", settings).alert(event));
  REQUIRE(doc["alert"]["references"].Size() == 2);
  CHECK(std::string(doc["alert"]["references"][0].GetString()) ==
        "http://cve.mitre.org/cgi-bin/cvename.cgi?name=2021-44228");
}

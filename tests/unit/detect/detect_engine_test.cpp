#include <algorithm>
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>

#include "sensor/detect/detect_engine.hpp"
#include "tests/unit/detect/detect_harness.hpp"
#include "sensor/flow/flow.hpp"
#include "signatures/rule_parser.hpp"

using namespace eastwatch;
using eastwatch::test::Engine;
using eastwatch::test::TestPacket;


TEST_CASE("the fast pattern selects candidates and the full chain verifies them") {
  Engine e(R"(alert tcp any any -> any any (msg:"a"; content:"GET"; depth:3; content:"/admin"; sid:1;)
alert tcp any any -> any any (msg:"b"; content:"GET"; offset:1; content:"/admin"; sid:2;)
alert tcp any any -> any any (msg:"c"; content:"/admin"; fast_pattern:only; sid:3;)
alert tcp any any -> any any (msg:"d"; content:"dmi"; fast_pattern; content:"GET"; depth:3; sid:4;)
)");
  TestPacket p("10.0.0.1", 1000, "10.0.0.2", 80, "GET /admin HTTP/1.1");
  CHECK(e.sids(p.packet) == std::vector<uint32_t>{1, 3, 4});
  CHECK(e.thread->counters().alert == 3);
  CHECK(e.thread->counters().scans == 1);
}

TEST_CASE("fast_pattern chop selects by the chopped literal and verifies the whole content") {
  Engine e(R"(alert tcp any any -> any any (content:"XXXabcYYY"; fast_pattern:3,3; sid:1;))");
  TestPacket hit("10.0.0.1", 1, "10.0.0.2", 2, "..XXXabcYYY..");
  TestPacket partial("10.0.0.1", 1, "10.0.0.2", 2, "..abc..");
  CHECK(e.sids(hit.packet) == std::vector<uint32_t>{1});
  CHECK(e.sids(partial.packet).empty());
}

TEST_CASE("rules without content match every packet whose header matches") {
  Engine e(R"(alert tcp 10.0.0.0/8 any -> any 80 (sid:1;)
alert udp any any -> any any (sid:2;)
alert ip any any -> any any (sid:3;)
alert icmp any any -> any any (sid:4;)
)");
  TestPacket tcp("10.0.0.1", 1000, "10.0.0.2", 80, "");
  CHECK(e.sids(tcp.packet) == std::vector<uint32_t>{1, 3});
  TestPacket udp("10.0.0.1", 1000, "10.0.0.2", 53, "q", 17);
  CHECK(e.sids(udp.packet) == std::vector<uint32_t>{2, 3});
  TestPacket icmp6("10.0.0.1", 0, "10.0.0.2", 0, "", 58);
  CHECK(e.sids(icmp6.packet) == std::vector<uint32_t>{3, 4});  // Suricata's icmp covers ICMPv6
}

TEST_CASE("content rules never match an empty payload - negated-only rules need a payload too") {
  Engine e(R"(alert tcp any any -> any any (content:!"x"; sid:1;))");
  TestPacket empty("10.0.0.1", 1, "10.0.0.2", 2, "");
  TestPacket data("10.0.0.1", 1, "10.0.0.2", 2, "abc");
  TestPacket has_x("10.0.0.1", 1, "10.0.0.2", 2, "axc");
  CHECK(e.sids(empty.packet).empty());
  CHECK(e.sids(data.packet) == std::vector<uint32_t>{1});
  CHECK(e.sids(has_x.packet).empty());
}

TEST_CASE("addresses and ports and negation and bidirectional rules") {
  Engine e(R"(alert tcp $HOME_NET any -> $EXTERNAL_NET 443 (content:"x"; sid:1;)
alert tcp any ![1:1023] -> any any (content:"x"; sid:2;)
alert tcp 10.0.0.2 80 <> 10.0.0.1 any (content:"x"; sid:3;)
alert tcp 10.0.0.2 80 -> 10.0.0.1 any (content:"x"; sid:4;)
alert tcp [10.0.0.0/8,!10.0.0.1] any -> any any (content:"x"; sid:5;)
)");
  TestPacket out("10.0.0.1", 5000, "8.8.8.8", 443, "x");
  CHECK(e.sids(out.packet) == std::vector<uint32_t>{1, 2});
  TestPacket to_server("10.0.0.1", 5000, "10.0.0.2", 80, "x");
  CHECK(e.sids(to_server.packet) == std::vector<uint32_t>{2, 3});
  TestPacket to_client("10.0.0.2", 80, "10.0.0.1", 5000, "x");
  CHECK(e.sids(to_client.packet) == std::vector<uint32_t>{3, 4, 5});
}

TEST_CASE("a non-first fragment is seen by ip rules only") {
  Engine e(R"(alert tcp any any -> any any (content:"frag"; sid:1;)
alert ip any any -> any any (content:"frag"; sid:2;)
alert ip any 80 -> any any (content:"frag"; sid:3;)
)");
  TestPacket p("10.0.0.1", 0, "10.0.0.2", 0, "..frag..");
  p.packet.has_transport = false;
  p.packet.ip_fragment = true;
  CHECK(e.sids(p.packet) == std::vector<uint32_t>{2});
}

TEST_CASE("order: pass first and then by priority and then load order - pass silences what follows") {
  Engine e(R"(alert tcp any any -> any any (content:"x"; priority:3; sid:1;)
alert tcp any any -> any any (content:"x"; priority:1; sid:2;)
alert tcp any any -> any any (content:"x"; priority:3; sid:3;)
pass tcp any any -> any any (content:"skip"; sid:4;)
)");
  TestPacket p("10.0.0.1", 1, "10.0.0.2", 2, "x");
  CHECK(e.sids(p.packet) == std::vector<uint32_t>{2, 1, 3});
  TestPacket passed("10.0.0.1", 1, "10.0.0.2", 2, "x skip");
  CHECK(e.sids(passed.packet).empty());
}

TEST_CASE("once per packet per rule and and at most max-alerts-per-packet") {
  Engine e(R"(alert tcp any any -> any any (content:"a"; sid:1;)
alert tcp any any -> any any (content:"a"; sid:2;)
alert tcp any any -> any any (content:"a"; sid:3;)
)", 2);
  TestPacket p("10.0.0.1", 1, "10.0.0.2", 2, "a a a a");
  CHECK(e.sids(p.packet) == std::vector<uint32_t>{1, 2});
  CHECK(e.thread->counters().alert_queue_overflow == 1);
}

TEST_CASE("alert events carry packet and flow facts") {
  Engine e(R"(alert tcp any any -> any any (content:"a"; sid:1;))");
  TestPacket p("10.0.0.1", 1, "10.0.0.2", 2, "a");
  Flow flow;
  flow.flow_id = 77;
  flow.key.client = p.packet.dst;
  flow.key.server = p.packet.src;
  flow.pkts_toserver = 4;
  p.packet.flow = &flow;
  p.packet.to_server = false;
  p.packet.vlan_count = 1;
  p.packet.vlan_id[0] = 20;
  REQUIRE(e.engine->inspect(p.packet, *e.thread, e.out) == 1);
  const AlertEvent& a = e.out[0];
  CHECK(a.pcap_cnt == 7);
  CHECK(a.has_flow);
  CHECK(a.flow_id == 77);
  CHECK(a.pkts_toserver == 4);
  CHECK_FALSE(a.to_server);
  CHECK(a.flow_src == p.packet.dst);
  CHECK(a.vlan_count == 1);
  CHECK(a.vlan_id[0] == 20);
  CHECK(a.payload_len == 0);  // evidence off by default
}

TEST_CASE("the content rules of ET Open compile into Hyperscan") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(EASTWATCH_SOURCE_DIR) / ".." / "shared" / "rules" / "et-open";
  if (!fs::exists(dir)) {
    WARN("skipped: " << dir << " is absent");
    return;
  }
  std::vector<std::string> paths;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".rules") paths.push_back(entry.path().string());
  }
  auto loaded = load_rule_files(paths, RuleVariables::with_suricata_defaults(), nullptr);
  const size_t count = loaded.rules.size();
  auto compiled = compile_rules(std::move(loaded.rules));
  REQUIRE(compiled);
  CHECK((*compiled)->stats().rules == count);
  WARN("ET Open rules usable today: " << count << ", distinct fast patterns " << (*compiled)->stats().patterns
                                      << ", compiled in " << (*compiled)->stats().compile_seconds << " s");
}

TEST_CASE("flowbits: set on one packet, checked on later packets of the same flow only") {
  Engine e(R"(alert tcp any any -> any any (msg:"login seen"; content:"USER"; flowbits:set,logged; flowbits:noalert; sid:1;)
alert tcp any any -> any any (msg:"command after login"; content:"RETR"; flowbits:isset,logged; sid:2;)
alert tcp any any -> any any (msg:"command without login"; content:"RETR"; flowbits:isnotset,logged; sid:3;)
alert tcp any any -> any any (msg:"logout"; content:"QUIT"; flowbits:unset,logged; flowbits:noalert; sid:4;)
)");
  Flow flow_a;
  Flow flow_b;
  TestPacket user("10.0.0.1", 1, "10.0.0.2", 21, "USER bob");
  user.packet.flow = &flow_a;
  CHECK(e.sids(user.packet).empty());  // noalert
  CHECK(flow_a.flowbit_count == 1);
  TestPacket retr("10.0.0.1", 1, "10.0.0.2", 21, "RETR x");
  retr.packet.flow = &flow_a;
  CHECK(e.sids(retr.packet) == std::vector<uint32_t>{2});
  retr.packet.flow = &flow_b;  // another flow never saw the login
  CHECK(e.sids(retr.packet) == std::vector<uint32_t>{3});
  TestPacket quit("10.0.0.1", 1, "10.0.0.2", 21, "QUIT");
  quit.packet.flow = &flow_a;
  CHECK(e.sids(quit.packet).empty());
  retr.packet.flow = &flow_a;
  CHECK(e.sids(retr.packet) == std::vector<uint32_t>{3});
}

TEST_CASE("flowbits: a setter runs before a reader on the same packet, whatever the load order") {
  Engine e(R"(alert tcp any any -> any any (msg:"reader"; content:"x"; flowbits:isset,b; sid:1;)
alert tcp any any -> any any (msg:"setter"; content:"x"; flowbits:set,b; sid:2;)
alert tcp any any -> any any (msg:"any of"; content:"x"; flowbits:isset,nope|b; sid:3;)
alert tcp any any -> any any (msg:"all of"; content:"x"; flowbits:isset,nope&b; sid:4;)
alert tcp any any -> any any (msg:"toggle"; content:"y"; flowbits:toggle,t; sid:5;)
alert tcp any any -> any any (msg:"t is set"; content:"z"; flowbits:isset,t; sid:6;)
)");
  Flow flow;
  TestPacket p("10.0.0.1", 1, "10.0.0.2", 2, "x");
  p.packet.flow = &flow;
  CHECK(e.sids(p.packet) == std::vector<uint32_t>{2, 1, 3});
  TestPacket toggle("10.0.0.1", 1, "10.0.0.2", 2, "y");
  toggle.packet.flow = &flow;
  TestPacket check("10.0.0.1", 1, "10.0.0.2", 2, "z");
  check.packet.flow = &flow;
  e.sids(toggle.packet);
  CHECK(e.sids(check.packet) == std::vector<uint32_t>{6});
  e.sids(toggle.packet);
  CHECK(e.sids(check.packet).empty());
}

TEST_CASE("flowbits beyond a flow's capacity are counted, not lost silently") {
  std::string rules;
  for (int i = 0; i < Flow::kMaxFlowbits + 2; ++i) {
    rules += "alert tcp any any -> any any (content:\"x\"; flowbits:set,bit" + std::to_string(i) +
             "; flowbits:noalert; sid:" + std::to_string(i + 1) + ";)\n";
  }
  Engine e(rules);
  Flow flow;
  TestPacket p("10.0.0.1", 1, "10.0.0.2", 2, "x");
  p.packet.flow = &flow;
  e.sids(p.packet);
  CHECK(flow.flowbit_count == Flow::kMaxFlowbits);
  CHECK(e.thread->counters().flowbits_dropped == 2);
}

TEST_CASE("rules without fast pattern are found through the address index, bidirectional ones both ways") {
  std::string rules;
  // 150 reputation-style rules over distinct /24s, plus header-only and bidirectional ones.
  for (int i = 0; i < 150; ++i) {
    rules += "alert ip [203.0." + std::to_string(i) + ".0/24,198.51.100." + std::to_string(i) +
             "] any -> $HOME_NET any (sid:" + std::to_string(1000 + i) + ";)\n";
  }
  rules += "alert tcp any any -> any 22 (flags:S; sid:2;)\n";
  rules += "alert ip 192.0.2.7 any <> $HOME_NET any (sid:3;)\n";
  Engine e(rules);
  TestPacket from_bad("203.0.42.9", 1, "10.0.0.2", 80, "x");
  CHECK(e.sids(from_bad.packet) == std::vector<uint32_t>{1042});
  TestPacket single("198.51.100.149", 1, "10.0.0.2", 80, "x");
  CHECK(e.sids(single.packet) == std::vector<uint32_t>{1149});
  TestPacket outbound("10.0.0.2", 1, "203.0.42.9", 80, "x");  // reversed: not a match for -> rules
  CHECK(e.sids(outbound.packet).empty());
  TestPacket ssh("10.0.0.1", 5000, "10.0.0.2", 22, "");
  ssh.packet.tcp_flags = 0x02;
  CHECK(e.sids(ssh.packet) == std::vector<uint32_t>{2});
  TestPacket bidir_out("10.0.0.2", 1, "192.0.2.7", 80, "x");
  TestPacket bidir_in("192.0.2.7", 1, "10.0.0.2", 80, "x");
  CHECK(e.sids(bidir_out.packet) == std::vector<uint32_t>{3});
  CHECK(e.sids(bidir_in.packet) == std::vector<uint32_t>{3});
}

TEST_CASE("a matching pass rule passes the rest of its flow, as in Suricata") {
  Engine e(R"(pass tcp any any -> any any (content:"trusted-backup"; sid:1;)
alert tcp any any -> any any (content:"evil"; sid:2;)
)");
  Flow passed_flow;
  Flow other_flow;
  TestPacket hello("10.0.0.1", 1, "10.0.0.2", 2, "trusted-backup evil");
  hello.packet.flow = &passed_flow;
  CHECK(e.sids(hello.packet).empty());
  CHECK(passed_flow.passed);
  TestPacket later("10.0.0.1", 1, "10.0.0.2", 2, "evil");
  later.packet.flow = &passed_flow;
  CHECK(e.sids(later.packet).empty());
  CHECK(e.thread->counters().passed_packets == 1);
  later.packet.flow = &other_flow;
  CHECK(e.sids(later.packet) == std::vector<uint32_t>{2});
}

TEST_CASE("the Hyperscan cache: compile once, load after, never trust a corrupt file") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(EASTWATCH_BINARY_DIR) / "hs_cache_test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string text = R"(alert tcp any any -> any any (content:"alpha"; sid:1;)
alert udp any any -> any any (content:"beta"; nocase; sid:2;)
)";
  auto compile = [&]() {
    auto loaded = load_rule_text(text, "t.rules", RuleVariables::with_suricata_defaults(), nullptr);
    auto compiled = compile_rules(std::move(loaded.rules), CompileOptions{dir.string()});
    REQUIRE(compiled);
    return *compiled;
  };
  const auto cold = compile();
  // TCP (block and streaming mode) and UDP have patterns.
  CHECK(cold->stats().cache_misses == 3);
  CHECK(cold->stats().cache_hits == 0);
  const auto warm = compile();
  CHECK(warm->stats().cache_hits == 3);
  CHECK(warm->stats().cache_misses == 0);

  // The loaded databases match like the compiled ones.
  DetectSettings settings;
  DetectEngine engine(warm, settings, EveSettings{});
  auto thread = engine.make_thread();
  std::vector<AlertEvent> out(4);
  TestPacket p("10.0.0.1", 1, "10.0.0.2", 2, "..alpha..");
  REQUIRE(engine.inspect(p.packet, *thread, out) == 1);
  CHECK(out[0].rule->sid == 1);

  // A corrupt cache file is ignored (and replaced by a fresh compilation).
  for (const auto& entry : fs::directory_iterator(dir)) std::ofstream(entry.path(), std::ios::trunc) << "garbage";
  const auto recovered = compile();
  CHECK(recovered->stats().cache_misses == 3);
  CHECK(compile()->stats().cache_hits == 3);
}

TEST_CASE("signature groups by server port: a packet meets only the rules its ports can match") {
  Engine e(R"(alert tcp any any -> any 80 (content:"evil"; sid:1;)
alert tcp any 80 -> any any (content:"evil"; sid:2;)
alert tcp any any -> any any (content:"evil"; sid:3;)
alert tcp any any <> any 80 (content:"evil"; sid:4;)
alert tcp any any -> any 80 (flow:to_client; content:"evil"; sid:5;)
alert tcp any any -> any [1000:2000,!1500] (content:"evil"; sid:6;)
alert udp any any -> any 53 (content:"evil"; sid:7;)
)");
  const CompiledRuleSet& set = *e.rules;
  // To the server, keyed by destination port: 80 holds 1, 2 (any destination), 3 and 4;
  // 5 is to_client only. 4 (`<>` with one side any) can match whatever the port.
  CHECK(set.group(PrefilterGroupId::Tcp, true, 80).rule_count == 4);
  CHECK(set.group(PrefilterGroupId::Tcp, true, 443).rule_count == 3);  // 2, 3, 4
  CHECK(set.group(PrefilterGroupId::Tcp, true, 1500).rule_count == 3);
  CHECK(set.group(PrefilterGroupId::Tcp, true, 1501).rule_count == 4);  // and 6
  // To the client, keyed by source port: from 80 every TCP rule but 6 could match... and 6
  // too, its source being any; from 81 all but 2.
  CHECK(set.group(PrefilterGroupId::Tcp, false, 80).rule_count == 6);
  CHECK(set.group(PrefilterGroupId::Tcp, false, 81).rule_count == 5);
  CHECK(set.group(PrefilterGroupId::Udp, true, 53).rule_count == 1);
  CHECK(set.group(PrefilterGroupId::Udp, true, 54).rule_count == 0);

  TestPacket to_web("10.0.0.1", 40000, "10.0.0.2", 80, "an evil request");
  CHECK(e.sids(to_web.packet) == std::vector<uint32_t>{1, 3, 4});
  TestPacket to_other("10.0.0.1", 40000, "10.0.0.2", 443, "an evil request");
  const uint64_t before = e.thread->counters().prefilter_candidates;
  CHECK(e.sids(to_other.packet) == std::vector<uint32_t>{3});
  CHECK(e.thread->counters().prefilter_candidates - before == 3);  // 2, 3, 4: sid 1 was never a candidate
  Flow flow;
  TestPacket from_web("10.0.0.2", 80, "10.0.0.1", 40000, "an evil answer");
  from_web.packet.flow = &flow;
  from_web.packet.to_server = false;
  CHECK(e.sids(from_web.packet) == std::vector<uint32_t>{2, 3, 4});
  TestPacket odd("10.0.0.1", 40000, "10.0.0.2", 1777, "evil");
  CHECK(e.sids(odd.packet) == std::vector<uint32_t>{3, 6});
}

TEST_CASE("signature groups never hide a rule: many port lists agree with each rule alone") {
  // More distinct port lists than kMaxPortGroups, so some ports share a merged group. Each
  // rule compiled alone is the reference for whether it matches.
  std::string text;
  std::vector<std::string> lines;
  uint32_t sid = 1;
  for (int i = 0; i < 200; ++i) {
    const int low = 100 + i * 37;
    std::string line;
    switch (i % 4) {
      case 0: line = "alert tcp any any -> any " + std::to_string(low); break;
      case 1: line = "alert tcp any " + std::to_string(low) + ":" + std::to_string(low + 90) + " -> any any"; break;
      case 2: line = "alert tcp any any <> any [" + std::to_string(low) + "," + std::to_string(low + 5) + "]"; break;
      default: line = "alert tcp any any -> any !" + std::to_string(low); break;
    }
    line += " (content:\"x" + std::to_string(i % 3) + "\"; sid:" + std::to_string(sid++) + ";)";
    lines.push_back(line);
    text += line + "\n";
  }
  Engine all(text, 1000);
  CHECK(all.rules->groups(PrefilterGroupId::Tcp).size() <= 2 * CompiledRuleSet::kMaxPortGroups);
  CHECK(all.rules->groups(PrefilterGroupId::Tcp).size() > CompiledRuleSet::kMaxPortGroups);  // merging happened
  std::vector<std::unique_ptr<Engine>> alone;
  for (const auto& line : lines) alone.push_back(std::make_unique<Engine>(line));
  Flow flow;
  uint32_t checked = 0;
  for (uint32_t sport : {80u, 100u, 137u, 150u, 211u, 1000u, 1580u, 5000u, 7500u, 40000u}) {
    for (uint32_t dport : {80u, 100u, 105u, 137u, 174u, 211u, 600u, 1543u, 1548u, 3800u, 6000u, 7499u, 40000u}) {
      for (bool to_server : {true, false}) {
        TestPacket p("10.0.0.1", static_cast<uint16_t>(sport), "10.0.0.2", static_cast<uint16_t>(dport), "x0 x1 x2");
        p.packet.flow = &flow;
        p.packet.to_server = to_server;
        std::vector<uint32_t> expected;
        for (auto& engine : alone) {
          for (uint32_t s : engine->sids(p.packet)) expected.push_back(s);
        }
        std::sort(expected.begin(), expected.end());
        auto got = all.sids(p.packet);
        std::sort(got.begin(), got.end());
        CHECK(got == expected);
        checked += expected.empty() ? 0 : 1;
      }
    }
  }
  CHECK(checked > 50);
}

TEST_CASE("a pcre without content is prefiltered by Hyperscan and confirmed by PCRE2") {
  Engine e(R"(alert tcp any any -> any any (pcre:"/user=(\w+)&pass=\1/"; sid:1;)
alert tcp any any -> any any (pcre:"/^GET \/[a-z]{3}\d+/i"; sid:2;)
alert tcp any any -> any any (pcre:!"/nothing/"; sid:3;)
)");
  CHECK(e.rules->stats().regex_prefilters == 2);  // the back-reference is approximated, the negation is not a prefilter
  CHECK(e.rules->stats().rules_without_fast_pattern == 1);
  TestPacket same("10.0.0.1", 1, "10.0.0.2", 2, "user=bob&pass=bob");
  CHECK(e.sids(same.packet) == std::vector<uint32_t>{1, 3});
  TestPacket different("10.0.0.1", 1, "10.0.0.2", 2, "user=bob&pass=eve");  // passes the prefilter only
  CHECK(e.sids(different.packet) == std::vector<uint32_t>{3});
  TestPacket get("10.0.0.1", 1, "10.0.0.2", 2, "get /abc123 HTTP/1.0");
  CHECK(e.sids(get.packet) == std::vector<uint32_t>{2, 3});
  TestPacket not_start("10.0.0.1", 1, "10.0.0.2", 2, "xGET /abc123");
  CHECK(e.sids(not_start.packet) == std::vector<uint32_t>{3});
}

TEST_CASE("application-layer conditions: header protocol, app-layer-protocol, Snort 3 service") {
  Engine e(R"(alert http any any -> any any (content:"evil"; sid:1;)
alert tcp any any -> any any (app-layer-protocol:!http; content:"evil"; sid:2;)
alert tcp any any -> any 80 (service:http; content:"evil"; sid:3;)
alert tcp any any -> any 80 (service:imap; content:"evil"; sid:4;)
alert dns any any -> any any (content:"evil"; sid:5;)
)");
  Flow flow;
  auto sids_with = [&](AppProto proto, uint16_t port, uint8_t ip_proto = 6) {
    flow.app_proto = static_cast<uint8_t>(proto);
    TestPacket p("10.0.0.1", 40000, "10.0.0.2", port, "an evil payload", ip_proto);
    p.packet.flow = &flow;
    return e.sids(p.packet);
  };
  // Not identified yet: header protocols do not match; service rules go by their ports.
  CHECK(sids_with(AppProto::Unknown, 80) == std::vector<uint32_t>{2, 3, 4});
  CHECK(sids_with(AppProto::Unknown, 8080) == std::vector<uint32_t>{2});
  // HTTP on port 8080: the http rule, and the service:http rule whatever its port.
  CHECK(sids_with(AppProto::Http, 8080) == std::vector<uint32_t>{1, 3});
  CHECK(sids_with(AppProto::Http, 80) == std::vector<uint32_t>{1, 3});
  // TLS on port 80: identified, and neither http nor imap.
  CHECK(sids_with(AppProto::Tls, 80) == std::vector<uint32_t>{2});
  // Detection gave up: service rules fall back to their ports.
  CHECK(sids_with(AppProto::Failed, 80) == std::vector<uint32_t>{2, 3, 4});
  // DNS over UDP and TCP.
  CHECK(sids_with(AppProto::Dns, 53, 17) == std::vector<uint32_t>{5});
  CHECK(sids_with(AppProto::Dns, 53, 6) == std::vector<uint32_t>{2, 5});
}

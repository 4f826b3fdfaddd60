// The `tag` keyword: session and host tags, their metrics, expiry and the "Tagged Packet"
// events (gid 2, sid 1), with Suricata's counting (detect-engine-tag.c): the alerting packet
// counts against the tag but is not tagged itself.
#include <algorithm>

#include <catch2/catch.hpp>

#include "sensor/detect/detect_engine.hpp"
#include "sensor/detect/tag_table.hpp"
#include "tests/unit/detect/detect_harness.hpp"
#include "sensor/flow/flow.hpp"
#include "signatures/rule_parser.hpp"

using namespace eastwatch;
using eastwatch::test::Engine;
using eastwatch::test::TestPacket;

namespace {


using Events = std::vector<std::string>;
const Events kNone;
const Events kTagged{"2:1"};

}  // namespace

TEST_CASE("tag:session by packets: the packets after the alert, the alerting one counted") {
  Engine e(R"(alert tcp any any -> any any (msg:"attack"; content:"attack"; tag:session,4,packets; sid:10;))");
  Flow flow;
  Flow other;
  TestPacket attack("10.0.0.1", "10.0.0.2", "attack", 0, &flow);
  TestPacket data("10.0.0.1", "10.0.0.2", "data", 0, &flow);
  TestPacket reply("10.0.0.2", "10.0.0.1", "reply", 0, &flow);
  TestPacket elsewhere("10.0.0.1", "10.0.0.2", "data", 0, &other);
  CHECK(e.events(attack.packet) == Events{"1:10"});
  CHECK(flow.tag_count == 1);
  CHECK(e.events(data.packet) == kTagged);
  CHECK(e.events(elsewhere.packet) == kNone);  // another flow is not tagged
  CHECK(e.events(reply.packet) == kTagged);    // both directions of the session
  CHECK(e.events(data.packet) == kTagged);
  CHECK(e.events(data.packet) == kNone);  // the alert and 3 tagged packets: 4 counted, the tag ends
  CHECK(flow.tag_count == 0);
  CHECK(e.thread->counters().tagged_packets == 3);
  CHECK(e.thread->counters().alert == 4);  // every alert record, the tagged ones too

  // The event is the pseudo-rule's, with the tagged packet's facts.
  Flow again;
  TestPacket a2("10.0.0.1", "10.0.0.2", "attack", 0, &again);
  TestPacket d2("10.0.0.1", "10.0.0.2", "later", 5'000'000, &again);
  d2.packet.pcap_cnt = 42;
  e.events(a2.packet);
  REQUIRE(e.engine->inspect(d2.packet, *e.thread, e.out) == 1);
  const AlertEvent& event = e.out[0];
  CHECK(event.rule == &e.rules->tag_rule());
  CHECK(event.rule->gid == 2);
  CHECK(event.rule->sid == 1);
  CHECK(event.rule->rev == 1);
  CHECK(event.rule->msg == "Tagged Packet");
  CHECK(event.rule->priority == 2);
  CHECK(event.rule->category.empty());
  CHECK(event.pcap_cnt == 42);
  CHECK(event.ts_usec == 5'000'000);
  CHECK(event.has_flow);
}

TEST_CASE("tag:session,3,packets tags the next 2 packets, as Suricata counts") {
  Engine e(R"(alert tcp any any -> any any (content:"attack"; tag:session,3,packets; sid:10;))");
  Flow flow;
  TestPacket attack("10.0.0.1", "10.0.0.2", "attack", 0, &flow);
  TestPacket data("10.0.0.1", "10.0.0.2", "data", 0, &flow);
  CHECK(e.events(attack.packet) == Events{"1:10"});
  CHECK(e.events(data.packet) == kTagged);
  CHECK(e.events(data.packet) == kTagged);
  CHECK(e.events(data.packet) == kNone);
}

TEST_CASE("tag:session with the default of 256 packets, and a count capped at 256") {
  Engine e(R"(alert tcp any any -> any any (content:"attack"; tag:session; sid:10;)
alert tcp any any -> any any (content:"other"; tag:session,100000,packets; sid:11;))");
  for (const char* trigger : {"attack", "other"}) {
    INFO(trigger);
    Flow flow;
    TestPacket attack("10.0.0.1", "10.0.0.2", trigger, 0, &flow);
    TestPacket data("10.0.0.1", "10.0.0.2", "data", 0, &flow);
    CHECK(e.events(attack.packet).size() == 1);
    int tagged = 0;
    for (int i = 0; i < 400; ++i) tagged += e.events(data.packet) == kTagged ? 1 : 0;
    CHECK(tagged == 255);
  }
}

TEST_CASE("tag:session by bytes counts the captured length of every packet") {
  Engine e(R"(alert tcp any any -> any any (content:"attack"; tag:session,100,bytes; sid:10;))");
  Flow flow;
  TestPacket attack("10.0.0.1", "10.0.0.2", "attack" + std::string(34, '.'), 0, &flow);  // 40 bytes
  TestPacket data("10.0.0.1", "10.0.0.2", std::string(40, 'x'), 0, &flow);
  TestPacket small("10.0.0.1", "10.0.0.2", std::string(20, 'x'), 0, &flow);
  CHECK(e.events(attack.packet) == Events{"1:10"});  // 40
  CHECK(e.events(data.packet) == kTagged);            // 80
  CHECK(e.events(small.packet) == kTagged);           // 100: not more than the count
  CHECK(e.events(small.packet) == kNone);             // 120: ended
  CHECK(flow.tag_count == 0);
}

TEST_CASE("tag:session by seconds: whole seconds since the alert, the count's last one included") {
  Engine e(R"(alert tcp any any -> any any (content:"attack"; tag:session,2,seconds; sid:10;))");
  Flow flow;
  TestPacket attack("10.0.0.1", "10.0.0.2", "attack", 10'900'000, &flow);
  CHECK(e.events(attack.packet) == Events{"1:10"});
  for (const int64_t ts : {11'000'000LL, 11'000'000LL, 12'999'999LL}) {
    TestPacket data("10.0.0.1", "10.0.0.2", "data", ts, &flow);
    CHECK(e.events(data.packet) == kTagged);
  }
  TestPacket late("10.0.0.1", "10.0.0.2", "data", 13'000'000, &flow);
  CHECK(e.events(late.packet) == kNone);
  CHECK(flow.tag_count == 0);
}

TEST_CASE("tag:host,N,packets,src tags the alerting packet's source in every flow and direction") {
  Engine e(R"(alert tcp any any -> any any (content:"attack"; tag:host,3,packets,src; sid:20;))");
  TestPacket attack("10.0.0.5", "10.0.0.1", "attack");
  TestPacket from_host("10.0.0.5", "10.0.0.9", "data");
  TestPacket to_host("10.0.0.7", "10.0.0.5", "data");
  TestPacket unrelated("10.0.0.1", "10.0.0.2", "data");  // the alert's destination is not tagged
  CHECK(e.events(attack.packet) == Events{"1:20"});
  CHECK(e.events(from_host.packet) == kTagged);
  CHECK(e.events(unrelated.packet) == kNone);
  CHECK(e.events(to_host.packet) == kTagged);
  CHECK(e.events(from_host.packet) == kNone);  // 4 packets of the host counted: ended
  CHECK(e.thread->counters().tagged_packets == 2);
}

TEST_CASE("tag:host by dst, and tag:host alone as Suricata's default (256 packets of the destination)") {
  for (const char* option : {"tag:host,3,packets,dst;", "tag:host;", "tag:host,3,packets;"}) {
    INFO(option);
    Engine e(std::string(R"(alert tcp any any -> any any (content:"attack"; )") + option + " sid:20;)");
    TestPacket attack("10.0.0.5", "10.0.0.1", "attack");
    TestPacket to_target("10.0.0.8", "10.0.0.1", "data");
    TestPacket source_only("10.0.0.5", "10.0.0.9", "data");
    CHECK(e.events(attack.packet) == Events{"1:20"});
    CHECK(e.events(source_only.packet) == kNone);
    CHECK(e.events(to_target.packet) == kTagged);
  }
}

TEST_CASE("host tags by bytes and by seconds, and their end after 600 s without packets") {
  Engine e(R"(alert tcp any any -> any any (content:"bytes"; tag:host,100,bytes,src; sid:21;)
alert tcp any any -> any any (content:"hours"; tag:host,3600,seconds,src; sid:22;))");
  TestPacket bytes("10.0.0.5", "10.0.0.1", "bytes" + std::string(45, '.'));  // 50
  TestPacket fifty("10.0.0.5", "10.0.0.9", std::string(50, 'x'));
  CHECK(e.events(bytes.packet) == Events{"1:21"});
  CHECK(e.events(fifty.packet) == kTagged);  // 100
  CHECK(e.events(fifty.packet) == kNone);    // 150

  TestPacket hours("10.0.0.6", "10.0.0.1", "hours", 0);
  CHECK(e.events(hours.packet) == Events{"1:22"});
  TestPacket soon("10.0.0.6", "10.0.0.1", "data", 599'000'000);
  CHECK(e.events(soon.packet) == kTagged);
  TestPacket still("10.0.0.6", "10.0.0.1", "data", 1'100'000'000);  // 501 s after the last packet
  CHECK(e.events(still.packet) == kTagged);
  TestPacket idle("10.0.0.6", "10.0.0.1", "data", 1'800'000'000);  // 700 s without packets
  CHECK(e.events(idle.packet) == kNone);
}

TEST_CASE("a packet tagged by several tags gives one event, after the packet's alerts") {
  Engine e(R"(alert tcp any any -> any any (content:"attack"; tag:session,10,packets; tag:host,10,packets,src; sid:30;)
alert tcp any any -> any any (content:"beacon"; sid:31;))");
  Flow flow;
  TestPacket attack("10.0.0.5", "10.0.0.1", "attack", 0, &flow);
  TestPacket beacon("10.0.0.5", "10.0.0.1", "beacon", 0, &flow);
  CHECK(e.events(attack.packet) == Events{"1:30"});
  CHECK(e.events(beacon.packet) == Events{"1:31", "2:1"});
}

TEST_CASE("an alert again renews the rule's tag (and that packet is tagged, as in Suricata)") {
  Engine e(R"(alert tcp any any -> any any (content:"attack"; tag:session,3,packets; sid:10;))");
  Flow flow;
  TestPacket attack("10.0.0.1", "10.0.0.2", "attack", 0, &flow);
  TestPacket data("10.0.0.1", "10.0.0.2", "data", 0, &flow);
  CHECK(e.events(attack.packet) == Events{"1:10"});
  CHECK(e.events(data.packet) == kTagged);
  CHECK(e.events(attack.packet) == Events{"1:10", "2:1"});  // restarts: counted 1
  CHECK(e.events(data.packet) == kTagged);
  CHECK(e.events(data.packet) == kTagged);
  CHECK(e.events(data.packet) == kNone);
  CHECK(flow.tag_count == 0);
}

TEST_CASE("tags need an alert: no flow for a session tag, a threshold that suppresses, a non-match") {
  Engine e(R"(alert tcp any any -> any any (content:"attack"; tag:session,5,packets; sid:10;)
alert tcp any any -> any any (content:"limited"; threshold:type limit,track by_src,count 1,seconds 60; tag:session,5,packets; sid:11;))");
  TestPacket no_flow("10.0.0.1", "10.0.0.2", "attack");
  CHECK(e.events(no_flow.packet) == Events{"1:10"});
  CHECK(e.events(no_flow.packet) == Events{"1:10"});  // nothing to tag, nothing crashes
  Flow flow_a;
  Flow flow_b;
  TestPacket first("10.0.0.1", "10.0.0.2", "limited", 0, &flow_a);
  TestPacket second("10.0.0.1", "10.0.0.2", "limited", 0, &flow_b);
  CHECK(e.events(first.packet) == Events{"1:11"});
  CHECK(e.events(second.packet) == kNone);  // suppressed by the threshold: no tag
  CHECK(flow_b.tag_count == 0);
  CHECK(flow_a.tag_count == 1);
}

TEST_CASE("session tags beyond a flow's capacity are counted as dropped") {
  Engine e(R"(alert tcp any any -> any any (content:"a1"; tag:session,5,packets; sid:1;)
alert tcp any any -> any any (content:"a2"; tag:session,5,packets; sid:2;)
alert tcp any any -> any any (content:"a3"; tag:session,5,packets; sid:3;))");
  Flow flow;
  TestPacket all("10.0.0.1", "10.0.0.2", "a1 a2 a3", 0, &flow);
  CHECK(e.events(all.packet) == Events{"1:1", "1:2", "1:3"});
  CHECK(flow.tag_count == Flow::kMaxTags);
  CHECK(e.thread->counters().tag_dropped == 3 - Flow::kMaxTags);
  // The tag that fitted (the first rule's, in evaluation order) still tags the flow.
  TestPacket data("10.0.0.1", "10.0.0.2", "data", 0, &flow);
  CHECK(e.events(data.packet) == kTagged);
}

TEST_CASE("no tag rules: no host table and nothing tagged") {
  Engine e(R"(alert tcp any any -> any any (content:"attack"; sid:1;))");
  Flow flow;
  TestPacket attack("10.0.0.1", "10.0.0.2", "attack", 0, &flow);
  CHECK(e.events(attack.packet) == Events{"1:1"});
  CHECK(e.events(attack.packet) == Events{"1:1"});
  CHECK(e.thread->counters().tagged_packets == 0);
}

TEST_CASE("the host tag table is bounded: a full bucket gives up the host seen least recently") {
  TagTable table(4);  // one bucket of four hosts
  TagOption option;
  option.scope = TagOption::Scope::Host;
  option.count = 100;
  for (int i = 1; i <= 5; ++i) {
    const IpAddress host = IpAddress::from_v4(0x0a000000u + static_cast<uint32_t>(i));
    CHECK(table.add(host, option, static_cast<uint32_t>(i), 1, int64_t{i} * 1'000'000));
  }
  CHECK(table.evicted() == 1);
  CHECK(table.active() == 4);
  const IpAddress none = IpAddress::from_v4(0x0b000000u);
  // Host 1 (the oldest) lost its tag; hosts 2 and 5 kept theirs. A first packet of each is
  // the "alerting" one; the second is tagged.
  for (int round = 0; round < 2; ++round) {
    CHECK_FALSE(table.advance(IpAddress::from_v4(0x0a000001u), none, 10, 10'000'000));
    CHECK(table.advance(IpAddress::from_v4(0x0a000002u), none, 10, 10'000'000) == (round == 1));
    CHECK(table.advance(none, IpAddress::from_v4(0x0a000005u), 10, 10'000'000) == (round == 1));
  }
  // Four tags per host; a fifth rule's tag is dropped.
  TagTable small(4);
  const IpAddress host = IpAddress::from_v4(0x0a000001u);
  for (uint32_t sid = 1; sid <= TagTable::kTagsPerHost; ++sid) CHECK(small.add(host, option, sid, 1, 0));
  CHECK_FALSE(small.add(host, option, 99, 1, 0));
  CHECK(small.add(host, option, 1, 1, 0));  // a renewal always fits
}

// The `decode-event:` keyword end to end at unit level: parsed with Suricata's names, raised by
// the decoders and the defragmenter on the packet, matched by packet_tests.
#include <catch2/catch.hpp>

#include "sensor/decode/decoder.hpp"
#include "sensor/defrag/defragmenter.hpp"
#include "sensor/detect/packet_tests.hpp"
#include "signatures/rule_parser.hpp"
#include "tests/unit/defrag/fragment_builder.hpp"

using namespace eastwatch;

namespace {

tl::expected<Rule, RuleError> parse(const std::string& options) {
  static const RuleVariables vars = RuleVariables::with_suricata_defaults();
  return parse_rule("alert ip any any -> any any (" + options + " sid:1;)", RuleParseContext{&vars, nullptr, "t", 1});
}

}  // namespace

TEST_CASE("decode-event: Suricata's event names with or without the decoder. prefix, unknown names rejected") {
  auto rule = parse("decode-event:ipv4.frag_overlap;");
  REQUIRE(rule);
  CHECK(rule->packet.decode_events.test(DecodeEvent::Ipv4FragOverlap));
  CHECK_FALSE(rule->packet.decode_events.test(DecodeEvent::Ipv6FragOverlap));
  CHECK_FALSE(rule->packet.empty());
  auto prefixed = parse("decode-event:decoder.ipv6.frag_invalid_length; decode-event:ipv4.opt_unknown;");
  REQUIRE(prefixed);
  CHECK(prefixed->packet.decode_events.test(DecodeEvent::Ipv6FragInvalidLength));
  CHECK(prefixed->packet.decode_events.test(DecodeEvent::Ipv4OptUnknown));
  auto bad = parse("decode-event:ipv4.no_such_thing;");
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Catch::Contains("decode-event: unknown event 'ipv4.no_such_thing'"));
}

TEST_CASE("decode-event: every stats.decoder.event.* counter is a keyword argument, in counter order") {
  DecodeStats stats;
  size_t index = 0;
  stats.visit([&](std::string_view name, uint64_t) {
    if (name.substr(0, 6) != "event.") return;
    const auto event = decode_event_from_name(name.substr(6));
    REQUIRE(event);
    CHECK(static_cast<size_t>(*event) == index);
    ++index;
  });
  CHECK(index == kDecodeEventCount);
}

TEST_CASE("decode-event: the decoders raise their anomalies on the packet, packet_tests match them") {
  test::Fragments f;
  // An IPv4 header with an unknown option (type 0x1e, length 4): ipv4.opt_unknown.
  std::vector<uint8_t> bytes = test::Fragments::ipv4_bytes(17, 1, 0, false, {0x30, 0x39, 0, 53, 0, 8, 0, 0});
  bytes[0] = 0x46;
  bytes.insert(bytes.begin() + 20, {0x1e, 4, 0, 0});
  bytes[3] = static_cast<uint8_t>(bytes.size());
  Packet p = f.decode(bytes, LinkType::Ipv4);
  CHECK(p.events.test(DecodeEvent::Ipv4OptUnknown));
  CHECK_FALSE(p.events.test(DecodeEvent::Ipv4FragOverlap));
  auto unknown = parse("decode-event:ipv4.opt_unknown;");
  auto overlap = parse("decode-event:ipv4.frag_overlap;");
  auto both = parse("decode-event:ipv4.opt_unknown; decode-event:ipv4.frag_overlap;");
  REQUIRE((unknown && overlap && both));
  CHECK(packet_tests_match(unknown->packet, p));
  CHECK_FALSE(packet_tests_match(overlap->packet, p));
  CHECK_FALSE(packet_tests_match(both->packet, p));  // all named events must be raised

  // The defragmenter raises ipv4.frag_overlap on the overlapping fragment only.
  Defragmenter defrag(DefragSettings{}, {});
  Packet a = f.ipv4(1, 5, 0, true, 'A', 16), b = f.ipv4(1, 5, 1, true, 'X', 8);
  defrag.process(a, f.stats);
  defrag.process(b, f.stats);
  CHECK_FALSE(packet_tests_match(overlap->packet, a));
  CHECK(packet_tests_match(overlap->packet, b));
  // A fresh decode clears the events.
  b.reset_decode();
  CHECK_FALSE(b.events.any());
}

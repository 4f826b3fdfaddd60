// `stream_size:<server|client|both|either>,<modifier>,<number>`: Suricata 7's syntax, and the
// exact error texts for what it rejects.
#include <catch2/catch.hpp>

#include "signatures/rule_parser.hpp"

using namespace eastwatch;

namespace {

tl::expected<Rule, RuleError> parse(const std::string& options) {
  static const RuleVariables vars = RuleVariables::with_suricata_defaults();
  return parse_rule("alert tcp any any -> any any (" + options + " sid:1;)", RuleParseContext{&vars, nullptr, "t", 1});
}

std::string error_of(const std::string& options) {
  auto rule = parse(options);
  return rule ? "(parsed)" : rule.error().message;
}

}  // namespace

TEST_CASE("stream_size: every side and modifier") {
  using Side = StreamSizeTest::Side;
  using Op = NumericTest::Op;
  struct Case {
    const char* text;
    Side side;
    Op op;
    uint64_t number;
  } cases[] = {{"server,<,5", Side::Server, Op::Less, 5},
               {"client,>,100", Side::Client, Op::Greater, 100},
               {"both,=,1", Side::Both, Op::Equal, 1},
               {"either,!=,7", Side::Either, Op::NotEqual, 7},
               {"client,<=,10000", Side::Client, Op::LessEqual, 10000},
               {" server , >= , 4294967295 ", Side::Server, Op::GreaterEqual, 4294967295ull}};
  for (const Case& c : cases) {
    INFO(c.text);
    auto rule = parse(std::string("stream_size:") + c.text + ";");
    REQUIRE(rule);
    REQUIRE(rule->packet.stream_size.size() == 1);
    CHECK(rule->packet.stream_size[0].side == c.side);
    CHECK(rule->packet.stream_size[0].size.op == c.op);
    CHECK(rule->packet.stream_size[0].size.a == c.number);
    CHECK_FALSE(rule->packet.empty());
  }
}

TEST_CASE("stream_size: the ET Open forms load and the keyword is no longer unsupported") {
  auto rule = parse("flow:established,to_server; stream_size:server,<,5; content:\"|16 03|\"; depth:2;");
  REQUIRE(rule);
  REQUIRE(rule->packet.stream_size.size() == 1);
  CHECK(rule->packet.stream_size[0].side == StreamSizeTest::Side::Server);
  CHECK(rule->packet.flow);
  // Several in one rule (sid 2025008): all kept, all must hold.
  auto two = parse("dsize:9; stream_size:client,=,1; stream_size:server,=,10;");
  REQUIRE(two);
  REQUIRE(two->packet.stream_size.size() == 2);
  CHECK(two->packet.stream_size[0].side == StreamSizeTest::Side::Client);
  CHECK(two->packet.stream_size[1].side == StreamSizeTest::Side::Server);
  CHECK(two->packet.stream_size[1].size.a == 10);
}

TEST_CASE("stream_size: errors") {
  CHECK(error_of("stream_size;") == "stream_size: missing value");
  CHECK(error_of("stream_size:client,>;") ==
        "stream_size: invalid value 'client,>' (expected <server|client|both|either>,<modifier>,<number>)");
  CHECK(error_of("stream_size:client,>,1,2;") ==
        "stream_size: invalid value 'client,>,1,2' (expected <server|client|both|either>,<modifier>,<number>)");
  CHECK(error_of("stream_size:toserver,>,100;") ==
        "stream_size: invalid side 'toserver' (expected server, client, both or either)");
  CHECK(error_of("stream_size:client,=>,100;") ==
        "stream_size: invalid modifier '=>' (expected <, >, =, !=, <= or >=)");
  CHECK(error_of("stream_size:client,<>,100;") ==
        "stream_size: invalid modifier '<>' (expected <, >, =, !=, <= or >=)");
  CHECK(error_of("stream_size:client,>,;") ==
        "stream_size: invalid value '' (expected a number from 0 to 4294967295)");
  CHECK(error_of("stream_size:client,>,4294967296;") ==
        "stream_size: invalid value '4294967296' (expected a number from 0 to 4294967295)");
  CHECK(error_of("stream_size:client,>,-1;") ==
        "stream_size: invalid value '-1' (expected a number from 0 to 4294967295)");
  CHECK(error_of("stream_size:client,>,1; stream_size:server;") ==
        "stream_size: invalid value 'server' (expected <server|client|both|either>,<modifier>,<number>)");
}

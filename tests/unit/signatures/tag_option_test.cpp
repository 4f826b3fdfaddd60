// `tag` keyword parsing: Suricata 7's syntax, defaults, limits and errors.
#include <catch2/catch.hpp>

#include "signatures/detail/tag_option.hpp"
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

TEST_CASE("tag: the forms Suricata accepts and their defaults") {
  using Scope = TagOption::Scope;
  using Metric = TagOption::Metric;
  struct Case {
    const char* text;
    Scope scope;
    uint32_t count;
    Metric metric;
    bool by_src;
  } cases[] = {
      {"session", Scope::Session, 256, Metric::Packets, false},
      {"host", Scope::Host, 256, Metric::Packets, false},  // the destination, as Suricata
      {"session,3,packets", Scope::Session, 3, Metric::Packets, false},
      {" session , 123 , packets ", Scope::Session, 123, Metric::Packets, false},
      {"host, 200, bytes, src", Scope::Host, 200, Metric::Bytes, true},
      {"host,200,bytes,dst", Scope::Host, 200, Metric::Bytes, false},
      {"host,3600,seconds,src", Scope::Host, 3600, Metric::Seconds, true},
      {"host,100,packets", Scope::Host, 100, Metric::Packets, false},
      {"session,1000,packets", Scope::Session, 256, Metric::Packets, false},  // capped, DETECT_TAG_MAX_PKTS
      {"session,4294967295,bytes", Scope::Session, 4294967295u, Metric::Bytes, false},
      {"session,0,seconds", Scope::Session, 0, Metric::Seconds, false},  // \d+ takes 0
      {"session,10,packets,src", Scope::Session, 10, Metric::Packets, false},  // ignored (Suricata warns)
      // Snort 3's syntax
      {"session,packets 5", Scope::Session, 5, Metric::Packets, false},
      {"host_src, seconds 60", Scope::Host, 60, Metric::Seconds, true},
      {"host_dst,bytes 1000", Scope::Host, 1000, Metric::Bytes, false},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto tag = detail::parse_tag_option(c.text);
    REQUIRE(tag);
    CHECK(tag->scope == c.scope);
    CHECK(tag->count == c.count);
    CHECK(tag->metric == c.metric);
    CHECK(tag->by_src == c.by_src);
  }
}

TEST_CASE("tag: a rule may tag several times, and tag rules load") {
  auto rule = parse("content:\"x\"; tag:session; tag:host,10,seconds,src;");
  REQUIRE(rule);
  REQUIRE(rule->tags.size() == 2);
  CHECK(rule->tags[0].scope == TagOption::Scope::Session);
  CHECK(rule->tags[1].scope == TagOption::Scope::Host);
  CHECK(rule->tags[1].by_src);
  CHECK(parse("tag:session,3,packets;")->tags.size() == 1);
}

TEST_CASE("tag: bad values are reported with what was expected") {
  CHECK(error_of("tag;") == "tag: missing value");
  CHECK(error_of("tag: ;") == "tag: missing value");
  CHECK(error_of("tag:flow;") == "tag: invalid type 'flow' (expected session or host)");
  CHECK(error_of("tag:Session;") == "tag: invalid type 'Session' (expected session or host)");
  CHECK(error_of("tag:session,many,packets;") ==
        "tag: invalid count 'many' (expected a number from 0 to 4294967295)");
  CHECK(error_of("tag:session,-1,packets;") == "tag: invalid count '-1' (expected a number from 0 to 4294967295)");
  CHECK(error_of("tag:session,4294967296,bytes;") ==
        "tag: invalid count '4294967296' (expected a number from 0 to 4294967295)");
  CHECK(error_of("tag:session,0x10,bytes;") == "tag: invalid count '0x10' (expected a number from 0 to 4294967295)");
  CHECK(error_of("tag:session,,packets;") == "tag: invalid count '' (expected a number from 0 to 4294967295)");
  CHECK(error_of("tag:session,10;") == "tag: missing metric after the count (expected packets, seconds or bytes)");
  CHECK(error_of("tag:session,10,minutes;") == "tag: invalid metric 'minutes' (expected packets, seconds or bytes)");
  CHECK(error_of("tag:host,10,packets,both;") == "tag: invalid direction 'both' (expected src or dst)");
  CHECK(error_of("tag:host,10,packets,src,dst;") ==
        "tag: too many arguments in 'host,10,packets,src,dst' (expected session|host[, count, packets|seconds|bytes[, "
        "src|dst]])");
  CHECK(error_of("tag:host_src,packets 5,seconds 10;") ==
        "unsupported keyword 'tag' with several limits (not implemented yet: one of packets, seconds or bytes)");
  CHECK(error_of("tag:host_src,packets many;") == "tag: invalid count 'many' (expected a number from 0 to 4294967295)");
  CHECK(error_of("tag:flow,packets 5;") ==
        "tag: invalid type 'flow' (expected session, host_src or host_dst with Snort 3's syntax)");
  CHECK(error_of("tag:session,frames 5;") == "tag: invalid metric 'frames' (expected packets, seconds or bytes)");
  CHECK(error_of("tag:host,src;") == "tag: invalid count 'src' (expected a number from 0 to 4294967295)");
}

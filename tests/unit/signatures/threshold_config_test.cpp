#include <catch2/catch.hpp>

#include "signatures/threshold_config.hpp"

using namespace eastwatch;

TEST_CASE("threshold.config: suppress, threshold and rate_filter lines, errors with file:line") {
  const RuleVariables vars = RuleVariables::with_suricata_defaults();
  const auto config = parse_threshold_config(
      "# tuning\n"
      "suppress gen_id 1, sig_id 2001\n"
      "suppress gen_id 1, sig_id 2002, track by_src, ip [10.0.0.0/8,192.168.1.1]\n"
      "threshold gen_id 1, sig_id 2003, type limit, track by_dst, count 1, seconds 3600\n"
      "event_filter gen_id 0, sig_id 0, type both, track by_src, count 5, seconds 60\n"
      "rate_filter gen_id 1, sig_id 7, track by_rule, count 5, seconds 60, new_action pass, timeout 10\n"
      "suppress gen_id 1, sig_id 9, track by_src\n"
      "threshold gen_id 1, sig_id 9, type limit\n"
      "limit gen_id 1\n"
      "suppress gen_id 1, sig_id 9, track by_src, ip $NOPE\n"
      "rate_filter gen_id 1, sig_id 9, track by_src, count 5, seconds 60, new_action block, timeout 10\n"
      "rate_filter gen_id 1, sig_id 9, track by_src, count 5, seconds 60\n",
      "threshold.config", vars);
  REQUIRE(config.entries.size() == 5);
  CHECK(config.entries[0].kind == ThresholdConfigEntry::Kind::Suppress);
  CHECK(config.entries[0].suppression.track == Suppression::Track::All);
  CHECK(config.entries[1].suppression.track == Suppression::Track::BySrc);
  CHECK(config.entries[1].suppression.addresses.contains(*IpAddress::parse("10.9.9.9")));
  CHECK_FALSE(config.entries[1].suppression.addresses.contains(*IpAddress::parse("192.168.1.2")));
  CHECK(config.entries[2].threshold.track == ThresholdOption::Track::ByDst);
  CHECK(config.entries[2].threshold.seconds == 3600);
  CHECK(config.entries[3].sid == 0);
  CHECK(config.entries[4].kind == ThresholdConfigEntry::Kind::RateFilter);
  CHECK(config.entries[4].rate_filter.track == ThresholdOption::Track::ByRule);
  CHECK(config.entries[4].rate_filter.count == 5);
  CHECK(config.entries[4].rate_filter.seconds == 60);
  CHECK(config.entries[4].rate_filter.timeout == 10);
  CHECK(config.entries[4].rate_filter.new_action == RateFilterOption::NewAction::Pass);
  REQUIRE(config.errors.size() == 6);
  CHECK(config.errors[0].to_string() == "threshold.config:7: suppress with track needs ip, and ip needs track");
  CHECK(config.errors[1].to_string() == "threshold.config:8: threshold needs type, track, count and seconds");
  CHECK(config.errors[2].to_string() ==
        "threshold.config:9: unknown directive 'limit' (expected suppress, threshold, event_filter or rate_filter)");
  CHECK(config.errors[3].to_string() == "threshold.config:10: ip: undefined variable $NOPE");
  CHECK(config.errors[4].to_string() ==
        "threshold.config:11: invalid new_action 'block' (expected alert, log, drop, sdrop, pass or reject)");
  CHECK(config.errors[5].to_string() ==
        "threshold.config:12: rate_filter needs track, count, seconds, new_action and timeout");

  std::vector<Rule> rules(3);
  rules[0].sid = 2001;
  rules[1].sid = 2003;
  rules[2].sid = 7;
  const auto touched = apply_threshold_config(config, rules);
  CHECK(touched == std::vector<size_t>{1, 0, 1, 3, 1});
  CHECK(rules[0].suppressions.size() == 1);
  REQUIRE(rules[2].rate_filter);
  CHECK_FALSE(rules[0].rate_filter);
  // The catch-all event_filter (gid 0, sid 0) comes last and replaces every rule's threshold.
  REQUIRE(rules[1].threshold);
  CHECK(rules[1].threshold->type == ThresholdOption::Type::Both);
  CHECK(rules[2].threshold->count == 5);
}

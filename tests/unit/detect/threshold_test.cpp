// Threshold windows, reasoned from Suricata's threshold documentation:
//   limit: alert on the first N matches of each window; threshold: every Nth match;
//   both: once per window, at the Nth match; detection_filter: every match after the first N.
#include <atomic>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "sensor/detect/threshold_table.hpp"

using namespace eastwatch;

namespace {

constexpr int64_t kSecond = 1'000'000;
uint64_t evicted_here = 0;  // the callers' eviction counter

ThresholdOption option(ThresholdOption::Type type, uint32_t count, uint32_t seconds,
                       ThresholdOption::Track track = ThresholdOption::Track::BySrc) {
  ThresholdOption o;
  o.type = type;
  o.count = count;
  o.seconds = seconds;
  o.track = track;
  return o;
}

// Runs `matches` matches one second apart from `src`; returns which ones alerted.
std::vector<int> alerts(ThresholdTable& table, const ThresholdOption& o, int matches, const char* src = "10.0.0.1",
                        int64_t start = 0, int64_t step = kSecond) {
  std::vector<int> out;
  for (int i = 0; i < matches; ++i) {
    if (table.allow(0, o, *IpAddress::parse(src), *IpAddress::parse("10.0.0.9"), start + i * step, evicted_here)) out.push_back(i);
  }
  return out;
}

}  // namespace

TEST_CASE("limit: the first N of each window") {
  ThresholdTable table;
  const auto o = option(ThresholdOption::Type::Limit, 2, 10);
  CHECK(alerts(table, o, 5) == std::vector<int>{0, 1});
  // A new window opens 10 s after the first match: matches at 10 and 11 s alert again.
  CHECK(alerts(table, o, 3, "10.0.0.1", 10 * kSecond) == std::vector<int>{0, 1});
  // Tracking by source: another source has its own count.
  CHECK(alerts(table, o, 3, "10.0.0.2") == std::vector<int>{0, 1});
}

TEST_CASE("threshold: every Nth match within the window") {
  ThresholdTable table;
  CHECK(alerts(table, option(ThresholdOption::Type::Threshold, 3, 60), 9) == std::vector<int>{2, 5, 8});
  ThresholdTable slow;
  // Matches 40 s apart with a 60 s window: the window restarts every other match, so 3 is never reached.
  CHECK(alerts(slow, option(ThresholdOption::Type::Threshold, 3, 60), 6, "10.0.0.1", 0, 40 * kSecond).empty());
}

TEST_CASE("both: once per window at the Nth match") {
  ThresholdTable table;
  CHECK(alerts(table, option(ThresholdOption::Type::Both, 3, 60), 10) == std::vector<int>{2});
  CHECK(alerts(table, option(ThresholdOption::Type::Both, 3, 60), 4, "10.0.0.1", 100 * kSecond) == std::vector<int>{2});
}

TEST_CASE("detection_filter: every match after the first N within the window") {
  ThresholdTable table;
  CHECK(alerts(table, option(ThresholdOption::Type::DetectionFilter, 2, 60), 5) == std::vector<int>{2, 3, 4});
}

TEST_CASE("by_rule ignores addresses, by_dst follows the destination") {
  ThresholdTable table;
  const auto o = option(ThresholdOption::Type::Limit, 1, 60, ThresholdOption::Track::ByRule);
  CHECK(alerts(table, o, 2, "10.0.0.1") == std::vector<int>{0});
  CHECK(alerts(table, o, 2, "10.0.0.2").empty());
  ThresholdTable by_dst;
  const auto d = option(ThresholdOption::Type::Limit, 1, 60, ThresholdOption::Track::ByDst);
  CHECK(alerts(by_dst, d, 2, "10.0.0.1") == std::vector<int>{0});
  CHECK(alerts(by_dst, d, 2, "10.0.0.2").empty());  // same destination 10.0.0.9
}

TEST_CASE("a full table replaces the oldest entry and counts it") {
  ThresholdTable table(4);  // one bucket of 4
  const auto o = option(ThresholdOption::Type::Limit, 1, 600);
  evicted_here = 0;
  for (int i = 0; i < 6; ++i) {
    const std::string src = "10.0.1." + std::to_string(i);
    CHECK(alerts(table, o, 1, src.c_str(), i * kSecond) == std::vector<int>{0});
  }
  CHECK(table.evicted() == 2);
  CHECK(evicted_here == 2);  // and in the caller's counter
}

TEST_CASE("one table for every worker: a source's matches count once, whichever thread sees them") {
  // Four threads (workers) each see 5,000 matches of one source; `limit: 100 per 600 s` must
  // let exactly 100 through in all, and `threshold: every 1000th` exactly 20, as one worker
  // seeing all 20,000 would. Per-worker tables gave 400 and 20 (or fewer, when the counts
  // stranded on each thread do not reach 1,000).
  ThresholdTable table;
  const auto limit = option(ThresholdOption::Type::Limit, 100, 600);
  const auto every = option(ThresholdOption::Type::Threshold, 1000, 600);
  const IpAddress src = *IpAddress::parse("10.0.0.1");
  const IpAddress dst = *IpAddress::parse("10.0.0.9");
  std::atomic<int> limited{0}, thresholded{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      uint64_t evicted = 0;
      for (int i = 0; i < 5000; ++i) {
        const int64_t ts = (t * 5000 + i) * 10;  // within one window
        if (table.allow(1, limit, src, dst, ts, evicted)) ++limited;
        if (table.allow(2, every, src, dst, ts, evicted)) ++thresholded;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(limited == 100);
  CHECK(thresholded == 20);
  CHECK(table.evicted() == 0);
}

namespace {

// Feeds matches at `seconds` (in that order, as two workers may deliver them) to one entry;
// returns the timestamps that alerted.
std::vector<int> alerts_at(const ThresholdOption& o, std::initializer_list<int> seconds) {
  ThresholdTable table;
  std::vector<int> out;
  for (int second : seconds) {
    if (table.allow(0, o, *IpAddress::parse("10.0.0.1"), *IpAddress::parse("10.0.0.9"), second * kSecond,
                    evicted_here)) {
      out.push_back(second);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("matches out of timestamp order (two workers) are counted in one window span only") {
  const auto both = option(ThresholdOption::Type::Both, 10, 60);
  // 12 matches 10 s apart (0..110 s): never 10 in any 60 s. One worker ran ahead to 70 s
  // before the other's 10..60 s arrived; counting those against the window opened at 70 s
  // (a negative age) reached 10 and alerted: the CI flake of e2e_lateral_workers2.
  CHECK(alerts_at(both, {0, 20, 40, 70, 10, 30, 50, 60, 80, 90, 100, 110}).empty());
  CHECK(alerts_at(both, {70, 80, 90, 100, 110, 0, 10, 20, 30, 40, 50, 60}).empty());
  // 12 matches within 12 s, the earliest three seen last: all in one span, so the 10th counted
  // alerts, once, as in timestamp order.
  CHECK(alerts_at(both, {3, 4, 5, 6, 7, 8, 9, 10, 11, 0, 1, 2}) == std::vector<int>{0});
  CHECK(alerts_at(both, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}) == std::vector<int>{9});
  // A late match widens the window back: 59 s after it is still inside, 60 s opens a new one.
  const auto limit = option(ThresholdOption::Type::Limit, 1, 60);
  CHECK(alerts_at(limit, {10, 5, 64, 65}) == std::vector<int>{10, 65});
  // Older than the span of the window's newest match: a closed window, neither counted nor alerted.
  const auto filter = option(ThresholdOption::Type::DetectionFilter, 1, 60);
  CHECK(alerts_at(filter, {100, 30, 101}) == std::vector<int>{101});
}

TEST_CASE("rules are keyed by gid:sid") {
  ThresholdTable table;
  const auto o = option(ThresholdOption::Type::Limit, 1, 60);
  const IpAddress src = *IpAddress::parse("10.0.0.1");
  const IpAddress dst = *IpAddress::parse("10.0.0.9");
  CHECK(table.allow(ThresholdTable::rule_id(1, 5), o, src, dst, 0, evicted_here));
  CHECK_FALSE(table.allow(ThresholdTable::rule_id(1, 5), o, src, dst, kSecond, evicted_here));
  CHECK(table.allow(ThresholdTable::rule_id(2, 5), o, src, dst, kSecond, evicted_here));  // another gid
}

TEST_CASE("rate_filter: past count matches in the window the new action holds for timeout seconds") {
  // Suricata's rate filter: count 3 in 10 s; the 4th match within the window switches the
  // action for 5 s; the first match after those 5 s starts counting again.
  ThresholdTable table(64);
  RateFilterOption rate;
  rate.track = ThresholdOption::Track::BySrc;
  rate.count = 3;
  rate.seconds = 10;
  rate.timeout = 5;
  rate.new_action = RateFilterOption::NewAction::Pass;
  const IpAddress a = *IpAddress::parse("10.0.0.1");
  const IpAddress b = *IpAddress::parse("10.0.0.2");
  const IpAddress dst = *IpAddress::parse("10.0.0.9");
  std::vector<int> changed;
  for (int second : {0, 1, 2, 3, 4, 8, 9, 10, 11, 12}) {
    if (table.rate_exceeded(0, rate, a, dst, second * kSecond, evicted_here)) changed.push_back(second);
  }
  // 0,1,2 counted; 3 exceeds (timeout starts at 3); 4 and 8 within 5 s of it; 9 is 6 s
  // later: counting restarts (9 = 1st, 10, 11 = 3rd), 12 is the 4th: exceeded again.
  CHECK(changed == std::vector<int>{3, 4, 8, 12});
  // Another source has its own count; a threshold of the same rule has its own entry.
  CHECK_FALSE(table.rate_exceeded(0, rate, b, dst, 4 * kSecond, evicted_here));
  ThresholdOption limit;
  limit.type = ThresholdOption::Type::Limit;
  limit.count = 1;
  limit.seconds = 60;
  CHECK(table.allow(0, limit, a, dst, 4 * kSecond, evicted_here));
  CHECK(table.rate_exceeded(0, rate, a, dst, 13 * kSecond, evicted_here));
}

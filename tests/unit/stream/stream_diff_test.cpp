// The reassembler against the reference model of stream_diff.hpp: fixed-seed random cases
// (the fuzz target's generator fed by a PRNG), plus hand-written shapes per policy.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "tests/unit/stream/stream_diff.hpp"

using namespace eastwatch;
using namespace eastwatch::test;

namespace {

// Segments at (offset, bytes), in arrival order.
DiffCase shape(OsPolicy policy, std::vector<DiffSegment> segments) {
  DiffCase c;
  c.policy = policy;
  c.isn = 0xfffffff0u;  // across the 2^32 wrap
  c.segments = std::move(segments);
  return c;
}

}  // namespace

TEST_CASE("differential: 20,000 random cases deliver what the model says") {
  std::mt19937 rng(20261201);
  uint64_t overlaps = 0, cases_with_fin = 0, bytes = 0, gaps = 0;
  for (int n = 0; n < 20000; ++n) {
    std::vector<uint8_t> input(1 + 4 * (1 + rng() % kDiffMaxSegments));
    for (uint8_t& b : input) b = static_cast<uint8_t>(rng());
    const DiffCase c = decode_diff_case(input.data(), input.size());
    const std::string expected = diff_model(c);
    const DiffResult r = diff_engine(c);
    INFO("case " << n << " policy " << os_policy_name(c.policy) << " segments " << c.segments.size());
    REQUIRE(r.counters.segment_memcap_drop + r.counters.queue_limit_drop + r.counters.outside_window == 0);
    REQUIRE(diff_agrees(expected, r));
    const bool acks = std::any_of(c.segments.begin(), c.segments.end(), [](const DiffSegment& s) { return s.ack; });
    if (!acks) {  // without receiver ACKs nothing is skipped: the whole stream is compared
      REQUIRE_FALSE(r.cut);
      REQUIRE(r.contiguous);
      REQUIRE(r.delivered == expected);
    }
    gaps += r.cut;
    REQUIRE(r.counters.active_sessions == 0);
    REQUIRE(r.counters.reassembly_memuse == 0);
    overlaps += r.counters.overlap;
    cases_with_fin += c.fin;
    bytes += r.delivered.size();
  }
  // The generator reaches the interesting shapes.
  CHECK(overlaps > 20000);
  CHECK(cases_with_fin > 5000);
  CHECK(bytes > 1'000'000);
  CHECK(gaps > 100);  // receiver ACKs past a hole: compared up to the gap
}

TEST_CASE("differential: one queued segment overlapped by one starting before it") {
  // [4, 8) queued with "wxyz", then [2, 10) with "CDEFGHIJ", then [0, 2) fills the hole.
  const std::vector<DiffSegment> segs{{4, "wxyz"}, {2, "CDEFGHIJ"}, {0, "AB"}};
  CHECK(diff_model(shape(OsPolicy::First, segs)) == "ABCDwxyzIJ");
  CHECK(diff_model(shape(OsPolicy::Last, segs)) == "ABCDEFGHIJ");
  CHECK(diff_model(shape(OsPolicy::Bsd, segs)) == "ABCDEFGHIJ");
  CHECK(diff_model(shape(OsPolicy::Linux, segs)) == "ABCDEFGHIJ");
  for (OsPolicy policy : kDiffPolicies) {
    INFO(os_policy_name(policy));
    CHECK(diff_engine(shape(policy, segs)).delivered == diff_model(shape(policy, segs)));
  }
}

TEST_CASE("differential: same start, longer: only linux (and last) take the new bytes") {
  const std::vector<DiffSegment> segs{{4, "wxyz"}, {4, "EFGHIJ"}, {0, "ABCD"}};
  CHECK(diff_model(shape(OsPolicy::Bsd, segs)) == "ABCDwxyzIJ");
  CHECK(diff_model(shape(OsPolicy::Windows, segs)) == "ABCDwxyzIJ");
  CHECK(diff_model(shape(OsPolicy::Linux, segs)) == "ABCDEFGHIJ");
  CHECK(diff_model(shape(OsPolicy::Last, segs)) == "ABCDEFGHIJ");
  for (OsPolicy policy : kDiffPolicies) {
    INFO(os_policy_name(policy));
    CHECK(diff_engine(shape(policy, segs)).delivered == diff_model(shape(policy, segs)));
  }
}

TEST_CASE("differential: delivered bytes are final, whatever the policy") {
  // "ABCD" is delivered at once; "wxyzEF" overlaps it and only its new part counts.
  const std::vector<DiffSegment> segs{{0, "ABCD"}, {0, "wxyzEF"}, {6, "GH"}};
  for (OsPolicy policy : kDiffPolicies) {
    INFO(os_policy_name(policy));
    CHECK(diff_model(shape(policy, segs)) == "ABCDEFGH");
    CHECK(diff_engine(shape(policy, segs)).delivered == "ABCDEFGH");
  }
}

TEST_CASE("differential: segments longer than a chunk, in reverse order, with zero-length ones") {
  DiffCase c = shape(OsPolicy::First, {});
  std::string all;
  for (uint32_t i = 0; i < 3 * TcpStreamEngine::kChunkBytes + 5; ++i) all.push_back(static_cast<char>(diff_pattern(i)));
  c.segments = {{5000, all.substr(5000)}, {2500, all.substr(2500, 2500)}, {100, ""}, {1, all.substr(1, 2499)},
                {0, all.substr(0, 1)}};
  c.fin = true;
  CHECK(diff_model(c) == all);
  const DiffResult r = diff_engine(c);
  CHECK(r.contiguous);
  CHECK(r.delivered == all);
}

TEST_CASE("differential: the decoder reads the documented record layout") {
  // Policy last, to the client, FIN, ISN near the wrap; records: absolute 10 with 3 bytes,
  // right after it with none, 5 bytes ending where that one starts.
  const uint8_t input[] = {1 | 8 | 16 | 32, 0x00, 10, 3, 0x80, 0x80, 0x08, 8, 2, 0x40, 0x00, 5, 0x80};
  const DiffCase c = decode_diff_case(input, sizeof input);
  CHECK(c.policy == OsPolicy::Last);
  CHECK_FALSE(c.to_server);
  CHECK(c.fin);
  CHECK(c.isn == 0xfffff800u);
  REQUIRE(c.segments.size() == 3);
  CHECK(c.segments[0].offset == 10);
  CHECK(c.segments[0].bytes == "SZG");  // the pattern at 10, 11, 12
  CHECK(c.segments[1].offset == 13);
  CHECK(c.segments[1].bytes.empty());   // b2 = 8 < 64: 8 % 8 = 0 bytes
  CHECK(c.segments[2].offset == 8);     // reverse: ends where the previous one starts
  CHECK(c.segments[2].bytes.size() == 5);
  // 0xff: a receiver ACK of (b1 << 8 | b2) % (kDiffWindow + 256).
  const uint8_t ack[] = {0, 0xff, 0x01, 0x02, 0};
  const DiffCase a = decode_diff_case(ack, sizeof ack);
  REQUIRE(a.segments.size() == 1);
  CHECK(a.segments[0].ack);
  CHECK(a.segments[0].offset == 258);
}

TEST_CASE("differential: an acknowledged hole is a gap, only the bytes before it are compared") {
  // "ABCD", a hole [4, 8) the receiver acknowledges, then "IJKL": delivered after a gap.
  DiffCase c = shape(OsPolicy::Bsd, {{0, "ABCD"}, {8, "", true}, {8, "IJKL"}, {4, "EFGH"}});
  CHECK(diff_model(c) == "ABCDEFGHIJKL");  // the model knows no gaps
  const DiffResult r = diff_engine(c);
  CHECK(r.cut);
  CHECK(r.cut_at == 4);
  CHECK(r.delivered == "ABCDIJKL");  // the late bytes of the hole are not delivered any more
  CHECK(diff_agrees(diff_model(c), r));
  CHECK(r.counters.reassembly_gap == 1);
  // A different byte before the gap is caught.
  CHECK_FALSE(diff_agrees("ABXD", r));
}

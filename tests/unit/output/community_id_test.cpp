// Community ID v1 against the specification's published baseline values (community-id-spec,
// also used by Elastic's and Logstash's community_id processors).
#include <string>

#include <catch2/catch.hpp>

#include "sensor/output/community_id.hpp"

using namespace eastwatch;

namespace {

std::string id(const char* src, const char* dst, uint8_t proto, uint16_t sport, uint16_t dport, uint16_t seed = 0) {
  char out[kCommunityIdLength];
  const size_t n = community_id(seed, *IpAddress::parse(src), *IpAddress::parse(dst), proto, sport, dport, out);
  return std::string(out, n);
}

}  // namespace

TEST_CASE("community id v1 matches the specification's baseline values, in both directions") {
  CHECK(id("128.232.110.120", "66.35.250.204", 6, 34855, 80) == "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
  CHECK(id("66.35.250.204", "128.232.110.120", 6, 80, 34855) == "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
  CHECK(id("192.168.1.52", "8.8.8.8", 17, 54585, 53) == "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
  CHECK(id("8.8.8.8", "192.168.1.52", 17, 53, 54585) == "1:d/FP5EW3wiY1vCndhwleRRKHowQ=");
  CHECK(id("2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 6, 63943, 25) ==
        "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=");
  CHECK(id("192.168.170.8", "192.168.170.56", 132, 7, 80) == "1:jQgCxbku+pNGw8WPbEc/TS/uTpQ=");
  CHECK(id("192.168.170.56", "192.168.170.8", 132, 80, 7) == "1:jQgCxbku+pNGw8WPbEc/TS/uTpQ=");
  // ICMP echo request (type 8, code 0): two-way, the reply's type as the other "port".
  CHECK(id("192.168.0.89", "192.168.0.1", 1, 8, 0) == "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
  // ...and its reply (type 0) hashes the same.
  CHECK(id("192.168.0.1", "192.168.0.89", 1, 0, 0) == "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
  // ICMPv6 time exceeded (type 3, code 0): one-way.
  CHECK(id("3ffe:501:0:1802:260:97ff:feb6:7ff0", "3ffe:507:0:1:200:86ff:fe05:80da", 58, 3, 0) ==
        "1:bnQKq8A2r//dWnkRW2EYcMhShjc=");
}

TEST_CASE("the seed changes the hash") {
  CHECK(id("128.232.110.120", "66.35.250.204", 6, 34855, 80, 1) != "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
  CHECK(id("128.232.110.120", "66.35.250.204", 6, 34855, 80, 1) == id("66.35.250.204", "128.232.110.120", 6, 80, 34855, 1));
}

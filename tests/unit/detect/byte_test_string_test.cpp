// byte_test with 0 bytes and `string`: Suricata 7 hands the rest of the buffer to strtoull
// (ByteExtractStringUint64 with len 0): the number is every digit up to the first non-digit,
// after optional white space and sign, however many; no digit or a value over 2^64-1 is no
// number (no match).
#include <string>

#include <catch2/catch.hpp>

#include "sensor/detect/content_inspect.hpp"
#include "signatures/rule_parser.hpp"
#include "tests/unit/detect/detect_harness.hpp"

using namespace eastwatch;

namespace {

bool matches(const std::string& options, const std::string& payload) { return test::inspect_one_section(options, payload); }

constexpr const char* kZero = "byte_test:0,=,0,0,string,dec;";

}  // namespace

TEST_CASE("byte_test 0 bytes string: the number runs to the end of the buffer") {
  CHECK(matches(kZero, "0"));
  CHECK(matches(kZero, "00"));
  CHECK_FALSE(matches(kZero, "12"));
  CHECK_FALSE(matches(kZero, ""));     // no byte at all
  CHECK_FALSE(matches(kZero, "12a"));  // 12: the trailing 'a' ends the number
  CHECK(matches("byte_test:0,=,12,0,string,dec;", "12a"));
  CHECK_FALSE(matches(kZero, "abc"));  // no digit: no number, not 0
  // More digits than any fixed count allows (23): strtoull has no limit but overflow.
  CHECK(matches("byte_test:0,=,12,0,string,dec;", std::string(40, '0') + "12"));
  CHECK(matches("byte_test:0,=,18446744073709551615,0,string,dec;", "18446744073709551615"));
  CHECK_FALSE(matches("byte_test:0,>,0,0,string,dec;", "18446744073709551616"));  // ERANGE
  // strtoull's leading white space and sign, and hex's 0x prefix.
  CHECK(matches("byte_test:0,=,12,0,string,dec;", " \t12"));
  CHECK(matches("byte_test:0,=,255,0,string,hex;", "ff"));
  CHECK(matches("byte_test:0,=,255,0,string,hex;", "0xff;"));
  CHECK(matches("byte_test:0,=,8,0,string,oct;", "010"));
  // The ET form on http.content_len: byte_test:0,<,1000,0,string,dec.
  CHECK(matches("byte_test:0,<,1000,0,string,dec;", "999"));
  CHECK_FALSE(matches("byte_test:0,<,1000,0,string,dec;", "1000"));
}

TEST_CASE("byte_test 0 bytes string relative to a content") {
  CHECK(matches(R"(content:"Len:"; byte_test:0,>,100,0,relative,string,dec;)", "Len:250\r\n"));
  CHECK_FALSE(matches(R"(content:"Len:"; byte_test:0,>,100,0,relative,string,dec;)", "Len:50\r\n"));
  CHECK(matches(R"(content:"Len:"; byte_test:0,=,50,1,relative,string,dec;)", "Len: 50"));
  CHECK_FALSE(matches(R"(content:"Len:"; byte_test:0,=,0,0,relative,string,dec;)", "Len:"));  // nothing after
}

// Content modifier semantics, each expectation reasoned from Suricata's documentation
// (payload keywords: offset/depth are absolute, depth counts from offset; distance/within are
// relative to the end of the previous match; relative matches backtrack).
#include <catch2/catch.hpp>

#include "sensor/detect/content_inspect.hpp"
#include "signatures/rule_parser.hpp"
#include "tests/unit/detect/detect_harness.hpp"

using namespace eastwatch;

namespace {

bool matches(const std::string& options, const std::string& payload, uint32_t* budget_left = nullptr) {
  return test::inspect_one_section(options, payload, budget_left);
}

}  // namespace

TEST_CASE("offset and depth") {
  CHECK(matches(R"(content:"abc";)", "xxabcxx"));
  CHECK(matches(R"(content:"abc"; offset:2;)", "xxabcxx"));
  CHECK_FALSE(matches(R"(content:"abc"; offset:3;)", "xxabcxx"));
  CHECK(matches(R"(content:"abc"; depth:5;)", "xxabcxx"));
  CHECK_FALSE(matches(R"(content:"abc"; depth:4;)", "xxabcxx"));
  // depth counts from offset: window [2, 5)
  CHECK(matches(R"(content:"abc"; offset:2; depth:3;)", "xxabcxx"));
  CHECK_FALSE(matches(R"(content:"abc"; offset:1; depth:3;)", "xxabcxx"));
  CHECK_FALSE(matches(R"(content:"abc"; offset:50;)", "xxabcxx"));
}

TEST_CASE("distance and within are relative to the previous match") {
  CHECK(matches(R"(content:"ab"; content:"cd"; distance:2;)", "ab12cd"));
  CHECK_FALSE(matches(R"(content:"ab"; content:"cd"; distance:3;)", "ab12cd"));
  CHECK(matches(R"(content:"ab"; content:"cd"; within:4;)", "ab12cd"));
  CHECK_FALSE(matches(R"(content:"ab"; content:"cd"; within:3;)", "ab12cd"));
  // within's window starts at prev_end + distance
  CHECK(matches(R"(content:"ab"; content:"cd"; distance:2; within:2;)", "ab12cd"));
  CHECK_FALSE(matches(R"(content:"ab"; content:"cd"; distance:1; within:2;)", "ab12cd"));
  // negative distance reaches back before the previous match's end
  CHECK(matches(R"(content:"cd"; content:"ab"; distance:-6; within:2;)", "ab12cd"));
  CHECK_FALSE(matches(R"(content:"cd"; content:"ab"; distance:-5; within:3;)", "ab12cd"));
  // without modifiers, contents are independent: order does not matter
  CHECK(matches(R"(content:"cd"; content:"ab";)", "ab12cd"));
}

TEST_CASE("nocase") {
  CHECK_FALSE(matches(R"(content:"SELECT";)", "union select"));
  CHECK(matches(R"(content:"SELECT"; nocase;)", "union select"));
  CHECK(matches(R"(content:"sElEcT"; nocase;)", "UNION SELECT"));
}

TEST_CASE("negated content and absolute and relative") {
  CHECK(matches(R"(content:"GET"; content:!"admin";)", "GET /index"));
  CHECK_FALSE(matches(R"(content:"GET"; content:!"admin";)", "GET /admin"));
  CHECK(matches(R"(content:!"admin"; depth:6;)", "GET /admin"));  // outside the window [0, 6)
  CHECK(matches(R"(content:"GET"; content:!"admin"; distance:0; within:5;)", "GET /x/admin"));
  CHECK_FALSE(matches(R"(content:"GET"; content:!"admin"; distance:0; within:7;)", "GET /admin"));
  // a negated content does not move the reference point of the next relative content
  CHECK(matches(R"(content:"a"; content:!"zz"; content:"b"; distance:1; within:1;)", "a_b"));
}

TEST_CASE("relative matches backtrack to later occurrences") {
  // The first "a" is followed by "x", the second by "b".
  CHECK(matches(R"(content:"a"; content:"b"; distance:0; within:1;)", "axab"));
  // Three levels: only the last "a" starts a full chain.
  CHECK(matches(R"(content:"a"; content:"b"; distance:0; within:1; content:"c"; distance:0; within:1;)", "abxaabc"));
  // A negated relative content failing sends the previous content to its next occurrence.
  CHECK(matches(R"(content:"key="; content:!"safe"; distance:0; within:4;)", "key=safe key=evil"));
  CHECK_FALSE(matches(R"(content:"key="; content:!"safe"; distance:0; within:4;)", "key=safe key=safe"));
}

TEST_CASE("an independent content that fails ends the inspection") {
  CHECK_FALSE(matches(R"(content:"a"; content:"zzz";)", "aaaa"));
}

TEST_CASE("hostile payloads cannot make inspection unbounded") {
  // 2000 candidate positions for the first content, none completing the chain: the budget stops it.
  uint32_t left = 0;
  const std::string payload(4000, 'a');
  CHECK_FALSE(matches(R"(content:"a"; content:"a"; distance:0; content:"b"; distance:0;)", payload, &left));
  CHECK(left == 0);
}

TEST_CASE("find_pattern bounds") {
  const std::string text = "hello";
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  CHECK(find_pattern(bytes, 0, 5, "llo", false) == 2);
  CHECK(find_pattern(bytes, 0, 4, "llo", false) == -1);
  CHECK(find_pattern(bytes, 3, 5, "llo", false) == -1);
  CHECK(find_pattern(bytes, 0, 5, "HELLO", true) == 0);
  CHECK(find_pattern(bytes, 0, 5, "hello!", false) == -1);
}

TEST_CASE("startswith and endswith") {
  CHECK(matches(R"(content:"GET"; startswith;)", "GET /"));
  CHECK_FALSE(matches(R"(content:"GET"; startswith;)", " GET /"));
  CHECK(matches(R"(content:".exe"; endswith;)", "/a/b.exe"));
  CHECK_FALSE(matches(R"(content:".exe"; endswith;)", "/a/b.exe?x=1"));
  CHECK_FALSE(matches(R"(content:".exe"; endswith;)", ".ex"));
  // endswith with a relative window: ".exe" must follow "/b" and end the buffer.
  CHECK(matches(R"(content:"/b"; content:".exe"; distance:0; endswith;)", "/a/b.exe"));
  CHECK_FALSE(matches(R"(content:"/b"; content:".exe"; distance:0; within:4; endswith;)", "/a/b.exe.exe"));
  // The only ".exe" that ends the buffer is the second one.
  CHECK(matches(R"(content:".exe"; endswith;)", "x.exe/y.exe"));
}

TEST_CASE("pcre: absolute, relative after a content, flags, negation") {
  CHECK(matches(R"(pcre:"/id=\d+/";)", "GET /?id=42"));
  CHECK_FALSE(matches(R"(pcre:"/id=\d+/";)", "GET /?id=x"));
  CHECK(matches(R"(pcre:"/select/i";)", "UNION SELECT"));
  CHECK_FALSE(matches(R"(pcre:"/select/";)", "UNION SELECT"));
  // R: the regex sees the buffer from the end of the previous match, so ^ anchors there.
  CHECK(matches(R"(content:"GET "; pcre:"/^\/admin/R";)", "GET /admin"));
  CHECK_FALSE(matches(R"(content:"GET "; pcre:"/^\/admin/R";)", "GET /x/admin"));
  // Without R, ^ is the start of the buffer.
  CHECK_FALSE(matches(R"(content:"GET "; pcre:"/^\/admin/";)", "GET /admin"));
  CHECK(matches(R"(content:"a"; pcre:!"/evil/";)", "a good"));
  CHECK_FALSE(matches(R"(content:"a"; pcre:!"/evil/";)", "a evil"));
  // A content relative to a pcre starts after the regex's match.
  CHECK(matches(R"(pcre:"/user=\w+/"; content:"&"; distance:0; within:1;)", "user=bob&x"));
  CHECK_FALSE(matches(R"(pcre:"/user=\w+/"; content:"x"; distance:0; within:1;)", "user=bob&x"));
  // Backtracking through a relative pcre: the first "k=" is followed by letters, the second by digits.
  CHECK(matches(R"(content:"k="; pcre:"/^\d+/R";)", "k=abc k=123"));
}

TEST_CASE("pcre: a catastrophic pattern stops at PCRE2's limits instead of stalling") {
  static const RuleVariables vars = RuleVariables::with_suricata_defaults();
  auto rule = parse_rule(R"(alert tcp any any -> any any (pcre:"/(a+)+$/"; sid:1;))", RuleParseContext{&vars, nullptr, "t", 1});
  REQUIRE(rule);
  const std::string payload = std::string(64, 'a') + "!";
  InspectBudget budget;
  RegexScratch regex;
  CHECK_FALSE(inspect_section(rule->sections[0],
                              std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(payload.data()), payload.size()),
                              -1, regex, budget));
  CHECK(budget.regex_limits_hit == 1);
}

TEST_CASE("isdataat: absolute, relative, negated, as Suricata compares") {
  CHECK(matches(R"(content:"ab"; isdataat:3;)", "abcd"));        // offset 3 < length 4
  CHECK_FALSE(matches(R"(content:"ab"; isdataat:4;)", "abcd"));
  CHECK(matches(R"(content:"ab"; isdataat:2,relative;)", "abcd"));  // 2 + 2 <= 4
  CHECK_FALSE(matches(R"(content:"ab"; isdataat:3,relative;)", "abcd"));
  CHECK(matches(R"(content:"ab"; isdataat:!3,relative;)", "abcd"));
  CHECK_FALSE(matches(R"(content:"ab"; isdataat:!1,relative;)", "abcd"));
}

TEST_CASE("byte_test: binary and string numbers, endianness, operators, bitmask, relative") {
  const std::string p("\x00\x10\x20\x30" "1234 FF", 11);
  CHECK(matches(R"(content:"|00|"; byte_test:2,=,16,0;)", p));           // 0x0010 big endian
  CHECK(matches(R"(content:"|00|"; byte_test:2,=,4096,0,little;)", p));  // 0x1000
  CHECK(matches(R"(content:"|00|"; byte_test:1,>,0x1f,2;)", p));
  CHECK_FALSE(matches(R"(content:"|00|"; byte_test:1,>,0x20,2;)", p));
  CHECK(matches(R"(content:"|00|"; byte_test:1,!>,0x20,2;)", p));
  CHECK(matches(R"(content:"|00|"; byte_test:1,&,0x10,1;)", p));
  CHECK(matches(R"(content:"|00|"; byte_test:1,!&,0x01,1;)", p));
  CHECK(matches(R"(content:"|30|"; byte_test:4,=,1234,0,relative,string,dec;)", p));
  CHECK(matches(R"(content:"|30|"; byte_test:2,=,255,5,relative,string,hex;)", p));
  CHECK(matches(R"(content:"|00|"; byte_test:2,=,1,0,bitmask 0x00f0;)", p));  // 0x0010 & 0xf0 >> 4
  CHECK_FALSE(matches(R"(content:"|00|"; byte_test:4,>,0,10;)", p));  // past the end of the buffer
}

TEST_CASE("byte_jump: relative jumps, multiplier, align, from_beginning, post_offset") {
  // A length byte 3, then 3 bytes, then "END".
  const std::string p("\x03" "abcEND" "\x01\x00\x00\x00" "xyzw" "TAIL", 19);
  CHECK(matches(R"(byte_jump:1,0; content:"END"; within:3;)", p));
  CHECK_FALSE(matches(R"(byte_jump:1,0; content:"abc"; within:3;)", p));
  // multiplier 2: jumps 6 bytes from after the length byte, to the \x01 after "END".
  CHECK(matches(R"(byte_jump:1,0,multiplier 2; content:"|01|"; within:1;)", p));
  // align rounds 3 up to 4: lands on "ND".
  CHECK(matches(R"(byte_jump:1,0,align; content:"ND"; within:2;)", p));
  // little endian 4-byte length 1 at offset 7, post_offset 3: 11 + 1 + 3 = 15 -> "TAIL".
  CHECK(matches(R"(content:"END"; byte_jump:4,0,relative,little,post_offset 3; content:"TAIL"; within:4;)", p));
  // from_beginning: the length 3 is measured from the start of the buffer.
  CHECK(matches(R"(content:"|03|"; byte_jump:1,-1,relative,from_beginning; content:"cEND"; within:4;)", p));
  // A jump past the end of the buffer fails.
  CHECK_FALSE(matches(R"(content:"|03|"; byte_jump:1,-1,relative,multiplier 100;)", p));
}

namespace {

// Payload bytes given as numbers (avoids \x escapes running into the next character).
std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out += static_cast<char>(v);
  return out;
}

}  // namespace

TEST_CASE("byte_extract: the value sets a relative content's distance, backtracking re-extracts") {
  const std::string rule = R"(content:"LEN"; byte_extract:1,0,n,relative; content:"X"; distance:n; within:1;)";
  // n=3, read ends at 4: "X" must be at 7
  CHECK(matches(rule, "LEN" + bytes({3}) + "abcX"));
  CHECK_FALSE(matches(rule, "LEN" + bytes({2}) + "abcX"));
  // the first LEN gives n=5 (past the end); the second LEN n=0: "X" right after it
  CHECK(matches(rule, "LEN" + bytes({5}) + "LEN" + bytes({0}) + "X"));
  // the variable as within: "X" somewhere in the n bytes after the length byte
  CHECK(matches(R"(content:"L"; byte_extract:1,0,n,relative; content:"X"; within:n;)", "L" + bytes({3}) + "abX"));
  CHECK_FALSE(matches(R"(content:"L"; byte_extract:1,0,n,relative; content:"X"; within:n;)", "L" + bytes({2}) + "abX"));
  // absolute offset/depth from variables: depth counts from offset
  CHECK(matches(R"(byte_extract:1,0,o; byte_extract:1,1,d; content:"Q"; offset:o; depth:d;)", bytes({4, 2}) + "..xQ"));
  CHECK_FALSE(matches(R"(byte_extract:1,0,o; byte_extract:1,1,d; content:"Q"; offset:o; depth:d;)", bytes({4, 1}) + "..xQ"));
  // a byte_extract moves prev_end past the bytes it read
  CHECK(matches(R"(byte_extract:2,1,n; content:"Z"; distance:0; within:1;)", "a" + bytes({0, 9}) + "Z"));
}

TEST_CASE("byte_extract: as byte_jump offset, byte_test value/offset and isdataat offset") {
  // off=2: byte_jump reads the byte at 2 (1) and jumps 1 past it, to "Z" at 4
  CHECK(matches(R"(byte_extract:1,0,off; byte_jump:1,off; content:"Z"; within:1;)", bytes({2, 'a', 1, 'b', 'Z'})));
  CHECK_FALSE(matches(R"(byte_extract:1,0,off; byte_jump:1,off; content:"Z"; within:1;)", bytes({2, 'a', 0, 'b', 'Z'})));
  // byte_test against the extracted value and at the extracted offset
  CHECK(matches(R"(byte_extract:1,0,v; byte_test:1,=,v,1;)", bytes({7, 7})));
  CHECK_FALSE(matches(R"(byte_extract:1,0,v; byte_test:1,=,v,1;)", bytes({7, 8})));
  CHECK(matches(R"(byte_extract:1,0,at; byte_test:1,>,200,at;)", bytes({2, 0, 201})));
  // isdataat from a variable: absolute is offset < length
  CHECK(matches(R"(byte_extract:1,0,n; isdataat:n;)", bytes({2, 'a', 'b'})));
  CHECK_FALSE(matches(R"(byte_extract:1,0,n; isdataat:n;)", bytes({3, 'a', 'b'})));
  CHECK(matches(R"(byte_extract:1,0,n; isdataat:!n;)", bytes({3, 'a', 'b'})));
}

TEST_CASE("byte_extract: multiplier, align, bitmask, endianness, string bases, failures") {
  CHECK(matches(R"(byte_extract:1,0,n,multiplier 2; content:"Q"; offset:n; depth:1;)", bytes({2}) + "abcQ"));
  CHECK_FALSE(matches(R"(byte_extract:1,0,n,multiplier 2; content:"Q"; offset:n; depth:1;)", bytes({2}) + "abQ"));
  CHECK(matches(R"(byte_extract:1,0,n,align 4; byte_test:1,=,n,1;)", bytes({5, 8})));
  CHECK(matches(R"(byte_extract:1,0,n,align 2; byte_test:1,=,n,1;)", bytes({5, 6})));
  CHECK(matches(R"(byte_extract:1,0,n,align 4; byte_test:1,=,n,1;)", bytes({8, 8})));
  // 0x3a & 0xf0 = 0x30, shifted past the mask's zero bits: 3
  CHECK(matches(R"(byte_extract:1,0,n,bitmask 0xf0; byte_test:1,=,n,1;)", bytes({0x3a, 3})));
  CHECK(matches(R"(byte_extract:2,0,n,little; byte_test:2,=,n,0,little;)", bytes({1, 2})));
  CHECK(matches(R"(byte_extract:2,0,n; byte_test:2,=,258,0;)", bytes({1, 2})));
  CHECK(matches(R"(byte_extract:2,0,n,little; byte_test:2,=,n,2;)", bytes({1, 2, 2, 1})));
  CHECK(matches(R"(byte_extract:2,0,n,string,hex; byte_test:1,=,n,2;)", "1F" + bytes({0x1f})));
  CHECK(matches(R"(byte_extract:2,0,n,string,oct; byte_test:1,=,n,2;)", "17" + bytes({15})));
  CHECK(matches(R"(byte_extract:2,0,n,string,dec; byte_test:1,=,n,2;)", "42*"));
  CHECK(matches(R"(byte_extract:2,0,n,string; byte_test:1,=,n,2;)", "42*"));
  // a string reads the digits there are: prev_end is after "7"
  CHECK(matches(R"(byte_extract:3,0,n,string,dec; content:"x"; distance:0; within:1;)", "7x9"));
  // not enough data, no digits, nothing after prev_end: no match
  CHECK_FALSE(matches(R"(byte_extract:4,0,n;)", "abc"));
  CHECK_FALSE(matches(R"(byte_extract:2,0,n,string,dec;)", "xyz"));
  CHECK_FALSE(matches(R"(content:"ab"; byte_extract:1,0,n,relative;)", "ab"));
  CHECK_FALSE(matches(R"(byte_extract:1,-1,n;)", "ab"));
}

TEST_CASE("byte_math: every operator, division by zero, bitmask, string, result reuse") {
  auto math = [](const char* oper, int rvalue, int expected) {
    return matches(std::string("byte_math:bytes 1,offset 0,oper ") + oper + ",rvalue " + std::to_string(rvalue) +
                       ",result r; byte_test:1,=,r,1;",
                   bytes({10, expected}));
  };
  CHECK(math("+", 3, 13));
  CHECK_FALSE(math("+", 3, 12));
  CHECK(math("-", 3, 7));
  CHECK(math("*", 3, 30));
  CHECK(math("/", 3, 3));
  CHECK(math("<<", 3, 80));
  CHECK(math(">>", 3, 1));
  // division by zero is a non-match, even where the test would otherwise hold
  CHECK_FALSE(math("/", 0, 10));
  CHECK_FALSE(math("/", 0, 0));
  CHECK_FALSE(matches(R"(byte_extract:1,1,z; byte_math:bytes 1,offset 0,oper /,rvalue z,result r;)", bytes({10, 0})));
  CHECK(matches(R"(byte_extract:1,1,z; byte_math:bytes 1,offset 0,oper /,rvalue z,result r; byte_test:1,=,r,2;)",
                bytes({10, 5, 2})));
  // bitmask after the operation: (0x12 + 0x20) & 0xf0 = 0x30, >> 4 = 3
  CHECK(matches(R"(byte_math:bytes 1,offset 0,oper +,rvalue 32,result r,bitmask 0xf0; byte_test:1,=,r,1;)",
                bytes({0x12, 3})));
  CHECK(matches(R"(byte_math:bytes 2,offset 0,oper +,rvalue 3,result r,string dec; byte_test:1,=,r,2;)", "12" + bytes({15})));
  CHECK(matches(R"(byte_math:bytes 2,offset 0,oper -,rvalue 1,result r,endian little; byte_test:2,=,r,2;)",
                bytes({1, 2, 2, 0})));
  // the result as a content offset, and byte_math moving prev_end past what it read
  CHECK(matches(R"(byte_math:bytes 1,offset 0,oper +,rvalue 1,result r; content:"K"; offset:r; depth:1;)", bytes({1}) + "aK"));
  CHECK_FALSE(matches(R"(byte_math:bytes 1,offset 0,oper +,rvalue 1,result r; content:"K"; offset:r; depth:1;)", bytes({2}) + "aK"));
  CHECK(matches(R"(content:"H"; byte_math:bytes 1,offset 0,oper +,rvalue 0,result r,relative; content:"T"; distance:0; within:1;)",
                "H" + bytes({5}) + "T"));
  CHECK_FALSE(matches(R"(byte_math:bytes 4,offset 0,oper +,rvalue 1,result r;)", "abc"));
}

TEST_CASE("bsize: each operator, with contents and a negated content") {
  CHECK(matches("bsize:5;", "12345"));
  CHECK_FALSE(matches("bsize:5;", "1234"));
  CHECK_FALSE(matches("bsize:5;", "123456"));
  CHECK(matches("bsize:<5;", "1234"));
  CHECK_FALSE(matches("bsize:<5;", "12345"));
  CHECK(matches("bsize:<=5;", "12345"));
  CHECK_FALSE(matches("bsize:<=5;", "123456"));
  CHECK(matches("bsize:>5;", "123456"));
  CHECK_FALSE(matches("bsize:>5;", "12345"));
  CHECK(matches("bsize:>=5;", "12345"));
  CHECK_FALSE(matches("bsize:>=5;", "1234"));
  CHECK(matches("bsize:3<>6;", "1234"));
  CHECK(matches("bsize:3<>6;", "12345"));
  CHECK_FALSE(matches("bsize:3<>6;", "123"));
  CHECK_FALSE(matches("bsize:3<>6;", "123456"));
  CHECK(matches(R"(content:"abc"; bsize:3;)", "abc"));
  CHECK_FALSE(matches(R"(content:"abc"; bsize:3;)", "abcd"));
  CHECK(matches(R"(bsize:>2; content:"abc";)", "xabc"));
  CHECK(matches(R"(content:!"evil"; bsize:<10;)", "good"));
  CHECK_FALSE(matches(R"(content:!"evil"; bsize:<10;)", "evil"));
  CHECK_FALSE(matches(R"(content:!"evil"; bsize:<10;)", "goodgoodgood"));
}

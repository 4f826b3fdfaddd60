// The asn1 keyword's BER decoder and checks on hand-built encodings. Expectations follow
// Suricata 7's rust/src/asn1/mod.rs tests (X.690 A.3 for oversize_length, its bitstring and
// double buffers) and der-parser's rules it decodes with (see sensor/detect/asn1.cpp).
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "sensor/detect/asn1.hpp"
#include "sensor/detect/content_inspect.hpp"
#include "sensor/flow/flow.hpp"
#include "signatures/detail/asn1_option.hpp"
#include "signatures/rule_parser.hpp"
#include "tests/unit/detect/detect_harness.hpp"

using namespace eastwatch;
using eastwatch::test::Engine;
using eastwatch::test::TestPacket;

namespace {

using Bytes = std::vector<uint8_t>;

bool decode(const std::string& options, const Bytes& data) {
  auto option = detail::parse_asn1(options);
  REQUIRE(option);
  return asn1_decode_matches(*option, data);
}

Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

// X.690 (07/2002) Annex A.3: a definite-length record of 0x85 (133) content bytes.
Bytes x690_a3() {
  const std::string text =
      "\x60\x81\x85\x61\x10\x1A\x04John\x1A\x01P\x1A\x05Smith\xA0\x0A\x1A\x08"
      "Director\x42\x01\x33\xA1\x0A\x43\x08"
      "19710917\xA2\x12\x61\x10\x1A\x04Mary\x1A\x01T\x1A\x05Smith\xA3\x42\x31\x1F\x61\x11\x1A\x05Ralph\x1A\x01T\x1A\x05"
      "Smith\xA0\x0A\x43\x08"
      "19571111\x31\x1F\x61\x11\x1A\x05Susan\x1A\x01\x42\x1A\x05Jones\xA0\x0A\x43\x08"
      "19590717";
  return Bytes(text.begin(), text.end());
}

// A primitive universal REAL of `length` content bytes (two-octet long-form length), the
// first content octet `first`, `present` content bytes actually there.
Bytes real(size_t length, uint8_t first, size_t present) {
  Bytes out{0x09, 0x82, static_cast<uint8_t>(length >> 8), static_cast<uint8_t>(length & 0xff)};
  for (size_t i = 0; i < present; ++i) out.push_back(i == 0 ? first : 0x05);
  return out;
}

bool inspect(const std::string& options, const Bytes& payload) {
  return test::inspect_one_section(options, std::span<const uint8_t>(payload.data(), payload.size()));
}

}  // namespace

TEST_CASE("asn1 oversize_length: X.690 A.3 and long-form and indefinite and truncated lengths") {
  CHECK(x690_a3().size() == 136);
  CHECK(decode("oversize_length 132", x690_a3()));  // the record's length is 133
  CHECK_FALSE(decode("oversize_length 133", x690_a3()));
  // OCTET STRING of 300 bytes, long-form length 0x82 0x01 0x2C.
  Bytes octets{0x04, 0x82, 0x01, 0x2c};
  octets.resize(4 + 300, 'a');
  CHECK(decode("oversize_length 299", octets));
  CHECK_FALSE(decode("oversize_length 300", octets));
  // The same, one byte missing: the element is malformed, nothing matches.
  Bytes truncated(octets.begin(), octets.end() - 1);
  CHECK_FALSE(decode("oversize_length 10", truncated));
  // An indefinite SEQUENCE has no length of its own; an element inside it does.
  const Bytes indefinite = cat({{0x30, 0x80, 0x04, 0x05}, Bytes(5, 'x'), {0x00, 0x00}});
  CHECK(decode("oversize_length 4", indefinite));
  CHECK_FALSE(decode("oversize_length 5", indefinite));
  // No end-of-contents: the SEQUENCE is malformed, its element's match does not count.
  const Bytes unterminated(indefinite.begin(), indefinite.end() - 2);
  CHECK_FALSE(decode("oversize_length 4", unterminated));
  // Long form with 9 significant octets, and 0xFF: refused.
  CHECK_FALSE(decode("oversize_length 0", Bytes{0x04, 0x89, 1, 0, 0, 0, 0, 0, 0, 0, 0}));
  CHECK_FALSE(decode("oversize_length 0", Bytes{0x04, 0xff, 0x01}));
}

TEST_CASE("asn1 bitstring_overflow: unused bits beyond the string") {
  CHECK(decode("bitstring_overflow", Bytes{0x03, 0x01, 0xff}));        // 255 > 8 * 1 (Suricata's test)
  CHECK_FALSE(decode("bitstring_overflow", Bytes{0x03, 0x01, 0x07}));  // 7 (Suricata's test)
  CHECK_FALSE(decode("bitstring_overflow", Bytes{0x03, 0x01, 0x08}));  // 8 is not > 8
  CHECK(decode("bitstring_overflow", Bytes{0x03, 0x01, 0x09}));
  CHECK(decode("bitstring_overflow", Bytes{0x03, 0x81, 0x01, 0x09}));  // long-form length 1
  CHECK(decode("bitstring_overflow", Bytes{0x03, 0x02, 0x11, 0x00}));  // 17 > 16
  CHECK_FALSE(decode("bitstring_overflow", Bytes{0x03, 0x02, 0x10, 0x00}));
  CHECK_FALSE(decode("bitstring_overflow", Bytes{0x03, 0x00}));         // empty: malformed
  CHECK_FALSE(decode("bitstring_overflow", Bytes{0x03, 0x03, 0xff}));   // truncated
  CHECK_FALSE(decode("bitstring_overflow", Bytes{0x23, 0x03, 0x03, 0x01, 0xff}));  // constructed: refused
  CHECK_FALSE(decode("bitstring_overflow", Bytes{0x83, 0x01, 0xff}));   // context [3]: not a BIT STRING
  // Inside SEQUENCEs, definite and indefinite.
  CHECK(decode("bitstring_overflow", Bytes{0x30, 0x03, 0x03, 0x01, 0xff}));
  CHECK(decode("bitstring_overflow", Bytes{0x30, 0x80, 0x03, 0x01, 0xff, 0x00, 0x00}));
  // A context-specific wrapper is raw content: not descended into.
  CHECK_FALSE(decode("bitstring_overflow", Bytes{0xa0, 0x03, 0x03, 0x01, 0xff}));
  // A definite SEQUENCE keeps the elements before a malformed one (the rest is ignored).
  CHECK(decode("bitstring_overflow", Bytes{0x30, 0x05, 0x03, 0x01, 0xff, 0x05, 0x01}));
  // Only the checks asked for.
  CHECK_FALSE(decode("double_overflow", Bytes{0x03, 0x01, 0xff}));
}

TEST_CASE("asn1 double_overflow: a decimal REAL longer than 256 bytes") {
  CHECK(decode("double_overflow", real(257, 0x01, 257)));  // Suricata's test: length 257
  CHECK_FALSE(decode("double_overflow", real(256, 0x01, 256)));
  CHECK_FALSE(decode("double_overflow", real(257, 0x80, 257)));  // binary encoding
  CHECK_FALSE(decode("double_overflow", real(257, 0x40, 257)));  // special value
  CHECK_FALSE(decode("double_overflow", real(257, 0x01, 200)));  // truncated
  CHECK_FALSE(decode("bitstring_overflow", real(257, 0x01, 257)));
}

TEST_CASE("asn1 decodes at most 30 top-level elements and 30 levels") {
  const Bytes hit{0x03, 0x01, 0xff};
  const Bytes null{0x05, 0x00};
  Bytes thirty = hit;
  for (int i = 0; i < 29; ++i) thirty.insert(thirty.end(), null.begin(), null.end());
  CHECK(decode("bitstring_overflow", thirty));
  // A 31st element: Suricata's MaxFrames error fails the whole decoding.
  Bytes thirty_one = cat({thirty, null});
  CHECK_FALSE(decode("bitstring_overflow", thirty_one));
  // A malformed element ends the decoding; the ones before still count, the ones after not.
  CHECK(decode("bitstring_overflow", cat({hit, {0x1f}})));
  CHECK_FALSE(decode("bitstring_overflow", cat({{0x05, 0x01}, hit})));  // NULL of length 1
  // Nesting: the BIT STRING at level 30 is decoded, at level 31 it is too deep (and dropped by
  // its definite SEQUENCE, which still decodes).
  auto nested = [&](int wrappers) {
    Bytes inner = hit;
    for (int i = 0; i < wrappers; ++i) inner = cat({{0x30, static_cast<uint8_t>(inner.size())}, inner});
    return inner;
  };
  CHECK(decode("bitstring_overflow", nested(29)));
  CHECK_FALSE(decode("bitstring_overflow", nested(30)));
}

TEST_CASE("asn1 element validation follows der-parser") {
  CHECK(decode("oversize_length 0", Bytes{0x01, 0x01, 0xff}));         // BOOLEAN, length 1 > 0
  CHECK_FALSE(decode("oversize_length 0", Bytes{0x01, 0x02, 0, 0}));   // BOOLEAN of 2
  CHECK_FALSE(decode("oversize_length 0", Bytes{0x06, 0x01, 0x81}));   // OID ending in 0x81
  CHECK(decode("oversize_length 0", Bytes{0x0c, 0x02, 0xc3, 0xa9}));   // UTF8String "é"
  CHECK_FALSE(decode("oversize_length 0", Bytes{0x0c, 0x02, 0xc3, 0x28}));
  CHECK_FALSE(decode("oversize_length 0", Bytes{0x13, 0x01, '*'}));    // not printable
  CHECK(decode("oversize_length 0", Bytes{0x13, 0x01, 'A'}));
  CHECK_FALSE(decode("oversize_length 0", Bytes{0x10, 0x00}));          // primitive SEQUENCE
  CHECK_FALSE(decode("oversize_length 0", Bytes{0x02, 0x80, 0x00, 0x00}));  // indefinite INTEGER
  // Tag numbers over several octets (here 200: 0x81 0x48), application class: raw content.
  CHECK(decode("oversize_length 1", Bytes{0x5f, 0x81, 0x48, 0x02, 'a', 'b'}));
  CHECK_FALSE(decode("oversize_length 2", Bytes{0x5f, 0x81, 0x48, 0x02, 'a', 'b'}));
  // An indefinite context-specific element: its raw content (with the end-of-contents) counts.
  CHECK(decode("oversize_length 3", Bytes{0xa0, 0x80, 0x04, 0x00, 0x00, 0x00}));
  CHECK_FALSE(decode("oversize_length 4", Bytes{0xa0, 0x80, 0x04, 0x00, 0x00, 0x00}));
}

TEST_CASE("asn1 offsets: absolute or relative to the last match or negative or out of range") {
  const Bytes at2 = cat({{'A', 'A'}, {0x03, 0x01, 0xff}});
  CHECK_FALSE(inspect("asn1:bitstring_overflow;", at2));  // 'A' = [APPLICATION 1], truncated
  CHECK(inspect("asn1:bitstring_overflow, absolute_offset 2;", at2));
  CHECK(inspect(R"(content:"AA"; asn1:bitstring_overflow, relative_offset 0;)", at2));
  CHECK_FALSE(inspect(R"(content:"AA"; asn1:bitstring_overflow, relative_offset 1;)", at2));
  CHECK_FALSE(inspect("asn1:bitstring_overflow, absolute_offset 5;", at2));  // at the end
  // Negative: from the end of "XY" (5) back to 0.
  const Bytes before = cat({{0x03, 0x01, 0xff}, {'X', 'Y'}});
  CHECK(inspect(R"(content:"XY"; asn1:bitstring_overflow, relative_offset -5;)", before));
  CHECK_FALSE(inspect(R"(content:"XY"; asn1:bitstring_overflow, relative_offset -6;)", before));
  // absolute_offset wins.
  CHECK(inspect(R"(content:"AA"; asn1:bitstring_overflow, relative_offset 7, absolute_offset 2;)", at2));
  // Written before the content, asn1 still uses the cursor the content left.
  CHECK(inspect(R"(asn1:bitstring_overflow, relative_offset 0; content:"AA";)", at2));
  // A negated content does not move the cursor (the ET rules' content:!"NTLMSSP" before asn1).
  CHECK(inspect(R"(content:"AA"; content:!"NTLMSSP"; within:7; asn1:bitstring_overflow, relative_offset 0;)", at2));
  // A failure is final: no later occurrence of the content is tried for asn1 (Suricata runs it
  // once, after the payload inspection).
  const Bytes twice = cat({{'A', 'A', 0x05, 0x00}, {'A', 'A'}, {0x03, 0x01, 0xff}});
  CHECK_FALSE(inspect(R"(content:"AA"; asn1:bitstring_overflow, relative_offset 0;)", twice));
}

TEST_CASE("asn1 ET Open rule (GPL NETBIOS SMB-DS NTLMSSP asn1 overflow) loads and fires") {
  std::string rule =
      R"(alert tcp $EXTERNAL_NET any -> $HOME_NET 445 (msg:"GPL NETBIOS SMB-DS Session Setup NTMLSSP asn1 overflow attempt"; flow:established,to_server; content:"|00|"; depth:1; content:"|FF|SMBs"; within:5; distance:3; byte_test:1,!&,128,6,relative; byte_test:4,&,2147483648,48,relative,little; content:!"NTLMSSP"; within:7; distance:54; asn1:double_overflow, bitstring_overflow, relative_offset 54, oversize_length 2048; sid:2102383; rev:1;))";
  const auto file = std::filesystem::path(EASTWATCH_SOURCE_DIR) / ".." / "shared" / "rules" / "et-open" /
                    "emerging-netbios.rules";
  if (std::filesystem::exists(file)) {  // the rule as ET Open ships it (line 445)
    std::ifstream in(file);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (n == 445) break;
    }
    REQUIRE(line.find("asn1:double_overflow, bitstring_overflow, relative_offset 54") != std::string::npos);
    rule = line;
  }
  Engine e(rule + "\n");
  // NetBIOS header (0x00 + length), SMB header at 4; "|FF|SMBs" ends at 9, the security blob
  // (where asn1 decodes) at 9 + 54 = 63.
  auto smb = [](const Bytes& blob) {
    Bytes p(63, 0);
    p[1] = 0x00;
    p[4] = 0xff, p[5] = 'S', p[6] = 'M', p[7] = 'B', p[8] = 's';
    p[15] = 0x00;  // byte 9 + 6: bit 7 clear (not unicode)
    p[60] = 0x80;  // bytes 57-60 little endian: capabilities with the extended-security bit
    p.insert(p.end(), blob.begin(), blob.end());
    return std::string(p.begin(), p.end());
  };
  Flow flow;
  auto alerts = [&](const Bytes& blob) {
    TestPacket p("203.0.113.5", 40000, "10.0.0.2", 445, smb(blob));
    p.packet.flow = &flow;
    p.packet.to_server = true;
    p.packet.flow_established = true;
    return e.sids(p.packet);
  };
  CHECK(alerts({0x30, 0x03, 0x03, 0x01, 0xff}) == std::vector<uint32_t>{2102383});  // BIT STRING overflow
  CHECK(alerts(real(257, 0x01, 257)) == std::vector<uint32_t>{2102383});           // REAL overflow
  CHECK(alerts({0x30, 0x03, 0x03, 0x01, 0x07}).empty());                           // a valid BIT STRING
  CHECK(alerts({'N', 'T', 'L', 'M', 'S', 'S', 'P', 0x00, 0x03, 0x01, 0xff}).empty());  // raw NTLMSSP
}

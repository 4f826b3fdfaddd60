// The rule snapshot (signatures/rule_snapshot.hpp): decoding gives back every serialized field
// of every ET Open rule, the errors in order and working regexes; a truncated, bit-flipped,
// stale or foreign file is refused with a reason and never crashes.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "signatures/rule_snapshot.hpp"

using namespace eastwatch;

namespace {

RuleSnapshotKey key_of(std::string_view text) {
  SnapshotKeyBuilder builder;
  builder.add(text);
  return builder.finish();
}

size_t pattern_size(const Regex& regex) {
  size_t size = 0;
  pcre2_pattern_info(regex.code(), PCRE2_INFO_SIZE, &size);
  return size;
}
size_t jit_size(const Regex& regex) {
  size_t size = 0;
  pcre2_pattern_info(regex.code(), PCRE2_INFO_JITSIZE, &size);
  return size;
}

// Fields compared one by one besides the byte-exact re-encoding below (which covers every
// serialized field): the ones a mistake in the codec would most likely mix up.
void check_same(const Rule& a, const Rule& b) {
  REQUIRE(a.sid == b.sid);
  CHECK(a.gid == b.gid);
  CHECK(a.rev == b.rev);
  CHECK(a.msg == b.msg);
  CHECK(a.text == b.text);
  CHECK(a.file == b.file);
  CHECK(a.line == b.line);
  CHECK(a.action == b.action);
  CHECK(a.protocol == b.protocol);
  CHECK(a.priority == b.priority);
  CHECK(a.src_addresses.is_any() == b.src_addresses.is_any());
  CHECK(a.dst_addresses.ranges().size() == b.dst_addresses.ranges().size());
  CHECK(a.src_ports.ranges().size() == b.src_ports.ranges().size());
  CHECK(a.reference_urls == b.reference_urls);
  CHECK(a.metadata == b.metadata);
  CHECK(a.stream == b.stream);
  CHECK(a.threshold.has_value() == b.threshold.has_value());
  CHECK(a.packet.flow.has_value() == b.packet.flow.has_value());
  REQUIRE(a.xbits.size() == b.xbits.size());
  for (size_t i = 0; i < a.xbits.size(); ++i) {
    CHECK(a.xbits[i].command == b.xbits[i].command);
    CHECK(a.xbits[i].track == b.xbits[i].track);
    CHECK(a.xbits[i].name == b.xbits[i].name);
    CHECK(a.xbits[i].expire == b.xbits[i].expire);
    CHECK(a.xbits[i].id == b.xbits[i].id);
  }
  CHECK(a.ftpbounce == b.ftpbounce);
  REQUIRE(a.sections.size() == b.sections.size());
  for (size_t s = 0; s < a.sections.size(); ++s) {
    const BufferSection& x = a.sections[s];
    const BufferSection& y = b.sections[s];
    CHECK(x.kind == y.kind);
    REQUIRE(x.contents.size() == y.contents.size());
    for (size_t c = 0; c < x.contents.size(); ++c) {
      CHECK(x.contents[c].pattern == y.contents[c].pattern);
      CHECK(x.contents[c].nocase == y.contents[c].nocase);
      CHECK(x.contents[c].distance == y.contents[c].distance);
      CHECK(x.contents[c].within == y.contents[c].within);
    }
    REQUIRE(x.pcres.size() == y.pcres.size());
    for (size_t p = 0; p < x.pcres.size(); ++p) {
      CHECK(x.pcres[p].expression == y.pcres[p].expression);
      CHECK(x.pcres[p].options == y.pcres[p].options);
      REQUIRE(y.pcres[p].regex != nullptr);
      CHECK(pattern_size(*x.pcres[p].regex) == pattern_size(*y.pcres[p].regex));
      CHECK((jit_size(*x.pcres[p].regex) > 0) == (jit_size(*y.pcres[p].regex) > 0));
    }
    CHECK(x.steps.size() == y.steps.size());
    for (size_t i = 0; i < std::min(x.steps.size(), y.steps.size()); ++i) {
      CHECK(x.steps[i].kind == y.steps[i].kind);
      CHECK(x.steps[i].index == y.steps[i].index);
    }
    REQUIRE(x.asn1s.size() == y.asn1s.size());
    for (size_t i = 0; i < x.asn1s.size(); ++i) {
      CHECK(x.asn1s[i].bitstring_overflow == y.asn1s[i].bitstring_overflow);
      CHECK(x.asn1s[i].double_overflow == y.asn1s[i].double_overflow);
      CHECK(x.asn1s[i].oversize == y.asn1s[i].oversize);
      CHECK(x.asn1s[i].relative == y.asn1s[i].relative);
      CHECK(x.asn1s[i].oversize_length == y.asn1s[i].oversize_length);
      CHECK(x.asn1s[i].offset == y.asn1s[i].offset);
    }
    REQUIRE(x.byte_tests.size() == y.byte_tests.size());
    for (size_t i = 0; i < x.byte_tests.size(); ++i) {
      CHECK(x.byte_tests[i].read.bytes == y.byte_tests[i].read.bytes);
      CHECK(x.byte_tests[i].read.string_base == y.byte_tests[i].read.string_base);
    }
  }
}

// Encoding the decoded content gives the same bytes (so every serialized field came back),
// except inside the pcre2 stream: pcre2_serialize_decode sets a flag in each code's header
// (PCRE2_DEREF_TABLES) that pcre2_serialize_encode copies as it is. Layout (no included
// files): header 56 bytes, included count u32, regex count u32, stream length u64, stream.
std::string without_regex_stream(const std::string& file) {
  uint64_t stream = 0;
  REQUIRE(file.size() >= 72);
  std::memcpy(&stream, file.data() + 64, 8);
  REQUIRE(file.size() >= 72 + stream);
  return file.substr(0, 40) + file.substr(56, 16) + file.substr(72 + stream);
}
#define CHECK_REENCODES_THE_SAME(key, content, bytes)                                        \
  do {                                                                                       \
    const std::string again = encode_rule_snapshot(key, content);                            \
    CHECK(again.size() == (bytes).size());                                                   \
    CHECK((without_regex_stream(again) == without_regex_stream(bytes)));                     \
  } while (false)

constexpr const char* kSmallSet =
    "alert tcp $HOME_NET any -> $EXTERNAL_NET 80 (msg:\"one\"; flow:to_server,established; content:\"GET\"; "
    "pcre:\"/^GET\\s+\\/[a-z]{3,}/Ri\"; reference:cve,2021-44228; classtype:trojan-activity; sid:1; rev:2;)\n"
    "alert udp any any -> any 53 (msg:\"two\"; content:\"|00 01|\"; offset:2; depth:2; byte_test:1,>,3,0,relative; "
    "threshold:type limit, track by_src, count 1, seconds 60; sid:2;)\n"
    "alert tcp any any -> any any (msg:\"bad\"; nosuchkeyword; sid:3;)\n"
    "alert icmp any any <> [10.0.0.0/8,!10.1.0.0/16] any (msg:\"three\"; itype:8; dsize:>100; sid:4;)\n"
    "alert tcp any any -> any 445 (content:\"|FF|SMB\"; asn1:bitstring_overflow, relative_offset -3, oversize_length 9; "
    "byte_test:0,<,1000,0,string,dec; sid:5;)\n";

RuleSnapshotContent small_content() {
  RuleLoadResult parsed = load_rule_text(kSmallSet, "small.rules", RuleVariables::with_suricata_defaults(), nullptr);
  RuleSnapshotContent content;
  content.rules = std::move(parsed.rules);
  content.errors = std::move(parsed.errors);
  content.config_errors = {"threshold.config:3: no loaded rule 1:99"};
  return content;
}

}  // namespace

TEST_CASE("rule snapshot: every ET Open rule decodes to what parsing gave") {
  const std::filesystem::path dir = std::filesystem::path(EASTWATCH_SOURCE_DIR) / ".." / "shared" / "rules" / "et-open";
  if (!std::filesystem::exists(dir)) {
    WARN("skipped: " << dir << " is absent");
    return;
  }
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".rules") paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  RuleLoadResult parsed = load_rule_files(paths, RuleVariables::with_suricata_defaults(), nullptr);
  REQUIRE(parsed.rules.size() > 24000);
  RuleSnapshotContent content;
  content.rules = std::move(parsed.rules);
  content.errors = std::move(parsed.errors);
  const RuleSnapshotKey key = key_of("et-open");
  const std::string bytes = encode_rule_snapshot(key, content);
  REQUIRE(!bytes.empty());

  auto decoded = decode_rule_snapshot(bytes, key);
  REQUIRE(decoded);
  REQUIRE(decoded->rules.size() == content.rules.size());
  for (size_t i = 0; i < content.rules.size(); ++i) check_same(content.rules[i], decoded->rules[i]);
  REQUIRE(decoded->errors.size() == content.errors.size());
  for (size_t i = 0; i < content.errors.size(); ++i) CHECK(decoded->errors[i].to_string() == content.errors[i].to_string());
  // Every serialized field, byte for byte: encoding what was decoded gives the same file.
  CHECK_REENCODES_THE_SAME(key, *decoded, bytes);
}

TEST_CASE("rule snapshot: a small set round-trips with its errors, and its regex matches") {
  const RuleSnapshotContent content = small_content();
  REQUIRE(content.rules.size() == 4);
  REQUIRE(content.errors.size() == 1);
  const RuleSnapshotKey key = key_of("small");
  const std::string bytes = encode_rule_snapshot(key, content);
  auto decoded = decode_rule_snapshot(bytes, key);
  REQUIRE(decoded);
  REQUIRE(decoded->rules.size() == 4);
  for (size_t i = 0; i < 4; ++i) check_same(content.rules[i], decoded->rules[i]);
  REQUIRE(decoded->rules[3].sections[0].asn1s.size() == 1);
  CHECK(decoded->rules[3].sections[0].asn1s[0].offset == -3);
  CHECK(decoded->rules[3].sections[0].asn1s[0].oversize_length == 9);
  CHECK(decoded->rules[3].sections[0].steps.back().kind == ChainStep::Kind::Asn1);
  CHECK(decoded->errors[0].to_string() == content.errors[0].to_string());
  CHECK(decoded->config_errors == content.config_errors);
  CHECK(decoded->rules[2].dst_addresses.contains(*IpAddress::parse("10.2.0.1")));
  CHECK_FALSE(decoded->rules[2].dst_addresses.contains(*IpAddress::parse("10.1.0.1")));
  CHECK(decoded->rules[0].src_addresses.contains(*IpAddress::parse("192.168.1.1")));  // $HOME_NET
  CHECK(decoded->rules[1].threshold->count == 1);
  RegexScratch scratch;
  size_t start = 0, end = 0;
  const std::string subject = "get /abcd";
  const Regex& regex = *decoded->rules[0].sections[0].pcres[0].regex;
  CHECK(scratch.search(regex, reinterpret_cast<const uint8_t*>(subject.data()), subject.size(), start, end) ==
        RegexScratch::Result::Match);
  CHECK_REENCODES_THE_SAME(key, *decoded, bytes);
}

TEST_CASE("rule snapshot: truncated, bit-flipped, stale or foreign bytes are refused, never a crash") {
  const RuleSnapshotKey key = key_of("small");
  const std::string bytes = encode_rule_snapshot(key, small_content());
  REQUIRE(decode_rule_snapshot(bytes, key));
  for (size_t length = 0; length < bytes.size(); length += (length < 64 ? 1 : 7)) {
    auto decoded = decode_rule_snapshot(std::string_view(bytes).substr(0, length), key);
    CHECK_FALSE(decoded);
  }
  std::string padded = bytes + "x";
  CHECK_FALSE(decode_rule_snapshot(padded, key));
  for (size_t at = 0; at < bytes.size(); ++at) {
    std::string flipped = bytes;
    flipped[at] = static_cast<char>(flipped[at] ^ (1u << (at % 8)));
    auto decoded = decode_rule_snapshot(flipped, key);
    if (decoded) FAIL("a flip at byte " << at << " was accepted");
  }
  auto stale = decode_rule_snapshot(bytes, key_of("other rules"));
  REQUIRE_FALSE(stale);
  CHECK(stale.error().find("stale") != std::string::npos);
  auto foreign = decode_rule_snapshot(std::string(200, 'A'), key);
  REQUIRE_FALSE(foreign);
  CHECK(foreign.error() == "not a rule snapshot");
  auto checksum = [&] {
    std::string flipped = bytes;
    flipped[bytes.size() - 1] ^= 1;
    return decode_rule_snapshot(flipped, key);
  }();
  REQUIRE_FALSE(checksum);
  CHECK(checksum.error().find("checksum") != std::string::npos);
}

TEST_CASE("rule snapshot: the key changes with each input, and a changed included file makes it stale") {
  SnapshotKeyBuilder a, b, c;
  a.add("ab"), a.add("c");
  b.add("a"), b.add("bc");
  CHECK(a.finish() != b.finish());
  RuleVariables variables = RuleVariables::with_suricata_defaults();
  c.add_variables(variables);
  SnapshotKeyBuilder d;
  variables.address_groups["HOME_NET"] = "[10.9.0.0/16]";
  d.add_variables(variables);
  CHECK(c.finish() != d.finish());
  CHECK(build_id().size() >= 16);

  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("snapshot-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string main_file = (dir / "main.rules").string();
  const std::string included = (dir / "more.rules").string();
  std::ofstream(main_file) << "include more.rules\n";
  std::ofstream(included) << "alert udp any any -> any 1 (msg:\"x\"; content:\"abc\"; sid:7;)\n";
  RuleLoadResult parsed = load_rule_files({main_file}, variables, nullptr);
  REQUIRE(parsed.rules.size() == 1);
  REQUIRE(parsed.included_files == std::vector<std::string>{included});
  RuleSnapshotContent content;
  content.rules = std::move(parsed.rules);
  content.included_files = parsed.included_files;
  const RuleSnapshotKey key = key_of("include");
  const std::string bytes = encode_rule_snapshot(key, content);
  CHECK(decode_rule_snapshot(bytes, key));
  std::ofstream(included) << "alert udp any any -> any 1 (msg:\"x\"; content:\"abd\"; sid:7;)\n";
  auto stale = decode_rule_snapshot(bytes, key);
  REQUIRE_FALSE(stale);
  CHECK(stale.error().find("more.rules") != std::string::npos);
  std::filesystem::remove_all(dir);
}

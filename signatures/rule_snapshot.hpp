// A serialized snapshot of a parsed rule set, so that a restart with unchanged inputs decodes
// its rules instead of parsing them (issue 3's warm start). It lives beside the Hyperscan
// cache (detect.hs-cache-dir) as rules-<key>.snapshot.
//
// Contract:
//  - The key is a digest of everything parsing depends on: the rule files' names and contents,
//    the rule variables, the classification/reference/threshold config files, the binary's
//    build id, the regex engine and PCRE2 versions and the format version (SnapshotKeyBuilder
//    gathers them; the caller adds what it reads). Files pulled in by `include` are not known
//    before parsing: the snapshot lists them with a digest of their contents, and a changed one
//    makes it stale.
//  - The content is what loading produced before compiling: the rules (after duplicate removal,
//    reference resolution and threshold.config), every rule error and config error in order,
//    so `-T`, the counts and every `FILE:LINE: reason` line are identical to a fresh parse.
//    pcre regexes are stored with pcre2_serialize_encode and JIT-compiled again on decode.
//  - decode_rule_snapshot never crashes on any input: a wrong magic, format, key, length or
//    checksum, a truncation, or a field out of range is an error naming the reason, and the
//    caller parses instead.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "signatures/rule.hpp"
#include "signatures/rule_parser.hpp"

namespace eastwatch {

using RuleSnapshotKey = std::array<uint8_t, 16>;

// Bumped with every change of the encoding (the build id changes with the code anyway).
inline constexpr uint32_t kRuleSnapshotFormat = 3;

class SnapshotKeyBuilder {
 public:
  SnapshotKeyBuilder();  // starts with the format, build id and engine versions
  ~SnapshotKeyBuilder();
  SnapshotKeyBuilder(const SnapshotKeyBuilder&) = delete;
  SnapshotKeyBuilder& operator=(const SnapshotKeyBuilder&) = delete;

  void add(std::string_view bytes);  // length-prefixed, so ("ab","c") != ("a","bc")
  void add_variables(const RuleVariables& variables);
  // The file's name, then its contents or a marker for "cannot be read".
  void add_file(const std::string& path);
  RuleSnapshotKey finish() const;

 private:
  void* state_;
};

// The bytes of a file and whether it could be read (read(2) into one string).
bool read_whole_file(const std::string& path, std::string& out);

// The running binary's GNU build id as hex (empty when it has none).
std::string build_id();

std::string snapshot_key_hex(const RuleSnapshotKey& key);

struct RuleSnapshotContent {
  std::vector<Rule> rules;
  std::vector<RuleError> errors;
  std::vector<std::string> config_errors;
  std::vector<std::string> included_files;  // read through `include`; checked on decode
};

// What encoding reads: the same, borrowed (e.g. a compiled set's rules, in evaluation order, so
// that compiling the decoded rules moves none of them).
struct RuleSnapshotView {
  std::span<const Rule> rules;
  std::span<const RuleError> errors;
  std::span<const std::string> config_errors;
  std::span<const std::string> included_files;
};

// The snapshot file's bytes (reads each included file to digest it); empty if the regexes
// cannot be serialized.
std::string encode_rule_snapshot(const RuleSnapshotKey& key, const RuleSnapshotView& view);
std::string encode_rule_snapshot(const RuleSnapshotKey& key, const RuleSnapshotContent& content);
// The content back, or why the bytes are not a valid, current snapshot for `key`.
tl::expected<RuleSnapshotContent, std::string> decode_rule_snapshot(std::string_view bytes, const RuleSnapshotKey& key);

}  // namespace eastwatch

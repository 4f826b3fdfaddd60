// Parses Suricata / Snort 2.9 rule text into the rule model.
//
// Contract:
//  - `parse_rule` takes one logical rule (continuation lines already joined) and either
//    returns a complete Rule or a RuleError whose `message` says what is wrong and what
//    was expected, e.g. `content: unterminated |hex| block`. It never throws.
//  - `load_rule_files` reads every file, joins `\` continuation lines, skips blanks and
//    `#` comments, follows Snort's `include PATH` lines (relative to the including file;
//    a leading `$RULE_PATH/` or other `$VARIABLE/` means the same directory; at most 16
//    deep; a cycle is an error), and parses each rule. Errors come back as `file:line: message`
//    (via RuleError::to_string) while the remaining rules still load.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "signatures/classification.hpp"
#include "signatures/rule.hpp"
#include "signatures/variables.hpp"

namespace eastwatch {

namespace detail {
class HeaderCache;
}

struct RuleError {
  std::string file;
  uint32_t line = 0;
  std::string message;

  std::string to_string() const;  // "file:line: message"
};

struct RuleParseContext {
  const RuleVariables* variables = nullptr;            // required
  const ClassificationTable* classifications = nullptr;  // optional
  std::string file;                                    // for rule.file and errors
  uint32_t line = 0;
  detail::HeaderCache* header_cache = nullptr;         // optional: memoized header expressions
};

tl::expected<Rule, RuleError> parse_rule(std::string_view text, const RuleParseContext& context);

struct RuleLoadResult {
  std::vector<Rule> rules;
  std::vector<RuleError> errors;
  std::vector<std::string> included_files;  // every file an `include` line named, in order
};

RuleLoadResult load_rule_files(const std::vector<std::string>& paths, const RuleVariables& variables,
                               const ClassificationTable* classifications);

// Same as load_rule_files for text already in memory (tests, embedded rules).
RuleLoadResult load_rule_text(std::string_view text, std::string_view file_name, const RuleVariables& variables,
                              const ClassificationTable* classifications);

}  // namespace eastwatch

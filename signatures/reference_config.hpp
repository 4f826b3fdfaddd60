// reference.config: `config reference: NAME URL-PREFIX`. Resolves a rule's `reference:` entries
// to URLs for EVE `alert.references`. Names are case-insensitive, as in Suricata.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "signatures/rule.hpp"

namespace eastwatch {

class ReferenceTable {
 public:
  // Parses the file's text; malformed lines are reported as "file:line: reason" in `errors`.
  static ReferenceTable parse(std::string_view text, std::string_view file_name, std::vector<std::string>* errors);
  // The reference.config bundled with Eastwatch (Suricata's systems), compiled in.
  static ReferenceTable builtin();

  // PREFIX+ID for a known system; "NAME,ID" as written for an unknown one (Suricata, not in
  // strict mode, keeps such rules).
  std::string resolve(const RuleReference& reference) const;
  size_t size() const { return prefix_by_name_.size(); }

 private:
  std::map<std::string, std::string, std::less<>> prefix_by_name_;  // lower-case name -> prefix
};

}  // namespace eastwatch

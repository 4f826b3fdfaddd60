// classification.config: `config classification: shortname,description,priority`.
// Maps a rule's classtype to EVE `alert.category` (description) and default severity.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace eastwatch {

struct Classification {
  std::string name;
  std::string description;
  int priority = 3;
};

class ClassificationTable {
 public:
  // Parses the file's text; malformed lines are reported as "file:line: reason" in `errors`.
  static ClassificationTable parse(std::string_view text, std::string_view file_name, std::vector<std::string>* errors);
  // The classification.config bundled with Eastwatch (Suricata's list), compiled in.
  static ClassificationTable builtin();

  const Classification* find(std::string_view name) const;
  size_t size() const { return by_name_.size(); }

 private:
  std::map<std::string, Classification, std::less<>> by_name_;
};

}  // namespace eastwatch

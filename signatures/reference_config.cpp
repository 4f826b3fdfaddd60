#include "signatures/reference_config.hpp"

#include <algorithm>
#include <cctype>

#include "signatures/detail/text.hpp"

extern const char eastwatch_embedded_reference[];
extern const std::size_t eastwatch_embedded_reference_size;

namespace eastwatch {

using detail::is_space;
using detail::trim;

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

ReferenceTable ReferenceTable::parse(std::string_view text, std::string_view file_name,
                                     std::vector<std::string>* errors) {
  ReferenceTable table;
  constexpr std::string_view kPrefix = "config reference:";
  detail::for_each_config_line(text, [&](uint32_t line_number, std::string_view line) {
    auto report = [&](const std::string& what) {
      if (errors) errors->push_back(std::string(file_name) + ":" + std::to_string(line_number) + ": " + what);
    };
    if (line.substr(0, kPrefix.size()) != kPrefix) {
      report("expected 'config reference: name url-prefix'");
      return;
    }
    const std::string_view fields = trim(line.substr(kPrefix.size()));
    size_t split = 0;
    while (split < fields.size() && !is_space(fields[split])) ++split;
    const std::string_view name = fields.substr(0, split);
    const std::string_view prefix = trim(fields.substr(split));
    if (name.empty() || prefix.empty()) {
      report("expected 'config reference: name url-prefix', got '" + std::string(fields) + "'");
      return;
    }
    table.prefix_by_name_[lower(name)] = std::string(prefix);
  });
  return table;
}

ReferenceTable ReferenceTable::builtin() {
  return parse(std::string_view(eastwatch_embedded_reference, eastwatch_embedded_reference_size),
               "<builtin reference.config>", nullptr);
}

std::string ReferenceTable::resolve(const RuleReference& reference) const {
  auto it = prefix_by_name_.find(lower(reference.system));
  if (it == prefix_by_name_.end()) return reference.system + "," + reference.id;
  return it->second + reference.id;
}

}  // namespace eastwatch

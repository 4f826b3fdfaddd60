#include "signatures/classification.hpp"
#include "signatures/detail/text.hpp"

#include <cstdlib>

extern const char eastwatch_embedded_classification[];
extern const std::size_t eastwatch_embedded_classification_size;

namespace eastwatch {

using detail::is_space;
using detail::trim;

namespace {


}  // namespace

ClassificationTable ClassificationTable::parse(std::string_view text, std::string_view file_name,
                                               std::vector<std::string>* errors) {
  ClassificationTable table;
  constexpr std::string_view kPrefix = "config classification:";
  detail::for_each_config_line(text, [&](uint32_t line_number, std::string_view line) {
    auto report = [&](const std::string& what) {
      if (errors) errors->push_back(std::string(file_name) + ":" + std::to_string(line_number) + ": " + what);
    };
    if (line.substr(0, kPrefix.size()) != kPrefix) {
      report("expected 'config classification: name,description,priority'");
      return;
    }
    std::string_view fields = line.substr(kPrefix.size());
    const size_t first = fields.find(',');
    const size_t last = fields.rfind(',');
    if (first == std::string_view::npos || first == last) {
      report("expected 'config classification: name,description,priority'");
      return;
    }
    Classification entry;
    entry.name = std::string(trim(fields.substr(0, first)));
    entry.description = std::string(trim(fields.substr(first + 1, last - first - 1)));
    const std::string priority(trim(fields.substr(last + 1)));
    char* end = nullptr;
    const long value = std::strtol(priority.c_str(), &end, 10);
    if (entry.name.empty() || priority.empty() || *end != '\0' || value < 1 || value > 255) {
      report("invalid classification '" + std::string(fields) + "' (expected name,description,priority 1-255)");
      return;
    }
    entry.priority = static_cast<int>(value);
    table.by_name_[entry.name] = std::move(entry);
  });
  return table;
}

ClassificationTable ClassificationTable::builtin() {
  return parse(std::string_view(eastwatch_embedded_classification, eastwatch_embedded_classification_size),
               "<builtin classification.config>", nullptr);
}

const Classification* ClassificationTable::find(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &it->second;
}

}  // namespace eastwatch

#pragma once
// The checks every YAML file loader shares (the config, the VM inventory): each problem becomes
// "FILE:LINE: key: what is wrong" and is collected; nothing stops at the first one.

#include <algorithm>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace eastwatch::config {

class YamlChecker {
 public:
  explicit YamlChecker(std::string file) : file_(std::move(file)) {}
  virtual ~YamlChecker() = default;
  YamlChecker(const YamlChecker&) = delete;
  YamlChecker& operator=(const YamlChecker&) = delete;

  std::vector<std::string> take_errors() { return std::move(errors_); }

 protected:
  // Records one problem at `node` (its line, when it has one) under the dotted key `path`.
  virtual void fail(const YAML::Node& node, const std::string& path, const std::string& what) {
    std::string where = file_;
    if (node.IsDefined() && node.Mark().line >= 0) where += ":" + std::to_string(node.Mark().line + 1);
    errors_.push_back(where + ": " + (path.empty() ? "" : path + ": ") + what);
  }

  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  // Every key of `map` must be one of `allowed`; an unknown one is reported with the list.
  void check_keys(const YAML::Node& map, const std::string& path, std::initializer_list<const char*> allowed) {
    if (!map.IsMap()) return;
    for (const auto& entry : map) {
      const std::string key = entry.first.Scalar();
      if (std::none_of(allowed.begin(), allowed.end(), [&](const char* name) { return key == name; })) {
        std::string expected;
        for (const char* name : allowed) expected += std::string(expected.empty() ? "" : ", ") + name;
        fail(entry.first, join(path, key), "unknown key (expected one of: " + expected + ")");
      }
    }
  }

  // The mapping at `key`, or an undefined node when absent/null; a non-map is an error.
  YAML::Node map_at(const YAML::Node& parent, const char* key, const std::string& path) {
    YAML::Node node = parent[key];
    if (!node || node.IsNull()) return YAML::Node(YAML::NodeType::Undefined);
    if (!node.IsMap()) {
      fail(node, path, "expected a mapping of keys");
      return YAML::Node(YAML::NodeType::Undefined);
    }
    return node;
  }

  // A scalar's text into `out`; false when absent or null, an error when not a scalar.
  bool scalar(const YAML::Node& node, const std::string& path, std::string& out) {
    if (!node || node.IsNull()) return false;
    if (!node.IsScalar()) {
      fail(node, path, "expected a single value");
      return false;
    }
    out = node.Scalar();
    return true;
  }

  std::string file_;
  std::vector<std::string> errors_;
};

}  // namespace eastwatch::config

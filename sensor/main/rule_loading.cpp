#include "sensor/main/rule_loading.hpp"

#include "signatures/reference_config.hpp"
#include "signatures/rule_snapshot.hpp"
#include "signatures/threshold_config.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <unordered_map>

namespace eastwatch {

namespace {

std::vector<std::string> rule_paths(const Settings& settings, const std::vector<std::string>& cli_rule_files) {
  if (!cli_rule_files.empty()) return cli_rule_files;
  std::vector<std::string> paths;
  for (const auto& file : settings.rule_files) {
    if (!file.empty() && file.front() != '/' && !settings.default_rule_path.empty()) {
      paths.push_back(settings.default_rule_path + "/" + file);
    } else {
      paths.push_back(file);
    }
  }
  return paths;
}

tl::expected<ClassificationTable, std::string> load_classifications(const Settings& settings) {
  if (settings.classification_file.empty()) return ClassificationTable::builtin();
  std::ifstream in(settings.classification_file, std::ios::binary);
  if (!in) return tl::unexpected("cannot open classification file '" + settings.classification_file + "'");
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> errors;
  auto table = ClassificationTable::parse(text.str(), settings.classification_file, &errors);
  if (!errors.empty()) {
    std::string message = errors.front();
    for (size_t i = 1; i < errors.size(); ++i) message += "\n" + errors[i];
    return tl::unexpected(message);
  }
  return table;
}

tl::expected<ReferenceTable, std::string> load_references(const Settings& settings) {
  if (settings.reference_file.empty()) return ReferenceTable::builtin();
  std::ifstream in(settings.reference_file, std::ios::binary);
  if (!in) return tl::unexpected("cannot open reference config file '" + settings.reference_file + "'");
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> errors;
  auto table = ReferenceTable::parse(text.str(), settings.reference_file, &errors);
  if (!errors.empty()) {
    std::string message = errors.front();
    for (size_t i = 1; i < errors.size(); ++i) message += "\n" + errors[i];
    return tl::unexpected(message);
  }
  return table;
}

// Suricata keeps one signature per gid:sid: the higher revision wins (the first one on a tie)
// and the other is reported as a load error.
void drop_duplicate_signatures(std::vector<Rule>& rules, std::vector<RuleError>& errors) {
  std::unordered_map<uint64_t, size_t> first_of;  // gid:sid -> index of the rule kept so far
  std::vector<bool> keep(rules.size(), true);
  for (size_t i = 0; i < rules.size(); ++i) {
    const uint64_t id = (uint64_t{rules[i].gid} << 32) | rules[i].sid;
    auto [it, inserted] = first_of.emplace(id, i);
    if (inserted) continue;
    Rule& kept = rules[it->second];
    size_t loser = i;
    if (rules[i].rev > kept.rev) {
      loser = it->second;
      it->second = i;
    }
    const Rule& winner = rules[it->second];
    const Rule& dropped = rules[loser];
    keep[loser] = false;
    errors.push_back(RuleError{dropped.file, dropped.line,
                               "duplicate signature " + std::to_string(dropped.gid) + ":" + std::to_string(dropped.sid) +
                                   " (rev " + std::to_string(dropped.rev) + "); keeping rev " +
                                   std::to_string(winner.rev) + " from " + winner.file + ":" +
                                   std::to_string(winner.line)});
  }
  size_t out = 0;
  for (size_t i = 0; i < rules.size(); ++i) {
    if (keep[i]) {
      if (out != i) rules[out] = std::move(rules[i]);
      ++out;
    }
  }
  rules.resize(out);
}

}  // namespace

void keep_rules_until_exit(std::shared_ptr<const CompiledRuleSet> rules) {
  static auto* kept = new std::vector<std::shared_ptr<const CompiledRuleSet>>();
  kept->push_back(std::move(rules));
}

std::vector<std::string> rule_file_paths(const Settings& settings, const std::vector<std::string>& cli_rule_files) {
  return rule_paths(settings, cli_rule_files);
}

namespace {

// Everything parsing depends on (see rule_snapshot.hpp); the compile step has its own cache.
RuleSnapshotKey snapshot_key(const Settings& settings, const std::vector<std::string>& paths) {
  SnapshotKeyBuilder key;
  key.add_variables(settings.variables);
  key.add("rule files");
  for (const auto& path : paths) key.add_file(path);
  key.add("classification");
  if (settings.classification_file.empty()) key.add("builtin"); else key.add_file(settings.classification_file);
  key.add("reference");
  if (settings.reference_file.empty()) key.add("builtin"); else key.add_file(settings.reference_file);
  key.add("threshold");
  if (settings.threshold_file.empty()) key.add("none"); else key.add_file(settings.threshold_file);
  return key.finish();
}

std::string snapshot_path(const Settings& settings, const RuleSnapshotKey& key) {
  return settings.detect.hs_cache_dir + "/rules-" + snapshot_key_hex(key) + ".snapshot";
}

// The snapshot's content; nullopt when there is none, with `note` set when one was there but
// unusable.
std::optional<RuleSnapshotContent> read_snapshot(const std::string& path, const RuleSnapshotKey& key,
                                                 std::string& note) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    note = "rule snapshot " + path + " ignored: not a readable file";
    return std::nullopt;
  }
  const auto size = static_cast<size_t>(st.st_size);
  void* map = size == 0 ? MAP_FAILED : ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) {
    note = "rule snapshot " + path + " ignored: " + (size == 0 ? std::string("empty") : std::string("cannot map it"));
    return std::nullopt;
  }
  auto content = decode_rule_snapshot(std::string_view(static_cast<const char*>(map), size), key);
  ::munmap(map, size);
  if (!content) {
    note = "rule snapshot " + path + " ignored: " + content.error() + "; parsing the rules";
    return std::nullopt;
  }
  return std::move(*content);
}

// Atomically (temporary file + rename); false when it cannot be written.
bool write_snapshot(const std::string& path, const std::string& bytes) {
  if (bytes.empty()) return false;
  const std::string temporary = path + ".tmp." + std::to_string(getpid());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const bool ok = ::close(fd) == 0 && done == bytes.size();
  if (!ok || std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    return false;
  }
  return true;
}

// Each changed rule set leaves its own snapshot (tens of MB with ET Open): keep the newest few.
constexpr size_t kSnapshotsKept = 4;

void prune_snapshots(const std::string& directory) {
  namespace fs = std::filesystem;
  std::error_code error;
  std::vector<std::pair<fs::file_time_type, fs::path>> found;
  for (fs::directory_iterator it(directory, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("rules-", 0) != 0 || it->path().extension() != ".snapshot") continue;
    std::error_code time_error;
    const auto time = fs::last_write_time(it->path(), time_error);
    if (!time_error) found.emplace_back(time, it->path());
  }
  if (found.size() <= kSnapshotsKept) return;
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = kSnapshotsKept; i < found.size(); ++i) fs::remove(found[i].second, error);
}

}  // namespace

tl::expected<LoadedRules, std::string> load_rules(const Settings& settings,
                                                  const std::vector<std::string>& cli_rule_files,
                                                  const CompiledRuleSet* previous) {
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  const std::vector<std::string> paths = rule_paths(settings, cli_rule_files);
  LoadedRules result;
  std::vector<Rule> rules;
  std::vector<std::string> included_files;
  std::string snapshot_file;
  RuleSnapshotKey key{};
  bool from_snapshot = false;
  if (!settings.detect.hs_cache_dir.empty()) {
    key = snapshot_key(settings, paths);
    snapshot_file = snapshot_path(settings, key);
    if (auto content = read_snapshot(snapshot_file, key, result.snapshot_note)) {
      rules = std::move(content->rules);
      result.errors = std::move(content->errors);
      result.config_errors = std::move(content->config_errors);
      result.snapshot = LoadedRules::Snapshot::Loaded;
      from_snapshot = true;
    }
  }
  if (!from_snapshot) {
    auto classifications = load_classifications(settings);
    if (!classifications) return tl::unexpected(classifications.error());
    auto references = load_references(settings);
    if (!references) return tl::unexpected(references.error());
    RuleLoadResult parsed = load_rule_files(paths, settings.variables, &*classifications);
    drop_duplicate_signatures(parsed.rules, parsed.errors);
    for (auto& rule : parsed.rules) {
      for (const auto& reference : rule.references) rule.reference_urls.push_back(references->resolve(reference));
    }
    if (!settings.threshold_file.empty()) {
      std::ifstream in(settings.threshold_file, std::ios::binary);
      if (!in) return tl::unexpected("cannot open threshold file '" + settings.threshold_file + "'");
      std::stringstream text;
      text << in.rdbuf();
      const ThresholdConfig thresholds = parse_threshold_config(text.str(), settings.threshold_file, settings.variables);
      for (const auto& error : thresholds.errors) result.config_errors.push_back(error.to_string());
      const auto touched = apply_threshold_config(thresholds, parsed.rules);
      for (size_t i = 0; i < touched.size(); ++i) {
        if (touched[i] == 0) {
          const auto& entry = thresholds.entries[i];
          result.config_errors.push_back(settings.threshold_file + ":" + std::to_string(entry.line) +
                                         ": no loaded rule " + std::to_string(entry.gid) + ":" +
                                         std::to_string(entry.sid));
        }
      }
    }
    result.errors = std::move(parsed.errors);
    rules = std::move(parsed.rules);
    included_files = std::move(parsed.included_files);
  }
  result.loaded = rules.size();
  result.parse_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  CompileOptions compile_options;
  compile_options.hs_cache_dir = settings.detect.hs_cache_dir;
  if (previous != nullptr) {
    compile_options.flowbit_names.assign(previous->flowbit_names().begin(), previous->flowbit_names().end());
  }
  auto compiled = compile_rules(std::move(rules), compile_options);
  if (!compiled) return tl::unexpected("cannot compile the rule set: " + compiled.error());
  result.compiled = std::move(*compiled);
  if (!snapshot_file.empty() && !from_snapshot) {
    // The compiled set's rules: in evaluation order, so that compiling them again after a
    // decode moves none (compiling only reorders the rules and numbers their flowbits, which
    // it does again from the names).
    const std::string bytes = encode_rule_snapshot(
        key, RuleSnapshotView{result.compiled->rules(), result.errors, result.config_errors, included_files});
    result.snapshot = write_snapshot(snapshot_file, bytes) ? LoadedRules::Snapshot::Stored : LoadedRules::Snapshot::Failed;
    if (result.snapshot == LoadedRules::Snapshot::Stored) prune_snapshots(settings.detect.hs_cache_dir);
  }
  return result;
}

}  // namespace eastwatch

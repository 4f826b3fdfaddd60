// Command-line parsing for the eastwatch binary. Suricata-familiar flags:
//   eastwatch -r FILE [-r FILE...] -S RULES [-S RULES...] -l OUTDIR [-c FILE] [--set k=v...]
//   eastwatch -i IFACE [-i IFACE...] [--workers N] -l OUTDIR [-c FILE] [--set k=v...]
//   eastwatch --dpdk [--workers N] -l OUTDIR [-c FILE] [--set capture.dpdk.ports=[...]...]
//   eastwatch -T [-S RULES...] [-c FILE]
// Contract: parse_cli never exits the process; it returns either the options, or an exit
// request (for --help/--version: text to print and code 0; for bad arguments: a one-line
// message and code 2). Whether there is anything to do (-r, -i or capture.interfaces) is
// decided once the config is loaded (`nothing_to_do_message`).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <tl/expected.hpp>

namespace eastwatch {

struct CliOptions {
  std::vector<std::string> read_files;   // -r
  std::vector<std::string> rule_files;   // -S (replace the config's rule-files)
  std::vector<std::string> interfaces;   // -i (replace the config's capture.interfaces)
  std::optional<uint32_t> workers;       // --workers (replaces capture.workers)
  bool dpdk = false;                     // --dpdk: capture.mode dpdk (the ports of capture.dpdk)
  std::optional<std::string> config_file;  // -c
  std::optional<std::string> log_dir;      // -l
  std::vector<std::string> overrides;      // --set key=value
  bool test_mode = false;                   // -T
  bool quiet = false;                       // -q: no progress line, no summary
  bool print_alerts = false;                // --print-alerts: fast.log lines on stdout
  bool profile_rules = false;               // --profile-rules: rule_perf.log and rule_perf.json
  std::optional<std::string> pid_file;      // --pidfile (replaces pid-file)
  std::optional<std::string> user;          // --user (replaces run-as.user)
  std::optional<std::string> group;         // --group (replaces run-as.group)
};

struct CliExit {
  int code = 0;
  std::string text;  // printed to stdout when code is 0, else to stderr
};

tl::expected<CliOptions, CliExit> parse_cli(int argc, const char* const* argv);

// The message for a run with neither captures nor interfaces to read.
extern const char* const kNothingToDoMessage;

}  // namespace eastwatch

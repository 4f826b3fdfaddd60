#include "sensor/main/cli.hpp"

#include <CLI/CLI.hpp>

#include "signatures/hs_cache.hpp"

namespace eastwatch {

namespace {

constexpr const char* kDescription =
    "Eastwatch: intrusion detection for traffic between virtual machines.\n"
    "Replays captures or captures live mirrored traffic through Suricata/Snort rules and\n"
    "writes Suricata-compatible EVE JSON alerts.";

constexpr const char* kExamples =
    "Examples:\n"
    "  eastwatch -r attack.pcap -S signatures/rules/eastwatch.rules -l out/\n"
    "  eastwatch -i ens4 --workers 4 -l /var/log/eastwatch\n"
    "  eastwatch --dpdk --workers 2 -l /var/log/eastwatch -c eastwatch.yaml\n"
    "  eastwatch -T -S emerging-exploit.rules\n"
    "  eastwatch -r a.pcap -r b.pcapng -S my.rules -l out/ -c eastwatch.yaml --set flow.memcap=256mb";

// What suricata-update reads from `suricata --build-info` (the --prefix/--sysconfdir/
// --localstatedir lines, as the .deb installs), so `suricata-update --suricata eastwatch` runs.
std::string build_info_text() {
  std::string text = std::string("This is Eastwatch version ") + EASTWATCH_VERSION + "\n";
  text += "Regex engine: " + regex_engine_description() + "\n";
#ifdef EASTWATCH_HAVE_DPDK
  text += "Features: LIBPCAP DPDK\n";
#else
  text += "Features: LIBPCAP\n";
#endif
  text += "--prefix                                 /usr\n";
  text += "--sysconfdir                             /etc\n";
  text += "--localstatedir                          /var\n";
  text += "--datarootdir                            /usr/share\n";
  return text;
}

}  // namespace

const char* const kNothingToDoMessage =
    "eastwatch: nothing to do: give -r FILE to replay a capture, -i IFACE (or capture.interfaces) to capture "
    "live, or -T to check rules (see --help)\n";

tl::expected<CliOptions, CliExit> parse_cli(int argc, const char* const* argv) {
  CliOptions options;
  CLI::App app{kDescription, "eastwatch"};
  app.footer(kExamples);
  app.set_version_flag("-V,--version", std::string("eastwatch ") + EASTWATCH_VERSION);
  bool build_info = false;
  app.add_flag("--build-info", build_info, "Print the build's engine and paths (Suricata's --build-info layout)");
  app.add_option("-r", options.read_files, "Replay a pcap or pcapng file (repeatable)")->type_name("FILE");
  app.add_option("-i", options.interfaces, "Capture live from a network interface (repeatable)")->type_name("IFACE");
  app.add_option("--workers", options.workers, "Worker threads (default: the config's capture.workers)")
      ->type_name("N")
      ->check(CLI::Range(1, 64));
  app.add_flag("--dpdk", options.dpdk, "Capture from the DPDK ports of capture.dpdk (capture.mode: dpdk)");
  app.add_option("-S", options.rule_files, "Load rules from FILE instead of the config's rule-files (repeatable)")
      ->type_name("FILE");
  app.add_option("-c", options.config_file, "YAML config file (default: the embedded defaults)")->type_name("FILE");
  app.add_option("-l", options.log_dir, "Directory for eve.json, fast.log and stats.log")->type_name("DIR");
  app.add_option("--set", options.overrides, "Override a config key, e.g. --set flow.memcap=64mb (repeatable)")
      ->type_name("KEY=VALUE");
  app.add_flag("-T", options.test_mode, "Check the rules and config, print `N loaded, M failed`, and exit");
  app.add_flag("-q,--quiet", options.quiet, "No progress line and no end-of-run summary on stderr");
  app.add_flag("--print-alerts", options.print_alerts, "Also print each alert as a fast.log line on stdout");
  app.add_flag("--profile-rules", options.profile_rules,
               "Measure every rule's checks, matches and cost; write rule_perf.log and rule_perf.json");
  app.add_option("--pidfile", options.pid_file, "Write the pid to FILE (created exclusively, removed at exit)")
      ->type_name("FILE");
  app.add_option("--user", options.user, "Switch to USER once the captures and outputs are open (run-as.user)")
      ->type_name("USER");
  app.add_option("--group", options.group, "... and to GROUP (run-as.group; default: USER's primary group)")
      ->type_name("GROUP");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return tl::unexpected(CliExit{0, app.help()});
  } catch (const CLI::CallForVersion&) {
    return tl::unexpected(
        CliExit{0, std::string("eastwatch ") + EASTWATCH_VERSION + " (" + regex_engine_description() + ")\n"});
  } catch (const CLI::ParseError& error) {
    return tl::unexpected(CliExit{2, std::string("eastwatch: ") + error.what() + " (see --help)\n"});
  }
  if (build_info) return tl::unexpected(CliExit{0, build_info_text()});
  for (const auto& override_text : options.overrides) {
    if (override_text.find('=') == std::string::npos || override_text.front() == '=') {
      return tl::unexpected(CliExit{2, "eastwatch: --set " + override_text + ": expected KEY=VALUE\n"});
    }
  }
  if (options.dpdk && (!options.read_files.empty() || !options.interfaces.empty())) {
    return tl::unexpected(CliExit{2, "eastwatch: give either --dpdk (DPDK capture) or -r FILE / -i IFACE, not both\n"});
  }
  if (!options.read_files.empty() && !options.interfaces.empty()) {
    return tl::unexpected(CliExit{2, "eastwatch: give either -r FILE (replay) or -i IFACE (live capture), not both\n"});
  }
  return options;
}

}  // namespace eastwatch

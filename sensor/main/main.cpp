// eastwatch: the sensor's entry point. Parses the command line, loads the config and the
// rules (the control plane), then runs a replay, a live capture or a rule check.
#include <cstdio>
#include <memory>
#include <string>

#include "config/config_loader.hpp"
#include "sensor/inventory/inventory_store.hpp"
#include "sensor/main/cli.hpp"
#include "sensor/main/ctl_client.hpp"
#include "sensor/main/daemon.hpp"
#include "sensor/main/dpdk_workers.hpp"
#include "sensor/main/hangup.hpp"
#include "sensor/main/logging.hpp"
#include "sensor/main/hangup.hpp"
#include "sensor/main/live_stats.hpp"
#include "sensor/main/metrics_exposition.hpp"
#include "sensor/main/metrics_server.hpp"
#include "sensor/main/replay.hpp"
#include "sensor/main/rule_loading.hpp"
#include "sensor/main/run_inventory.hpp"

namespace {

constexpr int kExitBadInput = 2;

}  // namespace

int main(int argc, char** argv) {
  using namespace eastwatch;
  // `eastwatch ctl COMMAND`: the control socket's client (sensor/main/ctl_client.hpp).
  if (argc > 1 && std::string(argv[1]) == "ctl") return run_ctl(argc - 1, argv + 1);
  auto options = parse_cli(argc, argv);
  if (!options) {
    std::fputs(options.error().text.c_str(), options.error().code == 0 ? stdout : stderr);
    return options.error().code;
  }

  auto settings = load_settings(options->config_file, options->overrides);
  if (!settings) {
    for (const auto& error : settings.error()) std::fprintf(stderr, "%s\n", error.message.c_str());
    std::fprintf(stderr, "eastwatch: invalid configuration (%zu problem%s)\n", settings.error().size(),
                 settings.error().size() == 1 ? "" : "s");
    return kExitBadInput;
  }
  if (options->log_dir) settings->log_dir = *options->log_dir;
  if (!options->interfaces.empty()) settings->capture.interfaces = options->interfaces;
  if (!options->read_files.empty()) settings->capture.interfaces.clear();  // -r replays, even with interfaces configured
  if (options->workers) settings->capture.workers = *options->workers;
  if (options->dpdk) settings->capture.mode = CaptureMode::Dpdk;
  const bool dpdk = settings->capture.mode == CaptureMode::Dpdk && options->read_files.empty() && options->interfaces.empty();
  if (!options->test_mode && !dpdk && options->read_files.empty() && settings->capture.interfaces.empty()) {
    std::fputs(kNothingToDoMessage, stderr);
    return kExitBadInput;
  }
  if (options->profile_rules) settings->detect.profile_rules = true;
  if (options->pid_file) settings->daemon.pid_file = *options->pid_file;
  if (options->user) settings->daemon.run_as.user = *options->user;
  if (options->group) settings->daemon.run_as.group = *options->group;

  // The daemon (sensor/main/daemon.hpp): SIGHUP reopens the log files, its own log, the pid
  // file, the user to switch to once the captures are open.
  std::unique_ptr<Daemon> daemon;
  if (!options->test_mode) {
    install_hangup_handler();
    if (auto error = setup_logging(settings->daemon.logging, &hangup_count()); !error.empty()) {
      std::fprintf(stderr, "eastwatch: %s\n", error.c_str());
      return kExitBadInput;
    }
    auto prepared = Daemon::prepare(*settings, options->read_files.empty());
    if (!prepared) {
      std::fprintf(stderr, "eastwatch: %s\n", prepared.error().c_str());
      return kExitBadInput;
    }
    daemon = std::move(*prepared);
    set_daemon(daemon.get());
  }

  // The VM inventory, before the rules: its $ZONE_<zone> and $VM_<name> variables are theirs.
  auto inventory = RunInventory::load(*settings);
  if (!inventory) return inventory.error();

  auto rules = load_rules(*settings, options->rule_files);
  if (!rules) {
    std::fprintf(stderr, "eastwatch: %s\n", rules.error().c_str());
    return kExitBadInput;
  }

  // A rule snapshot that was there but unusable (corrupt, truncated, stale): the rules were
  // parsed instead; stderr, so that -T prints the same with and without one.
  if (!rules->snapshot_note.empty()) std::fprintf(stderr, "eastwatch: %s\n", rules->snapshot_note.c_str());
  if (options->test_mode) {
    for (const auto& error : rules->errors) std::printf("%s\n", error.to_string().c_str());
    for (const auto& error : rules->config_errors) std::printf("%s\n", error.c_str());
    std::printf("%zu loaded, %zu failed\n", rules->loaded, rules->errors.size());
    keep_rules_until_exit(std::move(rules->compiled));  // about to exit: not freed
    return rules->errors.empty() && rules->config_errors.empty() ? 0 : 1;
  }

  for (const auto& error : rules->errors) std::fprintf(stderr, "%s\n", error.to_string().c_str());
  for (const auto& error : rules->config_errors) std::fprintf(stderr, "%s\n", error.c_str());
  if (!options->quiet) {
    const CompileStats& stats = rules->compiled->stats();
    std::fprintf(stderr,
                 "eastwatch: %zu rules loaded, %zu failed; %u fast patterns, %u pcre prefilters, %u rules without "
                 "either; %u signature groups, %u Hyperscan databases; prepared in %.3f s",
                 rules->loaded, rules->errors.size(), stats.patterns, stats.regex_prefilters,
                 stats.rules_without_fast_pattern, stats.groups, stats.databases, stats.compile_seconds);
    if (!settings->detect.hs_cache_dir.empty()) {
      std::fprintf(stderr, " (Hyperscan cache: %u loaded, %u compiled)", stats.cache_hits, stats.cache_misses);
      static constexpr const char* kSnapshot[] = {"off", "loaded", "stored", "not written"};
      std::fprintf(stderr, "; rules %s in %.3f s (rule snapshot: %s)",
                   rules->snapshot == LoadedRules::Snapshot::Loaded ? "decoded" : "parsed", rules->parse_seconds,
                   kSnapshot[static_cast<size_t>(rules->snapshot)]);
    }
    std::fputc('\n', stderr);
  }
  // The Prometheus endpoint (metrics:), for the whole run, answered from the live stats.
  process_live_stats().control().set_rules(rules->loaded, rules->errors.size());
  std::unique_ptr<MetricsServer> metrics;
  if (settings->metrics.enabled) {
    auto server = MetricsServer::start(settings->metrics.listen, [] {
      return format_metrics(process_live_stats().snapshot(), EASTWATCH_VERSION);
    });
    if (!server) {
      std::fprintf(stderr, "eastwatch: %s\n", server.error().c_str());
      return kExitBadInput;
    }
    metrics = std::move(*server);
    if (!options->quiet) {
      std::fprintf(stderr, "eastwatch: metrics on http://%s:%u/metrics\n", metrics->host().c_str(), metrics->port());
    }
  }
  // Reloads (file changed, SIGHUP) on a control thread for the whole run, whichever the capture.
  (*inventory)->start_watching();
  if (dpdk) return run_dpdk(*options, *settings, std::move(rules->compiled), (*inventory)->store());
  return run_replay(*options, *settings, std::move(rules->compiled), (*inventory)->store());
}

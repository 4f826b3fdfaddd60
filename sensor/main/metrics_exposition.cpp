#include "sensor/main/metrics_exposition.hpp"

#include <cinttypes>
#include <cstdio>
#include <set>
#include <utility>

namespace eastwatch {

namespace {

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  // Starts a family (once per name).
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_.append("# HELP ").append(name).append(" ").append(escape_help(help)).append("\n");
    out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  }
  void sample(std::string_view name, std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
              uint64_t value) {
    sample_text(name, labels);
    out_.append(std::to_string(value)).append("\n");
  }
  void sample_signed(std::string_view name, int64_t value) {
    sample_text(name, {});
    out_.append(std::to_string(value)).append("\n");
  }
  void one(std::string_view name, std::string_view type, std::string_view help, uint64_t value) {
    family(name, type, help);
    sample(name, {}, value);
  }

 private:
  void sample_text(std::string_view name, std::initializer_list<std::pair<std::string_view, std::string_view>> labels) {
    out_.append(name);
    if (labels.size() > 0) {
      out_.push_back('{');
      bool first = true;
      for (const auto& [key, value] : labels) {
        if (!first) out_.push_back(',');
        first = false;
        out_.append(key).append("=\"").append(escape_label_value(value)).append("\"");
      }
      out_.push_back('}');
    }
    out_.push_back(' ');
  }

  std::string& out_;
};

// A counter of the snapshot by its dotted name (EVE or stats.log-only); 0 when absent.
uint64_t stat(const StatsSnapshot& stats, std::string_view name, bool* found = nullptr) {
  for (const auto& list : {&stats.eve, &stats.extra}) {
    for (const auto& [key, value] : *list) {
      if (key == name) {
        if (found != nullptr) *found = true;
        return value;
      }
    }
  }
  if (found != nullptr) *found = false;
  return 0;
}

// The per-table memcap counters: the table's label and the stats name that counts its refusals.
constexpr std::pair<std::string_view, std::string_view> kMemcapTables[] = {
    {"flow", "flow.memcap"},
    {"tcp_session", "tcp.ssn_memcap_drop"},
    {"tcp_segment", "tcp.segment_memcap_drop"},
    {"defrag", "defrag.memcap_dropped"},
    {"http", "app_layer.error.http.alloc"},
    {"tls", "app_layer.error.tls.alloc"},
    {"dns", "app_layer.error.dns.alloc"},
};

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string metric_name(std::string_view dotted) {
  std::string out = "eastwatch_";
  for (const char c : dotted) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    out += ok ? c : '_';
  }
  return out;
}

bool is_gauge_stat(std::string_view dotted) {
  const size_t dot = dotted.rfind('.');
  const std::string_view leaf = dot == std::string_view::npos ? dotted : dotted.substr(dot + 1);
  // Levels: sizes and averages (max_pkt_size, avg_pkt_size; max_frags_reached counts events),
  // memory in use, live objects (flow.active, tcp.active_sessions, *.states_in_use), free pools.
  if ((leaf.starts_with("max_") && !leaf.ends_with("_reached")) || leaf.starts_with("avg_") || leaf.ends_with("memuse") ||
      leaf.starts_with("active") || leaf.ends_with("in_use") || leaf == "spare" || leaf.ends_with("_bytes") ||
      leaf == "entries") {
    return true;
  }
  if (dotted.starts_with("defrag.capacity.") || dotted.starts_with("flow.capacity")) return true;
  if (dotted == "inventory.vms" || dotted == "inventory.bindings" || dotted == "inventory.segments") return true;
  return false;
}

std::string format_metrics(const LiveSnapshot& snapshot, std::string_view version) {
  std::string out;
  out.reserve(32768);
  Writer w(out);
  const StatsSnapshot& s = snapshot.stats;

  w.family("eastwatch_build_info", "gauge", "Eastwatch version (always 1)");
  w.sample("eastwatch_build_info", {{"version", version}}, 1);
  w.one("eastwatch_running", "gauge", "1 while a capture or replay runs, 0 once it ended (the counters are then its final ones)",
        snapshot.running ? 1 : 0);
  w.one("eastwatch_uptime_seconds", "gauge", "Seconds since the run started (stats.uptime)", s.uptime_seconds);
  w.one("eastwatch_workers", "gauge", "Worker threads of the run", snapshot.workers);

  w.one("eastwatch_packets_total", "counter", "Frames the workers decoded (stats.decoder.pkts)", stat(s, "decoder.pkts"));
  w.one("eastwatch_bytes_total", "counter", "Bytes of the frames the workers decoded (stats.decoder.bytes)",
        stat(s, "decoder.bytes"));
  w.one("eastwatch_kernel_packets_total", "counter",
        "Frames the capture source delivered (stats.capture.kernel_packets; for a file: frames read)",
        stat(s, "capture.kernel_packets"));
  w.one("eastwatch_kernel_drops_total", "counter", "Frames the kernel or NIC dropped before capture (stats.capture.kernel_drops)",
        stat(s, "capture.kernel_drops"));
  w.one("eastwatch_ring_drops_total", "counter", "Live frames dropped because a worker's ring was full (capture.ring-drops)",
        stat(s, "capture.ring-drops"));
  w.one("eastwatch_decode_errors_total", "counter", "Frames that failed decoding (stats.decoder.invalid)",
        stat(s, "decoder.invalid"));
  w.one("eastwatch_flows_active", "gauge", "Flows in the flow tables (stats.flow.active)", stat(s, "flow.active"));
  w.one("eastwatch_flows_free", "gauge", "Free flows left in the preallocated pools (stats.flow.spare)", stat(s, "flow.spare"));
  w.one("eastwatch_flows_created_total", "counter", "Flows created (stats.flow.total)", stat(s, "flow.total"));
  w.one("eastwatch_flows_evicted_total", "counter", "Live flows evicted for a new one, the table being full (stats.flow.get_used)",
        stat(s, "flow.get_used"));
  w.one("eastwatch_flows_timeout_total", "counter", "Flows ended by their idle timeout (stats.flow.mgr.flows_timeout)",
        stat(s, "flow.mgr.flows_timeout"));
  w.family("eastwatch_memcap_hits_total", "counter",
           "Allocations a table refused at its memcap (flow.memcap, tcp.ssn_memcap_drop, tcp.segment_memcap_drop, "
           "defrag.memcap_dropped, app_layer.error.<proto>.alloc)");
  for (const auto& [table, name] : kMemcapTables) {
    bool found = false;
    const uint64_t value = stat(s, name, &found);
    if (found) w.sample("eastwatch_memcap_hits_total", {{"table", table}}, value);
  }

  const AlertTally::Copy& alerts = snapshot.alerts;
  w.one("eastwatch_alerts_total", "counter", "Alert records written (eve.json and the sinks)", alerts.alerts);
  w.family("eastwatch_alerts_by_signature_total", "counter",
           "Alert records by signature; signatures past metrics.max-signatures are sid=\"other\"");
  for (const auto& signature : alerts.signatures) {
    const std::string gid = std::to_string(signature.gid), sid = std::to_string(signature.sid),
                      rev = std::to_string(signature.rev);
    w.sample("eastwatch_alerts_by_signature_total",
             {{"gid", gid}, {"sid", sid}, {"rev", rev}, {"signature", signature.msg}}, signature.alerts);
  }
  if (alerts.other_signatures > 0) {
    w.sample("eastwatch_alerts_by_signature_total", {{"gid", "other"}, {"sid", "other"}, {"rev", "other"}, {"signature", "other"}},
             alerts.other_signatures);
  }
  w.family("eastwatch_alerts_by_zone_total", "counter",
           "Alert records by the inventory zones of source and destination (\"unknown\": no inventory VM); pairs past "
           "metrics.max-zone-pairs are \"other\"");
  for (const auto& pair : alerts.zone_pairs) {
    w.sample("eastwatch_alerts_by_zone_total", {{"src_zone", pair.src_zone}, {"dest_zone", pair.dest_zone}}, pair.alerts);
  }
  if (alerts.other_zone_pairs > 0) {
    w.sample("eastwatch_alerts_by_zone_total", {{"src_zone", "other"}, {"dest_zone", "other"}}, alerts.other_zone_pairs);
  }
  w.family("eastwatch_alerts_by_vm_total", "counter",
           "Alert records by the inventory VMs of source and destination (\"unknown\": no inventory VM); pairs past "
           "metrics.max-vm-pairs are \"other\"");
  for (const auto& pair : alerts.vm_pairs) {
    w.sample("eastwatch_alerts_by_vm_total", {{"src_vm", pair.src_vm}, {"dest_vm", pair.dest_vm}}, pair.alerts);
  }
  if (alerts.other_vm_pairs > 0) {
    w.sample("eastwatch_alerts_by_vm_total", {{"src_vm", "other"}, {"dest_vm", "other"}}, alerts.other_vm_pairs);
  }

  struct SinkFamily {
    std::string_view name, type, help;
    uint64_t SinkGauges::*field;
  };
  static constexpr SinkFamily kSinkFamilies[] = {
      {"eastwatch_sink_backlog_records", "gauge", "Records waiting in the sink's memory queue", &SinkGauges::queued},
      {"eastwatch_sink_spool_bytes", "gauge", "Bytes in the sink's on-disk spool, not yet delivered", &SinkGauges::spool_bytes},
      {"eastwatch_sink_sent_total", "counter", "Records the sink delivered", &SinkGauges::sent},
      {"eastwatch_sink_spooled_total", "counter", "Records the sink wrote to its spool", &SinkGauges::spooled},
      {"eastwatch_sink_dropped_total", "counter", "Records the sink dropped (queue full, or the oldest past spool.max-bytes)",
       &SinkGauges::dropped},
      {"eastwatch_sink_reconnects_total", "counter", "Connections the sink made again after losing one", &SinkGauges::reconnects},
  };
  for (const auto& family : kSinkFamilies) {
    w.family(family.name, family.type, family.help);
    for (const auto& sink : snapshot.sinks) w.sample(family.name, {{"sink", sink.name}}, sink.*family.field);
  }
  w.family("eastwatch_sink_connected", "gauge", "1 while the sink holds a connection to its collector");
  for (const auto& sink : snapshot.sinks) w.sample("eastwatch_sink_connected", {{"sink", sink.name}}, sink.connected ? 1 : 0);

  const ControlState::Copy& control = snapshot.control;
  w.one("eastwatch_rules_loaded", "gauge", "Rules in the rule set in use", control.rules_loaded);
  w.one("eastwatch_rules_failed", "gauge", "Rules of the rule set in use that failed to load", control.rules_failed);
  w.one("eastwatch_reloads_total", "counter", "Rule reloads that swapped in a new rule set", control.reloads);
  w.one("eastwatch_reload_failures_total", "counter", "Rule reloads that failed and kept the running set",
        control.reload_failures);
  w.family("eastwatch_last_reload_timestamp_seconds", "gauge", "Unix time of the latest reload attempt (0: none yet)");
  w.sample_signed("eastwatch_last_reload_timestamp_seconds", control.last_reload_unix);
  w.one("eastwatch_last_reload_success", "gauge", "1 when the latest reload succeeded (or none happened), 0 when it failed",
        control.last_reload_ok ? 1 : 0);

  // Every counter of the stats record and stats.log, by its own name.
  std::set<std::string> seen;
  for (const auto& list : {&s.eve, &s.extra}) {
    for (const auto& [dotted, value] : *list) {
      const bool gauge = is_gauge_stat(dotted);
      std::string name = metric_name(dotted);
      if (!gauge) name += "_total";
      if (!seen.insert(name).second) continue;
      w.one(name, gauge ? "gauge" : "counter", (list == &s.eve ? "stats." : "stats.log ") + dotted, value);
    }
  }
  return out;
}

}  // namespace eastwatch

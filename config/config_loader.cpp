#include "config/config_loader.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "config/yaml_checker.hpp"

extern const char eastwatch_embedded_config[];
extern const std::size_t eastwatch_embedded_config_size;

namespace eastwatch {

namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// Walks the YAML tree, converting and validating each key into Settings. Every problem is
// collected; nothing stops at the first one.
class Loader : public config::YamlChecker {
 public:
  Loader(std::string file, std::map<std::string, std::string> overridden)
      : YamlChecker(std::move(file)), overridden_(std::move(overridden)) {}

  void load(const YAML::Node& root, Settings& settings) {
    if (!root || root.IsNull()) return;
    if (!root.IsMap()) {
      fail(root, "", "the document must be a mapping of keys");
      return;
    }
    check_keys(root, "",
               {"sensor", "default-log-dir", "vars", "default-rule-path", "rule-files", "classification-file", "reference-config-file", "threshold-file", "flow",
                "flow-timeouts", "detect", "outputs", "defrag", "host-os-policy", "stream", "app-layer", "capture", "decoder",
                "inventory", "vm-detect", "spool", "stats", "metrics", "run-as", "logging", "pid-file", "control"});
    if (auto sensor = map_at(root, "sensor", "sensor")) {
      check_keys(sensor, "sensor", {"name"});
      get_string(sensor["name"], "sensor.name", settings.sensor_name);
    }
    get_string(root["default-log-dir"], "default-log-dir", settings.log_dir);
    if (auto control = map_at(root, "control", "control")) {
      check_keys(control, "control", {"socket"});
      get_string(control["socket"], "control.socket", settings.control.socket);
    }
    load_vars(root["vars"], settings.variables);
    get_string(root["default-rule-path"], "default-rule-path", settings.default_rule_path);
    get_string_list(root["rule-files"], "rule-files", settings.rule_files);
    get_string(root["classification-file"], "classification-file", settings.classification_file);
    get_string(root["threshold-file"], "threshold-file", settings.threshold_file);
    get_string(root["reference-config-file"], "reference-config-file", settings.reference_file);
    load_flow(root, settings.flow);
    load_stream(root, settings.stream);
    load_app_layer(root, settings.app_layer);
    if (auto detect = map_at(root, "detect", "detect")) {
      check_keys(detect, "detect", {"max-alerts-per-packet", "hs-cache-dir", "xbits-table-size"});
      get_uint(detect["xbits-table-size"], "detect.xbits-table-size", settings.detect.xbits_table_size, 32,
               1u << 24);
      get_string(detect["hs-cache-dir"], "detect.hs-cache-dir", settings.detect.hs_cache_dir);
      get_uint(detect["max-alerts-per-packet"], "detect.max-alerts-per-packet", settings.detect.max_alerts_per_packet,
               1, 1000);
    }
    load_outputs(root["outputs"], settings);
    load_spool(root, settings.sinks.spool);
    load_defrag(root, settings.defrag);
    load_capture(root, settings.capture);
    load_decoder(root, settings.variables, settings.decoder);
    load_host_os_policy(root, settings.host_os_policy);
    load_inventory(root, settings.inventory, settings.vm_detect);
    load_daemon(root, settings.daemon);
    load_stats_metrics(root, settings.stats, settings.metrics);
  }

 private:
  // A key set by --set is reported as that override, not at a line of the file.
  void fail(const YAML::Node& node, const std::string& path, const std::string& what) override {
    auto it = overridden_.find(path);
    if (it != overridden_.end()) {
      errors_.push_back("--set " + path + "=" + it->second + ": " + what);
      return;
    }
    YamlChecker::fail(node, path, what);
  }

  void get_string(const YAML::Node& node, const std::string& path, std::string& out) {
    std::string text;
    if (scalar(node, path, text)) out = text;
  }

  void get_string_list(const YAML::Node& node, const std::string& path, std::vector<std::string>& out) {
    if (!node || node.IsNull()) return;
    if (node.IsScalar()) {
      out = {node.Scalar()};
      return;
    }
    if (!node.IsSequence()) {
      fail(node, path, "expected a list of strings");
      return;
    }
    std::vector<std::string> values;
    for (const auto& item : node) {
      if (!item.IsScalar()) {
        fail(item, path, "expected a list of strings");
        return;
      }
      values.push_back(item.Scalar());
    }
    out = std::move(values);
  }

  void get_bool(const YAML::Node& node, const std::string& path, bool& out) {
    std::string text;
    if (!scalar(node, path, text)) return;
    const std::string value = lower(text);
    if (value == "yes" || value == "true" || value == "on" || value == "1") {
      out = true;
    } else if (value == "no" || value == "false" || value == "off" || value == "0") {
      out = false;
    } else {
      fail(node, path, "'" + text + "' is not a boolean (expected yes/no, true/false or on/off)");
    }
  }

  template <class T>
  void get_uint(const YAML::Node& node, const std::string& path, T& out, uint64_t min, uint64_t max) {
    std::string text;
    if (!scalar(node, path, text)) return;
    uint64_t value = 0;
    bool ok = !text.empty() && text.size() <= 19 &&
              std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
    if (ok) value = std::stoull(text);
    if (!ok || value < min || value > max) {
      fail(node, path,
           "'" + text + "' is not valid (expected an integer from " + std::to_string(min) + " to " +
               std::to_string(max) + ")");
      return;
    }
    out = static_cast<T>(value);
  }

  // Durations: 500ms, 30s, 2m, or plain seconds; stored in milliseconds.
  void get_duration_ms(const YAML::Node& node, const std::string& path, uint32_t& out, uint64_t min_ms,
                       uint64_t max_ms) {
    std::string text;
    if (!scalar(node, path, text)) return;
    const std::string value = lower(text);
    size_t digits = 0;
    while (digits < value.size() && std::isdigit(static_cast<unsigned char>(value[digits]))) ++digits;
    const std::string unit = value.substr(digits);
    uint64_t multiplier = 0;
    if (unit.empty() || unit == "s") multiplier = 1000;
    if (unit == "ms") multiplier = 1;
    if (unit == "m") multiplier = 60000;
    const uint64_t ms = digits > 0 && digits <= 9 ? std::stoull(value.substr(0, digits)) * multiplier : 0;
    if (digits == 0 || digits > 9 || multiplier == 0 || ms < min_ms || ms > max_ms) {
      fail(node, path,
           "'" + text + "' is not valid (expected a duration from " + std::to_string(min_ms) + "ms to " +
               std::to_string(max_ms / 1000) + "s, such as 500ms, 30s or 2m)");
      return;
    }
    out = static_cast<uint32_t>(ms);
  }

  // Sizes as Suricata writes them: 128mb, 64KB, 1gb, or plain bytes.
  void get_size(const YAML::Node& node, const std::string& path, uint64_t& out, uint64_t min) {
    std::string text;
    if (!scalar(node, path, text)) return;
    const std::string value = lower(text);
    size_t digits = 0;
    while (digits < value.size() && std::isdigit(static_cast<unsigned char>(value[digits]))) ++digits;
    std::string unit = value.substr(digits);
    while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
    uint64_t multiplier = 0;
    if (unit.empty() || unit == "b") multiplier = 1;
    if (unit == "kb" || unit == "kib" || unit == "k") multiplier = 1ull << 10;
    if (unit == "mb" || unit == "mib" || unit == "m") multiplier = 1ull << 20;
    if (unit == "gb" || unit == "gib" || unit == "g") multiplier = 1ull << 30;
    if (digits == 0 || digits > 12 || multiplier == 0) {
      fail(node, path, "'" + text + "' is not a size (expected a number with an optional kb, mb or gb suffix)");
      return;
    }
    const uint64_t bytes = std::stoull(value.substr(0, digits)) * multiplier;
    if (bytes < min) {
      fail(node, path, "'" + text + "' is too small (expected at least " + std::to_string(min) + " bytes)");
      return;
    }
    out = bytes;
  }

  void load_vars(const YAML::Node& vars, RuleVariables& variables) {
    if (!vars || vars.IsNull()) return;
    if (!vars.IsMap()) {
      fail(vars, "vars", "expected a mapping with address-groups and port-groups");
      return;
    }
    check_keys(vars, "vars", {"address-groups", "port-groups"});
    auto load_group = [&](const char* key, std::map<std::string, std::string>& into) {
      const std::string path = join("vars", key);
      YAML::Node group = map_at(vars, key, path);
      if (!group) return;
      for (const auto& entry : group) {
        const std::string name = entry.first.as<std::string>();
        std::string value;
        if (entry.second.IsSequence()) {
          // An unquoted YAML list ([10.0.0.0/8, 192.168.0.0/16]) means the same as the quoted string.
          value = "[";
          bool ok = true;
          for (const auto& item : entry.second) {
            if (!item.IsScalar()) ok = false;
            if (ok) value += (value.size() > 1 ? "," : "") + item.Scalar();
          }
          value += "]";
          if (!ok) {
            fail(entry.second, join(path, name), "expected a single value such as \"[10.0.0.0/8,!10.1.0.0/16]\"");
            continue;
          }
        } else if (!entry.second.IsScalar()) {
          fail(entry.second, join(path, name), "expected a single value such as \"[10.0.0.0/8,!10.1.0.0/16]\"");
          continue;
        } else {
          value = entry.second.Scalar();
        }
        if (value.empty()) {
          fail(entry.second, join(path, name), "empty value (expected an address or port expression, or \"any\")");
          continue;
        }
        into[name] = value;
      }
    };
    load_group("address-groups", variables.address_groups);
    load_group("port-groups", variables.port_groups);
  }

  void load_timeouts(const YAML::Node& node, const std::string& path, FlowTimeouts& out) {
    if (!node || node.IsNull()) return;
    if (!node.IsMap()) {
      fail(node, path, "expected a mapping of timeouts in seconds");
      return;
    }
    check_keys(node, path,
               {"new", "established", "closed", "emergency-new", "emergency-established", "emergency-closed"});
    constexpr uint64_t kMax = 86400 * 7;
    get_uint(node["new"], join(path, "new"), out.new_seconds, 0, kMax);
    get_uint(node["established"], join(path, "established"), out.established_seconds, 0, kMax);
    get_uint(node["closed"], join(path, "closed"), out.closed_seconds, 0, kMax);
    get_uint(node["emergency-new"], join(path, "emergency-new"), out.emergency_new_seconds, 0, kMax);
    get_uint(node["emergency-established"], join(path, "emergency-established"), out.emergency_established_seconds,
             0, kMax);
    get_uint(node["emergency-closed"], join(path, "emergency-closed"), out.emergency_closed_seconds, 0, kMax);
  }

  void load_stream(const YAML::Node& root, StreamSettings& stream) {
    auto node = map_at(root, "stream", "stream");
    if (!node) return;
    check_keys(node, "stream", {"memcap", "midstream", "async-oneside", "reassembly"});
    get_size(node["memcap"], "stream.memcap", stream.memcap, 1 << 20);
    get_bool(node["midstream"], "stream.midstream", stream.midstream);
    get_bool(node["async-oneside"], "stream.async-oneside", stream.async_oneside);
    if (auto reassembly = map_at(node, "reassembly", "stream.reassembly")) {
      check_keys(reassembly, "stream.reassembly", {"memcap", "depth", "inspect-window", "queue-limit"});
      get_size(reassembly["memcap"], "stream.reassembly.memcap", stream.reassembly.memcap, 1 << 20);
      get_size(reassembly["depth"], "stream.reassembly.depth", stream.reassembly.depth, 0);
      uint64_t window = stream.reassembly.inspect_window;
      get_size(reassembly["inspect-window"], "stream.reassembly.inspect-window", window, 64);
      if (window > (1u << 20)) {
        fail(reassembly["inspect-window"], "stream.reassembly.inspect-window",
             "'" + reassembly["inspect-window"].Scalar() + "' is too large (expected at most 1mb)");
      } else {
        stream.reassembly.inspect_window = static_cast<uint32_t>(window);
      }
      get_uint(reassembly["queue-limit"], "stream.reassembly.queue-limit", stream.reassembly.queue_limit, 1,
               1u << 20);
    }
  }

  void load_app_layer(const YAML::Node& root, AppLayerSettings& app) {
    auto node = map_at(root, "app-layer", "app-layer");
    if (!node) return;
    check_keys(node, "app-layer", {"enabled", "memcap", "http", "tls", "dns"});
    get_bool(node["enabled"], "app-layer.enabled", app.enabled);
    get_size(node["memcap"], "app-layer.memcap", app.memcap, 1 << 20);
    if (auto http = map_at(node, "http", "app-layer.http")) {
      check_keys(http, "app-layer.http", {"request-body-limit", "response-body-limit", "header-limit",
                                          "compression-bomb-limit", "compression-bomb-ratio", "decompressors"});
      get_size(http["request-body-limit"], "app-layer.http.request-body-limit", app.http.request_body_limit, 0);
      get_size(http["response-body-limit"], "app-layer.http.response-body-limit", app.http.response_body_limit, 0);
      uint64_t header_limit = app.http.header_limit;
      get_size(http["header-limit"], "app-layer.http.header-limit", header_limit, 512);
      if (header_limit > (1u << 20)) {
        fail(http["header-limit"], "app-layer.http.header-limit",
             "'" + http["header-limit"].Scalar() + "' is too large (expected at most 1mb)");
      } else {
        app.http.header_limit = static_cast<uint32_t>(header_limit);
      }
      get_size(http["compression-bomb-limit"], "app-layer.http.compression-bomb-limit",
               app.http.compression_bomb_limit, 1024);
      get_uint(http["compression-bomb-ratio"], "app-layer.http.compression-bomb-ratio", app.http.compression_bomb_ratio,
               2, 1u << 20);
      get_uint(http["decompressors"], "app-layer.http.decompressors", app.http.decompressors, 0, 1u << 16);
    }
    if (auto tls = map_at(node, "tls", "app-layer.tls")) {
      check_keys(tls, "app-layer.tls", {"memcap", "handshake-limit"});
      get_size(tls["memcap"], "app-layer.tls.memcap", app.tls.memcap, 1 << 20);
      uint64_t handshake_limit = app.tls.handshake_limit;
      get_size(tls["handshake-limit"], "app-layer.tls.handshake-limit", handshake_limit, 1024);
      if (handshake_limit > (1u << 20)) {
        fail(tls["handshake-limit"], "app-layer.tls.handshake-limit",
             "'" + tls["handshake-limit"].Scalar() + "' is too large (expected at most 1mb)");
      } else {
        app.tls.handshake_limit = static_cast<uint32_t>(handshake_limit);
      }
    }
    if (auto dns = map_at(node, "dns", "app-layer.dns")) {
      check_keys(dns, "app-layer.dns", {"global-memcap", "tcp", "udp"});
      get_size(dns["global-memcap"], "app-layer.dns.global-memcap", app.dns.global_memcap, 0);
      if (auto tcp = map_at(dns, "tcp", "app-layer.dns.tcp")) {
        check_keys(tcp, "app-layer.dns.tcp", {"enabled", "buffer-size"});
        get_bool(tcp["enabled"], "app-layer.dns.tcp.enabled", app.dns.tcp_enabled);
        uint64_t buffer_size = app.dns.tcp_buffer_size;
        get_size(tcp["buffer-size"], "app-layer.dns.tcp.buffer-size", buffer_size, 512);
        if (buffer_size > 65535) {
          fail(tcp["buffer-size"], "app-layer.dns.tcp.buffer-size",
               "'" + tcp["buffer-size"].Scalar() + "' is too large (expected at most 65535, a DNS message's longest)");
        } else {
          app.dns.tcp_buffer_size = static_cast<uint32_t>(buffer_size);
        }
      }
      if (auto udp = map_at(dns, "udp", "app-layer.dns.udp")) {
        check_keys(udp, "app-layer.dns.udp", {"enabled"});
        get_bool(udp["enabled"], "app-layer.dns.udp.enabled", app.dns.udp_enabled);
      }
    }
  }

  void load_flow(const YAML::Node& root, FlowSettings& flow) {
    if (auto node = map_at(root, "flow", "flow")) {
      check_keys(node, "flow", {"memcap", "hash-size", "prealloc", "emergency-recovery"});
      get_size(node["memcap"], "flow.memcap", flow.memcap, 1 << 20);
      get_uint(node["hash-size"], "flow.hash-size", flow.hash_size, 1024, 1u << 26);
      get_uint(node["prealloc"], "flow.prealloc", flow.prealloc, 0, 1u << 26);
      get_uint(node["emergency-recovery"], "flow.emergency-recovery", flow.emergency_recovery, 1, 100);
    }
    if (auto node = map_at(root, "flow-timeouts", "flow-timeouts")) {
      check_keys(node, "flow-timeouts", {"default", "tcp", "udp", "icmp"});
      load_timeouts(node["default"], "flow-timeouts.default", flow.other);
      load_timeouts(node["tcp"], "flow-timeouts.tcp", flow.tcp);
      load_timeouts(node["udp"], "flow-timeouts.udp", flow.udp);
      load_timeouts(node["icmp"], "flow-timeouts.icmp", flow.icmp);
    }
  }

  void load_capture(const YAML::Node& root, CaptureSettings& capture) {
    auto node = map_at(root, "capture", "capture");
    if (!node) return;
    check_keys(node, "capture", {"mode", "interfaces", "buffer-size", "snaplen", "promisc", "bpf-filter", "workers", "dpdk",
                                 "retry-delay", "retry-max"});
    std::string mode;
    if (scalar(node["mode"], "capture.mode", mode)) {
      if (lower(mode) == "pcap") {
        capture.mode = CaptureMode::Pcap;
      } else if (lower(mode) == "dpdk") {
        capture.mode = CaptureMode::Dpdk;
      } else {
        fail(node["mode"], "capture.mode", "'" + mode + "' is not a capture mode (expected pcap or dpdk)");
      }
    }
    load_dpdk(node, capture.dpdk);
    get_string_list(node["interfaces"], "capture.interfaces", capture.interfaces);
    get_size(node["buffer-size"], "capture.buffer-size", capture.buffer_size, 1 << 20);
    if (capture.buffer_size > (1ull << 30)) {
      fail(node["buffer-size"], "capture.buffer-size", "'" + node["buffer-size"].Scalar() + "' is too large (expected at most 1gb)");
    }
    get_uint(node["snaplen"], "capture.snaplen", capture.snaplen, 64, 262144);
    get_bool(node["promisc"], "capture.promisc", capture.promisc);
    get_string(node["bpf-filter"], "capture.bpf-filter", capture.bpf_filter);
    get_uint(node["workers"], "capture.workers", capture.workers, 1, 64);
    get_duration_ms(node["retry-delay"], "capture.retry-delay", capture.retry_delay_ms, 10, 3600000);
    get_duration_ms(node["retry-max"], "capture.retry-max", capture.retry_max_ms, 10, 3600000);
    if (capture.retry_max_ms < capture.retry_delay_ms) {
      fail(node["retry-max"] ? node["retry-max"] : node["retry-delay"], "capture.retry-max",
           "is shorter than capture.retry-delay (expected the longest wait between reopen attempts)");
    }
  }

  void load_dpdk(const YAML::Node& capture, DpdkSettings& dpdk) {
    auto node = map_at(capture, "dpdk", "capture.dpdk");
    if (!node) return;
    check_keys(node, "capture.dpdk", {"eal-args", "ports", "rx-queues", "mbuf-pool-size", "mbuf-cache-size",
                                      "rx-descriptors", "burst-size", "idle-exit"});
    get_string_list(node["eal-args"], "capture.dpdk.eal-args", dpdk.eal_args);
    get_string_list(node["ports"], "capture.dpdk.ports", dpdk.ports);
    for (const auto& port : dpdk.ports) {
      if (port.empty()) fail(node["ports"], "capture.dpdk.ports", "empty port name (expected a name such as net_pcap0 or a PCI address)");
    }
    get_uint(node["rx-queues"], "capture.dpdk.rx-queues", dpdk.rx_queues, 0, 64);
    get_uint(node["mbuf-pool-size"], "capture.dpdk.mbuf-pool-size", dpdk.mbuf_pool_size, 1023, 16777215);
    // At most RTE_MEMPOOL_CACHE_MAX_SIZE; with a pool of at least 1,023 mbufs always within the
    // two thirds of the pool that rte_mempool allows.
    get_uint(node["mbuf-cache-size"], "capture.dpdk.mbuf-cache-size", dpdk.mbuf_cache_size, 0, 512);
    get_uint(node["rx-descriptors"], "capture.dpdk.rx-descriptors", dpdk.rx_descriptors, 32, 65536);
    get_uint(node["burst-size"], "capture.dpdk.burst-size", dpdk.burst_size, 1, 64);
    get_uint(node["idle-exit"], "capture.dpdk.idle-exit", dpdk.idle_exit, 0, 86400);
  }

  // A port list as Suricata's decoder.*.ports: "4789", "[4789, 8472]", a YAML list, or a port
  // variable ($VXLAN_PORTS) of vars.port-groups; 1 to 4 ports.
  void get_port_list(const YAML::Node& node, const std::string& path, const RuleVariables& variables,
                     std::vector<uint16_t>& out) {
    if (!node || node.IsNull()) return;
    std::vector<std::string> texts;
    get_string_list(node, path, texts);
    std::vector<uint16_t> ports;
    for (std::string text : texts) {
      if (text.size() > 1 && text.front() == '$') {
        auto it = variables.port_groups.find(text.substr(1));
        if (it == variables.port_groups.end()) {
          fail(node, path, "unknown port variable '" + text + "' (expected one of vars.port-groups)");
          return;
        }
        text = it->second;
      }
      if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
      std::stringstream items(text);
      for (std::string item; std::getline(items, item, ',');) {
        item.erase(0, item.find_first_not_of(" \t"));
        item.erase(item.find_last_not_of(" \t") + 1);
        const bool digits = !item.empty() && item.size() <= 5 &&
                            std::all_of(item.begin(), item.end(), [](unsigned char c) { return std::isdigit(c); });
        const unsigned long port = digits ? std::stoul(item) : 0;
        if (port < 1 || port > 65535) {
          fail(node, path, "'" + item + "' is not a port (expected a port from 1 to 65535, or a list such as \"[4789, 8472]\")");
          return;
        }
        ports.push_back(static_cast<uint16_t>(port));
      }
    }
    if (ports.empty() || ports.size() > 4) {
      fail(node, path, "expected 1 to 4 ports (got " + std::to_string(ports.size()) + ")");
      return;
    }
    out = std::move(ports);
  }

  // decoder: {vxlan: {enabled, ports}, geneve: {enabled, ports}, erspan: {typeI: {enabled}}, rspan: {vlans}}
  void load_decoder(const YAML::Node& root, const RuleVariables& variables, DecoderSettings& decoder) {
    auto node = map_at(root, "decoder", "decoder");
    if (!node) return;
    check_keys(node, "decoder", {"vxlan", "geneve", "erspan", "rspan"});
    auto tunnel = [&](const char* key, bool& enabled, std::vector<uint16_t>& ports) {
      const std::string path = join("decoder", key);
      if (auto tunnel_node = map_at(node, key, path)) {
        check_keys(tunnel_node, path, {"enabled", "ports"});
        get_bool(tunnel_node["enabled"], join(path, "enabled"), enabled);
        get_port_list(tunnel_node["ports"], join(path, "ports"), variables, ports);
      }
    };
    tunnel("vxlan", decoder.vxlan_enabled, decoder.vxlan_ports);
    tunnel("geneve", decoder.geneve_enabled, decoder.geneve_ports);
    if (auto erspan = map_at(node, "erspan", "decoder.erspan")) {
      check_keys(erspan, "decoder.erspan", {"typeI"});
      if (auto type1 = map_at(erspan, "typeI", "decoder.erspan.typeI")) {
        check_keys(type1, "decoder.erspan.typeI", {"enabled"});
        get_bool(type1["enabled"], "decoder.erspan.typeI.enabled", decoder.erspan_type1_enabled);
      }
    }
    if (auto rspan = map_at(node, "rspan", "decoder.rspan")) {
      check_keys(rspan, "decoder.rspan", {"vlans"});
      const YAML::Node vlans = rspan["vlans"];
      if (vlans && !vlans.IsNull()) {
        std::bitset<4096> ids;
        if (!vlans.IsSequence()) {
          fail(vlans, "decoder.rspan.vlans", "expected a list of VLAN ids (such as [999, 1999])");
        } else {
          for (const auto& item : vlans) {
            uint16_t id = 0;
            const size_t before = errors_.size();
            get_uint(item, "decoder.rspan.vlans", id, 1, 4094);
            if (errors_.size() == before && id != 0) ids.set(id);
          }
          decoder.rspan_vlans = ids;
        }
      }
    }
  }

  void load_defrag(const YAML::Node& root, DefragSettings& defrag) {
    auto node = map_at(root, "defrag", "defrag");
    if (!node) return;
    check_keys(node, "defrag", {"memcap", "hash-size", "trackers", "max-frags", "prealloc", "timeout"});
    get_size(node["memcap"], "defrag.memcap", defrag.memcap, 1 << 20);
    get_uint(node["hash-size"], "defrag.hash-size", defrag.hash_size, 1024, 1u << 24);
    get_uint(node["trackers"], "defrag.trackers", defrag.trackers, 1, 1u << 24);
    get_uint(node["max-frags"], "defrag.max-frags", defrag.max_frags, 1, 65535);
    get_bool(node["prealloc"], "defrag.prealloc", defrag.prealloc);
    get_uint(node["timeout"], "defrag.timeout", defrag.timeout_seconds, 1, 86400);  // Suricata's limits
  }

  // inventory: {file, check-interval}; vm-detect: the built-in detectors (sensor/vmdetect).
  // stats: (Suricata's periodic stats) and metrics: (the Prometheus endpoint).
  void load_stats_metrics(const YAML::Node& root, StatsSettings& stats, MetricsSettings& metrics) {
    if (auto node = map_at(root, "stats", "stats")) {
      check_keys(node, "stats", {"enabled", "interval"});
      get_bool(node["enabled"], "stats.enabled", stats.enabled);
      get_uint(node["interval"], "stats.interval", stats.interval_s, 1, 86400);
    }
    auto node = map_at(root, "metrics", "metrics");
    if (!node) return;
    check_keys(node, "metrics", {"enabled", "listen", "max-signatures", "max-zone-pairs", "max-vm-pairs"});
    get_bool(node["enabled"], "metrics.enabled", metrics.enabled);
    std::string listen;
    if (scalar(node["listen"], "metrics.listen", listen)) {
      // host:port or [v6]:port, the port a number up to 65535 (0: any free port).
      const size_t colon = listen.rfind(':');
      const std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
      const std::string port = colon == std::string::npos ? "" : listen.substr(colon + 1);
      const bool port_ok = !port.empty() && port.size() <= 5 &&
                           std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); }) &&
                           std::stoul(port) <= 65535;
      const bool host_ok = !host.empty() && (host.front() != '[' || (host.size() > 2 && host.back() == ']'));
      if (!port_ok || !host_ok) {
        fail(node["listen"], "metrics.listen",
             "'" + listen + "' is not an address (expected host:port, such as 127.0.0.1:9101 or [::1]:9101)");
      } else {
        metrics.listen = listen;
      }
    }
    get_uint(node["max-signatures"], "metrics.max-signatures", metrics.max_signatures, 1, 100000);
    get_uint(node["max-zone-pairs"], "metrics.max-zone-pairs", metrics.max_zone_pairs, 1, 100000);
    get_uint(node["max-vm-pairs"], "metrics.max-vm-pairs", metrics.max_vm_pairs, 1, 100000);
  }

  void load_inventory(const YAML::Node& root, InventorySettings& inventory, VmDetectSettings& detect) {
    if (auto node = map_at(root, "inventory", "inventory")) {
      check_keys(node, "inventory", {"file", "check-interval"});
      get_string(node["file"], "inventory.file", inventory.file);
      uint32_t seconds = inventory.check_interval_ms / 1000;
      get_uint(node["check-interval"], "inventory.check-interval", seconds, 1, 3600);
      inventory.check_interval_ms = seconds * 1000;
    }
    auto node = map_at(root, "vm-detect", "vm-detect");
    if (!node) return;
    check_keys(node, "vm-detect", {"enabled", "rate-limit", "arp-spoofing", "zone-policy", "management-access",
                                   "mac-spoofing", "rogue-dhcp", "rogue-ra", "scan", "brute-force"});
    get_bool(node["enabled"], "vm-detect.enabled", detect.enabled);
    if (auto limit = map_at(node, "rate-limit", "vm-detect.rate-limit")) {
      check_keys(limit, "vm-detect.rate-limit", {"alerts", "seconds"});
      get_uint(limit["alerts"], "vm-detect.rate-limit.alerts", detect.rate_limit_alerts, 1, 1000000);
      get_uint(limit["seconds"], "vm-detect.rate-limit.seconds", detect.rate_limit_seconds, 1, 86400);
    }
    auto detector = [&](const char* key, bool& enabled) {
      const std::string path = join("vm-detect", key);
      if (auto entry = map_at(node, key, path)) {
        check_keys(entry, path, {"enabled"});
        get_bool(entry["enabled"], join(path, "enabled"), enabled);
      }
    };
    if (auto arp = map_at(node, "arp-spoofing", "vm-detect.arp-spoofing")) {
      check_keys(arp, "vm-detect.arp-spoofing", {"enabled", "learn", "memcap", "timeout", "gratuitous-flood"});
      get_bool(arp["enabled"], "vm-detect.arp-spoofing.enabled", detect.arp_spoofing);
      get_bool(arp["learn"], "vm-detect.arp-spoofing.learn", detect.learn_bindings);
      get_size(arp["memcap"], "vm-detect.arp-spoofing.memcap", detect.binding_memcap, 64 << 10);
      get_uint(arp["timeout"], "vm-detect.arp-spoofing.timeout", detect.binding_timeout, 1, 86400 * 7);
      if (auto flood = map_at(arp, "gratuitous-flood", "vm-detect.arp-spoofing.gratuitous-flood")) {
        check_keys(flood, "vm-detect.arp-spoofing.gratuitous-flood", {"count", "seconds"});
        get_uint(flood["count"], "vm-detect.arp-spoofing.gratuitous-flood.count", detect.garp_flood_count, 1, 1000000);
        get_uint(flood["seconds"], "vm-detect.arp-spoofing.gratuitous-flood.seconds", detect.garp_flood_seconds, 1,
                 3600);
      }
    }
    if (auto mac = map_at(node, "mac-spoofing", "vm-detect.mac-spoofing")) {
      check_keys(mac, "vm-detect.mac-spoofing", {"enabled", "learn", "memcap", "timeout"});
      get_bool(mac["enabled"], "vm-detect.mac-spoofing.enabled", detect.mac_spoofing);
      get_bool(mac["learn"], "vm-detect.mac-spoofing.learn", detect.learn_segments);
      get_size(mac["memcap"], "vm-detect.mac-spoofing.memcap", detect.segment_memcap, 64 << 10);
      get_uint(mac["timeout"], "vm-detect.mac-spoofing.timeout", detect.segment_timeout, 1, 86400 * 7);
    }
    detector("zone-policy", detect.zone_policy);
    detector("management-access", detect.management_access);
    detector("rogue-dhcp", detect.rogue_dhcp);
    detector("rogue-ra", detect.rogue_ra);
    if (auto scan = map_at(node, "scan", "vm-detect.scan")) {
      check_keys(scan, "vm-detect.scan", {"enabled", "ports", "hosts", "seconds"});
      get_bool(scan["enabled"], "vm-detect.scan.enabled", detect.scan);
      get_uint(scan["ports"], "vm-detect.scan.ports", detect.scan_ports, 1, 63);  // the tracker holds 64
      get_uint(scan["hosts"], "vm-detect.scan.hosts", detect.scan_hosts, 1, 63);
      get_uint(scan["seconds"], "vm-detect.scan.seconds", detect.scan_seconds, 1, 3600);
    }
    if (auto brute = map_at(node, "brute-force", "vm-detect.brute-force")) {
      check_keys(brute, "vm-detect.brute-force", {"enabled", "connections", "seconds"});
      get_bool(brute["enabled"], "vm-detect.brute-force.enabled", detect.brute_force);
      get_uint(brute["connections"], "vm-detect.brute-force.connections", detect.brute_force_connections, 1, 1000000);
      get_uint(brute["seconds"], "vm-detect.brute-force.seconds", detect.brute_force_seconds, 1, 3600);
    }
  }

  // host-os-policy: {windows: [0.0.0.0/0], linux: [10.0.0.0/8, "2001:db8::/32"], ...}
  void load_host_os_policy(const YAML::Node& root, std::vector<HostOsPolicyEntry>& out) {
    auto node = map_at(root, "host-os-policy", "host-os-policy");
    if (!node) return;
    std::vector<HostOsPolicyEntry> entries;
    for (const auto& entry : node) {
      const std::string name = entry.first.as<std::string>();
      const std::string path = join("host-os-policy", name);
      const auto policy = os_policy_from_name(lower(name));
      if (!policy) {
        std::string expected;
        for (auto known : kOsPolicyNames) expected += (expected.empty() ? "" : ", ") + std::string(known);
        fail(entry.first, path, "unknown policy (expected one of: " + expected + ")");
        continue;
      }
      std::vector<std::string> texts;
      get_string_list(entry.second, path, texts);
      std::vector<AddressSet::Range> ranges;
      for (std::string text : texts) {
        // A quoted list "[10.0.0.0/8, 192.168.0.0/16]" means the same as a YAML list.
        if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
        std::stringstream items(text);
        for (std::string item; std::getline(items, item, ',');) {
          item.erase(0, item.find_first_not_of(" \t"));
          item.erase(item.find_last_not_of(" \t") + 1);
          if (item.empty()) continue;
          const auto range = AddressSet::parse_cidr(item);
          if (!range) {
            fail(entry.second, path, "'" + item + "' is not an address (expected an IPv4/IPv6 address or CIDR)");
            continue;
          }
          ranges.push_back(*range);
        }
      }
      if (!ranges.empty()) entries.push_back({*policy, AddressSet::from_ranges(std::move(ranges))});
    }
    out = std::move(entries);
  }

  // outputs.eve.rotate-size/-interval/-count: 0 (or absent) is off.
  void load_rotation(const YAML::Node& eve, LogRotationSettings& rotation) {
    get_size(eve["rotate-size"], "outputs.eve.rotate-size", rotation.size, 0);
    if (rotation.size != 0 && rotation.size < 4096) {
      fail(eve["rotate-size"], "outputs.eve.rotate-size", "is too small (expected 0 for off, or at least 4kb)");
    }
    std::string interval;
    if (scalar(eve["rotate-interval"], "outputs.eve.rotate-interval", interval) && interval != "0") {
      auto parsed = parse_rotate_interval(interval);
      if (parsed) {
        rotation.interval_seconds = parsed->seconds;
        rotation.interval_aligned = parsed->aligned;
      } else {
        fail(eve["rotate-interval"], "outputs.eve.rotate-interval", parsed.error());
      }
    }
    get_uint(eve["rotate-count"], "outputs.eve.rotate-count", rotation.count, 0, 100000);
  }

  // run-as: {user, group, net-admin, allow-root}, logging: {level, file}, pid-file.
  void load_daemon(const YAML::Node& root, DaemonSettings& daemon) {
    if (auto run_as = map_at(root, "run-as", "run-as")) {
      check_keys(run_as, "run-as", {"user", "group", "net-admin", "allow-root"});
      get_string(run_as["user"], "run-as.user", daemon.run_as.user);
      get_string(run_as["group"], "run-as.group", daemon.run_as.group);
      get_bool(run_as["net-admin"], "run-as.net-admin", daemon.run_as.net_admin);
      get_bool(run_as["allow-root"], "run-as.allow-root", daemon.run_as.allow_root);
      if (daemon.run_as.user.empty() && !daemon.run_as.group.empty()) {
        fail(run_as["group"], "run-as.group", "needs run-as.user (expected a user to switch to as well)");
      }
    }
    if (auto logging = map_at(root, "logging", "logging")) {
      check_keys(logging, "logging", {"level", "file"});
      size_t level = 0;
      if (get_choice(logging["level"], "logging.level", {"error", "warning", "info", "debug"}, level)) {
        daemon.logging.level = static_cast<LogLevel>(level);
      }
      get_string(logging["file"], "logging.file", daemon.logging.file);
    }
    get_string(root["pid-file"], "pid-file", daemon.pid_file);
  }

  void load_file_output(const YAML::Node& outputs, const char* key, FileOutputSettings& out) {
    const std::string path = join("outputs", key);
    YAML::Node node = map_at(outputs, key, path);
    if (!node) return;
    check_keys(node, path, {"enabled", "filename"});
    get_bool(node["enabled"], join(path, "enabled"), out.enabled);
    get_string(node["filename"], join(path, "filename"), out.filename);
    if (out.enabled && out.filename.empty()) fail(node, join(path, "filename"), "empty file name");
  }

  void load_outputs(const YAML::Node& outputs, Settings& settings) {
    if (!outputs || outputs.IsNull()) return;
    if (!outputs.IsMap()) {
      fail(outputs, "outputs", "expected a mapping of outputs (eve, fast, stats-log)");
      return;
    }
    check_keys(outputs, "outputs", {"eve", "fast", "stats-log", "pcap-log", "redis", "syslog", "unix", "kafka"});
    if (auto eve = map_at(outputs, "eve", "outputs.eve")) {
      check_keys(eve, "outputs.eve", {"enabled", "filename", "rotate-size", "rotate-interval", "rotate-count", "stats", "flow", "alert", "community-id", "community-id-seed",
                                        "anomaly"});
      get_bool(eve["flow"], "outputs.eve.flow", settings.eve.flow);
      get_bool(eve["community-id"], "outputs.eve.community-id", settings.eve.community_id);
      get_uint(eve["community-id-seed"], "outputs.eve.community-id-seed", settings.eve.community_id_seed, 0, 65535);
      get_bool(eve["enabled"], "outputs.eve.enabled", settings.eve.enabled);
      get_string(eve["filename"], "outputs.eve.filename", settings.eve.filename);
      get_bool(eve["stats"], "outputs.eve.stats", settings.eve.stats);
      if (settings.eve.enabled && settings.eve.filename.empty()) {
        fail(eve, "outputs.eve.filename", "empty file name");
      }
      load_rotation(eve, settings.eve.rotation);
      if (auto alert = map_at(eve, "alert", "outputs.eve.alert")) {
        check_keys(alert, "outputs.eve.alert", {"payload", "payload-printable", "packet", "references"});
        get_bool(alert["payload"], "outputs.eve.alert.payload", settings.eve.alert_payload);
        get_bool(alert["payload-printable"], "outputs.eve.alert.payload-printable",
                 settings.eve.alert_payload_printable);
        get_bool(alert["packet"], "outputs.eve.alert.packet", settings.eve.alert_packet);
        get_bool(alert["references"], "outputs.eve.alert.references", settings.eve.alert_references);
      }
      // Suricata's eve-log.types.anomaly keys, plus rate-limit (records per second per event name).
      if (auto anomaly = map_at(eve, "anomaly", "outputs.eve.anomaly")) {
        AnomalySettings& out = settings.eve.anomaly;
        check_keys(anomaly, "outputs.eve.anomaly", {"enabled", "types", "packethdr", "rate-limit"});
        get_bool(anomaly["enabled"], "outputs.eve.anomaly.enabled", out.enabled);
        get_bool(anomaly["packethdr"], "outputs.eve.anomaly.packethdr", out.packethdr);
        get_uint(anomaly["rate-limit"], "outputs.eve.anomaly.rate-limit", out.rate_limit, 0, 1'000'000);
        if (auto types = map_at(anomaly, "types", "outputs.eve.anomaly.types")) {
          check_keys(types, "outputs.eve.anomaly.types", {"decode", "stream", "applayer"});
          get_bool(types["decode"], "outputs.eve.anomaly.types.decode", out.decode);
          get_bool(types["stream"], "outputs.eve.anomaly.types.stream", out.stream);
          get_bool(types["applayer"], "outputs.eve.anomaly.types.applayer", out.applayer);
        }
      }
    }
    load_file_output(outputs, "fast", settings.fast);
    load_file_output(outputs, "stats-log", settings.stats_log);
    load_pcap_log(outputs, settings.pcap_log);
    load_sinks(outputs, settings.sinks);
  }

  // outputs.pcap-log: Suricata's keys (mode and compression only as Eastwatch writes them) plus
  // history, history-memcap and queue-size.
  void load_pcap_log(const YAML::Node& outputs, PcapLogSettings& out) {
    YAML::Node node = map_at(outputs, "pcap-log", "outputs.pcap-log");
    if (!node) return;
    check_keys(node, "outputs.pcap-log", {"enabled", "filename", "limit", "max-files", "ts-format", "conditional",
                                          "mode", "compression", "history", "history-memcap", "queue-size"});
    get_bool(node["enabled"], "outputs.pcap-log.enabled", out.enabled);
    get_string(node["filename"], "outputs.pcap-log.filename", out.filename);
    if (out.filename.empty() || out.filename.find('/') != std::string::npos || out.filename.size() > 64) {
      fail(node["filename"], "outputs.pcap-log.filename",
           "'" + out.filename + "' is not a file name (expected 1-64 characters without '/'; files go to the log directory)");
    }
    get_size(node["limit"], "outputs.pcap-log.limit", out.limit, 1024);
    get_uint(node["max-files"], "outputs.pcap-log.max-files", out.max_files, 0, 1'000'000);
    size_t choice = 0;
    if (get_choice(node["ts-format"], "outputs.pcap-log.ts-format", {"sec", "usec"}, choice)) out.ts_usec = choice == 1;
    if (get_choice(node["conditional"], "outputs.pcap-log.conditional", {"alerts", "tag", "all"}, choice)) {
      out.conditional = static_cast<PcapLogSettings::Conditional>(choice);
    }
    // Suricata's normal and multi modes both mean one file at a time per worker here; sguil's
    // directory layout is not written, nor are compressed files.
    get_choice(node["mode"], "outputs.pcap-log.mode", {"normal", "multi"}, choice);
    get_choice(node["compression"], "outputs.pcap-log.compression", {"none"}, choice);
    get_uint(node["history"], "outputs.pcap-log.history", out.history, 0, 1024);
    get_size(node["history-memcap"], "outputs.pcap-log.history-memcap", out.history_memcap, 64 << 10);
    get_size(node["queue-size"], "outputs.pcap-log.queue-size", out.queue_size, 256 << 10);
  }


  // One of `names` (case-insensitive); the index of the match in `index`.
  bool get_choice(const YAML::Node& node, const std::string& path, std::initializer_list<const char*> names,
                  size_t& index) {
    std::string text;
    if (!scalar(node, path, text)) return false;
    std::string expected;
    size_t at = 0;
    for (const char* name : names) {
      if (lower(text) == name) {
        index = at;
        return true;
      }
      expected += std::string(expected.empty() ? "" : ", ") + name;
      ++at;
    }
    fail(node, path, "'" + text + "' is not valid (expected one of: " + expected + ")");
    return false;
  }

  void load_spool(const YAML::Node& root, SpoolSettings& spool) {
    auto node = map_at(root, "spool", "spool");
    if (!node) return;
    check_keys(node, "spool", {"dir", "max-bytes", "fsync", "queue-size", "high-water", "drain-timeout"});
    get_string(node["dir"], "spool.dir", spool.dir);
    if (spool.dir.empty()) fail(node["dir"], "spool.dir", "empty directory name");
    get_size(node["max-bytes"], "spool.max-bytes", spool.max_bytes, 64 << 10);
    size_t fsync = 0;
    if (get_choice(node["fsync"], "spool.fsync", {"none", "batch", "always"}, fsync)) {
      spool.fsync = static_cast<SpoolFsyncPolicy>(fsync);
    }
    get_uint(node["queue-size"], "spool.queue-size", spool.queue_size, 16, 1u << 24);
    get_uint(node["high-water"], "spool.high-water", spool.high_water, 1, 100);
    get_uint(node["drain-timeout"], "spool.drain-timeout", spool.drain_timeout_ms, 0, 3600000);
  }

  void load_sinks(const YAML::Node& outputs, SinkSettings& sinks) {
    if (auto node = map_at(outputs, "redis", "outputs.redis")) {
      check_keys(node, "outputs.redis", {"enabled", "host", "port", "key", "mode", "batch-size"});
      get_bool(node["enabled"], "outputs.redis.enabled", sinks.redis.enabled);
      get_string(node["host"], "outputs.redis.host", sinks.redis.host);
      get_uint(node["port"], "outputs.redis.port", sinks.redis.port, 1, 65535);
      get_string(node["key"], "outputs.redis.key", sinks.redis.key);
      if (sinks.redis.key.empty()) fail(node["key"], "outputs.redis.key", "empty key");
      size_t mode = 0;
      if (get_choice(node["mode"], "outputs.redis.mode", {"list", "channel", "stream"}, mode)) {
        sinks.redis.mode = static_cast<RedisMode>(mode);
      }
      get_uint(node["batch-size"], "outputs.redis.batch-size", sinks.redis.batch_size, 1, 65536);
    }
    if (auto node = map_at(outputs, "syslog", "outputs.syslog")) {
      check_keys(node, "outputs.syslog", {"enabled", "transport", "host", "port", "facility", "severity", "app-name",
                                          "ca-file", "cert-file", "key-file"});
      get_bool(node["enabled"], "outputs.syslog.enabled", sinks.syslog.enabled);
      size_t transport = 0;
      if (get_choice(node["transport"], "outputs.syslog.transport", {"udp", "tcp", "tls"}, transport)) {
        sinks.syslog.transport = static_cast<SyslogTransport>(transport);
      }
      get_string(node["host"], "outputs.syslog.host", sinks.syslog.host);
      get_uint(node["port"], "outputs.syslog.port", sinks.syslog.port, 1, 65535);
      size_t facility = 0;
      if (get_choice(node["facility"], "outputs.syslog.facility",
                     {"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
                      "ftp", "ntp", "security", "console", "solaris-cron", "local0", "local1", "local2", "local3",
                      "local4", "local5", "local6", "local7"},
                     facility)) {
        sinks.syslog.facility = static_cast<uint32_t>(facility);
      }
      size_t severity = 0;
      if (get_choice(node["severity"], "outputs.syslog.severity",
                     {"auto", "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}, severity)) {
        sinks.syslog.severity = static_cast<int>(severity) - 1;
      }
      get_string(node["app-name"], "outputs.syslog.app-name", sinks.syslog.app_name);
      if (sinks.syslog.app_name.size() > 48 ||
          std::any_of(sinks.syslog.app_name.begin(), sinks.syslog.app_name.end(),
                      [](unsigned char c) { return c <= 32 || c >= 127; })) {
        fail(node["app-name"], "outputs.syslog.app-name", "expected at most 48 printable characters without spaces (RFC 5424)");
      }
      get_string(node["ca-file"], "outputs.syslog.ca-file", sinks.syslog.ca_file);
      get_string(node["cert-file"], "outputs.syslog.cert-file", sinks.syslog.cert_file);
      get_string(node["key-file"], "outputs.syslog.key-file", sinks.syslog.key_file);
    }
    if (auto node = map_at(outputs, "unix", "outputs.unix")) {
      check_keys(node, "outputs.unix", {"enabled", "path"});
      get_bool(node["enabled"], "outputs.unix.enabled", sinks.unix_socket.enabled);
      get_string(node["path"], "outputs.unix.path", sinks.unix_socket.path);
      if (sinks.unix_socket.path.empty() || sinks.unix_socket.path.size() > 107) {
        fail(node["path"], "outputs.unix.path", "expected a socket path of 1 to 107 characters");
      }
    }
    if (auto node = map_at(outputs, "kafka", "outputs.kafka")) {
      check_keys(node, "outputs.kafka", {"enabled", "brokers", "topic", "key", "properties"});
      get_bool(node["enabled"], "outputs.kafka.enabled", sinks.kafka.enabled);
      get_string(node["brokers"], "outputs.kafka.brokers", sinks.kafka.brokers);
      get_string(node["topic"], "outputs.kafka.topic", sinks.kafka.topic);
      if (sinks.kafka.topic.empty()) fail(node["topic"], "outputs.kafka.topic", "empty topic");
      size_t key = 0;
      if (get_choice(node["key"], "outputs.kafka.key", {"flow_id", "host"}, key)) {
        sinks.kafka.key = static_cast<KafkaKey>(key);
      }
      if (auto properties = map_at(node, "properties", "outputs.kafka.properties")) {
        sinks.kafka.properties.clear();
        for (const auto& entry : properties) {
          const std::string name = entry.first.as<std::string>();
          std::string value;
          if (scalar(entry.second, "outputs.kafka.properties." + name, value)) {
            sinks.kafka.properties.emplace_back(name, value);
          }
        }
      }
    }
  }

  std::map<std::string, std::string> overridden_;
};

std::string hostname() {
  char name[256] = {0};
  if (gethostname(name, sizeof name - 1) != 0) return "eastwatch";
  return name;
}

// Applies `a.b.c=value` to the tree; the value is parsed as YAML so lists work too.
std::string apply_override(YAML::Node& root, const std::string& text, std::map<std::string, std::string>& overridden) {
  const size_t equals = text.find('=');
  const std::string path = text.substr(0, equals);
  const std::string value = text.substr(equals + 1);
  std::vector<std::string> keys;
  std::stringstream stream(path);
  for (std::string key; std::getline(stream, key, '.');) {
    if (key.empty()) return "--set " + text + ": empty key in '" + path + "'";
    keys.push_back(key);
  }
  // Variable names may not contain dots; everything after vars.<group>. is one key.
  if (keys.size() > 3 && keys[0] == "vars") {
    for (size_t i = 3; i < keys.size(); ++i) keys[2] += "." + keys[i];
    keys.resize(3);
  }
  YAML::Node parsed;
  try {
    parsed = YAML::Load(value);
  } catch (const YAML::Exception& error) {
    return "--set " + text + ": cannot parse the value: " + error.msg;
  }
  if (!root.IsMap()) root = YAML::Node(YAML::NodeType::Map);
  std::vector<YAML::Node> chain{root};
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    YAML::Node next = chain.back()[keys[i]];
    if (!next.IsMap()) {
      if (next.IsDefined() && !next.IsNull()) return "--set " + text + ": '" + keys[i] + "' is not a mapping";
      next = YAML::Node(YAML::NodeType::Map);
      chain.back()[keys[i]] = next;
    }
    chain.push_back(next);
  }
  chain.back()[keys.back()] = parsed.IsNull() ? YAML::Node(value) : parsed;
  overridden[path] = value;
  return {};
}

}  // namespace

std::string_view embedded_default_config() {
  return std::string_view(eastwatch_embedded_config, eastwatch_embedded_config_size);
}

tl::expected<Settings, std::vector<ConfigError>> load_settings(const std::optional<std::string>& path,
                                                               const std::vector<std::string>& overrides) {
  Settings settings;
  std::string text;
  std::string file = "<embedded eastwatch.yaml>";
  if (path) {
    file = *path;
    std::ifstream in(*path, std::ios::binary);
    if (!in) return tl::unexpected(std::vector<ConfigError>{{*path + ": cannot open the config file"}});
    std::stringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
  } else {
    text = std::string(embedded_default_config());
  }
  settings.source_file = file;

  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& error) {
    return tl::unexpected(std::vector<ConfigError>{
        {file + ":" + std::to_string(error.mark.line + 1) + ": YAML syntax error: " + error.msg}});
  } catch (const YAML::Exception& error) {
    return tl::unexpected(std::vector<ConfigError>{{file + ": YAML error: " + error.msg}});
  }

  std::vector<ConfigError> errors;
  std::map<std::string, std::string> overridden;
  for (const auto& override_text : overrides) {
    if (auto error = apply_override(root, override_text, overridden); !error.empty()) errors.push_back({error});
  }
  Loader loader(file, overridden);
  try {
    loader.load(root, settings);
  } catch (const YAML::Exception& error) {
    errors.push_back({file + ": " + error.msg});
  }
  for (auto& error : loader.take_errors()) errors.push_back({std::move(error)});
  if (!errors.empty()) return tl::unexpected(std::move(errors));
  if (settings.sensor_name.empty()) settings.sensor_name = hostname();
  return settings;
}

}  // namespace eastwatch

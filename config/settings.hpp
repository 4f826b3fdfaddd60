// The validated, immutable settings every stage receives. Only config/ reads YAML;
// stages take these plain structs. Defaults here equal config/eastwatch.yaml's.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "config/daemon_settings.hpp"
#include "config/decoder_settings.hpp"
#include "config/os_policy.hpp"
#include "signatures/address.hpp"
#include "signatures/variables.hpp"

namespace eastwatch {

struct FlowTimeouts {
  uint32_t new_seconds = 30;
  uint32_t established_seconds = 300;
  uint32_t closed_seconds = 0;
  uint32_t emergency_new_seconds = 10;
  uint32_t emergency_established_seconds = 100;
  uint32_t emergency_closed_seconds = 0;
};

struct FlowSettings {
  uint64_t memcap = 128ull << 20;  // bytes for flow memory (table + pool)
  uint32_t hash_size = 65536;      // buckets
  uint32_t prealloc = 10000;       // flows allocated at start
  uint32_t emergency_recovery = 30;  // percent of the pool that must free up to leave emergency mode
  FlowTimeouts tcp{60, 600, 60, 10, 300, 20};
  FlowTimeouts udp{30, 300, 0, 10, 100, 0};
  FlowTimeouts icmp{30, 300, 0, 10, 100, 0};
  FlowTimeouts other{30, 300, 0, 10, 100, 0};
  // Not a config key: the worker thread's index, set by the worker pool, so that flow ids are
  // unique across workers (each worker numbers its flows from index << 40).
  uint32_t worker_index = 0;
};

// EVE `anomaly` records (Suricata's eve-log.types.anomaly): decoder, defrag and stream events.
struct AnomalySettings {
  bool enabled = false;
  bool decode = true;         // decoder and defrag events (anomaly.type "decode")
  bool stream = true;         // TCP stream events (anomaly.type "stream")
  bool applayer = false;      // application-layer events (anomaly.type "applayer"); none are raised yet
  bool packethdr = false;     // the frame's first 32 bytes as base64 `packet` (needs decode on, as Suricata)
  uint32_t rate_limit = 100;  // records per second (packet time) per event name per worker; 0: no limit
};

struct EveSettings {
  bool enabled = true;
  std::string filename = "eve.json";  // relative to the log directory
  bool alert_payload = false;          // base64 `payload`
  bool alert_payload_printable = false;
  bool alert_packet = false;           // base64 `packet`
  bool alert_references = false;       // `alert.references`: the rule's references as URLs
  bool stats = true;                   // a stats record at the end of a replay
  bool flow = false;                   // a flow record when each flow ends
  AnomalySettings anomaly;             // `anomaly` records
  bool community_id = false;           // `community_id` (Community ID v1) in alert and flow records
  uint16_t community_id_seed = 0;
  LogRotationSettings rotation;        // rotate-size, rotate-interval, rotate-count
};

struct FileOutputSettings {
  bool enabled = true;
  std::string filename;
};

// Conditional packet logging (Suricata's outputs.pcap-log; sensor/output/pcap_log.hpp): the
// packets of alerting flows, with the last `history` packets before the alert, to rotating
// pcap files in the log directory.
struct PcapLogSettings {
  enum class Conditional : uint8_t { Alerts, Tag, All };
  bool enabled = false;
  std::string filename = "log.pcap";      // files are <filename>.<sec> (<filename>.<worker>.<sec> with workers > 1)
  uint64_t limit = 100ull << 20;          // bytes per file; the next packet that would pass it opens a new file
  uint32_t max_files = 100;               // files kept, the oldest deleted beyond it; 0: keep all
  bool ts_usec = false;                   // ts-format: usec (<sec>.<usec> in the file name)
  Conditional conditional = Conditional::Alerts;
  uint32_t history = 8;                   // packets kept per flow before its first alert (alerts only)
  uint64_t history_memcap = 16ull << 20;  // per worker: the kept packets' memory
  uint64_t queue_size = 4ull << 20;       // per worker: bytes of packet copies waiting for the writer
};

struct DetectSettings {
  uint32_t max_alerts_per_packet = 15;  // Suricata's packet_alert_max
  bool profile_rules = false;            // --profile-rules: per-rule checks, matches and cost
  std::string hs_cache_dir;              // serialized Hyperscan databases; empty: no cache
  uint32_t xbits_table_size = 65536;     // xbits entries (host/pair, bit), shared by all workers
};

// IP defragmentation (Suricata's `defrag:`), per worker.
struct DefragSettings {
  uint64_t memcap = 32ull << 20;  // bytes for trackers, fragment records and fragment data
  uint32_t hash_size = 65536;     // buckets of the tracker index
  uint32_t trackers = 65535;      // datagrams reassembled at once (bounded by memcap too)
  uint32_t max_frags = 65535;     // fragments kept per datagram
  bool prealloc = false;          // touch the pools at start-up (else pages are backed on first use)
  uint32_t timeout_seconds = 60;  // an incomplete datagram is dropped this long after its latest fragment
};

// One `host-os-policy:` entry: the policy of the hosts in `addresses`.
struct HostOsPolicyEntry {
  OsPolicy policy = OsPolicy::Bsd;
  AddressSet addresses;
};

// TCP stream tracking and reassembly (Suricata's `stream:`), per worker.
struct StreamReassemblySettings {
  uint64_t memcap = 256ull << 20;  // bytes for queued out-of-order segment data (chunk pool)
  uint64_t depth = 1ull << 20;     // bytes reassembled per direction; 0: no limit
  uint32_t inspect_window = 2048;  // look-back bytes kept per direction for detection
  uint32_t queue_limit = 512;      // out-of-order chunks queued per direction
};

struct StreamSettings {
  uint64_t memcap = 64ull << 20;   // bytes for sessions (with their look-back buffers)
  bool midstream = false;          // pick up sessions without a seen handshake
  bool async_oneside = false;      // accept sessions where only one side is seen
  StreamReassemblySettings reassembly;
};

// The application layer (Suricata's `app-layer:`, flattened: Suricata's
// app-layer.protocols.http.libhtp.default-config.request-body-limit is app-layer.http.request-body-limit).
struct AppLayerHttpSettings {
  uint64_t request_body_limit = 100 * 1024;   // body bytes inspected per request (decompressed)
  uint64_t response_body_limit = 100 * 1024;  // ... per response
  uint32_t header_limit = 16 * 1024;          // request/status line + headers kept per direction
  uint64_t compression_bomb_limit = 1ull << 20;  // decompressed bytes per body at most
  uint32_t compression_bomb_ratio = 2048;        // decompressed : compressed at most (past 64 KiB)
  uint32_t decompressors = 64;                   // bodies decompressed at once per worker
};

struct AppLayerTlsSettings {
  uint64_t memcap = 32ull << 20;         // per worker: TLS flow states with their handshake buffers
  uint32_t handshake_limit = 16 * 1024;  // handshake message bytes gathered per direction
};

// DNS (Suricata's app-layer.protocols.dns, flattened to app-layer.dns).
struct AppLayerDnsSettings {
  bool tcp_enabled = true;                  // parse DNS over TCP
  bool udp_enabled = true;                  // parse DNS over UDP
  uint64_t global_memcap = 16ull << 20;     // per worker: DNS/TCP flow states with their message buffers
  uint32_t tcp_buffer_size = 4 * 1024;      // per direction: a message split over segments is gathered here
};

struct AppLayerSettings {
  bool enabled = true;              // no: no protocol detection, no parsing, no app-layer buffers (bench/)
  uint64_t memcap = 256ull << 20;  // per worker: HTTP flow states with their header buffers
  AppLayerHttpSettings http;
  AppLayerTlsSettings tls;
  AppLayerDnsSettings dns;
};

enum class CaptureMode { Pcap, Dpdk };

// DPDK capture (capture.mode: dpdk; Suricata's dpdk: section, flattened).
struct DpdkSettings {
  std::vector<std::string> eal_args;  // rte_eal_init's arguments (the program name is added)
  std::vector<std::string> ports;     // port names (net_pcap0, a PCI address), rte_eth_dev_get_port_by_name
  uint32_t rx_queues = 0;             // RX queues per port; 0: one per worker
  uint32_t mbuf_pool_size = 65535;    // mbufs in the pool shared by every port
  uint32_t mbuf_cache_size = 256;     // per-lcore mbuf cache
  uint32_t rx_descriptors = 1024;     // descriptors per RX queue
  uint32_t burst_size = 32;           // frames per rte_eth_rx_burst
  uint32_t idle_exit = 0;             // seconds without a frame that end the run; 0: never
};

// Where frames come from and how they are spread over workers (Suricata's af-packet: and threading:).
struct CaptureSettings {
  CaptureMode mode = CaptureMode::Pcap;  // --dpdk sets Dpdk
  DpdkSettings dpdk;
  std::vector<std::string> interfaces;  // live capture; -i replaces the list
  uint64_t buffer_size = 64ull << 20;   // kernel ring per interface (TPACKET_V3), bytes
  uint32_t snaplen = 65535;             // bytes kept of each frame
  bool promisc = true;
  std::string bpf_filter;               // empty: every frame
  uint32_t workers = 1;                 // worker threads; --workers overrides
  uint32_t retry_delay_ms = 500;        // an interface that fails is reopened after this wait ...
  uint32_t retry_max_ms = 30000;        // ... doubling each attempt up to this
};

// The VM inventory (sensor/inventory): zones, zone policy, VMs and the management plane, in
// a YAML file of its own, reloaded when it changes and on SIGHUP.
// The control socket of a live run (`eastwatch ctl`): a Unix stream socket, mode 0660; empty: none.
struct ControlSettings {
  std::string socket = "/run/eastwatch/eastwatch.sock";
};

struct InventorySettings {
  std::string file;                   // empty: no inventory
  uint32_t check_interval_ms = 1000;  // how often the control thread checks the file's mtime
};

// The built-in VM-aware detectors (sensor/vmdetect, gid 9000).
struct VmDetectSettings {
  bool enabled = true;
  uint32_t rate_limit_alerts = 10;    // alerts per detector and source address ...
  uint32_t rate_limit_seconds = 60;   // ... within this many seconds (packet time)
  bool arp_spoofing = true;           // sid 1
  bool learn_bindings = true;         // sid 1: address -> MAC bindings learned from ARP, DHCP acks, ND
  uint64_t binding_memcap = 4ull << 20;   // the learned bindings table, bytes
  uint32_t binding_timeout = 3600;        // seconds after which an unconfirmed binding ages out
  uint32_t garp_flood_count = 10;     // sid 1: more than this many gratuitous ARPs from one MAC ...
  uint32_t garp_flood_seconds = 10;   // ... within this many seconds
  bool learn_segments = true;         // sid 2: a VM MAC's first VLAN / VNI / mirror session learned
  uint64_t segment_memcap = 1ull << 20;   // the learned segments table, bytes
  uint32_t segment_timeout = 3600;
  bool zone_policy = true;            // sid 5
  bool management_access = true;      // sid 8
  bool mac_spoofing = true;           // sid 2
  bool rogue_dhcp = true;             // sid 3
  bool rogue_ra = true;               // sid 4
  bool scan = true;                   // sid 6
  uint32_t scan_ports = 20;           // more than this many ports on one neighbour ...
  uint32_t scan_hosts = 10;           // ... or more than this many neighbours ...
  uint32_t scan_seconds = 60;         // ... within this many seconds
  bool brute_force = true;            // sid 7
  uint32_t brute_force_connections = 10;  // more than this many new connections to one service ...
  uint32_t brute_force_seconds = 60;      // ... within this many seconds
};

// The network sinks (sensor/output/sink*.hpp): where EVE records go besides eve.json, each
// with its own queue, thread and on-disk spool (the top-level `spool:` and `outputs.<sink>`).
enum class SpoolFsyncPolicy : uint8_t { None, Batch, Always };
struct SpoolSettings {
  std::string dir = "/var/spool/eastwatch";  // one subdirectory per sink
  uint64_t max_bytes = 1ull << 30;           // per sink; past it the oldest records are dropped
  SpoolFsyncPolicy fsync = SpoolFsyncPolicy::Batch;
  uint32_t queue_size = 65536;               // records held in memory per sink
  uint32_t high_water = 75;                  // percent of queue-size past which records spool
  uint32_t drain_timeout_ms = 10000;         // at exit; what is left stays spooled
};
enum class RedisMode : uint8_t { List, Channel, Stream };  // RPUSH, PUBLISH, XADD
struct RedisSinkSettings {
  bool enabled = false;
  std::string host = "127.0.0.1";
  uint32_t port = 6379;
  std::string key = "eastwatch";
  RedisMode mode = RedisMode::List;
  uint32_t batch_size = 256;  // commands pipelined per round trip
};
enum class SyslogTransport : uint8_t { Udp, Tcp, Tls };
struct SyslogSinkSettings {
  bool enabled = false;
  SyslogTransport transport = SyslogTransport::Tcp;
  std::string host = "127.0.0.1";
  uint32_t port = 514;
  uint32_t facility = 21;  // local5, Suricata's default
  int severity = -1;       // -1: from the alert's priority (1 crit, 2 err, 3 warning, 4+ notice; others info)
  std::string app_name = "eastwatch";
  std::string ca_file;    // tls: the CA bundle the collector's certificate is checked against
  std::string cert_file;  // tls: optional client certificate ...
  std::string key_file;   // ... and its key
};
struct UnixSinkSettings {
  bool enabled = false;
  std::string path = "/run/eastwatch/eve.sock";
};
enum class KafkaKey : uint8_t { FlowId, Host };
struct KafkaSinkSettings {
  bool enabled = false;
  std::string brokers = "127.0.0.1:9092";
  std::string topic = "eastwatch";
  KafkaKey key = KafkaKey::FlowId;
  std::vector<std::pair<std::string, std::string>> properties;  // librdkafka properties, in order
};
struct SinkSettings {
  SpoolSettings spool;
  RedisSinkSettings redis;
  SyslogSinkSettings syslog;
  UnixSinkSettings unix_socket;
  KafkaSinkSettings kafka;
};

// Periodic stats (Suricata's `stats:`): every `interval` seconds an EVE `stats` record (with
// outputs.eve.stats) and a stats.log block, besides the one at the end of the run.
struct StatsSettings {
  bool enabled = true;
  uint32_t interval_s = 8;
};

// The Prometheus endpoint (sensor/main/metrics_server): off unless `listen` is set.
struct MetricsSettings {
  bool enabled = false;
  std::string listen = "127.0.0.1:9101";  // host:port ([v6]:port); port 0 picks a free one
  uint32_t max_signatures = 500;          // alert series by signature; more go to sid="other"
  uint32_t max_zone_pairs = 100;          // alert series by (src_zone, dest_zone); more go to "other"
  uint32_t max_vm_pairs = 200;            // alert series by (src_vm, dest_vm); more go to "other"
};

struct Settings {
  std::string source_file;   // the YAML it came from; "<embedded>" for the built-in defaults
  std::string sensor_name;   // EVE `host`; defaults to the machine's hostname
  std::string log_dir = "/var/log/eastwatch";  // -l overrides
  RuleVariables variables;
  std::string default_rule_path;
  std::vector<std::string> rule_files;  // relative to default_rule_path unless absolute
  std::string classification_file;      // empty: the built-in table
  std::string reference_file;           // reference.config; empty: the built-in table
  std::string threshold_file;           // threshold.config (suppress/threshold lines); empty: none
  FlowSettings flow;
  StreamSettings stream;
  AppLayerSettings app_layer;
  EveSettings eve;
  FileOutputSettings fast{true, "fast.log"};
  FileOutputSettings stats_log{true, "stats.log"};
  PcapLogSettings pcap_log;
  DetectSettings detect;
  DefragSettings defrag;
  CaptureSettings capture;
  SinkSettings sinks;
  DecoderSettings decoder;
  std::vector<HostOsPolicyEntry> host_os_policy;  // in config order; empty: every host bsd
  InventorySettings inventory;
  ControlSettings control;
  VmDetectSettings vm_detect;
  DaemonSettings daemon;  // run-as, logging, pid-file
  StatsSettings stats;
  MetricsSettings metrics;
};

}  // namespace eastwatch

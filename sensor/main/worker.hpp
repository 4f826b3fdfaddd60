// A worker runs packets to completion: decode -> flow -> stream -> app-layer -> detect -> alert queue.
// It owns its flow table, detection scratch and counters; nothing on this path is shared
// with another worker, so it takes no locks. All memory is allocated in the constructor.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "config/settings.hpp"
#include "sensor/applayer/app_layer.hpp"
#include "sensor/decode/decode_stats.hpp"
#include "sensor/decode/packet.hpp"
#include "sensor/defrag/defragmenter.hpp"
#include "sensor/detect/detect_engine.hpp"
#include "sensor/flow/flow_table.hpp"
#include "sensor/flow/host_os_policy.hpp"
#include "sensor/inventory/inventory_store.hpp"
#include "sensor/inventory/vm_eve_data.hpp"
#include "sensor/main/rule_store.hpp"
#include "sensor/output/alert_queue.hpp"
#include "sensor/output/anomaly_recorder.hpp"
#include "sensor/output/pcap_log.hpp"
#include "sensor/output/pcap_log_writer.hpp"
#include "sensor/published_counters.hpp"
#include "sensor/stream/tcp_stream_engine.hpp"
#include "sensor/vmdetect/vm_detector.hpp"

namespace eastwatch {

// Every counter of a worker, as it publishes them for the live stats (sensor/main/live_stats.hpp).
struct WorkerCounterSet {
  DecodeStats decode;
  FlowCounters flow;
  DefragCounters defrag;
  StreamCounters stream;
  AppLayerCounters app_layer;
  DetectCounters detect;
  VmDetectCounters vm_detect;
  AnomalyCounters anomaly;
  PcapLogCounters pcap_log;
  int64_t last_packet_usec = 0;  // packet time of the latest packet processed
};

class Worker {
 public:
  static constexpr uint32_t kBurstSize = 32;
  // The counters are published for other threads every this many bursts, when idle, and at the end.
  static constexpr uint32_t kPublishEveryBursts = 16;

  // `flows` receives a record of each ended flow when EVE flow records are on. `inventory`, when
  // given, is read between bursts (a new snapshot is picked up there); alerts then carry `vm`
  // and the built-in VM detectors run.
  Worker(const Settings& settings, const DetectEngine& detect, AlertQueue& alerts, FlowQueue& flows,
         const InventoryStore* inventory = nullptr);

  // Processes a burst of captured frames (frame fields set). Never allocates or throws.
  void process_burst(std::span<Packet> packets) noexcept;
  // A burst another thread has already decoded (sensor/main/decode_ahead.hpp): process_burst
  // without the decode; `decoded_so_far` is that decoder's counters so far, which the worker's
  // decode counters then include.
  void process_decoded_burst(std::span<Packet> packets, const DecodeStats& decoded_so_far) noexcept;

  // Where EVE anomaly records go (OutputThread::anomaly_queue; null: none are made).
  void set_anomaly_queue(AnomalyQueue* queue) noexcept { anomalies_.set_queue(queue); }
  // Where packet logging goes (OutputThread::pcap_log; null: outputs.pcap-log is off), as worker
  // `index` of the writer's workers.
  void set_pcap_log(PcapLogWriter* writer, uint32_t index) noexcept {
    if (writer != nullptr) pcap_log_.set_queue(&writer->queue(index), writer->worker_count(), writer->dir());
  }

  // Reload: from now on the worker takes its rule set from `store` (as worker `index`), moving
  // to each new one between bursts; call before the worker's thread starts. `refresh_rules`
  // (the worker's thread, also when idle) moves now if there is a new one; `leave_rule_store`
  // (its loop ended) tells the store it will not look again.
  void attach_rule_store(RuleStore& store, uint32_t index);
  void refresh_rules() noexcept;
  void leave_rule_store() noexcept;
  const DetectEngine& detect_engine() const noexcept { return *detect_; }
  const DetectThread& detect_thread() const noexcept { return *detect_thread_; }

  // Ends every flow (end of a replay), then publishes the counters.
  void finish() noexcept;

  // The live stats: `process_burst` publishes a copy of every counter every kPublishEveryBursts
  // bursts; the worker's thread calls `idle` when it found nothing to do (publishes what the
  // last bursts counted, once). Any thread may read the latest copy (false: none yet).
  void idle() noexcept {
    if (bursts_unpublished_ > 0) publish_stats();
  }
  void publish_stats() noexcept;
  bool read_published_stats(WorkerCounterSet& out) const noexcept { return published_.read(out); }

  DecodeStats decode_stats() const noexcept;
  const FlowCounters& flow_counters() const noexcept { return flows_.counters(); }
  const DefragCounters& defrag_counters() const noexcept { return defrag_.counters(); }
  const DetectCounters& detect_counters() const noexcept { return detect_thread_->counters(); }
  const StreamCounters& stream_counters() const noexcept { return stream_.counters(); }
  const AppLayerCounters& app_layer_counters() const noexcept { return app_layer_.counters(); }
  const VmDetectCounters& vm_detect_counters() const noexcept { return vm_detect_.counters(); }
  const AnomalyCounters& anomaly_counters() const noexcept { return anomalies_.counters(); }
  const PcapLogCounters& pcap_log_counters() const noexcept { return pcap_log_.counters(); }
  std::span<const RuleProfile> rule_profile(size_t rule_count) const noexcept {
    return detect_thread_->profile(rule_count);
  }

 private:
  void process_packet(Packet& packet) noexcept;
  void process_frame(Packet& packet) noexcept;  // a decoded frame, from capture on
  void prefetch_state(const Packet& next) const noexcept;  // process_decoded_burst's hints
  void process_decoded(Packet& packet, bool decoded, bool may_defragment) noexcept;
  void end_burst(std::span<const Packet> packets) noexcept;  // expiry and stats, after each burst
  void push_alerts(const Packet& packet, size_t count) noexcept;
  void refresh_inventory() noexcept;
  size_t resolve_flow_vms(Packet& packet) noexcept;  // returns the built-in detectors' alerts

  const DetectEngine* detect_;  // the rule set in use (a reload moves it)
  AlertQueue& alerts_;
  FlowTable flows_;
  Defragmenter defrag_;
  Packet rebuilt_{};  // the datagram defrag rebuilt from the latest fragment
  HostOsPolicyTable host_os_policy_;
  TcpStreamEngine stream_;
  StreamUpdate stream_update_;  // the newly contiguous stream bytes of the latest TCP packet
  AppLayer app_layer_;          // its HTTP transactions: app_layer_.http_output(), for detection
  std::unique_ptr<DetectThread> own_thread_;  // until attach_rule_store hands it to the store
  DetectThread* detect_thread_;                // the thread of the rule set in use
  RuleStore* rule_store_ = nullptr;
  uint32_t rule_slot_ = 0;
  uint64_t rules_generation_ = 0;
  std::unique_ptr<AlertEvent[]> alert_buffer_;
  uint32_t alert_buffer_size_;
  DecodeStats decode_stats_{};
  DecodeStats decoded_ahead_{};  // process_decoded_burst: the decoding thread's counters
  DecoderSettings decoder_;  // the mirror encapsulation decoders' settings
  const InventoryStore* inventory_store_;
  std::shared_ptr<const Inventory> inventory_;  // the snapshot in use (null: none)
  uint32_t inventory_generation_ = 0;           // its generation, low 32 bits (Flow::vm_generation)
  VmDetector vm_detect_;
  VmEveData vm_eve_{};  // the `vm` object of the packet being alerted on
  int64_t last_expire_usec_ = 0;
  AnomalyRecorder anomalies_;      // EVE anomaly records of the packets' decode and stream events
  StreamCounters stream_before_{};  // the stream counters before the latest packet (stream events)
  PcapLogRecorder pcap_log_;        // outputs.pcap-log: the packets of alerting flows
  const Packet* frame_ = nullptr;   // the captured frame being processed (a rebuilt datagram's)
  int64_t last_packet_usec_ = 0;
  uint32_t bursts_unpublished_ = 0;
  WorkerCounterSet publish_scratch_{};
  Published<WorkerCounterSet> published_;
};

}  // namespace eastwatch

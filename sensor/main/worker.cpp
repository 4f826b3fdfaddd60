#include "sensor/main/worker.hpp"

#include <algorithm>

#include "sensor/decode/decoder.hpp"
#include "sensor/inventory/vm_context.hpp"
#include "sensor/stats_visitor.hpp"

namespace eastwatch {

namespace {
// The EVE `mirror` facts of a flow: its key's encapsulation, session, VNI and VLAN, and the
// outer source address of its first packet.
MirrorInfo flow_mirror(const Flow& flow) noexcept {
  MirrorInfo mirror;
  mirror.encap = static_cast<MirrorEncap>(flow.key.mirror >> 56);
  mirror.vlan = static_cast<uint16_t>(flow.key.mirror >> 40);
  mirror.session_id = static_cast<uint16_t>(flow.key.mirror >> 24);
  mirror.vni = static_cast<uint32_t>(flow.key.mirror & 0xffffff);
  mirror.sensor_src = flow.mirror_sensor_src;
  return mirror;
}

// Flow expiry runs between bursts, at most every 100 ms of packet time, with bounded work.
constexpr int64_t kExpireIntervalUsec = 100'000;
constexpr uint32_t kExpireChecksPerRun = 256;
// Deliveries of queued stream bytes per packet: each holds up to StreamUpdate::kMaxSpans
// chunks; a hole filled after more than this is inspected in part (and counted by the engine).
constexpr uint32_t kMaxDrainRounds = 64;
// How many packets ahead of the one processed a decoded burst's flow slot and flow are
// prefetched (the slot first, so that its line is in when the flow's address is read from it).
constexpr size_t kPrefetchSlotAhead = 12;
constexpr size_t kPrefetchFlowAhead = 6;
}  // namespace

Worker::Worker(const Settings& settings, const DetectEngine& detect, AlertQueue& alerts, FlowQueue& flow_records,
               const InventoryStore* inventory)
    : detect_(&detect),
      alerts_(alerts),
      flows_(settings.flow),
      defrag_(settings.defrag, settings.host_os_policy),
      host_os_policy_(settings.host_os_policy),
      stream_(settings.stream, &host_os_policy_),
      app_layer_(settings.app_layer),
      own_thread_(detect.make_thread(stream_.session_capacity())),
      detect_thread_(own_thread_.get()),
      alert_buffer_(std::make_unique<AlertEvent[]>(std::max<uint32_t>(1, settings.detect.max_alerts_per_packet))),
      alert_buffer_size_(std::max<uint32_t>(1, settings.detect.max_alerts_per_packet)),
      inventory_store_(inventory),
      vm_detect_(settings.vm_detect, inventory != nullptr ? inventory->learned() : nullptr,
                 inventory != nullptr ? inventory->scans() : nullptr),
      anomalies_(settings.eve.enabled ? settings.eve.anomaly : AnomalySettings{}),
      pcap_log_(settings.pcap_log) {
  refresh_inventory();
  // A flow's end frees its TCP session; with EVE flow records on, it also writes the record.
  const bool write_records = settings.eve.enabled && settings.eve.flow;
  flows_.set_end_callback([this, write_records, &flow_records](const Flow& flow, FlowEndReason reason) {
    stream_.release(flow);
    app_layer_.release(flow);
    pcap_log_.release(flow);
    if (!write_records) return;
    FlowEvent event;
    event.flow_id = flow.flow_id;
    event.start_usec = flow.start_usec;
    event.end_usec = flow.last_usec;
    event.src = flow.key.client;
    event.dst = flow.key.server;
    event.src_port = flow.key.client_port;
    event.dst_port = flow.key.server_port;
    event.ip_proto = flow.key.ip_proto;
    event.vlan_count = flow.key.vlan_id[1] ? 2 : (flow.key.vlan_id[0] ? 1 : 0);
    event.vlan_id[0] = flow.key.vlan_id[0];
    event.vlan_id[1] = flow.key.vlan_id[1];
    event.pkts_toserver = flow.pkts_toserver;
    event.pkts_toclient = flow.pkts_toclient;
    event.bytes_toserver = flow.bytes_toserver;
    event.bytes_toclient = flow.bytes_toclient;
    event.tcp_flags_toserver = flow.tcp_flags_toserver;
    event.tcp_flags_toclient = flow.tcp_flags_toclient;
    event.state = flow.state == FlowState::New           ? FlowEvent::State::New
                  : flow.state == FlowState::Established ? FlowEvent::State::Established
                                                         : FlowEvent::State::Closed;
    event.reason = reason == FlowEndReason::Timeout   ? FlowEvent::Reason::Timeout
                   : reason == FlowEndReason::Evicted ? FlowEvent::Reason::Forced
                                                      : FlowEvent::Reason::Shutdown;
    event.alerted = flow.alerted;
    event.app_proto = flow.app_proto;
    event.mirror = flow_mirror(flow);
    flow_records.push(event);
  });
  decoder_ = settings.decoder;
  app_layer_.set_output_read(detect.rules().has_app_rules());
}

void Worker::process_burst(std::span<Packet> packets) noexcept {
  refresh_inventory();
  refresh_rules();
  for (Packet& packet : packets) process_packet(packet);
  end_burst(packets);
}

void Worker::process_decoded_burst(std::span<Packet> packets, const DecodeStats& decoded_so_far) noexcept {
  refresh_inventory();
  refresh_rules();
  // The flow slot and then the flow of a packet a few places ahead are prefetched while this
  // one is processed: the slot table and the flows are far larger than the caches, and their
  // loads were most of the flow lookup's time.
  const size_t count = packets.size();
  for (size_t i = 0; i < std::min(count, kPrefetchSlotAhead); ++i) flows_.prefetch_slot(packets[i]);
  for (size_t i = 0; i < std::min(count, kPrefetchFlowAhead); ++i) flows_.prefetch_flow(packets[i]);
  for (size_t i = 0; i < count; ++i) {
    if (i + kPrefetchSlotAhead < count) flows_.prefetch_slot(packets[i + kPrefetchSlotAhead]);
    if (i + kPrefetchFlowAhead < count) flows_.prefetch_flow(packets[i + kPrefetchFlowAhead]);
    if (i + 1 < count) prefetch_state(packets[i + 1]);
    process_frame(packets[i]);
  }
  decoded_ahead_ = decoded_so_far;
  end_burst(packets);
}

void Worker::end_burst(std::span<const Packet> packets) noexcept {
  if (!packets.empty()) {
    const int64_t now = packets.back().ts_usec;
    last_packet_usec_ = now;
    if (now - last_expire_usec_ >= kExpireIntervalUsec) {
      flows_.expire(now, kExpireChecksPerRun);
      defrag_.expire(now, kExpireChecksPerRun);
      last_expire_usec_ = now;
    }
  }
  if (++bursts_unpublished_ >= kPublishEveryBursts) publish_stats();
}

DecodeStats Worker::decode_stats() const noexcept {
  DecodeStats total = decoded_ahead_;
  accumulate(total, decode_stats_);
  total.max_pkt_size = std::max(decoded_ahead_.max_pkt_size, decode_stats_.max_pkt_size);
  return total;
}

void Worker::publish_stats() noexcept {
  publish_scratch_.decode = decode_stats();
  publish_scratch_.flow = flows_.counters();
  publish_scratch_.defrag = defrag_.counters();
  publish_scratch_.stream = stream_.counters();
  publish_scratch_.app_layer = app_layer_.counters();
  publish_scratch_.detect = detect_thread_->counters();
  publish_scratch_.vm_detect = vm_detect_.counters();
  publish_scratch_.anomaly = anomalies_.counters();
  publish_scratch_.pcap_log = pcap_log_.counters();
  publish_scratch_.last_packet_usec = last_packet_usec_;
  published_.publish(publish_scratch_);
  bursts_unpublished_ = 0;
}

// The next packet's flow is in the cache by now (prefetch_flow): its TCP session, look-back
// buffer, Hyperscan stream state and HTTP parser state are loaded while this packet is processed.
void Worker::prefetch_state(const Packet& next) const noexcept {
  // Its payload too: the decoding thread read only the headers, and the stream engine's copy
  // into the look-back buffer is the first to read the rest (then the scans).
  if (next.data != nullptr) {
    const char* payload = reinterpret_cast<const char*>(next.data) + next.payload_offset;
    for (uint32_t offset = 0; offset < next.payload_len; offset += 64) __builtin_prefetch(payload + offset);
  }
  const Flow* flow = flows_.peek(next);
  if (flow == nullptr || next.ip_proto != 6) return;
  const bool to_server = next.src_port == flow->key.client_port && next.src == flow->key.client;
  stream_.prefetch(*flow, to_server);
  DetectEngine::prefetch_stream(*flow, to_server, *detect_thread_);
  app_layer_.prefetch(*flow);
}

void Worker::process_packet(Packet& packet) noexcept {
  packet.reset_decode();
  decode_packet(packet, decode_stats_, decoder_);  // sets packet.decoded
  process_frame(packet);
}

void Worker::process_frame(Packet& packet) noexcept {
  frame_ = &packet;
  process_decoded(packet, packet.decoded, true);
  pcap_log_.on_packet(packet);  // after its alerts: logged, kept in its flow's history, or neither
}

void Worker::process_decoded(Packet& packet, bool decoded, bool may_defragment) noexcept {
  const Packet* rebuilt = nullptr;
  if (packet.ip_fragment) {
    // A fragment goes to defrag and, itself, meets only the `ip` rules without a flow (as in
    // Suricata): its transport header and payload are inspected once, in the rebuilt datagram.
    if (may_defragment) rebuilt = defrag_.process(packet, decode_stats_);
    const uint32_t end = packet.payload_offset + packet.payload_len;
    packet.has_transport = false;
    packet.src_port = packet.dst_port = 0;
    packet.payload_offset = packet.l4_offset;
    packet.payload_len = end > packet.l4_offset ? end - packet.l4_offset : 0;
  } else if (!decoded) {
    // A packet whose IP header decoded but whose transport is broken still meets the `ip`
    // rules (as in Suricata), without a flow; anything less is only counted.
    if (packet.ip_version == 0) {
      anomalies_.record(packet, {});
      return;
    }
    packet.has_transport = false;
    packet.payload_len = 0;
  }
  if (inventory_ && decoded && packet.ip_version == 0 && packet.ether_type == 0x0806) {
    push_alerts(packet, vm_detect_.on_arp(packet, *inventory_,
                                          std::span<AlertEvent>(alert_buffer_.get(), alert_buffer_size_)));
  }
  const StreamUpdate* stream = nullptr;
  StreamAnomalySet stream_events;
  if (decoded && !packet.ip_fragment && packet.ip_version != 0) {
    flows_.process(packet);
    if (inventory_ && packet.flow != nullptr) push_alerts(packet, resolve_flow_vms(packet));
    if (inventory_) {  // sids 2, 3, 4: MAC spoofing, rogue DHCP, rogue IPv6 RA
      push_alerts(packet, vm_detect_.on_packet(packet, *inventory_,
                                               std::span<AlertEvent>(alert_buffer_.get(), alert_buffer_size_)));
    }
    if (packet.is_tcp() && packet.flow != nullptr) {
      const bool watch_stream = anomalies_.wants_stream();
      if (watch_stream) stream_before_ = stream_.counters();
      stream_.process(packet, stream_update_);
      if (watch_stream) stream_events = stream_anomalies(stream_before_, stream_.counters(), packet);
      stream = &stream_update_;
    }
  }
  app_layer_.process(packet, stream);  // every packet: empties the previous packet's HTTP output
  const std::span<AlertEvent> out(alert_buffer_.get(), alert_buffer_size_);
  size_t alert_count = detect_->inspect(packet, *detect_thread_, out, stream);
  alert_count += detect_->inspect_transactions(packet, app_layer_, *detect_thread_, out.subspan(alert_count));
  push_alerts(packet, alert_count);
  // More contiguous bytes than one update holds (a long-awaited hole filled): the rest of
  // them, inspected as the stream of the same packet.
  for (uint32_t round = 0; stream != nullptr && stream_update_.more && round < kMaxDrainRounds; ++round) {
    stream_.drain(*packet.flow, stream_update_.to_server, stream_update_);
    app_layer_.process_drained(packet, stream_update_);
    alert_count = detect_->inspect(packet, *detect_thread_, out, stream, true);
    alert_count += detect_->inspect_transactions(packet, app_layer_, *detect_thread_, out.subspan(alert_count));
    push_alerts(packet, alert_count);
  }
  // A TCP session that reached CLOSED gives its session and application-layer state back now
  // (the flow itself stays until its timeout): closed sessions would otherwise hold the pools
  // (stream.memcap, app-layer.memcap) for the flow timeout, and traffic that opens many short
  // connections would run them dry.
  if (stream != nullptr && stream_update_.session != nullptr && stream_update_.session->state == TcpState::Closed) {
    stream_.release(*packet.flow);
    app_layer_.release(*packet.flow);
    packet.flow->stream_session = 0;
    packet.flow->app_state = 0;
  }
  anomalies_.record(packet, stream_events);  // before the rebuilt datagram, which records its own
  if (rebuilt != nullptr) {
    // The rebuilt datagram runs through decode, flow and detection like a captured packet; it
    // is not a captured frame, so decoder.pkts/bytes/raw do not count it (defrag.*.reassembled does).
    rebuilt_ = *rebuilt;
    const uint64_t pkts = decode_stats_.pkts, bytes = decode_stats_.bytes, raw = decode_stats_.raw,
                   max_size = decode_stats_.max_pkt_size;
    const bool ok = decode_packet(rebuilt_, decode_stats_, decoder_);
    decode_stats_.pkts = pkts;
    decode_stats_.bytes = bytes;
    decode_stats_.raw = raw;
    decode_stats_.max_pkt_size = max_size;
    if (rebuilt_.mirror.encap == MirrorEncap::None) {
      // The datagram of an inner fragment (or of an RSPAN frame): the frame's VLANs and mirror.
      // An outer datagram rebuilt carries its own, decoded through the encapsulation.
      rebuilt_.vlan_count = packet.vlan_count;
      rebuilt_.vlan_id[0] = packet.vlan_id[0];
      rebuilt_.vlan_id[1] = packet.vlan_id[1];
      rebuilt_.mirror = packet.mirror;
    }
    process_decoded(rebuilt_, ok, false);  // once: a datagram rebuilt from a rebuilt one is not tried
  }
}

// A new inventory snapshot, when the control thread published one: one atomic load per burst,
// the store's lock only when the generation changed. The previous snapshot is released here
// (freed when no other worker holds it).
void Worker::refresh_inventory() noexcept {
  if (inventory_store_ == nullptr) return;
  const uint64_t generation = inventory_store_->generation();
  if (static_cast<uint32_t>(generation) == inventory_generation_ || generation == 0) return;
  uint64_t current = 0;
  inventory_ = inventory_store_->current(&current);
  inventory_generation_ = static_cast<uint32_t>(current) == 0 ? 1 : static_cast<uint32_t>(current);
}

void Worker::attach_rule_store(RuleStore& store, uint32_t index) {
  rule_store_ = &store;
  rule_slot_ = index;
  rules_generation_ = 1;
  detect_thread_ = store.attach_worker(index, std::move(own_thread_), stream_.session_capacity());
}

// A new rule set, when the control thread published one: one atomic load per burst (and per
// idle round). The thread prepared for this worker takes over the counters; the previous set
// is freed by the control thread once every worker announced that it moved past it.
void Worker::refresh_rules() noexcept {
  if (rule_store_ == nullptr) return;
  const RuleSnapshot* snapshot = rule_store_->current();
  if (snapshot->generation == rules_generation_) return;
  DetectThread* next = snapshot->threads[rule_slot_].get();
  next->carry_over(*detect_thread_, snapshot->previous_index);
  detect_ = snapshot->engine.get();
  app_layer_.set_output_read(detect_->rules().has_app_rules());
  detect_thread_ = next;
  rules_generation_ = snapshot->generation;
  rule_store_->announce(rule_slot_, rules_generation_);
}

void Worker::leave_rule_store() noexcept {
  if (rule_store_ != nullptr) rule_store_->leave(rule_slot_);
}

// Resolves the flow's VMs at its first packet and after a snapshot change; at the first packet
// of a new flow, runs the built-in detectors (their alerts in alert_buffer_).
size_t Worker::resolve_flow_vms(Packet& packet) noexcept {
  Flow& flow = *packet.flow;
  if (flow.vm_generation == inventory_generation_) return 0;
  const bool first_packet = flow.vm_generation == 0 && packet.to_server && flow.pkts_toserver == 1 &&
                            flow.pkts_toclient == 0;
  uint32_t src_vm = 0, dst_vm = 0;
  resolve_packet_vms(*inventory_, packet, src_vm, dst_vm);
  flow.vm_client = packet.to_server ? src_vm : dst_vm;
  flow.vm_server = packet.to_server ? dst_vm : src_vm;
  flow.vm_generation = inventory_generation_;
  if (!first_packet) return 0;
  return vm_detect_.on_new_flow(packet, *inventory_, flow.vm_client, flow.vm_server,
                                std::span<AlertEvent>(alert_buffer_.get(), alert_buffer_size_));
}

// Queues the packet's alerts, each with the EVE `http` facts of its flow's latest transaction
// and the `vm` object of its two sides.
void Worker::push_alerts(const Packet& packet, size_t count) noexcept {
  if (count == 0) return;
  // The captured frame goes to the packet log (a rebuilt datagram's: the fragment that completed it).
  pcap_log_.on_alert(packet, packet.rebuilt_fragment && frame_ != nullptr ? *frame_ : packet,
                     std::span<AlertEvent>(alert_buffer_.get(), count));
  const HttpEveData* http = packet.flow != nullptr ? app_layer_.http_eve(*packet.flow) : nullptr;
  const TlsEveData* tls = packet.flow != nullptr ? app_layer_.tls_eve(*packet.flow) : nullptr;
  bool has_vm = false;
  if (inventory_) {
    uint32_t src_vm = 0, dst_vm = 0;
    const Flow* flow = packet.flow;
    if (flow != nullptr && flow->vm_generation == inventory_generation_) {
      src_vm = packet.to_server ? flow->vm_client : flow->vm_server;
      dst_vm = packet.to_server ? flow->vm_server : flow->vm_client;
    } else {
      resolve_packet_vms(*inventory_, packet, src_vm, dst_vm);
    }
    vm_eve_ = VmEveData{};
    has_vm = fill_vm_eve(*inventory_, src_vm, dst_vm, vm_eve_);
  }
  for (size_t i = 0; i < count; ++i) {
    AlertEvent& event = alert_buffer_[i];
    event.has_http = http != nullptr && http->http_method.len > 0;
    if (event.has_http) event.http = *http;
    event.has_tls = tls != nullptr && !tls->empty();
    if (event.has_tls) event.tls = *tls;
    // DNS: the transaction the rule matched (tx_id), else the packet's last one.
    const std::span<const DnsTransaction> dns = app_layer_.dns_output().transactions();
    event.has_dns = !dns.empty();
    if (event.has_dns) {
      const DnsTransaction* tx = &dns.back();
      for (const DnsTransaction& t : dns) {
        if (event.has_tx && t.tx_id == event.tx_id) tx = &t;
      }
      dns_eve_fill(*tx, event.dns);
    }
    event.has_vm = has_vm;
    if (has_vm) event.vm = vm_eve_;
    alerts_.push(event);
  }
}

void Worker::finish() noexcept {
  flows_.flush();
  publish_stats();
}

}  // namespace eastwatch

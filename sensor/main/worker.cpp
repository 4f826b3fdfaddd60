#include "sensor/main/worker.hpp"

#include <algorithm>

#include "sensor/decode/decoder.hpp"

namespace eastwatch {

namespace {
// Flow expiry runs between bursts, at most every 100 ms of packet time, with bounded work.
constexpr int64_t kExpireIntervalUsec = 100'000;
constexpr uint32_t kExpireChecksPerRun = 256;
// Deliveries of queued stream bytes per packet: each holds up to StreamUpdate::kMaxSpans
// chunks; a hole filled after more than this is inspected in part (and counted by the engine).
constexpr uint32_t kMaxDrainRounds = 64;
}  // namespace

Worker::Worker(const Settings& settings, const DetectEngine& detect, AlertQueue& alerts, FlowQueue& flow_records)
    : detect_(detect),
      alerts_(alerts),
      flows_(settings.flow),
      defrag_(settings.defrag, settings.host_os_policy),
      host_os_policy_(settings.host_os_policy),
      stream_(settings.stream, &host_os_policy_),
      app_layer_(settings.app_layer),
      detect_thread_(detect.make_thread(stream_.session_capacity())),
      alert_buffer_(std::make_unique<AlertEvent[]>(std::max<uint32_t>(1, settings.detect.max_alerts_per_packet))),
      alert_buffer_size_(std::max<uint32_t>(1, settings.detect.max_alerts_per_packet)) {
  // A flow's end frees its TCP session; with EVE flow records on, it also writes the record.
  const bool write_records = settings.eve.enabled && settings.eve.flow;
  flows_.set_end_callback([this, write_records, &flow_records](const Flow& flow, FlowEndReason reason) {
    stream_.release(flow);
    app_layer_.release(flow);
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
    flow_records.push(event);
  });
}

void Worker::process_burst(std::span<Packet> packets) noexcept {
  for (Packet& packet : packets) process_packet(packet);
  if (!packets.empty()) {
    const int64_t now = packets.back().ts_usec;
    if (now - last_expire_usec_ >= kExpireIntervalUsec) {
      flows_.expire(now, kExpireChecksPerRun);
      defrag_.expire(now, kExpireChecksPerRun);
      last_expire_usec_ = now;
    }
  }
}

void Worker::process_packet(Packet& packet) noexcept {
  packet.reset_decode();
  const bool decoded = decode_packet(packet, decode_stats_);
  process_decoded(packet, decoded, true);
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
    if (packet.ip_version == 0) return;
    packet.has_transport = false;
    packet.payload_len = 0;
  }
  const StreamUpdate* stream = nullptr;
  if (decoded && !packet.ip_fragment && packet.ip_version != 0) {
    flows_.process(packet);
    if (packet.is_tcp() && packet.flow != nullptr) {
      stream_.process(packet, stream_update_);
      stream = &stream_update_;
    }
  }
  app_layer_.process(packet, stream);  // every packet: empties the previous packet's HTTP output
  const std::span<AlertEvent> out(alert_buffer_.get(), alert_buffer_size_);
  size_t alert_count = detect_.inspect(packet, *detect_thread_, out, stream);
  push_alerts(packet, alert_count);
  // More contiguous bytes than one update holds (a long-awaited hole filled): the rest of
  // them, inspected as the stream of the same packet.
  for (uint32_t round = 0; stream != nullptr && stream_update_.more && round < kMaxDrainRounds; ++round) {
    stream_.drain(*packet.flow, stream_update_.to_server, stream_update_);
    app_layer_.process_drained(packet, stream_update_);
    alert_count = detect_.inspect(packet, *detect_thread_, out, stream, true);
    push_alerts(packet, alert_count);
  }
  if (rebuilt != nullptr) {
    // The rebuilt datagram runs through decode, flow and detection like a captured packet; it
    // is not a captured frame, so decoder.pkts/bytes/raw do not count it (defrag.*.reassembled does).
    rebuilt_ = *rebuilt;
    const uint64_t pkts = decode_stats_.pkts, bytes = decode_stats_.bytes, raw = decode_stats_.raw,
                   max_size = decode_stats_.max_pkt_size;
    const bool ok = decode_packet(rebuilt_, decode_stats_);
    decode_stats_.pkts = pkts;
    decode_stats_.bytes = bytes;
    decode_stats_.raw = raw;
    decode_stats_.max_pkt_size = max_size;
    rebuilt_.vlan_count = packet.vlan_count;
    rebuilt_.vlan_id[0] = packet.vlan_id[0];
    rebuilt_.vlan_id[1] = packet.vlan_id[1];
    process_decoded(rebuilt_, ok, false);  // once: a datagram rebuilt from a rebuilt one is not tried
  }
}

// Queues the packet's alerts, each with the EVE `http` facts of its flow's latest transaction.
void Worker::push_alerts(const Packet& packet, size_t count) noexcept {
  const HttpEveData* http = packet.flow != nullptr ? app_layer_.http_eve(*packet.flow) : nullptr;
  for (size_t i = 0; i < count; ++i) {
    AlertEvent& event = alert_buffer_[i];
    event.has_http = http != nullptr && http->http_method.len > 0;
    if (event.has_http) event.http = *http;
    alerts_.push(event);
  }
}

void Worker::finish() noexcept { flows_.flush(); }

}  // namespace eastwatch

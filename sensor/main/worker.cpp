#include "sensor/main/worker.hpp"

#include <algorithm>

#include "sensor/decode/decoder.hpp"

namespace eastwatch {

namespace {
// Flow expiry runs between bursts, at most every 100 ms of packet time, with bounded work.
constexpr int64_t kExpireIntervalUsec = 100'000;
constexpr uint32_t kExpireChecksPerRun = 256;
}  // namespace

Worker::Worker(const Settings& settings, const DetectEngine& detect, AlertQueue& alerts, FlowQueue& flow_records)
    : detect_(detect),
      alerts_(alerts),
      flows_(settings.flow),
      detect_thread_(detect.make_thread()),
      alert_buffer_(std::make_unique<AlertEvent[]>(std::max<uint32_t>(1, settings.detect.max_alerts_per_packet))),
      alert_buffer_size_(std::max<uint32_t>(1, settings.detect.max_alerts_per_packet)) {
  if (settings.eve.enabled && settings.eve.flow) {
    flows_.set_end_callback([&flow_records](const Flow& flow, FlowEndReason reason) {
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
      flow_records.push(event);
    });
  }
}

void Worker::process_burst(std::span<Packet> packets) noexcept {
  for (Packet& packet : packets) process_packet(packet);
  if (!packets.empty()) {
    const int64_t now = packets.back().ts_usec;
    if (now - last_expire_usec_ >= kExpireIntervalUsec) {
      flows_.expire(now, kExpireChecksPerRun);
      last_expire_usec_ = now;
    }
  }
}

void Worker::process_packet(Packet& packet) noexcept {
  packet.reset_decode();
  if (!decode_packet(packet, decode_stats_)) {
    // A packet whose IP header decoded but whose transport is broken still meets the `ip`
    // rules (as in Suricata), without a flow; anything less is only counted.
    if (packet.ip_version == 0) return;
    packet.has_transport = false;
    packet.payload_len = 0;
  } else if (packet.ip_version != 0) {
    flows_.process(packet);
  }
  const size_t alert_count =
      detect_.inspect(packet, *detect_thread_, std::span<AlertEvent>(alert_buffer_.get(), alert_buffer_size_));
  for (size_t i = 0; i < alert_count; ++i) alerts_.push(alert_buffer_[i]);
}

void Worker::finish() noexcept { flows_.flush(); }

}  // namespace eastwatch

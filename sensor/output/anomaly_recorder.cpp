#include "sensor/output/anomaly_recorder.hpp"

#include <algorithm>
#include <cstring>

#include "sensor/flow/flow.hpp"

namespace eastwatch {

bool AnomalyRateLimiter::allow(size_t slot, int64_t ts_usec) noexcept {
  if (per_second_ == 0) return true;
  if (slot >= kSlots) return false;
  const int64_t second = ts_usec >= 0 ? ts_usec / 1'000'000 : (ts_usec - 999'999) / 1'000'000;
  if (second != second_[slot]) {
    second_[slot] = second;
    count_[slot] = 0;
  }
  if (count_[slot] >= per_second_) return false;
  ++count_[slot];
  return true;
}

StreamAnomalySet stream_anomalies(const StreamCounters& before, const StreamCounters& after,
                                  const Packet& packet) noexcept {
  StreamAnomalySet set;
  if (after.retransmissions != before.retransmissions) set.set(StreamAnomaly::PktRetransmission);
  if (after.outside_window != before.outside_window) set.set(StreamAnomaly::EstPacketOutOfWindow);
  if (after.reassembly_gap != before.reassembly_gap) set.set(StreamAnomaly::ReassemblySeqGap);
  if (after.overlap_diff_data != before.overlap_diff_data) set.set(StreamAnomaly::ReassemblyOverlapDifferentData);
  if (after.invalid_ack != before.invalid_ack) {
    // The engine counts both handshake checks in one counter: the SYN/ACK's ack (Suricata's
    // 3whs_synack_with_wrong_ack) and the handshake ACK's (3whs_wrong_seq_wrong_ack).
    const bool synack = (packet.tcp_flags & (tcp_flag::Syn | tcp_flag::Ack)) == (tcp_flag::Syn | tcp_flag::Ack);
    set.set(synack ? StreamAnomaly::SynackWithWrongAck : StreamAnomaly::WrongSeqWrongAck);
  }
  return set;
}

AnomalyRecorder::AnomalyRecorder(const AnomalySettings& settings) noexcept
    : decode_(settings.enabled && settings.decode),
      stream_(settings.enabled && settings.stream),
      packethdr_(settings.enabled && settings.decode && settings.packethdr),
      limiter_(settings.rate_limit) {}

void AnomalyRecorder::record_events(const Packet& packet, StreamAnomalySet stream) noexcept {
  if (decode_) {
    for (size_t i = 0; i < kDecodeEventCount; ++i) {  // bounded: the event set has kDecodeEventCount bits
      const auto event = static_cast<DecodeEvent>(i);
      if (packet.events.test(event)) push(packet, AnomalyEvent::Type::Decode, kDecodeEventNames[i], i);
    }
  }
  if (stream_) {
    for (size_t i = 0; i < kStreamAnomalyCount; ++i) {
      if (stream.test(static_cast<StreamAnomaly>(i))) {
        push(packet, AnomalyEvent::Type::Stream, kStreamAnomalyNames[i], kDecodeEventCount + i);
      }
    }
  }
}

void AnomalyRecorder::push(const Packet& packet, AnomalyEvent::Type type, std::string_view name, size_t slot) noexcept {
  if (!limiter_.allow(slot, packet.ts_usec)) {
    ++counters_.rate_limited;
    return;
  }
  AnomalyEvent& e = event_;
  e.type = type;
  e.event = name;
  e.ts_usec = packet.ts_usec;
  e.pcap_cnt = packet.pcap_cnt;
  e.has_flow = packet.flow != nullptr;
  e.flow_id = e.has_flow ? packet.flow->flow_id : 0;
  e.has_ip = packet.ip_version != 0;
  e.src = packet.src;
  e.dst = packet.dst;
  e.src_port = packet.src_port;
  e.dst_port = packet.dst_port;
  e.ip_proto = e.has_ip ? packet.ip_proto : 0;
  e.has_icmp = packet.is_icmp() && packet.has_transport;
  e.icmp_type = packet.icmp_type;
  e.icmp_code = packet.icmp_code;
  e.vlan_count = std::min<uint8_t>(packet.vlan_count, 2);
  e.vlan_id[0] = packet.vlan_id[0];
  e.vlan_id[1] = packet.vlan_id[1];
  e.rebuilt_fragment = packet.rebuilt_fragment;
  e.mirror = packet.mirror;
  e.link_type = static_cast<uint16_t>(packet.link_type);
  e.packet_len = 0;
  if (packethdr_ && packet.data != nullptr) {
    e.packet_len = static_cast<uint8_t>(std::min<uint32_t>(packet.caplen, AnomalyEvent::kPacketHeader));
    std::memcpy(e.packet, packet.data, e.packet_len);
  }
  if (queue_->try_push(e)) {
    ++counters_.records;
  } else {
    ++counters_.queue_full;
  }
}

}  // namespace eastwatch

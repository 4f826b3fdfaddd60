// An anomaly event: what an EVE `anomaly` record (Suricata's output-json-anomaly) needs about
// one decoder, defrag or stream event raised on a packet, copied out of the worker; and the
// bounded ring that carries these events from one worker to the output thread.
//
// Contract:
//  - `event` names one of Suricata's event names ("ipv4.trunc_pkt", "stream.pkt_retransmission");
//    it points into static tables (kDecodeEventNames, kStreamAnomalyNames), never into the worker.
//  - AnomalyQueue is single-producer/single-consumer like the alert queue, but anomalies are
//    evidence, not detections: `try_push` never waits; a full ring refuses the event (the
//    caller counts it) so a flood of malformed packets never slows the worker down.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

#include "sensor/decode/mirror.hpp"
#include "sensor/util/zeroed_array.hpp"
#include "signatures/address.hpp"

namespace eastwatch {

// The stream events Eastwatch raises, with Suricata's names (decode-events.c, "stream.*").
enum class StreamAnomaly : uint8_t {
  PktRetransmission, EstPacketOutOfWindow, ReassemblySeqGap, ReassemblyOverlapDifferentData,
  SynackWithWrongAck, WrongSeqWrongAck,
  Count
};
inline constexpr size_t kStreamAnomalyCount = static_cast<size_t>(StreamAnomaly::Count);
inline constexpr std::array<std::string_view, kStreamAnomalyCount> kStreamAnomalyNames = {
    "stream.pkt_retransmission", "stream.est_packet_out_of_window", "stream.reassembly_seq_gap",
    "stream.reassembly_overlap_different_data", "stream.3whs_synack_with_wrong_ack",
    "stream.3whs_wrong_seq_wrong_ack",
};

// The stream events raised on one packet.
struct StreamAnomalySet {
  uint8_t bits = 0;
  void set(StreamAnomaly a) noexcept { bits = static_cast<uint8_t>(bits | (1u << static_cast<unsigned>(a))); }
  bool test(StreamAnomaly a) const noexcept { return (bits >> static_cast<unsigned>(a)) & 1u; }
  bool any() const noexcept { return bits != 0; }
};
static_assert(kStreamAnomalyCount <= 8);

struct AnomalyEvent {
  static constexpr uint32_t kPacketHeader = 32;  // bytes of the frame for `packethdr` (Suricata's 32)
  enum class Type : uint8_t { Decode, Stream };  // EVE anomaly.type "decode" / "stream"

  Type type = Type::Decode;
  std::string_view event;  // Suricata's event name (static storage)
  int64_t ts_usec = 0;
  uint64_t pcap_cnt = 0;
  bool has_flow = false;
  uint64_t flow_id = 0;
  bool has_ip = false;  // the IP header decoded: addresses and proto are written
  IpAddress src;
  IpAddress dst;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t ip_proto = 0;
  bool has_icmp = false;  // the ICMP header decoded: icmp_type/icmp_code
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;
  uint8_t vlan_count = 0;
  uint16_t vlan_id[2] = {0, 0};
  bool rebuilt_fragment = false;  // pkt_src "defrag"
  MirrorInfo mirror;
  uint16_t link_type = 1;  // packet_info.linktype (DLT)
  uint8_t packet_len = 0;  // bytes in `packet` (0: no packethdr)
  uint8_t packet[kPacketHeader] = {};
};

class AnomalyQueue {
 public:
  explicit AnomalyQueue(uint32_t capacity_pow2 = 1024)
      : mask_(capacity_pow2 - 1), slots_(capacity_pow2, ZeroedUse::kWrittenBeforeRead) {}

  // Producer (the worker): false, and nothing queued, when the ring is full.
  bool try_push(const AnomalyEvent& event) noexcept {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_.load(std::memory_order_acquire) > mask_) return false;
    slots_[head & mask_] = event;
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Consumer (the output thread): the oldest event or nullptr; valid until `pop`.
  const AnomalyEvent* front() const noexcept {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail == head_.load(std::memory_order_acquire)) return nullptr;
    return &slots_[tail & mask_];
  }
  void pop() noexcept { tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

 private:
  const uint64_t mask_;
  ZeroedArray<AnomalyEvent> slots_;  // zero pages, backed as slots are first used
  alignas(64) std::atomic<uint64_t> head_{0};
  alignas(64) std::atomic<uint64_t> tail_{0};
};

}  // namespace eastwatch

// A flow: the bidirectional conversation a packet belongs to. Flows live in a pool
// preallocated by FlowTable; nothing here allocates.
#pragma once

#include <cstdint>

#include "signatures/address.hpp"

namespace eastwatch {

// The flow key as seen from the initiator (the first packet's sender, the "client").
// Lookups are symmetric: a packet matches its flow in either direction.
struct FlowKey {
  IpAddress client;
  IpAddress server;
  uint16_t client_port = 0;
  uint16_t server_port = 0;
  uint16_t vlan_id[2] = {0, 0};
  uint8_t ip_proto = 0;
  uint8_t ip_version = 0;
  // The mirror encapsulation with its session, VNI and VLAN (MirrorInfo::flow_key(); 0:
  // captured locally): the same inner addresses on two VNIs are two flows.
  uint64_t mirror = 0;
};

enum class FlowState : uint8_t { New, Established, Closed };

// One `tag` in force (on a flow, or on a host in detection's tag table): the rule that set it,
// its limit and how much of it the packets since the alert have used.
struct TagState {
  uint32_t sid = 0;
  uint32_t gid = 0;
  uint32_t count = 0;         // packets, seconds or bytes (TagOption::count)
  uint32_t used = 0;          // packets or bytes counted since the alert (saturating)
  uint32_t first_sec = 0;     // the second (since the epoch) of the alert or of its last renewal
  uint8_t metric = 0;         // TagOption::Metric
  uint8_t renewals = 0;       // re-alerts of the rule; Suricata restarts the tag for the first 9
  bool skipped_first = false;  // the alerting packet was counted, not tagged
};

struct Flow {
  FlowKey key;
  uint64_t flow_id = 0;  // Suricata-style: a non-zero 51-bit number, stable for the flow's life
  uint64_t hash = 0;
  int64_t start_usec = 0;
  int64_t last_usec = 0;
  uint64_t pkts_toserver = 0;
  uint64_t pkts_toclient = 0;
  uint64_t bytes_toserver = 0;
  uint64_t bytes_toclient = 0;
  FlowState state = FlowState::New;
  bool established_once = false;  // reached Established at some point (stays true while closing)
  uint8_t tcp_flags_toserver = 0;  // OR of flags seen
  uint8_t tcp_flags_toclient = 0;
  bool alerted = false;
  bool passed = false;  // a pass rule matched: the rest of the flow is not inspected
  IpAddress mirror_sensor_src;  // the outer source address of the first packet (EVE mirror.sensor_src)

  // flowbits set on this flow: a small inline set of flowbit numbers (flows rarely carry
  // more than a few); a set beyond capacity is counted and dropped by detection.
  static constexpr uint8_t kMaxFlowbits = 8;
  uint8_t flowbit_count = 0;
  uint16_t flowbits[kMaxFlowbits] = {};

  bool has_flowbit(uint16_t id) const noexcept {
    for (uint8_t i = 0; i < flowbit_count; ++i) {
      if (flowbits[i] == id) return true;
    }
    return false;
  }
  bool set_flowbit(uint16_t id) noexcept {  // false when full
    if (has_flowbit(id)) return true;
    if (flowbit_count == kMaxFlowbits) return false;
    flowbits[flowbit_count++] = id;
    return true;
  }
  void unset_flowbit(uint16_t id) noexcept {
    for (uint8_t i = 0; i < flowbit_count; ++i) {
      if (flowbits[i] == id) {
        flowbits[i] = flowbits[--flowbit_count];
        return;
      }
    }
  }

  // Session tags (`tag:session`), what is left of each; detection counts every packet of the
  // flow against them while tag_count is non-zero. Suricata keeps a list; a flow rarely carries
  // more than one tag (ET Open has 7 rules with `tag`), and each slot costs every flow 24 bytes,
  // so a second rule's tag is counted and dropped by detection (`detect.tag_dropped`).
  static constexpr uint8_t kMaxTags = 1;
  uint8_t tag_count = 0;
  TagState tags[kMaxTags] = {};

  // Application-layer rules part-way through a transaction (detection's): the stages of
  // transaction `tx` (low 32 bits of its id) that rule `rule` matched so far, or that it
  // alerted on it. A full list replaces its oldest entry (counted as detect.tx_state_dropped).
  struct TxMatch {
    uint32_t rule = 0;
    uint32_t tx = 0;
    uint8_t stages = 0;
    bool alerted = false;
  };
  static constexpr uint8_t kMaxTxMatches = 8;
  uint8_t tx_match_count = 0;
  uint8_t tx_match_next = 0;  // the entry a full list replaces next
  TxMatch tx_matches[kMaxTxMatches] = {};
  // The rule-set generation tx_matches' rule numbers belong to (detection's; a reload renumbers
  // rules, so detection maps or forgets the entries of an older set; 0: none yet).
  uint32_t detect_generation = 0;

  // TCP handshake progress, for the state machine.
  bool syn_seen = false;
  bool synack_seen = false;
  bool fin_toserver = false;
  bool fin_toclient = false;
  // The flow's TCP session in the worker's stream engine (index + 1; 0 = none).
  uint32_t stream_session = 0;
  // Application layer (sensor/applayer): the detected protocol (an AppProto), the probing
  // progress per direction (AppLayer's bits) and the flow's parser state (index + 1; 0 = none).
  uint8_t app_proto = 0;
  uint8_t app_detect = 0;
  uint32_t app_state = 0;
  // VM context (sensor/inventory): each side's inventory VM (index + 1; 0: not in the
  // inventory), resolved at the flow's first packet and again when the worker's inventory
  // snapshot changes (vm_generation: the snapshot's generation, low 32 bits; 0: not resolved).
  uint32_t vm_client = 0;
  uint32_t vm_server = 0;
  uint32_t vm_generation = 0;

  // Packet logging (sensor/output/pcap_log.hpp): the flow's packets kept before its first alert,
  // oldest first, as entries of the worker's PacketHistory (index + 1; 0: none); after that
  // alert every packet of the flow is logged (pcap_logging).
  uint32_t pcap_history_head = 0;
  uint32_t pcap_history_tail = 0;
  uint16_t pcap_history_count = 0;
  bool pcap_logging = false;

  // Table bookkeeping (owned by FlowTable).
  bool in_use = false;
  uint32_t lru_prev = 0;  // neighbours in the LRU list, as index + 1 (0 = none)
  uint32_t lru_next = 0;
};

}  // namespace eastwatch

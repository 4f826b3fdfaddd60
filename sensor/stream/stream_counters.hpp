// TCP stream counters. `visit` names are Suricata's EVE schema names (stats.tcp.*), so the
// stats record validates; Eastwatch-only counters are in `visit_extra` (stats.log only).
#pragma once

#include <cstdint>

namespace eastwatch {

struct StreamCounters {
  uint64_t sessions = 0;             // sessions created (handshake or midstream pickup)
  uint64_t active_sessions = 0;      // gauge
  uint64_t ssn_memcap_drop = 0;      // sessions not created: the session pool (stream.memcap) was full
  uint64_t no_flow = 0;              // TCP packets that got no flow (flow.memcap)
  uint64_t invalid_checksum = 0;     // TCP packets with a bad checksum (counted, still processed)
  uint64_t pseudo = 0;               // pseudo packets (none are made yet; kept for the schema)
  uint64_t syn = 0;
  uint64_t synack = 0;
  uint64_t rst = 0;
  uint64_t midstream_pickups = 0;
  uint64_t segment_memcap_drop = 0;  // segments (or parts) not queued: stream.reassembly.memcap
  uint64_t stream_depth_reached = 0; // directions that reached stream.reassembly.depth
  uint64_t reassembly_gap = 0;       // holes skipped (ACKed data never seen, memory exhausted)
  uint64_t overlap = 0;              // segments overlapping data already seen
  uint64_t overlap_diff_data = 0;    // ... with different bytes
  uint64_t ack_unseen_data = 0;      // ACKs for data beyond what was seen
  uint64_t memuse = 0;               // gauge: bytes of sessions in use
  uint64_t reassembly_memuse = 0;    // gauge: bytes of queued segment chunks

  // Eastwatch-only.
  uint64_t retransmissions = 0;      // segments wholly or partly before the next expected byte
  uint64_t rst_invalid = 0;          // RSTs rejected: sequence not acceptable to the receiver
  uint64_t outside_window = 0;       // segments beyond the receiver's window, not queued
  uint64_t queue_limit_drop = 0;     // segments (or parts) not queued: stream.reassembly.queue-limit
  uint64_t not_reassembled = 0;      // TCP packets on flows without a session (no handshake seen)
  uint64_t invalid_ack = 0;          // SYN/ACKs or handshake ACKs whose ack does not match

  template <class F>
  void visit(F&& f) const {
    f("sessions", sessions); f("active_sessions", active_sessions); f("ssn_memcap_drop", ssn_memcap_drop);
    f("no_flow", no_flow); f("invalid_checksum", invalid_checksum); f("pseudo", pseudo); f("syn", syn);
    f("synack", synack); f("rst", rst); f("midstream_pickups", midstream_pickups);
    f("segment_memcap_drop", segment_memcap_drop); f("stream_depth_reached", stream_depth_reached);
    f("reassembly_gap", reassembly_gap); f("overlap", overlap); f("overlap_diff_data", overlap_diff_data);
    f("ack_unseen_data", ack_unseen_data); f("memuse", memuse); f("reassembly_memuse", reassembly_memuse);
  }
  template <class F>
  void visit_extra(F&& f) const {
    f("retransmissions", retransmissions); f("rst_invalid", rst_invalid); f("outside_window", outside_window);
    f("queue_limit_drop", queue_limit_drop); f("not_reassembled", not_reassembled); f("invalid_ack", invalid_ack);
  }
};

}  // namespace eastwatch

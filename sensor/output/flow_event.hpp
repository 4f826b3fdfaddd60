// A flow record: what an EVE `flow` event needs about a flow that ended, copied out of the
// flow table so the output thread needs nothing else.
#pragma once

#include <cstdint>

#include "sensor/decode/mirror.hpp"
#include "signatures/address.hpp"

namespace eastwatch {

struct FlowEvent {
  enum class Reason : uint8_t { Timeout, Forced, Shutdown };  // EVE flow.reason
  enum class State : uint8_t { New, Established, Closed };

  uint64_t flow_id = 0;
  int64_t start_usec = 0;
  int64_t end_usec = 0;
  IpAddress src;  // the client
  IpAddress dst;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t ip_proto = 0;
  uint8_t vlan_count = 0;
  uint16_t vlan_id[2] = {0, 0};
  uint64_t pkts_toserver = 0;
  uint64_t pkts_toclient = 0;
  uint64_t bytes_toserver = 0;
  uint64_t bytes_toclient = 0;
  uint8_t tcp_flags_toserver = 0;
  uint8_t tcp_flags_toclient = 0;
  State state = State::New;
  Reason reason = Reason::Timeout;
  bool alerted = false;
  uint8_t app_proto = 0;  // AppProto (sensor/applayer/app_proto.hpp); 0: unknown, no `app_proto` field
  MirrorInfo mirror;      // how the flow was mirrored to the sensor (EVE `mirror`); encap None: locally
};

}  // namespace eastwatch

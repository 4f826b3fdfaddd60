// Per-session TCP state kept by TcpStreamEngine: the session state machine (Suricata's
// states) and one TcpDirection per sender. Sessions live in the engine's preallocated pool;
// a Flow refers to its session by index (Flow::stream_session). Plain data, no heap.
#pragma once

#include <cstdint>

#include "config/os_policy.hpp"

namespace eastwatch {

// Suricata's TCP session states (stream-tcp-private.h), client-centric: FIN from the client
// first leads through FIN_WAIT1/2, FIN from the server first through CLOSE_WAIT/LAST_ACK.
enum class TcpState : uint8_t {
  None, SynSent, SynRecv, Established, FinWait1, FinWait2, Closing, CloseWait, LastAck, TimeWait, Closed,
};

// Sequence arithmetic modulo 2^32 (RFC 1982 style), as Suricata's SEQ_* macros.
inline constexpr bool seq_lt(uint32_t a, uint32_t b) noexcept { return static_cast<int32_t>(a - b) < 0; }
inline constexpr bool seq_leq(uint32_t a, uint32_t b) noexcept { return static_cast<int32_t>(a - b) <= 0; }
inline constexpr bool seq_gt(uint32_t a, uint32_t b) noexcept { return static_cast<int32_t>(a - b) > 0; }
inline constexpr bool seq_geq(uint32_t a, uint32_t b) noexcept { return static_cast<int32_t>(a - b) >= 0; }

// What one side sent, and what the other side acknowledged and advertised about it.
struct TcpDirection {
  uint32_t isn = 0;         // initial sequence number (midstream: the first seq seen - 1)
  uint32_t next_seq = 0;    // next byte to deliver in order; everything before it was delivered or skipped
  uint32_t max_seq = 0;     // highest seq + len seen from this sender
  uint32_t last_ack = 0;    // highest ACK the receiver sent for this data
  uint32_t window = 0;      // receiver's advertised window, scaled
  uint32_t fin_seq = 0;     // sequence number of the FIN, when fin_seen
  uint64_t offset = 0;      // stream offset of next_seq (bytes delivered + bytes skipped over gaps)
  uint8_t wscale = 0;       // window scale this sender announced on its SYN (applies to its windows)
  bool wscale_ok = false;   // announced window scaling
  bool sack_ok = false;     // announced SACK-permitted
  bool fin_seen = false;
  bool ack_seen = false;    // last_ack is valid
  bool done = false;        // no more reassembly: depth reached or inspection stopped
  bool gap_pending = false; // a gap precedes the next delivered byte (reported once)
  bool unknown = false;     // midstream: nothing known yet about this sender's sequence space
  OsPolicy policy = OsPolicy::Bsd;  // overlap/RST policy of the receiving host
  uint32_t queue_head = 0;  // sorted, non-overlapping out-of-order chunks (chunk index + 1)
  uint32_t queue_count = 0;
  uint32_t window_used = 0; // bytes in this direction's look-back buffer
  uint64_t window_end = 0;  // stream offset just past the look-back buffer's last byte
};

struct TcpSession {
  TcpState state = TcpState::None;
  bool midstream = false;     // picked up without a handshake
  bool handshake_done = false;  // reached ESTABLISHED through the 3-way handshake (flow:established)
  bool in_use = false;
  uint32_t next_free = 0;     // free list link (index + 1)
  TcpDirection client;        // client -> server
  TcpDirection server;        // server -> client
};

}  // namespace eastwatch

// The DNS parser (Suricata's rust/src/dns as the reference): every message of a DNS flow, UDP
// (one message per datagram) and TCP (2-byte length-prefixed messages in each direction's
// reassembled stream), parsed into per-packet transactions for detection and EVE.
//
// Contract:
//  - As Suricata, every message is one transaction (a response is not merged into its query):
//    `tx_id` counts the flow's messages from 0 in the order they are parsed. A message to the
//    server is parsed as a request (header and questions), one to the client as a response
//    (header, questions, answers and authorities). QR=1 to the server is not_request and no
//    transaction; QR=0 to the client is not_response but still parsed. Z bit (z_flag_set) and
//    opcodes 7..15 (invalid_opcode) are counted and the transaction kept. A message that does
//    not parse (a length past the end, a bad label, a pointer outside the message or a pointer
//    loop) is malformed_data (infinite_loop for a loop) and no transaction.
//  - Names are decompressed: pointers followed (forward ones too) with at most kMaxHops hops
//    and kMaxLabels labels in all (a loop ends there); labels joined by '.', the text cut at
//    255 bytes (name_too_long). rdata is kept for A/AAAA (the address bytes), CNAME, PTR, NS,
//    MX (the exchange name) and TXT (the first character-string); other types have none.
//  - Output: per packet, a DnsOutput of the transactions parsed in it (at most kMaxTx, more
//    counted). Every view points into the output's arena, which is sized so that it never runs
//    out, and stays valid until the next packet (DnsOutput::reset); detection copies what it keeps.
//  - TCP: a DnsTcpState per flow (from AppLayer's pool) gathers a message split over segments in
//    a buffer of app-layer.tcp.buffer-size bytes per direction; a complete message inside
//    one span is parsed in place. A longer split message is skipped (tcp_message_too_long). A
//    gap drops what was gathered; the direction resumes at the first span that starts like a
//    DNS message (length prefix and header).
//  - Nothing here allocates after construction, locks, throws or logs; every loop is bounded by
//    the message length, kMaxHops/kMaxLabels or the span count.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "sensor/applayer/dns_counters.hpp"
#include "sensor/applayer/dns_eve_data.hpp"
#include "sensor/applayer/http_eve_data.hpp"
#include "sensor/stream/tcp_stream_engine.hpp"

namespace eastwatch {

struct DnsQuestion {
  ByteView name;
  uint16_t rrtype = 0;
  uint16_t rrclass = 0;
};

// An answer or authority record. `rdata`: A/AAAA the 4/16 address bytes, CNAME/PTR/NS/MX a
// decompressed name, TXT the first character-string; empty for other types.
struct DnsRecord {
  ByteView name;
  ByteView rdata;
  uint32_t ttl = 0;
  uint16_t rrtype = 0;
  uint16_t rrclass = 0;
  bool authority = false;  // from the authority section (else the answer section)
};

struct DnsTransaction {
  static constexpr uint32_t kMaxQuestions = 16;  // more are counted, not kept
  static constexpr uint32_t kMaxRecords = 32;    // answers + authorities kept; more are counted
  uint64_t tx_id = 0;        // per flow, from 0, in message order (Suricata's tx ids)
  bool request_side = true;  // a query travelling to the server; false: a message to the client
  uint16_t id = 0;
  uint8_t opcode = 0;
  uint8_t rcode = 0;
  uint16_t flags = 0;
  DnsQuestion questions[kMaxQuestions];
  uint32_t question_count = 0;
  DnsRecord records[kMaxRecords];  // answers first, then authorities (responses only)
  uint32_t record_count = 0;
  uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;  // the header's counts

  std::span<const DnsQuestion> question_list() const noexcept { return {questions, question_count}; }
  std::span<const DnsRecord> record_list() const noexcept { return {records, record_count}; }
};

// What a packet's DNS parsing produced, and the per-worker space for it.
class DnsOutput {
 public:
  static constexpr uint32_t kMaxTx = 16;
  // Names (and rdata) are at most 255 bytes, so this many bytes always suffice.
  static constexpr uint32_t kArenaBytes =
      kMaxTx * (DnsTransaction::kMaxQuestions + 2 * DnsTransaction::kMaxRecords) * 256;

  DnsOutput();
  void reset() noexcept { tx_count_ = 0; arena_used_ = 0; }
  std::span<const DnsTransaction> transactions() const noexcept { return {txs_.get(), tx_count_}; }

  // Internal to the parser: a cleared entry (null when kMaxTx are taken), arena space.
  DnsTransaction* add() noexcept;
  uint32_t mark() const noexcept { return arena_used_; }
  void drop_last(uint32_t arena_mark) noexcept { --tx_count_; arena_used_ = arena_mark; }
  uint8_t* space() noexcept { return arena_.get() + arena_used_; }  // at least 256 bytes per name
  void commit(uint32_t bytes) noexcept { arena_used_ += bytes; }

 private:
  std::unique_ptr<DnsTransaction[]> txs_;
  std::unique_ptr<uint8_t[]> arena_;
  uint32_t arena_used_ = 0;
  uint32_t tx_count_ = 0;
};

inline constexpr uint32_t kDnsMaxHops = 32;    // compression pointers followed per name
inline constexpr uint32_t kDnsMaxLabels = 128; // labels read per name (a 255-byte name has at most 127)

// Parses one message (without the TCP length prefix) into `out` as transaction `tx_id`.
// Returns true when a transaction was added (the caller then advances its tx counter).
bool parse_dns_message(std::span<const uint8_t> message, bool to_server, uint64_t tx_id, DnsOutput& out,
                       DnsCounters& counters) noexcept;

// One direction's gathering of length-prefixed messages.
struct DnsTcpDirection {
  uint8_t* buffer = nullptr;  // capacity bytes, owned by AppLayer's pool
  uint32_t have = 0;          // message bytes gathered
  uint32_t length = 0;        // the current message's length (valid once prefix_len == 2)
  uint8_t prefix[2] = {0, 0};
  uint8_t prefix_len = 0;
  uint32_t skip = 0;          // bytes of an oversized message still to skip
  bool lost = false;          // after a gap: until a span starts like a DNS message
  uint64_t consumed = 0;      // stream offset parsed up to
};

class DnsTcpState {
 public:
  // `buffers` holds 2 x `capacity` bytes (to-server side first).
  void init(uint8_t* buffers, uint32_t capacity) noexcept;
  // The stream update of one direction (spans in order, the look-back view for bytes delivered
  // before the flow was detected).
  void feed_update(const StreamUpdate& update, DnsOutput& out, DnsCounters& counters) noexcept;
  uint64_t next_tx() const noexcept { return next_tx_; }

 private:
  void feed(bool to_server, std::span<const uint8_t> data, DnsOutput& out, DnsCounters& counters) noexcept;
  void gap(bool to_server, DnsCounters& counters) noexcept;
  void message(bool to_server, std::span<const uint8_t> msg, DnsOutput& out, DnsCounters& counters) noexcept;

  DnsTcpDirection dir_[2];
  uint32_t capacity_ = 0;
  uint64_t next_tx_ = 0;
};

// The EVE `dns` facts of a transaction (names formatted, A/AAAA addresses as text).
void dns_eve_fill(const DnsTransaction& tx, DnsEveData& eve) noexcept;

}  // namespace eastwatch

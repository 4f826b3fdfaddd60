// DNS counters of the application layer. `visit` names are Suricata's EVE schema names
// (stats.app_layer.tx.dns_udp/dns_tcp, error.dns_udp.*, error.dns_tcp.*); the anomaly events
// (Suricata's dns app-layer-event names) and Eastwatch's pool and limit counters are in
// `visit_extra` (stats.log only).
#pragma once

#include <cstdint>

namespace eastwatch {

struct DnsCounters {
  // EVE.
  uint64_t tx_udp = 0;            // messages parsed into a transaction, over UDP
  uint64_t tx_tcp = 0;            // ... over TCP
  uint64_t error_udp_parser = 0;  // UDP messages that made no transaction (malformed, not_request)
  uint64_t error_tcp_parser = 0;
  uint64_t error_tcp_gap = 0;     // gaps in a DNS/TCP direction (what was gathered is dropped)
  uint64_t error_tcp_alloc = 0;   // DNS/TCP flows not parsed: the state pool (app-layer.dns.global-memcap) was full

  // Suricata's events and Eastwatch-only.
  uint64_t malformed_data = 0;        // a message that does not parse (lengths, labels, pointers)
  uint64_t not_request = 0;           // QR=1 travelling to the server (no transaction)
  uint64_t not_response = 0;          // QR=0 travelling to the client (parsed as a response)
  uint64_t z_flag_set = 0;
  uint64_t invalid_opcode = 0;        // opcode 7..15
  uint64_t name_too_long = 0;         // a name cut at 255 bytes
  uint64_t infinite_loop = 0;         // compression pointers in a loop (or beyond kDnsMaxHops)
  uint64_t too_many_labels = 0;       // a name of more than kDnsMaxLabels labels
  uint64_t too_many_questions = 0;    // messages with questions beyond DnsTransaction::kMaxQuestions (not kept)
  uint64_t too_many_records = 0;      // messages with records beyond DnsTransaction::kMaxRecords (not kept)
  uint64_t tx_overflow = 0;           // transactions in one packet beyond DnsOutput::kMaxTx (not output)
  uint64_t tcp_message_too_long = 0;  // split TCP messages longer than app-layer.dns.tcp.buffer-size (skipped)
  uint64_t tcp_states_in_use = 0;     // gauge

  template <class F>
  void visit(F&& f) const {
    f("tx.dns_udp", tx_udp); f("tx.dns_tcp", tx_tcp); f("error.dns_udp.parser", error_udp_parser);
    f("error.dns_tcp.parser", error_tcp_parser); f("error.dns_tcp.gap", error_tcp_gap);
    f("error.dns_tcp.alloc", error_tcp_alloc);
  }
  template <class F>
  void visit_extra(F&& f) const {
    f("dns.malformed_data", malformed_data); f("dns.not_request", not_request); f("dns.not_response", not_response);
    f("dns.z_flag_set", z_flag_set); f("dns.invalid_opcode", invalid_opcode); f("dns.name_too_long", name_too_long);
    f("dns.infinite_loop", infinite_loop); f("dns.too_many_labels", too_many_labels);
    f("dns.too_many_questions", too_many_questions); f("dns.too_many_records", too_many_records);
    f("dns.tx_overflow", tx_overflow); f("dns.tcp_message_too_long", tcp_message_too_long);
    f("dns.tcp_states_in_use", tcp_states_in_use);
  }
};

}  // namespace eastwatch

// TLS counters of the application layer. `visit` names are Suricata's EVE schema names
// (stats.app_layer.tx.tls, error.tls.*); the anomaly events (Suricata's tls app-layer-event
// names, lower case) and Eastwatch's pool and limit counters are in `visit_extra` (stats.log).
#pragma once

#include <cstdint>

namespace eastwatch {

struct TlsCounters {
  // EVE.
  uint64_t tx = 0;            // TLS flows parsed (Suricata's one transaction per TLS session)
  uint64_t error_gap = 0;     // a gap in a direction still in its handshake: parsing of it stops
  uint64_t error_alloc = 0;   // TLS flows not parsed: the state pool (app-layer.tls.memcap) was full
  uint64_t error_parser = 0;  // directions given up on malformed records or messages

  // Eastwatch-only and Suricata's events.
  uint64_t states_in_use = 0;            // gauge
  uint64_t records = 0;                  // records seen (headers parsed)
  uint64_t encrypted_records = 0;        // records after ChangeCipherSpec / application data, not parsed
  uint64_t sslv2_client_hello = 0;       // an SSLv2 (or v2-compatible) ClientHello: not parsed
  uint64_t invalid_record_type = 0;
  uint64_t invalid_record_version = 0;
  uint64_t invalid_record_length = 0;    // longer than 2^14 + 2048
  uint64_t invalid_handshake_message = 0;
  uint64_t handshake_invalid_length = 0; // a hello's field overruns its message
  uint64_t handshake_too_long = 0;       // a message cut at app-layer.tls.handshake-limit
  uint64_t invalid_sni_type = 0;
  uint64_t invalid_sni_length = 0;
  uint64_t multiple_sni_extensions = 0;
  uint64_t invalid_certificate = 0;      // the Certificate message's framing is broken
  uint64_t certificate_invalid_der = 0;  // the leaf's DER did not parse (no subject/issuer/serial)
  uint64_t certs_overflow = 0;           // certificates beyond TlsEntry::kMaxCerts (not output)
  uint64_t output_overflow = 0;          // views not output: the per-packet TLS arena was full

  template <class F>
  void visit(F&& f) const {
    f("tx.tls", tx); f("error.tls.gap", error_gap); f("error.tls.alloc", error_alloc);
    f("error.tls.parser", error_parser);
  }
  template <class F>
  void visit_extra(F&& f) const {
    f("tls.states_in_use", states_in_use); f("tls.records", records); f("tls.encrypted_records", encrypted_records);
    f("tls.sslv2_client_hello", sslv2_client_hello); f("tls.invalid_record_type", invalid_record_type);
    f("tls.invalid_record_version", invalid_record_version); f("tls.invalid_record_length", invalid_record_length);
    f("tls.invalid_handshake_message", invalid_handshake_message);
    f("tls.handshake_invalid_length", handshake_invalid_length); f("tls.handshake_too_long", handshake_too_long);
    f("tls.invalid_sni_type", invalid_sni_type); f("tls.invalid_sni_length", invalid_sni_length);
    f("tls.multiple_sni_extensions", multiple_sni_extensions); f("tls.invalid_certificate", invalid_certificate);
    f("tls.certificate_invalid_der", certificate_invalid_der); f("tls.certs_overflow", certs_overflow);
    f("tls.output_overflow", output_overflow);
  }
};

}  // namespace eastwatch

// The TLS handshake parser: one TlsFlowParser per TLS flow (in AppLayer's pool), fed each
// direction's reassembled stream in order (Suricata's app-layer-ssl.c, util-ja3.c and its x509
// handling are the reference).
//
// What it reads: the record layer (5-byte headers gathered across segments; an SSLv2 hello
// is counted and ends the direction); handshake messages reassembled across records and TCP
// segments into the direction's buffer of app-layer.tls.handshake-limit bytes (a longer
// message, usually a Certificate chain, is cut: counted, the rest skipped, what fits still
// parsed); ClientHello (version, cipher suites, extensions: server_name, supported_groups,
// ec_point_formats, supported_versions), ServerHello (version, cipher, extensions,
// supported_versions for TLS 1.3) and Certificate (TLS <= 1.2: each DER certificate of the
// chain; the leaf's subject, issuer, serial, SHA-1 fingerprint and validity by a bounded DER
// walker, tls_x509.hpp). A ChangeCipherSpec or application-data record ends parsing of that
// direction (what follows is encrypted: records counted only); so does a gap.
//
// Output contract (what detection inspects):
//  - Per packet, a TlsOutput holds one entry per TLS flow that progressed in it (in practice
//    the packet's flow). `parts` says which handshake messages were parsed in this packet
//    (tls_bit(TlsPart)); a view is set only when its part is in `parts`:
//      ClientHello: sni, ja3_string, ja3_hash, client_version
//      ServerHello: ja3s_string, ja3s_hash, version
//      Certificate: cert_subject, cert_issuer, cert_serial, cert_fingerprint (the leaf's),
//                   certs[0..cert_count) (each certificate's DER, leaf first, at most kMaxCerts)
//    Empty views otherwise (an absent SNI, a certificate whose DER did not parse).
//  - Formats, as Suricata's: ja3_string "771,4865-4866,0-11-10,29-23,0" (decimal, GREASE values
//    removed from ciphers, extensions and groups), ja3_hash / ja3s_hash 32 lower-case hex chars
//    (MD5 of the string); cert_subject / cert_issuer "C=US, ST=California, O=Example, CN=x"
//    (RDNs in certificate order, ", " between, short attribute names); cert_serial upper-case
//    hex bytes joined by ':' ("0A:1B:..."); cert_fingerprint the DER's SHA-1 as lower-case hex
//    joined by ':'.
//  - Versions are wire values (0x0303 = TLS 1.2). client_version: the ClientHello's version,
//    or the first (preferred) non-GREASE entry of its supported_versions (Suricata's
//    client_connp.version); version: the ServerHello's, or its supported_versions choice
//    (server_connp.version; a legacy 0x0304 or 0x7f01-0x7f0f reads as 0x7f01, "TLS 1.3 draft-<16").
//  - Every view points into the TlsOutput's arena (the worker's, reset per packet) and stays
//    valid until the next packet is processed (the next AppLayer::process call). Nothing points
//    into the flow state. A full arena leaves views empty (counted: tls.output_overflow).
//  - TlsEveData (tls_eve_data.hpp) is the per-flow copy of the EVE `tls` facts, for an
//    output to copy into an alert.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "sensor/applayer/http_eve_data.hpp"
#include "sensor/applayer/tls_counters.hpp"
#include "sensor/applayer/tls_eve_data.hpp"

namespace eastwatch {

enum class TlsPart : uint8_t { ClientHello, ServerHello, Certificate };
constexpr uint8_t tls_bit(TlsPart p) noexcept { return static_cast<uint8_t>(1u << static_cast<uint32_t>(p)); }

struct TlsEntry {
  static constexpr uint32_t kMaxCerts = 8;  // certificates of a chain output; more are counted

  uint8_t parts = 0;            // tls_bit(p): p was parsed in this packet
  uint16_t client_version = 0;  // ClientHello part
  uint16_t version = 0;         // ServerHello part: the negotiated version
  ByteView sni;
  ByteView ja3_string, ja3_hash;
  ByteView ja3s_string, ja3s_hash;
  ByteView cert_subject, cert_issuer, cert_serial, cert_fingerprint;
  ByteView certs[kMaxCerts];
  uint32_t cert_count = 0;

  bool has(TlsPart p) const noexcept { return parts & tls_bit(p); }
  std::span<const ByteView> cert_list() const noexcept { return {certs, cert_count}; }
};

// What a packet's TLS parsing produced, and the per-worker space for it.
class TlsOutput {
 public:
  static constexpr uint32_t kMaxEntries = 4;

  explicit TlsOutput(uint32_t arena_bytes);
  void reset() noexcept;
  std::span<const TlsEntry> entries() const noexcept { return {entries_, entry_count_}; }

  // Internal to the parser: the entry of `flow_key` (any per-flow token), made on first use;
  // null when kMaxEntries are in use. `copy` puts bytes into the arena (empty view when full).
  TlsEntry* entry(const void* flow_key) noexcept;
  ByteView copy(const uint8_t* data, uint32_t len) noexcept;
  std::span<uint8_t> free_space() noexcept { return {arena_.get() + arena_used_, arena_bytes_ - arena_used_}; }
  ByteView commit(uint32_t bytes) noexcept;  // the first `bytes` of free_space() become a view
  bool overflowed = false;                   // a copy did not fit since the last reset

 private:
  TlsEntry entries_[kMaxEntries];
  const void* keys_[kMaxEntries] = {};
  uint32_t entry_count_ = 0;
  std::unique_ptr<uint8_t[]> arena_;
  uint32_t arena_bytes_;
  uint32_t arena_used_ = 0;
};

// Per-worker context for every TlsFlowParser.
struct TlsContext {
  TlsCounters& counters;
  TlsOutput& output;
};

class TlsFlowParser {
 public:
  // `buffers` holds 2 x handshake_limit bytes (client side first), owned by the pool.
  void init(uint8_t* buffers, uint32_t handshake_limit) noexcept;
  // Bytes of one direction, in stream order, after the bytes of the previous call.
  void feed(bool to_server, std::span<const uint8_t> data, TlsContext& ctx) noexcept;
  // `bytes` were skipped in a direction (a reassembly gap): parsing of it stops.
  void gap(bool to_server, uint64_t bytes, TlsContext& ctx) noexcept;
  const TlsEveData& eve() const noexcept { return eve_; }
  bool done(bool to_server) const noexcept { return dir_[to_server ? 0 : 1].state == State::Done; }

  enum class State : uint8_t { RecordHeader, RecordBody, Done };
  struct Direction {
    State state = State::RecordHeader;
    uint8_t header[5] = {};       // the record header being gathered
    uint8_t header_len = 0;
    uint8_t record_type = 0;
    uint32_t record_left = 0;     // record payload bytes still to come
    // The handshake message being gathered (its 4-byte header first, then the body).
    uint8_t msg_header[4] = {};
    uint8_t msg_header_len = 0;
    uint32_t msg_len = 0;         // the body length the header announced
    uint32_t msg_seen = 0;        // body bytes seen (kept or not)
    uint8_t* buffer = nullptr;    // handshake-limit bytes
    uint32_t records = 0;
    bool encrypted = false;       // after ChangeCipherSpec / application data: records skipped
  };

 private:
  void feed_record_body(bool to_server, Direction& d, const uint8_t* p, uint32_t n, TlsContext& ctx) noexcept;
  void handshake_bytes(bool to_server, Direction& d, const uint8_t* p, uint32_t n, TlsContext& ctx) noexcept;
  void message_done(bool to_server, Direction& d, TlsContext& ctx) noexcept;
  void client_hello(const uint8_t* p, uint32_t n, TlsContext& ctx) noexcept;
  void server_hello(const uint8_t* p, uint32_t n, TlsContext& ctx) noexcept;
  void certificate(const uint8_t* p, uint32_t n, bool cut, TlsContext& ctx) noexcept;
  TlsEntry* entry(TlsContext& ctx) noexcept;

  Direction dir_[2];  // [0] to server, [1] to client
  uint32_t limit_ = 0;
  bool seen_client_hello_ = false;
  bool seen_server_hello_ = false;
  bool seen_certificate_ = false;
  TlsEveData eve_;
};

}  // namespace eastwatch

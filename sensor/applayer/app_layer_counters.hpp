// App-layer counters. `visit` names are Suricata's EVE schema names (stats.app_layer.*), so
// the stats record validates; everything else, the HTTP anomaly events (Suricata's
// app-layer-event names, lower case) among them, is in `visit_extra` (stats.log only).
#pragma once

#include <cstdint>

#include "sensor/applayer/dns_counters.hpp"
#include "sensor/applayer/tls_counters.hpp"

namespace eastwatch {

struct HttpEventCounters {
  uint64_t request_field_too_long = 0;          // header block cut at app-layer.http.header-limit
  uint64_t response_field_too_long = 0;
  uint64_t request_field_missing_colon = 0;
  uint64_t response_field_missing_colon = 0;
  uint64_t invalid_request_field_folding = 0;   // a folded line with no header before it
  uint64_t invalid_response_field_folding = 0;
  uint64_t invalid_request_chunk_len = 0;
  uint64_t invalid_response_chunk_len = 0;
  uint64_t request_chunk_extension = 0;
  uint64_t invalid_content_length_field_in_request = 0;
  uint64_t invalid_content_length_field_in_response = 0;
  uint64_t duplicate_content_length_field_in_request = 0;
  uint64_t duplicate_content_length_field_in_response = 0;
  uint64_t request_header_repetition = 0;
  uint64_t response_header_repetition = 0;
  uint64_t unknown_request_method = 0;
  uint64_t request_line_invalid = 0;
  uint64_t request_line_leading_whitespace = 0;
  uint64_t response_invalid_protocol = 0;
  uint64_t response_invalid_status = 0;
  uint64_t missing_host_header = 0;
  uint64_t host_header_ambiguous = 0;
  uint64_t unable_to_match_response_to_request = 0;
  uint64_t request_too_many_headers = 0;        // beyond HttpTransaction::kMaxHeaders
  uint64_t response_too_many_headers = 0;
  uint64_t gzip_decompression_failed = 0;
  uint64_t compression_bomb = 0;                // decompression stopped at the size or ratio limit
  uint64_t uri_invalid_encoding = 0;            // a '%' not followed by two hex digits (libhtp's URL-encoding event)
};

struct AppLayerCounters {
  // EVE (stats.app_layer.flow.<proto>, tx.http, error.http.*).
  uint64_t flow_http = 0, flow_tls = 0, flow_ssh = 0, flow_smb = 0, flow_dns_tcp = 0, flow_dns_udp = 0, flow_ftp = 0,
           flow_smtp = 0;
  uint64_t tx_http = 0;
  uint64_t error_http_gap = 0;     // a gap in an HTTP direction outside a body of known length: parsing stops there
  uint64_t error_http_alloc = 0;   // HTTP flows not parsed: the state pool (app-layer.memcap) was full
  uint64_t error_http_parser = 0;  // HTTP directions given up (unparseable framing, tunnels)

  // Eastwatch-only.
  uint64_t failed_tcp = 0;  // TCP flows whose both directions matched no protocol
  uint64_t failed_udp = 0;
  uint64_t http_states_in_use = 0;         // gauge
  uint64_t bare_lf_lines = 0;              // header lines ended by LF alone
  uint64_t http09_requests = 0;
  uint64_t body_limit_reached = 0;         // bodies inspected in part (request/response-body-limit)
  uint64_t decompressor_unavailable = 0;   // compressed bodies inspected raw: every decompressor busy
  uint64_t output_overflow = 0;            // buffers not output: the per-packet output arena was full
  uint64_t tx_overflow = 0;                // transactions in one packet beyond AppLayerUpdate::kMaxTx
  uint64_t pending_overflow = 0;           // pipelined requests beyond the pending queue (responses unmatched)
  HttpEventCounters http;
  TlsCounters tls;
  DnsCounters dns;

  template <class F>
  void visit(F&& f) const {
    f("flow.http", flow_http); f("flow.tls", flow_tls); f("flow.ssh", flow_ssh); f("flow.smb", flow_smb);
    f("flow.dns_tcp", flow_dns_tcp); f("flow.dns_udp", flow_dns_udp); f("flow.ftp", flow_ftp);
    f("flow.smtp", flow_smtp); f("tx.http", tx_http); f("error.http.gap", error_http_gap);
    f("error.http.alloc", error_http_alloc); f("error.http.parser", error_http_parser);
    tls.visit(f);
    dns.visit(f);
  }
  template <class F>
  void visit_extra(F&& f) const {
    f("flow.failed_tcp", failed_tcp); f("flow.failed_udp", failed_udp); f("http.states_in_use", http_states_in_use);
    f("http.bare_lf_lines", bare_lf_lines); f("http.http09_requests", http09_requests);
    f("http.body_limit_reached", body_limit_reached); f("http.decompressor_unavailable", decompressor_unavailable);
    f("http.output_overflow", output_overflow); f("http.tx_overflow", tx_overflow);
    f("http.pending_overflow", pending_overflow);
    const HttpEventCounters& e = http;
    f("http.request_field_too_long", e.request_field_too_long);
    f("http.response_field_too_long", e.response_field_too_long);
    f("http.request_field_missing_colon", e.request_field_missing_colon);
    f("http.response_field_missing_colon", e.response_field_missing_colon);
    f("http.invalid_request_field_folding", e.invalid_request_field_folding);
    f("http.invalid_response_field_folding", e.invalid_response_field_folding);
    f("http.invalid_request_chunk_len", e.invalid_request_chunk_len);
    f("http.invalid_response_chunk_len", e.invalid_response_chunk_len);
    f("http.request_chunk_extension", e.request_chunk_extension);
    f("http.invalid_content_length_field_in_request", e.invalid_content_length_field_in_request);
    f("http.invalid_content_length_field_in_response", e.invalid_content_length_field_in_response);
    f("http.duplicate_content_length_field_in_request", e.duplicate_content_length_field_in_request);
    f("http.duplicate_content_length_field_in_response", e.duplicate_content_length_field_in_response);
    f("http.request_header_repetition", e.request_header_repetition);
    f("http.response_header_repetition", e.response_header_repetition);
    f("http.unknown_request_method", e.unknown_request_method);
    f("http.request_line_invalid", e.request_line_invalid);
    f("http.request_line_leading_whitespace", e.request_line_leading_whitespace);
    f("http.response_invalid_protocol", e.response_invalid_protocol);
    f("http.response_invalid_status", e.response_invalid_status);
    f("http.missing_host_header", e.missing_host_header);
    f("http.host_header_ambiguous", e.host_header_ambiguous);
    f("http.unable_to_match_response_to_request", e.unable_to_match_response_to_request);
    f("http.request_too_many_headers", e.request_too_many_headers);
    f("http.response_too_many_headers", e.response_too_many_headers);
    f("http.gzip_decompression_failed", e.gzip_decompression_failed);
    f("http.compression_bomb", e.compression_bomb);
    f("http.uri_invalid_encoding", e.uri_invalid_encoding);
    tls.visit_extra(f);
    dns.visit_extra(f);
  }
};

}  // namespace eastwatch

// The EVE `tls` facts of a TLS flow (Suricata 7's alert `tls` object), as bounded copies:
// small enough to travel inside an AlertEvent, so an output needs nothing of the parser's state.
#pragma once

#include <cstdint>
#include <string_view>

#include "sensor/applayer/http_eve_data.hpp"

namespace eastwatch {

struct TlsEveData {
  template <uint32_t N>
  using Text = HttpEveData::Text<N>;  // longer values are cut at N bytes

  Text<256> subject;      // the leaf certificate's, "C=US, O=Example, CN=example.com"
  Text<256> issuerdn;
  Text<96> serial;        // "0A:1B:2C" (a 20-byte serial is 59 characters)
  Text<60> fingerprint;   // SHA-1 of the leaf's DER, "aa:bb:..." (59 characters)
  Text<256> sni;
  Text<512> ja3_string;
  Text<32> ja3_hash;
  Text<160> ja3s_string;
  Text<32> ja3s_hash;
  uint16_t version = 0;   // the server's (server_connp.version); 0: no ServerHello (EVE "UNDETERMINED")
  bool has_validity = false;
  int64_t not_before = 0;  // the leaf's validity, seconds since the epoch (UTC)
  int64_t not_after = 0;

  bool empty() const noexcept { return sni.len == 0 && ja3_hash.len == 0 && ja3s_hash.len == 0 && subject.len == 0; }
};

// Suricata's name of a TLS version (SSLVersionToString): "TLSv1", "TLS 1.2", "TLS 1.3",
// "TLS 1.3 draft-28", "UNDETERMINED" for 0, "0x%04x" otherwise. Writes at most 24 bytes.
std::string_view tls_version_name(uint16_t version, char (&buffer)[24]) noexcept;

// "2024-01-01T00:00:00" (EVE notbefore/notafter) of seconds since the epoch, UTC; 19 bytes.
std::string_view tls_format_time(int64_t seconds, char (&buffer)[24]) noexcept;

}  // namespace eastwatch

// HTTP normalization as libhtp does it for Suricata's normalized buffers. Pure functions
// writing into a caller's buffer (never more than `out.size()` bytes); no allocation.
#pragma once

#include <cstdint>
#include <span>

namespace eastwatch {

// http.uri from the raw request URI: an absolute URI ("http://host/p") loses its scheme and
// authority (Suricata's uri-include-all: false); the path is percent-decoded (%2f too; an
// invalid escape is kept as is and counted in `invalid_encoding`), '\' becomes '/', runs of
// '/' become one, and "." and ".." segments are removed (RFC 3986 5.2.4); the query (from
// '?') is kept raw. Returns the bytes written; at most uri.size().
uint32_t normalize_uri(std::span<const uint8_t> uri, std::span<uint8_t> out, uint32_t& invalid_encoding) noexcept;

// The authority of an absolute URI ("http://Host:80/x" -> "Host:80"); empty if not absolute.
std::span<const uint8_t> uri_authority(std::span<const uint8_t> uri) noexcept;

// http.host from a Host value (or a URI authority): trimmed, lower case, without userinfo,
// port and trailing dots; "[v6]" literals keep their brackets. Returns the bytes written.
uint32_t normalize_host(std::span<const uint8_t> host, std::span<uint8_t> out) noexcept;

}  // namespace eastwatch

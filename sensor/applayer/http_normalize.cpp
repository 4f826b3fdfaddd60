#include "sensor/applayer/http_normalize.hpp"

#include <algorithm>
#include <cstring>

namespace eastwatch {

namespace {

int hex_value(uint8_t c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_space(uint8_t c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

std::span<const uint8_t> uri_authority(std::span<const uint8_t> uri) noexcept {
  // scheme "://" authority [ "/" ... ]; the scheme is letters, digits, '+', '-', '.'.
  auto scheme_char = [&](size_t i) {
    const uint8_t c = static_cast<uint8_t>(uri[i] | 0x20);
    if (c >= 'a' && c <= 'z') return true;
    return i > 0 && ((uri[i] >= '0' && uri[i] <= '9') || uri[i] == '+' || uri[i] == '-' || uri[i] == '.');
  };
  size_t i = 0;
  while (i < uri.size() && i < 16 && scheme_char(i)) ++i;
  if (i == 0 || i + 3 > uri.size() || uri[i] != ':' || uri[i + 1] != '/' || uri[i + 2] != '/') return {};
  const size_t start = i + 3;
  size_t end = start;
  while (end < uri.size() && uri[end] != '/' && uri[end] != '?' && uri[end] != '#') ++end;
  return uri.subspan(start, end - start);
}

uint32_t normalize_uri(std::span<const uint8_t> uri, std::span<uint8_t> out, uint32_t& invalid_encoding) noexcept {
  const std::span<const uint8_t> authority = uri_authority(uri);
  const size_t pos = authority.data() != nullptr ? static_cast<size_t>(authority.data() + authority.size() - uri.data())
                                                 : 0;
  size_t path_end = pos;
  while (path_end < uri.size() && uri[path_end] != '?' && uri[path_end] != '#') ++path_end;
  const size_t capacity = std::min(out.size(), uri.size());
  // Pass 1: percent-decode, '\' to '/', "//" to "/".
  size_t n = 0;
  for (size_t i = pos; i < path_end && n < capacity; ++i) {
    uint8_t c = uri[i];
    if (c == '%') {
      const int hi = i + 2 < path_end ? hex_value(uri[i + 1]) : -1;
      const int lo = hi >= 0 ? hex_value(uri[i + 2]) : -1;
      if (hi >= 0 && lo >= 0) {
        c = static_cast<uint8_t>(hi << 4 | lo);
        i += 2;
      } else {
        ++invalid_encoding;
      }
    }
    if (c == '\\') c = '/';
    if (c == '/' && n > 0 && out[n - 1] == '/') continue;
    out[n++] = c;
  }
  // Pass 2, in place: remove "." and ".." segments (RFC 3986 5.2.4); writes never pass reads.
  size_t r = 0, w = 0;
  while (r < n) {
    const bool slash = out[r] == '/';
    if (slash) ++r;
    const size_t s = r;
    while (r < n && out[r] != '/') ++r;
    const size_t len = r - s;
    const bool last = r == n;
    if (len == 1 && out[s] == '.') {
      if (last && slash) out[w++] = '/';
    } else if (len == 2 && out[s] == '.' && out[s + 1] == '.') {
      while (w > 0 && out[w - 1] != '/') --w;
      if (w > 0) --w;
      if (last) out[w++] = '/';
    } else {
      if (slash) out[w++] = '/';
      if (w != s && len > 0) std::memmove(out.data() + w, out.data() + s, len);
      w += len;
    }
  }
  n = w;
  if (n == 0 && authority.data() != nullptr && capacity > 0) out[n++] = '/';
  for (size_t i = path_end; i < uri.size() && n < capacity; ++i) out[n++] = uri[i];
  return static_cast<uint32_t>(n);
}

uint32_t normalize_host(std::span<const uint8_t> host, std::span<uint8_t> out) noexcept {
  size_t begin = 0, end = host.size();
  while (begin < end && is_space(host[begin])) ++begin;
  while (end > begin && is_space(host[end - 1])) --end;
  for (size_t i = begin; i < end; ++i) {
    if (host[i] == '@') begin = i + 1;  // userinfo
  }
  if (begin < end && host[begin] == '[') {
    size_t close = begin;
    while (close < end && host[close] != ']') ++close;
    if (close < end) end = close + 1;
  } else {
    for (size_t i = begin; i < end; ++i) {
      if (host[i] == ':') {
        end = i;
        break;
      }
    }
    while (end > begin && host[end - 1] == '.') --end;
  }
  size_t n = 0;
  for (size_t i = begin; i < end && n < out.size(); ++i) {
    const uint8_t c = host[i];
    out[n++] = c >= 'A' && c <= 'Z' ? static_cast<uint8_t>(c + 32) : c;
  }
  return static_cast<uint32_t>(n);
}

}  // namespace eastwatch

// The EVE `http` facts of an HTTP flow's latest transaction, as bounded copies: small enough
// to travel inside an AlertEvent, so an output needs nothing of the parser's state.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace eastwatch {

struct ByteView {
  const uint8_t* data = nullptr;
  uint32_t len = 0;
  bool empty() const noexcept { return len == 0; }
  std::string_view text() const noexcept { return {reinterpret_cast<const char*>(data), len}; }
};

struct HttpEveData {
  template <uint32_t N>
  struct Text {
    char data[N] = {};
    uint16_t len = 0;  // longer values are cut at N bytes
    void set(ByteView v) noexcept {
      len = static_cast<uint16_t>(std::min<uint32_t>(v.len, N));
      if (len) std::memcpy(data, v.data, len);
    }
    std::string_view view() const noexcept { return {data, len}; }
  };
  uint64_t tx_id = 0;
  Text<256> hostname;           // normalized (http.host)
  Text<512> url;                // the raw request URI
  Text<256> http_user_agent;
  Text<32> http_method;
  Text<16> protocol;
  Text<128> http_content_type;  // the response's, without parameters
  Text<256> http_refer;
  Text<256> redirect;           // the response's Location
  uint16_t status = 0;          // 0: no response yet
  uint64_t length = 0;          // response body bytes seen

  // Empties every field without touching the text bytes (a new transaction, per request).
  void clear(uint64_t id) noexcept {
    tx_id = id;
    hostname.len = url.len = http_user_agent.len = http_method.len = protocol.len = http_content_type.len =
        http_refer.len = redirect.len = 0;
    status = 0;
    length = 0;
  }
};

}  // namespace eastwatch

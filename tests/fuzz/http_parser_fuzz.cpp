// libFuzzer target: one TCP flow through the app layer (protocol detection, then the HTTP
// parser when it says HTTP). Byte 0 picks the settings (small header limit, small body
// limits, no decompressors); then records of [direction + gap flag (1 byte); length (1 byte);
// bytes...]. Checks the output contract: every view of every transaction is readable (ASan)
// and a view is set only for a buffer flagged complete or in progress.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "sensor/applayer/app_layer.hpp"

namespace {

using namespace eastwatch;

void check_output(const HttpOutput& out) {
  for (const HttpTransaction& tx : out.transactions()) {
    for (uint32_t b = 0; b < kHttpBufferCount; ++b) {
      const ByteView v = tx.buffers[b];
      if (v.len == 0) continue;
      if (v.data == nullptr) __builtin_trap();
      if (!tx.has(static_cast<HttpBuffer>(b))) __builtin_trap();
      volatile uint8_t sink = v.data[0] ^ v.data[v.len - 1];
      (void)sink;
    }
    if (tx.header_count > HttpTransaction::kMaxHeaders) __builtin_trap();
    for (const HttpHeader& h : tx.header_list()) {
      if (h.name.len) {
        volatile uint8_t sink = h.name.data[h.name.len - 1];
        (void)sink;
      }
      if (h.value.len) {
        volatile uint8_t sink = h.value.data[h.value.len - 1];
        (void)sink;
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  AppLayerSettings settings;
  settings.memcap = 1 << 20;
  if (data[0] & 1) settings.http.header_limit = 512;
  if (data[0] & 2) settings.http.request_body_limit = settings.http.response_body_limit = 64;
  if (data[0] & 4) settings.http.decompressors = 0;
  if (data[0] & 8) settings.http.compression_bomb_limit = 4096;
  static std::unique_ptr<AppLayer> app;  // constructing per input would dominate the run time
  static uint8_t last_settings = 0xff;
  if (!app || last_settings != (data[0] & 0x0f)) {
    app = std::make_unique<AppLayer>(settings);
    last_settings = data[0] & 0x0f;
  }
  Flow flow;
  flow.key.ip_proto = 6;
  flow.key.server_port = (data[0] & 0x10) ? 80 : 8080;
  flow.in_use = true;
  Packet packet;
  packet.ip_version = 4;
  packet.ip_proto = 6;
  packet.has_transport = true;
  packet.flow = &flow;
  std::string sent[2];
  StreamUpdate update;
  size_t pos = 1;
  while (pos + 2 <= size) {
    const bool to_server = (data[pos] & 1) == 0;
    const bool gap = data[pos] & 2;
    const bool done = data[pos] & 4;
    const size_t len = std::min<size_t>(data[pos + 1], size - pos - 2);
    pos += 2;
    std::string& s = sent[to_server ? 0 : 1];
    if (gap) s.append(7, '\0');  // bytes never delivered
    const uint64_t offset = s.size();
    s.append(reinterpret_cast<const char*>(data + pos), len);
    pos += len;
    update.reset(to_server);
    update.tracked = true;
    if (len > 0) {
      update.spans[0] = {reinterpret_cast<const uint8_t*>(s.data()) + offset, static_cast<uint32_t>(len), offset, gap};
      update.span_count = 1;
      const uint64_t window_start = gap ? offset : 0;
      update.window = {reinterpret_cast<const uint8_t*>(s.data()) + window_start, s.size() - window_start};
      update.window_offset = window_start;
      update.gap = gap;
    }
    update.done = done;
    packet.to_server = to_server;
    app->process(packet, &update);
    check_output(app->http_output());
  }
  app->release(flow);
  if (app->counters().http_states_in_use != 0) __builtin_trap();
  return 0;
}

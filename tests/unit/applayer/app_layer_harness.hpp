// Test harness: one TCP flow fed to an AppLayer as the stream engine would deliver it (each
// send's bytes as one span, the look-back view covering everything sent in that direction).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "sensor/applayer/app_layer.hpp"

namespace eastwatch::test {

struct AppLayerHarness {
  explicit AppLayerHarness(AppLayerSettings s = {}, uint16_t server_port = 80, uint8_t ip_proto = 6)
      : settings(s), app(std::make_unique<AppLayer>(settings)) {
    flow.key.ip_proto = ip_proto;
    flow.key.server_port = server_port;
    flow.in_use = true;
    packet.ip_version = 4;
    packet.ip_proto = ip_proto;
    packet.has_transport = true;
    packet.flow = &flow;
    for (std::string& s : sent) s.reserve(16 << 20);  // appends never reallocate (the allocation test)
  }

  const HttpOutput& send(bool to_server, std::string_view bytes, bool done = false) {
    std::string& s = sent[to_server ? 0 : 1];
    const uint64_t offset = s.size();
    s.append(bytes);
    update.reset(to_server);
    update.tracked = true;
    if (!bytes.empty()) {
      update.spans[0] = {reinterpret_cast<const uint8_t*>(s.data()) + offset, static_cast<uint32_t>(bytes.size()),
                         offset, false};
      update.span_count = 1;
      update.window = {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
      update.window_offset = 0;
    }
    update.done = done;
    packet.to_server = to_server;
    app->process(packet, &update);
    return app->http_output();
  }
  const HttpOutput& request(std::string_view bytes) { return send(true, bytes); }
  const HttpOutput& response(std::string_view bytes, bool done = false) { return send(false, bytes, done); }

  // A UDP datagram of this flow.
  void datagram(bool to_server, std::string_view bytes) {
    udp_payload.assign(bytes);
    packet.data = reinterpret_cast<const uint8_t*>(udp_payload.data());
    packet.payload_offset = 0;
    packet.payload_len = static_cast<uint32_t>(udp_payload.size());
    packet.to_server = to_server;
    app->process(packet, nullptr);
  }

  AppProto proto() const { return static_cast<AppProto>(flow.app_proto); }
  const AppLayerCounters& counters() const { return app->counters(); }

  AppLayerSettings settings;
  std::unique_ptr<AppLayer> app;
  Flow flow;
  Packet packet;
  StreamUpdate update;
  std::string sent[2];
  std::string udp_payload;
};

inline std::string text(const HttpTransaction& tx, HttpBuffer b) { return std::string(tx.get(b).text()); }

// The output entry of a transaction side, or null.
inline const HttpTransaction* find_tx(const HttpOutput& out, uint64_t tx_id, bool request_side) {
  for (const HttpTransaction& tx : out.transactions()) {
    if (tx.tx_id == tx_id && tx.request_side == request_side) return &tx;
  }
  return nullptr;
}

}  // namespace eastwatch::test

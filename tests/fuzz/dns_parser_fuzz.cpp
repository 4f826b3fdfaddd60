// libFuzzer target: DNS through the app layer. Byte 0 picks the transport (bit 0: TCP, else
// UDP), the port (bit 1: 53, else 5353: strict detection) and a small TCP buffer (bit 2); then
// records of [direction + gap flag (1 byte); length (1 byte); bytes...], each a UDP datagram
// or a TCP segment of that direction. Also parses every record alone with parse_dns_message.
// Checks the output contract: every view of every transaction is readable (ASan), names are
// at most 255 bytes, counts within the bounds, tx ids increasing, and the pool is whole at the end.
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "sensor/applayer/app_layer.hpp"

namespace {

using namespace eastwatch;

void touch(ByteView v) {
  if (v.len == 0) return;
  if (v.data == nullptr) __builtin_trap();
  volatile uint8_t sink = v.data[0] ^ v.data[v.len - 1];
  (void)sink;
}

void check_output(const DnsOutput& out, uint64_t& next_tx) {
  if (out.transactions().size() > DnsOutput::kMaxTx) __builtin_trap();
  for (const DnsTransaction& tx : out.transactions()) {
    if (tx.tx_id < next_tx) __builtin_trap();
    next_tx = tx.tx_id + 1;
    if (tx.question_count > DnsTransaction::kMaxQuestions || tx.record_count > DnsTransaction::kMaxRecords) {
      __builtin_trap();
    }
    for (const DnsQuestion& q : tx.question_list()) {
      if (q.name.len > 255) __builtin_trap();
      touch(q.name);
    }
    for (const DnsRecord& r : tx.record_list()) {
      if (r.name.len > 255 || r.rdata.len > 255) __builtin_trap();
      touch(r.name);
      touch(r.rdata);
    }
    DnsEveData eve;
    dns_eve_fill(tx, eve);
    if (eve.text_used > DnsEveData::kTextBytes) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool tcp = data[0] & 1;
  AppLayerSettings settings;
  settings.memcap = 1 << 20;
  settings.tls.memcap = 1 << 20;
  settings.dns.global_memcap = 1 << 20;
  if (data[0] & 4) settings.dns.tcp_buffer_size = 512;
  static std::unique_ptr<AppLayer> app;  // constructing per input would dominate the run time
  static uint8_t last_settings = 0xff;
  if (!app || last_settings != (data[0] & 4)) {
    app = std::make_unique<AppLayer>(settings);
    last_settings = data[0] & 4;
  }
  static DnsOutput alone;
  DnsCounters alone_counters;
  Flow flow;
  flow.key.ip_proto = tcp ? 6 : 17;
  flow.key.server_port = (data[0] & 2) ? 53 : 5353;
  flow.in_use = true;
  Packet packet;
  packet.ip_version = 4;
  packet.ip_proto = flow.key.ip_proto;
  packet.has_transport = true;
  packet.flow = &flow;
  std::string sent[2];
  std::string datagram;
  StreamUpdate update;
  uint64_t next_tx = 0;
  size_t pos = 1;
  while (pos + 2 <= size) {
    const bool to_server = (data[pos] & 1) == 0;
    const bool gap = data[pos] & 2;
    const size_t len = std::min<size_t>(data[pos + 1], size - pos - 2);
    pos += 2;
    const std::span<const uint8_t> bytes(data + pos, len);
    pos += len;
    alone.reset();
    parse_dns_message(bytes, to_server, 0, alone, alone_counters);
    uint64_t alone_tx = 0;
    check_output(alone, alone_tx);
    packet.to_server = to_server;
    if (tcp) {
      std::string& s = sent[to_server ? 0 : 1];
      if (gap) s.append(7, '\0');  // bytes never delivered
      const uint64_t offset = s.size();
      s.append(reinterpret_cast<const char*>(bytes.data()), len);
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
      app->process(packet, &update);
    } else {
      datagram.assign(reinterpret_cast<const char*>(bytes.data()), len);
      packet.data = reinterpret_cast<const uint8_t*>(datagram.data());
      packet.payload_offset = 0;
      packet.payload_len = static_cast<uint32_t>(len);
      app->process(packet, nullptr);
    }
    check_output(app->dns_output(), next_tx);
  }
  app->release(flow);
  if (app->counters().dns.tcp_states_in_use != 0) __builtin_trap();
  return 0;
}

// libFuzzer target: a TCP conversation from the input through the flow table and the stream
// engine. Byte 0 picks the settings (midstream, async-oneside, a small depth, the overlap
// policy); then records of [direction, window-scale option, flags (6 bits); seq (2 bytes,
// relative); ack (2 bytes, relative); window (and scale); length; payload...]. Checks the
// output contract: spans in each direction continue where the previous ones ended unless
// marked as after a gap, and the look-back view ends where they end.
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "sensor/flow/flow_table.hpp"
#include "sensor/flow/host_os_policy.hpp"
#include "sensor/stream/tcp_stream_engine.hpp"

namespace {

using namespace eastwatch;

void check_update(const StreamUpdate& u, uint64_t& next_offset) {
  for (const StreamSpan& span : u.span_list()) {
    if (span.len == 0 || span.data == nullptr) __builtin_trap();
    if (!span.gap && span.offset != next_offset) __builtin_trap();
    if (span.gap && span.offset < next_offset) __builtin_trap();
    next_offset = span.offset + span.len;
    volatile uint8_t sink = span.data[0] ^ span.data[span.len - 1];  // ASan checks the span is readable
    (void)sink;
  }
  if (!u.window.empty() && u.window_offset + u.window.size() != next_offset) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  StreamSettings settings;
  settings.memcap = 1 << 20;
  settings.reassembly.memcap = 1 << 16;  // a small chunk pool, so exhaustion is reached
  settings.reassembly.queue_limit = 8 + (mode & 0x0f);
  settings.reassembly.inspect_window = 64;
  settings.midstream = mode & 0x10;
  settings.async_oneside = mode & 0x20;
  if (mode & 0x40) settings.reassembly.depth = 300;
  static constexpr OsPolicy kPolicies[] = {OsPolicy::Bsd,     OsPolicy::First,   OsPolicy::Last,   OsPolicy::Linux,
                                           OsPolicy::OldLinux, OsPolicy::Solaris, OsPolicy::Hpux11, OsPolicy::Windows,
                                           OsPolicy::Vista,   OsPolicy::Macos,   OsPolicy::Irix,   OsPolicy::Hpux10};
  const HostOsPolicyTable policies({}, kPolicies[(mode >> 4) % (sizeof kPolicies / sizeof kPolicies[0])]);
  FlowSettings flow_settings;
  flow_settings.memcap = 1 << 20;  // small tables: one conversation per input
  flow_settings.hash_size = 1024;
  FlowTable flows(flow_settings);
  TcpStreamEngine engine(settings, &policies);
  flows.set_end_callback([&engine](const Flow& flow, FlowEndReason) { engine.release(flow); });

  constexpr uint32_t kClientBase = 0xfffff000u;  // close to the wrap of the sequence space
  constexpr uint32_t kServerBase = 77777;
  uint64_t next_offset[2] = {0, 0};
  StreamUpdate update;
  size_t pos = 1;
  int64_t ts = 1'000'000;
  while (pos + 7 <= size) {
    const uint8_t control = data[pos];
    const bool to_server = !(control & 0x80);
    const uint32_t seq_delta = (uint32_t{data[pos + 1]} << 8) | data[pos + 2];
    const uint32_t ack_delta = (uint32_t{data[pos + 3]} << 8) | data[pos + 4];
    const uint16_t window = static_cast<uint16_t>(data[pos + 5] << 8);
    const uint8_t scale = data[pos + 5] & 0x0f;
    const uint32_t len = std::min<uint32_t>(data[pos + 6], static_cast<uint32_t>(size - pos - 7));
    pos += 7;
    // The frame: a 20-byte TCP header, an optional window-scale option, the payload; copied to
    // a buffer of exactly its size so that ASan catches any read past it.
    const bool wscale = control & 0x40;
    const uint32_t header = wscale ? 24 : 20;
    std::unique_ptr<uint8_t[]> frame(new uint8_t[header + len]);
    std::memset(frame.get(), 0, header);
    if (wscale) {
      frame[20] = 3;
      frame[21] = 3;
      frame[22] = scale;
      frame[23] = 1;
    }
    std::memcpy(frame.get() + header, data + pos, len);
    pos += len;
    Packet p;
    p.data = frame.get();
    p.caplen = p.wirelen = header + len;
    p.decoded = true;
    p.ip_version = 4;
    p.ip_proto = 6;
    p.has_transport = true;
    p.src = *IpAddress::parse(to_server ? "10.0.0.1" : "10.0.0.2");
    p.dst = *IpAddress::parse(to_server ? "10.0.0.2" : "10.0.0.1");
    p.src_port = to_server ? 40000 : 80;
    p.dst_port = to_server ? 80 : 40000;
    p.tcp_flags = control & 0x3f;
    p.tcp_seq = (to_server ? kClientBase : kServerBase) + seq_delta;
    p.tcp_ack = (to_server ? kServerBase : kClientBase) + ack_delta;
    p.tcp_window = window;
    p.l4_offset = 0;
    p.payload_offset = header;
    p.payload_len = len;
    p.ts_usec = ts += 1000;
    flows.process(p);
    engine.process(p, update);
    check_update(update, next_offset[to_server ? 0 : 1]);
    if (update.more && p.flow) {
      for (int i = 0; i < 64 && update.more; ++i) {
        engine.drain(*p.flow, to_server, update);
        check_update(update, next_offset[to_server ? 0 : 1]);
      }
    }
  }
  flows.flush();
  if (engine.counters().active_sessions != 0 || engine.counters().reassembly_memuse != 0) __builtin_trap();
  return 0;
}

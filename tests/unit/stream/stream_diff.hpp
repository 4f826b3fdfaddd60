// Differential test of the reassembler: a byte string decodes into one direction's segments
// (a handshake first, up to kDiffMaxSegments data segments or receiver ACKs, an optional FIN),
// which go through a real FlowTable and TcpStreamEngine, and through a reference model of the
// engine's documented semantics. Shared by tests/fuzz/stream_diff_fuzz.cpp and the fixed-seed
// unit test.
//
// The model: a byte delivered (contiguous from the stream start when its segment came) is
// final. A byte not yet delivered is queued by the first segment carrying it (its "owner",
// that segment's part after the delivered bytes); a later segment carrying it replaces it
// when the receiver's policy says so:
//   first: never; last: always;
//   bsd, windows: the new segment starts before the owner;
//   linux: it starts before the owner, or at the same place and ends after it.
// A receiver ACK past a hole makes the engine skip it (a gap): from the first gap on, the
// bytes are not comparable (the model knows no gaps), so only what came before is compared.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "sensor/flow/flow_table.hpp"
#include "sensor/flow/host_os_policy.hpp"
#include "sensor/stream/tcp_stream_engine.hpp"

namespace eastwatch::test {

inline constexpr size_t kDiffMaxSegments = 64;
inline constexpr uint32_t kDiffWindow = 3000;  // segment starts fall in [0, kDiffWindow)
inline constexpr OsPolicy kDiffPolicies[] = {OsPolicy::First, OsPolicy::Last, OsPolicy::Bsd, OsPolicy::Linux,
                                             OsPolicy::Windows};

struct DiffSegment {
  uint32_t offset = 0;  // relative to ISN + 1 (an ACK: the offset acknowledged)
  std::string bytes;
  bool ack = false;     // not data: the receiver acknowledges up to `offset`
};

struct DiffCase {
  OsPolicy policy = OsPolicy::First;
  bool to_server = true;  // the data direction
  bool fin = false;       // a FIN after the last segment, at the highest end seen
  uint32_t isn = 0;       // of the data sender
  std::vector<DiffSegment> segments;
};

// The same bytes at the same offset in different segments are equal when both use the pattern.
inline uint8_t diff_pattern(uint32_t offset) noexcept {
  return static_cast<uint8_t>('A' + (offset * 7 + offset / 26) % 26);
}

// Byte 0: policy (bits 0-2), direction (bit 3), FIN (bit 4), ISN near the 2^32 wrap (bit 5).
// Then 4-byte records: b0 = 0xff: a receiver ACK of offset (b1 << 8 | b2) % (kDiffWindow + 256);
// else b0 bit 7: start right after the previous segment (b1 % 16 - 8 from it),
// else bit 6: end where the previous one starts (reverse order), else ((b0 & 0x3f) << 8 | b1)
// mod kDiffWindow; b2: length (< 64: 0..7, < 192: itself, else 64 x (b2 - 192), past a chunk);
// b3: bit 7 the shared pattern (retransmissions of equal data), else data seeded by b3.
inline DiffCase decode_diff_case(const uint8_t* data, size_t size) {
  DiffCase c;
  if (size == 0) return c;
  c.policy = kDiffPolicies[(data[0] & 7) % (sizeof kDiffPolicies / sizeof kDiffPolicies[0])];
  c.to_server = !(data[0] & 8);
  c.fin = data[0] & 16;
  c.isn = (data[0] & 32) ? 0xfffff800u : 1000;
  uint32_t prev_offset = 0, prev_end = 0;
  for (size_t pos = 1; pos + 4 <= size && c.segments.size() < kDiffMaxSegments; pos += 4) {
    const uint8_t b0 = data[pos], b1 = data[pos + 1], b2 = data[pos + 2], b3 = data[pos + 3];
    if (b0 == 0xff) {
      DiffSegment& a = c.segments.emplace_back();
      a.ack = true;
      a.offset = (uint32_t{b1} << 8 | b2) % (kDiffWindow + 256);
      continue;
    }
    const uint32_t len = b2 < 64 ? b2 % 8 : b2 < 192 ? b2 : 64u * (b2 - 192);
    uint32_t offset = 0;
    if (b0 & 0x80) {
      const int64_t o = int64_t{prev_end} + (b1 % 16) - 8;
      offset = o < 0 ? 0 : static_cast<uint32_t>(o);
    } else if (b0 & 0x40) {
      offset = prev_offset >= len ? prev_offset - len : 0;
    } else {
      offset = ((uint32_t{b0} & 0x3f) << 8 | b1) % kDiffWindow;
    }
    DiffSegment& s = c.segments.emplace_back();
    s.offset = offset;
    s.bytes.resize(len);
    for (uint32_t i = 0; i < len; ++i) {
      s.bytes[i] = static_cast<char>((b3 & 0x80) ? diff_pattern(offset + i) : 'a' + (b3 * 5 + (offset + i) * 3) % 26);
    }
    prev_offset = offset;
    prev_end = offset + len;
  }
  return c;
}

// The bytes the engine must deliver: from the stream start up to the first byte never seen.
inline std::string diff_model(const DiffCase& c) {
  struct Byte {
    bool queued = false;
    uint32_t owner_start = 0, owner_end = 0;
    char value = 0;
  };
  std::vector<Byte> bytes;
  std::string delivered;
  for (const DiffSegment& s : c.segments) {
    const uint32_t end = s.offset + static_cast<uint32_t>(s.bytes.size());
    if (s.ack || end <= delivered.size()) continue;
    const uint32_t start = std::max<uint32_t>(s.offset, static_cast<uint32_t>(delivered.size()));  // trimmed
    if (bytes.size() < end) bytes.resize(end);
    for (uint32_t i = start; i < end; ++i) {
      Byte& b = bytes[i];
      const char value = s.bytes[i - s.offset];
      bool wins = !b.queued;
      if (b.queued) {
        switch (c.policy) {
          case OsPolicy::Last: wins = true; break;
          case OsPolicy::Bsd:
          case OsPolicy::Windows: wins = start < b.owner_start; break;
          case OsPolicy::Linux: wins = start < b.owner_start || (start == b.owner_start && end > b.owner_end); break;
          default: wins = false; break;
        }
      } else {
        b.queued = true;
        b.owner_start = start;
        b.owner_end = end;
      }
      if (wins) b.value = value;
    }
    while (delivered.size() < bytes.size() && bytes[delivered.size()].queued) {
      delivered.push_back(bytes[delivered.size()].value);
    }
  }
  return delivered;
}

struct DiffResult {
  std::string delivered;        // every delivered span, concatenated (drain included)
  bool contiguous = true;       // each span starts where the previous one ended
  bool cut = false;             // a gap or drop: only delivered[0, cut_at) is comparable
  uint64_t cut_at = 0;
  StreamCounters counters;
};

// Drives the case through a real FlowTable and TcpStreamEngine (nothing dropped for memory:
// a case's segments span at most kDiffWindow + 4032 bytes).
inline DiffResult diff_engine(const DiffCase& c) {
  StreamSettings settings;
  settings.memcap = 64 << 10;
  settings.reassembly.memcap = 512u << 10;  // ~250 chunks: the cases queue fewer (a drop cuts the compare)
  settings.reassembly.queue_limit = 4096;
  settings.reassembly.depth = 0;
  settings.reassembly.inspect_window = 256;
  const HostOsPolicyTable policies({}, c.policy);
  FlowSettings flow_settings;
  flow_settings.memcap = 1 << 20;
  flow_settings.hash_size = 64;
  flow_settings.prealloc = 4;
  FlowTable flows(flow_settings);
  TcpStreamEngine engine(settings, &policies);
  flows.set_end_callback([&engine](const Flow& flow, FlowEndReason) { engine.release(flow); });

  const uint32_t client_isn = c.to_server ? c.isn : 5000, server_isn = c.to_server ? 9000 : c.isn;
  DiffResult r;
  StreamUpdate update;
  int64_t ts = 1'000'000;
  std::vector<uint8_t> frame;
  const auto collect = [&](const StreamUpdate& u) {
    if (u.to_server != c.to_server) return;
    for (const StreamSpan& span : u.span_list()) {
      if (span.gap && !r.cut) {
        r.cut = true;
        r.cut_at = r.delivered.size();
      }
      if (span.offset != r.delivered.size() && !span.gap) r.contiguous = false;
      r.delivered.append(reinterpret_cast<const char*>(span.data), span.len);
    }
  };
  const auto send = [&](bool to_server, uint8_t flags, uint32_t seq, uint32_t ack, const std::string& payload) {
    frame.assign(20, 0);
    frame[12] = 5 << 4;
    frame.insert(frame.end(), payload.begin(), payload.end());
    Packet p;
    p.data = frame.data();
    p.caplen = p.wirelen = static_cast<uint32_t>(frame.size());
    p.decoded = true;
    p.ip_version = 4;
    p.ip_proto = 6;
    p.has_transport = true;
    p.src = *IpAddress::parse(to_server ? "10.0.0.1" : "10.0.0.2");
    p.dst = *IpAddress::parse(to_server ? "10.0.0.2" : "10.0.0.1");
    p.src_port = to_server ? 40000 : 80;
    p.dst_port = to_server ? 80 : 40000;
    p.tcp_flags = flags;
    p.tcp_seq = seq;
    p.tcp_ack = ack;
    p.tcp_window = 65535;
    p.l4_offset = 0;
    p.payload_offset = 20;
    p.payload_len = static_cast<uint32_t>(payload.size());
    p.ts_usec = ts += 1000;
    flows.process(p);
    const auto lost = [](const StreamCounters& k) {
      return k.segment_memcap_drop + k.queue_limit_drop + k.outside_window + k.reassembly_gap;
    };
    const uint64_t lost_before = lost(r.counters);
    const uint64_t delivered_before = r.delivered.size();
    engine.process(p, update);
    collect(update);
    for (int i = 0; i < 4096 && update.more && p.flow != nullptr; ++i) {
      engine.drain(*p.flow, to_server, update);
      collect(update);
    }
    r.counters = engine.counters();
    if (lost(r.counters) != lost_before && !r.cut) {  // a gap may be skipped with no span after it
      r.cut = true;
      r.cut_at = delivered_before;
    }
  };
  send(true, tcp_flag::Syn, client_isn, 0, "");
  send(false, tcp_flag::Syn | tcp_flag::Ack, server_isn, client_isn + 1, "");
  send(true, tcp_flag::Ack, client_isn + 1, server_isn + 1, "");
  const uint32_t base = c.isn + 1, peer_next = (c.to_server ? server_isn : client_isn) + 1;
  uint32_t max_end = 0;
  for (const DiffSegment& s : c.segments) {
    if (s.ack) {
      send(!c.to_server, tcp_flag::Ack, peer_next, base + s.offset, "");
      continue;
    }
    send(c.to_server, tcp_flag::Ack | tcp_flag::Psh, base + s.offset, peer_next, s.bytes);
    max_end = std::max<uint32_t>(max_end, s.offset + static_cast<uint32_t>(s.bytes.size()));
  }
  if (c.fin) send(c.to_server, tcp_flag::Ack | tcp_flag::Fin, base + max_end, peer_next, "");
  flows.flush();
  r.counters = engine.counters();
  return r;
}

// Whether the engine delivered what the model says (up to a reported gap or drop).
inline bool diff_agrees(const std::string& expected, const DiffResult& r) {
  if (!r.contiguous && !r.cut) return false;
  if (!r.cut) return r.delivered == expected;
  const size_t n = static_cast<size_t>(r.cut_at);
  return n <= expected.size() && n <= r.delivered.size() && r.delivered.compare(0, n, expected, 0, n) == 0;
}

}  // namespace eastwatch::test

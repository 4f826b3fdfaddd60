// libFuzzer target: a sequence of fragments through the defragmenter and the decoder. The input
// is a list of records; each one becomes an IPv4 or IPv6 fragment 1.1.1.1 -> 2.2.2.2 (ids,
// offsets, MF, lengths and payload from the input), decoded, then defragmented; a rebuilt datagram
// is decoded too. Small pools make reuse, eviction, max-frags and memcap paths reachable; the
// first byte picks the overlap policy. ASan catches any read or write outside the buffers.
//
// Record: [kind][id][offset_hi][offset_lo][length][time step] then `length` payload bytes.
//   kind bit 0: IPv6; bit 1: MF; bit 2: IPv6 with a destination-options header before the
//   fragment header; bits 3-4: protocol (ICMP, UDP, TCP, 255); bit 5: second VLAN id.
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "sensor/decode/decoder.hpp"
#include "sensor/defrag/defragmenter.hpp"

namespace {

using namespace eastwatch;

void put16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

std::vector<uint8_t> build(uint8_t kind, uint8_t id, uint16_t offset, const uint8_t* payload, size_t length) {
  static constexpr uint8_t kProtocols[] = {1, 17, 6, 255};
  const uint8_t proto = kProtocols[(kind >> 3) & 3];
  const bool more = kind & 2;
  std::vector<uint8_t> b;
  if (!(kind & 1)) {
    b = {0x45, 0};
    put16(b, static_cast<uint16_t>(20 + length));
    put16(b, id);
    put16(b, static_cast<uint16_t>((more ? 0x2000 : 0) | (offset & 0x1fff)));
    b.insert(b.end(), {64, proto, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2});
  } else {
    const bool unfragmentable = kind & 4;
    b = {0x60, 0, 0, 0};
    put16(b, static_cast<uint16_t>(8 + length + (unfragmentable ? 8 : 0)));
    b.push_back(unfragmentable ? 60 : 44);
    b.push_back(64);
    b.insert(b.end(), 16, 1);
    b.insert(b.end(), 16, 2);
    if (unfragmentable) b.insert(b.end(), {44, 0, 1, 4, 0, 0, 0, 0});
    b.insert(b.end(), {proto, 0});
    put16(b, static_cast<uint16_t>((offset << 3) | (more ? 1 : 0)));
    b.insert(b.end(), {0, 0, 0, id});
  }
  b.insert(b.end(), payload, payload + length);
  return b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static constexpr OsPolicy kPolicies[] = {OsPolicy::Bsd,     OsPolicy::BsdRight, OsPolicy::Linux, OsPolicy::Windows,
                                           OsPolicy::Solaris, OsPolicy::First,    OsPolicy::Last};
  DefragSettings settings;
  settings.memcap = 1 << 20;
  settings.hash_size = 16;
  settings.trackers = 4;
  settings.max_frags = 24;
  settings.timeout_seconds = 2;
  const std::vector<HostOsPolicyEntry> policy = {
      {kPolicies[data[0] % 7], AddressSet::from_ranges({*AddressSet::parse_cidr("0.0.0.0/0"),
                                                        *AddressSet::parse_cidr("::/0")})}};
  // A fresh defragmenter per input keeps runs independent.
  auto defrag = std::make_unique<Defragmenter>(settings, policy);
  DecodeStats stats;
  int64_t now = 1'000'000;
  size_t at = 1;
  while (at + 6 <= size) {  // bounded by the input
    const uint8_t kind = data[at], id = data[at + 1];
    const uint16_t offset = static_cast<uint16_t>((data[at + 2] << 8) | data[at + 3]);
    size_t length = data[at + 4] * 8u + (kind & 2 ? 0 : data[at + 5] % 8);
    now += (data[at + 5] >> 3) * 250'000;
    at += 6;
    length = std::min(length, size - at);
    std::vector<uint8_t> bytes = build(kind, id, offset, data + at, length);
    at += length;
    // Exactly the frame's size, so that any overread is caught.
    std::unique_ptr<uint8_t[]> frame(new uint8_t[bytes.size()]);
    std::memcpy(frame.get(), bytes.data(), bytes.size());
    Packet packet;
    packet.data = frame.get();
    packet.caplen = packet.wirelen = static_cast<uint32_t>(bytes.size());
    packet.link_type = (kind & 1) ? LinkType::Ipv6 : LinkType::Ipv4;
    packet.ts_usec = now;
    decode_packet(packet, stats);
    packet.vlan_id[1] = (kind & 0x20) ? 7 : 0;
    if (const Packet* rebuilt = defrag->process(packet, stats)) {
      if (rebuilt->caplen > Defragmenter::kMaxDatagram) __builtin_trap();
      Packet copy = *rebuilt;
      if (decode_packet(copy, stats) && copy.payload_offset + copy.payload_len > copy.caplen) __builtin_trap();
    }
    if (defrag->counters().memuse > settings.memcap) __builtin_trap();
    defrag->expire(now, 8);
  }
  return 0;
}

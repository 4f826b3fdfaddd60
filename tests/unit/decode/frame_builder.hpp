// Hand-built frames for decoder tests: each helper appends one header in network byte order.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "sensor/decode/decoder.hpp"

namespace eastwatch::test {

struct Frame {
  std::vector<uint8_t> bytes;

  Frame& u8(uint8_t v) { bytes.push_back(v); return *this; }
  Frame& u16(uint16_t v) { u8(static_cast<uint8_t>(v >> 8)); return u8(static_cast<uint8_t>(v)); }
  Frame& u32(uint32_t v) { u16(static_cast<uint16_t>(v >> 16)); return u16(static_cast<uint16_t>(v)); }
  Frame& raw(std::initializer_list<uint8_t> v) { bytes.insert(bytes.end(), v); return *this; }
  Frame& text(const std::string& s) { bytes.insert(bytes.end(), s.begin(), s.end()); return *this; }
  Frame& zeros(size_t n) { bytes.insert(bytes.end(), n, 0); return *this; }

  Frame& ethernet(uint16_t ether_type) {
    raw({0, 0x50, 0x56, 0, 0, 0x12, 0, 0x50, 0x56, 0, 0, 0x11});
    return u16(ether_type);
  }
  Frame& vlan(uint16_t id, uint16_t next) { u16(id); return u16(next); }
  // IPv4 header with a correct checksum; `total` is the IP total length.
  Frame& ipv4(uint8_t proto, uint16_t total, std::initializer_list<uint8_t> options = {}, uint16_t frag = 0) {
    return ipv4_between(proto, total, {10, 0, 0, 1}, {10, 0, 0, 2}, options, frag);
  }
  Frame& ipv4_between(uint8_t proto, uint16_t total, std::initializer_list<uint8_t> src,
                      std::initializer_list<uint8_t> dst, std::initializer_list<uint8_t> options = {},
                      uint16_t frag = 0) {
    const size_t start = bytes.size();
    const uint8_t ihl = static_cast<uint8_t>(5 + options.size() / 4);
    u8(static_cast<uint8_t>(0x40 | ihl)).u8(0).u16(total).u16(0x1234).u16(frag).u8(64).u8(proto).u16(0);
    raw(src).raw(dst);
    raw(options);
    uint32_t sum = 0;
    for (size_t i = start; i < bytes.size(); i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    const uint16_t checksum = static_cast<uint16_t>(~sum);
    bytes[start + 10] = static_cast<uint8_t>(checksum >> 8);
    bytes[start + 11] = static_cast<uint8_t>(checksum);
    return *this;
  }
  Frame& ipv6(uint8_t next, uint16_t payload_length) {
    u32(0x60000000).u16(payload_length).u8(next).u8(64);
    raw({0x20, 0x01, 0x0d, 0xb8}).zeros(11).u8(1);
    raw({0x20, 0x01, 0x0d, 0xb8}).zeros(11).u8(2);
    return *this;
  }
  Frame& tcp(uint16_t sport, uint16_t dport, uint8_t flags, uint8_t data_offset_words = 5) {
    u16(sport).u16(dport).u32(1000).u32(2000);
    u8(static_cast<uint8_t>(data_offset_words << 4)).u8(flags).u16(65535).u16(0).u16(0);
    return *this;
  }
  Frame& udp(uint16_t sport, uint16_t dport, uint16_t length) { return u16(sport).u16(dport).u16(length).u16(0); }
  Frame& icmp(uint8_t type, uint8_t code) { return u8(type).u8(code).u16(0).u32(0); }

  Frame& append(const Frame& inner) {
    bytes.insert(bytes.end(), inner.bytes.begin(), inner.bytes.end());
    return *this;
  }

  // --- mirror encapsulations (outer headers; the inner frame is appended after them) ---
  // GRE (RFC 2784/2890): flags and version word, protocol, then checksum+reserved, key and
  // sequence number when their flags (0x8000, 0x2000, 0x1000) are set.
  Frame& gre(uint16_t flags, uint16_t protocol, uint32_t key = 0, uint32_t sequence = 0) {
    u16(flags).u16(protocol);
    if (flags & 0xc000) u32(0);
    if (flags & 0x2000) u32(key);
    if (flags & 0x1000) u32(sequence);
    return *this;
  }
  // ERSPAN type II: version 1, VLAN, COS 0, En 0, T 0, session id, index.
  Frame& erspan2(uint16_t vlan, uint16_t session, uint32_t index = 0, uint8_t version = 1) {
    u16(static_cast<uint16_t>((version << 12) | (vlan & 0x0fff))).u16(session & 0x03ff);
    return u32(index & 0xfffff);
  }
  // ERSPAN type III: version 2, VLAN, session id, timestamp, SGT, frame type, O flag (with the
  // 8-byte platform-specific subheader when set).
  Frame& erspan3(uint16_t vlan, uint16_t session, uint8_t frame_type = 0, bool subheader = false,
                 uint8_t version = 2) {
    u16(static_cast<uint16_t>((version << 12) | (vlan & 0x0fff))).u16(session & 0x03ff);
    u32(0x01020304).u16(0x0abc);  // timestamp, SGT
    u16(static_cast<uint16_t>(((frame_type & 0x1f) << 10) | (subheader ? 1 : 0)));
    if (subheader) u32(0x11223344).u32(0x55667788);
    return *this;
  }
  Frame& vxlan(uint32_t vni, uint8_t flags = 0x08) { return u8(flags).zeros(3).u32(vni << 8); }
  // Geneve: version 0, `option_words` of zeroed options, protocol type, VNI.
  Frame& geneve(uint32_t vni, uint16_t protocol = 0x6558, uint8_t option_words = 0, uint8_t version = 0) {
    u8(static_cast<uint8_t>((version << 6) | (option_words & 0x3f))).u8(0).u16(protocol).u32(vni << 8);
    return zeros(size_t{option_words} * 4);
  }

  Packet packet(LinkType link = LinkType::Ethernet) const {
    Packet p;
    p.data = bytes.data();
    p.caplen = p.wirelen = static_cast<uint32_t>(bytes.size());
    p.link_type = link;
    return p;
  }
};

}  // namespace eastwatch::test

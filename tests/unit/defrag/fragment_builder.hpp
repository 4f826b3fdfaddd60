// Hand-built IPv4/IPv6 fragments for the defragmenter tests (raw IP link types), in the shape of
// Suricata's BuildIpv4TestPacket/BuildIpv6TestPacket: 1.1.1.1 -> 2.2.2.2 (IPv6: 2001:db8::1 ->
// 2001:db8::2), `offset` in 8-byte units.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "sensor/decode/decoder.hpp"

namespace eastwatch::test {

struct Fragments {
  std::deque<std::vector<uint8_t>> frames;  // stable addresses for the packets' data
  DecodeStats stats;
  int64_t ts_usec = 1'700'000'000'000'000;

  static void put16(std::vector<uint8_t>& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
  }

  Packet decode(std::vector<uint8_t> bytes, LinkType link) {
    frames.push_back(std::move(bytes));
    Packet p;
    p.data = frames.back().data();
    p.caplen = p.wirelen = static_cast<uint32_t>(frames.back().size());
    p.link_type = link;
    p.ts_usec = ts_usec;
    p.pcap_cnt = frames.size();
    decode_packet(p, stats);
    return p;
  }

  static std::vector<uint8_t> ipv4_bytes(uint8_t proto, uint16_t id, uint16_t offset, bool more,
                                         const std::vector<uint8_t>& payload, uint32_t dst = 0x02020202) {
    std::vector<uint8_t> b;
    b.push_back(0x45);
    b.push_back(0);
    put16(b, static_cast<uint16_t>(20 + payload.size()));
    put16(b, id);
    put16(b, static_cast<uint16_t>((more ? 0x2000 : 0) | offset));
    b.push_back(64);
    b.push_back(proto);
    put16(b, 0);
    for (int i = 0; i < 4; ++i) b.push_back(1);
    for (int i = 3; i >= 0; --i) b.push_back(static_cast<uint8_t>(dst >> (8 * i)));
    uint32_t sum = 0;
    for (size_t i = 0; i < 20; i += 2) sum += (b[i] << 8) | b[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    b[10] = static_cast<uint8_t>(~sum >> 8);
    b[11] = static_cast<uint8_t>(~sum);
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
  }

  Packet ipv4(uint8_t proto, uint16_t id, uint16_t offset, bool more, char content, size_t length) {
    return decode(ipv4_bytes(proto, id, offset, more, std::vector<uint8_t>(length, static_cast<uint8_t>(content))),
                  LinkType::Ipv4);
  }

  // `unfragmentable`: a destination-options header before the fragment header.
  static std::vector<uint8_t> ipv6_bytes(uint8_t proto, uint32_t id, uint16_t offset, bool more,
                                         const std::vector<uint8_t>& payload, bool unfragmentable = false) {
    std::vector<uint8_t> b = {0x60, 0, 0, 0};
    put16(b, static_cast<uint16_t>(8 + payload.size() + (unfragmentable ? 8 : 0)));
    b.push_back(unfragmentable ? 60 : 44);
    b.push_back(64);
    for (int a = 1; a <= 2; ++a) {
      const uint8_t address[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, static_cast<uint8_t>(a)};
      b.insert(b.end(), address, address + 16);
    }
    if (unfragmentable) b.insert(b.end(), {44, 0, 1, 4, 0, 0, 0, 0});  // PadN
    b.push_back(proto);
    b.push_back(0);
    put16(b, static_cast<uint16_t>((offset << 3) | (more ? 1 : 0)));
    put16(b, static_cast<uint16_t>(id >> 16));
    put16(b, static_cast<uint16_t>(id));
    b.insert(b.end(), payload.begin(), payload.end());
    return b;
  }

  Packet ipv6(uint8_t proto, uint32_t id, uint16_t offset, bool more, char content, size_t length) {
    return decode(ipv6_bytes(proto, id, offset, more, std::vector<uint8_t>(length, static_cast<uint8_t>(content))),
                  LinkType::Ipv6);
  }
};

}  // namespace eastwatch::test

// ARP over Ethernet/IPv4. Decoded and counted; later issues inspect it for spoofing.
#include "sensor/decode/detail/layers.hpp"

namespace eastwatch::detail {

bool decode_arp(Packet& p, DecodeStats& s, uint32_t offset) noexcept {
  ++s.arp;
  if (p.caplen < offset + 8) {
    ++s.event.arp_pkt_too_small;
    return false;
  }
  const uint8_t* h = p.data + offset;
  const uint16_t hardware = load_be16(h);
  const uint16_t protocol = load_be16(h + 2);
  const uint8_t hardware_size = h[4];
  const uint8_t protocol_size = h[5];
  const uint16_t opcode = load_be16(h + 6);
  p.l3_offset = offset;
  if (hardware != 1) {
    ++s.event.arp_unsupported_hardware;
    return true;
  }
  if (protocol != 0x0800) {
    ++s.event.arp_unsupported_protocol;
    return true;
  }
  if (hardware_size != 6) {
    ++s.event.arp_invalid_hardware_size;
    return false;
  }
  if (protocol_size != 4) {
    ++s.event.arp_invalid_protocol_size;
    return false;
  }
  if (p.caplen < offset + 28) {
    ++s.event.arp_pkt_too_small;
    return false;
  }
  if (opcode != 1 && opcode != 2) ++s.event.arp_unsupported_opcode;
  return true;
}

}  // namespace eastwatch::detail

// ARP over Ethernet/IPv4. Decoded and counted; later issues inspect it for spoofing.
#include "sensor/decode/detail/layers.hpp"

namespace eastwatch::detail {

bool decode_arp(Packet& p, DecodeStats& s, uint32_t offset) noexcept {
  ++s.arp;
  if (p.caplen < offset + 8) {
    raise_event(p, s.event.arp_pkt_too_small, DecodeEvent::ArpPktTooSmall);
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
    raise_event(p, s.event.arp_unsupported_hardware, DecodeEvent::ArpUnsupportedHardware);
    return true;
  }
  if (protocol != 0x0800) {
    raise_event(p, s.event.arp_unsupported_protocol, DecodeEvent::ArpUnsupportedProtocol);
    return true;
  }
  if (hardware_size != 6) {
    raise_event(p, s.event.arp_invalid_hardware_size, DecodeEvent::ArpInvalidHardwareSize);
    return false;
  }
  if (protocol_size != 4) {
    raise_event(p, s.event.arp_invalid_protocol_size, DecodeEvent::ArpInvalidProtocolSize);
    return false;
  }
  if (p.caplen < offset + 28) {
    raise_event(p, s.event.arp_pkt_too_small, DecodeEvent::ArpPktTooSmall);
    return false;
  }
  if (opcode != 1 && opcode != 2) raise_event(p, s.event.arp_unsupported_opcode, DecodeEvent::ArpUnsupportedOpcode);
  return true;
}

}  // namespace eastwatch::detail

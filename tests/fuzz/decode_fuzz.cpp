// libFuzzer target: the whole decoder chain on untrusted bytes. The first byte picks the link
// type, the rest is the frame. ASan catches any read outside the frame.
#include <cstdint>
#include <cstring>
#include <memory>

#include "sensor/decode/decoder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eastwatch;
  if (size < 1) return 0;
  static constexpr LinkType kLinks[] = {LinkType::Ethernet, LinkType::Raw, LinkType::LinuxSll,
                                        LinkType::Null, LinkType::Ipv4, LinkType::Ipv6};
  // Copy into a buffer of exactly the frame's size so that any overread is caught.
  const size_t length = size - 1;
  std::unique_ptr<uint8_t[]> frame(new uint8_t[length ? length : 1]);
  if (length) std::memcpy(frame.get(), data + 1, length);
  Packet packet;
  packet.data = frame.get();
  packet.caplen = static_cast<uint32_t>(length);
  packet.wirelen = (data[0] & 0x80) ? static_cast<uint32_t>(length) + 100 : static_cast<uint32_t>(length);
  packet.link_type = kLinks[(data[0] & 0x7f) % (sizeof kLinks / sizeof kLinks[0])];
  DecodeStats stats;
  if (decode_packet(packet, stats)) {
    // Offsets the later stages rely on must stay inside the frame.
    if (packet.payload_offset + packet.payload_len > packet.caplen) __builtin_trap();
  }
  return 0;
}

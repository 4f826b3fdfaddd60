#include "sensor/decode/packet.hpp"

namespace eastwatch {

void Packet::reset_decode() noexcept {
  const uint8_t* frame_data = data;
  const uint32_t frame_caplen = caplen;
  const uint32_t frame_wirelen = wirelen;
  const int64_t frame_ts = ts_usec;
  const uint64_t frame_cnt = pcap_cnt;
  const LinkType frame_link = link_type;
  *this = Packet{};
  data = frame_data;
  caplen = frame_caplen;
  wirelen = frame_wirelen;
  ts_usec = frame_ts;
  pcap_cnt = frame_cnt;
  link_type = frame_link;
}

}  // namespace eastwatch

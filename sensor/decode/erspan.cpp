// ERSPAN after GRE (draft-foschiano-erspan): type I (no header; Suricata's "typeI", off by
// default), type II (8 bytes, version 1: VLAN, COS, session id, index) and type III (12 bytes,
// version 2: VLAN, COS, session id, timestamp, SGT, P/FT/HW/D/Gra/O, and with O set the 8-byte
// platform-specific subheader). The mirrored frame follows; a type III frame type (FT) other
// than Ethernet is counted (decoder.mirror.erspan3_not_ethernet) and not decoded.
#include "sensor/decode/detail/layers.hpp"

namespace eastwatch::detail {

namespace {
constexpr uint32_t kType2Header = 8;
constexpr uint32_t kType3Header = 12;
constexpr uint32_t kType3PlatformSubheader = 8;
constexpr uint8_t kType2Version = 1;
constexpr uint8_t kType3Version = 2;
}  // namespace

bool decode_erspan(Packet& p, DecodeStats& s, int type, uint32_t offset, uint32_t end, Scope scope) noexcept {
  ++s.erspan;
  MirrorInfo mirror;
  mirror.sensor_src = p.src;
  uint32_t inner = offset;
  if (type == 1) {
    mirror.encap = MirrorEncap::Erspan1;
  } else {
    const uint32_t header = type == 2 ? kType2Header : kType3Header;
    if (offset + header > end) {
      raise_event(p, s.event.erspan_header_too_small, DecodeEvent::ErspanHeaderTooSmall);
      return false;
    }
    const uint8_t* h = p.data + offset;
    const uint8_t version = h[0] >> 4;
    if (version != (type == 2 ? kType2Version : kType3Version)) {
      raise_event(p, s.event.erspan_unsupported_version, DecodeEvent::ErspanUnsupportedVersion);
      return false;
    }
    mirror.encap = type == 2 ? MirrorEncap::Erspan2 : MirrorEncap::Erspan3;
    mirror.vlan = load_be16(h) & 0x0fff;
    mirror.session_id = load_be16(h + 2) & 0x03ff;
    inner = offset + header;
    if (type == 3) {
      const uint16_t bits = load_be16(h + 10);  // P(1) FT(5) HW(6) D(1) Gra(2) O(1)
      const uint8_t frame_type = (bits >> 10) & 0x1f;
      if (bits & 0x0001) {
        if (inner + kType3PlatformSubheader > end) {
          raise_event(p, s.event.erspan_header_too_small, DecodeEvent::ErspanHeaderTooSmall);
          return false;
        }
        inner += kType3PlatformSubheader;
      }
      if (frame_type != 0) {  // 2 is IP: seen nowhere in practice; not decoded
        ++s.mirror.erspan3_not_ethernet;
        p.payload_offset = inner;
        p.payload_len = end - inner;
        return true;
      }
    }
  }
  if (!enter_mirror(p, s, mirror, scope)) return false;
  return decode_ethernet(p, s, inner, scope);
}

}  // namespace eastwatch::detail

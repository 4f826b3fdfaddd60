#include "sensor/output/community_id.hpp"

#include <cstring>

#include "signatures/digest.hpp"

namespace eastwatch {

namespace {

// The counterpart of an ICMP type that has one (the message is then two-way), else -1.
int icmp_counterpart(uint8_t proto, uint16_t type) noexcept {
  if (proto == 1) {
    switch (type) {
      case 8: return 0;   case 0: return 8;    // echo
      case 13: return 14; case 14: return 13;  // timestamp
      case 15: return 16; case 16: return 15;  // information
      case 10: return 9;  case 9: return 10;   // router solicitation / advertisement
      case 17: return 18; case 18: return 17;  // address mask
      default: return -1;
    }
  }
  switch (type) {
    case 128: return 129; case 129: return 128;  // echo
    case 133: return 134; case 134: return 133;  // router solicitation / advertisement
    case 135: return 136; case 136: return 135;  // neighbor solicitation / advertisement
    case 130: return 131; case 131: return 130;  // multicast listener query / report
    case 144: return 145; case 145: return 144;  // home agent address discovery
    default: return -1;
  }
}

void put16(uint8_t*& p, uint16_t v) noexcept {
  *p++ = static_cast<uint8_t>(v >> 8);
  *p++ = static_cast<uint8_t>(v);
}

}  // namespace

size_t community_id(uint16_t seed, const IpAddress& src, const IpAddress& dst, uint8_t proto, uint16_t src_port,
                    uint16_t dst_port, char* out) noexcept {
  const bool has_ports = proto == 6 || proto == 17 || proto == 132 || proto == 1 || proto == 58;
  bool one_way = false;
  if (proto == 1 || proto == 58) {
    const int counterpart = icmp_counterpart(proto, src_port);
    if (counterpart >= 0) {
      dst_port = static_cast<uint16_t>(counterpart);
    } else {
      one_way = true;  // type and code as they are
    }
  }
  const bool v4 = src.is_v4() && dst.is_v4();
  const size_t length = v4 ? 4 : 16;
  const uint8_t* a = src.bytes.data() + (v4 ? 12 : 0);
  const uint8_t* b = dst.bytes.data() + (v4 ? 12 : 0);
  const int order = std::memcmp(a, b, length);
  if (!one_way && (order > 0 || (order == 0 && src_port > dst_port))) {
    std::swap(a, b);
    std::swap(src_port, dst_port);
  }
  uint8_t input[2 + 16 + 16 + 2 + 4];
  uint8_t* p = input;
  put16(p, seed);
  std::memcpy(p, a, length);
  p += length;
  std::memcpy(p, b, length);
  p += length;
  *p++ = proto;
  *p++ = 0;
  if (has_ports) {
    put16(p, src_port);
    put16(p, dst_port);
  }
  const Sha1Digest hash = sha1({input, static_cast<size_t>(p - input)});
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t n = 0;
  out[n++] = '1';
  out[n++] = ':';
  for (size_t i = 0; i < hash.size(); i += 3) {  // 20 bytes: six full groups and one of two
    const uint32_t chunk = (uint32_t{hash[i]} << 16) | (i + 1 < hash.size() ? uint32_t{hash[i + 1]} << 8 : 0) |
                           (i + 2 < hash.size() ? hash[i + 2] : 0);
    out[n++] = kAlphabet[(chunk >> 18) & 63];
    out[n++] = kAlphabet[(chunk >> 12) & 63];
    out[n++] = i + 1 < hash.size() ? kAlphabet[(chunk >> 6) & 63] : '=';
    out[n++] = i + 2 < hash.size() ? kAlphabet[chunk & 63] : '=';
  }
  return n;
}

}  // namespace eastwatch

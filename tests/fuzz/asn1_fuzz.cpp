// libFuzzer target: the asn1 keyword's BER decoder on arbitrary bytes. Input: one option byte
// (which checks, relative or absolute, an offset), the oversize length (2 bytes), then the
// payload. Checks bounds (ASan) and that decoding never depends on bytes past the payload.
#include <cstdint>
#include <cstring>
#include <memory>

#include "sensor/detect/asn1.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eastwatch;
  if (size < 3) return 0;
  Asn1Option option;
  option.bitstring_overflow = (data[0] & 1) != 0;
  option.double_overflow = (data[0] & 2) != 0;
  option.oversize = (data[0] & 4) != 0;
  option.relative = (data[0] & 8) != 0;
  option.offset = static_cast<int32_t>(data[0] >> 4) - (option.relative ? 8 : 0);
  option.oversize_length = static_cast<uint32_t>(data[1]) << 8 | data[2];
  const size_t length = size - 3;
  // An exact-size copy, so ASan sees any read past the payload.
  std::unique_ptr<uint8_t[]> payload(new uint8_t[length ? length : 1]);
  if (length) std::memcpy(payload.get(), data + 3, length);
  const std::span<const uint8_t> bytes(payload.get(), length);
  const bool whole = asn1_decode_matches(option, bytes);
  const bool keyword = asn1_matches(option, bytes, static_cast<int64_t>(length / 2));
  // From offset 0 the keyword is the decoder on the whole payload.
  if (!option.relative && option.offset == 0 && length > 0 && keyword != whole) __builtin_trap();
  return 0;
}

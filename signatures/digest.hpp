// MD5, SHA-1 and SHA-256 of a byte span into fixed arrays, for the to_md5/to_sha1/to_sha256
// transforms, JA3/JA3S hashes and certificate fingerprints. OpenSSL's digest contexts on the
// stack: no allocation, usable on the packet path.
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace eastwatch {

using Md5Digest = std::array<uint8_t, 16>;
using Sha1Digest = std::array<uint8_t, 20>;
using Sha256Digest = std::array<uint8_t, 32>;

Md5Digest md5(std::span<const uint8_t> data) noexcept;
Sha1Digest sha1(std::span<const uint8_t> data) noexcept;
Sha256Digest sha256(std::span<const uint8_t> data) noexcept;

// Lower-case hex of `digest` into `out` (2 x digest.size() bytes); `separator` (e.g. ':')
// between bytes when not 0, then 3 x size - 1 bytes. Returns the bytes written.
size_t to_hex(std::span<const uint8_t> digest, char* out, char separator = 0, bool upper = false) noexcept;

}  // namespace eastwatch

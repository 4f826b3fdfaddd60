#include "signatures/digest.hpp"

// OpenSSL 3 deprecates the low-level digest API for the EVP one, whose one-shot functions
// allocate a context per call; these work on a context on the stack and allocate nothing.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/md5.h>
#include <openssl/sha.h>

namespace eastwatch {

Md5Digest md5(std::span<const uint8_t> data) noexcept {
  Md5Digest out{};
  MD5_CTX context;
  MD5_Init(&context);
  MD5_Update(&context, data.data(), data.size());
  MD5_Final(out.data(), &context);
  return out;
}

Sha1Digest sha1(std::span<const uint8_t> data) noexcept {
  Sha1Digest out{};
  SHA_CTX context;
  SHA1_Init(&context);
  SHA1_Update(&context, data.data(), data.size());
  SHA1_Final(out.data(), &context);
  return out;
}

Sha256Digest sha256(std::span<const uint8_t> data) noexcept {
  Sha256Digest out{};
  SHA256_CTX context;
  SHA256_Init(&context);
  SHA256_Update(&context, data.data(), data.size());
  SHA256_Final(out.data(), &context);
  return out;
}

size_t to_hex(std::span<const uint8_t> digest, char* out, char separator, bool upper) noexcept {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  size_t n = 0;
  for (size_t i = 0; i < digest.size(); ++i) {
    if (separator != 0 && i != 0) out[n++] = separator;
    out[n++] = digits[digest[i] >> 4];
    out[n++] = digits[digest[i] & 0x0f];
  }
  return n;
}

}  // namespace eastwatch

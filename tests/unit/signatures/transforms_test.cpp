// Transforms, byte for byte: golden values reasoned from Suricata's detect-transform-*.c (and
// its own unit tests), the digests from their published test vectors.
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "signatures/transforms.hpp"

using namespace eastwatch;

namespace {

std::string hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (const uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0x0f];
  }
  return out;
}

Transform make(Transform::Kind kind, std::string key = {}) {
  Transform transform;
  transform.kind = kind;
  transform.key = std::move(key);
  return transform;
}

struct Applied {
  std::string data;
  bool truncated = false;
};

Applied apply(std::initializer_list<Transform> transforms, std::string_view input) {
  static auto scratch = std::make_unique<TransformScratch>();
  const std::vector<Transform> list(transforms);
  const auto out = apply_transforms(list, {reinterpret_cast<const uint8_t*>(input.data()), input.size()}, *scratch);
  return {std::string(reinterpret_cast<const char*>(out.data.data()), out.data.size()), out.truncated};
}

std::string apply_one(Transform::Kind kind, std::string_view input) { return apply({make(kind)}, input).data; }

}  // namespace

TEST_CASE("no transforms: the input itself") {
  CHECK(apply({}, "AbC").data == "AbC");
}

TEST_CASE("dotprefix prepends a dot, an empty buffer stays empty") {
  CHECK(apply_one(Transform::Kind::Dotprefix, "example.com") == ".example.com");
  CHECK(apply_one(Transform::Kind::Dotprefix, "") == "");
}

TEST_CASE("strip_whitespace and compress_whitespace (C isspace: space, tab, newline, vertical tab, form feed, carriage return)") {
  CHECK(apply_one(Transform::Kind::StripWhitespace, " A\tB\r\nC\v\f ") == "ABC");
  // The first byte of a run is kept as it is, not replaced by a space.
  CHECK(apply_one(Transform::Kind::CompressWhitespace, "a\t  b  \r\nc") == "a\tb c");
  CHECK(apply_one(Transform::Kind::CompressWhitespace, " A B C D ") == " A B C D ");
  CHECK(apply_one(Transform::Kind::CompressWhitespace, "x\xa0\xa0y") == "x\xa0\xa0y");  // not ASCII whitespace
}

TEST_CASE("to_lowercase and to_uppercase change ASCII letters only") {
  CHECK(apply_one(Transform::Kind::ToLowercase, "AbC-1\xc4") == "abc-1\xc4");
  CHECK(apply_one(Transform::Kind::ToUppercase, "AbC-1z\xe4") == "ABC-1Z\xe4");
}

TEST_CASE("url_decode: %HH and +, bad and trailing % kept") {
  CHECK(apply_one(Transform::Kind::UrlDecode, "%41%2x+") == "A%2x ");
  // Suricata's DetectTransformUrlDecodeTest01: decoded once, %ZZ and the trailing %4 left.
  CHECK(apply_one(Transform::Kind::UrlDecode, "Suricata%20is+%27%61wesome%21%27%25%30%30%ZZ%4") ==
        "Suricata is 'awesome!'%00%ZZ%4");
  CHECK(apply_one(Transform::Kind::UrlDecode, "%7e%7E%") == "~~%");
  // i + 2 < length: a %HH that ends the buffer is decoded, a %H is not.
  CHECK(apply_one(Transform::Kind::UrlDecode, "%41") == "A");
  CHECK(apply_one(Transform::Kind::UrlDecode, "%4") == "%4");
}

TEST_CASE("to_md5, to_sha1, to_sha256: the raw digest bytes") {
  const auto md5 = apply({make(Transform::Kind::ToMd5)}, "abc").data;
  CHECK(hex({reinterpret_cast<const uint8_t*>(md5.data()), md5.size()}) == "900150983cd24fb0d6963f7d28e17f72");
  const auto sha1 = apply({make(Transform::Kind::ToSha1)}, "abc").data;
  CHECK(hex({reinterpret_cast<const uint8_t*>(sha1.data()), sha1.size()}) == "a9993e364706816aba3e25717850c26c9cd0d89d");
  const auto sha256 = apply({make(Transform::Kind::ToSha256)}, "abc").data;
  CHECK(hex({reinterpret_cast<const uint8_t*>(sha256.data()), sha256.size()}) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // An empty buffer has a digest too.
  const auto empty = apply({make(Transform::Kind::ToMd5)}, "").data;
  CHECK(hex({reinterpret_cast<const uint8_t*>(empty.data()), empty.size()}) == "d41d8cd98f00b204e9800998ecf8427e");
}

TEST_CASE("transforms chain in rule order") {
  const auto hashed = apply({make(Transform::Kind::ToLowercase), make(Transform::Kind::ToSha256)}, "ABC").data;
  CHECK(hex({reinterpret_cast<const uint8_t*>(hashed.data()), hashed.size()}) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(apply({make(Transform::Kind::StripWhitespace), make(Transform::Kind::Dotprefix),
               make(Transform::Kind::ToUppercase)},
              "ex ample.com")
            .data == ".EXAMPLE.COM");
}

TEST_CASE("header_lowercase: names only, strip_pseudo_headers: lines starting with ':'") {
  CHECK(apply_one(Transform::Kind::HeaderLowercase, "Host: ExAmple\r\nUser-Agent: X:Y\r\nACCEPT") ==
        "host: ExAmple\r\nuser-agent: X:Y\r\naccept");
  CHECK(apply_one(Transform::Kind::StripPseudoHeaders, ":method: GET\r\nHost: x\r\n:path: /\r\nA: b\r\n") ==
        "Host: x\r\nA: b\r\n");
  CHECK(apply_one(Transform::Kind::StripPseudoHeaders, "\r\n:a: 1\nB: 2") == "\r\nB: 2");
}

TEST_CASE("xor with a repeating key") {
  const std::string key("\x0d\x0a", 2);
  CHECK(apply({make(Transform::Kind::Xor, key)}, std::string("\x0d\x0a\x0c\x0b\x00", 5)).data ==
        std::string("\x00\x00\x01\x01\x0d", 5));
}

TEST_CASE("output past the scratch capacity is cut and reported") {
  const std::string big(TransformScratch::kCapacity, 'a');
  const auto out = apply({make(Transform::Kind::Dotprefix)}, big);
  CHECK(out.truncated);
  CHECK(out.data.size() == TransformScratch::kCapacity);
  CHECK(out.data.front() == '.');
  const auto fits = apply({make(Transform::Kind::ToUppercase)}, big);
  CHECK_FALSE(fits.truncated);
  CHECK(fits.data == std::string(TransformScratch::kCapacity, 'A'));
}

TEST_CASE("names and the content check against a transform") {
  CHECK(transform_from_name("to_sha256") == Transform::Kind::ToSha256);
  CHECK(transform_name(Transform::Kind::StripPseudoHeaders) == "strip_pseudo_headers");
  CHECK_FALSE(transform_from_name("to_sha512"));
  CHECK(transform_accepts_content(Transform::Kind::ToLowercase, "abc/1"));
  CHECK_FALSE(transform_accepts_content(Transform::Kind::ToLowercase, "aBc"));
  CHECK_FALSE(transform_accepts_content(Transform::Kind::ToUppercase, "ABc"));
  CHECK_FALSE(transform_accepts_content(Transform::Kind::StripWhitespace, "a b"));
  CHECK(transform_accepts_content(Transform::Kind::CompressWhitespace, "a b c"));
  CHECK_FALSE(transform_accepts_content(Transform::Kind::CompressWhitespace, "a \tb"));
  CHECK(transform_accepts_content(Transform::Kind::ToSha256, "anything"));
}

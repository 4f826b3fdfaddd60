#include "sensor/applayer/tls_x509.hpp"

#include <cstring>

namespace eastwatch {

namespace {

constexpr uint8_t kSequence = 0x30, kSet = 0x31, kInteger = 0x02, kOid = 0x06, kUtcTime = 0x17,
                  kGeneralizedTime = 0x18, kContext0 = 0xa0;

struct Tlv {
  uint8_t tag = 0;
  std::span<const uint8_t> value;
};

// One TLV at the front of `in` (low-tag-number form, definite length up to 4 bytes); advances
// `in` past it. False when it does not fit.
bool next_tlv(std::span<const uint8_t>& in, Tlv& out) noexcept {
  if (in.size() < 2) return false;
  const uint8_t tag = in[0];
  if ((tag & 0x1f) == 0x1f) return false;
  size_t pos = 2;
  uint64_t len = in[1];
  if (len & 0x80) {
    const uint32_t n = len & 0x7f;
    if (n == 0 || n > 4 || in.size() < 2 + n) return false;
    len = 0;
    for (uint32_t i = 0; i < n; ++i) len = (len << 8) | in[2 + i];
    pos += n;
  }
  if (len > in.size() - pos) return false;
  out.tag = tag;
  out.value = in.subspan(pos, static_cast<size_t>(len));
  in = in.subspan(pos + static_cast<size_t>(len));
  return true;
}

bool expect(std::span<const uint8_t>& in, uint8_t tag, std::span<const uint8_t>& value) noexcept {
  Tlv t;
  if (!next_tlv(in, t) || t.tag != tag) return false;
  value = t.value;
  return true;
}

int64_t days_from_civil(int64_t y, uint32_t m, uint32_t d) noexcept {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const uint32_t yoe = static_cast<uint32_t>(y - era * 400);
  const uint32_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const uint32_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool digits(std::span<const uint8_t> s, size_t at, size_t n, uint32_t& out) noexcept {
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t c = s[at + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

// UTCTime YYMMDDHHMM[SS]Z (YY < 50: 20YY) or GeneralizedTime YYYYMMDDHHMM[SS][.f]Z.
bool parse_time(const Tlv& t, int64_t& out) noexcept {
  const auto s = t.value;
  size_t at = 0;
  uint32_t year = 0;
  if (t.tag == kUtcTime) {
    if (s.size() < 11 || !digits(s, 0, 2, year)) return false;
    year += year < 50 ? 2000 : 1900;
    at = 2;
  } else if (t.tag == kGeneralizedTime) {
    if (s.size() < 13 || !digits(s, 0, 4, year)) return false;
    at = 4;
  } else {
    return false;
  }
  uint32_t mon = 0, day = 0, hour = 0, min = 0, sec = 0;
  if (!digits(s, at, 2, mon) || !digits(s, at + 2, 2, day) || !digits(s, at + 4, 2, hour) ||
      !digits(s, at + 6, 2, min)) {
    return false;
  }
  at += 8;
  if (s.size() >= at + 2 && s[at] >= '0' && s[at] <= '9') {
    if (!digits(s, at, 2, sec)) return false;
  }
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) return false;
  out = days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec;
  return true;
}

struct Writer {
  char* out;
  size_t cap;
  size_t len = 0;
  void put(char c) noexcept {
    if (len < cap) out[len++] = c;
  }
  void put(const char* s, size_t n) noexcept {
    for (size_t i = 0; i < n; ++i) put(s[i]);
  }
  void put(const char* s) noexcept { put(s, std::strlen(s)); }
  void put_uint(uint64_t v) noexcept {
    char digits[24];
    size_t n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (n > 0) put(digits[--n]);
  }
};

struct ShortName {
  const char* oid;  // DER content bytes
  uint8_t len;
  const char* name;
};

// The attribute types x509-parser abbreviates (and the OID registry's short names).
constexpr ShortName kShortNames[] = {
    {"\x55\x04\x03", 3, "CN"},
    {"\x55\x04\x06", 3, "C"},
    {"\x55\x04\x07", 3, "L"},
    {"\x55\x04\x08", 3, "ST"},
    {"\x55\x04\x0a", 3, "O"},
    {"\x55\x04\x0b", 3, "OU"},
    {"\x55\x04\x05", 3, "serialNumber"},
    {"\x55\x04\x04", 3, "surname"},
    {"\x55\x04\x2a", 3, "givenName"},
    {"\x55\x04\x0c", 3, "title"},
    {"\x55\x04\x09", 3, "street"},
    {"\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x19", 10, "DC"},
    {"\x2a\x86\x48\x86\xf7\x0d\x01\x09\x01", 9, "Email"},
};

void write_oid(Writer& w, std::span<const uint8_t> oid) noexcept {
  for (const ShortName& s : kShortNames) {
    if (oid.size() == s.len && std::memcmp(oid.data(), s.oid, s.len) == 0) {
      w.put(s.name);
      return;
    }
  }
  if (oid.empty()) return;
  w.put_uint(oid[0] / 40);
  w.put('.');
  w.put_uint(oid[0] % 40);
  uint64_t v = 0;
  for (size_t i = 1; i < oid.size(); ++i) {
    v = (v << 7) | (oid[i] & 0x7f);
    if ((oid[i] & 0x80) == 0) {
      w.put('.');
      w.put_uint(v);
      v = 0;
    } else if (v > (uint64_t{1} << 56)) {
      return;  // an arc too large to print: stop
    }
  }
}

void write_utf8(Writer& w, uint32_t c) noexcept {
  if (c < 0x80) {
    w.put(static_cast<char>(c));
  } else if (c < 0x800) {
    w.put(static_cast<char>(0xc0 | (c >> 6)));
    w.put(static_cast<char>(0x80 | (c & 0x3f)));
  } else {
    w.put(static_cast<char>(0xe0 | (c >> 12)));
    w.put(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
    w.put(static_cast<char>(0x80 | (c & 0x3f)));
  }
}

void write_value(Writer& w, const Tlv& v) noexcept {
  switch (v.tag) {
    case 0x1e:  // BMPString: UCS-2 big endian
      for (size_t i = 0; i + 1 < v.value.size(); i += 2) write_utf8(w, (uint32_t{v.value[i]} << 8) | v.value[i + 1]);
      return;
    case 0x0c: case 0x12: case 0x13: case 0x14: case 0x16: case 0x1a: case 0x1c:
      w.put(reinterpret_cast<const char*>(v.value.data()), v.value.size());
      return;
    default: {  // not a string: its bytes in hex
      static constexpr char kHex[] = "0123456789abcdef";
      for (uint8_t b : v.value) {
        w.put(kHex[b >> 4]);
        w.put(kHex[b & 0x0f]);
      }
    }
  }
}

}  // namespace

bool x509_parse(std::span<const uint8_t> der, X509Fields& out) noexcept {
  out = X509Fields{};
  std::span<const uint8_t> cert, tbs;
  if (!expect(der, kSequence, cert)) return false;
  if (!expect(cert, kSequence, tbs)) return false;
  Tlv t;
  if (!next_tlv(tbs, t)) return false;
  if (t.tag == kContext0 && !next_tlv(tbs, t)) return false;  // [0] version
  if (t.tag != kInteger) return false;
  out.serial = t.value;
  std::span<const uint8_t> algorithm, validity;
  if (!expect(tbs, kSequence, algorithm)) return false;
  if (!expect(tbs, kSequence, out.issuer)) return false;
  if (!expect(tbs, kSequence, validity)) return false;
  Tlv before, after;
  if (next_tlv(validity, before) && next_tlv(validity, after) && parse_time(before, out.not_before) &&
      parse_time(after, out.not_after)) {
    out.has_validity = true;
  }
  if (!expect(tbs, kSequence, out.subject)) return false;
  return true;
}

size_t x509_format_name(std::span<const uint8_t> name, char* out, size_t cap) noexcept {
  Writer w{out, cap};
  bool first_rdn = true;
  Tlv rdn;
  while (!name.empty() && next_tlv(name, rdn)) {
    if (rdn.tag != kSet) break;
    std::span<const uint8_t> attrs = rdn.value;
    bool first_attr = true;
    Tlv attr;
    while (!attrs.empty() && next_tlv(attrs, attr)) {
      if (attr.tag != kSequence) break;
      std::span<const uint8_t> body = attr.value;
      Tlv oid, value;
      if (!next_tlv(body, oid) || oid.tag != kOid || !next_tlv(body, value)) break;
      if (!first_rdn || !first_attr) w.put(first_attr ? ", " : " + ");
      write_oid(w, oid.value);
      w.put('=');
      write_value(w, value);
      first_attr = false;
    }
    if (!first_attr) first_rdn = false;
  }
  return w.len;
}

size_t x509_format_serial(std::span<const uint8_t> serial, char* out, size_t cap) noexcept {
  static constexpr char kHex[] = "0123456789ABCDEF";
  Writer w{out, cap};
  for (size_t i = 0; i < serial.size(); ++i) {
    if (i != 0) w.put(':');
    w.put(kHex[serial[i] >> 4]);
    w.put(kHex[serial[i] & 0x0f]);
  }
  return w.len;
}

}  // namespace eastwatch

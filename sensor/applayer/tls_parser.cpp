#include "sensor/applayer/tls_parser.hpp"

#include <algorithm>
#include <cstring>

#include "sensor/applayer/tls_x509.hpp"
#include "signatures/digest.hpp"

namespace eastwatch {

namespace {

constexpr uint8_t kChangeCipherSpec = 20, kHandshake = 22, kApplicationData = 23, kHeartbeat = 24;
constexpr uint8_t kClientHello = 1, kServerHello = 2, kCertificate = 11;
constexpr uint32_t kMaxRecordLength = (1u << 14) + 2048;  // TLSCiphertext's bound
constexpr uint16_t kExtServerName = 0, kExtSupportedGroups = 10, kExtEcPointFormats = 11,
                   kExtSupportedVersions = 43;
constexpr uint16_t kTls13 = 0x0304, kTls13PreDraft16 = 0x7f01;

bool is_grease(uint16_t v) noexcept { return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff); }

bool known_handshake_type(uint8_t t) noexcept {
  switch (t) {
    case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 8: case 11: case 12: case 13: case 14: case 15:
    case 16: case 20: case 21: case 22: case 23: case 24: case 25: case 254:
      return true;
    default:
      return false;
  }
}

// Bounds-checked big-endian reads over one message.
struct Reader {
  const uint8_t* p;
  uint32_t left;
  bool ok = true;
  bool has(uint32_t n) const noexcept { return ok && left >= n; }
  uint32_t get(uint32_t bytes) noexcept {  // 1, 2 or 3 bytes
    if (!has(bytes)) {
      ok = false;
      return 0;
    }
    uint32_t v = 0;
    for (uint32_t i = 0; i < bytes; ++i) v = (v << 8) | p[i];
    p += bytes;
    left -= bytes;
    return v;
  }
  const uint8_t* take(uint32_t n) noexcept {
    if (!has(n)) {
      ok = false;
      return nullptr;
    }
    const uint8_t* at = p;
    p += n;
    left -= n;
    return at;
  }
};

// Writes a JA3 string into the output arena's free space.
struct Ja3Writer {
  char* out;
  uint32_t cap;
  uint32_t len = 0;
  bool overflow = false;
  bool first = true;  // no '-' before the first value of a field
  void put(char c) noexcept {
    if (len < cap) {
      out[len++] = c;
    } else {
      overflow = true;
    }
  }
  void field() noexcept {
    put(',');
    first = true;
  }
  void value(uint32_t v) noexcept {
    if (!first) put('-');
    first = false;
    char digits[8];
    uint32_t n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (n > 0) put(digits[--n]);
  }
};

struct Extension {
  uint16_t type;
  const uint8_t* data;
  uint16_t len;
};

// The next extension of an already-validated block.
bool next_extension(Reader& r, Extension& e) noexcept {
  if (!r.has(4)) return false;
  e.type = static_cast<uint16_t>(r.get(2));
  e.len = static_cast<uint16_t>(r.get(2));
  e.data = r.take(e.len);
  return r.ok;
}

// The extensions block at the end of a hello (optional): empty when absent, and when its length
// overruns the message (counted: the hello's other fields stay usable).
Reader extensions_block(Reader& r, TlsCounters& c) noexcept {
  if (!r.has(2)) return Reader{nullptr, 0};
  const uint32_t len = r.get(2);
  const uint8_t* data = r.take(len);
  if (data == nullptr) {
    ++c.handshake_invalid_length;
    return Reader{nullptr, 0};
  }
  return Reader{data, len};
}

// The JA3 hash of a string in the arena, written after it.
ByteView ja3_hash(TlsOutput& out, ByteView text) noexcept {
  const Md5Digest digest = md5(std::span<const uint8_t>(text.data, text.len));
  char hex[32];
  to_hex(digest, hex);
  return out.copy(reinterpret_cast<const uint8_t*>(hex), sizeof(hex));
}

}  // namespace

TlsOutput::TlsOutput(uint32_t arena_bytes) : arena_(std::make_unique_for_overwrite<uint8_t[]>(arena_bytes)), arena_bytes_(arena_bytes) {}

void TlsOutput::reset() noexcept {
  entry_count_ = 0;
  arena_used_ = 0;
  overflowed = false;
}

TlsEntry* TlsOutput::entry(const void* flow_key) noexcept {
  for (uint32_t i = 0; i < entry_count_; ++i) {
    if (keys_[i] == flow_key) return &entries_[i];
  }
  if (entry_count_ == kMaxEntries) return nullptr;
  keys_[entry_count_] = flow_key;
  entries_[entry_count_] = TlsEntry{};
  return &entries_[entry_count_++];
}

ByteView TlsOutput::copy(const uint8_t* data, uint32_t len) noexcept {
  if (len > arena_bytes_ - arena_used_) {
    overflowed = true;
    return {};
  }
  uint8_t* at = arena_.get() + arena_used_;
  if (len) std::memcpy(at, data, len);
  arena_used_ += len;
  return {at, len};
}

ByteView TlsOutput::commit(uint32_t bytes) noexcept {
  const ByteView v{arena_.get() + arena_used_, bytes};
  arena_used_ += bytes;
  return v;
}

void TlsFlowParser::init(uint8_t* buffers, uint32_t handshake_limit) noexcept {
  dir_[0] = Direction{};
  dir_[1] = Direction{};
  dir_[0].buffer = buffers;
  dir_[1].buffer = buffers + handshake_limit;
  limit_ = handshake_limit;
  seen_client_hello_ = seen_server_hello_ = seen_certificate_ = false;
  eve_ = TlsEveData{};
}

TlsEntry* TlsFlowParser::entry(TlsContext& ctx) noexcept { return ctx.output.entry(this); }

void TlsFlowParser::gap(bool to_server, uint64_t bytes, TlsContext& ctx) noexcept {
  Direction& d = dir_[to_server ? 0 : 1];
  if (bytes == 0 || d.state == State::Done) return;
  if (!d.encrypted) ++ctx.counters.error_gap;
  d.state = State::Done;
}

void TlsFlowParser::feed(bool to_server, std::span<const uint8_t> data, TlsContext& ctx) noexcept {
  Direction& d = dir_[to_server ? 0 : 1];
  const uint8_t* p = data.data();
  const uint8_t* const end = p + data.size();
  auto& c = ctx.counters;
  while (p < end && d.state != State::Done) {
    if (d.state == State::RecordHeader) {
      const uint32_t take = std::min<uint32_t>(5 - d.header_len, static_cast<uint32_t>(end - p));
      std::memcpy(d.header + d.header_len, p, take);
      d.header_len = static_cast<uint8_t>(d.header_len + take);
      p += take;
      if (d.header_len < 5) return;
      d.header_len = 0;
      const uint8_t type = d.header[0];
      const uint32_t len = (uint32_t{d.header[3]} << 8) | d.header[4];
      if (d.records == 0 && (d.header[0] & 0x80) && d.header[2] == kClientHello) {
        ++c.sslv2_client_hello;  // SSLv2 record: 2-byte length with the high bit, then the message type
        d.state = State::Done;
        return;
      }
      if (type < kChangeCipherSpec || type > kHeartbeat) {
        ++c.invalid_record_type;
        ++c.error_parser;
        d.state = State::Done;
        return;
      }
      if (d.header[1] != 3) {
        ++c.invalid_record_version;
        ++c.error_parser;
        d.state = State::Done;
        return;
      }
      if (len > kMaxRecordLength) {
        ++c.invalid_record_length;
        ++c.error_parser;
        d.state = State::Done;
        return;
      }
      ++c.records;
      ++d.records;
      if (type == kChangeCipherSpec || type == kApplicationData) d.encrypted = true;
      if (d.encrypted) ++c.encrypted_records;
      d.record_type = type;
      d.record_left = len;
      d.state = len == 0 ? State::RecordHeader : State::RecordBody;
      continue;
    }
    const uint32_t take = std::min<uint32_t>(d.record_left, static_cast<uint32_t>(end - p));
    if (d.record_type == kHandshake && !d.encrypted) handshake_bytes(to_server, d, p, take, ctx);
    p += take;
    d.record_left -= take;
    if (d.record_left == 0 && d.state != State::Done) d.state = State::RecordHeader;
  }
}

void TlsFlowParser::handshake_bytes(bool to_server, Direction& d, const uint8_t* p, uint32_t n,
                                    TlsContext& ctx) noexcept {
  while (n > 0 && d.state != State::Done) {
    if (d.msg_header_len < 4) {
      const uint32_t take = std::min<uint32_t>(4 - d.msg_header_len, n);
      std::memcpy(d.msg_header + d.msg_header_len, p, take);
      d.msg_header_len = static_cast<uint8_t>(d.msg_header_len + take);
      p += take;
      n -= take;
      if (d.msg_header_len < 4) return;
      d.msg_len = (uint32_t{d.msg_header[1]} << 16) | (uint32_t{d.msg_header[2]} << 8) | d.msg_header[3];
      d.msg_seen = 0;
      if (d.msg_len == 0) {
        message_done(to_server, d, ctx);
        d.msg_header_len = 0;
      }
      continue;
    }
    const uint32_t take = std::min<uint32_t>(d.msg_len - d.msg_seen, n);
    if (d.msg_seen < limit_) {
      const uint32_t keep = std::min<uint32_t>(take, limit_ - d.msg_seen);
      std::memcpy(d.buffer + d.msg_seen, p, keep);
    }
    d.msg_seen += take;
    p += take;
    n -= take;
    if (d.msg_seen == d.msg_len) {
      message_done(to_server, d, ctx);
      d.msg_header_len = 0;
    }
  }
}

void TlsFlowParser::message_done(bool to_server, Direction& d, TlsContext& ctx) noexcept {
  const uint8_t type = d.msg_header[0];
  const bool cut = d.msg_len > limit_;
  const uint32_t kept = std::min(d.msg_len, limit_);
  if (cut) ++ctx.counters.handshake_too_long;
  if (!known_handshake_type(type)) {
    ++ctx.counters.invalid_handshake_message;
    return;
  }
  if (type == kClientHello && to_server && !seen_client_hello_) {
    seen_client_hello_ = true;
    client_hello(d.buffer, kept, ctx);
  } else if (type == kServerHello && !to_server && !seen_server_hello_) {
    seen_server_hello_ = true;
    server_hello(d.buffer, kept, ctx);
  } else if (type == kCertificate && !to_server && !seen_certificate_) {
    seen_certificate_ = true;
    certificate(d.buffer, kept, cut, ctx);
  } else if ((type == kClientHello && !to_server) || (type == kServerHello && to_server)) {
    ++ctx.counters.invalid_handshake_message;
  }
}

void TlsFlowParser::client_hello(const uint8_t* msg, uint32_t n, TlsContext& ctx) noexcept {
  auto& c = ctx.counters;
  Reader r{msg, n};
  const uint16_t version = static_cast<uint16_t>(r.get(2));
  r.take(32);  // random
  const uint32_t session_len = r.get(1);
  r.take(session_len);
  const uint32_t ciphers_len = r.get(2);
  const uint8_t* ciphers = r.take(ciphers_len);
  if (!r.ok || ciphers_len % 2 != 0) {
    ++c.handshake_invalid_length;
    ++c.error_parser;
    return;
  }
  const uint32_t compression_len = r.get(1);
  r.take(compression_len);
  if (!r.ok) {
    ++c.handshake_invalid_length;
    ++c.error_parser;
    return;
  }
  uint16_t client_version = version;

  // Extensions (optional): walked once for their contents; an invalid one ends the list there
  // for JA3 too, as in Suricata. `count`: the extensions taken.
  const Reader extensions = extensions_block(r, c);
  uint32_t count = 0;
  ByteView sni_source;
  Reader x = extensions;
  Extension ext;
  while (x.left > 0) {
    if (!next_extension(x, ext)) {
      ++c.handshake_invalid_length;
      break;
    }
    bool bad = false;
    if (ext.type == kExtServerName && ext.len > 0) {
      Reader s{ext.data, ext.len};
      s.get(2);  // list length
      const uint32_t name_type = s.get(1);
      if (!s.ok) {
        ++c.handshake_invalid_length;
        bad = true;
      } else if (name_type != 0) {
        ++c.invalid_sni_type;
        bad = true;
      } else {
        const uint32_t name_len = s.get(2);
        if (!s.ok) {
          ++c.handshake_invalid_length;
          bad = true;
        } else if (name_len == 0 || name_len > 255 || !s.has(name_len)) {
          ++c.invalid_sni_length;
          bad = true;
        } else if (!sni_source.empty()) {
          ++c.multiple_sni_extensions;
        } else {
          sni_source = {s.take(name_len), name_len};
        }
      }
    } else if (ext.type == kExtSupportedVersions && ext.len > 0) {
      Reader s{ext.data, ext.len};
      const uint32_t list_len = s.get(1);
      if (!s.ok || list_len < 2 || !s.has(list_len)) {
        ++c.handshake_invalid_length;
        bad = true;
      } else {
        for (uint32_t i = 0; i + 1 < list_len; i += 2) {
          const uint16_t v = static_cast<uint16_t>(s.get(2));
          if (!is_grease(v)) {
            client_version = v;
            break;
          }
        }
      }
    }
    if (bad) break;
    ++count;
  }

  // JA3: SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats.
  const auto space = ctx.output.free_space();
  Ja3Writer w{reinterpret_cast<char*>(space.data()), static_cast<uint32_t>(space.size())};
  w.value(version);
  w.field();
  for (uint32_t i = 0; i + 1 < ciphers_len; i += 2) {
    const uint16_t v = static_cast<uint16_t>((uint32_t{ciphers[i]} << 8) | ciphers[i + 1]);
    if (!is_grease(v)) w.value(v);
  }
  w.field();
  Reader x2 = extensions;
  for (uint32_t i = 0; i < count && next_extension(x2, ext); ++i) {
    if (!is_grease(ext.type)) w.value(ext.type);
  }
  w.field();
  Reader x3 = extensions;
  for (uint32_t i = 0; i < count && next_extension(x3, ext); ++i) {
    if (ext.type != kExtSupportedGroups) continue;
    Reader g{ext.data, ext.len};
    const uint32_t len = g.get(2);
    for (uint32_t k = 0; k + 1 < len && g.has(2); k += 2) {
      const uint16_t v = static_cast<uint16_t>(g.get(2));
      if (!is_grease(v)) w.value(v);
    }
  }
  w.field();
  Reader x4 = extensions;
  for (uint32_t i = 0; i < count && next_extension(x4, ext); ++i) {
    if (ext.type != kExtEcPointFormats) continue;
    Reader f{ext.data, ext.len};
    const uint32_t len = f.get(1);
    for (uint32_t k = 0; k < len && f.has(1); ++k) w.value(f.get(1));
  }

  ByteView ja3_string, hash;
  if (w.overflow) {
    ctx.output.overflowed = true;
  } else {
    ja3_string = ctx.output.commit(w.len);
    hash = ja3_hash(ctx.output, ja3_string);
    eve_.ja3_string.set(ja3_string);
    eve_.ja3_hash.set(hash);
  }
  eve_.sni.set(sni_source);
  if (TlsEntry* e = entry(ctx)) {
    e->parts |= tls_bit(TlsPart::ClientHello);
    e->client_version = client_version;
    e->sni = ctx.output.copy(sni_source.data, sni_source.len);
    e->ja3_string = ja3_string;
    e->ja3_hash = hash;
  }
  if (ctx.output.overflowed) ++c.output_overflow;
}

void TlsFlowParser::server_hello(const uint8_t* msg, uint32_t n, TlsContext& ctx) noexcept {
  auto& c = ctx.counters;
  Reader r{msg, n};
  const uint16_t wire_version = static_cast<uint16_t>(r.get(2));
  uint16_t version = wire_version;
  // TLS 1.3 drafts before 22 put their version here and have no session id (Suricata's
  // SSL_AL_FLAG_LOG_WITHOUT_CERT); early drafts are all "draft-<16".
  const bool draft = wire_version == kTls13 || (wire_version >> 8) == 0x7f;
  if (wire_version == kTls13 || (wire_version >= 0x7f01 && wire_version < 0x7f10)) version = kTls13PreDraft16;
  r.take(32);  // random
  if (!draft) r.take(r.get(1));
  const uint16_t cipher = static_cast<uint16_t>(r.get(2));
  if (!draft) r.get(1);  // compression method
  if (!r.ok) {
    ++c.handshake_invalid_length;
    ++c.error_parser;
    return;
  }
  const Reader extensions = extensions_block(r, c);
  uint32_t count = 0;
  Reader x = extensions;
  Extension ext;
  while (x.left > 0) {
    if (!next_extension(x, ext)) {
      ++c.handshake_invalid_length;
      break;
    }
    if (ext.type == kExtSupportedVersions && ext.len > 0) {
      if (ext.len < 2) {
        ++c.handshake_invalid_length;
        break;
      }
      version = static_cast<uint16_t>((uint32_t{ext.data[0]} << 8) | ext.data[1]);
    }
    ++count;
  }

  // JA3S: SSLVersion,Cipher,Extensions.
  const auto space = ctx.output.free_space();
  Ja3Writer w{reinterpret_cast<char*>(space.data()), static_cast<uint32_t>(space.size())};
  w.value(wire_version);
  w.field();
  if (!is_grease(cipher)) w.value(cipher);
  w.field();
  Reader x2 = extensions;
  for (uint32_t i = 0; i < count && next_extension(x2, ext); ++i) {
    if (!is_grease(ext.type)) w.value(ext.type);
  }
  ByteView ja3s_string, hash;
  if (w.overflow) {
    ctx.output.overflowed = true;
  } else {
    ja3s_string = ctx.output.commit(w.len);
    hash = ja3_hash(ctx.output, ja3s_string);
    eve_.ja3s_string.set(ja3s_string);
    eve_.ja3s_hash.set(hash);
  }
  eve_.version = version;
  if (TlsEntry* e = entry(ctx)) {
    e->parts |= tls_bit(TlsPart::ServerHello);
    e->version = version;
    e->ja3s_string = ja3s_string;
    e->ja3s_hash = hash;
  }
  if (ctx.output.overflowed) ++c.output_overflow;
}

void TlsFlowParser::certificate(const uint8_t* msg, uint32_t n, bool cut, TlsContext& ctx) noexcept {
  auto& c = ctx.counters;
  Reader r{msg, n};
  uint32_t chain_len = r.get(3);
  if (!r.ok) {
    ++c.invalid_certificate;
    ++c.error_parser;
    return;
  }
  if (chain_len > r.left) {
    if (!cut) {
      ++c.invalid_certificate;
      ++c.error_parser;
      return;
    }
    chain_len = r.left;  // cut at the handshake limit: the certificates that fit
  }
  TlsEntry* e = entry(ctx);
  Reader chain{r.p, chain_len};
  bool first = true;
  while (chain.left > 0) {
    const uint32_t len = chain.get(3);
    const uint8_t* der = chain.take(len);
    if (der == nullptr) {
      if (!cut) {
        ++c.invalid_certificate;
        ++c.error_parser;
      }
      break;
    }
    if (first) {
      first = false;
      X509Fields f;
      if (!x509_parse({der, len}, f)) {
        ++c.certificate_invalid_der;
      } else {
        char text[1024];
        size_t k = x509_format_name(f.subject, text, sizeof(text));
        const ByteView subject = ctx.output.copy(reinterpret_cast<const uint8_t*>(text), static_cast<uint32_t>(k));
        eve_.subject.set({reinterpret_cast<const uint8_t*>(text), static_cast<uint32_t>(k)});
        k = x509_format_name(f.issuer, text, sizeof(text));
        const ByteView issuer = ctx.output.copy(reinterpret_cast<const uint8_t*>(text), static_cast<uint32_t>(k));
        eve_.issuerdn.set({reinterpret_cast<const uint8_t*>(text), static_cast<uint32_t>(k)});
        k = x509_format_serial(f.serial, text, sizeof(text));
        const ByteView serial = ctx.output.copy(reinterpret_cast<const uint8_t*>(text), static_cast<uint32_t>(k));
        eve_.serial.set({reinterpret_cast<const uint8_t*>(text), static_cast<uint32_t>(k)});
        const Sha1Digest digest = sha1({der, len});
        k = to_hex(digest, text, ':');
        const ByteView fingerprint =
            ctx.output.copy(reinterpret_cast<const uint8_t*>(text), static_cast<uint32_t>(k));
        eve_.fingerprint.set({reinterpret_cast<const uint8_t*>(text), static_cast<uint32_t>(k)});
        eve_.has_validity = f.has_validity;
        eve_.not_before = f.not_before;
        eve_.not_after = f.not_after;
        if (e != nullptr) {
          e->cert_subject = subject;
          e->cert_issuer = issuer;
          e->cert_serial = serial;
          e->cert_fingerprint = fingerprint;
        }
      }
    }
    if (e != nullptr) {
      if (e->cert_count < TlsEntry::kMaxCerts) {
        e->certs[e->cert_count] = ctx.output.copy(der, len);
        if (!e->certs[e->cert_count].empty() || len == 0) ++e->cert_count;
      } else {
        ++c.certs_overflow;
      }
    }
  }
  if (e != nullptr) e->parts |= tls_bit(TlsPart::Certificate);
  if (ctx.output.overflowed) ++c.output_overflow;
}

}  // namespace eastwatch

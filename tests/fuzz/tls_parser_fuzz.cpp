// libFuzzer target: the TLS handshake parser fed one flow's two directions, and the X.509
// walker on the input itself. Byte 0 picks the handshake limit (1 KiB or 16 KiB) and whether
// the first record of each direction is prefixed with a well-formed ClientHello/ServerHello
// record header; then records of [direction + gap flag (1 byte); length (2 bytes); bytes...].
// Checks the output contract: every view is readable (ASan), set only with its part's bit,
// the certificate count within kMaxCerts, the JA3 hashes 32 characters.
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "sensor/applayer/tls_parser.hpp"
#include "sensor/applayer/tls_x509.hpp"

namespace {

using namespace eastwatch;

void touch(ByteView v) {
  if (v.len == 0) return;
  if (v.data == nullptr) __builtin_trap();
  volatile uint8_t sink = v.data[0] ^ v.data[v.len - 1];
  (void)sink;
}

void check_output(const TlsOutput& out) {
  for (const TlsEntry& e : out.entries()) {
    const bool ch = e.has(TlsPart::ClientHello), sh = e.has(TlsPart::ServerHello), cert = e.has(TlsPart::Certificate);
    if ((!ch && (e.sni.len || e.ja3_string.len || e.ja3_hash.len)) || (!sh && (e.ja3s_string.len || e.ja3s_hash.len)) ||
        (!cert && (e.cert_count || e.cert_subject.len || e.cert_fingerprint.len))) {
      __builtin_trap();
    }
    if ((e.ja3_hash.len != 0 && e.ja3_hash.len != 32) || (e.ja3s_hash.len != 0 && e.ja3s_hash.len != 32)) {
      __builtin_trap();
    }
    if (e.cert_count > TlsEntry::kMaxCerts) __builtin_trap();
    for (ByteView v : {e.sni, e.ja3_string, e.ja3_hash, e.ja3s_string, e.ja3s_hash, e.cert_subject, e.cert_issuer,
                       e.cert_serial, e.cert_fingerprint}) {
      touch(v);
    }
    for (ByteView v : e.cert_list()) touch(v);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint32_t handshake_limit = (data[0] & 1) ? 1024 : 16 * 1024;
  static TlsCounters counters;
  static std::unique_ptr<TlsOutput> out;
  static std::vector<uint8_t> buffers;
  if (!out) {
    out = std::make_unique<TlsOutput>(4 * 16 * 1024 + (16u << 10));
    buffers.resize(2 * 16 * 1024);
  }
  TlsContext ctx{counters, *out};
  TlsFlowParser parser;
  parser.init(buffers.data(), handshake_limit);
  if (data[0] & 2) {
    // A plausible record header in front of each direction, so the handshake parsers are reached.
    const uint8_t ch[] = {22, 3, 1, 0x40, 0x00, 1};
    const uint8_t sh[] = {22, 3, 3, 0x40, 0x00, 2};
    out->reset();
    parser.feed(true, {ch, sizeof(ch)}, ctx);
    parser.feed(false, {sh, sizeof(sh)}, ctx);
  }
  size_t pos = 1;
  while (pos + 3 <= size) {
    const bool to_server = (data[pos] & 1) == 0;
    const bool gap = data[pos] & 2;
    const size_t len = std::min<size_t>((size_t{data[pos + 1]} << 8) | data[pos + 2], size - pos - 3);
    pos += 3;
    out->reset();
    if (gap) parser.gap(to_server, 7, ctx);
    parser.feed(to_server, {data + pos, len}, ctx);
    check_output(*out);
    pos += len;
  }
  X509Fields f;
  if (x509_parse({data, size}, f)) {
    char text[256];
    x509_format_name(f.subject, text, sizeof(text));
    x509_format_name(f.issuer, text, sizeof(text));
    x509_format_serial(f.serial, text, sizeof(text));
  }
  return 0;
}

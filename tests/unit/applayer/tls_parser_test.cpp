#include <catch2/catch.hpp>

#include <random>
#include <string>

#include "app_layer_harness.hpp"
#include "config/config_loader.hpp"
#include "sensor/applayer/tls_x509.hpp"
#include "tls_builder.hpp"

using namespace eastwatch;
using namespace eastwatch::test;

namespace {

std::string str(ByteView v) { return std::string(v.text()); }

// One TLS flow through a whole AppLayer (port 443), the output of each packet collected.
struct TlsHarness {
  static AppLayerSettings small() {  // small pools: many harnesses stay cheap (under ASan too)
    AppLayerSettings s;
    s.memcap = 1 << 20;
    s.tls.memcap = 1 << 20;
    return s;
  }
  explicit TlsHarness(AppLayerSettings s = small()) : h(s, 443) {}
  // The flow ends and a new one starts on the same Flow (the AppLayer and its pools kept).
  void restart() {
    h.app->release(h.flow);
    h.flow.app_proto = 0;
    h.flow.app_detect = 0;
    h.flow.app_state = 0;
    h.sent[0].clear();
    h.sent[1].clear();
  }
  const TlsOutput& send(bool to_server, const std::string& bytes) {
    h.send(to_server, bytes);
    return h.app->tls_output();
  }
  const TlsEntry* entry(bool to_server, const std::string& bytes) {
    const TlsOutput& out = send(to_server, bytes);
    return out.entries().empty() ? nullptr : &out.entries()[0];
  }
  const TlsCounters& counters() const { return h.counters().tls; }
  const TlsEveData* eve() const { return h.app->tls_eve(h.flow); }
  AppLayerHarness h;
};

// What a server flight yields, gathered over the packets it came in.
struct ServerFacts {
  int server_hello = 0, certificate = 0;
  std::string ja3s, ja3s_hash, subject, issuer, serial, fingerprint, leaf;
  uint16_t version = 0;
  uint32_t certs = 0;
  void take(const TlsOutput& out) {
    for (const TlsEntry& e : out.entries()) {
      if (e.has(TlsPart::ServerHello)) {
        ++server_hello;
        ja3s = str(e.ja3s_string);
        ja3s_hash = str(e.ja3s_hash);
        version = e.version;
      }
      if (e.has(TlsPart::Certificate)) {
        ++certificate;
        subject = str(e.cert_subject);
        issuer = str(e.cert_issuer);
        serial = str(e.cert_serial);
        fingerprint = str(e.cert_fingerprint);
        certs = e.cert_count;
        leaf = e.cert_count ? str(e.certs[0]) : "";
      }
    }
  }
};

constexpr const char* kSubject = "C=US, ST=California, O=Example Corp, CN=test.example.com";
constexpr const char* kIssuer = "C=US, O=Eastwatch Test CA, CN=Eastwatch Test Root";
constexpr const char* kFingerprint = "d3:57:37:d4:a2:2a:e2:2e:88:b2:56:a1:8b:89:08:03:69:36:ee:8c";

void check_server_facts(const ServerFacts& f) {
  CHECK(f.server_hello == 1);
  CHECK(f.certificate == 1);
  CHECK(f.ja3s == "771,49199,65281-11-35");
  CHECK(f.ja3s_hash == "ccc514751b175866924439bdbb5bba34");  // MD5 of the string (Python hashlib)
  CHECK(f.version == 0x0303);
  CHECK(f.subject == kSubject);
  CHECK(f.issuer == kIssuer);
  CHECK(f.serial == "0A:1B:2C:3D:4E:5F:60");
  CHECK(f.fingerprint == kFingerprint);
  CHECK(f.certs == 2);
  CHECK(f.leaf == leaf_der());
}

}  // namespace

TEST_CASE("ClientHello: SNI, JA3 without GREASE, the offered version") {
  TlsHarness t;
  const TlsEntry* e = t.entry(true, test_client_hello());
  REQUIRE(t.h.proto() == AppProto::Tls);
  REQUIRE(e != nullptr);
  CHECK(e->parts == tls_bit(TlsPart::ClientHello));
  CHECK(str(e->sni) == "test.example.com");
  CHECK(str(e->ja3_string) == "771,4865-4866-49195-47,0-23-10-11-43,29-23-24,0");
  CHECK(str(e->ja3_hash) == "adfbcaa53c807a7f35093c8c077ffe20");  // MD5 of the string (Python hashlib)
  CHECK(e->client_version == 0x0304);  // supported_versions' first non-GREASE entry
  CHECK(e->ja3s_hash.empty());
  CHECK(t.counters().tx == 1);
  const TlsEveData* eve = t.eve();
  REQUIRE(eve != nullptr);
  CHECK(eve->sni.view() == "test.example.com");
  CHECK(eve->ja3_hash.view() == "adfbcaa53c807a7f35093c8c077ffe20");
  CHECK(t.h.app->http_eve(t.h.flow) == nullptr);  // a TLS flow's state is not an HTTP one
}

TEST_CASE("JA3 of Salesforce's published example") {
  // github.com/salesforce/ja3 README: "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0"
  // is ada70206e40642a3e4461f35503241d5.
  const std::string ext = sni_extension("example.org") + groups_extension({23, 24, 25}) + point_formats_extension({0});
  TlsHarness t;
  const TlsEntry* e = t.entry(
      true, tls_record(22, client_hello(0x0301, {47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4}, ext), 0x0301));
  REQUIRE(e != nullptr);
  CHECK(str(e->ja3_string) == "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0");
  CHECK(str(e->ja3_hash) == "ada70206e40642a3e4461f35503241d5");
  CHECK(e->client_version == 0x0301);
}

TEST_CASE("JA3 of a ClientHello without extensions keeps the empty fields") {
  TlsHarness t;
  const TlsEntry* e = t.entry(true, tls_record(22, client_hello(0x0300, {4, 5}, "", false), 0x0300));
  REQUIRE(e != nullptr);
  CHECK(str(e->ja3_string) == "768,4-5,,,");
  CHECK(e->sni.empty());
}

TEST_CASE("ServerHello and Certificate: JA3S, leaf subject, issuer, serial, fingerprint, chain") {
  TlsHarness t;
  t.send(true, test_client_hello());
  ServerFacts f;
  f.take(t.send(false, test_server_flight()));
  check_server_facts(f);
  const TlsEveData* eve = t.eve();
  REQUIRE(eve != nullptr);
  CHECK(eve->subject.view() == kSubject);
  CHECK(eve->issuerdn.view() == kIssuer);
  CHECK(eve->serial.view() == "0A:1B:2C:3D:4E:5F:60");
  CHECK(eve->fingerprint.view() == kFingerprint);
  CHECK(eve->version == 0x0303);
  REQUIRE(eve->has_validity);
  char buf[24];
  CHECK(tls_format_time(eve->not_before, buf) == "2024-01-01T00:00:00");
  CHECK(tls_format_time(eve->not_after, buf) == "2034-12-31T23:59:59");
  CHECK(tls_version_name(eve->version, buf) == "TLS 1.2");
  CHECK(t.counters().error_parser == 0);
}

TEST_CASE("TLS 1.3 ServerHello: the version from supported_versions, JA3S of the legacy one") {
  TlsHarness t;
  t.send(true, test_client_hello());
  const std::string ext = extension(43, u16(0x0304)) + extension(51, u16(29) + u16(32) + std::string(32, 'k'));
  const TlsEntry* e = t.entry(false, tls_record(22, server_hello(0x0303, 0x1301, ext)) + tls_record(20, "\x01") +
                                         tls_record(23, std::string(100, 'e')));
  REQUIRE(e != nullptr);
  CHECK(e->version == 0x0304);
  CHECK(str(e->ja3s_string) == "771,4865,43-51");
  CHECK(str(e->ja3s_hash) == "f4febc55ea12b31ae17cfb7e614afda8");
  CHECK(t.counters().encrypted_records == 2);  // ChangeCipherSpec and the application data
  char buf[24];
  CHECK(tls_version_name(t.eve()->version, buf) == "TLS 1.3");
}

TEST_CASE("a server flight split at every byte boundary gives the same facts once") {
  const std::string flight = test_server_flight();
  TlsHarness t;
  for (size_t cut = 1; cut < flight.size(); ++cut) {
    t.restart();
    t.send(true, test_client_hello());
    ServerFacts f;
    f.take(t.send(false, flight.substr(0, cut)));
    f.take(t.send(false, flight.substr(cut)));
    INFO("cut at " << cut);
    check_server_facts(f);
  }
}

TEST_CASE("a ClientHello split at every byte boundary") {
  const std::string hello = test_client_hello();
  TlsHarness t;
  for (size_t cut = 6; cut < hello.size(); ++cut) {  // the first 6 bytes decide detection
    t.restart();
    int seen = 0;
    std::string ja3;
    for (const std::string& part : {hello.substr(0, cut), hello.substr(cut)}) {
      for (const TlsEntry& e : t.send(true, part).entries()) {
        if (e.has(TlsPart::ClientHello)) {
          ++seen;
          ja3 = str(e.ja3_hash);
        }
      }
    }
    INFO("cut at " << cut);
    CHECK(seen == 1);
    CHECK(ja3 == "adfbcaa53c807a7f35093c8c077ffe20");
  }
}

TEST_CASE("handshake messages fragmented over records and segments") {
  // The ServerHello, Certificate and ServerHelloDone bytes cut into 100-byte records, each
  // record in a segment of its own, then the same records in 7-byte segments.
  const std::string messages = server_hello(0x0303, 0xc02f, extension(65281, std::string(1, '\0')) +
                                                                point_formats_extension({0}) + extension(35, "")) +
                               certificate_message({leaf_der(), ca_der()}) + handshake(14, "");
  std::string records;
  for (size_t i = 0; i < messages.size(); i += 100) records += tls_record(22, messages.substr(i, 100));
  for (size_t segment : {size_t{0}, size_t{7}}) {
    TlsHarness t;
    t.send(true, test_client_hello());
    ServerFacts f;
    if (segment == 0) {
      for (size_t i = 0; i < messages.size(); i += 100) f.take(t.send(false, tls_record(22, messages.substr(i, 100))));
    } else {
      for (size_t i = 0; i < records.size(); i += segment) f.take(t.send(false, records.substr(i, segment)));
    }
    check_server_facts(f);
    CHECK(t.counters().records >= messages.size() / 100);
  }
}

TEST_CASE("a certificate chain beyond the handshake limit is cut, the leaf still parsed") {
  AppLayerSettings s = TlsHarness::small();
  s.tls.handshake_limit = 16 * 1024;
  TlsHarness t(s);
  t.send(true, test_client_hello());
  std::vector<std::string> chain{leaf_der()};
  for (int i = 0; i < 60; ++i) chain.push_back(ca_der());  // ~29 KB
  const std::string msg = certificate_message(chain);
  std::string records;
  for (size_t i = 0; i < msg.size(); i += 16384) records += tls_record(22, msg.substr(i, 16384));
  records += tls_record(22, handshake(14, ""));
  ServerFacts f;
  for (size_t i = 0; i < records.size(); i += 1460) f.take(t.send(false, records.substr(i, 1460)));
  CHECK(t.counters().handshake_too_long == 1);
  CHECK(f.certificate == 1);
  CHECK(f.subject == kSubject);
  CHECK(f.certs == TlsEntry::kMaxCerts);
  // Certificates that fit in 16 KiB (3 + 400 + n x 490 bytes): 33, of which 8 are output.
  CHECK(t.counters().certs_overflow == (16384 - 3 - 3 - sizeof(kLeafDer)) / (3 + sizeof(kCaDer)) + 1 - 8);
  CHECK(t.counters().error_parser == 0);
}

TEST_CASE("after ChangeCipherSpec a direction is not parsed, records are counted") {
  TlsHarness t;
  t.send(true, test_client_hello());
  // A plaintext-looking ClientHello after CCS is encrypted data: no second ClientHello part.
  const TlsOutput& out = t.send(true, tls_record(20, "\x01") + tls_record(22, std::string(40, 'x')) +
                                          test_client_hello("other.example"));
  CHECK(out.entries().empty());
  CHECK(t.counters().encrypted_records == 3);
  CHECK(t.eve()->sni.view() == "test.example.com");
}

TEST_CASE("a gap ends parsing of the direction") {
  TlsHarness t;
  t.send(true, test_client_hello());
  t.h.send(false, test_server_flight().substr(0, 20));
  // The next bytes arrive after a hole.
  std::string& s = t.h.sent[1];
  const uint64_t offset = s.size() + 50;
  s.append(50, '\0');
  const std::string rest = test_server_flight().substr(70);
  s.append(rest);
  t.h.update.reset(false);
  t.h.update.tracked = true;
  t.h.update.spans[0] = {reinterpret_cast<const uint8_t*>(s.data()) + offset, static_cast<uint32_t>(rest.size()),
                         offset, true};
  t.h.update.span_count = 1;
  t.h.packet.to_server = false;
  t.h.app->process(t.h.packet, &t.h.update);
  CHECK(t.h.app->tls_output().entries().empty());
  CHECK(t.counters().error_gap == 1);
}

TEST_CASE("malformed records and messages are counted, never crash") {
  SECTION("record type") {
    TlsHarness t;
    t.send(true, test_client_hello());
    t.send(true, tls_record(99, "abc"));
    CHECK(t.counters().invalid_record_type == 1);
  }
  SECTION("record version and length") {
    TlsHarness t;
    t.send(true, test_client_hello());
    t.send(true, tls_record(22, "abc", 0x0203));
    CHECK(t.counters().invalid_record_version == 1);
    TlsHarness u;
    u.send(true, test_client_hello());
    u.send(true, u8(22) + u16(0x0303) + u16(0xffff));
    CHECK(u.counters().invalid_record_length == 1);
  }
  SECTION("a ClientHello whose cipher list overruns it") {
    std::string hello = client_hello(0x0303, {1, 2, 3}, "");
    hello[4 + 2 + 32 + 1 + 32 + 1] = '\x7f';  // the cipher suites' length
    TlsHarness t;
    const TlsOutput& out = t.send(true, tls_record(22, hello));
    CHECK(t.counters().handshake_invalid_length == 1);
    CHECK(out.entries().empty());
  }
  SECTION("bad SNI type and length, two SNIs") {
    const std::string bad_type = extension(0, u16(6) + u8(1) + u16(3) + "abc");
    TlsHarness t;
    const TlsEntry* e = t.entry(true, tls_record(22, client_hello(0x0303, {47}, bad_type + extension(23, ""))));
    CHECK(t.counters().invalid_sni_type == 1);
    REQUIRE(e != nullptr);
    CHECK(str(e->ja3_string) == "771,47,,,");  // the list ends at the bad extension, as in Suricata
    TlsHarness u;
    const TlsEntry* f = u.entry(true, tls_record(22, client_hello(0x0303, {47}, sni_extension("a.b") + sni_extension("c.d"))));
    REQUIRE(f != nullptr);
    CHECK(str(f->sni) == "a.b");
    CHECK(u.counters().multiple_sni_extensions == 1);
  }
  SECTION("a certificate that is not DER") {
    TlsHarness t;
    t.send(true, test_client_hello());
    ServerFacts f;
    f.take(t.send(false, tls_record(22, certificate_message({std::string(300, 'G'), ca_der()}))));
    CHECK(t.counters().certificate_invalid_der == 1);
    CHECK(f.certificate == 1);
    CHECK(f.subject.empty());
    CHECK(f.certs == 2);
  }
  SECTION("random bytes after a ClientHello, both directions") {
    std::mt19937 rng(7);
    TlsHarness t;
    for (int round = 0; round < 200; ++round) {
      t.restart();
      t.send(true, test_client_hello());
      std::string junk(1 + rng() % 3000, '\0');
      for (char& ch : junk) ch = static_cast<char>(rng());
      if (round % 2) junk = tls_record(22, junk.substr(0, std::min<size_t>(junk.size(), 16000)));
      t.send(false, junk);
      t.send(true, junk);
    }
    SUCCEED();
  }
}

TEST_CASE("an SSLv2 ClientHello is counted, not parsed") {
  AppLayerSettings s;
  TlsCounters counters;
  TlsOutput out(1 << 16);
  TlsContext ctx{counters, out};
  std::vector<uint8_t> buffers(2 * s.tls.handshake_limit);
  TlsFlowParser parser;
  parser.init(buffers.data(), s.tls.handshake_limit);
  const std::string v2 = "\x80\x2e\x01\x00\x02\x00\x15\x00\x00\x00\x10" + std::string(37, 'x');
  parser.feed(true, {reinterpret_cast<const uint8_t*>(v2.data()), v2.size()}, ctx);
  CHECK(counters.sslv2_client_hello == 1);
  CHECK(parser.done(true));
  CHECK(out.entries().empty());
}

TEST_CASE("the TLS state pool: a full pool is counted, release returns the state") {
  AppLayerSettings s;
  s.tls.memcap = 1 << 20;
  s.tls.handshake_limit = 256 * 1024;  // 512 KiB per state: one state fits
  AppLayer app(s);
  REQUIRE(app.tls_capacity() == 1);
  Flow flows[2];
  std::string hello = test_client_hello();
  for (Flow& f : flows) {
    f.key.ip_proto = 6;
    f.key.server_port = 443;
    f.in_use = true;
    Packet p;
    p.ip_version = 4;
    p.ip_proto = 6;
    p.has_transport = true;
    p.flow = &f;
    p.to_server = true;
    StreamUpdate u;
    u.reset(true);
    u.tracked = true;
    u.spans[0] = {reinterpret_cast<const uint8_t*>(hello.data()), static_cast<uint32_t>(hello.size()), 0, false};
    u.span_count = 1;
    u.window = {reinterpret_cast<const uint8_t*>(hello.data()), hello.size()};
    app.process(p, &u);
  }
  CHECK(app.counters().tls.error_alloc == 1);
  CHECK(app.tls_eve(flows[0]) != nullptr);
  CHECK(app.tls_eve(flows[1]) == nullptr);
  CHECK(app.counters().tls.states_in_use == 1);
  app.release(flows[0]);
  CHECK(app.counters().tls.states_in_use == 0);
}

TEST_CASE("x509: names, serial and validity, and truncated DER never parses and never crashes") {
  X509Fields f;
  REQUIRE(x509_parse({kLeafDer, sizeof(kLeafDer)}, f));
  char out[256];
  CHECK(std::string(out, x509_format_name(f.subject, out, sizeof(out))) == kSubject);
  CHECK(std::string(out, x509_format_name(f.issuer, out, sizeof(out))) == kIssuer);
  CHECK(std::string(out, x509_format_serial(f.serial, out, sizeof(out))) == "0A:1B:2C:3D:4E:5F:60");
  CHECK(f.has_validity);
  CHECK(f.not_before == 1704067200);  // 2024-01-01T00:00:00Z
  CHECK(f.not_after == 2051222399);   // 2034-12-31T23:59:59Z
  CHECK(x509_format_name(f.subject, out, 10) == 10);  // cut at the capacity
  for (size_t n = 0; n < sizeof(kLeafDer); ++n) {
    X509Fields g;
    CHECK_FALSE(x509_parse({kLeafDer, n}, g));
  }
  // Every single-byte corruption: walks stay within the bytes (ASan checks it).
  std::vector<uint8_t> der(kLeafDer, kLeafDer + sizeof(kLeafDer));
  for (size_t i = 0; i < der.size(); ++i) {
    const uint8_t old = der[i];
    der[i] = static_cast<uint8_t>(old ^ 0xa5);
    X509Fields g;
    if (x509_parse(der, g)) {
      x509_format_name(g.subject, out, sizeof(out));
      x509_format_name(g.issuer, out, sizeof(out));
    }
    der[i] = old;
  }
}

TEST_CASE("x509 names: multi-valued RDNs, unknown attribute types, BMPString") {
  // SET { CN=a + O=b }, SET { 1.2.3.4=c }, SET { CN=BMP "hé" }
  const std::string name = std::string("\x31\x14", 2) + "\x30\x08\x06\x03\x55\x04\x03\x0c\x01" "a" +
                           "\x30\x08\x06\x03\x55\x04\x0a\x0c\x01" "b" + std::string("\x31\x0a\x30\x08\x06\x03\x2a\x03\x04\x0c\x01", 11) +
                           "c" + std::string("\x31\x0d\x30\x0b\x06\x03\x55\x04\x03\x1e\x04\x00\x68\x00\xe9", 15);
  char out[128];
  const size_t n = x509_format_name({reinterpret_cast<const uint8_t*>(name.data()), name.size()}, out, sizeof(out));
  CHECK(std::string(out, n) == "CN=a + O=b, 1.2.3.4=c, CN=h\xc3\xa9");
}

TEST_CASE("TLS version names are Suricata's") {
  char buf[24];
  CHECK(tls_version_name(0, buf) == "UNDETERMINED");
  CHECK(tls_version_name(0x0300, buf) == "SSLv3");
  CHECK(tls_version_name(0x0301, buf) == "TLSv1");
  CHECK(tls_version_name(0x0302, buf) == "TLS 1.1");
  CHECK(tls_version_name(0x0304, buf) == "TLS 1.3");
  CHECK(tls_version_name(0x7f1c, buf) == "TLS 1.3 draft-28");
  CHECK(tls_version_name(0x7f01, buf) == "TLS 1.3 draft-<16");
  CHECK(tls_version_name(0x1234, buf) == "0x1234");
}

TEST_CASE("app-layer.tls settings: defaults equal the embedded yaml, limits checked") {
  auto embedded = load_settings(std::nullopt, {});
  REQUIRE(embedded);
  const AppLayerTlsSettings defaults;
  CHECK(embedded->app_layer.tls.memcap == defaults.memcap);
  CHECK(embedded->app_layer.tls.handshake_limit == defaults.handshake_limit);
  auto set = load_settings(std::nullopt, {"app-layer.tls.memcap=8mb", "app-layer.tls.handshake-limit=32kb"});
  REQUIRE(set);
  CHECK(set->app_layer.tls.memcap == 8ull << 20);
  CHECK(set->app_layer.tls.handshake_limit == 32u << 10);
  auto big = load_settings(std::nullopt, {"app-layer.tls.handshake-limit=2mb"});
  REQUIRE_FALSE(big);
  CHECK(big.error()[0].message ==
        "--set app-layer.tls.handshake-limit=2mb: '2mb' is too large (expected at most 1mb)");
  auto unknown = load_settings(std::nullopt, {"app-layer.tls.ja3=yes"});
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error()[0].message.rfind("--set app-layer.tls.ja3=yes: unknown key", 0) == 0);
}

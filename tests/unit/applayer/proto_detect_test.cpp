#include <catch2/catch.hpp>

#include "sensor/applayer/proto_detect.hpp"
#include "app_layer_harness.hpp"

using namespace eastwatch;
using namespace eastwatch::test;

namespace {

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
  return s;
}

// A DNS query for "example.com" A IN, without a TCP length prefix.
std::string dns_query() {
  return bytes({0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 7}) + "example" + bytes({3}) + "com" +
         bytes({0, 0, 1, 0, 1});
}

std::string tls_client_hello() { return bytes({0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00, 0x00, 0x3c, 0x03, 0x03}); }

}  // namespace

TEST_CASE("HTTP is detected by its request line on any port") {
  AppLayerHarness h({}, 8080);
  h.request("GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n");
  CHECK(h.proto() == AppProto::Http);
  CHECK(h.counters().flow_http == 1);
}

TEST_CASE("detection waits for more bytes when the first segment is a prefix") {
  AppLayerHarness h({}, 1234);
  h.request("GE");
  CHECK(h.proto() == AppProto::Unknown);
  const auto& out = h.request("T /x HTTP/1.0\r\n\r\n");
  CHECK(h.proto() == AppProto::Http);
  // The parser got the bytes of the first segment too (from the look-back view).
  REQUIRE(out.transactions().size() == 1);
  CHECK(text(out.transactions()[0], HttpBuffer::Method) == "GET");
  CHECK(text(out.transactions()[0], HttpBuffer::Uri) == "/x");
}

TEST_CASE("an HTTP response is detected to the client") {
  AppLayerHarness h({}, 9999);
  h.response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  CHECK(h.proto() == AppProto::Http);
}

TEST_CASE("TLS, SSH and SMB are detected by content on odd ports") {
  AppLayerHarness tls({}, 4443);
  tls.request(tls_client_hello());
  CHECK(tls.proto() == AppProto::Tls);
  CHECK(tls.counters().flow_tls == 1);

  AppLayerHarness ssh({}, 2222);
  ssh.response("SSH-2.0-OpenSSH_9.2\r\n");
  CHECK(ssh.proto() == AppProto::Ssh);

  AppLayerHarness smb({}, 4445);
  smb.request(bytes({0x00, 0x00, 0x00, 0x40, 0xfe, 'S', 'M', 'B', 0x40, 0x00}));
  CHECK(smb.proto() == AppProto::Smb);
  AppLayerHarness smb1({}, 139);
  smb1.request(bytes({0x00, 0x00, 0x00, 0x40, 0xff, 'S', 'M', 'B', 0x72}));
  CHECK(smb1.proto() == AppProto::Smb);
}

TEST_CASE("TLS needs a handshake record with a hello of the right direction") {
  const std::string hello = tls_client_hello();
  const std::span<const uint8_t> data(reinterpret_cast<const uint8_t*>(hello.data()), hello.size());
  CHECK(probe_tcp(data, true, 443).proto == AppProto::Tls);
  CHECK(probe_tcp(data, false, 443).proto != AppProto::Tls);  // a ClientHello from the server
  std::string alert = hello;
  alert[0] = 0x15;
  CHECK(probe_tcp({reinterpret_cast<const uint8_t*>(alert.data()), alert.size()}, true, 443).proto !=
        AppProto::Tls);
  CHECK(probe_tcp(data.first(3), true, 443).verdict == ProbeVerdict::NeedMore);
}

TEST_CASE("FTP and SMTP banners and commands") {
  AppLayerHarness ftp({}, 2121);
  ftp.response("220 ProFTPD Server (Debian) ready.\r\n");
  CHECK(ftp.proto() == AppProto::Ftp);
  AppLayerHarness smtp({}, 2525);
  smtp.response("220 mail.example.com ESMTP Postfix\r\n");
  CHECK(smtp.proto() == AppProto::Smtp);
  AppLayerHarness ehlo({}, 2526);
  ehlo.request("EHLO client.example.com\r\n");
  CHECK(ehlo.proto() == AppProto::Smtp);
}

TEST_CASE("DNS over UDP: loose on port 53, strict elsewhere") {
  AppLayerHarness on53({}, 53, 17);
  on53.datagram(true, dns_query());
  CHECK(on53.proto() == AppProto::Dns);
  CHECK(on53.counters().flow_dns_udp == 1);

  AppLayerHarness odd({}, 5300, 17);
  odd.datagram(true, dns_query());
  CHECK(odd.proto() == AppProto::Dns);

  // Two questions: fine on 53, not off it.
  std::string two = dns_query();
  two[5] = 2;
  CHECK(looks_like_dns({reinterpret_cast<const uint8_t*>(two.data()), two.size()}, false));
  CHECK_FALSE(looks_like_dns({reinterpret_cast<const uint8_t*>(two.data()), two.size()}, true));

  AppLayerHarness junk({}, 53, 17);
  junk.datagram(true, "hello, this is not dns at all");
  CHECK(junk.proto() == AppProto::Failed);
  CHECK(junk.counters().failed_udp == 1);
}

TEST_CASE("DNS over TCP by its length prefix and header") {
  const std::string q = dns_query();
  AppLayerHarness h({}, 5353);
  h.request(bytes({0, static_cast<int>(q.size())}) + q);
  CHECK(h.proto() == AppProto::Dns);
  CHECK(h.counters().flow_dns_tcp == 1);
}

TEST_CASE("a flow whose both directions match nothing is failed") {
  AppLayerHarness h({}, 7777);
  h.request(std::string(2000, 'x'));
  CHECK(h.proto() == AppProto::Unknown);  // the other direction may still tell
  h.response(std::string(2000, 'y'));
  CHECK(h.proto() == AppProto::Failed);
  CHECK(h.counters().failed_tcp == 1);
  CHECK(app_proto_name(h.proto()) == "failed");
}

TEST_CASE("a direction whose start was not seen is not probed") {
  AppLayerHarness h({}, 80);
  h.update.reset(true);
  h.update.tracked = true;
  static const char kData[] = "GET / HTTP/1.1\r\n\r\n";
  h.update.spans[0] = {reinterpret_cast<const uint8_t*>(kData), sizeof kData - 1, 5000, true};
  h.update.span_count = 1;
  h.update.window = {reinterpret_cast<const uint8_t*>(kData), sizeof kData - 1};
  h.update.window_offset = 5000;
  h.app->process(h.packet, &h.update);
  CHECK(h.proto() == AppProto::Unknown);
  CHECK((h.flow.app_detect & 0x01) != 0);
}

#include <zlib.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include <catch2/catch.hpp>

#include "app_layer_harness.hpp"
#include "tls_builder.hpp"
#include "tests/unit/support/resident_memory.hpp"

using namespace eastwatch;
using namespace eastwatch::test;

// Proves the packet path allocates nothing (skipped under AddressSanitizer).
#include "tests/unit/support/counting_allocator.hpp"

TEST_CASE("parsing HTTP (pipelined, chunked, gzip) allocates nothing") {
  if (!EASTWATCH_COUNTING_ALLOCATOR) {
    WARN("skipped under AddressSanitizer: it replaces operator new");
    return;
  }
  // The compressed body and the messages are made before counting.
  std::string plain(20000, 'z');
  z_stream z{};
  REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string gz(deflateBound(&z, plain.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(plain.data());
  z.avail_in = static_cast<uInt>(plain.size());
  z.next_out = reinterpret_cast<Bytef*>(gz.data());
  z.avail_out = static_cast<uInt>(gz.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  gz.resize(z.total_out);
  deflateEnd(&z);
  const std::string requests =
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3;e\r\nabc\r\n0\r\n\r\n";
  const std::string responses = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Encoding: "
                                "gzip\r\nContent-Length: " +
                                std::to_string(gz.size()) + "\r\n\r\n" + gz;
  AppLayerHarness h;
  const uint64_t before = g_allocations.load();
  for (int round = 0; round < 20; ++round) {
    for (size_t i = 0; i < requests.size(); i += 7) h.request(std::string_view(requests).substr(i, 7));
    for (size_t i = 0; i < responses.size(); i += 100) h.response(std::string_view(responses).substr(i, 100));
  }
  h.app->release(h.flow);
  CHECK(g_allocations.load() == before);
  CHECK(h.counters().tx_http == 40);
  CHECK(h.counters().http.gzip_decompression_failed == 0);
}

TEST_CASE("parsing TLS handshakes (fragmented records, certificates, JA3) allocates nothing") {
  if (!EASTWATCH_COUNTING_ALLOCATOR) {
    WARN("skipped under AddressSanitizer: it replaces operator new");
    return;
  }
  const std::string hello = test_client_hello();
  const std::string flight = test_server_flight() + tls_record(20, "\x01") + tls_record(22, std::string(40, 'f'));
  AppLayerHarness h({}, 443);
  const uint64_t before = g_allocations.load();
  uint32_t certificates = 0;
  for (int round = 0; round < 20; ++round) {
    h.flow.app_proto = 0;  // a new flow on the same Flow: detected and given a state again
    h.flow.app_detect = 0;
    h.flow.app_state = 0;
    h.sent[0].clear();
    h.sent[1].clear();
    for (size_t i = 0; i < hello.size(); i += 61) h.request(std::string_view(hello).substr(i, 61));
    for (size_t i = 0; i < flight.size(); i += 97) {
      h.response(std::string_view(flight).substr(i, 97));
      for (const TlsEntry& e : h.app->tls_output().entries()) certificates += e.has(TlsPart::Certificate);
    }
    h.app->release(h.flow);
  }
  CHECK(g_allocations.load() == before);
  CHECK(certificates == 20);
  CHECK(h.counters().tls.tx == 20);
  CHECK(h.counters().tls.states_in_use == 0);
}

TEST_CASE("a default AppLayer reserves its pools but backs only the pages a flow uses") {
  const uint64_t before = resident_bytes();
  AppLayerHarness h;  // the default memcaps
  const uint64_t reserved = uint64_t{h.app->http_capacity()} * 2 * h.settings.http.header_limit +
                            uint64_t{h.app->tls_capacity()} * 2 * h.settings.tls.handshake_limit;
  REQUIRE(reserved > (32u << 20));
  h.send(true, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  h.send(false, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  CHECK(h.app->counters().http_states_in_use == 1);
  CHECK(resident_bytes() - before < reserved / 8);
}

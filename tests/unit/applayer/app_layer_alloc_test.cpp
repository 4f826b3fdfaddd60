#include <zlib.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include <catch2/catch.hpp>

#include "app_layer_harness.hpp"

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

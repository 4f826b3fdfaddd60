#include <zlib.h>

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "app_layer_harness.hpp"

using namespace eastwatch;
using namespace eastwatch::test;

namespace {

std::string gzip(const std::string& data, int window_bits = 15 + 16) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// The body bytes of a side, gathered over the packets of a conversation.
struct BodyCollector {
  std::string body;
  bool complete = false;
  void add(const HttpOutput& out, uint64_t tx_id, bool request_side) {
    const HttpTransaction* tx = find_tx(out, tx_id, request_side);
    if (tx == nullptr) return;
    const HttpBuffer b = request_side ? HttpBuffer::RequestBody : HttpBuffer::ResponseBody;
    if (tx->progress & http_bit(b)) {
      CHECK(tx->body_offset == body.size());
      body += text(*tx, b);
    }
    if (tx->complete & http_bit(b)) complete = true;
  }
};

}  // namespace

TEST_CASE("a simple GET and its response") {
  AppLayerHarness h;
  const auto& req = h.request(
      "GET /a/./b/../c%41?x=%41 HTTP/1.1\r\nHost: WWW.Example.com:8080\r\nUser-Agent: curl/8.0\r\n"
      "Accept: */*\r\nCookie: k=v\r\nReferer: http://r/\r\n\r\n");
  REQUIRE(req.transactions().size() == 1);
  const HttpTransaction& tx = req.transactions()[0];
  CHECK(tx.tx_id == 0);
  CHECK(tx.request_side);
  CHECK(text(tx, HttpBuffer::Method) == "GET");
  CHECK(text(tx, HttpBuffer::UriRaw) == "/a/./b/../c%41?x=%41");
  CHECK(text(tx, HttpBuffer::Uri) == "/a/cA?x=%41");
  CHECK(text(tx, HttpBuffer::Protocol) == "HTTP/1.1");
  CHECK(text(tx, HttpBuffer::RequestLine) == "GET /a/./b/../c%41?x=%41 HTTP/1.1");
  CHECK(text(tx, HttpBuffer::Host) == "www.example.com");
  CHECK(text(tx, HttpBuffer::HostRaw) == "WWW.Example.com:8080");
  CHECK(text(tx, HttpBuffer::UserAgent) == "curl/8.0");
  CHECK(text(tx, HttpBuffer::Cookie) == "k=v");
  CHECK(text(tx, HttpBuffer::Accept) == "*/*");
  CHECK(text(tx, HttpBuffer::Referer) == "http://r/");
  CHECK(text(tx, HttpBuffer::RequestHeaders) ==
        "Host: WWW.Example.com:8080\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\nCookie: k=v\r\nReferer: http://r/\r\n");
  CHECK(text(tx, HttpBuffer::RequestHeaderNames) == "\r\nHost\r\nUser-Agent\r\nAccept\r\nCookie\r\nReferer\r\n\r\n");
  CHECK(text(tx, HttpBuffer::RequestHeadersRaw).rfind("Host: WWW", 0) == 0);
  CHECK(tx.header_count == 5);
  CHECK((tx.complete & http_bit(HttpBuffer::Uri)) != 0);
  CHECK((tx.complete & http_bit(HttpBuffer::RequestBody)) == 0);
  CHECK(h.counters().tx_http == 1);

  const auto& resp = h.response("HTTP/1.1 404 Not Found\r\nServer: nginx\r\nContent-Type: text/html; charset=utf-8\r\n"
                                "Content-Length: 5\r\n\r\nhello");
  const HttpTransaction* r = find_tx(resp, 0, false);
  REQUIRE(r != nullptr);
  CHECK(r->status == 404);
  CHECK(text(*r, HttpBuffer::StatusCode) == "404");
  CHECK(text(*r, HttpBuffer::StatusMessage) == "Not Found");
  CHECK(text(*r, HttpBuffer::Server) == "nginx");
  CHECK(text(*r, HttpBuffer::ResponseLine) == "HTTP/1.1 404 Not Found");
  CHECK(text(*r, HttpBuffer::ResponseBody) == "hello");
  CHECK((r->complete & http_bit(HttpBuffer::ResponseBody)) != 0);

  const HttpEveData* eve = h.app->http_eve(h.flow);
  REQUIRE(eve != nullptr);
  CHECK(eve->hostname.view() == "www.example.com");
  CHECK(eve->url.view() == "/a/./b/../c%41?x=%41");
  CHECK(eve->http_method.view() == "GET");
  CHECK(eve->protocol.view() == "HTTP/1.1");
  CHECK(eve->http_user_agent.view() == "curl/8.0");
  CHECK(eve->http_refer.view() == "http://r/");
  CHECK(eve->status == 404);
  CHECK(eve->http_content_type.view() == "text/html");
  CHECK(eve->length == 5);
}

TEST_CASE("a POST body by Content-Length split over many segments") {
  AppLayerHarness h;
  const std::string body = "field=value&other=12345678901234567890";
  const std::string message = "POST /submit HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                              "\r\n\r\n" + body + "GET /next HTTP/1.1\r\nHost: x\r\n\r\n";
  BodyCollector collected;
  bool saw_next = false;
  for (size_t i = 0; i < message.size(); i += 3) {
    const auto& out = h.request(message.substr(i, 3));
    collected.add(out, 0, true);
    if (const HttpTransaction* next = find_tx(out, 1, true)) saw_next = text(*next, HttpBuffer::Uri) == "/next";
  }
  CHECK(collected.body == body);
  CHECK(collected.complete);
  CHECK(saw_next);
  CHECK(h.counters().tx_http == 2);
}

TEST_CASE("chunked bodies with extensions and trailers") {
  AppLayerHarness h;
  const auto& out = h.request(
      "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n"
      "GET /after HTTP/1.1\r\nHost: x\r\n\r\n");
  const HttpTransaction* tx = find_tx(out, 0, true);
  REQUIRE(tx != nullptr);
  CHECK(text(*tx, HttpBuffer::RequestBody) == "hello world");
  CHECK((tx->complete & http_bit(HttpBuffer::RequestBody)) != 0);
  CHECK(h.counters().http.request_chunk_extension == 1);
  const HttpTransaction* after = find_tx(out, 1, true);
  REQUIRE(after != nullptr);
  CHECK(text(*after, HttpBuffer::Uri) == "/after");

  // A chunked response split inside the size line and the data.
  BodyCollector body;
  body.add(h.response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1"), 0, false);
  body.add(h.response("0\r\n0123456"), 0, false);
  body.add(h.response("789abcdef\r\n0\r\n\r\n"), 0, false);
  CHECK(body.body == "0123456789abcdef");
  CHECK(body.complete);
}

TEST_CASE("an invalid chunk length is counted and parsing of the direction stops") {
  AppLayerHarness h;
  h.request("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n");
  CHECK(h.counters().http.invalid_request_chunk_len == 1);
  CHECK(h.counters().error_http_parser == 1);
  CHECK(h.request("GET / HTTP/1.1\r\n\r\n").transactions().empty());
}

TEST_CASE("gzip and deflate response bodies are decompressed") {
  const std::string plain = "<html>" + std::string(3000, 'a') + "</html>";
  for (const int bits : {15 + 16, 15, -15}) {
    AppLayerHarness h;
    h.request("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string z = gzip(plain, bits);
    const std::string encoding = bits == 15 + 16 ? "gzip" : "deflate";
    BodyCollector body;
    const std::string head = "HTTP/1.1 200 OK\r\nContent-Encoding: " + encoding +
                             "\r\nContent-Length: " + std::to_string(z.size()) + "\r\n\r\n";
    body.add(h.response(head + z.substr(0, 10)), 0, false);
    body.add(h.response(z.substr(10)), 0, false);
    CHECK(body.body == plain);
    CHECK(body.complete);
    CHECK(h.counters().http.gzip_decompression_failed == 0);
    CHECK(h.app->http_eve(h.flow)->length == z.size());
  }
}

TEST_CASE("a corrupt gzip body is counted") {
  AppLayerHarness h;
  h.request("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  h.response("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 12\r\n\r\nnot gzipped!");
  CHECK(h.counters().http.gzip_decompression_failed == 1);
}

TEST_CASE("a zip bomb stops at the size limit and at the ratio limit") {
  AppLayerSettings s;
  s.http.response_body_limit = 16 << 20;
  s.http.compression_bomb_limit = 1 << 20;
  AppLayerHarness h(s);
  h.request("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string z = gzip(std::string(8 << 20, '\0'));
  BodyCollector body;
  body.add(h.response("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n" + z), 0, false);
  CHECK(h.counters().http.compression_bomb == 1);
  CHECK(body.body.size() <= (1u << 20) + 1);
  CHECK(body.body.size() >= (1u << 20));
  CHECK(body.complete);

  AppLayerSettings r;
  r.http.response_body_limit = 16 << 20;
  r.http.compression_bomb_limit = 64 << 20;
  r.http.compression_bomb_ratio = 100;
  AppLayerHarness ratio(r);
  ratio.request("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ratio.response("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n" + gzip(std::string(4 << 20, '\0')));
  CHECK(ratio.counters().http.compression_bomb == 1);
}

TEST_CASE("pipelined requests in one segment, responses matched in order") {
  AppLayerHarness h;
  const auto& req = h.request(
      "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nHEAD /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(req.transactions().size() == 3);
  CHECK(text(*find_tx(req, 0, true), HttpBuffer::Uri) == "/1");
  CHECK(text(*find_tx(req, 1, true), HttpBuffer::Uri) == "/2");
  CHECK(text(*find_tx(req, 2, true), HttpBuffer::Uri) == "/3");
  // The HEAD response has a Content-Length but no body.
  const auto& resp = h.response(
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 301 Moved\r\nContent-Length: 10\r\nLocation: /x\r\n\r\n"
      "HTTP/1.1 500 Err\r\nContent-Length: 3\r\n\r\nbad");
  REQUIRE(find_tx(resp, 0, false) != nullptr);
  REQUIRE(find_tx(resp, 1, false) != nullptr);
  REQUIRE(find_tx(resp, 2, false) != nullptr);
  CHECK(find_tx(resp, 0, false)->status == 200);
  CHECK(find_tx(resp, 1, false)->status == 301);
  CHECK(text(*find_tx(resp, 1, false), HttpBuffer::Location) == "/x");
  CHECK(find_tx(resp, 2, false)->status == 500);
  CHECK(text(*find_tx(resp, 2, false), HttpBuffer::ResponseBody) == "bad");
  CHECK(h.counters().http.unable_to_match_response_to_request == 0);
}

TEST_CASE("100 Continue is skipped, the final response belongs to the request") {
  AppLayerHarness h;
  h.request("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
  const auto& out = h.response("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n");
  REQUIRE(find_tx(out, 0, false) != nullptr);
  CHECK(find_tx(out, 0, false)->status == 201);
}

TEST_CASE("HTTP/0.9 requests and responses") {
  AppLayerHarness h;
  const auto& out = h.request("GET /old.html\r\n");
  REQUIRE(out.transactions().size() == 1);
  const HttpTransaction& tx = out.transactions()[0];
  CHECK(text(tx, HttpBuffer::Method) == "GET");
  CHECK(text(tx, HttpBuffer::Uri) == "/old.html");
  CHECK(tx.get(HttpBuffer::Protocol).empty());
  CHECK(h.counters().http09_requests == 1);
  BodyCollector body;
  body.add(h.response("<html>old</html>\n"), 0, false);
  body.add(h.response("more", true), 0, false);
  CHECK(body.body == "<html>old</html>\nmore");
  CHECK(body.complete);  // until close
}

TEST_CASE("folded headers, duplicate headers, missing colons") {
  AppLayerHarness h;
  const auto& out = h.request(
      "GET / HTTP/1.1\r\nHost: x\r\nX-Long: first\r\n  second\r\n\tthird\r\nX-Dup: 1\r\nx-dup: 2\r\nNoColon\r\n\r\n");
  REQUIRE(out.transactions().size() == 1);
  const HttpTransaction& tx = out.transactions()[0];
  REQUIRE(tx.header_count == 5);
  CHECK(tx.headers[1].name.text() == "X-Long");
  CHECK(tx.headers[1].value.text() == "first second third");
  CHECK(tx.headers[3].value.text() == "2");
  CHECK(text(tx, HttpBuffer::RequestHeaders) ==
        "Host: x\r\nX-Long: first second third\r\nX-Dup: 1\r\nx-dup: 2\r\nNoColon: \r\n");
  CHECK(h.counters().http.request_header_repetition == 1);
  CHECK(h.counters().http.request_field_missing_colon == 1);
}

TEST_CASE("bare LF line ends and missing CRs are accepted") {
  AppLayerHarness h;
  const auto& out = h.request("GET /lf HTTP/1.1\nHost: Lf.Example\nUser-Agent: x\r\n\n");
  REQUIRE(out.transactions().size() == 1);
  CHECK(text(out.transactions()[0], HttpBuffer::Uri) == "/lf");
  CHECK(text(out.transactions()[0], HttpBuffer::Host) == "lf.example");
  CHECK(text(out.transactions()[0], HttpBuffer::UserAgent) == "x");
  CHECK(h.counters().bare_lf_lines == 3);
}

TEST_CASE("a huge header line is cut at the header limit and counted") {
  AppLayerSettings s;
  s.http.header_limit = 1024;
  AppLayerHarness h(s);
  const auto& out = h.request("GET /big HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(5000, 'A') +
                              "\r\nX-After: lost\r\n\r\nGET /next HTTP/1.1\r\nHost: y\r\n\r\n");
  CHECK(h.counters().http.request_field_too_long == 1);
  const HttpTransaction* big = find_tx(out, 0, true);
  REQUIRE(big != nullptr);
  CHECK(text(*big, HttpBuffer::Uri) == "/big");
  CHECK(big->get(HttpBuffer::RequestHeadersRaw).len < 1024);
  const HttpTransaction* next = find_tx(out, 1, true);
  REQUIRE(next != nullptr);
  CHECK(text(*next, HttpBuffer::Host) == "y");
}

TEST_CASE("body inspection stops at the body limit") {
  AppLayerSettings s;
  s.http.request_body_limit = 10;
  AppLayerHarness h(s);
  BodyCollector body;
  body.add(h.request("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + std::string(50, 'b')), 0, true);
  CHECK(body.body == std::string(10, 'b'));
  CHECK(body.complete);
  CHECK(h.counters().body_limit_reached == 1);
  // The rest of the body is still skipped in step: the next request parses.
  const auto& out = h.request(std::string(50, 'b') + "GET /n HTTP/1.1\r\n\r\n");
  REQUIRE(find_tx(out, 1, true) != nullptr);
}

TEST_CASE("a gap in a body of known length is skipped, in headers it stops parsing") {
  AppLayerHarness h;
  h.request("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n12345");
  // 10 body bytes lost, then the rest of the body and a new request.
  const std::string rest = "67890GET /g HTTP/1.1\r\n\r\n";
  const uint64_t offset = h.sent[0].size() + 10;
  h.sent[0].append(std::string(10, '?')).append(rest);
  h.update.reset(true);
  h.update.tracked = true;
  h.update.spans[0] = {reinterpret_cast<const uint8_t*>(h.sent[0].data()) + offset, static_cast<uint32_t>(rest.size()),
                       offset, true};
  h.update.span_count = 1;
  h.app->process(h.packet, &h.update);
  REQUIRE(find_tx(h.app->http_output(), 1, true) != nullptr);
  CHECK(h.counters().error_http_gap == 0);
}

TEST_CASE("the request URI's authority and the Host header") {
  AppLayerHarness h;
  const auto& out = h.request("GET http://Proxy.Example:3128/p/../q HTTP/1.1\r\nHost: other\r\n\r\n");
  REQUIRE(out.transactions().size() == 1);
  CHECK(text(out.transactions()[0], HttpBuffer::Uri) == "/q");
  CHECK(text(out.transactions()[0], HttpBuffer::Host) == "proxy.example");
  CHECK(h.counters().http.host_header_ambiguous == 1);
  AppLayerHarness missing;
  missing.request("GET / HTTP/1.1\r\nUser-Agent: x\r\n\r\n");
  CHECK(missing.counters().http.missing_host_header == 1);
}

TEST_CASE("the HTTP state pool is bounded by the memcap") {
  AppLayerSettings s;
  s.memcap = 1 << 20;
  s.http.header_limit = 256 << 10;  // 512 KB per flow: two flows fit
  std::vector<std::unique_ptr<AppLayerHarness>> flows;
  AppLayer shared(s);
  std::vector<Flow> f(3);
  std::string req = "GET / HTTP/1.1\r\n\r\n";
  for (auto& flow : f) {
    Packet p;
    p.ip_version = 4;
    p.ip_proto = 6;
    p.flow = &flow;
    p.to_server = true;
    StreamUpdate u;
    u.reset(true);
    u.tracked = true;
    u.spans[0] = {reinterpret_cast<const uint8_t*>(req.data()), static_cast<uint32_t>(req.size()), 0, false};
    u.span_count = 1;
    u.window = {reinterpret_cast<const uint8_t*>(req.data()), req.size()};
    shared.process(p, &u);
  }
  CHECK(shared.http_capacity() < 3);
  CHECK(shared.counters().error_http_alloc == 3 - shared.http_capacity());
  CHECK(shared.counters().flow_http == 3);
  for (auto& flow : f) shared.release(flow);
  CHECK(shared.counters().http_states_in_use == 0);
}

TEST_CASE("a response without a length runs until the direction ends") {
  AppLayerHarness h;
  h.request("GET / HTTP/1.0\r\n\r\n");
  BodyCollector body;
  body.add(h.response("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nfirst "), 0, false);
  CHECK_FALSE(body.complete);
  body.add(h.response("last", true), 0, false);
  CHECK(body.body == "first last");
  CHECK(body.complete);
}

TEST_CASE("101 Switching Protocols ends HTTP parsing on the flow") {
  AppLayerHarness h;
  h.request("GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
  const auto& out = h.response("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello");
  REQUIRE(find_tx(out, 0, false) != nullptr);
  CHECK(find_tx(out, 0, false)->status == 101);
  CHECK(h.request("GET /not-http-any-more HTTP/1.1\r\n\r\n").transactions().empty());
  CHECK(h.counters().tx_http == 1);
}

TEST_CASE("Content-Length anomalies") {
  AppLayerHarness dup;
  dup.request("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabc");
  CHECK(dup.counters().http.duplicate_content_length_field_in_request == 1);
  AppLayerHarness bad;
  bad.request("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\nabc");
  CHECK(bad.counters().http.invalid_content_length_field_in_request == 1);
  CHECK(bad.counters().error_http_parser == 1);
}

TEST_CASE("a response with no request queued is counted and still parsed") {
  AppLayerHarness h;
  const auto& out = h.response("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx");
  CHECK(h.counters().http.unable_to_match_response_to_request == 1);
  REQUIRE(out.transactions().size() == 1);
  CHECK(text(out.transactions()[0], HttpBuffer::ResponseBody) == "x");
}

TEST_CASE("more than kMaxTx transactions in one packet are counted, the parser keeps step") {
  AppLayerHarness h;
  std::string many;
  for (int i = 0; i < 20; ++i) many += "GET /" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
  const auto& out = h.request(many);
  CHECK(out.transactions().size() == HttpOutput::kMaxTx);
  CHECK(h.counters().tx_overflow == 20 - HttpOutput::kMaxTx);
  CHECK(h.counters().tx_http == 20);
  const auto& next = h.request("GET /20 HTTP/1.1\r\n\r\n");
  REQUIRE(find_tx(next, 20, true) != nullptr);
  CHECK(text(*find_tx(next, 20, true), HttpBuffer::Uri) == "/20");
}

TEST_CASE("CONNECT: a 2xx answer makes a tunnel, a refusal lets HTTP go on") {
  AppLayerHarness tunnel;
  tunnel.request("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  tunnel.response("HTTP/1.1 200 Connection established\r\n\r\n");
  CHECK(tunnel.request("\x16\x03\x01 not http GET / HTTP/1.1\r\n\r\n").transactions().empty());
  CHECK(tunnel.response("HTTP/1.1 200 OK\r\n\r\n").transactions().empty());
  CHECK(tunnel.counters().http.request_line_invalid == 0);

  AppLayerHarness refused;
  refused.request("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  refused.response("HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n");
  const auto& out = refused.request("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n");
  REQUIRE(find_tx(out, 1, true) != nullptr);
  CHECK(text(*find_tx(out, 1, true), HttpBuffer::Host) == "example.com");
}

TEST_CASE("with the output's bytes unread the parser gives the same entries, lengths and counters") {
  // A worker whose rules read no application-layer buffer skips writing body and carried
  // header bytes (AppLayer::set_output_read(false)); everything else must stay as it is.
  AppLayerHarness filled, unread;
  unread.app->set_output_read(false);
  const std::string body(3000, 'b');
  const std::string chunked_body = "5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\n\r\n";
  const std::string request = "POST /up HTTP/1.1\r\nHost: h\r\nUser-Agent: ua\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body + "GET /c HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string response = "HTTP/1.1 200 OK\r\nServer: s\r\nContent-Length: 4\r\n\r\nokayHTTP/1.1 200 OK\r\n"
                               "Transfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n" + chunked_body;
  auto same = [](const HttpOutput& a, const HttpOutput& b) {
    REQUIRE(a.transactions().size() == b.transactions().size());
    for (size_t i = 0; i < a.transactions().size(); ++i) {
      const HttpTransaction& x = a.transactions()[i];
      const HttpTransaction& y = b.transactions()[i];
      CHECK(x.tx_id == y.tx_id);
      CHECK(x.request_side == y.request_side);
      CHECK(x.complete == y.complete);
      CHECK(x.progress == y.progress);
      CHECK(x.carried == y.carried);
      CHECK(x.body_offset == y.body_offset);
      CHECK(x.status == y.status);
      CHECK(x.header_count == y.header_count);
      for (uint32_t k = 0; k < kHttpBufferCount; ++k) {
        const auto kind = static_cast<HttpBuffer>(k);
        CHECK(x.get(kind).len == y.get(kind).len);
        const bool unwritten = (y.carried & http_bit(kind)) || kind == HttpBuffer::RequestBody ||
                               kind == HttpBuffer::ResponseBody;
        if (!unwritten) CHECK(x.get(kind).text() == y.get(kind).text());  // headers are still written
      }
    }
  };
  uint64_t carried_entries = 0, body_pieces = 0;
  for (size_t i = 0; i < request.size(); i += 700) {
    const HttpOutput& a = filled.request(request.substr(i, 700));
    same(a, unread.request(request.substr(i, 700)));
    for (const HttpTransaction& tx : a.transactions()) {
      if (tx.carried != 0) ++carried_entries;
      if (tx.progress & http_bit(HttpBuffer::RequestBody)) ++body_pieces;
    }
  }
  for (size_t i = 0; i < response.size(); i += 9) same(filled.response(response.substr(i, 9)), unread.response(response.substr(i, 9)));
  CHECK(carried_entries >= 3);  // the body's later pieces carried the request's headers
  CHECK(body_pieces >= 4);
  std::vector<std::pair<std::string, uint64_t>> a, b;
  filled.counters().visit([&](std::string_view name, uint64_t v) { a.emplace_back(name, v); });
  filled.counters().visit_extra([&](std::string_view name, uint64_t v) { a.emplace_back(name, v); });
  unread.counters().visit([&](std::string_view name, uint64_t v) { b.emplace_back(name, v); });
  unread.counters().visit_extra([&](std::string_view name, uint64_t v) { b.emplace_back(name, v); });
  CHECK(a == b);
  CHECK(filled.counters().tx_http == 2);  // the two requests
}

TEST_CASE("a header block split at every byte boundary parses as the whole block does") {
  // Blank lines before the request line, CRLF and bare LF lines, a fold, and the CR of a CRLF
  // at the end of a segment: feed_headers copies runs of lines, flushed at each segment's end.
  // One flow per header limit; the block is sent again (a new transaction) for each cut.
  const std::string block =
      "\r\n\nGET /split HTTP/1.1\r\nHost: Split.Example\nUser-Agent: a\r\n b\r\nX-Long: " + std::string(200, 'L') +
      "\r\nAccept: */*\r\n\r\n";
  for (uint32_t limit : {4096u, 96u}) {
    AppLayerSettings s;
    s.http.header_limit = limit;
    AppLayerHarness h(s);
    uint64_t tx_id = 0;
    auto parse = [&](size_t cut) {
      std::string raw, normalized, ua, host;
      const uint64_t lf_before = h.counters().bare_lf_lines, long_before = h.counters().http.request_field_too_long;
      for (const std::string& part : {block.substr(0, cut), block.substr(cut)}) {
        if (part.empty()) continue;
        const auto& out = h.request(part);
        if (const HttpTransaction* tx = find_tx(out, tx_id, true)) {
          raw = text(*tx, HttpBuffer::RequestHeadersRaw);
          normalized = text(*tx, HttpBuffer::RequestHeaders);
          ua = text(*tx, HttpBuffer::UserAgent);
          host = text(*tx, HttpBuffer::Host);
        }
      }
      ++tx_id;
      return std::make_tuple(raw, normalized, ua, host, h.counters().bare_lf_lines - lf_before,
                             h.counters().http.request_field_too_long - long_before, h.counters().tx_http);
    };
    h.request("GET /first HTTP/1.1\r\nHost: x\r\n\r\n");  // the flow's protocol detection
    ++tx_id;
    const auto whole = parse(block.size());
    if (limit == 4096) {
      CHECK(std::get<2>(whole) == "a b");
      CHECK(std::get<3>(whole) == "split.example");
      CHECK(std::get<4>(whole) == 2);
      CHECK(std::get<5>(whole) == 0);
    } else {
      CHECK(std::get<5>(whole) == 1);
    }
    for (size_t cut = 1; cut < block.size(); ++cut) {
      INFO("limit " << limit << ", cut at " << cut);
      auto split = parse(cut);
      CHECK(std::get<6>(split) == tx_id);
      std::get<6>(split) = std::get<6>(whole);
      CHECK(split == whole);
    }
  }
}

TEST_CASE("known header names in any case: first wins for buffers, repeats counted, Set-Cookie exempt") {
  AppLayerHarness h;
  const auto& out = h.request(
      "GET /k HTTP/1.1\r\nhOST: One.Example\r\nUSER-AGENT:\r\nuser-agent: second-ua\r\nCOOKIE: c=1\r\n"
      "Accept-Language: en\r\nACCEPT-ENCODING: gzip\r\nConnection: close\r\nReferer: http://a/\r\n"
      "X-Hosts: not-host\r\nHost: two.example\r\nX-Other: 1\r\nCONTENT-TYPE: text/a\r\nContent-Type: text/b\r\n\r\n");
  const HttpTransaction* tx = find_tx(out, 0, true);
  REQUIRE(tx != nullptr);
  CHECK(text(*tx, HttpBuffer::HostRaw) == "One.Example");
  CHECK(text(*tx, HttpBuffer::Host) == "one.example");
  CHECK(text(*tx, HttpBuffer::UserAgent).empty());  // the first User-Agent, empty
  CHECK(text(*tx, HttpBuffer::Cookie) == "c=1");
  CHECK(text(*tx, HttpBuffer::AcceptLanguage) == "en");
  CHECK(text(*tx, HttpBuffer::AcceptEncoding) == "gzip");
  CHECK(text(*tx, HttpBuffer::Connection) == "close");
  CHECK(text(*tx, HttpBuffer::ContentType) == "text/a");
  CHECK(h.counters().http.request_header_repetition == 3);  // user-agent, host, content-type
  CHECK(h.counters().http.host_header_ambiguous == 0);
  const HttpEveData* eve = h.app->http_eve(h.flow);
  REQUIRE(eve != nullptr);
  CHECK(eve->http_user_agent.view() == "second-ua");  // the first non-empty one
  CHECK(eve->http_refer.view() == "http://a/");

  const auto& resp = h.response(
      "HTTP/1.1 302 Found\r\nSET-COOKIE: a=1\r\nSet-Cookie: b=2\r\nLocation: /first\r\nLOCATION: /last\r\n"
      "SERVER: s1\r\nX-Dup: 1\r\nx-DUP: 2\r\nContent-Length: 0\r\n\r\n");
  const HttpTransaction* r = find_tx(resp, 0, false);
  REQUIRE(r != nullptr);
  CHECK(text(*r, HttpBuffer::SetCookie) == "a=1");
  CHECK(text(*r, HttpBuffer::Location) == "/first");
  CHECK(text(*r, HttpBuffer::Server) == "s1");
  CHECK(text(*r, HttpBuffer::ResponseContentLength) == "0");
  CHECK(h.counters().http.response_header_repetition == 2);  // location, x-dup; not set-cookie
  CHECK(eve->redirect.view() == "/last");  // EVE's redirect: the last Location
  CHECK(eve->status == 302);
}

// The HTTP/1.x parser: one HttpFlowParser per HTTP flow (in AppLayer's pool), fed each
// direction's reassembled stream in order, lenient as libhtp is (HTTP/0.9, bare LF, folded
// and duplicate headers, chunk extensions and trailers, bodies until close).
//
// Output contract (what detection inspects):
//  - Per packet, an HttpOutput holds the transactions that made progress in it. An entry
//    carries the views of the buffers that became complete in this packet (bit
//    `1 << HttpBuffer` in `complete`); any other view is empty. Request and response sides
//    come in different packets, so an entry holds one side's buffers. Bodies are delivered
//    in pieces: the `RequestBody`/`ResponseBody` view holds this packet's new body bytes
//    (de-chunked, decompressed) starting at `body_offset` in the body; the bit is set in
//    `progress` for a piece and in `complete` at the body's end (or at the body limit).
//  - Every view points into the HttpOutput's arena (the worker's, reset per packet) and stays
//    valid until the next packet is processed (the next AppLayer::process_* call). Nothing
//    points into the flow state, so pipelined requests in one segment each keep their views.
//  - Header lists: `headers` holds the side's headers as parsed (folded lines joined by a
//    space, values trimmed), one entry per line, duplicates kept (the named views such as
//    UserAgent take the first). RequestHeaders/ResponseHeaders is the normalized block
//    ("Name: value\r\n" per header), the Raw ones are the bytes as received (without the
//    first line), HeaderNames Suricata's "\r\nName\r\n...\r\n\r\n".
//  - With HttpContext::fill_bytes false the body and carried views' bytes are left unwritten
//    (their lengths and positions are the same): only for a worker whose rules read no buffer.
//  - HttpEveData is a per-flow copy of the latest transaction's EVE `http` facts (bounded
//    strings), for an output to copy into an alert.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "config/settings.hpp"
#include "sensor/applayer/app_layer_counters.hpp"
#include "sensor/applayer/http_decompress.hpp"
#include "sensor/applayer/http_eve_data.hpp"

namespace eastwatch {

enum class HttpBuffer : uint8_t {
  Method, Uri, UriRaw, Protocol, RequestLine, RequestHeaders, RequestHeadersRaw, RequestHeaderNames, Host, HostRaw,
  UserAgent, Cookie, ContentType, ContentLength, Referer, Accept, AcceptEncoding, AcceptLanguage, Connection,
  RequestBody,
  StatusCode, StatusMessage, ResponseProtocol, ResponseLine, ResponseHeaders, ResponseHeadersRaw, ResponseHeaderNames,
  Server, Location, ResponseContentType, ResponseContentLength, SetCookie, ResponseBody,
  Count
};
inline constexpr uint32_t kHttpBufferCount = static_cast<uint32_t>(HttpBuffer::Count);
constexpr uint64_t http_bit(HttpBuffer b) noexcept { return uint64_t{1} << static_cast<uint32_t>(b); }

struct HttpHeader {
  ByteView name;
  ByteView value;
};

// The header buffers a body piece carries again (request side, response side). Detection's
// fast-pattern choice relies on this list (signatures/rule_compiler.cpp, carried_to_body).
inline constexpr uint32_t kCarriedBuffers = 10;
inline constexpr HttpBuffer kCarriedRequest[kCarriedBuffers] = {
    HttpBuffer::Method, HttpBuffer::Uri, HttpBuffer::UriRaw, HttpBuffer::Host, HttpBuffer::UserAgent,
    HttpBuffer::ContentType, HttpBuffer::Cookie, HttpBuffer::Protocol, HttpBuffer::RequestLine,
    HttpBuffer::RequestHeaders};
inline constexpr HttpBuffer kCarriedResponse[kCarriedBuffers] = {
    HttpBuffer::StatusCode, HttpBuffer::StatusMessage, HttpBuffer::ResponseContentType, HttpBuffer::Server,
    HttpBuffer::Location, HttpBuffer::SetCookie, HttpBuffer::ResponseProtocol, HttpBuffer::ResponseLine,
    HttpBuffer::ResponseHeaders, HttpBuffer::ResponseContentLength};

struct HttpTransaction {
  static constexpr uint32_t kMaxHeaders = 64;  // per side; more are counted (*_too_many_headers)

  uint64_t tx_id = 0;       // per flow, from 0, in request order
  bool request_side = true; // the side whose buffers this entry carries
  uint64_t complete = 0;    // http_bit(b): b became complete in this packet
  uint64_t progress = 0;    // http_bit(body): new body bytes in this packet
  // http_bit(b): b is the side's header buffer again, carried by an entry whose body piece
  // came in a later packet than its headers (see kCarriedRequest), so that a rule on the
  // headers and the body is checked where its body content is; not "complete" here.
  uint64_t carried = 0;
  uint64_t body_offset = 0; // offset in the decoded body of the body view's first byte
  uint16_t status = 0;      // response side: the status code (0: none / HTTP/0.9)
  ByteView buffers[kHttpBufferCount];
  HttpHeader headers[kMaxHeaders];
  uint32_t header_count = 0;

  bool has(HttpBuffer b) const noexcept { return (complete | progress | carried) & http_bit(b); }
  ByteView get(HttpBuffer b) const noexcept { return buffers[static_cast<uint32_t>(b)]; }
  std::span<const HttpHeader> header_list() const noexcept { return {headers, header_count}; }
};

// What a packet's parsing produced, and the per-worker space for it.
class HttpOutput {
 public:
  static constexpr uint32_t kMaxTx = 16;

  explicit HttpOutput(uint32_t arena_bytes);
  void reset() noexcept { tx_count_ = 0; arena_used_ = 0; }
  std::span<const HttpTransaction> transactions() const noexcept { return {txs_.get(), tx_count_}; }

  // Internal to the parser.
  HttpTransaction* entry(uint64_t tx_id, bool request_side) noexcept;
  std::span<uint8_t> free_space() noexcept { return {arena_.get() + arena_used_, arena_bytes_ - arena_used_}; }
  void commit(uint32_t bytes) noexcept { arena_used_ += bytes; }
  bool tx_overflowed = false;

 private:
  std::unique_ptr<HttpTransaction[]> txs_;
  std::unique_ptr<uint8_t[]> arena_;
  uint32_t arena_bytes_;
  uint32_t arena_used_ = 0;
  uint32_t tx_count_ = 0;
};

// Per-worker context for every HttpFlowParser.
struct HttpContext {
  const AppLayerHttpSettings& settings;
  AppLayerCounters& counters;
  HttpOutput& output;
  HttpDecompressorPool& decompressors;
  // false: nothing reads the output's bytes (no rule inspects an application-layer buffer),
  // so the body bytes and the carried header copies are not written into the arena; every
  // entry, view length, arena use and counter is still what it would be.
  bool fill_bytes = true;
};

class HttpFlowParser {
 public:
  // `buffers` holds 2 x settings.header_limit bytes (request side first), owned by the pool.
  void init(uint8_t* buffers, uint32_t header_limit) noexcept;
  // Bytes of one direction, in stream order, after the bytes of the previous call.
  void feed(bool to_server, std::span<const uint8_t> data, HttpContext& ctx) noexcept;
  // `bytes` were skipped in a direction (a reassembly gap).
  void gap(bool to_server, uint64_t bytes, HttpContext& ctx) noexcept;
  // The direction ended (FIN, depth): a body until close is complete.
  void end(bool to_server, HttpContext& ctx) noexcept;
  // The flow ended: returns its decompressors.
  void release(HttpContext& ctx) noexcept;
  const HttpEveData& eve() const noexcept { return eve_; }

  // Tunnel: after a CONNECT request, until its response (2xx: Lost, otherwise Headers again).
  enum class State : uint8_t {
    Headers, BodyLength, ChunkSize, ChunkData, ChunkDataEnd, Trailers, BodyClose, Lost, Tunnel
  };
  struct Direction {
    State state = State::Headers;
    uint8_t* buffer = nullptr;  // the header block being gathered
    uint32_t len = 0;
    uint32_t line_len = 0;      // bytes of the current line so far (stored or not)
    uint32_t lines = 0;         // lines of this block so far
    bool cut = false;           // the block outgrew the buffer
    bool last_cr = false;
    uint64_t remaining = 0;     // body or chunk bytes still to come
    uint64_t body_seen = 0;     // decoded body bytes delivered
    uint64_t body_raw = 0;
    uint64_t tx_id = 0;
    uint32_t decompressor = HttpDecompressorPool::kNone;
    ContentEncoding encoding = ContentEncoding::Identity;
    bool body_limited = false;
    bool chunk_line_bad = false;
    uint8_t chunk_line[32] = {};
    uint8_t chunk_line_len = 0;
    // Copies of the latest block's kCarried* buffers, kept in `buffer` after the raw block (the
    // next block overwrites them only after this body has ended); carried_tx: whose they are.
    uint32_t carried_off[kCarriedBuffers] = {};
    uint32_t carried_len[kCarriedBuffers] = {};
    uint64_t carried_tx = UINT64_MAX;
  };

 private:
  static constexpr uint32_t kMaxPending = 32;

  void feed_headers(bool to_server, Direction& d, const uint8_t*& p, const uint8_t* end, HttpContext& ctx) noexcept;
  void headers_done(bool to_server, Direction& d, HttpContext& ctx) noexcept;
  void start_body(bool to_server, Direction& d, uint64_t content_length, bool has_length, bool chunked,
                  bool until_close, HttpContext& ctx) noexcept;
  void body_bytes(bool to_server, Direction& d, const uint8_t* data, uint32_t len, HttpContext& ctx) noexcept;
  void keep_carried(bool to_server, Direction& d, const HttpTransaction& tx, uint32_t raw_len) noexcept;
  void carry(bool to_server, Direction& d, HttpTransaction& tx, HttpContext& ctx) noexcept;
  void body_done(bool to_server, Direction& d, HttpContext& ctx) noexcept;
  void feed_chunk_line(bool to_server, Direction& d, const uint8_t*& p, const uint8_t* end, HttpContext& ctx) noexcept;

  Direction dir_[2];  // [0] to server, [1] to client
  uint32_t header_limit_ = 0;
  uint64_t next_request_tx_ = 0;
  uint64_t next_response_tx_ = 0;  // for responses with no request queued
  // Requests still waiting for their response, in order (tx id, HEAD and CONNECT flags).
  uint64_t pending_tx_[kMaxPending] = {};
  bool pending_head_[kMaxPending] = {};
  bool pending_connect_[kMaxPending] = {};
  uint32_t pending_first_ = 0, pending_count_ = 0;
  HttpEveData eve_;
};

}  // namespace eastwatch

#include "sensor/applayer/http_parser.hpp"

#include <algorithm>
#include <cstring>

#include "sensor/applayer/http_normalize.hpp"

namespace eastwatch {

namespace {

using Span = std::span<const uint8_t>;

bool is_ws(uint8_t c) noexcept { return c == ' ' || c == '\t'; }
uint8_t lower(uint8_t c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<uint8_t>(c + 32) : c; }

Span trim(Span s) noexcept {
  size_t b = 0, e = s.size();
  while (b < e && (is_ws(s[b]) || s[b] == '\r')) ++b;
  while (e > b && (is_ws(s[e - 1]) || s[e - 1] == '\r')) --e;
  return s.subspan(b, e - b);
}

bool iequals(Span s, std::string_view word) noexcept {
  if (s.size() != word.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (lower(s[i]) != static_cast<uint8_t>(word[i])) return false;
  }
  return true;
}

bool icontains(Span s, std::string_view word) noexcept {
  for (size_t i = 0; i + word.size() <= s.size(); ++i) {
    if (iequals(s.subspan(i, word.size()), word)) return true;
  }
  return false;
}

bool equal(Span a, Span b) noexcept { return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin()); }

bool equal_nocase(ByteView a, Span b) noexcept {
  if (a.len != b.size()) return false;
  for (size_t i = 0; i < b.size(); ++i) {
    if (lower(a.data[i]) != lower(b[i])) return false;
  }
  return true;
}

// A decimal Content-Length (trimmed); false when empty, not digits or absurdly long.
bool parse_length(Span s, uint64_t& out) noexcept {
  s = trim(s);
  if (s.empty() || s.size() > 18) return false;
  uint64_t v = 0;
  for (uint8_t c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  out = v;
  return true;
}

constexpr std::string_view kKnownMethods[] = {"GET",   "POST",     "HEAD",      "PUT",   "DELETE", "OPTIONS",
                                              "CONNECT", "TRACE",  "PATCH",     "PROPFIND", "PROPPATCH", "MKCOL",
                                              "COPY",  "MOVE",     "LOCK",      "UNLOCK", "SEARCH", "REPORT",
                                              "CHECKOUT", "CHECKIN", "MERGE",   "ACL"};

bool known_method(Span m) noexcept {
  for (std::string_view k : kKnownMethods) {
    if (m.size() == k.size() && std::equal(m.begin(), m.end(), k.begin())) return true;
  }
  return false;
}

// Bounded writes into the output arena.
struct Writer {
  std::span<uint8_t> space;
  uint32_t used = 0;
  bool full = false;
  ByteView put(Span s) noexcept {
    ByteView v{space.data() + used, 0};
    append(s, v);
    return v;
  }
  void append(Span s, ByteView& v) noexcept {
    const uint32_t n = static_cast<uint32_t>(std::min<size_t>(s.size(), space.size() - used));
    if (n < s.size()) full = true;
    if (n) std::memcpy(space.data() + used, s.data(), n);
    used += n;
    v.len += n;
  }
  void append(std::string_view s, ByteView& v) noexcept {
    append(Span(reinterpret_cast<const uint8_t*>(s.data()), s.size()), v);
  }
  uint8_t* cursor() noexcept { return space.data() + used; }
};

ByteView view_of(Span s) noexcept { return {s.data(), static_cast<uint32_t>(s.size())}; }

// The header names the parser acts on, classified once per header line (by length, then the
// few names of that length) instead of compared by each consumer in turn.
enum class Known : uint8_t {
  None, Host, UserAgent, Cookie, ContentType, ContentLength, Referer, Accept, AcceptEncoding, AcceptLanguage,
  Connection, Server, Location, SetCookie, TransferEncoding, ContentEncoding, Count
};

Known classify(Span name) noexcept {
  switch (name.size()) {
    case 4: return iequals(name, "host") ? Known::Host : Known::None;
    case 6:
      if (iequals(name, "cookie")) return Known::Cookie;
      if (iequals(name, "accept")) return Known::Accept;
      return iequals(name, "server") ? Known::Server : Known::None;
    case 7: return iequals(name, "referer") ? Known::Referer : Known::None;
    case 8: return iequals(name, "location") ? Known::Location : Known::None;
    case 10:
      if (iequals(name, "user-agent")) return Known::UserAgent;
      if (iequals(name, "connection")) return Known::Connection;
      return iequals(name, "set-cookie") ? Known::SetCookie : Known::None;
    case 12: return iequals(name, "content-type") ? Known::ContentType : Known::None;
    case 14: return iequals(name, "content-length") ? Known::ContentLength : Known::None;
    case 15:
      if (iequals(name, "accept-encoding")) return Known::AcceptEncoding;
      return iequals(name, "accept-language") ? Known::AcceptLanguage : Known::None;
    case 16: return iequals(name, "content-encoding") ? Known::ContentEncoding : Known::None;
    case 17: return iequals(name, "transfer-encoding") ? Known::TransferEncoding : Known::None;
    default: return Known::None;
  }
}

struct NamedHeader {
  Known name;
  HttpBuffer request;
  HttpBuffer response;
};
constexpr HttpBuffer kNone = HttpBuffer::Count;
constexpr NamedHeader kNamed[] = {
    {Known::Host, HttpBuffer::HostRaw, kNone},
    {Known::UserAgent, HttpBuffer::UserAgent, kNone},
    {Known::Cookie, HttpBuffer::Cookie, kNone},
    {Known::ContentType, HttpBuffer::ContentType, HttpBuffer::ResponseContentType},
    {Known::ContentLength, HttpBuffer::ContentLength, HttpBuffer::ResponseContentLength},
    {Known::Referer, HttpBuffer::Referer, kNone},
    {Known::Accept, HttpBuffer::Accept, kNone},
    {Known::AcceptEncoding, HttpBuffer::AcceptEncoding, kNone},
    {Known::AcceptLanguage, HttpBuffer::AcceptLanguage, kNone},
    {Known::Connection, HttpBuffer::Connection, HttpBuffer::Connection},
    {Known::Server, kNone, HttpBuffer::Server},
    {Known::Location, kNone, HttpBuffer::Location},
    {Known::SetCookie, kNone, HttpBuffer::SetCookie},
};

}  // namespace

HttpOutput::HttpOutput(uint32_t arena_bytes)
    : txs_(std::make_unique<HttpTransaction[]>(kMaxTx)),
      arena_(std::make_unique_for_overwrite<uint8_t[]>(arena_bytes)),
      arena_bytes_(arena_bytes) {}

HttpTransaction* HttpOutput::entry(uint64_t tx_id, bool request_side) noexcept {
  for (uint32_t i = 0; i < tx_count_; ++i) {
    if (txs_[i].tx_id == tx_id && txs_[i].request_side == request_side) return &txs_[i];
  }
  if (tx_count_ == kMaxTx) {
    tx_overflowed = true;
    return nullptr;
  }
  HttpTransaction& tx = txs_[tx_count_++];
  tx.tx_id = tx_id;
  tx.request_side = request_side;
  tx.complete = tx.progress = tx.carried = tx.body_offset = 0;
  tx.status = 0;
  tx.header_count = 0;
  for (ByteView& v : tx.buffers) v = {};
  return &tx;
}

void HttpFlowParser::init(uint8_t* buffers, uint32_t header_limit) noexcept {
  header_limit_ = header_limit;
  dir_[0] = Direction{};
  dir_[1] = Direction{};
  dir_[0].buffer = buffers;
  dir_[1].buffer = buffers + header_limit;
  next_request_tx_ = next_response_tx_ = 0;
  pending_first_ = pending_count_ = 0;
  eve_.clear(0);  // the lengths only: the 2 KB of text bytes are never read past them
}

void HttpFlowParser::feed(bool to_server, std::span<const uint8_t> data, HttpContext& ctx) noexcept {
  Direction& d = dir_[to_server ? 0 : 1];
  const uint8_t* p = data.data();
  const uint8_t* const end = p + data.size();
  // Each round consumes bytes or moves to a state that will; the guard bounds it regardless.
  for (size_t round = 0; p < end && round < 2 * data.size() + 16; ++round) {
    switch (d.state) {
      case State::Headers:
        feed_headers(to_server, d, p, end, ctx);
        break;
      case State::BodyLength:
      case State::ChunkData: {
        const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(d.remaining, static_cast<uint64_t>(end - p)));
        body_bytes(to_server, d, p, n, ctx);
        p += n;
        d.remaining -= n;
        if (d.remaining == 0) {
          if (d.state == State::BodyLength) {
            body_done(to_server, d, ctx);
          } else {
            d.state = State::ChunkDataEnd;
          }
        }
        break;
      }
      case State::ChunkDataEnd:
        // CRLF after the chunk data; anything else starts the next size line (lenient).
        if (*p == '\r') {
          ++p;
        } else {
          if (*p == '\n') ++p;
          d.state = State::ChunkSize;
          d.chunk_line_len = 0;
        }
        break;
      case State::ChunkSize:
        feed_chunk_line(to_server, d, p, end, ctx);
        break;
      case State::Trailers: {
        const uint8_t* lf = static_cast<const uint8_t*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
        const uint8_t* stop = lf ? lf + 1 : end;
        for (const uint8_t* q = p; q < stop; ++q) {
          if (*q != '\r' && *q != '\n') ++d.line_len;
        }
        p = stop;
        if (lf) {
          const bool blank = d.line_len == 0;
          d.line_len = 0;
          if (blank) body_done(to_server, d, ctx);
        }
        break;
      }
      case State::BodyClose:
        body_bytes(to_server, d, p, static_cast<uint32_t>(end - p), ctx);
        p = end;
        break;
      case State::Lost:
      case State::Tunnel:
        p = end;
        break;
    }
  }
}

void HttpFlowParser::feed_headers(bool to_server, Direction& d, const uint8_t*& p, const uint8_t* end,
                                  HttpContext& ctx) noexcept {
  // The lines go into d.buffer in one copy per run of lines, not one per line: `copied` is the
  // first byte not yet there, flushed before anything reads the buffer and when the data ends.
  const uint8_t* copied = p;
  auto flush = [&](const uint8_t* upto) {
    const uint32_t n = static_cast<uint32_t>(upto - copied);
    const uint32_t keep = std::min(n, header_limit_ - d.len);
    if (keep) std::memcpy(d.buffer + d.len, copied, keep);
    d.len += keep;
    if (keep < n && !d.cut) {
      d.cut = true;
      ++(to_server ? ctx.counters.http.request_field_too_long : ctx.counters.http.response_field_too_long);
    }
    copied = upto;
  };
  while (p < end) {
    const uint8_t* lf = static_cast<const uint8_t*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (!lf) {
      d.last_cr = end[-1] == '\r';
      d.line_len += static_cast<uint32_t>(end - p);
      p = end;
      flush(end);
      return;
    }
    const uint8_t* stop = lf + 1;
    const uint32_t n = static_cast<uint32_t>(stop - p);
    const bool cr = lf > p ? lf[-1] == '\r' : d.last_cr;
    d.last_cr = false;  // the line ends in '\n'
    d.line_len += n;
    p = stop;
    const uint32_t content = d.line_len - 1 - (cr ? 1 : 0);
    d.line_len = 0;
    if (!cr) ++ctx.counters.bare_lf_lines;
    if (content == 0) {
      flush(stop);
      if (d.lines == 0) {  // empty lines before the request/status line are skipped
        d.len = 0;
        continue;
      }
      headers_done(to_server, d, ctx);
      return;
    }
    ++d.lines;
    if (d.lines == 1) {
      flush(stop);
      // HTTP/0.9: a request line without a protocol has no headers; a response that does not
      // start with "HTTP" is all body.
      const Span line = trim(Span(d.buffer, d.len));
      if (to_server) {
        size_t words = 0;
        for (size_t i = 0; i < line.size(); ++i) {
          if (!is_ws(line[i]) && (i == 0 || is_ws(line[i - 1]))) ++words;
        }
        if (words < 3) {
          ++ctx.counters.http09_requests;
          headers_done(to_server, d, ctx);
          return;
        }
      } else if (line.size() < 4 || !iequals(line.first(4), "http")) {
        headers_done(to_server, d, ctx);
        return;
      }
    }
  }
  flush(p);
}

void HttpFlowParser::headers_done(bool to_server, Direction& d, HttpContext& ctx) noexcept {
  HttpEventCounters& ev = ctx.counters.http;
  const Span raw_block(d.buffer, d.len);
  size_t first_end = 0;
  while (first_end < raw_block.size() && raw_block[first_end] != '\n') ++first_end;
  const Span first_line = trim(raw_block.first(first_end));
  const Span rest = first_end < raw_block.size() ? raw_block.subspan(first_end + 1) : Span{};
  auto reset_block = [&] {
    d.len = d.lines = d.line_len = 0;
    d.cut = d.last_cr = false;
  };

  // The first line: three fields at runs of whitespace (the third keeps inner spaces).
  Span fields[3];
  {
    size_t i = 0, f = 0;
    if (!raw_block.empty() && is_ws(raw_block[0]) && to_server) ++ev.request_line_leading_whitespace;
    while (f < 3 && i < first_line.size()) {
      while (i < first_line.size() && is_ws(first_line[i])) ++i;
      const size_t s = i;
      if (f == 2) {
        i = first_line.size();
      } else {
        while (i < first_line.size() && !is_ws(first_line[i])) ++i;
      }
      if (i > s) fields[f++] = trim(first_line.subspan(s, i - s));
    }
  }

  uint16_t status = 0;
  bool http09_response = false;
  if (!to_server) {
    if (first_line.size() < 4 || !iequals(first_line.first(4), "http")) {
      http09_response = true;
      ++ev.response_invalid_protocol;
    } else {
      const Span code = fields[1];
      if (code.size() == 3 && std::all_of(code.begin(), code.end(), [](uint8_t c) { return c >= '0' && c <= '9'; })) {
        status = static_cast<uint16_t>((code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0'));
      } else {
        ++ev.response_invalid_status;
      }
      if (status >= 100 && status < 200 && status != 101) {  // interim response: the real one follows
        reset_block();
        return;
      }
    }
  }

  // The transaction: requests numbered in order, responses matched to them in order.
  uint64_t tx_id = 0;
  bool head_request = false, connect_request = false;
  if (to_server) {
    tx_id = next_request_tx_++;
    ++ctx.counters.tx_http;
    head_request = iequals(fields[0], "head");
    connect_request = iequals(fields[0], "connect");
    if (pending_count_ < kMaxPending) {
      const uint32_t slot = (pending_first_ + pending_count_++) % kMaxPending;
      pending_tx_[slot] = tx_id;
      pending_head_[slot] = head_request;
      pending_connect_[slot] = connect_request;
    } else {
      ++ctx.counters.pending_overflow;
    }
  } else if (pending_count_ > 0) {
    tx_id = pending_tx_[pending_first_];
    head_request = pending_head_[pending_first_];
    connect_request = pending_connect_[pending_first_];
    pending_first_ = (pending_first_ + 1) % kMaxPending;
    --pending_count_;
  } else {
    ++ev.unable_to_match_response_to_request;
    tx_id = std::max(next_request_tx_, next_response_tx_);
    next_request_tx_ = tx_id + 1;
  }
  next_response_tx_ = std::max(next_response_tx_, tx_id + 1);
  d.tx_id = tx_id;

  HttpTransaction* tx = ctx.output.entry(tx_id, to_server);
  if (tx == nullptr) ++ctx.counters.tx_overflow;
  Writer w{ctx.output.free_space()};
  if (tx != nullptr && w.space.size() < 3 * uint64_t{d.len} + 8 * HttpTransaction::kMaxHeaders + 1024) {
    ++ctx.counters.output_overflow;
    tx = nullptr;
  }
  // Views point into an arena copy of the block, so the flow's buffer can take the next one.
  const ByteView copy = tx != nullptr ? w.put(raw_block) : view_of(raw_block);
  auto in_copy = [&](Span s) -> ByteView {
    if (s.empty()) return {};
    return {copy.data + (s.data() - raw_block.data()), static_cast<uint32_t>(s.size())};
  };
  uint64_t complete = 0;
  auto set = [&](HttpBuffer b, ByteView v) {
    if (tx == nullptr) return;
    tx->buffers[static_cast<uint32_t>(b)] = v;
    complete |= http_bit(b);
  };

  if (to_server) {
    set(HttpBuffer::RequestLine, in_copy(first_line));
    set(HttpBuffer::Method, in_copy(fields[0]));
    set(HttpBuffer::UriRaw, in_copy(fields[1]));
    if (!fields[2].empty()) set(HttpBuffer::Protocol, in_copy(fields[2]));
    if (fields[1].empty() || fields[0].empty()) ++ev.request_line_invalid;
    if (!fields[0].empty() && !known_method(fields[0])) ++ev.unknown_request_method;
    if (tx != nullptr) {
      uint32_t invalid = 0;
      ByteView uri{w.cursor(), 0};
      uri.len = normalize_uri(fields[1], w.space.subspan(w.used), invalid);
      w.used += uri.len;
      ev.uri_invalid_encoding += invalid;
      set(HttpBuffer::Uri, uri);
    }
    eve_.clear(tx_id);
    eve_.http_method.set(view_of(fields[0]));
    eve_.url.set(view_of(fields[1]));
    eve_.protocol.set(view_of(fields[2]));
  } else if (!http09_response) {
    set(HttpBuffer::ResponseLine, in_copy(first_line));
    set(HttpBuffer::ResponseProtocol, in_copy(fields[0]));
    set(HttpBuffer::StatusCode, in_copy(fields[1]));
    set(HttpBuffer::StatusMessage, in_copy(fields[2]));
    if (tx != nullptr) tx->status = status;
    if (eve_.tx_id == tx_id) eve_.status = status;
  }

  // Headers: each line, with its folded continuations, written normalized.
  ByteView normalized{w.cursor(), 0};
  uint32_t header_count = 0;
  bool chunked = false, has_length = false, length_bad = false;
  uint64_t content_length = 0;
  ContentEncoding encoding = ContentEncoding::Identity;
  Span host_header, content_type;
  const Span headers_raw = http09_response ? Span{} : rest;
  if (!headers_raw.empty()) {
    set(to_server ? HttpBuffer::RequestHeadersRaw : HttpBuffer::ResponseHeadersRaw, in_copy(headers_raw));
  }
  auto framing = [&](Known kind, Span value) {
    if (kind == Known::ContentLength) {
      uint64_t v = 0;
      if (!parse_length(value, v)) {
        ++(to_server ? ev.invalid_content_length_field_in_request : ev.invalid_content_length_field_in_response);
        length_bad = true;
      } else if (has_length && v != content_length) {
        ++(to_server ? ev.duplicate_content_length_field_in_request : ev.duplicate_content_length_field_in_response);
      } else {
        has_length = true;
        content_length = v;
      }
    } else if (kind == Known::TransferEncoding) {
      if (icontains(value, "chunked")) chunked = true;
    } else if (kind == Known::ContentEncoding) {
      if (icontains(value, "gzip")) {
        encoding = ContentEncoding::Gzip;
      } else if (icontains(value, "deflate")) {
        encoding = ContentEncoding::Deflate;
      }
    } else if (kind == Known::Host && host_header.empty()) {
      host_header = value;
    } else if (kind == Known::ContentType && content_type.empty()) {
      content_type = value;
    }
  };
  // Per stored header its name's class, and each class's first stored header (-1: none).
  Known kinds[HttpTransaction::kMaxHeaders];
  int8_t first_of[static_cast<uint32_t>(Known::Count)];
  std::memset(first_of, -1, sizeof first_of);
  HttpHeader* current = nullptr;
  size_t pos = 0;
  for (uint32_t guard = 0; pos < headers_raw.size() && guard <= header_limit_; ++guard) {
    const void* lf = std::memchr(headers_raw.data() + pos, '\n', headers_raw.size() - pos);
    const size_t e = lf != nullptr ? static_cast<size_t>(static_cast<const uint8_t*>(lf) - headers_raw.data())
                                   : headers_raw.size();
    Span line = headers_raw.subspan(pos, e - pos);
    pos = e + 1;
    if (!line.empty() && line.back() == '\r') line = line.first(line.size() - 1);
    if (line.empty()) break;
    if (is_ws(line[0])) {  // a folded continuation
      if (current == nullptr) {
        if (header_count == 0) ++(to_server ? ev.invalid_request_field_folding : ev.invalid_response_field_folding);
        continue;
      }
      const Span more = trim(line);
      if (!more.empty()) {
        w.append(std::string_view(" "), current->value);
        w.append(more, current->value);
      }
      continue;
    }
    if (current != nullptr) {
      ByteView crlf{};
      w.append(std::string_view("\r\n"), crlf);
    }
    const uint8_t* colon = static_cast<const uint8_t*>(std::memchr(line.data(), ':', line.size()));
    Span name, value;
    if (colon == nullptr) {
      ++(to_server ? ev.request_field_missing_colon : ev.response_field_missing_colon);
      name = trim(line);
    } else {
      name = trim(line.first(static_cast<size_t>(colon - line.data())));
      value = trim(line.subspan(static_cast<size_t>(colon - line.data()) + 1));
    }
    const Known kind = classify(name);
    // A repeated name (other than Set-Cookie) is counted, as libhtp does. Names of a known
    // class are equal exactly when their classes are.
    if (tx != nullptr && kind != Known::SetCookie) {
      bool repeated = kind != Known::None && first_of[static_cast<uint32_t>(kind)] >= 0;
      for (uint32_t i = 0; kind == Known::None && !repeated && i < tx->header_count; ++i) {
        repeated = kinds[i] == Known::None && equal_nocase(tx->headers[i].name, name);
      }
      if (repeated) ++(to_server ? ev.request_header_repetition : ev.response_header_repetition);
    }
    framing(kind, value);
    if (tx != nullptr && header_count < HttpTransaction::kMaxHeaders) {
      kinds[header_count] = kind;
      int8_t& first = first_of[static_cast<uint32_t>(kind)];
      if (first < 0) first = static_cast<int8_t>(header_count);
      current = &tx->headers[header_count++];
      tx->header_count = header_count;
      current->name = w.put(name);
      ByteView sep{};
      w.append(std::string_view(": "), sep);
      current->value = w.put(value);
    } else {
      if (tx != nullptr && header_count == HttpTransaction::kMaxHeaders) {
        ++(to_server ? ev.request_too_many_headers : ev.response_too_many_headers);
        ++header_count;  // counted once
      }
      current = nullptr;
    }
  }
  if (tx != nullptr && tx->header_count > 0) {
    ByteView crlf{};
    w.append(std::string_view("\r\n"), crlf);
    normalized.len = static_cast<uint32_t>(w.cursor() - normalized.data);
    set(to_server ? HttpBuffer::RequestHeaders : HttpBuffer::ResponseHeaders, normalized);
    // Header names, as Suricata's http.header_names: "\r\nName1\r\nName2\r\n\r\n".
    ByteView names = w.put(Span(reinterpret_cast<const uint8_t*>("\r\n"), 2));
    for (uint32_t i = 0; i < tx->header_count; ++i) {
      w.append(tx->headers[i].name.text(), names);
      w.append(std::string_view("\r\n"), names);
    }
    w.append(std::string_view("\r\n"), names);
    set(to_server ? HttpBuffer::RequestHeaderNames : HttpBuffer::ResponseHeaderNames, names);
    // The named buffers: the first header of each name.
    for (const NamedHeader& named : kNamed) {
      const HttpBuffer b = to_server ? named.request : named.response;
      const int8_t first = first_of[static_cast<uint32_t>(named.name)];
      if (b != kNone && first >= 0) set(b, tx->headers[first].value);
    }
  }

  if (to_server) {
    // http.host: the URI's authority wins over the Host header (libhtp), both normalized.
    const Span authority = uri_authority(fields[1]);
    const Span host_source = !authority.empty() ? authority : host_header;
    if (!authority.empty() && !host_header.empty()) {
      uint8_t a[256], b[256];
      const uint32_t la = normalize_host(authority, a), lb = normalize_host(host_header, b);
      if (!equal(Span(a, la), Span(b, lb))) ++ev.host_header_ambiguous;
    }
    if (host_source.empty() && iequals(fields[2], "http/1.1")) ++ev.missing_host_header;
    if (!host_source.empty()) {
      if (tx != nullptr) {
        ByteView host{w.cursor(), 0};
        host.len = normalize_host(host_source, w.space.subspan(w.used));
        w.used += host.len;
        set(HttpBuffer::Host, host);
        if (!authority.empty()) set(HttpBuffer::HostRaw, w.put(authority));
        eve_.hostname.set(host);
      } else {
        uint8_t h[256];
        eve_.hostname.set(ByteView{h, normalize_host(host_source, h)});
      }
    }
    for (uint32_t i = 0; tx != nullptr && i < tx->header_count; ++i) {
      if (kinds[i] == Known::UserAgent && eve_.http_user_agent.len == 0) eve_.http_user_agent.set(tx->headers[i].value);
      if (kinds[i] == Known::Referer && eve_.http_refer.len == 0) eve_.http_refer.set(tx->headers[i].value);
    }
  } else if (eve_.tx_id == tx_id) {
    Span type = trim(content_type);
    const uint8_t* semi =
        type.empty() ? nullptr : static_cast<const uint8_t*>(std::memchr(type.data(), ';', type.size()));
    if (semi != nullptr) type = trim(type.first(static_cast<size_t>(semi - type.data())));
    eve_.http_content_type.set(view_of(type));
    for (uint32_t i = 0; tx != nullptr && i < tx->header_count; ++i) {
      if (kinds[i] == Known::Location) {
        eve_.redirect.set(tx->headers[i].value);
      }
    }
  }
  if (w.full) ++ctx.counters.output_overflow;
  if (tx != nullptr) {
    tx->complete |= complete;
    ctx.output.commit(w.used);
    keep_carried(to_server, d, *tx, static_cast<uint32_t>(raw_block.size()));
  }

  // What follows the headers (RFC 7230 3.3.3).
  reset_block();
  d.encoding = encoding;
  if (http09_response) {
    start_body(to_server, d, 0, false, false, true, ctx);
    body_bytes(to_server, d, raw_block.data(), static_cast<uint32_t>(raw_block.size()), ctx);
    return;
  }
  if (!to_server && (status == 101 || (connect_request && status >= 200 && status < 300))) {
    dir_[0].state = dir_[1].state = State::Lost;  // switching protocols or a tunnel: no more HTTP here
    return;
  }
  if (!to_server && connect_request && dir_[0].state == State::Tunnel) dir_[0].state = State::Headers;  // refused
  if (to_server && connect_request) {
    d.state = State::Tunnel;  // the client waits for the proxy's answer; what it sends next is not HTTP
    return;
  }
  if (length_bad && !chunked) {
    ++ctx.counters.error_http_parser;
    d.state = State::Lost;
    return;
  }
  if (to_server) {
    if (chunked || (has_length && content_length > 0)) {
      start_body(to_server, d, content_length, has_length, chunked, false, ctx);
    }
  } else {
    const bool no_body = head_request || status == 204 || status == 304;
    if (!no_body && (chunked || !has_length || content_length > 0)) {
      start_body(to_server, d, content_length, has_length, chunked, !chunked && !has_length, ctx);
    }
  }
}

void HttpFlowParser::start_body(bool, Direction& d, uint64_t content_length, bool has_length, bool chunked,
                                bool until_close, HttpContext& ctx) noexcept {
  d.body_seen = d.body_raw = 0;
  d.body_limited = false;
  d.chunk_line_len = 0;
  d.state = chunked ? State::ChunkSize : until_close ? State::BodyClose : State::BodyLength;
  d.remaining = has_length && !chunked ? content_length : 0;
  d.decompressor = HttpDecompressorPool::kNone;
  if (d.encoding != ContentEncoding::Identity) {
    d.decompressor = ctx.decompressors.acquire(d.encoding);
    if (d.decompressor == HttpDecompressorPool::kNone) ++ctx.counters.decompressor_unavailable;
  }
}

// After a header block: copies of its kCarried* views behind the raw block in the flow's
// buffer (those that fit), for the body pieces of later packets.
void HttpFlowParser::keep_carried(bool to_server, Direction& d, const HttpTransaction& tx,
                                  uint32_t raw_len) noexcept {
  const HttpBuffer* list = to_server ? kCarriedRequest : kCarriedResponse;
  uint32_t used = raw_len;
  for (uint32_t i = 0; i < kCarriedBuffers; ++i) {
    const ByteView v = tx.has(list[i]) ? tx.get(list[i]) : ByteView{};
    d.carried_off[i] = used;
    d.carried_len[i] = 0;
    if (v.empty() || v.len > header_limit_ - used) continue;
    std::memcpy(d.buffer + used, v.data, v.len);
    d.carried_len[i] = v.len;
    used += v.len;
  }
  d.carried_tx = tx.tx_id;
}

// A body piece in a packet after its headers' packet: the kept header views, into the arena.
void HttpFlowParser::carry(bool to_server, Direction& d, HttpTransaction& tx, HttpContext& ctx) noexcept {
  if (d.carried_tx != tx.tx_id) return;
  const HttpBuffer* list = to_server ? kCarriedRequest : kCarriedResponse;
  uint32_t total = 0;
  for (uint32_t i = 0; i < kCarriedBuffers; ++i) total += d.carried_len[i];
  const std::span<uint8_t> space = ctx.output.free_space();
  if (total > space.size()) {
    ++ctx.counters.output_overflow;
    return;
  }
  uint32_t used = 0;
  for (uint32_t i = 0; i < kCarriedBuffers; ++i) {
    if (d.carried_len[i] == 0) continue;
    if (ctx.fill_bytes) std::memcpy(space.data() + used, d.buffer + d.carried_off[i], d.carried_len[i]);
    tx.buffers[static_cast<uint32_t>(list[i])] = {space.data() + used, d.carried_len[i]};
    tx.carried |= http_bit(list[i]);
    used += d.carried_len[i];
  }
  ctx.output.commit(used);
}

void HttpFlowParser::body_bytes(bool to_server, Direction& d, const uint8_t* data, uint32_t len,
                                HttpContext& ctx) noexcept {
  if (len == 0) return;
  d.body_raw += len;
  if (!to_server && eve_.tx_id == d.tx_id) eve_.length = d.body_raw;
  if (d.body_limited) return;
  const uint64_t limit = to_server ? ctx.settings.request_body_limit : ctx.settings.response_body_limit;
  HttpTransaction* tx = ctx.output.entry(d.tx_id, to_server);
  if (tx == nullptr) {
    ++ctx.counters.tx_overflow;
    return;
  }
  const HttpBuffer b = to_server ? HttpBuffer::RequestBody : HttpBuffer::ResponseBody;
  ByteView& view = tx->buffers[static_cast<uint32_t>(b)];
  if (!(tx->progress & http_bit(b)) && tx->complete == 0) carry(to_server, d, *tx, ctx);
  const std::span<uint8_t> space = ctx.output.free_space();
  if ((tx->progress & http_bit(b)) && view.data + view.len != space.data()) {
    ++ctx.counters.output_overflow;  // not contiguous with this packet's earlier piece
    return;
  }
  const uint64_t want = std::min<uint64_t>(space.size(), limit - d.body_seen);
  uint32_t written = 0;
  if (d.decompressor != HttpDecompressorPool::kNone) {
    const auto r = ctx.decompressors.inflate(d.decompressor, Span(data, len), space.first(want));
    written = r.written;
    if (r.failed) {
      ++ctx.counters.http.gzip_decompression_failed;
      d.body_limited = true;
    }
    if (r.bomb) {
      ++ctx.counters.http.compression_bomb;
      d.body_limited = true;
    }
  } else {
    written = static_cast<uint32_t>(std::min<uint64_t>(len, want));
    if (written < len && want == space.size() && space.size() < limit - d.body_seen) ++ctx.counters.output_overflow;
    if (written && ctx.fill_bytes) std::memcpy(space.data(), data, written);
  }
  if (!(tx->progress & http_bit(b))) {
    view = {space.data(), 0};
    tx->body_offset = d.body_seen;
  }
  view.len += written;
  tx->progress |= http_bit(b);
  ctx.output.commit(written);
  d.body_seen += written;
  if (d.body_seen >= limit && !d.body_limited) {
    d.body_limited = true;
    ++ctx.counters.body_limit_reached;
  }
  if (d.body_limited) tx->complete |= http_bit(b);  // inspected as far as it will be
}

void HttpFlowParser::body_done(bool to_server, Direction& d, HttpContext& ctx) noexcept {
  if (d.body_raw > 0) {
    if (HttpTransaction* tx = ctx.output.entry(d.tx_id, to_server)) {
      tx->complete |= http_bit(to_server ? HttpBuffer::RequestBody : HttpBuffer::ResponseBody);
    }
  }
  if (d.decompressor != HttpDecompressorPool::kNone) ctx.decompressors.release(d.decompressor);
  d.decompressor = HttpDecompressorPool::kNone;
  d.encoding = ContentEncoding::Identity;
  d.state = State::Headers;
  d.len = d.lines = d.line_len = 0;
  d.cut = d.last_cr = false;
}

void HttpFlowParser::feed_chunk_line(bool to_server, Direction& d, const uint8_t*& p, const uint8_t* end,
                                     HttpContext& ctx) noexcept {
  HttpEventCounters& ev = ctx.counters.http;
  const uint8_t* lf = static_cast<const uint8_t*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
  const uint8_t* stop = lf ? lf : end;
  for (const uint8_t* q = p; q < stop && d.chunk_line_len < sizeof d.chunk_line; ++q) {
    d.chunk_line[d.chunk_line_len++] = *q;  // the size and the start of any extension
  }
  p = lf ? lf + 1 : end;
  if (!lf) return;
  const Span line = trim(Span(d.chunk_line, d.chunk_line_len));
  d.chunk_line_len = 0;
  if (line.empty()) return;  // a stray blank line between chunks
  uint64_t size = 0;
  size_t i = 0;
  for (; i < line.size() && i < 15; ++i) {
    const uint8_t c = lower(line[i]);
    const int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (v < 0) break;
    size = size << 4 | static_cast<uint64_t>(v);
  }
  size_t j = i;
  while (j < line.size() && is_ws(line[j])) ++j;
  const bool extension = j < line.size() && line[j] == ';';
  if (i == 0 || (j < line.size() && !extension)) {
    ++(to_server ? ev.invalid_request_chunk_len : ev.invalid_response_chunk_len);
    ++ctx.counters.error_http_parser;
    body_done(to_server, d, ctx);
    d.state = State::Lost;
    return;
  }
  if (extension && to_server) ++ev.request_chunk_extension;
  if (size == 0) {
    d.state = State::Trailers;
    d.line_len = 0;
  } else {
    d.state = State::ChunkData;
    d.remaining = size;
  }
}

void HttpFlowParser::gap(bool to_server, uint64_t bytes, HttpContext& ctx) noexcept {
  Direction& d = dir_[to_server ? 0 : 1];
  const bool in_body = d.state == State::BodyLength || d.state == State::ChunkData || d.state == State::BodyClose;
  if (in_body && (d.state == State::BodyClose || bytes < d.remaining)) {
    if (d.state != State::BodyClose) d.remaining -= bytes;
    d.body_raw += bytes;
    if (d.decompressor != HttpDecompressorPool::kNone) d.body_limited = true;  // the compressed stream broke
    return;
  }
  if (d.state == State::Lost || d.state == State::Tunnel) return;
  ++ctx.counters.error_http_gap;
  if (in_body) body_done(to_server, d, ctx);
  d.state = State::Lost;
}

void HttpFlowParser::end(bool to_server, HttpContext& ctx) noexcept {
  Direction& d = dir_[to_server ? 0 : 1];
  if (d.state == State::BodyClose) body_done(to_server, d, ctx);
}

void HttpFlowParser::release(HttpContext& ctx) noexcept {
  for (Direction& d : dir_) {
    if (d.decompressor != HttpDecompressorPool::kNone) ctx.decompressors.release(d.decompressor);
    d.decompressor = HttpDecompressorPool::kNone;
  }
}

}  // namespace eastwatch

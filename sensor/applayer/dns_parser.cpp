#include "sensor/applayer/dns_parser.hpp"

#include <algorithm>
#include <cstring>

#include "sensor/applayer/proto_detect.hpp"

namespace eastwatch {

namespace {

using Span = std::span<const uint8_t>;

constexpr uint32_t kMaxNameText = 255;

uint16_t be16(Span m, size_t pos) noexcept { return static_cast<uint16_t>(m[pos] << 8 | m[pos + 1]); }
uint32_t be32(Span m, size_t pos) noexcept {
  return uint32_t{m[pos]} << 24 | uint32_t{m[pos + 1]} << 16 | uint32_t{m[pos + 2]} << 8 | m[pos + 3];
}

enum class NameStatus : uint8_t { Ok, Malformed, Loop, TooManyLabels };

struct Name {
  uint32_t len = 0;
  bool too_long = false;
};

// Reads the name at `pos` of `msg` into `out` (at most 255 bytes of dotted text) and moves `pos`
// past the name as it is written there (past the first pointer, when there is one).
NameStatus read_name(Span msg, size_t& pos, uint8_t* out, Name& name) noexcept {
  size_t p = pos, after = 0;
  bool jumped = false;
  uint16_t targets[kDnsMaxHops];
  uint32_t hops = 0, labels = 0;
  name = {};
  for (;;) {  // bounded: each round is one of at most kDnsMaxLabels labels or kDnsMaxHops pointers
    if (p >= msg.size()) return NameStatus::Malformed;
    const uint8_t b = msg[p];
    if (b == 0) {
      if (!jumped) after = p + 1;
      break;
    }
    if ((b & 0xc0) == 0xc0) {
      if (p + 1 >= msg.size()) return NameStatus::Malformed;
      const auto target = static_cast<uint16_t>((b & 0x3f) << 8 | msg[p + 1]);
      if (!jumped) after = p + 2;
      jumped = true;
      if (target >= msg.size()) return NameStatus::Malformed;
      for (uint32_t i = 0; i < hops; ++i) {
        if (targets[i] == target) return NameStatus::Loop;  // the loop guard: a target seen before
      }
      if (hops == kDnsMaxHops) return NameStatus::Loop;
      targets[hops++] = target;
      p = target;
      continue;
    }
    if (b & 0xc0) return NameStatus::Malformed;  // 0x40 / 0x80: extended label types (RFC 6891), unknown
    if (++labels > kDnsMaxLabels) return NameStatus::TooManyLabels;
    if (p + 1 + b > msg.size()) return NameStatus::Malformed;
    const uint32_t sep = name.len > 0 ? 1 : 0;
    uint32_t room = kMaxNameText - std::min(kMaxNameText, name.len);
    if (sep + b > room) name.too_long = true;
    if (sep && room > 0) {
      out[name.len++] = '.';
      --room;
    }
    const uint32_t n = std::min<uint32_t>(b, room);
    std::memcpy(out + name.len, msg.data() + p + 1, n);
    name.len += n;
    p += 1 + b;
  }
  pos = after;
  return NameStatus::Ok;
}

class MessageParser {
 public:
  MessageParser(Span msg, DnsOutput& out, DnsCounters& counters) : msg_(msg), out_(out), counters_(counters) {}

  // A name into the arena (keep) or the scratch; false (counted) when the message is bad.
  bool name(size_t& pos, bool keep, ByteView& view) noexcept {
    uint8_t* dest = keep ? out_.space() : scratch_;
    Name n;
    switch (read_name(msg_, pos, dest, n)) {
      case NameStatus::Ok: break;
      case NameStatus::Malformed: ++counters_.malformed_data; return false;
      case NameStatus::Loop: ++counters_.infinite_loop; return false;
      case NameStatus::TooManyLabels: ++counters_.too_many_labels; return false;
    }
    if (n.too_long) ++counters_.name_too_long;
    if (keep) {
      view = {dest, n.len};
      out_.commit(n.len);
    }
    return true;
  }

  bool questions(DnsTransaction& tx, size_t& pos) noexcept {
    bool counted = false;
    for (uint32_t i = 0; i < tx.qdcount; ++i) {  // bounded: each question takes at least 5 bytes
      const bool keep = tx.question_count < DnsTransaction::kMaxQuestions;
      DnsQuestion q;
      if (!name(pos, keep, q.name)) return false;
      if (pos + 4 > msg_.size()) return malformed();
      q.rrtype = be16(msg_, pos);
      q.rrclass = be16(msg_, pos + 2);
      pos += 4;
      if (keep) {
        tx.questions[tx.question_count++] = q;
      } else if (!counted) {
        ++counters_.too_many_questions;
        counted = true;
      }
    }
    return true;
  }

  bool records(DnsTransaction& tx, size_t& pos, uint32_t count, bool authority) noexcept {
    for (uint32_t i = 0; i < count; ++i) {  // bounded: each record takes at least 11 bytes
      const bool keep = tx.record_count < DnsTransaction::kMaxRecords;
      DnsRecord r;
      r.authority = authority;
      if (!name(pos, keep, r.name)) return false;
      if (pos + 10 > msg_.size()) return malformed();
      r.rrtype = be16(msg_, pos);
      r.rrclass = be16(msg_, pos + 2);
      r.ttl = be32(msg_, pos + 4);
      const uint32_t rdlength = be16(msg_, pos + 8);
      pos += 10;
      if (pos + rdlength > msg_.size()) return malformed();
      if (!rdata(r, pos, rdlength, keep)) return false;
      pos += rdlength;
      if (keep) {
        tx.records[tx.record_count++] = r;
      } else if (!too_many_records_) {
        ++counters_.too_many_records;
        too_many_records_ = true;
      }
    }
    return true;
  }

 private:
  bool malformed() noexcept {
    ++counters_.malformed_data;
    return false;
  }

  bool rdata(DnsRecord& r, size_t pos, uint32_t rdlength, bool keep) noexcept {
    const Span data = msg_.subspan(pos, rdlength);
    switch (r.rrtype) {
      case 1:    // A
      case 28: {  // AAAA
        if (keep && (rdlength == 4 || rdlength == 16)) {
          uint8_t* dest = out_.space();
          std::memcpy(dest, data.data(), rdlength);
          r.rdata = {dest, rdlength};
          out_.commit(rdlength);
        }
        return true;
      }
      case 2:    // NS
      case 5:    // CNAME
      case 12: {  // PTR: a name, pointers anywhere in the message
        size_t p = pos;
        return name(p, keep, r.rdata);
      }
      case 15: {  // MX: preference, exchange
        if (rdlength < 2) return malformed();
        size_t p = pos + 2;
        return name(p, keep, r.rdata);
      }
      case 16: {  // TXT: the first character-string
        if (rdlength == 0) return true;
        const uint32_t n = data[0];
        if (n + 1u > rdlength) return malformed();
        if (keep) {
          uint8_t* dest = out_.space();
          std::memcpy(dest, data.data() + 1, n);
          r.rdata = {dest, n};
          out_.commit(n);
        }
        return true;
      }
      default: return true;
    }
  }

  Span msg_;
  DnsOutput& out_;
  DnsCounters& counters_;
  bool too_many_records_ = false;
  uint8_t scratch_[256];
};

}  // namespace

DnsOutput::DnsOutput()
    : txs_(std::make_unique<DnsTransaction[]>(kMaxTx)), arena_(std::make_unique_for_overwrite<uint8_t[]>(kArenaBytes)) {}

DnsTransaction* DnsOutput::add() noexcept {
  if (tx_count_ == kMaxTx) return nullptr;
  DnsTransaction& tx = txs_[tx_count_++];
  tx.question_count = tx.record_count = 0;
  return &tx;
}

bool parse_dns_message(Span message, bool to_server, uint64_t tx_id, DnsOutput& out,
                       DnsCounters& counters) noexcept {
  if (message.size() < 12) {
    ++counters.malformed_data;
    return false;
  }
  const uint16_t flags = be16(message, 2);
  const bool response = flags & 0x8000;
  // Suricata parses the message first and only then looks at QR: a broken QR=1 message to the
  // server is malformed_data, a well-formed one not_request.
  const uint16_t id = be16(message, 0);
  const auto opcode = static_cast<uint8_t>((flags >> 11) & 0x0f);
  bool ok = true;
  const uint32_t arena_mark = out.mark();
  DnsTransaction* tx = out.add();
  if (tx != nullptr) {
    tx->tx_id = tx_id;
    tx->request_side = to_server;
    tx->id = id;
    tx->flags = flags;
    tx->opcode = opcode;
    tx->rcode = static_cast<uint8_t>(flags & 0x0f);
    tx->qdcount = be16(message, 4);
    tx->ancount = be16(message, 6);
    tx->nscount = be16(message, 8);
    tx->arcount = be16(message, 10);
    MessageParser parser(message, out, counters);
    size_t pos = 12;
    ok = parser.questions(*tx, pos);
    if (ok && !to_server) ok = parser.records(*tx, pos, tx->ancount, false) && parser.records(*tx, pos, tx->nscount, true);
  }  // else: the output is full; the message still counts as a transaction, unparsed
  if (ok && to_server && response) {
    ++counters.not_request;
    ok = false;
  }
  if (!ok) {
    if (tx != nullptr) out.drop_last(arena_mark);
    return false;
  }
  if (!to_server && !response) ++counters.not_response;
  if (flags & 0x0040) ++counters.z_flag_set;
  if (opcode >= 7) ++counters.invalid_opcode;
  if (tx == nullptr) ++counters.tx_overflow;
  return true;
}

// --- TCP ---------------------------------------------------------------------------------

void DnsTcpState::init(uint8_t* buffers, uint32_t capacity) noexcept {
  capacity_ = capacity;
  next_tx_ = 0;
  for (uint32_t i = 0; i < 2; ++i) {
    dir_[i] = {};
    dir_[i].buffer = buffers + static_cast<size_t>(i) * capacity;
  }
}

void DnsTcpState::message(bool to_server, Span msg, DnsOutput& out, DnsCounters& counters) noexcept {
  if (parse_dns_message(msg, to_server, next_tx_, out, counters)) {
    ++next_tx_;
    ++counters.tx_tcp;
  } else {
    ++counters.error_tcp_parser;
  }
}

void DnsTcpState::gap(bool to_server, DnsCounters& counters) noexcept {
  DnsTcpDirection& d = dir_[to_server ? 0 : 1];
  d.have = d.length = d.skip = 0;
  d.prefix_len = 0;
  if (!d.lost) ++counters.error_tcp_gap;
  d.lost = true;
}

void DnsTcpState::feed(bool to_server, Span data, DnsOutput& out, DnsCounters& counters) noexcept {
  DnsTcpDirection& d = dir_[to_server ? 0 : 1];
  if (d.lost) {
    // As Suricata after a gap: resume only where a message seems to start.
    if (data.size() < 2 || !looks_like_dns(data.subspan(2), false)) return;
    d.lost = false;
  }
  // Bounded: every round consumes at least one byte of `data`.
  while (!data.empty()) {
    if (d.skip > 0) {
      const uint32_t n = static_cast<uint32_t>(std::min<size_t>(d.skip, data.size()));
      d.skip -= n;
      data = data.subspan(n);
      continue;
    }
    if (d.prefix_len < 2) {
      if (d.prefix_len == 0 && data.size() >= 2) {
        const uint32_t length = be16(data, 0);
        if (length > 0 && data.size() >= 2 + size_t{length}) {  // whole message in this span: in place
          message(to_server, data.subspan(2, length), out, counters);
          data = data.subspan(2 + size_t{length});
          continue;
        }
      }
      d.prefix[d.prefix_len++] = data[0];
      data = data.subspan(1);
      if (d.prefix_len < 2) continue;
      d.length = uint32_t{d.prefix[0]} << 8 | d.prefix[1];
      d.have = 0;
      if (d.length == 0) {  // an empty message: nothing to parse
        ++counters.malformed_data;
        ++counters.error_tcp_parser;
        d.prefix_len = 0;
      } else if (d.length > capacity_) {
        ++counters.tcp_message_too_long;
        d.skip = d.length;
        d.prefix_len = 0;
      }
      continue;
    }
    const uint32_t n = static_cast<uint32_t>(std::min<size_t>(d.length - d.have, data.size()));
    std::memcpy(d.buffer + d.have, data.data(), n);
    d.have += n;
    data = data.subspan(n);
    if (d.have == d.length) {
      message(to_server, Span(d.buffer, d.length), out, counters);
      d.have = 0;
      d.prefix_len = 0;
    }
  }
}

void DnsTcpState::feed_update(const StreamUpdate& update, DnsOutput& out, DnsCounters& counters) noexcept {
  const bool ts = update.to_server;
  update.for_each_new(
      dir_[ts ? 0 : 1].consumed, [&](Span bytes) { feed(ts, bytes, out, counters); },
      [&](uint64_t) { gap(ts, counters); });
}

// --- EVE ---------------------------------------------------------------------------------

namespace {

// Appends `bytes` to the pool; false (and `truncated`) when they do not fit.
bool add_text(DnsEveData& eve, std::string_view bytes, DnsEveData::Text& t) noexcept {
  if (bytes.size() > DnsEveData::kTextBytes - eve.text_used) {
    eve.truncated = true;
    return false;
  }
  std::memcpy(eve.text + eve.text_used, bytes.data(), bytes.size());
  t = {eve.text_used, static_cast<uint16_t>(bytes.size())};
  eve.text_used = static_cast<uint16_t>(eve.text_used + bytes.size());
  return true;
}

// Suricata's address text: dotted quad, or eight groups of four hex digits (not compressed).
std::string_view address_text(ByteView v, char (&buf)[48]) noexcept {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t n = 0;
  if (v.len == 4) {
    for (uint32_t i = 0; i < 4; ++i) {
      if (i) buf[n++] = '.';
      const uint8_t b = v.data[i];
      if (b >= 100) buf[n++] = static_cast<char>('0' + b / 100);
      if (b >= 10) buf[n++] = static_cast<char>('0' + b / 10 % 10);
      buf[n++] = static_cast<char>('0' + b % 10);
    }
  } else if (v.len == 16) {
    for (uint32_t i = 0; i < 16; ++i) {
      if (i && i % 2 == 0) buf[n++] = ':';
      buf[n++] = kHex[v.data[i] >> 4];
      buf[n++] = kHex[v.data[i] & 0x0f];
    }
  }
  return {buf, n};
}

}  // namespace

void dns_eve_fill(const DnsTransaction& tx, DnsEveData& eve) noexcept {
  eve.tx_id = tx.tx_id;
  eve.request = tx.request_side;
  eve.id = tx.id;
  eve.flags = tx.flags;
  eve.opcode = tx.opcode;
  eve.rcode = tx.rcode;
  eve.truncated = false;
  eve.query_count = eve.answer_count = 0;
  eve.text_used = 0;
  for (const DnsQuestion& q : tx.question_list()) {
    if (eve.query_count == DnsEveData::kMaxQueries) {
      eve.truncated = true;
      break;
    }
    DnsEveData::Query& out = eve.queries[eve.query_count];
    out.rrtype = q.rrtype;
    if (!add_text(eve, q.name.text(), out.rrname)) break;
    ++eve.query_count;
  }
  for (const DnsRecord& r : tx.record_list()) {
    if (eve.answer_count == DnsEveData::kMaxAnswers) {
      eve.truncated = true;
      break;
    }
    DnsEveData::Answer& out = eve.answers[eve.answer_count];
    out.rrtype = r.rrtype;
    out.ttl = r.ttl;
    out.authority = r.authority;
    out.has_rdata = false;
    if (!add_text(eve, r.name.text(), out.rrname)) break;
    const uint16_t t = r.rrtype;
    if (t == 1 || t == 28 || t == 2 || t == 5 || t == 12 || t == 15 || t == 16) {  // the types with rdata kept
      char buf[48];
      const std::string_view rdata = (t == 1 || t == 28) ? address_text(r.rdata, buf) : r.rdata.text();
      if (!add_text(eve, rdata, out.rdata)) break;
      out.has_rdata = true;
    }
    ++eve.answer_count;
  }
}

}  // namespace eastwatch

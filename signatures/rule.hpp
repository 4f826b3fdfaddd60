// The rule model: what a parsed Suricata/Snort rule means, independent of how it was
// written and of how it is matched. The parser fills it; the compiler turns a set of
// rules into Hyperscan databases; the detection engine reads it to verify candidates.
//
// A rule is a header test (protocol, addresses, ports, direction) plus an ordered list
// of buffer sections. Each section names the buffer it inspects (packet payload now;
// stream and app-layer buffers later) and holds that buffer's option chain in rule
// order. Semantics follow Suricata's (see README "Rule semantics").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "signatures/address.hpp"
#include "signatures/decode_events.hpp"
#include "signatures/app_proto.hpp"
#include "signatures/regex.hpp"

namespace eastwatch {

enum class RuleAction : uint8_t { Alert, Pass, Drop, Reject, RejectSrc, RejectDst, RejectBoth };

// Header protocol. `Ip` matches every IP packet.
enum class RuleProtocol : uint8_t { Ip, Tcp, Udp, Icmp };

// What a buffer section inspects: the packet payload (and, for TCP, the reassembled stream) or
// one application-layer buffer (Suricata's sticky buffers, Snort 2's content modifiers). A
// "both" kind is the request's buffer on packets to the server and the response's to the
// client (as Suricata registers them for both directions); the others exist on one side.
enum class BufferKind : uint8_t {
  Payload,
  // HTTP request side
  HttpUri, HttpUriRaw, HttpMethod, HttpRequestLine, HttpHost, HttpHostRaw, HttpUserAgent, HttpAccept,
  HttpAcceptEnc, HttpAcceptLang, HttpReferer, HttpConnection, HttpRequestBody,
  // HTTP, both sides
  HttpProtocol, HttpHeader, HttpHeaderRaw, HttpHeaderNames, HttpCookie, HttpContentType, HttpContentLen, HttpStart,
  // HTTP response side
  HttpStatCode, HttpStatMsg, HttpResponseLine, HttpServer, HttpLocation, HttpResponseBody,
  // file.data / file_data: the HTTP response body to the client, the request body to the server
  FileData,
  // DNS: each query name of the message (a multi-buffer: one inspection per name)
  DnsQuery,
  // TLS
  TlsSni, TlsCertSubject, TlsCertIssuer, TlsCertSerial, TlsCertFingerprint, TlsCerts,
  Ja3Hash, Ja3String, Ja3sHash, Ja3sString,
  Count
};
inline constexpr uint32_t kBufferKindCount = static_cast<uint32_t>(BufferKind::Count);

// A transform applied to a sticky buffer before its options inspect it (Suricata's
// transforms, in rule order: `http.uri; to_lowercase; content:"..."`).
struct Transform {
  enum class Kind : uint8_t {
    Dotprefix, StripWhitespace, CompressWhitespace, ToLowercase, ToUppercase, UrlDecode, ToMd5, ToSha1, ToSha256,
    HeaderLowercase, StripPseudoHeaders, Xor
  };
  Kind kind = Kind::ToLowercase;
  std::string key;  // xor: the key bytes
};

// One `content:` option with its modifiers. Offsets are in bytes; `std::nullopt`
// means "not given". Relative modifiers (distance/within) refer to the end of the
// previous content match in the same buffer section.
struct ContentOption {
  std::string pattern;  // raw bytes, |hex| and escapes already decoded
  bool nocase = false;
  bool negated = false;
  std::optional<int32_t> offset;
  std::optional<int32_t> depth;
  std::optional<int32_t> distance;
  std::optional<int32_t> within;
  bool rawbytes = false;
  bool startswith = false;  // must match at the start of the buffer
  bool endswith = false;    // must end exactly at the end of the buffer
  // fast_pattern; fast_pattern:only; fast_pattern:<offset>,<length>
  bool fast_pattern = false;
  bool fast_pattern_only = false;
  std::optional<uint16_t> fast_pattern_offset;
  std::optional<uint16_t> fast_pattern_length;
  // A byte_extract/byte_math variable of the section (its slot) gives offset, depth, distance or
  // within instead of a number; -1: the number above. The optional above is then set to 0.
  int8_t offset_var = -1;
  int8_t depth_var = -1;
  int8_t distance_var = -1;
  int8_t within_var = -1;

  bool is_relative() const noexcept { return distance.has_value() || within.has_value(); }
};

// A numeric comparison as Suricata's integer keywords write it (dsize, ttl, itype, ...):
// `N`, `!N`, `<N`, `<=N`, `>N`, `>=N`, and the exclusive range `N<>M` (also written `N-M`).
struct NumericTest {
  enum class Op : uint8_t { Equal, NotEqual, Less, LessEqual, Greater, GreaterEqual, Between };
  Op op = Op::Equal;
  uint64_t a = 0;
  uint64_t b = 0;  // upper bound for Between

  bool matches(uint64_t value) const noexcept {
    switch (op) {
      case Op::Equal: return value == a;
      case Op::NotEqual: return value != a;
      case Op::Less: return value < a;
      case Op::LessEqual: return value <= a;
      case Op::Greater: return value > a;
      case Op::GreaterEqual: return value >= a;
      case Op::Between: return value > a && value < b;
    }
    return false;
  }
};

// `flow:` — direction and state of the packet within its flow.
struct FlowCondition {
  bool to_server = false;    // also from_client
  bool to_client = false;    // also from_server
  bool established = false;
  bool not_established = false;
  bool stateless = false;
  bool only_stream = false;  // match the reassembled stream only (as the tcp-stream protocol)
  bool no_stream = false;    // match packets only (as tcp-pkt)
};

// `flags:` — TCP flags. Exact (after removing `ignore`), `+` all of these and any others,
// `*` any of these, `!` none of these.
struct TcpFlagsTest {
  enum class Mode : uint8_t { Exact, All, Any, Not };
  Mode mode = Mode::Exact;
  uint8_t flags = 0;
  uint8_t ignore = 0;
};

// `fragbits:` — IPv4 flags M (more fragments), D (don't fragment), R (reserved), with the
// same modes as `flags`.
struct FragBitsTest {
  TcpFlagsTest::Mode mode = TcpFlagsTest::Mode::Exact;
  uint8_t bits = 0;  // 0x01 reserved, 0x02 DF, 0x04 MF (as in the header's top three bits >> 5)
};

// `stream_size:<server|client|both|either>,<modifier>,<number>` (modifiers < > = != <= >=):
// Suricata's count of what a side sent, next_seq - ISN (the SYN counts as one byte), compared
// with the number; `both`: both sides hold, `either`: at least one. Only packets of a tracked
// TCP session can match. A rule may have several: all must hold.
struct StreamSizeTest {
  enum class Side : uint8_t { Server, Client, Both, Either };
  Side side = Side::Client;
  NumericTest size;  // never Between
};

// Keywords that test packet and flow fields rather than payload bytes. All that are set
// must hold; the detection engine checks them before any content.
struct PacketTests {
  std::optional<FlowCondition> flow;
  std::optional<NumericTest> dsize;
  std::optional<NumericTest> ttl;
  std::optional<NumericTest> tos;
  std::optional<NumericTest> ip_id;
  std::optional<NumericTest> ip_proto;
  std::optional<NumericTest> itype;
  std::optional<NumericTest> icode;
  std::optional<NumericTest> icmp_id;
  std::optional<NumericTest> icmp_seq;
  std::optional<NumericTest> tcp_window;
  std::optional<NumericTest> tcp_seq;
  std::optional<NumericTest> tcp_ack;
  std::optional<NumericTest> fragoffset;
  std::optional<TcpFlagsTest> flags;
  std::optional<FragBitsTest> fragbits;
  std::vector<StreamSizeTest> stream_size;  // all must hold
  // `ipopts:` — IPv4 options that must be present: bit n is option number n (the type's low five
  // bits: eol 0, nop 1, sec 2, lsrr 3, ts 4, esec 5, rr 7, satid 8, ssrr 9); 0 is `any`.
  std::optional<uint32_t> ipopts;
  bool sameip = false;
  // `decode-event:` — decoder/defrag events that must all be raised on the packet.
  DecodeEventSet decode_events;

  bool empty() const noexcept {
    if (decode_events.any()) return false;
    return !flow && !dsize && !ttl && !tos && !ip_id && !ip_proto && !itype && !icode && !icmp_id && !icmp_seq &&
           !tcp_window && !tcp_seq && !tcp_ack && !fragoffset && !flags && !fragbits && !ipopts && !sameip &&
           stream_size.empty();
  }
};

// `threshold:` and `detection_filter:` — how many matches become alerts, per tracked
// address (or per rule) within a time window. Semantics of Suricata's threshold engine.
struct ThresholdOption {
  enum class Type : uint8_t { Limit, Threshold, Both, DetectionFilter };
  enum class Track : uint8_t { BySrc, ByDst, ByRule, ByBoth };
  Type type = Type::Limit;
  Track track = Track::BySrc;
  uint32_t count = 1;
  uint32_t seconds = 60;
};

// `tag:session[, count, packets|seconds|bytes]` and `tag:host[, count, metric[, src|dst]]`: when
// the rule alerts, the following packets of its flow (session) or of the tagged address (host:
// the alerting packet's source or destination) are logged as tagged packets (gid 2, sid 1)
// until `count` runs out. Suricata's defaults: 256 packets, host by its destination; a packet
// count is capped at 256 (DETECT_TAG_MAX_PKTS).
struct TagOption {
  static constexpr uint32_t kMaxPackets = 256;
  enum class Scope : uint8_t { Session, Host };
  enum class Metric : uint8_t { Packets, Seconds, Bytes };
  Scope scope = Scope::Session;
  Metric metric = Metric::Packets;
  bool by_src = false;  // host: tag the alerting packet's source (else its destination)
  uint32_t count = kMaxPackets;
};

// A rate_filter line of threshold.config: past `count` matches within `seconds` (tracked as
// for threshold), the rule's action becomes `new_action` for `timeout` seconds. Eastwatch is
// passive: only `pass` changes what is written (no alert while it applies); drop, sdrop and
// reject alert as before, since a mirror port cannot block anything.
struct RateFilterOption {
  enum class NewAction : uint8_t { Alert, Log, Drop, Sdrop, Pass, Reject };
  ThresholdOption::Track track = ThresholdOption::Track::BySrc;
  uint32_t count = 1;
  uint32_t seconds = 60;
  NewAction new_action = NewAction::Alert;
  uint32_t timeout = 60;
};

// `flowbits:` — named bits on the flow. set/unset/toggle run when the rule matches;
// isset/isnotset are conditions. Several names: `a|b` (any of them) or `a&b` (all of them).
struct FlowbitsOption {
  enum class Command : uint8_t { Set, Unset, Toggle, IsSet, IsNotSet };
  Command command = Command::Set;
  std::vector<std::string> names;
  bool any = false;            // `|` between names (isset/isnotset); otherwise all of them
  std::vector<uint16_t> ids;   // filled by the compiler: the names as flowbit numbers

  bool is_condition() const noexcept { return command == Command::IsSet || command == Command::IsNotSet; }
};

// `xbits:<cmd>,<name>,track <ip_src|ip_dst|ip_pair>[,expire <seconds>]` (Suricata): named bits
// on a host (the packet's source or destination) or an ip pair, not on the flow, so every flow
// between those hosts sees them. set/unset/toggle run when the rule matches; isset/isnotset are
// conditions. A bit lives `expire` seconds (Suricata's default 30) from the packet that set it.
// The pair is unordered (Suricata's ippair table matches a->b and b->a alike).
struct XbitsOption {
  enum class Command : uint8_t { Set, Unset, Toggle, IsSet, IsNotSet };
  enum class Track : uint8_t { IpSrc, IpDst, IpPair };
  static constexpr uint32_t kDefaultExpire = 30;
  Command command = Command::Set;
  Track track = Track::IpSrc;
  std::string name;
  uint32_t expire = kDefaultExpire;
  uint64_t id = 0;  // FNV-1a of the name: the same bit across rules and reloads

  bool is_condition() const noexcept { return command == Command::IsSet || command == Command::IsNotSet; }
};

// `pcre:"/regex/flags"`. R: relative to the end of the previous match; B and O are accepted
// (B has no effect on the payload; O keeps Eastwatch's limits, see regex.hpp).
struct PcreOption {
  std::string source;      // as written, for messages and profiling
  std::string expression;  // the regex between the slashes
  uint32_t options = 0;    // its PCRE2 compile options (PCRE2_CASELESS, ...)
  bool negated = false;
  bool relative = false;
  std::shared_ptr<const Regex> regex;
};

// `isdataat:N[,relative]` (also negated with `!`): is there data at that position?
struct IsDataAtOption {
  uint32_t offset = 0;
  int8_t offset_var = -1;  // a byte_extract/byte_math variable gives the offset
  bool relative = false;
  bool negated = false;
};

// How byte_test and byte_jump read a number from the buffer.
struct ByteRead {
  uint8_t bytes = 4;         // 1-8 binary, 1-23 as a string; byte_test 0 with `string`: to the buffer end
  int32_t offset = 0;        // from the buffer start, or from prev_end with `relative`
  bool relative = false;
  bool little_endian = false;
  uint8_t string_base = 0;   // 0: binary; 8, 10 or 16: ASCII digits (`string, oct|dec|hex`)
  uint64_t bitmask = 0;      // 0: none; else value &= mask, shifted right past the mask's zero bits
  int8_t offset_var = -1;    // a byte_extract/byte_math variable gives the offset
};

// Variables per section that byte_extract and byte_math may define (slots of a fixed array on
// the inspecting thread's stack).
inline constexpr uint8_t kMaxByteVariables = 16;

// `byte_test:bytes, [!]op, value, offset [, relative] [, big|little] [, string, hex|dec|oct] [, bitmask m]`
struct ByteTestOption {
  enum class Op : uint8_t { Less, Greater, Equal, LessEqual, GreaterEqual, And, Xor };
  ByteRead read;
  Op op = Op::Equal;
  bool negated = false;
  uint64_t value = 0;
  int8_t value_var = -1;  // a byte_extract/byte_math variable gives the value
};

// `byte_jump:bytes, offset [, relative] [, multiplier n] [, big|little] [, string, hex|dec|oct]
//  [, align] [, from_beginning|from_end] [, post_offset n] [, bitmask m]`
struct ByteJumpOption {
  ByteRead read;
  uint32_t multiplier = 1;
  bool align = false;
  bool from_beginning = false;
  bool from_end = false;
  int32_t post_offset = 0;
};

// `byte_extract:bytes, offset, name [, relative] [, multiplier n] [, big|little] [, string [, hex|dec|oct]]
//  [, dce] [, bitmask m] [, align 2|4]` — reads a number into variable `name` (slot `slot`) and
// moves prev_end past the bytes read.
struct ByteExtractOption {
  ByteRead read;
  uint32_t multiplier = 1;
  uint8_t align = 0;  // 0 (none), 2 or 4: the value rounded up to a multiple
  uint8_t slot = 0;
  std::string name;
};

// `byte_math:bytes n, offset n, oper op, rvalue n|var, result var [, relative] [, endian big|little]
//  [, string hex|dec|oct] [, dce] [, bitmask m]` — reads a number, applies `oper rvalue` and the
// bitmask, and stores the result in variable `name` (slot `slot`); moves prev_end past the bytes.
struct ByteMathOption {
  enum class Op : uint8_t { Add, Subtract, Multiply, Divide, LeftShift, RightShift };
  ByteRead read;  // read.bitmask stays 0: byte_math masks the result, not the number read
  Op op = Op::Add;
  uint64_t rvalue = 0;
  int8_t rvalue_var = -1;
  uint32_t bitmask = 0;
  uint8_t slot = 0;
  std::string name;
};

// `asn1:` (Suricata 7, rust/src/asn1): decodes BER elements from an offset of the payload and
// matches when one of the checks asked for holds on an element decoded completely. Options, in
// any order, separated by a comma or white space: bitstring_overflow, double_overflow,
// oversize_length N (0-4294967295), absolute_offset N (0-65535), relative_offset N (-65535 to
// 65535, from the end of the payload section's last match); absolute_offset wins over
// relative_offset, neither means offset 0.
struct Asn1Option {
  bool bitstring_overflow = false;  // a universal primitive BIT STRING whose unused-bits octet > 8 * length
  bool double_overflow = false;     // a universal primitive REAL, decimal encoding, longer than 256 bytes
  bool oversize = false;            // oversize_length given
  bool relative = false;            // `offset` is relative_offset (else absolute_offset, or 0)
  uint32_t oversize_length = 0;     // an element longer than this matches
  int32_t offset = 0;
};

// One step of a section's option chain, in rule order; `index` points into the section's
// vector of that kind.
struct ChainStep {
  enum class Kind : uint8_t { Content, Pcre, IsDataAt, ByteTest, ByteJump, ByteExtract, ByteMath, Bsize, Asn1 };
  Kind kind = Kind::Content;
  uint16_t index = 0;
};

// A suppress line of threshold.config: no alert from this rule, or none when the tracked
// address is in `addresses`.
struct Suppression {
  enum class Track : uint8_t { All, BySrc, ByDst, ByEither };
  Track track = Track::All;
  AddressSet addresses;
};

struct BufferSection {
  BufferKind kind = BufferKind::Payload;
  std::vector<Transform> transforms;    // applied in order before the options below
  std::vector<ContentOption> contents;  // in rule order
  std::vector<PcreOption> pcres;
  std::vector<IsDataAtOption> isdataats;
  std::vector<ByteTestOption> byte_tests;
  std::vector<ByteJumpOption> byte_jumps;
  std::vector<ByteExtractOption> byte_extracts;
  std::vector<ByteMathOption> byte_maths;
  std::vector<NumericTest> bsizes;  // `bsize:` — the length of this section's buffer
  uint8_t variables = 0;            // byte_extract/byte_math slots used
  std::vector<ChainStep> steps;  // every option above, in rule order
  // `asn1:` (payload section only): its steps come after every other step, so they see the
  // cursor the chain's match left, as Suricata runs asn1 after the payload inspection.
  std::vector<Asn1Option> asn1s;
};

struct RuleReference {
  std::string system;  // "url", "cve", ...
  std::string id;
};

struct Rule {
  // Header.
  RuleAction action = RuleAction::Alert;
  RuleProtocol protocol = RuleProtocol::Ip;
  AddressSet src_addresses;
  PortSet src_ports;
  AddressSet dst_addresses;
  PortSet dst_ports;
  bool bidirectional = false;  // `<>`

  // Identity and metadata.
  uint32_t gid = 1;
  uint32_t sid = 0;
  uint32_t rev = 0;
  std::string msg;
  std::string classtype;        // empty when not given
  std::string category;         // classtype's description, as EVE `alert.category`
  int priority = 3;             // explicit `priority:`, else the classtype's, else 3
  std::vector<RuleReference> references;
  std::vector<std::string> reference_urls;  // `references` resolved by reference.config (at load)
  std::vector<std::string> metadata;  // each `metadata:` entry, trimmed, in order

  // Detection.
  PacketTests packet;
  std::vector<BufferSection> sections;
  bool noalert = false;  // matches (and later sets flowbits) but writes no alert
  std::optional<ThresholdOption> threshold;  // threshold or detection_filter
  std::optional<RateFilterOption> rate_filter;  // from threshold.config
  std::vector<FlowbitsOption> flowbits;
  std::vector<TagOption> tags;  // `tag:` (may appear several times)
  std::vector<Suppression> suppressions;  // from threshold.config
  // `target:src_ip|dest_ip`: which side is the target; EVE then names alert.source/target.
  enum class Target : uint8_t { None, SrcIp, DestIp };
  Target target = Target::None;
  // Which TCP bytes the payload sections inspect (Suricata's semantics): `tcp` rules both each
  // packet's payload and the reassembled stream; `tcp-pkt`, `flow:no_stream` or `dsize` packets
  // only; `tcp-stream`, `flow:only_stream` the stream only. Other protocols: packets.
  enum class StreamMode : uint8_t { Both, PacketOnly, StreamOnly };
  StreamMode stream = StreamMode::Both;

  // Application layer. A header protocol such as `http` or `dns` (Suricata): the rule applies
  // to flows detected as that protocol (Unknown: no such condition). `app-layer-protocol:[!]P`:
  // the flow's detected protocol is (not) P. Snort 3's `service:a,b`: once a flow's protocol
  // is identified it must be one of these; before that (or when it is never identified) the
  // header's ports decide, as Snort 3 does with its port and service groups.
  AppProto app_proto = AppProto::Unknown;
  struct AppLayerProtocolTest {
    AppProto proto = AppProto::Unknown;  // Unknown: not detected (yet); Failed: detection gave up
    bool negated = false;
  };
  std::optional<AppLayerProtocolTest> app_layer_protocol;
  static constexpr uint8_t kUnidentifiedService = 0xff;  // a service Eastwatch never identifies
  std::vector<uint8_t> services;  // AppProto values, or kUnidentifiedService
  // Application-layer keywords that compare a value rather than inspect a buffer (the flow
  // must have that protocol's transaction in the packet).
  std::optional<NumericTest> dns_opcode;  // `dns.opcode:[!]N`
  std::vector<uint16_t> tls_versions;     // `tls.version:1.2` as wire values (0x0303); any of them

  // Where it came from, for messages and `-T`.
  std::string file;
  uint32_t line = 0;
  std::string text;  // the rule as written (one logical line)

  std::vector<XbitsOption> xbits;  // `xbits:` (host / ip pair bits)
  bool ftpbounce = false;          // `ftpbounce`: a PORT command naming another host than the client
};

}  // namespace eastwatch

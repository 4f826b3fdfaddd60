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
#include <optional>
#include <string>
#include <vector>

#include "signatures/address.hpp"

namespace eastwatch {

enum class RuleAction : uint8_t { Alert, Pass, Drop, Reject, RejectSrc, RejectDst, RejectBoth };

// Header protocol. `Ip` matches every IP packet.
enum class RuleProtocol : uint8_t { Ip, Tcp, Udp, Icmp };

// What a buffer section inspects. Later issues add stream and app-layer kinds here.
enum class BufferKind : uint8_t { Payload };

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
  // fast_pattern; fast_pattern:only; fast_pattern:<offset>,<length>
  bool fast_pattern = false;
  bool fast_pattern_only = false;
  std::optional<uint16_t> fast_pattern_offset;
  std::optional<uint16_t> fast_pattern_length;

  bool is_relative() const noexcept { return distance.has_value() || within.has_value(); }
};

struct BufferSection {
  BufferKind kind = BufferKind::Payload;
  std::vector<ContentOption> contents;  // in rule order
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
  std::vector<std::string> metadata;  // each `metadata:` entry, trimmed, in order

  // Detection.
  std::vector<BufferSection> sections;

  // Where it came from, for messages and `-T`.
  std::string file;
  uint32_t line = 0;
  std::string text;  // the rule as written (one logical line)
};

}  // namespace eastwatch

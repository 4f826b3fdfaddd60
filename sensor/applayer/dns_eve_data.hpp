// The EVE `dns` facts of one DNS transaction, as a bounded copy: small enough to travel inside
// an AlertEvent, so an output needs nothing of the parser's state. Names and rdata are text
// (A/AAAA addresses formatted as Suricata does) in one pool; what does not fit is left out
// (`truncated`). Filled by dns_eve_fill (dns_parser.hpp).
#pragma once

#include <cstdint>
#include <iterator>
#include <string_view>

namespace eastwatch {

struct DnsEveData {
  static constexpr uint32_t kMaxQueries = 8;
  static constexpr uint32_t kMaxAnswers = 16;  // answers and authorities
  static constexpr uint32_t kTextBytes = 2048;

  struct Text {
    uint16_t offset = 0;
    uint16_t len = 0;
  };
  struct Query {
    Text rrname;
    uint16_t rrtype = 0;
  };
  struct Answer {
    Text rrname;
    Text rdata;
    bool has_rdata = false;
    bool authority = false;
    uint16_t rrtype = 0;
    uint32_t ttl = 0;
  };

  uint64_t tx_id = 0;
  bool request = true;  // a message to the server (EVE type "request"), else "response"
  uint16_t id = 0;
  uint16_t flags = 0;
  uint8_t opcode = 0;
  uint8_t rcode = 0;
  bool truncated = false;
  uint8_t query_count = 0;
  uint8_t answer_count = 0;
  uint16_t text_used = 0;
  Query queries[kMaxQueries];
  Answer answers[kMaxAnswers];
  char text[kTextBytes];

  std::string_view view(Text t) const noexcept { return {text + t.offset, t.len}; }
};

// Suricata's rrtype names (rust/src/dns/log.rs dns_rrtype_string, its spellings included);
// empty for a type it has no name for (written as the number).
constexpr std::string_view dns_rrtype_name(uint16_t rrtype) noexcept {
  switch (rrtype) {
    case 1: return "A";
    case 2: return "NS";
    case 3: return "ND";  // MD, as Suricata spells it
    case 4: return "MF";
    case 5: return "CNAME";
    case 6: return "SOA";
    case 7: return "MB";
    case 8: return "MG";
    case 9: return "MR";
    case 10: return "NULL";
    case 11: return "WKS";
    case 12: return "PTR";
    case 13: return "HINFO";
    case 14: return "MINFO";
    case 15: return "MX";
    case 16: return "TXT";
    case 17: return "RP";
    case 18: return "AFSDB";
    case 19: return "X25";
    case 20: return "ISDN";
    case 21: return "RT";
    case 22: return "NSAP";
    case 23: return "NSAPPT";
    case 24: return "SIG";
    case 25: return "KEY";
    case 26: return "PX";
    case 27: return "GPOS";
    case 28: return "AAAA";
    case 29: return "LOC";
    case 30: return "NXT";
    case 33: return "SRV";
    case 34: return "ATMA";
    case 35: return "NAPTR";
    case 36: return "KX";
    case 37: return "CERT";
    case 38: return "A6";
    case 39: return "DNAME";
    case 41: return "OPT";
    case 42: return "APL";
    case 43: return "DS";
    case 44: return "SSHFP";
    case 45: return "IPSECKEY";
    case 46: return "RRSIG";
    case 47: return "NSEC";
    case 48: return "DNSKEY";
    case 49: return "DHCID";
    case 50: return "NSEC3";
    case 51: return "NSEC3PARAM";
    case 52: return "TLSA";
    case 55: return "HIP";
    case 59: return "CDS";
    case 60: return "CDSNKEY";
    case 99: return "SPF";
    case 249: return "TKEY";
    case 250: return "TSIG";
    case 253: return "MAILA";
    case 255: return "ANY";
    case 256: return "URI";
    default: return {};
  }
}

// Suricata's rcode names; empty when unnamed (written as the number).
constexpr std::string_view dns_rcode_name(uint8_t rcode) noexcept {
  constexpr std::string_view kNames[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
                                         "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE"};
  return rcode < std::size(kNames) ? kNames[rcode] : std::string_view{};
}

}  // namespace eastwatch

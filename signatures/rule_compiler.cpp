#include "signatures/rule_compiler.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "signatures/hs_cache.hpp"

#include <algorithm>
#include <iterator>
#include <optional>
#include <chrono>
#include <map>
#include <numeric>

namespace eastwatch {

namespace {

// Suricata's default action order: pass, drop, reject, alert.
int action_rank(RuleAction action) {
  switch (action) {
    case RuleAction::Pass: return 0;
    case RuleAction::Drop: return 1;
    case RuleAction::Reject:
    case RuleAction::RejectSrc:
    case RuleAction::RejectDst:
    case RuleAction::RejectBoth: return 2;
    case RuleAction::Alert: return 3;
  }
  return 3;
}

// Suricata orders flowbit setters before readers so that a bit set by one rule is visible to
// the rules that check it on the same packet: set-only, set-and-read, read-only, then the rest.
int flowbits_rank(const Rule& rule) {
  bool sets = false, reads = false;
  for (const auto& f : rule.flowbits) (f.is_condition() ? reads : sets) = true;
  // xbits rank with flowbits (Suricata orders hostbits and ippairbits setters first too).
  for (const auto& x : rule.xbits) (x.is_condition() ? reads : sets) = true;
  if (sets && !reads) return 0;
  if (sets && reads) return 1;
  if (reads) return 2;
  return 3;
}

bool rule_in_protocol(const Rule& rule, PrefilterGroupId protocol) {
  if (rule.protocol == RuleProtocol::Ip) return true;
  switch (protocol) {
    case PrefilterGroupId::Tcp: return rule.protocol == RuleProtocol::Tcp;
    case PrefilterGroupId::Udp: return rule.protocol == RuleProtocol::Udp;
    case PrefilterGroupId::Icmp: return rule.protocol == RuleProtocol::Icmp;
    default: return false;
  }
}

struct Literal {
  std::string bytes;
  bool nocase;
  bool operator<(const Literal& other) const {
    return nocase != other.nocase ? nocase < other.nocase : bytes < other.bytes;
  }
};

// What a rule gives the prefilter: a literal, a regex, or nothing (header-only rules).
struct Prefilter {
  enum class Kind : uint8_t { None, Literal, Regex };
  Kind kind = Kind::None;
  Literal literal;
  std::string expression;
  unsigned hs_flags = 0;
};

// Hyperscan flags for a pcre used as a prefilter, or 0 when its options cannot be expressed
// (extended syntax, anchoring) and the rule stays without prefilter.
unsigned prefilter_flags(uint32_t pcre2_options) {
  if (pcre2_options & (PCRE2_EXTENDED | PCRE2_ANCHORED)) return 0;
  unsigned flags = HS_FLAG_PREFILTER | HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY;
  if (pcre2_options & PCRE2_CASELESS) flags |= HS_FLAG_CASELESS;
  if (pcre2_options & PCRE2_DOTALL) flags |= HS_FLAG_DOTALL;
  if (pcre2_options & PCRE2_MULTILINE) flags |= HS_FLAG_MULTILINE;
  return flags;  // UNGREEDY and DOLLAR_ENDONLY do not shrink the set of buffers that match
}

bool hyperscan_accepts(const std::string& expression, unsigned flags) {
  hs_database_t* database = nullptr;
  hs_compile_error_t* error = nullptr;
  if (hs_compile(expression.c_str(), flags, HS_MODE_BLOCK, nullptr, &database, &error) != HS_SUCCESS) {
    hs_free_compile_error(error);
    return false;
  }
  hs_free_database(database);
  return true;
}

// The ports of a rule that matter to a group keyed by server port in one direction; nullopt
// means every port. to_server groups are keyed by destination port, to_client by source port.
std::optional<PortSet> server_ports(const Rule& rule, bool to_server) {
  // A Snort 3 rule with `service:` also meets flows identified as its service on any port.
  if (!rule.services.empty()) return std::nullopt;
  if (rule.bidirectional) {
    if (rule.src_ports.is_any() || rule.dst_ports.is_any()) return std::nullopt;
    return rule.src_ports.unite(rule.dst_ports);
  }
  const PortSet& ports = to_server ? rule.dst_ports : rule.src_ports;
  if (ports.is_any()) return std::nullopt;
  return ports;
}

bool direction_possible(const Rule& rule, bool to_server) {
  if (!rule.packet.flow) return true;
  return to_server ? !rule.packet.flow->to_client : !rule.packet.flow->to_server;
}

std::vector<uint32_t> sorted_union(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  std::vector<uint32_t> out;
  out.reserve(a.size() + b.size());
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

// Splits the members of one protocol, for one direction, into at most kMaxPortGroups rule
// lists; `port_list[p]` names the list of server port p.
void group_by_port(const std::vector<Rule>& rules, const std::vector<uint32_t>& members, bool to_server,
                   std::vector<std::vector<uint32_t>>& lists, std::vector<uint32_t>& port_list) {
  std::vector<uint32_t> base;
  std::vector<std::pair<uint32_t, PortSet>> specific;
  for (uint32_t r : members) {
    if (!direction_possible(rules[r], to_server)) continue;
    auto ports = server_ports(rules[r], to_server);
    if (!ports) {
      base.push_back(r);
    } else if (!ports->empty()) {
      specific.emplace_back(r, std::move(*ports));
    }
  }
  std::vector<uint32_t> bounds{0, 65536};
  for (const auto& [r, ports] : specific) {
    for (const auto& range : ports.ranges()) {
      bounds.push_back(range.first);
      bounds.push_back(uint32_t{range.last} + 1);
    }
  }
  std::sort(bounds.begin(), bounds.end());
  bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
  const size_t intervals = bounds.size() - 1;
  std::vector<std::vector<uint32_t>> interval_rules(intervals);
  for (const auto& [r, ports] : specific) {
    for (const auto& range : ports.ranges()) {
      const size_t lo = std::lower_bound(bounds.begin(), bounds.end(), range.first) - bounds.begin();
      const size_t hi = std::lower_bound(bounds.begin(), bounds.end(), uint32_t{range.last} + 1) - bounds.begin();
      for (size_t i = lo; i < hi; ++i) {
        if (interval_rules[i].empty() || interval_rules[i].back() != r) interval_rules[i].push_back(r);
      }
    }
  }
  // Distinct specific sets; past the limit the smallest ones are merged into one list.
  std::map<std::vector<uint32_t>, uint32_t> distinct;
  for (const auto& list : interval_rules) distinct.emplace(list, 0);
  std::vector<const std::vector<uint32_t>*> by_size;
  for (auto& [list, id] : distinct) by_size.push_back(&list);
  std::stable_sort(by_size.begin(), by_size.end(), [](auto* a, auto* b) { return a->size() > b->size(); });
  const size_t keep = by_size.size() <= CompiledRuleSet::kMaxPortGroups ? by_size.size()
                                                                        : CompiledRuleSet::kMaxPortGroups - 1;
  lists.clear();
  for (size_t i = 0; i < keep; ++i) {
    distinct[*by_size[i]] = static_cast<uint32_t>(lists.size());
    lists.push_back(sorted_union(base, *by_size[i]));
  }
  if (keep < by_size.size()) {
    std::vector<uint32_t> merged;
    for (size_t i = keep; i < by_size.size(); ++i) {
      merged = sorted_union(merged, *by_size[i]);
      distinct[*by_size[i]] = static_cast<uint32_t>(lists.size());
    }
    lists.push_back(sorted_union(base, merged));
  }
  port_list.assign(65536, 0);
  for (size_t i = 0; i < intervals; ++i) {
    const uint32_t list = distinct[interval_rules[i]];
    for (uint32_t port = bounds[i]; port < bounds[i + 1]; ++port) port_list[port] = list;
  }
}

// Vectorscan 5.4.9 (Debian 12's) refuses a pure literal whose first byte is NUL ("Pure literal
// API doesn't support empty string": it measures the pattern with strlen), which content:"|00
// ..|" fast patterns are; Hyperscan takes them. Such a literal database is compiled through
// the regex API instead, every byte written \xHH: the same matches and flags (CASELESS,
// SINGLEMATCH, SOM_LEFTMOST are valid there too), a slower compile of that database only.
bool vectorscan_refuses_literals(const std::vector<const char*>& expressions, const std::vector<size_t>& lengths) {
#ifdef EASTWATCH_REGEX_ENGINE_NAME
  if (std::string_view(EASTWATCH_REGEX_ENGINE_NAME) != "vectorscan") return false;
  for (size_t i = 0; i < expressions.size(); ++i) {
    if (lengths[i] > 0 && expressions[i][0] == '\0') return true;
  }
#endif
  return false;
}

void escape_literals(const std::vector<const char*>& expressions, const std::vector<size_t>& lengths,
                     std::vector<std::string>& escaped, std::vector<const char*>& pointers) {
  static constexpr char kHex[] = "0123456789abcdef";
  escaped.resize(expressions.size());
  for (size_t i = 0; i < expressions.size(); ++i) {
    escaped[i].reserve(lengths[i] * 4);
    for (size_t j = 0; j < lengths[i]; ++j) {
      const auto byte = static_cast<unsigned char>(expressions[i][j]);
      escaped[i] += {'\\', 'x', kHex[byte >> 4], kHex[byte & 15]};
    }
  }
  for (const std::string& pattern : escaped) pointers.push_back(pattern.c_str());
}

// Builds databases once per distinct pattern set; the set owns them.
class DatabaseBuilder {
 public:
  DatabaseBuilder(const HsCache& cache, CompileStats& stats, std::vector<HsDatabase>& owned)
      : cache_(cache), stats_(stats), owned_(owned) {}

  tl::expected<const hs_database_t*, std::string> build(std::string_view kind, const std::vector<const char*>& expressions,
                                                        const std::vector<size_t>& lengths,
                                                        const std::vector<unsigned>& flags,
                                                        const std::vector<unsigned>& ids, unsigned mode = HS_MODE_BLOCK) {
    if (expressions.empty()) return nullptr;
    const std::string key = HsCache::key(kind, expressions, lengths, flags, ids, mode);
    if (auto it = built_.find(key); it != built_.end()) return it->second;
    hs_database_t* database = cache_.enabled() ? cache_.load(key) : nullptr;
    if (database != nullptr) {
      ++stats_.cache_hits;
    } else {
      hs_compile_error_t* error = nullptr;
      std::vector<std::string> escaped;
      std::vector<const char*> escaped_pointers;
      const bool literal = kind == "literal" && !vectorscan_refuses_literals(expressions, lengths);
      if (kind == "literal" && !literal) escape_literals(expressions, lengths, escaped, escaped_pointers);
      const std::vector<const char*>& patterns = escaped_pointers.empty() ? expressions : escaped_pointers;
      const hs_error_t rc =
          literal ? hs_compile_lit_multi(expressions.data(), flags.data(), ids.data(), lengths.data(),
                                         static_cast<unsigned>(expressions.size()), mode, nullptr, &database, &error)
                  : hs_compile_multi(patterns.data(), flags.data(), ids.data(), static_cast<unsigned>(patterns.size()),
                                     mode, nullptr, &database, &error);
      if (rc != HS_SUCCESS) {
        std::string message = error && error->message ? error->message : "unknown error";
        if (error && error->expression >= 0) failed_id_ = ids[static_cast<size_t>(error->expression)];
        hs_free_compile_error(error);
        return tl::unexpected(message);
      }
      if (cache_.enabled()) {
        ++stats_.cache_misses;
        cache_.store(key, database);
      }
    }
    owned_.emplace_back(database);
    built_.emplace(key, database);
    return database;
  }
  unsigned failed_id() const { return failed_id_; }

 private:
  const HsCache& cache_;
  CompileStats& stats_;
  std::vector<HsDatabase>& owned_;
  std::map<std::string, const hs_database_t*> built_;
  unsigned failed_id_ = 0;
};

bool inspects_stream(const Rule& rule) {
  if (rule.protocol != RuleProtocol::Tcp || rule.stream == Rule::StreamMode::PacketOnly) return false;
  return std::any_of(rule.sections.begin(), rule.sections.end(), [](const BufferSection& s) { return !s.steps.empty(); });
}

// The prefilters of a list of rules, as Hyperscan inputs: one pattern id per distinct literal
// (the rules sharing it listed under it), then the regex prefilters, one rule each.
struct PatternLists {
  std::map<Literal, uint32_t> ids;
  std::vector<std::vector<uint32_t>> rules_of;  // by pattern id
  std::vector<uint32_t> regex_rules;
  std::vector<uint32_t> header_only;  // rules without a prefilter
  // The literals' arrays for hs_compile_lit_multi, in pattern-id order.
  std::vector<const char*> expressions;
  std::vector<size_t> lengths;
  std::vector<unsigned> flags;
  std::vector<unsigned> hs_ids;
};

PatternLists collect_patterns(const std::vector<Prefilter>& prefilter, const std::vector<uint32_t>& members) {
  PatternLists lists;
  for (uint32_t r : members) {
    switch (prefilter[r].kind) {
      case Prefilter::Kind::None: lists.header_only.push_back(r); break;
      case Prefilter::Kind::Regex: lists.regex_rules.push_back(r); break;
      case Prefilter::Kind::Literal: {
        auto [it, inserted] = lists.ids.emplace(prefilter[r].literal, static_cast<uint32_t>(lists.ids.size()));
        if (inserted) lists.rules_of.emplace_back();
        lists.rules_of[it->second].push_back(r);
        break;
      }
    }
  }
  const size_t count = lists.ids.size();
  lists.expressions.resize(count);
  lists.lengths.resize(count);
  lists.flags.resize(count);
  lists.hs_ids.resize(count);
  for (const auto& [literal, pattern_id] : lists.ids) {
    lists.expressions[pattern_id] = literal.bytes.data();
    lists.lengths[pattern_id] = literal.bytes.size();
    lists.flags[pattern_id] = HS_FLAG_SINGLEMATCH | (literal.nocase ? HS_FLAG_CASELESS : 0);
    lists.hs_ids[pattern_id] = pattern_id;
  }
  return lists;
}

// The block-mode literal database; `what` names the patterns in the error.
tl::expected<const hs_database_t*, std::string> build_literal_database(const PatternLists& lists,
                                                                       const std::vector<Rule>& rules,
                                                                       DatabaseBuilder& databases, const char* what) {
  auto database = databases.build("literal", lists.expressions, lists.lengths, lists.flags, lists.hs_ids);
  if (!database) {
    const uint32_t first_rule = lists.rules_of[databases.failed_id()].front();
    return tl::unexpected(std::string("Hyperscan refused the ") + what + ": " + database.error() + " (pattern of sid " +
                          std::to_string(rules[first_rule].sid) + ")");
  }
  return database;
}

// The regex prefilters' database, ids from `first_id` (after the literals); nullptr for none.
tl::expected<const hs_database_t*, std::string> build_regex_database(const PatternLists& lists,
                                                                     const std::vector<Prefilter>& prefilter,
                                                                     uint32_t first_id, DatabaseBuilder& databases) {
  if (lists.regex_rules.empty()) return nullptr;
  std::vector<const char*> expressions;
  std::vector<size_t> lengths;
  std::vector<unsigned> flags;
  std::vector<unsigned> ids;
  for (uint32_t k = 0; k < lists.regex_rules.size(); ++k) {
    const Prefilter& p = prefilter[lists.regex_rules[k]];
    expressions.push_back(p.expression.c_str());
    lengths.push_back(p.expression.size());
    flags.push_back(p.hs_flags);
    ids.push_back(first_id + k);
  }
  return databases.build("regex", expressions, lengths, flags, ids);
}

// The rules of each pattern id, flattened: pattern p's are rules[offsets[p] .. offsets[p+1]).
void flatten_pattern_rules(const std::vector<std::vector<uint32_t>>& rules_of, std::vector<uint32_t>& rules,
                           std::vector<uint32_t>& offsets) {
  offsets.assign(1, 0);
  for (const auto& list : rules_of) {
    rules.insert(rules.end(), list.begin(), list.end());
    offsets.push_back(static_cast<uint32_t>(rules.size()));
  }
}

tl::expected<void, std::string> build_prefilter(const std::vector<Rule>& rules, const std::vector<Prefilter>& prefilter,
                                                const std::vector<uint32_t>& members, bool streams,
                                                DatabaseBuilder& databases, PrefilterGroup& group) {
  PatternLists lists = collect_patterns(prefilter, members);
  auto literal_db = build_literal_database(lists, rules, databases, "fast patterns");
  if (!literal_db) return tl::unexpected(literal_db.error());
  group.database = *literal_db;
  group.pattern_count = static_cast<uint32_t>(lists.ids.size());
  if (streams) {
    const bool any_stream_rule =
        std::any_of(members.begin(), members.end(), [&](uint32_t r) { return inspects_stream(rules[r]); });
    if (any_stream_rule) {
      // Not single-match: in streaming mode that would report a literal once per stream,
      // and each later occurrence must select its rules again.
      std::vector<unsigned> stream_flags(lists.flags);
      for (auto& f : stream_flags) f &= ~static_cast<unsigned>(HS_FLAG_SINGLEMATCH);
      auto stream_db =
          databases.build("literal", lists.expressions, lists.lengths, stream_flags, lists.hs_ids, HS_MODE_STREAM);
      if (!stream_db) return tl::unexpected("Hyperscan refused the stream fast patterns: " + stream_db.error());
      group.stream_database = *stream_db;
    }
    for (uint32_t r : members) {
      if (inspects_stream(rules[r]) && prefilter[r].kind != Prefilter::Kind::Literal) {
        group.stream_unprefiltered.push_back(r);
      }
    }
  }

  // Regex prefilters, ids after the literals. Each was accepted alone; should the set still
  // be refused, those rules fall back to the header-only path (correct, only slower).
  std::vector<uint32_t> header_only = std::move(lists.header_only);
  if (auto regex_db = build_regex_database(lists, prefilter, group.pattern_count, databases); !regex_db) {
    header_only = sorted_union(header_only, lists.regex_rules);
  } else if (*regex_db != nullptr) {
    group.regex_database = *regex_db;
    group.regex_count = static_cast<uint32_t>(lists.regex_rules.size());
    for (uint32_t r : lists.regex_rules) lists.rules_of.push_back({r});
  }
  flatten_pattern_rules(lists.rules_of, group.pattern_rules, group.pattern_rule_offsets);

  // Header-only rules behind their address index.
  HeaderOnlyRules& index = group.header_only;
  index.rules = header_only;
  std::vector<const AddressSet*> sources;
  std::vector<const AddressSet*> destinations;
  index.bidirectional.assign((header_only.size() + 63) / 64, 0);
  for (size_t j = 0; j < header_only.size(); ++j) {
    const Rule& rule = rules[header_only[j]];
    sources.push_back(&rule.src_addresses);
    destinations.push_back(&rule.dst_addresses);
    if (rule.bidirectional) index.bidirectional[j / 64] |= uint64_t{1} << (j % 64);
  }
  index.by_src = AddressIndex::build(sources);
  index.by_dst = AddressIndex::build(destinations);
  return {};
}

SignatureGroup make_signature_group(const std::vector<uint32_t>& list, uint32_t rule_count,
                                    const HeaderOnlyRules& header_only) {
  SignatureGroup group;
  group.members.assign((rule_count + 63) / 64, 0);
  for (uint32_t r : list) group.members[r / 64] |= uint64_t{1} << (r % 64);
  group.header_only_mask.assign(std::max<size_t>(1, (header_only.rules.size() + 63) / 64), 0);
  for (size_t j = 0; j < header_only.rules.size(); ++j) {
    if (group.contains(header_only.rules[j])) group.header_only_mask[j / 64] |= uint64_t{1} << (j % 64);
  }
  group.rule_count = static_cast<uint32_t>(list.size());
  return group;
}

bool same_transforms(const std::vector<Transform>& a, const std::vector<Transform>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].kind != b[i].kind || a[i].key != b[i].key) return false;
  }
  return true;
}

// The literal and regex databases of one buffer variant, from its rules' prefilters.
tl::expected<void, std::string> build_buffer_prefilter(const std::vector<Rule>& rules,
                                                       const std::vector<Prefilter>& prefilter,
                                                       const std::vector<uint32_t>& members,
                                                       DatabaseBuilder& databases, BufferPrefilter& out) {
  PatternLists lists = collect_patterns(prefilter, members);  // members all have a prefilter
  auto literal_db = build_literal_database(lists, rules, databases, "buffer fast patterns");
  if (!literal_db) return tl::unexpected(literal_db.error());
  out.database = *literal_db;
  out.pattern_count = static_cast<uint32_t>(lists.ids.size());
  auto regex_db = build_regex_database(lists, prefilter, out.pattern_count, databases);
  if (!regex_db) return tl::unexpected("Hyperscan refused the buffer pcre prefilters: " + regex_db.error());
  out.regex_database = *regex_db;
  for (uint32_t r : lists.regex_rules) lists.rules_of.push_back({r});
  flatten_pattern_rules(lists.rules_of, out.pattern_rules, out.pattern_rule_offsets);
  return {};
}

}  // namespace

AppTxProtocol app_protocol_of(BufferKind kind) noexcept {
  if (kind == BufferKind::Payload || kind == BufferKind::Count) return AppTxProtocol::Count;
  if (kind == BufferKind::DnsQuery) return AppTxProtocol::Dns;
  if (kind >= BufferKind::TlsSni) return AppTxProtocol::Tls;
  return AppTxProtocol::Http;
}

namespace {

enum class KindSide : uint8_t { None, Request, Response, Both };

KindSide kind_side(BufferKind kind) noexcept {
  switch (kind) {
    case BufferKind::Payload:
    case BufferKind::Count: return KindSide::None;
    case BufferKind::HttpProtocol:
    case BufferKind::HttpHeader:
    case BufferKind::HttpHeaderRaw:
    case BufferKind::HttpHeaderNames:
    case BufferKind::HttpCookie:
    case BufferKind::HttpContentType:
    case BufferKind::HttpContentLen:
    case BufferKind::HttpStart:
    case BufferKind::FileData: return KindSide::Both;
    case BufferKind::DnsQuery:
    case BufferKind::TlsSni:
    case BufferKind::Ja3Hash:
    case BufferKind::Ja3String: return KindSide::Request;
    case BufferKind::Ja3sHash:
    case BufferKind::Ja3sString:
    case BufferKind::TlsCertSubject:
    case BufferKind::TlsCertIssuer:
    case BufferKind::TlsCertSerial:
    case BufferKind::TlsCertFingerprint:
    case BufferKind::TlsCerts: return KindSide::Response;
    default: break;
  }
  return kind < BufferKind::HttpProtocol ? KindSide::Request : KindSide::Response;
}

bool later_part(BufferKind kind) noexcept {  // a body, or a TLS certificate
  switch (kind) {
    case BufferKind::HttpRequestBody:
    case BufferKind::HttpResponseBody:
    case BufferKind::FileData:
    case BufferKind::TlsCertSubject:
    case BufferKind::TlsCertIssuer:
    case BufferKind::TlsCertSerial:
    case BufferKind::TlsCertFingerprint:
    case BufferKind::TlsCerts: return true;
    default: return false;
  }
}

// The header buffers an HTTP body piece carries again when it comes in a later packet than
// its headers (sensor/applayer/http_parser.hpp, kCarriedRequest/kCarriedResponse).
bool carried_to_body(BufferKind kind) noexcept {
  switch (kind) {
    case BufferKind::HttpMethod:
    case BufferKind::HttpUri:
    case BufferKind::HttpUriRaw:
    case BufferKind::HttpHost:
    case BufferKind::HttpUserAgent:
    case BufferKind::HttpContentType:
    case BufferKind::HttpCookie:
    case BufferKind::HttpProtocol:
    case BufferKind::HttpRequestLine:
    case BufferKind::HttpHeader:
    case BufferKind::HttpStatCode:
    case BufferKind::HttpStatMsg:
    case BufferKind::HttpServer:
    case BufferKind::HttpLocation:
    case BufferKind::HttpResponseLine:
    case BufferKind::HttpContentLen: return true;
    default: return false;
  }
}

}  // namespace

TxSide rule_tx_side(const Rule& rule) noexcept {
  for (const auto& section : rule.sections) {
    const KindSide side = kind_side(section.kind);
    if (side == KindSide::Request) return TxSide::Request;
    if (side == KindSide::Response) return TxSide::Response;
  }
  if (rule.packet.flow && rule.packet.flow->to_server) return TxSide::Request;
  if (rule.packet.flow && rule.packet.flow->to_client) return TxSide::Response;
  return TxSide::Either;
}

uint8_t buffer_stage(BufferKind kind, TxSide side) noexcept {
  const KindSide own = kind_side(kind);
  const bool response = own == KindSide::Response || (own == KindSide::Both && side == TxSide::Response);
  return static_cast<uint8_t>((response ? 2 : 0) + (later_part(kind) ? 1 : 0));
}

uint8_t section_stage(const Rule& rule, size_t section, TxSide entry_side) noexcept {
  const BufferKind kind = rule.sections[section].kind;
  if (kind_side(kind) != KindSide::Both) return buffer_stage(kind, TxSide::Request);
  auto one_sided = [&](size_t s) {
    const KindSide side = kind_side(rule.sections[s].kind);
    return side == KindSide::Request ? TxSide::Request : side == KindSide::Response ? TxSide::Response : TxSide::Either;
  };
  for (size_t s = section; s-- > 0;) {
    if (const TxSide side = one_sided(s); side != TxSide::Either) return buffer_stage(kind, side);
  }
  for (size_t s = section + 1; s < rule.sections.size(); ++s) {
    if (const TxSide side = one_sided(s); side != TxSide::Either) return buffer_stage(kind, side);
  }
  TxSide side = entry_side;
  if (rule.packet.flow && rule.packet.flow->to_server) side = TxSide::Request;
  if (rule.packet.flow && rule.packet.flow->to_client) side = TxSide::Response;
  return buffer_stage(kind, side);
}

bool is_app_layer_rule(const Rule& rule) noexcept {
  if (rule.dns_opcode || !rule.tls_versions.empty()) return true;
  return std::any_of(rule.sections.begin(), rule.sections.end(),
                     [](const BufferSection& s) { return s.kind != BufferKind::Payload; });
}

tl::expected<std::shared_ptr<const CompiledRuleSet>, std::string> compile_rules(std::vector<Rule> rules,
                                                                                const CompileOptions& options) {
  const HsCache cache(options.hs_cache_dir);
  const auto started = std::chrono::steady_clock::now();
  // Evaluation order: action, then priority, then load order.
  std::vector<uint32_t> order(rules.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const int ra = action_rank(rules[a].action);
    const int rb = action_rank(rules[b].action);
    if (ra != rb) return ra < rb;
    const int fa = flowbits_rank(rules[a]);
    const int fb = flowbits_rank(rules[b]);
    if (fa != fb) return fa < fb;
    return rules[a].priority < rules[b].priority;
  });
  auto set = std::make_shared<CompiledRuleSet>();
  set->tag_rule_.gid = 2;
  set->tag_rule_.sid = 1;
  set->tag_rule_.rev = 1;
  set->tag_rule_.msg = "Tagged Packet";
  set->tag_rule_.priority = 2;
  // Into evaluation order in place: 25,000 rules of 1.2 KB each moved into a second vector
  // cost a fifth of a warm start's preparation, most of it in page faults.
  set->rules_ = std::move(rules);
  for (uint32_t start = 0; start < order.size(); ++start) {  // follow each cycle of the permutation once
    if (order[start] == start || order[start] == UINT32_MAX) continue;
    Rule held = std::move(set->rules_[start]);
    uint32_t at = start;
    while (order[at] != start) {
      const uint32_t from = order[at];
      set->rules_[at] = std::move(set->rules_[from]);
      order[at] = UINT32_MAX;
      at = from;
    }
    set->rules_[at] = std::move(held);
    order[at] = UINT32_MAX;
  }

  // Flowbit names become numbers, shared by every rule that names them. The previous set's
  // names (a reload) keep their numbers, so the bits that live flows carry keep their meaning.
  std::map<std::string, uint16_t> flowbit_ids;
  for (const auto& name : options.flowbit_names) {
    if (flowbit_ids.size() == 65535) break;
    flowbit_ids.emplace(name, static_cast<uint16_t>(flowbit_ids.size()));
  }
  for (auto& rule : set->rules_) {
    for (auto& option : rule.flowbits) {
      option.ids.clear();
      for (const auto& name : option.names) {
        auto [it, inserted] = flowbit_ids.emplace(name, static_cast<uint16_t>(flowbit_ids.size()));
        if (flowbit_ids.size() > 65535) return tl::unexpected(std::string("more than 65535 distinct flowbit names"));
        option.ids.push_back(it->second);
      }
    }
  }
  set->stats_.flowbits = static_cast<uint32_t>(flowbit_ids.size());
  set->flowbit_names_.resize(flowbit_ids.size());
  for (const auto& [name, id] : flowbit_ids) set->flowbit_names_[id] = name;

  // Prefilter per rule: the marked content, else the longest non-negated one (first on
  // ties); without content, a pcre Hyperscan can run as a prefilter.
  const uint32_t rule_count = static_cast<uint32_t>(set->rules_.size());
  std::vector<Prefilter> prefilter(rule_count);
  set->fast_pattern_.resize(rule_count);
  std::map<std::pair<std::string, unsigned>, bool> regex_accepted;
  set->app_rule_.assign(rule_count, 0);
  for (uint32_t r = 0; r < rule_count; ++r) {
    set->app_rule_[r] = is_app_layer_rule(set->rules_[r]) ? 1 : 0;
    if (set->app_rule_[r] != 0) set->has_app_rules_ = true;
  }
  for (uint32_t r = 0; r < rule_count; ++r) {
    const Rule& rule = set->rules_[r];
    const bool app_rule = set->app_rule_[r] != 0;
    // An application-layer rule's fast pattern lives in the buffers of its earliest stage:
    // the later stages are checked on the transaction the earlier ones selected.
    uint8_t first_stage = 4;
    if (app_rule) {
      for (size_t s = 0; s < rule.sections.size(); ++s) {
        if (rule.sections[s].kind != BufferKind::Payload) {
          first_stage = std::min(first_stage, section_stage(rule, s, TxSide::Request));
        }
      }
    }
    // A header stage whose every buffer a body piece carries again lets the fast pattern be
    // in that side's body (the rarer bytes, often: `http.method; content:"POST";` then the body).
    bool headers_carried = app_rule && (first_stage == 0 || first_stage == 2);
    for (size_t s = 0; headers_carried && s < rule.sections.size(); ++s) {
      if (rule.sections[s].kind != BufferKind::Payload && section_stage(rule, s, TxSide::Request) == first_stage &&
          !carried_to_body(rule.sections[s].kind)) {
        headers_carried = false;
      }
    }
    auto eligible = [&](size_t s) {
      if (!app_rule) return true;
      if (rule.sections[s].kind == BufferKind::Payload) return false;
      const uint8_t stage = section_stage(rule, s, TxSide::Request);
      return stage == first_stage || (headers_carried && stage == first_stage + 1);
    };
    int best_section = -1;
    int best_content = -1;
    size_t best_length = 0;
    bool has_content = false;
    for (size_t s = 0; s < rule.sections.size(); ++s) {
      if (!eligible(s)) continue;
      const auto& contents = rule.sections[s].contents;
      has_content = has_content || !contents.empty();
      for (size_t c = 0; c < contents.size(); ++c) {
        if (contents[c].fast_pattern) {
          best_section = static_cast<int>(s);
          best_content = static_cast<int>(c);
          best_length = SIZE_MAX;
        } else if (!contents[c].negated && contents[c].pattern.size() > best_length && best_length != SIZE_MAX) {
          best_section = static_cast<int>(s);
          best_content = static_cast<int>(c);
          best_length = contents[c].pattern.size();
        }
      }
    }
    if (best_section >= 0) {
      const ContentOption& content = rule.sections[best_section].contents[best_content];
      std::string bytes = content.pattern;
      if (content.fast_pattern_offset && content.fast_pattern_length) {
        bytes = bytes.substr(*content.fast_pattern_offset, *content.fast_pattern_length);
      }
      set->fast_pattern_[r] = {static_cast<int16_t>(best_section), static_cast<int16_t>(best_content),
                               content.nocase, -1, bytes};
      prefilter[r].kind = Prefilter::Kind::Literal;
      prefilter[r].literal = Literal{std::move(bytes), content.nocase};
      continue;
    }
    if (has_content) continue;
    for (size_t s = 0; s < rule.sections.size(); ++s) {
      const BufferSection& section = rule.sections[s];
      if (!eligible(s)) continue;
      for (const auto& pcre : section.pcres) {
        if (pcre.negated || pcre.relative || pcre.expression.empty()) continue;
        const unsigned flags = prefilter_flags(pcre.options);
        if (flags == 0) continue;
        auto [it, inserted] = regex_accepted.emplace(std::make_pair(pcre.expression, flags), false);
        if (inserted) it->second = hyperscan_accepts(pcre.expression, flags);
        if (!it->second) continue;
        prefilter[r].kind = Prefilter::Kind::Regex;
        prefilter[r].expression = pcre.expression;
        prefilter[r].hs_flags = flags;
        set->fast_pattern_[r].section = static_cast<int16_t>(s);
        break;
      }
      if (prefilter[r].kind == Prefilter::Kind::Regex) break;
    }
  }

  DatabaseBuilder databases(cache, set->stats_, set->databases_);
  for (size_t g = 0; g < static_cast<size_t>(PrefilterGroupId::Count); ++g) {
    const auto id = static_cast<PrefilterGroupId>(g);
    std::vector<uint32_t> members;
    for (uint32_t r = 0; r < rule_count; ++r) {
      if (set->app_rule_[r] == 0 && rule_in_protocol(set->rules_[r], id)) members.push_back(r);
    }
    auto& protocol = set->protocols_[g];
    auto built =
        build_prefilter(set->rules_, prefilter, members, id == PrefilterGroupId::Tcp, databases, protocol.prefilter);
    if (!built) return tl::unexpected(built.error());
    std::vector<std::vector<uint32_t>> lists;
    if (id == PrefilterGroupId::Tcp || id == PrefilterGroupId::Udp) {
      // Both directions' lists; identical lists become one group.
      std::map<std::vector<uint32_t>, uint16_t> group_of_list;
      for (int direction = 0; direction < 2; ++direction) {
        std::vector<std::vector<uint32_t>> direction_lists;
        std::vector<uint32_t> port_list;
        group_by_port(set->rules_, members, direction == 1, direction_lists, port_list);
        std::vector<uint16_t> list_group(direction_lists.size());
        for (size_t l = 0; l < direction_lists.size(); ++l) {
          auto [it, inserted] = group_of_list.emplace(direction_lists[l], static_cast<uint16_t>(lists.size()));
          if (inserted) lists.push_back(direction_lists[l]);
          list_group[l] = it->second;
        }
        auto& by_port = protocol.by_port[direction];
        by_port.resize(65536);
        for (uint32_t port = 0; port < 65536; ++port) by_port[port] = list_group[port_list[port]];
      }
    } else {
      lists.push_back(members);
    }
    for (const auto& list : lists) {
      protocol.groups.push_back(make_signature_group(list, rule_count, protocol.prefilter.header_only));
    }
    set->stats_.groups += static_cast<uint32_t>(lists.size());
  }

  // Application-layer rules: the variant of each prefilter's section, then one pair of
  // databases per variant; rules without prefilter listed per protocol.
  std::vector<std::vector<uint32_t>> variant_members;
  for (uint32_t r = 0; r < rule_count; ++r) {
    if (set->app_rule_[r] == 0) continue;
    const Rule& rule = set->rules_[r];
    CompiledRuleSet::FastPatternRef& fp = set->fast_pattern_[r];
    if (prefilter[r].kind == Prefilter::Kind::None || fp.section < 0) {
      prefilter[r].kind = Prefilter::Kind::None;
      AppTxProtocol protocol = AppTxProtocol::Count;
      for (const auto& section : rule.sections) {
        if (section.kind != BufferKind::Payload) {
          protocol = app_protocol_of(section.kind);
          break;
        }
      }
      if (protocol == AppTxProtocol::Count) protocol = rule.dns_opcode ? AppTxProtocol::Dns : AppTxProtocol::Tls;
      set->app_unprefiltered_[static_cast<size_t>(protocol)].push_back(r);
      continue;
    }
    const BufferSection& section = rule.sections[static_cast<size_t>(fp.section)];
    // file.data on a known side is that side's body: one database (and one scan) for both
    // keywords' patterns. Measured on the HTTP bench capture with ET Open: the two body scans
    // were 1.6 s of the run, nearly all of the application layer's matching.
    BufferKind kind = section.kind;
    if (kind == BufferKind::FileData && rule_tx_side(rule) != TxSide::Either) {
      kind = section_stage(rule, static_cast<size_t>(fp.section), TxSide::Request) == 1 ? BufferKind::HttpRequestBody
                                                                                         : BufferKind::HttpResponseBody;
    }
    int32_t variant = -1;
    for (uint16_t v : set->variants_of_kind_[static_cast<size_t>(kind)]) {
      if (same_transforms(set->buffer_prefilters_[v].transforms, section.transforms)) variant = v;
    }
    if (variant < 0) {
      variant = static_cast<int32_t>(set->buffer_prefilters_.size());
      BufferPrefilter created;
      created.kind = kind;
      created.transforms = section.transforms;
      set->buffer_prefilters_.push_back(std::move(created));
      set->variants_of_kind_[static_cast<size_t>(kind)].push_back(static_cast<uint16_t>(variant));
      variant_members.emplace_back();
    }
    fp.variant = variant;
    variant_members[static_cast<size_t>(variant)].push_back(r);
  }
  for (size_t v = 0; v < set->buffer_prefilters_.size(); ++v) {
    auto built = build_buffer_prefilter(set->rules_, prefilter, variant_members[v], databases,
                                        set->buffer_prefilters_[v]);
    if (!built) return tl::unexpected(built.error());
  }

  std::map<Literal, int> distinct;
  for (uint32_t r = 0; r < rule_count; ++r) {
    if (prefilter[r].kind == Prefilter::Kind::Literal) distinct.emplace(prefilter[r].literal, 0);
    if (prefilter[r].kind == Prefilter::Kind::Regex) ++set->stats_.regex_prefilters;
    if (prefilter[r].kind == Prefilter::Kind::None) ++set->stats_.rules_without_fast_pattern;
  }
  set->stats_.rules = rule_count;
  set->stats_.patterns = static_cast<uint32_t>(distinct.size());
  set->stats_.databases = static_cast<uint32_t>(set->databases_.size());
  set->stats_.compile_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return std::shared_ptr<const CompiledRuleSet>(std::move(set));
}

tl::expected<HsScratch, std::string> CompiledRuleSet::allocate_scratch() const {
  hs_scratch_t* scratch = nullptr;
  for (const auto& database : databases_) {
    if (hs_alloc_scratch(database.get(), &scratch) != HS_SUCCESS) {
      if (scratch) hs_free_scratch(scratch);
      return tl::unexpected(std::string("cannot allocate Hyperscan scratch space"));
    }
  }
  return HsScratch(scratch);
}

}  // namespace eastwatch

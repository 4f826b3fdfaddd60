// Compiles a rule set into its matching form: per protocol one Hyperscan block-mode database
// over the fast patterns of its rules, its rules without fast pattern behind an address index,
// and signature groups by direction and server port (as Suricata's signature group heads) that
// say which of those rules a packet can meet.
//
// Contract:
//  - A rule's fast pattern is its `fast_pattern` content if marked, else Suricata's choice
//    (the longest non-negated content of the section, ties to the first); a negated-only
//    rule has none. `fast_pattern:offset,length` chops the literal.
//  - A rule with no content but a non-negated, non-relative pcre gets that regex as its
//    prefilter: compiled by Hyperscan with HS_FLAG_PREFILTER (a superset of the regex's
//    matches; back-references and lookarounds are approximated), confirmed by PCRE2 when the
//    rule is verified. A regex Hyperscan cannot take at all leaves the rule without prefilter.
//  - Identical literals (bytes + nocase) share one Hyperscan id; every rule using it is listed.
//  - The groups of a protocol share its database and filter what it finds: measured with all
//    of ET Open, one database per group (64 of them) took 9.5 s to compile against 0.16 s for
//    one per protocol, and scanning a smaller database bought nothing measurable on HTTP
//    traffic, where the port-80 group holds nearly every TCP rule anyway.
//  - TCP and UDP rules are grouped per direction by the server port: a to_server packet is
//    checked against the group of its destination port, a to_client packet against that of
//    its source port. A rule is in every group whose port it could match (`<>` rules by either
//    port list; `flow:to_server`/`to_client` rules only in that direction's groups), so the
//    choice of group never hides a rule that could match. Past `kMaxPortGroups` distinct rule
//    sets per direction, the ports with the smallest specific sets share one merged group.
//  - TCP rules whose StreamMode is not PacketOnly are also matched against each direction's
//    reassembled stream: their literals form a streaming-mode database (HS_MODE_STREAM, one
//    small stream state per flow direction, scanned over the new bytes only).
//  - Rules are kept in evaluation order: action (pass first), flowbit setters before readers,
//    then priority, then load order (Suricata's default signature order).
//  - The result is immutable and may be shared by many workers; each worker needs its own
//    scratch from `allocate_scratch`.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <hs/hs.h>
#include <tl/expected.hpp>

#include "signatures/address_index.hpp"
#include "signatures/rule.hpp"

namespace eastwatch {

// Which packets a protocol serves. Rules with protocol `ip` are in every protocol's groups.
enum class PrefilterGroupId : uint8_t { Tcp, Udp, Icmp, OtherIp, Count };

struct HsDatabaseDeleter {
  void operator()(hs_database_t* db) const noexcept { hs_free_database(db); }
};
struct HsScratchDeleter {
  void operator()(hs_scratch_t* scratch) const noexcept { hs_free_scratch(scratch); }
};
using HsDatabase = std::unique_ptr<hs_database_t, HsDatabaseDeleter>;
using HsScratch = std::unique_ptr<hs_scratch_t, HsScratchDeleter>;

// The rules of a protocol that have no prefilter pattern, and the address index that narrows
// them per packet (bit j = the j-th of them).
struct HeaderOnlyRules {
  std::vector<uint32_t> rules;  // sorted by rule index
  AddressIndex by_src;
  AddressIndex by_dst;
  std::vector<uint64_t> bidirectional;  // `<>` rules
};

// A protocol's prefilter: one Hyperscan database over the fast patterns of all its rules (and
// one over its pcre prefilters), and its header-only rules.
struct PrefilterGroup {
  const hs_database_t* database = nullptr;        // literal fast patterns; null when none
  const hs_database_t* regex_database = nullptr;  // pcre prefilters; null when none
  // pattern id -> rule indices, flattened: rules_of_pattern[offsets[id] .. offsets[id+1]).
  // Literal ids come first, then the regex ids (pattern_count + k).
  std::vector<uint32_t> pattern_rule_offsets;
  std::vector<uint32_t> pattern_rules;
  HeaderOnlyRules header_only;
  uint32_t pattern_count = 0;  // literals
  uint32_t regex_count = 0;
  // TCP only: the literal database again in Hyperscan streaming mode (same pattern ids), for
  // the reassembled streams, and the stream-inspecting rules without a literal fast pattern
  // (verified against the stream whenever it grows).
  const hs_database_t* stream_database = nullptr;
  std::vector<uint32_t> stream_unprefiltered;
};

// One signature group: the rules a packet of this protocol, direction and server port can
// match, as bitsets. Prefilter hits and header-only candidates outside it are never verified.
struct SignatureGroup {
  std::vector<uint64_t> members;           // bit r: rule r (CompiledRuleSet order)
  std::vector<uint64_t> header_only_mask;  // bit j: the protocol's j-th header-only rule
  uint32_t rule_count = 0;

  bool contains(uint32_t rule) const noexcept { return (members[rule >> 6] >> (rule & 63)) & 1; }
};

// Application-layer rules (a section on an HTTP, file, DNS or TLS buffer, or dns.opcode /
// tls.version) are not in the packet groups: they are checked per transaction. Each buffer
// variant (kind + transform chain) has a block database over the fast patterns that live in
// it (literal ids first, then pcre prefilters); rules whose app-layer sections have neither
// are listed per protocol and checked on every transaction of it.
enum class AppTxProtocol : uint8_t { Http, Dns, Tls, Count };

struct BufferPrefilter {
  BufferKind kind = BufferKind::Payload;
  std::vector<Transform> transforms;
  const hs_database_t* database = nullptr;        // literals
  const hs_database_t* regex_database = nullptr;  // pcre prefilters
  std::vector<uint32_t> pattern_rule_offsets;     // as PrefilterGroup's
  std::vector<uint32_t> pattern_rules;
  uint32_t pattern_count = 0;
};

// The protocol whose transactions carry buffers of this kind (Count for Payload).
AppTxProtocol app_protocol_of(BufferKind kind) noexcept;

// When a transaction's buffers become available, as stages 0-3: HTTP request headers, request
// body, response headers, response body; DNS query (0) and response (2); TLS ClientHello (0),
// ServerHello (2) and Certificate (3). A rule inspects the stages of its sections in order and
// alerts at the last; its fast pattern lives in its earliest stage.
enum class TxSide : uint8_t { Request, Response, Either };
// The side an application-layer rule inspects: its one-sided buffers (http.uri: request,
// http.stat_code: response) or else its `flow:` direction; Either when neither says (only
// two-sided buffers such as http.header, file.data).
TxSide rule_tx_side(const Rule& rule) noexcept;
// The stage of a kind for a rule of that side (Either: that of the side being inspected).
uint8_t buffer_stage(BufferKind kind, TxSide side) noexcept;
// The stage of a rule's section: a two-sided buffer takes the side of the nearest one-sided
// buffer before it (else after it: `http.stat_code; ...; file.data;` is the response body),
// else the rule's `flow:` direction, else `entry_side` (the side being inspected).
uint8_t section_stage(const Rule& rule, size_t section, TxSide entry_side) noexcept;
// A rule checked per transaction (see above).
bool is_app_layer_rule(const Rule& rule) noexcept;

struct CompileStats {
  uint32_t rules = 0;
  uint32_t patterns = 0;      // distinct literals over all groups
  uint32_t regex_prefilters = 0;  // rules prefiltered by a Hyperscan-compiled pcre
  uint32_t rules_without_fast_pattern = 0;
  uint32_t flowbits = 0;      // distinct flowbit names
  uint32_t groups = 0;        // signature groups over all protocols and directions
  uint32_t databases = 0;     // Hyperscan databases
  uint32_t cache_hits = 0;    // databases loaded from the Hyperscan cache
  uint32_t cache_misses = 0;  // databases compiled (and stored) with the cache on
  double compile_seconds = 0;
};

class CompiledRuleSet {
 public:
  static constexpr uint32_t kMaxPortGroups = 64;  // per protocol and direction

  std::span<const Rule> rules() const noexcept { return rules_; }
  // The group for a packet of protocol `id` going to the server (`to_server`) or to the
  // client, keyed by the server's port (destination port to the server, source port back).
  const SignatureGroup& group(PrefilterGroupId id, bool to_server, uint16_t server_port) const noexcept {
    const Protocol& protocol = protocols_[static_cast<size_t>(id)];
    const std::vector<uint16_t>& by_port = protocol.by_port[to_server ? 1 : 0];
    return protocol.groups[by_port.empty() ? 0 : by_port[server_port]];
  }
  std::span<const SignatureGroup> groups(PrefilterGroupId id) const noexcept {
    return protocols_[static_cast<size_t>(id)].groups;
  }
  const PrefilterGroup& prefilter(PrefilterGroupId id) const noexcept {
    return protocols_[static_cast<size_t>(id)].prefilter;
  }
  // For rule i: which content of which section is its fast pattern (-1/-1 when none).
  int16_t fast_pattern_section(uint32_t rule) const noexcept { return fast_pattern_[rule].section; }
  int16_t fast_pattern_content(uint32_t rule) const noexcept { return fast_pattern_[rule].content; }
  // The literal bytes Hyperscan looks for (after fast_pattern:o,l chopping); empty when none.
  const std::string& fast_pattern_bytes(uint32_t rule) const noexcept { return fast_pattern_[rule].bytes; }
  bool fast_pattern_nocase(uint32_t rule) const noexcept { return fast_pattern_[rule].nocase; }
  const CompileStats& stats() const noexcept { return stats_; }
  // Application layer: the buffer variants, the variants of one kind, the rules of a protocol
  // without a prefilter, and whether rule i is an application-layer rule.
  std::span<const BufferPrefilter> buffer_prefilters() const noexcept { return buffer_prefilters_; }
  std::span<const uint16_t> variants(BufferKind kind) const noexcept {
    return variants_of_kind_[static_cast<size_t>(kind)];
  }
  std::span<const uint32_t> app_unprefiltered(AppTxProtocol protocol) const noexcept {
    return app_unprefiltered_[static_cast<size_t>(protocol)];
  }
  bool is_app_rule(uint32_t rule) const noexcept { return app_rule_[rule] != 0; }
  bool has_app_rules() const noexcept { return has_app_rules_; }
  // The variant holding rule i's fast pattern (-1: none or not an app-layer rule).
  int32_t fast_pattern_variant(uint32_t rule) const noexcept { return fast_pattern_[rule].variant; }
  // The pseudo-rule of tagged packets (`tag`): Suricata's gid 2, sid 1, rev 1, priority 2, no
  // classtype; the events of tagged packets point to it, so it lives as long as the set.
  const Rule& tag_rule() const noexcept { return tag_rule_; }
  // The flowbit names by number (CompileOptions::flowbit_names of the next set, on a reload).
  std::span<const std::string> flowbit_names() const noexcept { return flowbit_names_; }

  // Scratch space large enough for every database of this set (one per worker).
  tl::expected<HsScratch, std::string> allocate_scratch() const;

 private:
  friend tl::expected<std::shared_ptr<const CompiledRuleSet>, std::string> compile_rules(std::vector<Rule> rules,
                                                                                       const struct CompileOptions&);
  struct FastPatternRef {
    int16_t section = -1;
    int16_t content = -1;
    bool nocase = false;
    int32_t variant = -1;
    std::string bytes;
  };
  struct Protocol {
    PrefilterGroup prefilter;
    std::vector<SignatureGroup> groups;  // at least one
    // [0]: to_client by source port, [1]: to_server by destination port -> group index;
    // empty (ICMP, other IP) when the protocol has a single group.
    std::array<std::vector<uint16_t>, 2> by_port;
  };
  std::vector<Rule> rules_;
  std::vector<FastPatternRef> fast_pattern_;
  std::array<Protocol, static_cast<size_t>(PrefilterGroupId::Count)> protocols_;
  std::vector<BufferPrefilter> buffer_prefilters_;
  std::array<std::vector<uint16_t>, kBufferKindCount> variants_of_kind_;
  std::array<std::vector<uint32_t>, static_cast<size_t>(AppTxProtocol::Count)> app_unprefiltered_;
  std::vector<uint8_t> app_rule_;
  bool has_app_rules_ = false;
  std::vector<HsDatabase> databases_;  // owned here; prefilters point into them
  CompileStats stats_;
  Rule tag_rule_;
  std::vector<std::string> flowbit_names_;
};

struct CompileOptions {
  std::string hs_cache_dir;  // serialized Hyperscan databases (see hs_cache.hpp); empty: no cache
  // A reload: the running set's flowbit names in number order; they keep their numbers here.
  std::vector<std::string> flowbit_names;
};

// Fails only when Hyperscan rejects the literal databases (message says which and why).
tl::expected<std::shared_ptr<const CompiledRuleSet>, std::string> compile_rules(std::vector<Rule> rules,
                                                                                const CompileOptions& options = {});

}  // namespace eastwatch

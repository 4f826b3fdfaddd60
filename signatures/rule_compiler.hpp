// Compiles a rule set into its matching form: per-protocol prefilter groups, each one
// Hyperscan block-mode database over the fast patterns of the rules in that group, plus
// the rules that have no fast pattern (checked on every packet of the group).
//
// Contract:
//  - A rule's fast pattern is its `fast_pattern` content if marked, else Suricata's choice
//    (the longest non-negated content of the section, ties to the first); a negated-only
//    rule has none. `fast_pattern:offset,length` chops the literal.
//  - Identical literals (bytes + nocase) share one Hyperscan id; every rule using it is listed.
//  - Rules are kept in evaluation order: action (pass first), flowbit setters before readers,
//    then priority, then load order (Suricata's default signature order).
//  - The result is immutable and may be shared by many workers; each worker needs its own
//    scratch from `allocate_scratch`.
#pragma once

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

// Which packets a group serves. Rules with protocol `ip` are in every group.
enum class PrefilterGroupId : uint8_t { Tcp, Udp, Icmp, OtherIp, Count };

struct HsDatabaseDeleter {
  void operator()(hs_database_t* db) const noexcept { hs_free_database(db); }
};
struct HsScratchDeleter {
  void operator()(hs_scratch_t* scratch) const noexcept { hs_free_scratch(scratch); }
};
using HsDatabase = std::unique_ptr<hs_database_t, HsDatabaseDeleter>;
using HsScratch = std::unique_ptr<hs_scratch_t, HsScratchDeleter>;

struct PrefilterGroup {
  HsDatabase database;  // null when the group has no fast patterns
  // pattern id -> rule indices, flattened: rules_of_pattern[offsets[id] .. offsets[id+1])
  std::vector<uint32_t> pattern_rule_offsets;
  std::vector<uint32_t> pattern_rules;
  std::vector<uint32_t> rules_without_fast_pattern;  // sorted by rule index
  // Over rules_without_fast_pattern (bit j = its j-th rule): which of them an address
  // can match, by source and by destination; `bidirectional` marks the `<>` rules.
  AddressIndex by_src;
  AddressIndex by_dst;
  std::vector<uint64_t> bidirectional;
  uint32_t pattern_count = 0;
};

struct CompileStats {
  uint32_t rules = 0;
  uint32_t patterns = 0;      // distinct literals over all groups
  uint32_t rules_without_fast_pattern = 0;
  uint32_t flowbits = 0;      // distinct flowbit names
  uint32_t cache_hits = 0;    // databases loaded from the Hyperscan cache
  uint32_t cache_misses = 0;  // databases compiled (and stored) with the cache on
  double compile_seconds = 0;
};

class CompiledRuleSet {
 public:
  std::span<const Rule> rules() const noexcept { return rules_; }
  const PrefilterGroup& group(PrefilterGroupId id) const noexcept { return groups_[static_cast<size_t>(id)]; }
  // For rule i: which content of which section is its fast pattern (-1/-1 when none).
  int16_t fast_pattern_section(uint32_t rule) const noexcept { return fast_pattern_[rule].section; }
  int16_t fast_pattern_content(uint32_t rule) const noexcept { return fast_pattern_[rule].content; }
  const CompileStats& stats() const noexcept { return stats_; }

  // Scratch space large enough for every database of this set (one per worker).
  tl::expected<HsScratch, std::string> allocate_scratch() const;

 private:
  friend tl::expected<std::shared_ptr<const CompiledRuleSet>, std::string> compile_rules(std::vector<Rule> rules,
                                                                                       const struct CompileOptions&);
  struct FastPatternRef {
    int16_t section = -1;
    int16_t content = -1;
  };
  std::vector<Rule> rules_;
  std::vector<FastPatternRef> fast_pattern_;
  PrefilterGroup groups_[static_cast<size_t>(PrefilterGroupId::Count)];
  CompileStats stats_;
};

struct CompileOptions {
  std::string hs_cache_dir;  // serialized Hyperscan databases (see hs_cache.hpp); empty: no cache
};

// Fails only when Hyperscan rejects the databases (message says which and why).
tl::expected<std::shared_ptr<const CompiledRuleSet>, std::string> compile_rules(std::vector<Rule> rules,
                                                                                const CompileOptions& options = {});

}  // namespace eastwatch

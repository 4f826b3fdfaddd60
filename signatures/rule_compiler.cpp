#include "signatures/rule_compiler.hpp"

#include "signatures/hs_cache.hpp"

#include <algorithm>
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
  if (sets && !reads) return 0;
  if (sets && reads) return 1;
  if (reads) return 2;
  return 3;
}

bool rule_in_group(const Rule& rule, PrefilterGroupId group) {
  if (rule.protocol == RuleProtocol::Ip) return true;
  switch (group) {
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

tl::expected<void, std::string> build_group(const std::vector<Rule>& rules, const std::vector<Literal>& fast_literal,
                                            const std::vector<bool>& has_fast_pattern, PrefilterGroupId id,
                                            const HsCache& cache, CompileStats& stats, PrefilterGroup& group) {
  std::map<Literal, uint32_t> ids;
  std::vector<std::vector<uint32_t>> rules_of;
  for (uint32_t r = 0; r < rules.size(); ++r) {
    if (!rule_in_group(rules[r], id)) continue;
    if (!has_fast_pattern[r]) {
      group.rules_without_fast_pattern.push_back(r);
      continue;
    }
    auto [it, inserted] = ids.emplace(fast_literal[r], static_cast<uint32_t>(ids.size()));
    if (inserted) rules_of.emplace_back();
    rules_of[it->second].push_back(r);
  }
  std::vector<const AddressSet*> sources;
  std::vector<const AddressSet*> destinations;
  group.bidirectional.assign((group.rules_without_fast_pattern.size() + 63) / 64, 0);
  for (size_t j = 0; j < group.rules_without_fast_pattern.size(); ++j) {
    const Rule& rule = rules[group.rules_without_fast_pattern[j]];
    sources.push_back(&rule.src_addresses);
    destinations.push_back(&rule.dst_addresses);
    if (rule.bidirectional) group.bidirectional[j / 64] |= uint64_t{1} << (j % 64);
  }
  group.by_src = AddressIndex::build(sources);
  group.by_dst = AddressIndex::build(destinations);
  group.pattern_count = static_cast<uint32_t>(ids.size());
  group.pattern_rule_offsets.assign(1, 0);
  for (const auto& list : rules_of) {
    group.pattern_rules.insert(group.pattern_rules.end(), list.begin(), list.end());
    group.pattern_rule_offsets.push_back(static_cast<uint32_t>(group.pattern_rules.size()));
  }
  if (ids.empty()) return {};

  std::vector<const char*> expressions(ids.size());
  std::vector<size_t> lengths(ids.size());
  std::vector<unsigned> flags(ids.size());
  std::vector<unsigned> hs_ids(ids.size());
  for (const auto& [literal, pattern_id] : ids) {
    expressions[pattern_id] = literal.bytes.data();
    lengths[pattern_id] = literal.bytes.size();
    flags[pattern_id] = HS_FLAG_SINGLEMATCH | (literal.nocase ? HS_FLAG_CASELESS : 0);
    hs_ids[pattern_id] = pattern_id;
  }
  const std::string cache_key =
      cache.enabled() ? HsCache::key(expressions, lengths, flags, hs_ids, HS_MODE_BLOCK) : std::string();
  if (hs_database_t* cached = cache.enabled() ? cache.load(cache_key) : nullptr) {
    group.database.reset(cached);
    ++stats.cache_hits;
    return {};
  }
  hs_database_t* database = nullptr;
  hs_compile_error_t* error = nullptr;
  const hs_error_t rc = hs_compile_lit_multi(expressions.data(), flags.data(), hs_ids.data(), lengths.data(),
                                             static_cast<unsigned>(ids.size()), HS_MODE_BLOCK, nullptr, &database, &error);
  if (rc != HS_SUCCESS) {
    std::string message = error && error->message ? error->message : "unknown error";
    if (error && error->expression >= 0) {
      const uint32_t first_rule = rules_of[static_cast<size_t>(error->expression)].front();
      message += " (pattern of sid " + std::to_string(rules[first_rule].sid) + ")";
    }
    hs_free_compile_error(error);
    return tl::unexpected("Hyperscan refused the fast patterns: " + message);
  }
  group.database.reset(database);
  if (cache.enabled()) {
    ++stats.cache_misses;
    cache.store(cache_key, database);
  }
  return {};
}

}  // namespace

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
  set->rules_.reserve(rules.size());
  for (uint32_t i : order) set->rules_.push_back(std::move(rules[i]));

  // Flowbit names become numbers, shared by every rule that names them.
  std::map<std::string, uint16_t> flowbit_ids;
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

  // Fast pattern per rule: the marked content, else the longest non-negated one (first on ties).
  std::vector<Literal> fast_literal(set->rules_.size());
  std::vector<bool> has_fast_pattern(set->rules_.size(), false);
  set->fast_pattern_.resize(set->rules_.size());
  for (uint32_t r = 0; r < set->rules_.size(); ++r) {
    const Rule& rule = set->rules_[r];
    int best_section = -1;
    int best_content = -1;
    size_t best_length = 0;
    for (size_t s = 0; s < rule.sections.size(); ++s) {
      const auto& contents = rule.sections[s].contents;
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
    if (best_section < 0) continue;
    const ContentOption& content = rule.sections[best_section].contents[best_content];
    std::string bytes = content.pattern;
    if (content.fast_pattern_offset && content.fast_pattern_length) {
      bytes = bytes.substr(*content.fast_pattern_offset, *content.fast_pattern_length);
    }
    fast_literal[r] = Literal{std::move(bytes), content.nocase};
    has_fast_pattern[r] = true;
    set->fast_pattern_[r] = {static_cast<int16_t>(best_section), static_cast<int16_t>(best_content)};
  }

  for (size_t g = 0; g < static_cast<size_t>(PrefilterGroupId::Count); ++g) {
    auto built = build_group(set->rules_, fast_literal, has_fast_pattern, static_cast<PrefilterGroupId>(g), cache,
                             set->stats_, set->groups_[g]);
    if (!built) return tl::unexpected(built.error());
  }

  std::map<Literal, int> distinct;
  for (uint32_t r = 0; r < set->rules_.size(); ++r) {
    if (has_fast_pattern[r]) distinct.emplace(fast_literal[r], 0);
  }
  set->stats_.rules = static_cast<uint32_t>(set->rules_.size());
  set->stats_.patterns = static_cast<uint32_t>(distinct.size());
  set->stats_.rules_without_fast_pattern =
      static_cast<uint32_t>(std::count(has_fast_pattern.begin(), has_fast_pattern.end(), false));
  set->stats_.compile_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return std::shared_ptr<const CompiledRuleSet>(std::move(set));
}

tl::expected<HsScratch, std::string> CompiledRuleSet::allocate_scratch() const {
  hs_scratch_t* scratch = nullptr;
  for (const auto& group : groups_) {
    if (!group.database) continue;
    if (hs_alloc_scratch(group.database.get(), &scratch) != HS_SUCCESS) {
      if (scratch) hs_free_scratch(scratch);
      return tl::unexpected(std::string("cannot allocate Hyperscan scratch space"));
    }
  }
  return HsScratch(scratch);
}

}  // namespace eastwatch

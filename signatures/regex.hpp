// A compiled PCRE2 regular expression for the `pcre:` keyword, shared by every copy of the
// rule (compiled once, at parse time, with JIT when the platform has it), and the per-worker
// scratch that matching needs. Matching is bounded by Suricata's default limits (match limit
// 3500, depth limit 1500), so a hostile payload cannot stall a worker: hitting a limit is a
// non-match that the caller counts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

struct pcre2_real_code_8;
struct pcre2_real_match_data_8;
struct pcre2_real_match_context_8;

namespace eastwatch {

class Regex {
 public:
  // `options` are PCRE2 compile options (PCRE2_CASELESS, ...). Errors name the offset.
  static tl::expected<std::shared_ptr<const Regex>, std::string> compile(std::string_view pattern, uint32_t options);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  pcre2_real_code_8* code() const noexcept { return code_; }

  // Many compiled regexes as one byte stream (pcre2_serialize_encode: the same PCRE2 version
  // and build must decode it) and back. `deserialize`
  // trusts the sizes inside the stream: give it only bytes whose checksum was verified.
  static tl::expected<std::string, std::string> serialize(const std::vector<const Regex*>& regexes);
  // Without `jit`, the caller must call jit_compile on them before any search.
  static tl::expected<std::vector<std::shared_ptr<const Regex>>, std::string> deserialize(std::string_view bytes,
                                                                                          size_t count, bool jit = true);
  // JIT-compiles each (best effort, as compile does); no search may run on them meanwhile.
  static void jit_compile(const std::vector<std::shared_ptr<const Regex>>& regexes) noexcept;
  // The PCRE2 library's version and whether it has JIT, e.g. "10.42 2022-12-11 jit".
  static std::string library_description();

 private:
  explicit Regex(pcre2_real_code_8* code) : code_(code) {}
  pcre2_real_code_8* code_;
};

class RegexScratch {
 public:
  static constexpr uint32_t kMatchLimit = 3500;
  static constexpr uint32_t kDepthLimit = 1500;

  RegexScratch();  // allocates: control plane only
  ~RegexScratch();
  RegexScratch(const RegexScratch&) = delete;
  RegexScratch& operator=(const RegexScratch&) = delete;

  enum class Result { Match, NoMatch, LimitHit };
  // Searches subject[0, length); on a match sets [start, end). Never allocates.
  Result search(const Regex& regex, const uint8_t* subject, size_t length, size_t& start, size_t& end) noexcept;

 private:
  pcre2_real_match_data_8* match_data_;
  pcre2_real_match_context_8* context_;
};

}  // namespace eastwatch

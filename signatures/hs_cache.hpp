// A directory of serialized Hyperscan databases, keyed by a hash of everything a database
// depends on: the patterns with their flags and ids, the mode, the engine (Hyperscan or
// Vectorscan) with its version and the CPU platform it was compiled for (a database built for AVX-512 must not be loaded where only
// AVX2 runs). A restart with unchanged rules loads instead of compiling.
//
// Contract: failures to read or write the cache are never fatal; they fall back to compiling
// and are counted. Writes are atomic (temporary file + rename).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <hs/hs.h>

namespace eastwatch {

// The regex engine this binary was built with (EASTWATCH_REGEX_ENGINE) and its run-time
// version, e.g. "hyperscan 5.4.0 2021-01-26" or "vectorscan 5.4.9".
std::string regex_engine_description();

class HsCache {
 public:
  explicit HsCache(std::string directory) : directory_(std::move(directory)) {}

  bool enabled() const noexcept { return !directory_.empty(); }
  // The key for a database; `flags`/`ids`/`lengths` as given to hs_compile_lit_multi (for
  // `kind` "literal") or hs_compile_multi (`kind` "regex", lengths of the expressions).
  static std::string key(std::string_view kind, const std::vector<const char*>& expressions,
                         const std::vector<size_t>& lengths, const std::vector<unsigned>& flags,
                         const std::vector<unsigned>& ids, unsigned mode);
  // A database from the cache, or nullptr.
  hs_database_t* load(const std::string& key) const;
  void store(const std::string& key, const hs_database_t* database) const;

 private:
  std::string path(const std::string& key) const { return directory_ + "/" + key + ".hsdb"; }
  std::string directory_;
};

}  // namespace eastwatch

#include "signatures/hs_cache.hpp"

#include <unistd.h>
#include <xxhash.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#ifndef EASTWATCH_REGEX_ENGINE_NAME
#define EASTWATCH_REGEX_ENGINE_NAME "hyperscan"
#endif

namespace eastwatch {

std::string regex_engine_description() {
  std::string text = EASTWATCH_REGEX_ENGINE_NAME " ";
  text += hs_version();
  while (!text.empty() && text.back() == ' ') text.pop_back();  // Vectorscan's ends in a space
  return text;
}

std::string HsCache::key(std::string_view kind, const std::vector<const char*>& expressions,
                         const std::vector<size_t>& lengths, const std::vector<unsigned>& flags,
                         const std::vector<unsigned>& ids, unsigned mode) {
  XXH3_state_t* state = XXH3_createState();
  XXH3_128bits_reset(state);
  auto add = [&](const void* data, size_t size) { XXH3_128bits_update(state, data, size); };
  const std::string_view tag = "eastwatch-hs-v2";
  add(tag.data(), tag.size());
  add(kind.data(), kind.size());
  // Both engines serialize databases; neither is told apart by hs_version() alone for sure.
  const std::string_view engine = EASTWATCH_REGEX_ENGINE_NAME;
  add(engine.data(), engine.size());
  const char* version = hs_version();
  add(version, std::char_traits<char>::length(version));
  hs_platform_info_t platform{};
  hs_populate_platform(&platform);
  add(&platform.tune, sizeof platform.tune);
  add(&platform.cpu_features, sizeof platform.cpu_features);
  add(&mode, sizeof mode);
  for (size_t i = 0; i < expressions.size(); ++i) {
    const uint64_t length = lengths[i];
    add(&length, sizeof length);
    add(expressions[i], lengths[i]);
    add(&flags[i], sizeof flags[i]);
    add(&ids[i], sizeof ids[i]);
  }
  const XXH128_hash_t hash = XXH3_128bits_digest(state);
  XXH3_freeState(state);
  char text[33];
  std::snprintf(text, sizeof text, "%016llx%016llx", static_cast<unsigned long long>(hash.high64),
                static_cast<unsigned long long>(hash.low64));
  return text;
}

hs_database_t* HsCache::load(const std::string& key) const {
  if (!enabled()) return nullptr;
  std::ifstream in(path(key), std::ios::binary | std::ios::ate);
  if (!in) return nullptr;
  const std::streamoff size = in.tellg();
  if (size <= 0) return nullptr;
  std::string data(static_cast<size_t>(size), '\0');
  in.seekg(0);
  if (!in.read(data.data(), size)) return nullptr;
  hs_database_t* database = nullptr;
  // hs_deserialize_database itself refuses a database built for another platform or version.
  if (hs_deserialize_database(data.data(), data.size(), &database) != HS_SUCCESS) return nullptr;
  return database;
}

void HsCache::store(const std::string& key, const hs_database_t* database) const {
  if (!enabled()) return;
  char* bytes = nullptr;
  size_t length = 0;
  if (hs_serialize_database(database, &bytes, &length) != HS_SUCCESS) return;
  const std::string final_path = path(key);
  const std::string temporary = final_path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(temporary, std::ios::binary);
    out.write(bytes, static_cast<std::streamsize>(length));
    if (!out) {
      std::free(bytes);
      std::remove(temporary.c_str());
      return;
    }
  }
  std::free(bytes);
  if (std::rename(temporary.c_str(), final_path.c_str()) != 0) std::remove(temporary.c_str());
}

}  // namespace eastwatch

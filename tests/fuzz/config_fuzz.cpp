// libFuzzer target: the YAML config loader on untrusted text (written to a file, as operators do).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "config/config_loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/eastwatch-config-fuzz-" + std::to_string(getpid()) + ".yaml";
  if (std::FILE* file = std::fopen(path.c_str(), "wb")) {
    std::fwrite(data, 1, size, file);
    std::fclose(file);
  }
  auto settings = eastwatch::load_settings(path, {});
  if (!settings) {
    for (const auto& error : settings.error()) {
      if (error.message.empty()) __builtin_trap();
    }
  }
  return 0;
}

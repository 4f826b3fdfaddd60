// Loads the YAML config into Settings, applying `--set key=value` overrides.
//
// Contract: never throws. On failure returns every problem found, each formatted as
// `FILE:LINE: key: what is wrong (what was expected)`. Unknown keys are errors (a typo
// must not silently fall back to a default). With no file, the embedded copy of
// config/eastwatch.yaml is loaded, so the defaults have exactly one source of truth.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "config/settings.hpp"

namespace eastwatch {

struct ConfigError {
  std::string message;  // already "FILE:LINE: key: what is wrong"
};

tl::expected<Settings, std::vector<ConfigError>> load_settings(const std::optional<std::string>& path,
                                                               const std::vector<std::string>& overrides);

// The embedded default config text (config/eastwatch.yaml at build time).
std::string_view embedded_default_config();

}  // namespace eastwatch

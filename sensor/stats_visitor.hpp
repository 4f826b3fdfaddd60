// How every stage exposes its counters: a plain struct of uint64_t with a `visit`
// member that calls `f(dotted_name, value)` for each counter, e.g. f("event.ipv4.trunc_pkt", n).
// The output stage turns dotted names into Suricata's nested `stats` object, so adding a
// counter never touches the output code. `visit` must only name counters that exist in
// Suricata's EVE schema (shared/reference/suricata-eve-schema.json, whose objects forbid
// unknown keys); Eastwatch-only counters go through an optional `visit_extra`, which feeds
// stats.log but not EVE. Workers own their counters; the control plane
// sums snapshots with `accumulate`.
#pragma once

#include <cstdint>
#include <string_view>

namespace eastwatch {

template <class Counters>
void accumulate(Counters& into, const Counters& from) {
  // Counters structs are arrays of uint64_t in disguise; sum them field by field.
  static_assert(sizeof(Counters) % sizeof(uint64_t) == 0);
  auto* dst = reinterpret_cast<uint64_t*>(&into);
  const auto* src = reinterpret_cast<const uint64_t*>(&from);
  for (size_t i = 0; i < sizeof(Counters) / sizeof(uint64_t); ++i) dst[i] += src[i];
}

}  // namespace eastwatch

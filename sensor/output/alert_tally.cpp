#include "sensor/output/alert_tally.hpp"

namespace eastwatch {

namespace {
constexpr std::string_view kUnknownZone = "unknown";

std::string_view zone_of(const AlertEvent& event, const VmEveData::Side& side) {
  if (!event.has_vm || !side.known || side.zone.len == 0) return kUnknownZone;
  return side.zone.view();
}
}  // namespace

void AlertTally::count(const AlertEvent& event) {
  std::lock_guard lock(mutex_);
  ++tally_.alerts;
  if (event.rule != nullptr) {
    // gid and sid name a signature; a reload that raises its rev keeps the entry (newest rev and msg).
    const uint64_t key = (uint64_t{event.rule->gid} << 32) | event.rule->sid;
    auto found = signature_index_.find(key);
    if (found == signature_index_.end() && tally_.signatures.size() < max_signatures_) {
      found = signature_index_.emplace(key, tally_.signatures.size()).first;
      tally_.signatures.push_back({event.rule->gid, event.rule->sid, event.rule->rev, event.rule->msg, 0});
    }
    if (found == signature_index_.end()) {
      ++tally_.other_signatures;
    } else {
      Signature& signature = tally_.signatures[found->second];
      if (signature.rev != event.rule->rev) {
        signature.rev = event.rule->rev;
        signature.msg = event.rule->msg;
      }
      ++signature.alerts;
    }
  } else {
    ++tally_.other_signatures;
  }
  const std::string_view src = zone_of(event, event.vm.src);
  const std::string_view dest = zone_of(event, event.vm.dest);
  std::string key;
  key.reserve(src.size() + dest.size() + 1);
  key.append(src).push_back('\n');
  key.append(dest);
  auto found = zone_pair_index_.find(key);
  if (found == zone_pair_index_.end() && tally_.zone_pairs.size() < max_zone_pairs_) {
    found = zone_pair_index_.emplace(key, tally_.zone_pairs.size()).first;
    tally_.zone_pairs.push_back({std::string(src), std::string(dest), 0});
  }
  if (found == zone_pair_index_.end()) {
    ++tally_.other_zone_pairs;
  } else {
    ++tally_.zone_pairs[found->second].alerts;
  }
}

AlertTally::Copy AlertTally::copy() const {
  std::lock_guard lock(mutex_);
  return tally_;
}

}  // namespace eastwatch

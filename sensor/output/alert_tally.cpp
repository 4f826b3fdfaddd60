#include "sensor/output/alert_tally.hpp"

namespace eastwatch {

namespace {
constexpr std::string_view kUnknownZone = "unknown";

std::string_view zone_of(const AlertEvent& event, const VmEveData::Side& side) {
  if (!event.has_vm || !side.known || side.zone.len == 0) return kUnknownZone;
  return side.zone.view();
}

std::string_view vm_of(const AlertEvent& event, const VmEveData::Side& side) {
  if (!event.has_vm || !side.known || side.name.len == 0) return kUnknownZone;
  return side.name.view();
}

// The entry of the pair (src, dest) in `pairs`, added while fewer than `cap`; null past the cap.
// `key` is reused scratch (no allocation per alert once it has grown).
template <class Pair>
Pair* find_pair(std::unordered_map<std::string, size_t>& index, std::vector<Pair>& pairs, uint32_t cap,
                std::string& key, std::string_view src, std::string_view dest) {
  key.clear();
  key.append(src).push_back('\n');
  key.append(dest);
  auto found = index.find(key);
  if (found == index.end()) {
    if (pairs.size() >= cap) return nullptr;
    found = index.emplace(key, pairs.size()).first;
    pairs.push_back({std::string(src), std::string(dest), 0});
  }
  return &pairs[found->second];
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
  if (auto* pair = find_pair(zone_pair_index_, tally_.zone_pairs, max_zone_pairs_, key_, zone_of(event, event.vm.src),
                             zone_of(event, event.vm.dest))) {
    ++pair->alerts;
  } else {
    ++tally_.other_zone_pairs;
  }
  if (auto* pair = find_pair(vm_pair_index_, tally_.vm_pairs, max_vm_pairs_, key_, vm_of(event, event.vm.src),
                             vm_of(event, event.vm.dest))) {
    ++pair->alerts;
  } else {
    ++tally_.other_vm_pairs;
  }
}

AlertTally::Copy AlertTally::copy() const {
  std::lock_guard lock(mutex_);
  return tally_;
}

}  // namespace eastwatch

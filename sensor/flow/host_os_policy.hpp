// The per-host reassembly policy (`host-os-policy:`): which OS policy applies to a destination
// address. Built once from Settings; the lookup is one binary search over disjoint ranges.
//
// Contract: the most specific entry wins, as with Suricata's radix tree: an address in both
// 10.0.0.0/8 (linux) and 10.1.0.0/16 (windows) gets windows. Specificity is the size of the
// configured range (a CIDR or a single address); of two identical ranges, the one listed later
// in the config wins. An address no entry covers gets the fallback. `lookup` never allocates.
#pragma once

#include <optional>
#include <vector>

#include "config/os_policy.hpp"
#include "config/settings.hpp"
#include "signatures/address.hpp"

namespace eastwatch {

class HostOsPolicyTable {
 public:
  HostOsPolicyTable() = default;  // no entries: every address gets the fallback
  explicit HostOsPolicyTable(const std::vector<HostOsPolicyEntry>& entries, OsPolicy fallback = OsPolicy::Bsd);

  // The policy of the most specific entry covering `address`, else the fallback.
  OsPolicy lookup(const IpAddress& address) const noexcept;
  // Like lookup, but nullopt when no entry covers `address`.
  std::optional<OsPolicy> find(const IpAddress& address) const noexcept;

  size_t range_count() const noexcept { return firsts_.size(); }

 private:
  OsPolicy fallback_ = OsPolicy::Bsd;
  // Disjoint, sorted ranges [firsts_[i], lasts_[i]] with their policy.
  std::vector<IpKey> firsts_;
  std::vector<IpKey> lasts_;
  std::vector<OsPolicy> policies_;
};

}  // namespace eastwatch

// An index from an address to the rules whose address set contains it, for the rules that
// have no fast pattern (IP-reputation lists, header-only rules). Instead of testing hundreds
// of address lists per packet, one binary search per direction yields a bitset of candidate
// rules (Suricata's IP-only engine does the same job with radix trees).
//
// The address space is cut into elementary intervals at every range boundary of every rule;
// each interval carries the bitset of rules that contain it. Built once, read-only after.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "signatures/address.hpp"

namespace eastwatch {

class AddressIndex {
 public:
  // sets[j] is rule j's address set (j = bit number).
  static AddressIndex build(const std::vector<const AddressSet*>& sets);

  // The bitset (words() words) of rules whose set contains `address`.
  const uint64_t* lookup(const IpAddress& address) const noexcept;
  uint32_t words() const noexcept { return words_; }
  size_t intervals() const noexcept { return starts_.size(); }

 private:
  std::vector<IpKey> starts_;  // sorted; starts_[0] is ::, interval i = [starts_[i], starts_[i+1])
  std::vector<uint64_t> bits_;     // intervals() * words_
  uint32_t words_ = 0;
};

}  // namespace eastwatch

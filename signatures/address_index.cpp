#include "signatures/address_index.hpp"

#include <algorithm>

namespace eastwatch {

namespace {

IpAddress next_address(IpAddress a) {
  for (int i = 15; i >= 0; --i) {
    if (++a.bytes[i] != 0) break;
  }
  return a;
}

bool is_max(const IpAddress& a) {
  return std::all_of(a.bytes.begin(), a.bytes.end(), [](uint8_t b) { return b == 0xff; });
}

}  // namespace

AddressIndex AddressIndex::build(const std::vector<const AddressSet*>& sets) {
  AddressIndex index;
  index.words_ = static_cast<uint32_t>((sets.size() + 63) / 64);
  index.starts_.push_back(IpKey{});
  for (const AddressSet* set : sets) {
    for (const auto& range : set->ranges()) {
      index.starts_.push_back(IpKey::of(range.first));
      if (!is_max(range.last)) index.starts_.push_back(IpKey::of(next_address(range.last)));
    }
  }
  std::sort(index.starts_.begin(), index.starts_.end());
  index.starts_.erase(std::unique(index.starts_.begin(), index.starts_.end()), index.starts_.end());
  index.bits_.assign(index.starts_.size() * index.words_, 0);
  for (size_t j = 0; j < sets.size(); ++j) {
    for (const auto& range : sets[j]->ranges()) {
      const size_t first = static_cast<size_t>(
          std::lower_bound(index.starts_.begin(), index.starts_.end(), IpKey::of(range.first)) - index.starts_.begin());
      size_t last = index.starts_.size() - 1;
      if (!is_max(range.last)) {
        last = static_cast<size_t>(std::lower_bound(index.starts_.begin(), index.starts_.end(),
                                                    IpKey::of(next_address(range.last))) - index.starts_.begin()) - 1;
      }
      for (size_t i = first; i <= last; ++i) index.bits_[i * index.words_ + j / 64] |= uint64_t{1} << (j % 64);
    }
  }
  return index;
}

const uint64_t* AddressIndex::lookup(const IpAddress& address) const noexcept {
  // The last interval starting at or before the address.
  const auto it = std::upper_bound(starts_.begin(), starts_.end(), IpKey::of(address));
  const size_t i = static_cast<size_t>(it - starts_.begin()) - 1;
  return bits_.data() + i * words_;
}

}  // namespace eastwatch

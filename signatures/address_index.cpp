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
  // Each range toggles its rule's bit where it starts and where it ends; a running XOR down
  // the intervals then fills the bits in between: O(ranges + intervals x words), where setting
  // every covered interval was O(intervals x rules) for `any`-like sets (a tenth of a warm start).
  // A set's ranges are disjoint (AddressSet keeps them normalized), so toggles never overlap.
  const size_t words = index.words_;
  const size_t count = index.starts_.size();
  index.bits_.assign(count * words, 0);
  for (size_t j = 0; j < sets.size(); ++j) {
    const uint64_t bit = uint64_t{1} << (j % 64);
    for (const auto& range : sets[j]->ranges()) {
      const size_t first = static_cast<size_t>(
          std::lower_bound(index.starts_.begin(), index.starts_.end(), IpKey::of(range.first)) - index.starts_.begin());
      index.bits_[first * words + j / 64] ^= bit;
      if (!is_max(range.last)) {
        const size_t end = static_cast<size_t>(std::lower_bound(index.starts_.begin(), index.starts_.end(),
                                                                IpKey::of(next_address(range.last))) -
                                               index.starts_.begin());
        index.bits_[end * words + j / 64] ^= bit;
      }
    }
  }
  for (size_t i = 1; i < count; ++i) {
    for (size_t w = 0; w < words; ++w) index.bits_[i * words + w] ^= index.bits_[(i - 1) * words + w];
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

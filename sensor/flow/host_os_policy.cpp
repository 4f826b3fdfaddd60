#include "sensor/flow/host_os_policy.hpp"

#include <algorithm>

namespace eastwatch {

namespace {

using U128 = unsigned __int128;

U128 to_u128(const IpAddress& address) noexcept {
  const IpKey key = IpKey::of(address);
  return (U128{key.high} << 64) | key.low;
}

IpKey to_key(U128 value) noexcept { return IpKey{static_cast<uint64_t>(value >> 64), static_cast<uint64_t>(value)}; }

struct Piece {
  U128 first;
  U128 last;
  OsPolicy policy;
};

// Paints `next` over `pieces` (disjoint, sorted): the parts of older pieces it covers are cut away.
void paint(std::vector<Piece>& pieces, const Piece& next) {
  std::vector<Piece> out;
  out.reserve(pieces.size() + 2);
  for (const Piece& piece : pieces) {
    if (piece.last < next.first || piece.first > next.last) {
      out.push_back(piece);
      continue;
    }
    if (piece.first < next.first) out.push_back({piece.first, next.first - 1, piece.policy});
    if (piece.last > next.last) out.push_back({next.last + 1, piece.last, piece.policy});
  }
  out.push_back(next);
  std::sort(out.begin(), out.end(), [](const Piece& a, const Piece& b) { return a.first < b.first; });
  pieces = std::move(out);
}

}  // namespace

HostOsPolicyTable::HostOsPolicyTable(const std::vector<HostOsPolicyEntry>& entries, OsPolicy fallback)
    : fallback_(fallback) {
  struct Candidate {
    Piece piece;
    U128 size;
    size_t order;
  };
  std::vector<Candidate> candidates;
  for (const HostOsPolicyEntry& entry : entries) {
    if (entry.addresses.is_any()) {
      candidates.push_back({{0, ~U128{0}, entry.policy}, ~U128{0}, candidates.size()});
      continue;
    }
    for (const auto& range : entry.addresses.ranges()) {
      const U128 first = to_u128(range.first);
      const U128 last = to_u128(range.last);
      candidates.push_back({{first, last, entry.policy}, last - first, candidates.size()});
    }
  }
  // Largest first, so that more specific ranges paint over them; equal sizes keep config order.
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return a.size != b.size ? a.size > b.size : a.order < b.order;
  });
  std::vector<Piece> pieces;
  for (const Candidate& candidate : candidates) paint(pieces, candidate.piece);
  for (const Piece& piece : pieces) {
    firsts_.push_back(to_key(piece.first));
    lasts_.push_back(to_key(piece.last));
    policies_.push_back(piece.policy);
  }
}

std::optional<OsPolicy> HostOsPolicyTable::find(const IpAddress& address) const noexcept {
  if (firsts_.empty()) return std::nullopt;
  const IpKey key = IpKey::of(address);
  // The last range starting at or before `key`.
  auto it = std::upper_bound(firsts_.begin(), firsts_.end(), key,
                             [](const IpKey& value, const IpKey& first) { return value < first; });
  if (it == firsts_.begin()) return std::nullopt;
  const size_t index = static_cast<size_t>(it - firsts_.begin()) - 1;
  if (lasts_[index] < key) return std::nullopt;
  return policies_[index];
}

OsPolicy HostOsPolicyTable::lookup(const IpAddress& address) const noexcept {
  return find(address).value_or(fallback_);
}

}  // namespace eastwatch

#include "signatures/address.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace eastwatch {

namespace {

constexpr uint8_t kV4Prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// 128-bit arithmetic on addresses, for range algebra.
IpAddress increment(IpAddress a) {
  for (int i = 15; i >= 0; --i) {
    if (++a.bytes[i] != 0) break;
  }
  return a;
}
IpAddress decrement(IpAddress a) {
  for (int i = 15; i >= 0; --i) {
    if (a.bytes[i]-- != 0) break;
  }
  return a;
}
IpAddress all_ones() {
  IpAddress a;
  a.bytes.fill(0xff);
  return a;
}

template <class Range, class Value, class Next, class Prev>
std::vector<Range> normalize(std::vector<Range> ranges, Value max, Next next) {
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.first < b.first; });
  std::vector<Range> out;
  for (const auto& r : ranges) {
    if (r.last < r.first) continue;
    if (!out.empty() && (out.back().last == max || !(next(out.back().last) < r.first))) {
      if (out.back().last < r.last) out.back().last = r.last;
    } else {
      out.push_back(r);
    }
  }
  return out;
}

template <class Range, class Value, class Next, class Prev>
std::vector<Range> complement_ranges(const std::vector<Range>& ranges, Value min, Value max, Next next, Prev prev) {
  std::vector<Range> out;
  Value cursor = min;
  bool done = false;
  for (const auto& r : ranges) {
    if (cursor < r.first) out.push_back(Range{cursor, prev(r.first)});
    if (r.last == max) {
      done = true;
      break;
    }
    cursor = next(r.last);
  }
  if (!done) out.push_back(Range{cursor, max});
  return out;
}

}  // namespace

IpAddress IpAddress::from_v4(uint32_t host_order) noexcept {
  IpAddress a;
  std::memcpy(a.bytes.data(), kV4Prefix, 12);
  a.bytes[12] = static_cast<uint8_t>(host_order >> 24);
  a.bytes[13] = static_cast<uint8_t>(host_order >> 16);
  a.bytes[14] = static_cast<uint8_t>(host_order >> 8);
  a.bytes[15] = static_cast<uint8_t>(host_order);
  return a;
}

IpAddress IpAddress::from_v4_bytes(const uint8_t* network_order) noexcept {
  IpAddress a;
  std::memcpy(a.bytes.data(), kV4Prefix, 12);
  std::memcpy(a.bytes.data() + 12, network_order, 4);
  return a;
}

IpAddress IpAddress::from_v6_bytes(const uint8_t* network_order) noexcept {
  IpAddress a;
  std::memcpy(a.bytes.data(), network_order, 16);
  return a;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  char buffer[64];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  uint8_t raw[16];
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buffer, raw) != 1) return std::nullopt;
    return from_v4_bytes(raw);
  }
  if (inet_pton(AF_INET6, buffer, raw) != 1) return std::nullopt;
  return from_v6_bytes(raw);
}

bool IpAddress::is_v4() const noexcept { return std::memcmp(bytes.data(), kV4Prefix, 12) == 0; }

uint32_t IpAddress::v4() const noexcept {
  return (uint32_t{bytes[12]} << 24) | (uint32_t{bytes[13]} << 16) | (uint32_t{bytes[14]} << 8) | bytes[15];
}

size_t IpAddress::format(char* out) const noexcept {
  if (is_v4()) {
    return static_cast<size_t>(std::snprintf(out, 40, "%u.%u.%u.%u", bytes[12], bytes[13], bytes[14], bytes[15]));
  }
  // Suricata writes IPv6 addresses with every group in full: 2001:0db8:0000:...:0001.
  static constexpr char kHex[] = "0123456789abcdef";
  size_t n = 0;
  for (int i = 0; i < 16; ++i) {
    if (i > 0 && i % 2 == 0) out[n++] = ':';
    out[n++] = kHex[bytes[i] >> 4];
    out[n++] = kHex[bytes[i] & 15];
  }
  out[n] = '\0';
  return n;
}

std::string IpAddress::to_string() const {
  char text[48];
  const size_t length = format(text);
  return std::string(text, length);
}

// ---- AddressSet ----

AddressSet AddressSet::any() {
  AddressSet set;
  set.any_ = true;
  set.ranges_ = {Range{IpAddress{}, all_ones()}};
  set.build_keys();
  return set;
}

void AddressSet::build_keys() {
  first_keys_.clear();
  last_keys_.clear();
  for (const auto& range : ranges_) {
    first_keys_.push_back(IpKey::of(range.first));
    last_keys_.push_back(IpKey::of(range.last));
  }
}

AddressSet AddressSet::from_ranges(std::vector<Range> ranges) {
  AddressSet set;
  set.ranges_ = normalize<Range, IpAddress, IpAddress (*)(IpAddress), IpAddress (*)(IpAddress)>(std::move(ranges),
                                                                                               all_ones(), increment);
  set.any_ = set.ranges_.size() == 1 && set.ranges_[0].first == IpAddress{} && set.ranges_[0].last == all_ones();
  set.build_keys();
  return set;
}

std::optional<AddressSet::Range> AddressSet::parse_cidr(std::string_view text) {
  const size_t slash = text.find('/');
  auto address = IpAddress::parse(text.substr(0, slash));
  if (!address) return std::nullopt;
  if (slash == std::string_view::npos) return Range{*address, *address};
  const std::string_view mask_text = text.substr(slash + 1);
  const bool v4 = address->is_v4();
  int prefix = -1;
  auto [end, ec] = std::from_chars(mask_text.data(), mask_text.data() + mask_text.size(), prefix);
  if (ec != std::errc() || end != mask_text.data() + mask_text.size()) {
    // Netmask form: 255.255.0.0
    if (!v4) return std::nullopt;
    auto mask = IpAddress::parse(mask_text);
    if (!mask || !mask->is_v4()) return std::nullopt;
    const uint32_t m = mask->v4();
    if (((~m + 1) & ~m) != 0) return std::nullopt;  // not contiguous
    prefix = __builtin_popcount(m);
  }
  if (prefix < 0 || prefix > (v4 ? 32 : 128)) return std::nullopt;
  const int bits = v4 ? prefix + 96 : prefix;
  IpAddress first = *address;
  IpAddress last = *address;
  for (int bit = bits; bit < 128; ++bit) {
    const uint8_t mask = static_cast<uint8_t>(0x80 >> (bit % 8));
    first.bytes[bit / 8] &= static_cast<uint8_t>(~mask);
    last.bytes[bit / 8] |= mask;
  }
  return Range{first, last};
}

bool AddressSet::contains(const IpAddress& address) const noexcept {
  if (any_) return true;
  const IpKey key = IpKey::of(address);
  // First range whose last >= address.
  const auto it = std::lower_bound(last_keys_.begin(), last_keys_.end(), key);
  return it != last_keys_.end() && first_keys_[static_cast<size_t>(it - last_keys_.begin())] <= key;
}

AddressSet AddressSet::complement() const {
  return from_ranges(complement_ranges<Range>(ranges_, IpAddress{}, all_ones(), increment, decrement));
}

AddressSet AddressSet::unite(const AddressSet& other) const {
  std::vector<Range> all = ranges_;
  all.insert(all.end(), other.ranges_.begin(), other.ranges_.end());
  return from_ranges(std::move(all));
}

AddressSet AddressSet::subtract(const AddressSet& other) const {
  // A \ B = complement(complement(A) ∪ B)
  return complement().unite(other).complement();
}

// ---- PortSet ----

namespace {
uint16_t next_port(uint16_t p) { return static_cast<uint16_t>(p + 1); }
uint16_t prev_port(uint16_t p) { return static_cast<uint16_t>(p - 1); }
}  // namespace

PortSet PortSet::any() {
  PortSet set;
  set.any_ = true;
  set.ranges_ = {Range{0, 65535}};
  return set;
}

PortSet PortSet::from_ranges(std::vector<Range> ranges) {
  PortSet set;
  set.ranges_ = normalize<Range, uint16_t, uint16_t (*)(uint16_t), uint16_t (*)(uint16_t)>(std::move(ranges), 65535,
                                                                                         next_port);
  set.any_ = set.ranges_.size() == 1 && set.ranges_[0].first == 0 && set.ranges_[0].last == 65535;
  return set;
}

bool PortSet::contains(uint16_t port) const noexcept {
  if (any_) return true;
  for (const auto& r : ranges_) {  // port lists are short; a linear scan beats a search
    if (port < r.first) return false;
    if (port <= r.last) return true;
  }
  return false;
}

PortSet PortSet::complement() const {
  return from_ranges(complement_ranges<Range, uint16_t>(ranges_, uint16_t{0}, uint16_t{65535}, next_port, prev_port));
}

PortSet PortSet::unite(const PortSet& other) const {
  std::vector<Range> all = ranges_;
  all.insert(all.end(), other.ranges_.begin(), other.ranges_.end());
  return from_ranges(std::move(all));
}

PortSet PortSet::subtract(const PortSet& other) const { return complement().unite(other).complement(); }

}  // namespace eastwatch

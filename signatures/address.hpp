// The address and port vocabulary shared by the rule language and the packet decoders.
//
// IpAddress stores IPv4 as an IPv4-mapped IPv6 address (::ffff:a.b.c.d) so that one
// 16-byte comparison serves both families; `is_v4()` tells which one it came from.
// AddressSet and PortSet are the compiled form of a rule header's address and port
// fields: sorted, disjoint, inclusive ranges, so membership is one binary search.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace eastwatch {

struct IpAddress {
  std::array<uint8_t, 16> bytes{};

  static IpAddress from_v4(uint32_t host_order) noexcept;
  static IpAddress from_v4_bytes(const uint8_t* network_order) noexcept;
  static IpAddress from_v6_bytes(const uint8_t* network_order) noexcept;
  // Parses dotted IPv4 or any textual IPv6 form; nullopt when malformed.
  static std::optional<IpAddress> parse(std::string_view text);

  bool is_v4() const noexcept;
  uint32_t v4() const noexcept;  // host order; only meaningful when is_v4()
  std::string to_string() const;  // Suricata's formats: dotted quad, or full-length IPv6 groups
  // Writes the text form into `out` (at least 40 bytes); returns the length. No allocation.
  size_t format(char* out) const noexcept;

  auto operator<=>(const IpAddress& other) const noexcept = default;
  bool operator==(const IpAddress& other) const noexcept = default;
};

// An address as a 128-bit unsigned number (two host-order words): ordered exactly like
// IpAddress, but compared with two integer compares instead of a byte-wise memcmp. Used by the
// lookups on the packet path.
struct IpKey {
  uint64_t high = 0;
  uint64_t low = 0;

  static IpKey of(const IpAddress& address) noexcept {
    uint64_t high, low;
    std::memcpy(&high, address.bytes.data(), 8);
    std::memcpy(&low, address.bytes.data() + 8, 8);
    return IpKey{__builtin_bswap64(high), __builtin_bswap64(low)};
  }
  bool operator<(const IpKey& other) const noexcept {
    return high != other.high ? high < other.high : low < other.low;
  }
  bool operator<=(const IpKey& other) const noexcept { return !(other < *this); }
  bool operator==(const IpKey& other) const noexcept = default;
};

// A set of addresses as sorted, disjoint, inclusive [first, last] ranges.
class AddressSet {
 public:
  struct Range {
    IpAddress first;
    IpAddress last;
  };

  static AddressSet any();
  static AddressSet from_ranges(std::vector<Range> ranges);  // normalizes (sorts, merges)
  // CIDR text such as "10.0.0.0/8", "fe80::/10" or a single address; nullopt if malformed.
  static std::optional<Range> parse_cidr(std::string_view text);

  bool contains(const IpAddress& address) const noexcept;
  bool is_any() const noexcept { return any_; }
  bool empty() const noexcept { return !any_ && ranges_.empty(); }
  const std::vector<Range>& ranges() const noexcept { return ranges_; }

  AddressSet complement() const;
  AddressSet unite(const AddressSet& other) const;
  AddressSet subtract(const AddressSet& other) const;

 private:
  void build_keys();

  bool any_ = false;
  std::vector<Range> ranges_;
  std::vector<IpKey> first_keys_;  // ranges_ as IpKey, for contains()
  std::vector<IpKey> last_keys_;
};

// A set of ports as sorted, disjoint, inclusive ranges.
class PortSet {
 public:
  struct Range {
    uint16_t first;
    uint16_t last;
  };

  static PortSet any();
  static PortSet from_ranges(std::vector<Range> ranges);

  bool contains(uint16_t port) const noexcept;
  bool is_any() const noexcept { return any_; }
  bool empty() const noexcept { return !any_ && ranges_.empty(); }
  const std::vector<Range>& ranges() const noexcept { return ranges_; }

  PortSet complement() const;
  PortSet unite(const PortSet& other) const;
  PortSet subtract(const PortSet& other) const;

 private:
  bool any_ = false;
  std::vector<Range> ranges_;
};

}  // namespace eastwatch

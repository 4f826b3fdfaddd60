#include "signatures/detail/header_parser.hpp"
#include "signatures/detail/text.hpp"

#include <charconv>
#include <vector>

namespace eastwatch::detail {

namespace {

constexpr int kMaxVariableDepth = 16;


// Splits the inside of a [...] list at top-level commas.
tl::expected<std::vector<std::string_view>, std::string> split_list(std::string_view inner, std::string_view whole) {
  std::vector<std::string_view> items;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i < inner.size(); ++i) {
    if (inner[i] == '[') ++depth;
    if (inner[i] == ']' && --depth < 0) return tl::unexpected("unbalanced brackets in '" + std::string(whole) + "'");
    if (inner[i] == ',' && depth == 0) {
      items.push_back(trim(inner.substr(start, i - start)));
      start = i + 1;
    }
  }
  if (depth != 0) return tl::unexpected("unbalanced brackets in '" + std::string(whole) + "'");
  items.push_back(trim(inner.substr(start)));
  for (auto item : items) {
    if (item.empty()) return tl::unexpected("empty list element in '" + std::string(whole) + "'");
  }
  return items;
}

// Set algebra shared by addresses and ports: a list is the union of its positive elements
// minus the union of its negated ones (from "any" when all are negated), as in Suricata.
// What a negation is taken from. Suricata negates addresses within each family the negated
// set mentions: `!$HOME_NET` with an IPv4-only HOME_NET is "IPv4 but not HOME_NET" and
// matches no IPv6 address. Ports negate within 0-65535.
AddressSet negation_base(const AddressSet& negated) {
  const AddressSet v4 = AddressSet::from_ranges({*AddressSet::parse_cidr("0.0.0.0/0")});
  const AddressSet v6 = v4.complement();
  AddressSet base;
  if (!negated.subtract(v6).empty()) base = base.unite(v4);
  if (!negated.subtract(v4).empty()) base = base.unite(v6);
  return base;
}
PortSet negation_base(const PortSet&) { return PortSet::any(); }

template <class Set, class Leaf>
class ExpressionParser {
 public:
  ExpressionParser(const std::map<std::string, std::string>& group, const char* kind, Leaf leaf)
      : group_(group), kind_(kind), leaf_(leaf) {}

  tl::expected<Set, std::string> parse(std::string_view text, int depth) {
    text = trim(text);
    if (text.empty()) return tl::unexpected(std::string("empty ") + kind_);
    if (depth > kMaxVariableDepth) {
      return tl::unexpected(std::string("variables nest too deeply (a loop?) at '") + std::string(text) + "'");
    }
    if (text.front() == '!') {
      auto inner = parse(text.substr(1), depth);
      if (!inner) return inner;
      return negation_base(*inner).subtract(*inner);
    }
    if (text.front() == '[') {
      if (text.back() != ']') return tl::unexpected("unbalanced brackets in '" + std::string(text) + "'");
      auto items = split_list(text.substr(1, text.size() - 2), text);
      if (!items) return tl::unexpected(items.error());
      Set positive;
      Set negative;
      bool any_positive = false;
      for (auto item : *items) {
        const bool negated = item.front() == '!';
        auto value = parse(negated ? item.substr(1) : item, depth);
        if (!value) return value;
        if (negated) {
          negative = negative.unite(*value);
        } else {
          positive = positive.unite(*value);
          any_positive = true;
        }
      }
      Set result = (any_positive ? positive : negation_base(negative)).subtract(negative);
      if (result.empty()) return tl::unexpected(std::string("'") + std::string(text) + "' matches no " + kind_);
      return result;
    }
    if (text.front() == '$') {
      const std::string name(text.substr(1));
      auto it = group_.find(name);
      if (it == group_.end()) return tl::unexpected("undefined variable $" + name);
      return parse(it->second, depth + 1);
    }
    if (text == "any") return Set::any();
    return leaf_(text);
  }

 private:
  const std::map<std::string, std::string>& group_;
  const char* kind_;
  Leaf leaf_;
};

tl::expected<AddressSet, std::string> address_leaf(std::string_view text) {
  auto range = AddressSet::parse_cidr(text);
  if (!range) return tl::unexpected("invalid address '" + std::string(text) + "' (expected an IPv4/IPv6 address or CIDR)");
  return AddressSet::from_ranges({*range});
}

tl::expected<uint16_t, std::string> port_number(std::string_view text, std::string_view whole) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 65535) {
    return tl::unexpected("invalid port '" + std::string(whole) + "' (expected 0-65535, a range a:b, or a list)");
  }
  return static_cast<uint16_t>(value);
}

tl::expected<PortSet, std::string> port_leaf(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    auto port = port_number(text, text);
    if (!port) return tl::unexpected(port.error());
    return PortSet::from_ranges({{*port, *port}});
  }
  const auto low_text = trim(text.substr(0, colon));
  const auto high_text = trim(text.substr(colon + 1));
  uint16_t low = 0;
  uint16_t high = 65535;
  if (!low_text.empty()) {
    auto value = port_number(low_text, text);
    if (!value) return tl::unexpected(value.error());
    low = *value;
  }
  if (!high_text.empty()) {
    auto value = port_number(high_text, text);
    if (!value) return tl::unexpected(value.error());
    high = *value;
  }
  if (low_text.empty() && high_text.empty()) return tl::unexpected("invalid port range '" + std::string(text) + "'");
  if (high < low) return tl::unexpected("invalid port range '" + std::string(text) + "' (start after end)");
  return PortSet::from_ranges({{low, high}});
}

}  // namespace

tl::expected<AddressSet, std::string> parse_address_expression(std::string_view text, const RuleVariables& variables) {
  ExpressionParser<AddressSet, decltype(&address_leaf)> parser(variables.address_groups, "address", &address_leaf);
  auto result = parser.parse(text, 0);
  if (result && result->empty()) return tl::unexpected("'" + std::string(text) + "' matches no address");
  return result;
}

tl::expected<PortSet, std::string> parse_port_expression(std::string_view text, const RuleVariables& variables) {
  ExpressionParser<PortSet, decltype(&port_leaf)> parser(variables.port_groups, "port", &port_leaf);
  auto result = parser.parse(text, 0);
  if (result && result->empty()) return tl::unexpected("'" + std::string(text) + "' matches no port");
  return result;
}

const tl::expected<AddressSet, std::string>& HeaderCache::address(std::string_view text) {
  auto found = addresses_.find(std::string(text));
  if (found == addresses_.end()) {
    found = addresses_.emplace(std::string(text), parse_address_expression(text, variables_)).first;
  }
  return found->second;
}

const tl::expected<PortSet, std::string>& HeaderCache::port(std::string_view text) {
  auto found = ports_.find(std::string(text));
  if (found == ports_.end()) found = ports_.emplace(std::string(text), parse_port_expression(text, variables_)).first;
  return found->second;
}

}  // namespace eastwatch::detail

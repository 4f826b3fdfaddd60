// Internal: parses rule-header address and port expressions, with variables.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

#include <tl/expected.hpp>

#include "signatures/address.hpp"
#include "signatures/variables.hpp"

namespace eastwatch::detail {

// "any", "10.0.0.0/8", "$HOME_NET", "!$HOME_NET", "[a,![b,c]]"; errors say what is wrong.
tl::expected<AddressSet, std::string> parse_address_expression(std::string_view text, const RuleVariables& variables);
// "any", "80", "1024:", ":1023", "80:90", "[80,443]", "!80", "$HTTP_PORTS".
tl::expected<PortSet, std::string> parse_port_expression(std::string_view text, const RuleVariables& variables);

// Header expressions repeat across a rule set (ET Open: `$HOME_NET`, `$EXTERNAL_NET`, `any`,
// `$HTTP_PORTS` in nearly every rule), and `!$HOME_NET` costs set algebra each time: a loader
// parses each distinct text once, for one set of variables, and copies the result.
class HeaderCache {
 public:
  explicit HeaderCache(const RuleVariables& variables) : variables_(variables) {}
  const tl::expected<AddressSet, std::string>& address(std::string_view text);
  const tl::expected<PortSet, std::string>& port(std::string_view text);

 private:
  const RuleVariables& variables_;
  std::unordered_map<std::string, tl::expected<AddressSet, std::string>> addresses_;
  std::unordered_map<std::string, tl::expected<PortSet, std::string>> ports_;
};

}  // namespace eastwatch::detail

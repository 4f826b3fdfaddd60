// Internal: parses rule-header address and port expressions, with variables.
#pragma once

#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "signatures/address.hpp"
#include "signatures/variables.hpp"

namespace eastwatch::detail {

// "any", "10.0.0.0/8", "$HOME_NET", "!$HOME_NET", "[a,![b,c]]"; errors say what is wrong.
tl::expected<AddressSet, std::string> parse_address_expression(std::string_view text, const RuleVariables& variables);
// "any", "80", "1024:", ":1023", "80:90", "[80,443]", "!80", "$HTTP_PORTS".
tl::expected<PortSet, std::string> parse_port_expression(std::string_view text, const RuleVariables& variables);

}  // namespace eastwatch::detail

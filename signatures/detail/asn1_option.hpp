// Internal: parsing of the `asn1:` keyword's value (Suricata 7's grammar, see Asn1Option).
#pragma once

#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "signatures/rule.hpp"

namespace eastwatch::detail {

tl::expected<Asn1Option, std::string> parse_asn1(std::string_view value);

}  // namespace eastwatch::detail

// Internal: parses the option list of a rule (everything between the parentheses).
#pragma once

#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "signatures/classification.hpp"
#include "signatures/rule.hpp"

namespace eastwatch::detail {

// Fills rule's options from `options` (the text inside the outer parentheses).
tl::expected<void, std::string> parse_rule_options(std::string_view options, const ClassificationTable* classifications,
                                                   Rule& rule);

// Decodes a content string body (without the surrounding quotes): |hex| blocks and escapes.
tl::expected<std::string, std::string> decode_content(std::string_view body);

}  // namespace eastwatch::detail

// Internal: parsing of byte_test and byte_jump.
#pragma once

#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "signatures/rule.hpp"

namespace eastwatch::detail {

tl::expected<ByteTestOption, std::string> parse_byte_test(std::string_view value);
tl::expected<ByteJumpOption, std::string> parse_byte_jump(std::string_view value);

}  // namespace eastwatch::detail

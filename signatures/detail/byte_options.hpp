// Internal: parsing of byte_test, byte_jump, byte_extract, byte_math and bsize, and the
// variables byte_extract/byte_math define for the rest of their section.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "signatures/rule.hpp"

namespace eastwatch::detail {

// `section` is the section the option joins: its byte_extract/byte_math variables may be named
// where the syntax allows a variable.
tl::expected<ByteTestOption, std::string> parse_byte_test(std::string_view value, const BufferSection& section);
tl::expected<ByteJumpOption, std::string> parse_byte_jump(std::string_view value, const BufferSection& section);
// Assign the next variable slot of `section` (not appended: the caller adds the step).
tl::expected<ByteExtractOption, std::string> parse_byte_extract(std::string_view value, const BufferSection& section);
tl::expected<ByteMathOption, std::string> parse_byte_math(std::string_view value, const BufferSection& section);
tl::expected<NumericTest, std::string> parse_bsize(std::string_view value);

// The slot of the byte_extract/byte_math variable `name` in `section`, if defined there.
std::optional<uint8_t> find_byte_variable(const BufferSection& section, std::string_view name);
// Whether `text` is written as a variable name (a letter or '_' first).
bool is_variable_name(std::string_view text);

// Suricata's load-time check of a section's contents against its first bsize: the contents
// that must all fit (the first one and the relative ones after it, not negated) need more
// bytes than the bsize allows, so the rule could never match.
tl::expected<void, std::string> check_bsize(const BufferSection& section);

}  // namespace eastwatch::detail

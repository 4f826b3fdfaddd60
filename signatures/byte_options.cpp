// byte_test and byte_jump, with Suricata 7's syntax (see rule.hpp for the forms accepted).
#include <cctype>
#include <charconv>
#include <vector>

#include "signatures/detail/byte_options.hpp"
#include "signatures/detail/text.hpp"

namespace eastwatch::detail {

namespace {


std::vector<std::string_view> split(std::string_view value) {
  std::vector<std::string_view> items;
  while (true) {
    const size_t comma = value.find(',');
    items.push_back(trim(value.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return items;
}

template <class T>
tl::expected<T, std::string> number(std::string_view keyword, std::string_view what, std::string_view text, T min,
                                    T max) {
  int base = 10;
  bool negative = false;
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '-') {
    negative = true;
    digits.remove_prefix(1);
  }
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
    digits.remove_prefix(2);
    base = 16;
  }
  uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  const bool ok = !digits.empty() && ec == std::errc() && end == digits.data() + digits.size();
  if (ok && !(negative && magnitude > 0 && min >= 0)) {
    const long double value = negative ? -static_cast<long double>(magnitude) : static_cast<long double>(magnitude);
    if (value >= static_cast<long double>(min) && value <= static_cast<long double>(max)) {
      return negative ? static_cast<T>(-static_cast<int64_t>(magnitude)) : static_cast<T>(magnitude);
    }
  }
  if (!text.empty() && (std::isalpha(static_cast<unsigned char>(text.front())) || text.front() == '_')) {
    return tl::unexpected(std::string(keyword) + ": " + std::string(what) + " '" + std::string(text) +
                          "' is a byte_extract variable (not implemented yet)");
  }
  return tl::unexpected(std::string(keyword) + ": invalid " + std::string(what) + " '" + std::string(text) +
                        "' (expected a number from " + std::to_string(min) + " to " + std::to_string(max) + ")");
}

// The modifiers byte_test and byte_jump share; returns false if `item` is not one of them.
tl::expected<bool, std::string> read_modifier(std::string_view keyword, const std::vector<std::string_view>& items,
                                              size_t& i, ByteRead& read) {
  const std::string_view item = items[i];
  if (item == "relative") {
    read.relative = true;
  } else if (item == "big") {
    read.little_endian = false;
  } else if (item == "little") {
    read.little_endian = true;
  } else if (item == "string") {
    if (read.string_base == 0) read.string_base = 10;
  } else if (item == "hex" || item == "dec" || item == "oct") {
    read.string_base = item == "hex" ? 16 : item == "dec" ? 10 : 8;
  } else if (item == "dce") {
    return tl::unexpected("unsupported keyword '" + std::string(keyword) + ":dce' (not implemented yet: needs DCERPC)");
  } else if (item.substr(0, 7) == "bitmask") {
    auto mask = number<uint64_t>(keyword, "bitmask", trim(item.substr(7)), 1, UINT32_MAX);
    if (!mask) return tl::unexpected(mask.error());
    read.bitmask = *mask;
  } else {
    return false;
  }
  return true;
}

tl::expected<void, std::string> check_bytes(std::string_view keyword, const ByteRead& read) {
  const unsigned max = read.string_base ? 23 : 8;
  if (read.bytes < 1 || read.bytes > max) {
    return tl::unexpected(std::string(keyword) + ": " + std::to_string(read.bytes) + " bytes is out of range (1 to " +
                          std::to_string(max) + (read.string_base ? " for a string" : " for a binary number") + ")");
  }
  return {};
}

}  // namespace

tl::expected<ByteTestOption, std::string> parse_byte_test(std::string_view value) {
  const auto items = split(value);
  if (items.size() < 4) {
    return tl::unexpected(std::string("byte_test: expected bytes, operator, value, offset [, modifiers]"));
  }
  ByteTestOption test;
  auto bytes = number<uint32_t>("byte_test", "byte count", items[0], 1, 23);
  if (!bytes) return tl::unexpected(bytes.error());
  test.read.bytes = static_cast<uint8_t>(*bytes);
  std::string_view op = items[1];
  if (!op.empty() && op.front() == '!') {
    test.negated = true;
    op.remove_prefix(1);
  }
  if (op == "<") test.op = ByteTestOption::Op::Less;
  else if (op == ">") test.op = ByteTestOption::Op::Greater;
  else if (op == "=") test.op = ByteTestOption::Op::Equal;
  else if (op == "<=") test.op = ByteTestOption::Op::LessEqual;
  else if (op == ">=") test.op = ByteTestOption::Op::GreaterEqual;
  else if (op == "&") test.op = ByteTestOption::Op::And;
  else if (op == "^") test.op = ByteTestOption::Op::Xor;
  else if (op.empty() && test.negated) {
    test.op = ByteTestOption::Op::Equal;  // a lone "!" means "not equal"
  } else {
    return tl::unexpected("byte_test: invalid operator '" + std::string(items[1]) + "' (expected < > = <= >= & ^, optionally negated with !)");
  }
  auto compare = number<uint64_t>("byte_test", "value", items[2], 0, UINT64_MAX);
  if (!compare) return tl::unexpected(compare.error());
  test.value = *compare;
  auto offset = number<int32_t>("byte_test", "offset", items[3], -65535, 65535);
  if (!offset) return tl::unexpected(offset.error());
  test.read.offset = *offset;
  for (size_t i = 4; i < items.size(); ++i) {
    auto known = read_modifier("byte_test", items, i, test.read);
    if (!known) return tl::unexpected(known.error());
    if (!*known) return tl::unexpected("byte_test: unknown modifier '" + std::string(items[i]) + "'");
  }
  if (auto ok = check_bytes("byte_test", test.read); !ok) return tl::unexpected(ok.error());
  return test;
}

tl::expected<ByteJumpOption, std::string> parse_byte_jump(std::string_view value) {
  const auto items = split(value);
  if (items.size() < 2) return tl::unexpected(std::string("byte_jump: expected bytes, offset [, modifiers]"));
  ByteJumpOption jump;
  auto bytes = number<uint32_t>("byte_jump", "byte count", items[0], 1, 23);
  if (!bytes) return tl::unexpected(bytes.error());
  jump.read.bytes = static_cast<uint8_t>(*bytes);
  auto offset = number<int32_t>("byte_jump", "offset", items[1], -65535, 65535);
  if (!offset) return tl::unexpected(offset.error());
  jump.read.offset = *offset;
  for (size_t i = 2; i < items.size(); ++i) {
    const std::string_view item = items[i];
    if (item == "align") {
      jump.align = true;
    } else if (item == "from_beginning") {
      jump.from_beginning = true;
    } else if (item == "from_end") {
      jump.from_end = true;
    } else if (item.substr(0, 10) == "multiplier") {
      auto m = number<uint32_t>("byte_jump", "multiplier", trim(item.substr(10)), 1, 65535);
      if (!m) return tl::unexpected(m.error());
      jump.multiplier = *m;
    } else if (item.substr(0, 11) == "post_offset") {
      auto p = number<int32_t>("byte_jump", "post_offset", trim(item.substr(11)), -65535, 65535);
      if (!p) return tl::unexpected(p.error());
      jump.post_offset = *p;
    } else {
      auto known = read_modifier("byte_jump", items, i, jump.read);
      if (!known) return tl::unexpected(known.error());
      if (!*known) return tl::unexpected("byte_jump: unknown modifier '" + std::string(item) + "'");
    }
  }
  if (jump.from_beginning && jump.from_end) {
    return tl::unexpected(std::string("byte_jump: from_beginning and from_end cannot both be set"));
  }
  if (auto ok = check_bytes("byte_jump", jump.read); !ok) return tl::unexpected(ok.error());
  return jump;
}

}  // namespace eastwatch::detail

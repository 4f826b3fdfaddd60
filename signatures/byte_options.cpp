// byte_test, byte_jump, byte_extract, byte_math and bsize, with Suricata 7's syntax (see rule.hpp
// for the forms accepted). byte_extract/byte_math variables are looked up in the section the
// option joins; an unknown name is a rule error.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

#include "signatures/detail/byte_options.hpp"
#include "signatures/detail/packet_options.hpp"
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
  return tl::unexpected(std::string(keyword) + ": invalid " + std::string(what) + " '" + std::string(text) +
                        "' (expected a number from " + std::to_string(min) + " to " + std::to_string(max) + ")");
}

// A number, or the name of a byte_extract/byte_math variable of `section` (its slot in `var`).
template <class T>
tl::expected<T, std::string> number_or_variable(std::string_view keyword, std::string_view what, std::string_view text,
                                                T min, T max, const BufferSection& section, int8_t& var) {
  if (is_variable_name(text)) {
    const auto slot = find_byte_variable(section, text);
    if (!slot) {
      return tl::unexpected(std::string(keyword) + ": unknown byte_extract/byte_math variable '" + std::string(text) +
                            "' as " + std::string(what));
    }
    var = static_cast<int8_t>(*slot);
    return T{};
  }
  return number<T>(keyword, what, text, min, max);
}

tl::expected<uint8_t, std::string> new_variable(std::string_view keyword, std::string_view name,
                                                const BufferSection& section) {
  if (!is_variable_name(name)) {
    return tl::unexpected(std::string(keyword) + ": invalid variable name '" + std::string(name) +
                          "' (expected a letter or '_' first)");
  }
  // A name defined again gets a new slot, but later uses keep naming the first definition, as
  // Suricata's variable lookup finds the first (Snort 3 community rules redefine names).
  if (section.variables >= kMaxByteVariables) {
    return tl::unexpected(std::string(keyword) + ": more than " + std::to_string(kMaxByteVariables) +
                          " byte_extract/byte_math variables in one buffer");
  }
  return section.variables;
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

tl::expected<ByteTestOption, std::string> parse_byte_test(std::string_view value, const BufferSection& section) {
  const auto items = split(value);
  if (items.size() < 4) {
    return tl::unexpected(std::string("byte_test: expected bytes, operator, value, offset [, modifiers]"));
  }
  ByteTestOption test;
  auto bytes = number<uint32_t>("byte_test", "byte count", items[0], 0, 23);
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
  auto compare = number_or_variable<uint64_t>("byte_test", "value", items[2], 0, UINT64_MAX, section, test.value_var);
  if (!compare) return tl::unexpected(compare.error());
  test.value = *compare;
  auto offset =
      number_or_variable<int32_t>("byte_test", "offset", items[3], -65535, 65535, section, test.read.offset_var);
  if (!offset) return tl::unexpected(offset.error());
  test.read.offset = *offset;
  for (size_t i = 4; i < items.size(); ++i) {
    auto known = read_modifier("byte_test", items, i, test.read);
    if (!known) return tl::unexpected(known.error());
    if (!*known) return tl::unexpected("byte_test: unknown modifier '" + std::string(items[i]) + "'");
  }
  // Suricata 7: 0 bytes with `string` reads the number from the offset to the end of the buffer
  // (strtoull over the rest: the digits there are, however many). Without `string` Suricata would
  // read 0 bytes as no number at all: refused here.
  if (test.read.bytes == 0) {
    if (test.read.string_base == 0) {
      return tl::unexpected(std::string("byte_test: 0 bytes needs 'string' (0 reads a string number to the end of "
                                        "the buffer)"));
    }
    return test;
  }
  if (auto ok = check_bytes("byte_test", test.read); !ok) return tl::unexpected(ok.error());
  return test;
}

tl::expected<ByteJumpOption, std::string> parse_byte_jump(std::string_view value, const BufferSection& section) {
  const auto items = split(value);
  if (items.size() < 2) return tl::unexpected(std::string("byte_jump: expected bytes, offset [, modifiers]"));
  ByteJumpOption jump;
  auto bytes = number<uint32_t>("byte_jump", "byte count", items[0], 1, 23);
  if (!bytes) return tl::unexpected(bytes.error());
  jump.read.bytes = static_cast<uint8_t>(*bytes);
  auto offset =
      number_or_variable<int32_t>("byte_jump", "offset", items[1], -65535, 65535, section, jump.read.offset_var);
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

tl::expected<ByteExtractOption, std::string> parse_byte_extract(std::string_view value, const BufferSection& section) {
  const auto items = split(value);
  if (items.size() < 3) {
    return tl::unexpected(std::string("byte_extract: expected bytes, offset, name [, modifiers]"));
  }
  ByteExtractOption extract;
  auto bytes = number<uint32_t>("byte_extract", "byte count", items[0], 1, 23);
  if (!bytes) return tl::unexpected(bytes.error());
  extract.read.bytes = static_cast<uint8_t>(*bytes);
  auto offset = number<int32_t>("byte_extract", "offset", items[1], -65535, 65535);
  if (!offset) return tl::unexpected(offset.error());
  extract.read.offset = *offset;
  auto slot = new_variable("byte_extract", items[2], section);
  if (!slot) return tl::unexpected(slot.error());
  extract.slot = *slot;
  extract.name = std::string(items[2]);
  bool endian = false;
  for (size_t i = 3; i < items.size(); ++i) {
    const std::string_view item = items[i];
    if (item.substr(0, 10) == "multiplier") {
      auto m = number<uint32_t>("byte_extract", "multiplier", trim(item.substr(10)), 1, 65535);
      if (!m) return tl::unexpected(m.error());
      extract.multiplier = *m;
    } else if (item.substr(0, 5) == "align") {
      auto a = number<uint32_t>("byte_extract", "align", trim(item.substr(5)), 2, 4);
      if (!a || *a == 3) {
        return tl::unexpected("byte_extract: invalid align '" + std::string(trim(item.substr(5))) + "' (expected 2 or 4)");
      }
      extract.align = static_cast<uint8_t>(*a);
    } else {
      if (item == "big" || item == "little") {
        if (endian) return tl::unexpected(std::string("byte_extract: endianness given twice"));
        endian = true;
      }
      auto known = read_modifier("byte_extract", items, i, extract.read);
      if (!known) return tl::unexpected(known.error());
      if (!*known) return tl::unexpected("byte_extract: unknown modifier '" + std::string(item) + "'");
    }
  }
  // Suricata's limits: 8 binary bytes; as a string 23 octal, 20 decimal or 14 hex digits.
  const unsigned max = extract.read.string_base == 0    ? 8
                       : extract.read.string_base == 8  ? 23
                       : extract.read.string_base == 10 ? 20
                                                        : 14;
  if (extract.read.bytes > max) {
    return tl::unexpected("byte_extract: " + std::to_string(extract.read.bytes) + " bytes is out of range (1 to " +
                          std::to_string(max) + (extract.read.string_base ? " for this string base)" : " for a binary number)"));
  }
  return extract;
}

tl::expected<ByteMathOption, std::string> parse_byte_math(std::string_view value, const BufferSection& section) {
  ByteMathOption math;
  bool have_bytes = false, have_offset = false, have_oper = false, have_rvalue = false, have_result = false;
  std::string_view result;
  for (const std::string_view item : split(value)) {
    const size_t space = item.find_first_of(" \t");
    const std::string_view key = item.substr(0, space);
    const std::string_view arg = space == std::string_view::npos ? std::string_view{} : trim(item.substr(space));
    if (key == "relative" && arg.empty()) {
      math.read.relative = true;
      continue;
    }
    if (key == "dce" && arg.empty()) {
      return tl::unexpected(std::string("unsupported keyword 'byte_math:dce' (not implemented yet: needs DCERPC)"));
    }
    if (arg.empty()) {
      return tl::unexpected("byte_math: invalid item '" + std::string(item) +
                            "' (expected bytes, offset, oper, rvalue, result, relative, endian, string, dce, bitmask)");
    }
    if (key == "bytes") {
      if (is_variable_name(arg)) {
        return tl::unexpected(std::string("unsupported keyword 'byte_math:bytes <variable>' (not implemented yet)"));
      }
      auto bytes = number<uint32_t>("byte_math", "bytes", arg, 1, 10);
      if (!bytes) return tl::unexpected(bytes.error());
      math.read.bytes = static_cast<uint8_t>(*bytes);
      have_bytes = true;
    } else if (key == "offset") {
      auto offset = number<int32_t>("byte_math", "offset", arg, -65535, 65535);
      if (!offset) return tl::unexpected(offset.error());
      math.read.offset = *offset;
      have_offset = true;
    } else if (key == "oper") {
      if (arg == "+") math.op = ByteMathOption::Op::Add;
      else if (arg == "-") math.op = ByteMathOption::Op::Subtract;
      else if (arg == "*") math.op = ByteMathOption::Op::Multiply;
      else if (arg == "/") math.op = ByteMathOption::Op::Divide;
      else if (arg == "<<") math.op = ByteMathOption::Op::LeftShift;
      else if (arg == ">>") math.op = ByteMathOption::Op::RightShift;
      else return tl::unexpected("byte_math: invalid oper '" + std::string(arg) + "' (expected + - * / << >>)");
      have_oper = true;
    } else if (key == "rvalue") {
      auto rvalue = number_or_variable<uint64_t>("byte_math", "rvalue", arg, 0, UINT32_MAX, section, math.rvalue_var);
      if (!rvalue) return tl::unexpected(rvalue.error());
      math.rvalue = *rvalue;
      have_rvalue = true;
    } else if (key == "result") {
      result = arg;
      have_result = true;
    } else if (key == "endian") {
      if (arg == "big") math.read.little_endian = false;
      else if (arg == "little") math.read.little_endian = true;
      else if (arg == "dce") {
        return tl::unexpected(std::string("unsupported keyword 'byte_math:dce' (not implemented yet: needs DCERPC)"));
      } else {
        return tl::unexpected("byte_math: invalid endian '" + std::string(arg) + "' (expected big or little)");
      }
    } else if (key == "string") {
      if (arg == "hex") math.read.string_base = 16;
      else if (arg == "dec") math.read.string_base = 10;
      else if (arg == "oct") math.read.string_base = 8;
      else return tl::unexpected("byte_math: invalid string base '" + std::string(arg) + "' (expected hex, dec or oct)");
    } else if (key == "bitmask") {
      auto mask = number<uint32_t>("byte_math", "bitmask", arg, 1, UINT32_MAX);
      if (!mask) return tl::unexpected(mask.error());
      math.bitmask = *mask;
    } else {
      return tl::unexpected("byte_math: unknown item '" + std::string(item) + "'");
    }
  }
  if (!have_bytes || !have_offset || !have_oper || !have_rvalue || !have_result) {
    return tl::unexpected(std::string("byte_math: bytes, offset, oper, rvalue and result are required"));
  }
  if (math.read.string_base == 0 && math.read.bytes > 8) {
    return tl::unexpected("byte_math: " + std::to_string(math.read.bytes) +
                          " bytes is out of range (1 to 8 for a binary number)");
  }
  auto slot = new_variable("byte_math", result, section);
  if (!slot) return tl::unexpected(slot.error());
  math.slot = *slot;
  math.name = std::string(result);
  return math;
}

tl::expected<NumericTest, std::string> parse_bsize(std::string_view value) {
  return parse_numeric_test("bsize", value, UINT64_MAX);
}

bool is_variable_name(std::string_view text) {
  if (text.empty() || !(std::isalpha(static_cast<unsigned char>(text.front())) || text.front() == '_')) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'; });
}

std::optional<uint8_t> find_byte_variable(const BufferSection& section, std::string_view name) {
  for (const auto& extract : section.byte_extracts) {
    if (extract.name == name) return extract.slot;
  }
  for (const auto& math : section.byte_maths) {
    if (math.name == name) return math.slot;
  }
  return std::nullopt;
}

tl::expected<void, std::string> check_bsize(const BufferSection& section) {
  if (section.bsizes.empty()) return {};
  const NumericTest& bsize = section.bsizes.front();
  uint64_t max = 0;
  switch (bsize.op) {
    case NumericTest::Op::Equal:
    case NumericTest::Op::Less: max = bsize.a; break;
    case NumericTest::Op::Between: max = bsize.b; break;
    default: return {};  // no upper bound Suricata checks
  }
  uint64_t length = 0;
  int64_t offset = 0;
  bool first = true;
  for (const ChainStep& step : section.steps) {
    if (step.kind != ChainStep::Kind::Content) continue;
    const ContentOption& content = section.contents[step.index];
    if (!first && !content.is_relative()) continue;
    first = false;
    if (content.negated) continue;  // needs no bytes of its own
    const int64_t distance = content.distance_var < 0 ? content.distance.value_or(0) : 0;
    const int64_t needed = static_cast<int64_t>(length) + static_cast<int64_t>(content.pattern.size()) + distance;
    length = needed < 0 ? 0 : static_cast<uint64_t>(needed);
    if (content.offset_var < 0) offset = std::max<int64_t>(offset, content.offset.value_or(0));
  }
  const std::string limit = bsize.op == NumericTest::Op::Between
                                ? "range " + std::to_string(bsize.a) + "<>" + std::to_string(bsize.b)
                                : "value " + std::to_string(max);
  if (length > max) {
    return tl::unexpected("bsize: required content length " + std::to_string(length) + " exceeds bsize " + limit +
                          " (the rule could never match)");
  }
  if (length + static_cast<uint64_t>(offset) > max) {
    return tl::unexpected("bsize: required content length " + std::to_string(length + static_cast<uint64_t>(offset)) +
                          " (with offset " + std::to_string(offset) + ") exceeds bsize " + limit +
                          " (the rule could never match)");
  }
  return {};
}

}  // namespace eastwatch::detail

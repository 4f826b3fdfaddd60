// `asn1:` options, with Suricata 7's grammar (rust/src/asn1/parse_rules.rs): repeated
// [white space] option [white space | ','], where an option is bitstring_overflow,
// double_overflow, or oversize_length / absolute_offset / relative_offset, white space and a
// number. So "a, b" and "a b" and "a,b" are fine, "a , b" and "a,,b" are not (Suricata's
// separator is either white space or one comma). Difference: Suricata also takes two options
// run together ("bitstring_overflowdouble_overflow", keeping only the first); here an option
// must be followed by a separator or the end.
#include <charconv>

#include "signatures/detail/asn1_option.hpp"

namespace eastwatch::detail {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

tl::expected<Asn1Option, std::string> fail(std::string message) { return tl::unexpected("asn1: " + message); }

}  // namespace

tl::expected<Asn1Option, std::string> parse_asn1(std::string_view value) {
  if (value.empty()) {
    return fail("missing value (expected bitstring_overflow, double_overflow, oversize_length N, absolute_offset N "
                "or relative_offset N)");
  }
  Asn1Option option;
  bool absolute = false, relative = false;
  int32_t relative_offset = 0;
  size_t i = 0;
  while (i < value.size()) {
    while (i < value.size() && is_space(value[i])) ++i;
    if (i == value.size()) break;
    size_t end = i;
    while (end < value.size() && (value[end] == '_' || (value[end] >= 'a' && value[end] <= 'z'))) ++end;
    const std::string_view name = value.substr(i, end - i);
    i = end;
    if (name == "bitstring_overflow" || name == "double_overflow") {
      (name == "bitstring_overflow" ? option.bitstring_overflow : option.double_overflow) = true;
    } else if (name == "oversize_length" || name == "absolute_offset" || name == "relative_offset") {
      const size_t spaces = i;
      while (i < value.size() && is_space(value[i])) ++i;
      size_t digits = i;
      if (name == "relative_offset" && digits < value.size() && value[digits] == '-') ++digits;
      size_t stop = digits;
      while (stop < value.size() && value[stop] >= '0' && value[stop] <= '9') ++stop;
      const int64_t min = name == "relative_offset" ? -65535 : 0;
      const int64_t max = name == "oversize_length" ? 4294967295 : 65535;
      int64_t number = 0;
      const auto [ptr, ec] = std::from_chars(value.data() + i, value.data() + stop, number);
      if (i == spaces || stop == digits || ec != std::errc() || ptr != value.data() + stop || number < min ||
          number > max) {
        return fail("invalid " + std::string(name) + " '" + std::string(value.substr(i, stop - i)) +
                    "' (expected white space and a number from " + std::to_string(min) + " to " +
                    std::to_string(max) + ")");
      }
      i = stop;
      if (name == "oversize_length") {
        option.oversize = true;
        option.oversize_length = static_cast<uint32_t>(number);
      } else if (name == "absolute_offset") {
        absolute = true;
        option.offset = static_cast<int32_t>(number);
      } else {
        relative = true;
        relative_offset = static_cast<int32_t>(number);
      }
    } else {
      size_t stop = i;
      while (stop < value.size() && value[stop] != ',' && !is_space(value[stop])) ++stop;
      return fail("invalid option '" + std::string(value.substr(end - name.size(), stop - end + name.size())) +
                  "' (expected bitstring_overflow, double_overflow, oversize_length N, absolute_offset N or "
                  "relative_offset N, separated by a comma or white space)");
    }
    // The separator: white space or one comma, or the end.
    if (i < value.size()) {
      if (value[i] == ',') {
        ++i;
      } else if (is_space(value[i])) {
        while (i < value.size() && is_space(value[i])) ++i;
        if (i < value.size() && value[i] == ',') {
          return fail("unexpected ',' after white space in '" + std::string(value) +
                      "' (Suricata separates options by a comma or white space, not both in that order)");
        }
      } else {
        return fail("expected ',' or white space after '" + std::string(name) + "' in '" + std::string(value) + "'");
      }
    }
  }
  if (!option.bitstring_overflow && !option.double_overflow && !option.oversize && !absolute && !relative) {
    return fail("no option in '" + std::string(value) + "'");
  }
  // Suricata: absolute_offset wins over relative_offset.
  if (!absolute && relative) {
    option.relative = true;
    option.offset = relative_offset;
  }
  return option;
}

}  // namespace eastwatch::detail

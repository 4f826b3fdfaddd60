// The `tag` keyword: see detail/tag_option.hpp.
#include "signatures/detail/tag_option.hpp"

#include <array>
#include <charconv>

#include "signatures/detail/text.hpp"

namespace eastwatch::detail {

namespace {

tl::expected<uint32_t, std::string> parse_count(std::string_view number) {
  uint32_t parsed = 0;
  const bool digits = !number.empty() && number.find_first_not_of("0123456789") == std::string_view::npos;
  const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), parsed);
  if (!digits || error != std::errc() || end != number.data() + number.size()) {
    return tl::unexpected("tag: invalid count '" + std::string(number) + "' (expected a number from 0 to 4294967295)");
  }
  return parsed;
}

tl::expected<TagOption, std::string> parse_snort3_tag(const std::array<std::string_view, 4>& fields, size_t count) {
  TagOption tag;
  if (fields[0] == "session") {
    tag.scope = TagOption::Scope::Session;
  } else if (fields[0] == "host_src" || fields[0] == "host_dst") {
    tag.scope = TagOption::Scope::Host;
    tag.by_src = fields[0] == "host_src";
  } else {
    return tl::unexpected("tag: invalid type '" + std::string(fields[0]) +
                          "' (expected session, host_src or host_dst with Snort 3's syntax)");
  }
  if (count > 2) {
    return tl::unexpected(std::string("unsupported keyword 'tag' with several limits (not implemented yet: one of "
                                      "packets, seconds or bytes)"));
  }
  const std::string_view limit = fields[1];
  const size_t space = limit.find_first_of(" \t");
  const std::string_view metric = limit.substr(0, space);
  auto number = parse_count(trim(limit.substr(space + 1)));
  if (!number) return tl::unexpected(number.error());
  tag.count = *number;
  if (metric == "packets") {
    tag.metric = TagOption::Metric::Packets;
    if (tag.count > TagOption::kMaxPackets) tag.count = TagOption::kMaxPackets;
  } else if (metric == "seconds") {
    tag.metric = TagOption::Metric::Seconds;
  } else if (metric == "bytes") {
    tag.metric = TagOption::Metric::Bytes;
  } else {
    return tl::unexpected("tag: invalid metric '" + std::string(metric) + "' (expected packets, seconds or bytes)");
  }
  return tag;
}

}  // namespace

tl::expected<TagOption, std::string> parse_tag_option(std::string_view value) {
  if (trim(value).empty()) return tl::unexpected(std::string("tag: missing value"));
  // Up to four comma-separated fields; a fifth is an error.
  std::array<std::string_view, 4> fields{};
  size_t count = 0;
  std::string_view rest = value;
  while (true) {
    const size_t comma = rest.find(',');
    if (count == fields.size()) {
      return tl::unexpected("tag: too many arguments in '" + std::string(trim(value)) +
                            "' (expected session|host[, count, packets|seconds|bytes[, src|dst]])");
    }
    fields[count++] = trim(rest.substr(0, comma));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }

  TagOption tag;
  // Snort 3: `session|host_src|host_dst, packets N|seconds N|bytes N` (one limit: Eastwatch
  // counts as Suricata does, one metric per tag).
  if (count >= 2 && fields[1].find_first_of(" \t") != std::string_view::npos) return parse_snort3_tag(fields, count);
  if (fields[0] == "session") {
    tag.scope = TagOption::Scope::Session;
  } else if (fields[0] == "host") {
    tag.scope = TagOption::Scope::Host;
  } else {
    return tl::unexpected("tag: invalid type '" + std::string(fields[0]) + "' (expected session or host)");
  }
  if (count == 1) return tag;  // 256 packets; a host by the alerting packet's destination

  auto number = parse_count(fields[1]);
  if (!number) return tl::unexpected(number.error());
  tag.count = *number;
  if (count == 2) {
    return tl::unexpected(std::string("tag: missing metric after the count (expected packets, seconds or bytes)"));
  }
  const std::string_view metric = fields[2];
  if (metric == "packets") {
    tag.metric = TagOption::Metric::Packets;
    if (tag.count > TagOption::kMaxPackets) tag.count = TagOption::kMaxPackets;
  } else if (metric == "seconds") {
    tag.metric = TagOption::Metric::Seconds;
  } else if (metric == "bytes") {
    tag.metric = TagOption::Metric::Bytes;
  } else {
    return tl::unexpected("tag: invalid metric '" + std::string(metric) + "' (expected packets, seconds or bytes)");
  }
  if (count == 4) {
    if (fields[3] == "src") {
      tag.by_src = true;
    } else if (fields[3] != "dst") {
      return tl::unexpected("tag: invalid direction '" + std::string(fields[3]) + "' (expected src or dst)");
    }
    if (tag.scope == TagOption::Scope::Session) tag.by_src = false;
  }
  return tag;
}

}  // namespace eastwatch::detail

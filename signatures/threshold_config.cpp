#include "signatures/threshold_config.hpp"

#include <cctype>
#include <charconv>

#include "signatures/detail/header_parser.hpp"
#include "signatures/detail/text.hpp"

namespace eastwatch {

using detail::is_space;
using detail::trim;

namespace {


bool parse_u32(std::string_view text, uint32_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

// Splits "key value, key value" at top-level commas (an ip list [a,b] stays whole).
std::vector<std::pair<std::string_view, std::string_view>> settings_of(std::string_view text) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && text[i] == '[') ++depth;
    if (i < text.size() && text[i] == ']') --depth;
    if (i == text.size() || (text[i] == ',' && depth == 0)) {
      const std::string_view item = trim(text.substr(start, i - start));
      start = i + 1;
      if (item.empty()) continue;
      const size_t space = item.find_first_of(" \t");
      out.emplace_back(item.substr(0, space), space == std::string_view::npos ? std::string_view{} : trim(item.substr(space)));
    }
  }
  return out;
}

}  // namespace

ThresholdConfig parse_threshold_config(std::string_view text, std::string_view file_name,
                                       const RuleVariables& variables) {
  ThresholdConfig config;
  detail::for_each_config_line(text, [&](uint32_t line_number, std::string_view line) {
    auto fail = [&](const std::string& message) {
      config.errors.push_back(RuleError{std::string(file_name), line_number, message});
    };
    const size_t space = line.find_first_of(" \t");
    const std::string_view kind = line.substr(0, space);
    if (kind != "suppress" && kind != "threshold" && kind != "event_filter" && kind != "rate_filter") {
      fail("unknown directive '" + std::string(kind) + "' (expected suppress, threshold, event_filter or rate_filter)");
      return;
    }
    ThresholdConfigEntry entry;
    entry.line = line_number;
    entry.kind = kind == "suppress"      ? ThresholdConfigEntry::Kind::Suppress
                 : kind == "rate_filter" ? ThresholdConfigEntry::Kind::RateFilter
                                         : ThresholdConfigEntry::Kind::Threshold;
    const bool rate = entry.kind == ThresholdConfigEntry::Kind::RateFilter;
    bool has_gid = false, has_sid = false, has_type = false, has_count = false, has_seconds = false, has_track = false;
    bool has_ip = false, has_new_action = false, has_timeout = false;
    std::string error;
    for (const auto& [key, value] : settings_of(space == std::string_view::npos ? std::string_view{} : line.substr(space))) {
      if (key == "gen_id") {
        has_gid = parse_u32(value, entry.gid);
        if (!has_gid) error = "invalid gen_id '" + std::string(value) + "'";
      } else if (key == "sig_id") {
        has_sid = parse_u32(value, entry.sid);
        if (!has_sid) error = "invalid sig_id '" + std::string(value) + "'";
      } else if (key == "track") {
        has_track = true;
        if (entry.kind == ThresholdConfigEntry::Kind::Suppress) {
          if (value == "by_src") entry.suppression.track = Suppression::Track::BySrc;
          else if (value == "by_dst") entry.suppression.track = Suppression::Track::ByDst;
          else if (value == "by_either") entry.suppression.track = Suppression::Track::ByEither;
          else error = "invalid track '" + std::string(value) + "' (expected by_src, by_dst or by_either)";
        } else {
          if (value == "by_src") entry.threshold.track = ThresholdOption::Track::BySrc;
          else if (value == "by_dst") entry.threshold.track = ThresholdOption::Track::ByDst;
          else if (value == "by_rule") entry.threshold.track = ThresholdOption::Track::ByRule;
          else if (value == "by_both") entry.threshold.track = ThresholdOption::Track::ByBoth;
          else error = "invalid track '" + std::string(value) + "' (expected by_src, by_dst, by_rule or by_both)";
        }
      } else if (key == "ip" && entry.kind == ThresholdConfigEntry::Kind::Suppress) {
        auto addresses = detail::parse_address_expression(value, variables);
        if (!addresses) {
          error = "ip: " + addresses.error();
        } else {
          entry.suppression.addresses = std::move(*addresses);
          has_ip = true;
        }
      } else if (key == "new_action" && rate) {
        has_new_action = true;
        using Action = RateFilterOption::NewAction;
        if (value == "alert") entry.rate_filter.new_action = Action::Alert;
        else if (value == "log") entry.rate_filter.new_action = Action::Log;
        else if (value == "drop") entry.rate_filter.new_action = Action::Drop;
        else if (value == "sdrop") entry.rate_filter.new_action = Action::Sdrop;
        else if (value == "pass") entry.rate_filter.new_action = Action::Pass;
        else if (value == "reject") entry.rate_filter.new_action = Action::Reject;
        else error = "invalid new_action '" + std::string(value) + "' (expected alert, log, drop, sdrop, pass or reject)";
      } else if (key == "timeout" && rate) {
        has_timeout = parse_u32(value, entry.rate_filter.timeout);
        if (!has_timeout) error = "invalid timeout '" + std::string(value) + "'";
      } else if (key == "type" && entry.kind == ThresholdConfigEntry::Kind::Threshold) {
        has_type = true;
        if (value == "limit") entry.threshold.type = ThresholdOption::Type::Limit;
        else if (value == "threshold") entry.threshold.type = ThresholdOption::Type::Threshold;
        else if (value == "both") entry.threshold.type = ThresholdOption::Type::Both;
        else error = "invalid type '" + std::string(value) + "' (expected limit, threshold or both)";
      } else if (key == "count" && entry.kind != ThresholdConfigEntry::Kind::Suppress) {
        has_count = parse_u32(value, entry.threshold.count);
        if (!has_count) error = "invalid count '" + std::string(value) + "'";
      } else if (key == "seconds" && entry.kind != ThresholdConfigEntry::Kind::Suppress) {
        has_seconds = parse_u32(value, entry.threshold.seconds);
        if (!has_seconds) error = "invalid seconds '" + std::string(value) + "'";
      } else {
        error = "unknown setting '" + std::string(key) + "' for " + std::string(kind);
      }
      if (!error.empty()) break;
    }
    if (error.empty() && (!has_gid || !has_sid)) error = "gen_id and sig_id are required";
    if (error.empty() && entry.kind == ThresholdConfigEntry::Kind::Threshold &&
        !(has_type && has_track && has_count && has_seconds)) {
      error = std::string(kind) + " needs type, track, count and seconds";
    }
    if (error.empty() && rate && !(has_track && has_count && has_seconds && has_new_action && has_timeout)) {
      error = "rate_filter needs track, count, seconds, new_action and timeout";
    }
    if (rate) {
      entry.rate_filter.track = entry.threshold.track;
      entry.rate_filter.count = entry.threshold.count;
      entry.rate_filter.seconds = entry.threshold.seconds;
    }
    if (error.empty() && entry.kind == ThresholdConfigEntry::Kind::Suppress && has_track != has_ip) {
      error = "suppress with track needs ip, and ip needs track";
    }
    if (!error.empty()) {
      fail(error);
      return;
    }
    config.entries.push_back(std::move(entry));
  });
  return config;
}

std::vector<size_t> apply_threshold_config(const ThresholdConfig& config, std::vector<Rule>& rules) {
  std::vector<size_t> touched;
  for (const auto& entry : config.entries) {
    size_t count = 0;
    for (auto& rule : rules) {
      const bool all = entry.gid == 0 && entry.sid == 0;
      if (!all && (rule.sid != entry.sid || rule.gid != entry.gid)) continue;
      switch (entry.kind) {
        case ThresholdConfigEntry::Kind::Suppress: rule.suppressions.push_back(entry.suppression); break;
        case ThresholdConfigEntry::Kind::Threshold: rule.threshold = entry.threshold; break;
        case ThresholdConfigEntry::Kind::RateFilter: rule.rate_filter = entry.rate_filter; break;
      }
      ++count;
    }
    touched.push_back(count);
  }
  return touched;
}

}  // namespace eastwatch

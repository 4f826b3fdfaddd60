// Packet and flow keywords, with Suricata 7's syntax and semantics:
//  flow: to_server|from_client, to_client|from_server, established, not_established, stateless
//        only_stream, no_stream (only_frag/no_frag: reported as not implemented yet)
//  dsize, ttl, tos, id, ip_proto, itype, icode, icmp_id, icmp_seq, window, seq, ack, fragoffset:
//        integer tests (N, !N, <N, <=N, >N, >=N, N<>M)
//  flags: [+*!]FSRPAUCE012[,ignore]   fragbits: [+*!]MDR   sameip
//  ipopts: rr|eol|nop|ts|sec|esec|lsrr|ssrr|satid|any (several ipopts: all must be present)
//  stream_size: <server|client|both|either>,<modifier>,<number> (modifiers < > = != <= >=)
#include <cctype>
#include <charconv>
#include <utility>

#include "signatures/detail/packet_options.hpp"
#include "signatures/detail/text.hpp"

namespace eastwatch::detail {

namespace {


tl::expected<uint64_t, std::string> parse_number(std::string_view keyword, std::string_view text, uint64_t max) {
  text = trim(text);
  uint64_t value = 0;
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    text.remove_prefix(2);
    base = 16;
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value > max) {
    return tl::unexpected(std::string(keyword) + ": invalid value '" + std::string(text) + "' (expected a number from 0 to " +
                          std::to_string(max) + ")");
  }
  return value;
}

tl::expected<FlowCondition, std::string> parse_flow(std::string_view value) {
  FlowCondition flow;
  bool any = false;
  while (!value.empty()) {
    const size_t comma = value.find(',');
    const std::string_view item = trim(value.substr(0, comma));
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    if (item.empty()) continue;
    any = true;
    if (item == "to_server" || item == "from_client") {
      flow.to_server = true;
    } else if (item == "to_client" || item == "from_server") {
      flow.to_client = true;
    } else if (item == "established") {
      flow.established = true;
    } else if (item == "not_established") {
      flow.not_established = true;
    } else if (item == "stateless") {
      flow.stateless = true;
    } else if (item == "only_stream") {
      flow.only_stream = true;
    } else if (item == "no_stream") {
      flow.no_stream = true;
    } else if (item == "only_frag" || item == "no_frag") {
      return tl::unexpected("unsupported keyword 'flow:" + std::string(item) + "' (not implemented yet)");
    } else {
      return tl::unexpected("flow: unknown option '" + std::string(item) +
                            "' (expected to_server, to_client, from_server, from_client, established, "
                            "not_established or stateless)");
    }
  }
  if (!any) return tl::unexpected(std::string("flow: missing value"));
  if (flow.to_server && flow.to_client) return tl::unexpected(std::string("flow: to_server and to_client cannot both be set"));
  if (flow.only_stream && flow.no_stream) {
    return tl::unexpected(std::string("flow: only_stream and no_stream cannot both be set"));
  }
  if (flow.established && flow.not_established) {
    return tl::unexpected(std::string("flow: established and not_established cannot both be set"));
  }
  return flow;
}

// Letters (and Snort's digits) for TCP flags; 0 means "no flags".
bool tcp_flag_bit(char c, uint8_t& bit) {
  switch (std::toupper(static_cast<unsigned char>(c))) {
    case 'F': bit = 0x01; return true;
    case 'S': bit = 0x02; return true;
    case 'R': bit = 0x04; return true;
    case 'P': bit = 0x08; return true;
    case 'A': bit = 0x10; return true;
    case 'U': bit = 0x20; return true;
    case 'E': case '2': bit = 0x40; return true;
    case 'C': case '1': bit = 0x80; return true;
    case '0': bit = 0; return true;
    default: return false;
  }
}

tl::expected<TcpFlagsTest, std::string> parse_flags(std::string_view value) {
  TcpFlagsTest test;
  const size_t comma = value.find(',');
  const std::string_view main = trim(value.substr(0, comma));
  if (main.empty()) return tl::unexpected(std::string("flags: missing value"));
  bool has_mode = false;
  for (char c : main) {
    uint8_t bit = 0;
    if (c == '+' || c == '*' || c == '!') {
      if (has_mode) return tl::unexpected("flags: more than one modifier in '" + std::string(main) + "'");
      has_mode = true;
      test.mode = c == '+' ? TcpFlagsTest::Mode::All : c == '*' ? TcpFlagsTest::Mode::Any : TcpFlagsTest::Mode::Not;
    } else if (tcp_flag_bit(c, bit)) {
      test.flags |= bit;
    } else {
      return tl::unexpected("flags: invalid flag '" + std::string(1, c) +
                            "' (expected F S R P A U C E 1 2 0 and one of the modifiers + * !)");
    }
  }
  if (comma != std::string_view::npos) {
    for (char c : trim(value.substr(comma + 1))) {
      uint8_t bit = 0;
      if (!tcp_flag_bit(c, bit) || c == '0') {
        return tl::unexpected("flags: invalid flag '" + std::string(1, c) + "' in the ignore mask");
      }
      test.ignore |= bit;
    }
  }
  return test;
}

tl::expected<FragBitsTest, std::string> parse_fragbits(std::string_view value) {
  FragBitsTest test;
  value = trim(value);
  if (value.empty()) return tl::unexpected(std::string("fragbits: missing value"));
  for (char c : value) {
    switch (std::toupper(static_cast<unsigned char>(c))) {
      case 'M': test.bits |= 0x04; break;
      case 'D': test.bits |= 0x02; break;
      case 'R': test.bits |= 0x01; break;
      case '+': test.mode = TcpFlagsTest::Mode::All; break;
      case '*': test.mode = TcpFlagsTest::Mode::Any; break;
      case '!': test.mode = TcpFlagsTest::Mode::Not; break;
      default: return tl::unexpected("fragbits: invalid bit '" + std::string(1, c) + "' (expected M, D, R and + * !)");
    }
  }
  return test;
}

tl::expected<NumericTest, std::string> parse_ip_proto(std::string_view value) {
  value = trim(value);
  std::string_view prefix;
  if (!value.empty() && (value.front() == '!' || value.front() == '<' || value.front() == '>')) {
    prefix = value.substr(0, 1);
    value = trim(value.substr(1));
  }
  static const std::pair<const char*, uint64_t> kNames[] = {{"icmp", 1}, {"igmp", 2}, {"tcp", 6}, {"udp", 17},
                                                            {"ipv6", 41}, {"gre", 47}, {"esp", 50}, {"ah", 51},
                                                            {"ipv6-icmp", 58}, {"icmpv6", 58}, {"pim", 103},
                                                            {"sctp", 132}};
  for (const auto& [name, number] : kNames) {
    if (value == name) return parse_numeric_test("ip_proto", std::string(prefix) + std::to_string(number), 255);
  }
  return parse_numeric_test("ip_proto", std::string(prefix) + std::string(value), 255);
}

// "type limit, track by_src, count 1, seconds 60" (any order); detection_filter has no type.
tl::expected<ThresholdOption, std::string> parse_threshold(std::string_view keyword, std::string_view value) {
  ThresholdOption option;
  const bool filter = keyword == "detection_filter";
  if (filter) option.type = ThresholdOption::Type::DetectionFilter;
  bool has_type = filter, has_track = false, has_count = false, has_seconds = false;
  while (!value.empty()) {
    const size_t comma = value.find(',');
    const std::string_view item = trim(value.substr(0, comma));
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    if (item.empty()) continue;
    const size_t space = item.find_first_of(" \t");
    const std::string_view key = item.substr(0, space);
    const std::string_view arg = space == std::string_view::npos ? std::string_view{} : trim(item.substr(space));
    if (key == "type" && !filter) {
      if (arg == "limit") option.type = ThresholdOption::Type::Limit;
      else if (arg == "threshold") option.type = ThresholdOption::Type::Threshold;
      else if (arg == "both") option.type = ThresholdOption::Type::Both;
      else return tl::unexpected(std::string(keyword) + ": invalid type '" + std::string(arg) + "' (expected limit, threshold or both)");
      has_type = true;
    } else if (key == "track") {
      if (arg == "by_src") option.track = ThresholdOption::Track::BySrc;
      else if (arg == "by_dst") option.track = ThresholdOption::Track::ByDst;
      else if (arg == "by_rule") option.track = ThresholdOption::Track::ByRule;
      else if (arg == "by_both") option.track = ThresholdOption::Track::ByBoth;
      else return tl::unexpected(std::string(keyword) + ": invalid track '" + std::string(arg) + "' (expected by_src, by_dst, by_rule or by_both)");
      has_track = true;
    } else if (key == "count" || key == "seconds") {
      auto number = parse_number(keyword, arg, 4294967295ull);
      if (!number) return tl::unexpected(number.error());
      if (key == "count") {
        option.count = static_cast<uint32_t>(*number);
        has_count = true;
      } else {
        option.seconds = static_cast<uint32_t>(*number);
        has_seconds = true;
      }
    } else {
      return tl::unexpected(std::string(keyword) + ": unknown setting '" + std::string(item) + "' (expected " +
                            (filter ? "track, count, seconds" : "type, track, count, seconds") + ")");
    }
  }
  if (!has_type || !has_track || !has_count || !has_seconds) {
    return tl::unexpected(std::string(keyword) + ": " + (filter ? "track, count and seconds" : "type, track, count and seconds") +
                          " are all required");
  }
  if (option.count == 0 && !filter) return tl::unexpected(std::string(keyword) + ": count must be at least 1");
  return option;
}

tl::expected<FlowbitsOption, std::string> parse_flowbits(std::string_view value) {
  const size_t comma = value.find(',');
  const std::string_view command = trim(value.substr(0, comma));
  FlowbitsOption option;
  if (command == "set") option.command = FlowbitsOption::Command::Set;
  else if (command == "unset") option.command = FlowbitsOption::Command::Unset;
  else if (command == "toggle") option.command = FlowbitsOption::Command::Toggle;
  else if (command == "isset") option.command = FlowbitsOption::Command::IsSet;
  else if (command == "isnotset") option.command = FlowbitsOption::Command::IsNotSet;
  else {
    return tl::unexpected("flowbits: unknown command '" + std::string(command) +
                          "' (expected set, unset, toggle, isset, isnotset or noalert)");
  }
  std::string_view names = comma == std::string_view::npos ? std::string_view{} : trim(value.substr(comma + 1));
  if (names.empty()) return tl::unexpected("flowbits: " + std::string(command) + " needs a flowbit name");
  const bool has_or = names.find('|') != std::string_view::npos;
  const bool has_and = names.find('&') != std::string_view::npos;
  if (has_or && has_and) return tl::unexpected(std::string("flowbits: cannot mix '|' and '&' in one option"));
  if (has_or && !option.is_condition()) {
    return tl::unexpected(std::string("flowbits: '|' only works with isset and isnotset"));
  }
  option.any = has_or;
  const char separator = has_or ? '|' : '&';
  while (!names.empty()) {
    const size_t at = names.find(separator);
    const std::string_view name = trim(names.substr(0, at));
    names = at == std::string_view::npos ? std::string_view{} : names.substr(at + 1);
    if (name.empty() || name.find_first_of(" \t,;") != std::string_view::npos) {
      return tl::unexpected("flowbits: invalid flowbit name '" + std::string(name) + "'");
    }
    option.names.emplace_back(name);
  }
  return option;
}


// `stream_size:<side>,<modifier>,<number>` (Suricata 7's DetectStreamSizeParse).
tl::expected<StreamSizeTest, std::string> parse_stream_size(std::string_view value) {
  const size_t first = value.find(',');
  const size_t second = first == std::string_view::npos ? first : value.find(',', first + 1);
  if (second == std::string_view::npos || value.find(',', second + 1) != std::string_view::npos) {
    return tl::unexpected("stream_size: invalid value '" + std::string(trim(value)) +
                          "' (expected <server|client|both|either>,<modifier>,<number>)");
  }
  StreamSizeTest test;
  const std::string_view side = trim(value.substr(0, first));
  if (side == "server") {
    test.side = StreamSizeTest::Side::Server;
  } else if (side == "client") {
    test.side = StreamSizeTest::Side::Client;
  } else if (side == "both") {
    test.side = StreamSizeTest::Side::Both;
  } else if (side == "either") {
    test.side = StreamSizeTest::Side::Either;
  } else {
    return tl::unexpected("stream_size: invalid side '" + std::string(side) +
                          "' (expected server, client, both or either)");
  }
  using Op = NumericTest::Op;
  static constexpr std::pair<std::string_view, Op> kModifiers[] = {
      {"<", Op::Less}, {">", Op::Greater}, {"=", Op::Equal}, {"!=", Op::NotEqual}, {"<=", Op::LessEqual},
      {">=", Op::GreaterEqual}};
  const std::string_view modifier = trim(value.substr(first + 1, second - first - 1));
  bool known = false;
  for (const auto& [text, op] : kModifiers) {
    if (modifier == text) {
      test.size.op = op;
      known = true;
    }
  }
  if (!known) {
    return tl::unexpected("stream_size: invalid modifier '" + std::string(modifier) +
                          "' (expected <, >, =, !=, <= or >=)");
  }
  auto number = parse_number("stream_size", value.substr(second + 1), 4294967295ull);
  if (!number) return tl::unexpected(number.error());
  test.size.a = *number;
  return test;
}
}  // namespace

tl::expected<NumericTest, std::string> parse_numeric_test(std::string_view keyword, std::string_view value,
                                                          uint64_t max) {
  value = trim(value);
  if (value.empty()) return tl::unexpected(std::string(keyword) + ": missing value");
  NumericTest test;
  const size_t between = value.find("<>");
  if (between != std::string_view::npos) {
    auto low = parse_number(keyword, value.substr(0, between), max);
    auto high = parse_number(keyword, value.substr(between + 2), max);
    if (!low) return tl::unexpected(low.error());
    if (!high) return tl::unexpected(high.error());
    if (*high <= *low) {
      return tl::unexpected(std::string(keyword) + ": invalid range '" + std::string(value) + "' (expected low<>high)");
    }
    test.op = NumericTest::Op::Between;
    test.a = *low;
    test.b = *high;
    return test;
  }
  const size_t dash = value.find('-', 1);
  if (dash != std::string_view::npos && std::isdigit(static_cast<unsigned char>(value.front()))) {
    auto low = parse_number(keyword, value.substr(0, dash), max);
    auto high = parse_number(keyword, value.substr(dash + 1), max);
    if (!low) return tl::unexpected(low.error());
    if (!high) return tl::unexpected(high.error());
    if (*high <= *low) {
      return tl::unexpected(std::string(keyword) + ": invalid range '" + std::string(value) + "' (expected low-high)");
    }
    test.op = NumericTest::Op::Between;
    test.a = *low;
    test.b = *high;
    return test;
  }
  std::string_view number = value;
  if (value.substr(0, 2) == "<=") {
    test.op = NumericTest::Op::LessEqual;
    number = value.substr(2);
  } else if (value.substr(0, 2) == ">=") {
    test.op = NumericTest::Op::GreaterEqual;
    number = value.substr(2);
  } else if (value.front() == '<') {
    test.op = NumericTest::Op::Less;
    number = value.substr(1);
  } else if (value.front() == '>') {
    test.op = NumericTest::Op::Greater;
    number = value.substr(1);
  } else if (value.front() == '!') {
    test.op = NumericTest::Op::NotEqual;
    number = value.substr(1);
  } else if (value.front() == '=') {
    number = value.substr(1);
  }
  auto parsed = parse_number(keyword, number, max);
  if (!parsed) return tl::unexpected(parsed.error());
  test.a = *parsed;
  return test;
}

tl::expected<bool, std::string> parse_flowbits_option(std::string_view value, std::vector<FlowbitsOption>& into,
                                                      bool& noalert) {
  if (trim(value) == "noalert") {
    noalert = true;
    return true;
  }
  auto option = parse_flowbits(value);
  if (!option) return tl::unexpected(option.error());
  into.push_back(std::move(*option));
  return true;
}

tl::expected<bool, std::string> parse_packet_option(std::string_view name, std::string_view value, bool has_value,
                                                    PacketTests& tests, std::optional<ThresholdOption>* threshold) {
  auto numeric = [&](std::optional<NumericTest>& into, uint64_t max) -> tl::expected<bool, std::string> {
    if (into) return tl::unexpected(std::string(name) + ": used twice in one rule");
    if (!has_value) return tl::unexpected(std::string(name) + ": missing value");
    auto test = parse_numeric_test(name, value, max);
    if (!test) return tl::unexpected(test.error());
    into = *test;
    return true;
  };
  if (name == "dsize") return numeric(tests.dsize, 65535);
  if (name == "ttl") return numeric(tests.ttl, 255);
  if (name == "tos") return numeric(tests.tos, 255);
  if (name == "id") return numeric(tests.ip_id, 65535);
  if (name == "itype") return numeric(tests.itype, 255);
  if (name == "icode") return numeric(tests.icode, 255);
  if (name == "icmp_id") return numeric(tests.icmp_id, 65535);
  if (name == "icmp_seq") return numeric(tests.icmp_seq, 65535);
  if (name == "window") return numeric(tests.tcp_window, 65535);
  if (name == "seq") return numeric(tests.tcp_seq, 4294967295ull);
  if (name == "ack") return numeric(tests.tcp_ack, 4294967295ull);
  if (name == "fragoffset") return numeric(tests.fragoffset, 8191);
  if (name == "ip_proto") {
    if (tests.ip_proto) return tl::unexpected(std::string("ip_proto: used twice in one rule"));
    auto test = parse_ip_proto(value);
    if (!test) return tl::unexpected(test.error());
    tests.ip_proto = *test;
    return true;
  }
  if (name == "flow") {
    if (tests.flow) return tl::unexpected(std::string("flow: used twice in one rule"));
    auto flow = parse_flow(value);
    if (!flow) return tl::unexpected(flow.error());
    tests.flow = *flow;
    return true;
  }
  if (name == "flags" || name == "flag") {
    if (tests.flags) return tl::unexpected(std::string("flags: used twice in one rule"));
    auto flags = parse_flags(value);
    if (!flags) return tl::unexpected(flags.error());
    tests.flags = *flags;
    return true;
  }
  if (name == "fragbits") {
    auto bits = parse_fragbits(value);
    if (!bits) return tl::unexpected(bits.error());
    tests.fragbits = *bits;
    return true;
  }
  if (name == "threshold" || name == "detection_filter") {
    if (threshold != nullptr) {
      if (threshold->has_value()) {
        return tl::unexpected(std::string(name) + ": a rule takes one threshold or detection_filter");
      }
      auto option = parse_threshold(name, value);
      if (!option) return tl::unexpected(option.error());
      *threshold = *option;
      return true;
    }
    return false;
  }
  if (name == "stream_size") {
    if (!has_value) return tl::unexpected(std::string("stream_size: missing value"));
    auto test = parse_stream_size(value);
    if (!test) return tl::unexpected(test.error());
    tests.stream_size.push_back(*test);
    return true;
  }
  if (name == "sameip") {
    tests.sameip = true;
    return true;
  }
  if (name == "decode-event") {  // Suricata's decoder event names, with or without "decoder."
    std::string_view event = trim(value);
    if (event.substr(0, 8) == "decoder.") event.remove_prefix(8);
    const auto known = decode_event_from_name(event);
    if (!known) {
      return tl::unexpected("decode-event: unknown event '" + std::string(trim(value)) +
                            "' (expected a decoder event such as ipv4.frag_overlap)");
    }
    tests.decode_events.set(*known);
    return true;
  }
  if (name == "ipopts") {
    // IPv4 option numbers (the type's low five bits), as Suricata's ipopts names them.
    static constexpr std::pair<std::string_view, uint8_t> kOptions[] = {
        {"eol", 0}, {"nop", 1}, {"sec", 2}, {"lsrr", 3}, {"ts", 4}, {"esec", 5}, {"rr", 7}, {"satid", 8}, {"ssrr", 9}};
    const std::string_view option = trim(value);
    uint32_t bit = 0;
    for (const auto& [option_name, number] : kOptions) {
      if (option == option_name) bit = 1u << number;
    }
    if (bit == 0 && option != "any") {
      return tl::unexpected("ipopts: invalid option '" + std::string(option) +
                            "' (expected rr, eol, nop, ts, sec, esec, lsrr, ssrr, satid or any)");
    }
    tests.ipopts = tests.ipopts.value_or(0) | bit;
    return true;
  }
  return false;
}

}  // namespace eastwatch::detail

// Internal: parsing of the keywords that test packet and flow fields (flow, dsize, ttl, flags, ...).
#pragma once

#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "signatures/rule.hpp"

namespace eastwatch::detail {

// Returns true when `name` is a packet keyword (and applies it to `tests`, or to `threshold`
// for threshold/detection_filter), false when it is not one; an error when its value is wrong.
tl::expected<bool, std::string> parse_packet_option(std::string_view name, std::string_view value, bool has_value,
                                                    PacketTests& tests, std::optional<ThresholdOption>* threshold);

// `flowbits:` — appends to `into`, or sets `noalert` for `flowbits:noalert`.
tl::expected<bool, std::string> parse_flowbits_option(std::string_view value, std::vector<FlowbitsOption>& into,
                                                      bool& noalert);

// Suricata's unsigned-integer syntax: N, !N, <N, <=N, >N, >=N, N<>M, N-M; values up to `max`.
tl::expected<NumericTest, std::string> parse_numeric_test(std::string_view keyword, std::string_view value,
                                                          uint64_t max);

}  // namespace eastwatch::detail

namespace eastwatch::detail {
// `xbits:` (signatures/xbits_option.cpp); the FNV-1a id of a bit name.
tl::expected<XbitsOption, std::string> parse_xbits_option(std::string_view value);
uint64_t xbit_id(std::string_view name) noexcept;
}  // namespace eastwatch::detail

// The checks every detection path shares: a rule's header (addresses, ports, direction),
// its application-layer protocol conditions, flowbits and suppressions, and the filling of an
// alert event from a packet. Internal to sensor/detect.
#pragma once

#include <span>

#include "config/settings.hpp"
#include "sensor/decode/packet.hpp"
#include "sensor/detect/alert_event.hpp"
#include "sensor/detect/xbits_table.hpp"
#include "sensor/flow/flow.hpp"
#include "signatures/rule.hpp"

namespace eastwatch::detail {

AppProto flow_app_proto(const Packet& p) noexcept;
// Snort 3 `service:`: the flow was identified as one of the rule's services.
bool service_identified(const Rule& rule, AppProto proto) noexcept;
// The header's application-layer protocol, app-layer-protocol and service conditions.
bool app_layer_matches(const Rule& rule, const Packet& p) noexcept;
bool header_matches(const Rule& rule, const Packet& p) noexcept;
// An alert event from the packet and its flow, without payload or packet bytes.
void fill_packet_fields(AlertEvent& event, const Rule& rule, const Packet& p) noexcept;
// fill_packet_fields, plus the payload / packet copies the EVE settings ask for.
void fill_event(AlertEvent& event, const Rule& rule, const Packet& p, const EveSettings& eve) noexcept;
bool flowbit_conditions_hold(const Rule& rule, const Flow* flow) noexcept;
// set/unset/toggle after a match; returns false if a set did not fit in the flow.
bool apply_flowbit_actions(const Rule& rule, Flow* flow) noexcept;
bool suppressed(const Rule& rule, const Packet& p) noexcept;
// `ftpbounce`: a line of `payload` is an FTP PORT command whose address is not the flow's
// client (Suricata's check, on the rule's payload/stream bytes instead of an FTP parser).
bool ftpbounce_matches(const Packet& p, std::span<const uint8_t> payload) noexcept;
bool ftp_port_bounces(std::span<const uint8_t> line, size_t offset, uint32_t client) noexcept;
// xbits: the isset/isnotset conditions at the packet's time (no table: nothing is set).
bool xbit_conditions_hold(const Rule& rule, const Packet& p, const XbitsTable* table) noexcept;
// set/unset/toggle after a match; returns how many sets found the table full.
uint32_t apply_xbit_actions(const Rule& rule, const Packet& p, XbitsTable* table) noexcept;

}  // namespace eastwatch::detail

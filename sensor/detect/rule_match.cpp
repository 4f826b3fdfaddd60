#include "sensor/detect/rule_match.hpp"

#include <algorithm>
#include <cstring>

namespace eastwatch::detail {

namespace {

bool endpoints_match(const Rule& rule, const IpAddress& src, uint16_t src_port, const IpAddress& dst,
                     uint16_t dst_port, bool has_ports) noexcept {
  if (!rule.src_addresses.contains(src) || !rule.dst_addresses.contains(dst)) return false;
  if (!has_ports) return rule.src_ports.is_any() && rule.dst_ports.is_any();
  return rule.src_ports.contains(src_port) && rule.dst_ports.contains(dst_port);
}

}  // namespace

AppProto flow_app_proto(const Packet& p) noexcept {
  return p.flow != nullptr ? static_cast<AppProto>(p.flow->app_proto) : AppProto::Unknown;
}

// Snort 3 `service:`: the flow was identified as one of the rule's services.
bool service_identified(const Rule& rule, AppProto proto) noexcept {
  if (rule.services.empty() || proto == AppProto::Unknown || proto == AppProto::Failed) return false;
  return std::find(rule.services.begin(), rule.services.end(), static_cast<uint8_t>(proto)) != rule.services.end();
}

// The header's application-layer protocol, app-layer-protocol and service conditions.
bool app_layer_matches(const Rule& rule, const Packet& p) noexcept {
  const AppProto proto = flow_app_proto(p);
  if (rule.app_proto != AppProto::Unknown && proto != rule.app_proto) return false;
  if (rule.app_layer_protocol && (proto == rule.app_layer_protocol->proto) == rule.app_layer_protocol->negated) {
    return false;
  }
  // Identified as a service not in the list: no match. Not identified: the ports decide.
  if (!rule.services.empty() && proto != AppProto::Unknown && proto != AppProto::Failed &&
      !service_identified(rule, proto)) {
    return false;
  }
  return true;
}

bool header_matches(const Rule& rule, const Packet& p) noexcept {
  // Only `ip` rules apply to a packet whose transport header is absent (a non-first fragment).
  if (rule.protocol != RuleProtocol::Ip && !p.has_transport) return false;
  // A flow identified as one of a Snort 3 rule's services meets it whatever its ports.
  if (service_identified(rule, flow_app_proto(p))) {
    if (rule.src_addresses.contains(p.src) && rule.dst_addresses.contains(p.dst)) return true;
    return rule.bidirectional && rule.src_addresses.contains(p.dst) && rule.dst_addresses.contains(p.src);
  }
  const bool has_ports = p.has_transport && (p.ip_proto == 6 || p.ip_proto == 17);
  if (endpoints_match(rule, p.src, p.src_port, p.dst, p.dst_port, has_ports)) return true;
  return rule.bidirectional && endpoints_match(rule, p.dst, p.dst_port, p.src, p.src_port, has_ports);
}

void fill_packet_fields(AlertEvent& event, const Rule& rule, const Packet& p) noexcept {
  event.rule = &rule;
  event.ts_usec = p.ts_usec;
  event.pcap_cnt = p.pcap_cnt;
  event.rebuilt_fragment = p.rebuilt_fragment;
  event.mirror = p.mirror;
  event.src = p.src;
  event.dst = p.dst;
  event.src_port = p.src_port;
  event.dst_port = p.dst_port;
  event.ip_version = p.ip_version;
  event.ip_proto = p.ip_proto;
  event.icmp_type = p.icmp_type;
  event.icmp_code = p.icmp_code;
  event.vlan_count = std::min<uint8_t>(p.vlan_count, 2);
  event.vlan_id[0] = p.vlan_id[0];
  event.vlan_id[1] = p.vlan_id[1];
  event.to_server = p.to_server;
  event.has_tx = false;
  event.link_type = static_cast<uint16_t>(p.link_type);
  const Flow* flow = p.flow;
  event.has_flow = flow != nullptr;
  if (flow != nullptr) {
    event.flow_id = flow->flow_id;
    event.flow_start_usec = flow->start_usec;
    event.pkts_toserver = flow->pkts_toserver;
    event.pkts_toclient = flow->pkts_toclient;
    event.bytes_toserver = flow->bytes_toserver;
    event.bytes_toclient = flow->bytes_toclient;
    event.flow_src = flow->key.client;
    event.flow_dst = flow->key.server;
    event.flow_src_port = flow->key.client_port;
    event.flow_dst_port = flow->key.server_port;
    event.app_proto = flow->app_proto;
  }
  event.payload_len = 0;
  event.packet_len = 0;
}

void fill_event(AlertEvent& event, const Rule& rule, const Packet& p, const EveSettings& eve) noexcept {
  fill_packet_fields(event, rule, p);
  if (eve.alert_payload || eve.alert_payload_printable) {
    event.payload_len = std::min(p.payload_len, AlertEvent::kMaxPayload);
    std::memcpy(event.payload, p.data + p.payload_offset, event.payload_len);
  }
  if (eve.alert_packet) {
    event.packet_len = std::min(p.caplen, AlertEvent::kMaxPacket);
    std::memcpy(event.packet, p.data, event.packet_len);
  }
}

bool flowbit_conditions_hold(const Rule& rule, const Flow* flow) noexcept {
  for (const auto& option : rule.flowbits) {
    if (!option.is_condition()) continue;
    bool any = false;
    bool all = true;
    for (uint16_t id : option.ids) {
      const bool set = flow != nullptr && flow->has_flowbit(id);
      any = any || set;
      all = all && set;
    }
    const bool wanted = option.command == FlowbitsOption::Command::IsSet;
    // isset: all (or, with '|', any) are set. isnotset: none (with '|', not all) is set.
    const bool holds = wanted ? (option.any ? any : all) : (option.any ? !all : !any);
    if (!holds) return false;
  }
  return true;
}

// set/unset/toggle after a match; returns false if a set did not fit in the flow.
bool apply_flowbit_actions(const Rule& rule, Flow* flow) noexcept {
  if (flow == nullptr) return true;
  bool fitted = true;
  for (const auto& option : rule.flowbits) {
    for (uint16_t id : option.ids) {
      switch (option.command) {
        case FlowbitsOption::Command::Set: fitted = flow->set_flowbit(id) && fitted; break;
        case FlowbitsOption::Command::Unset: flow->unset_flowbit(id); break;
        case FlowbitsOption::Command::Toggle:
          if (flow->has_flowbit(id)) {
            flow->unset_flowbit(id);
          } else {
            fitted = flow->set_flowbit(id) && fitted;
          }
          break;
        default: break;
      }
    }
  }
  return fitted;
}

namespace {
XbitsTable::Key xbit_key(const XbitsOption& option, const Packet& p) noexcept {
  switch (option.track) {
    case XbitsOption::Track::IpSrc: return XbitsTable::host_key(option.id, p.src);
    case XbitsOption::Track::IpDst: return XbitsTable::host_key(option.id, p.dst);
    case XbitsOption::Track::IpPair: break;
  }
  return XbitsTable::pair_key(option.id, p.src, p.dst);
}
}  // namespace

bool xbit_conditions_hold(const Rule& rule, const Packet& p, const XbitsTable* table) noexcept {
  for (const auto& option : rule.xbits) {
    if (!option.is_condition()) continue;
    const bool set = table != nullptr && table->is_set(xbit_key(option, p), p.ts_usec);
    if (set != (option.command == XbitsOption::Command::IsSet)) return false;
  }
  return true;
}

uint32_t apply_xbit_actions(const Rule& rule, const Packet& p, XbitsTable* table) noexcept {
  if (table == nullptr) return 0;
  uint32_t full = 0;
  for (const auto& option : rule.xbits) {
    const XbitsTable::Key key = xbit_key(option, p);
    const int64_t until = p.ts_usec + int64_t{option.expire} * 1000000;
    switch (option.command) {
      case XbitsOption::Command::Set: full += table->set(key, until, p.ts_usec) ? 0 : 1; break;
      case XbitsOption::Command::Unset: table->unset(key); break;
      case XbitsOption::Command::Toggle:
        if (table->is_set(key, p.ts_usec)) {
          table->unset(key);
        } else {
          full += table->set(key, until, p.ts_usec) ? 0 : 1;
        }
        break;
      default: break;
    }
  }
  return full;
}

// Suricata's DetectFtpbounceMatchArgs on one PORT line: from `offset` (after "PORT"), skip to
// the first digit, read four comma-separated octets (up to 3 digits each, a value above 256
// fails, spaces before a comma are skipped, any other character fails); a match when that
// address differs from `client`. The port numbers are not read. Fewer than 8 bytes after the
// command: no match.
bool ftp_port_bounces(std::span<const uint8_t> line, size_t offset, uint32_t client) noexcept {
  const size_t n = line.size();
  if (n < 7 || offset + 7 >= n) return false;
  auto digit = [](uint8_t c) { return c >= '0' && c <= '9'; };
  auto space = [](uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; };
  size_t i = offset;
  while (i < n && !digit(line[i])) ++i;
  uint32_t octet = 0, ip = 0;
  int digits = 0, octets = 0;
  for (; i < n && digits < 4; ++i) {
    if (digit(line[i])) {
      octet = octet * 10 + (line[i] - '0');
      ++digits;
      continue;
    }
    if (octet > 256) return false;
    while (i < n && space(line[i])) ++i;
    if (i >= n || line[i] != ',') return false;
    ++octets;
    digits = 0;
    ip = (ip << 8) + octet;
    octet = 0;
    if (octets == 4) return ip != client;
  }
  return false;
}

bool ftpbounce_matches(const Packet& p, std::span<const uint8_t> payload) noexcept {
  const IpAddress& client = p.flow != nullptr ? p.flow->key.client : p.src;
  if (!client.is_v4()) return false;  // Suricata compares the flow's IPv4 source address
  size_t start = 0;
  while (start < payload.size()) {
    size_t end = start;
    while (end < payload.size() && payload[end] != '\n') ++end;
    std::span<const uint8_t> line = payload.subspan(start, end - start);
    if (!line.empty() && line.back() == '\r') line = line.first(line.size() - 1);
    // The command, case-insensitive as Suricata's FTP parser reads it.
    if (line.size() >= 4 && (line[0] | 0x20) == 'p' && (line[1] | 0x20) == 'o' && (line[2] | 0x20) == 'r' &&
        (line[3] | 0x20) == 't' && (line.size() == 4 || line[4] == ' ') && ftp_port_bounces(line, 4, client.v4())) {
      return true;
    }
    start = end + 1;
  }
  return false;
}

bool suppressed(const Rule& rule, const Packet& p) noexcept {
  for (const auto& s : rule.suppressions) {
    switch (s.track) {
      case Suppression::Track::All: return true;
      case Suppression::Track::BySrc:
        if (s.addresses.contains(p.src)) return true;
        break;
      case Suppression::Track::ByDst:
        if (s.addresses.contains(p.dst)) return true;
        break;
      case Suppression::Track::ByEither:
        if (s.addresses.contains(p.src) || s.addresses.contains(p.dst)) return true;
        break;
    }
  }
  return false;
}

}  // namespace eastwatch::detail

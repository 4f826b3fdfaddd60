#include "sensor/output/eve_format.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <utility>

#include <rapidjson/writer.h>

#include "sensor/output/community_id.hpp"

#include "sensor/applayer/app_proto.hpp"

namespace eastwatch {

namespace {

// RapidJSON output stream appending to a std::string (reused between records).
struct StringOutput {
  using Ch = char;
  std::string* out;
  void Put(char c) { out->push_back(c); }
  void Flush() {}
};
using JsonWriter = rapidjson::Writer<StringOutput>;

void write_string(JsonWriter& writer, std::string_view text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}
void write_key(JsonWriter& writer, std::string_view key) {
  writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

std::string address_text(const IpAddress& address) {
  char text[64];
  const size_t length = address.format(text);
  return std::string(text, length);
}

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(const uint8_t* data, size_t length) {
  std::string out;
  out.reserve((length + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < length; i += 3) {
    const uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += kBase64[(v >> 6) & 63];
    out += kBase64[v & 63];
  }
  if (i < length) {
    uint32_t v = uint32_t{data[i]} << 16;
    if (i + 1 < length) v |= uint32_t{data[i + 1]} << 8;
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += (i + 1 < length) ? kBase64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Suricata's payload_printable: printable ASCII, CR and LF kept; everything else as '.'.
std::string printable(const uint8_t* data, size_t length) {
  std::string out(length, '.');
  for (size_t i = 0; i < length; ++i) {
    const uint8_t c = data[i];
    if ((c >= 0x20 && c < 0x7f) || c == '\n' || c == '\r') out[i] = static_cast<char>(c);
  }
  return out;
}

std::string format_time(int64_t ts_usec, const char* date_format, bool with_zone) {
  const time_t seconds = static_cast<time_t>(ts_usec >= 0 ? ts_usec / 1'000'000 : (ts_usec - 999'999) / 1'000'000);
  const long micros = static_cast<long>(ts_usec - int64_t{seconds} * 1'000'000);
  struct tm local {};
  localtime_r(&seconds, &local);
  char date[64];
  const size_t date_length = std::strftime(date, sizeof date, date_format, &local);
  char out[96];
  int length = std::snprintf(out, sizeof out, "%.*s.%06ld", static_cast<int>(date_length), date, micros);
  if (with_zone) length += static_cast<int>(std::strftime(out + length, sizeof out - length, "%z", &local));
  return std::string(out, static_cast<size_t>(length));
}

// Splits "created_at 2010_07_30" into key and value, as Suricata does for alert.metadata.
std::pair<std::string_view, std::string_view> split_metadata(std::string_view entry) {
  const size_t space = entry.find(' ');
  if (space == std::string_view::npos) return {entry, {}};
  std::string_view value = entry.substr(space + 1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  return {entry.substr(0, space), value};
}

void write_metadata(JsonWriter& writer, const std::vector<std::string>& metadata) {
  // Group values by key, keys in first-seen order.
  std::vector<std::pair<std::string_view, std::vector<std::string_view>>> groups;
  for (const auto& entry : metadata) {
    const auto split = split_metadata(entry);
    const std::string_view key = split.first;
    const std::string_view value = split.second;
    if (key.empty()) continue;
    auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == key; });
    if (it == groups.end()) {
      groups.emplace_back(key, std::vector<std::string_view>{});
      it = groups.end() - 1;
    }
    it->second.push_back(value);
  }
  if (groups.empty()) return;
  write_key(writer, "metadata");
  writer.StartObject();
  for (const auto& [key, values] : groups) {
    write_key(writer, key);
    writer.StartArray();
    for (auto value : values) write_string(writer, value);
    writer.EndArray();
  }
  writer.EndObject();
}

// Suricata writes ports for TCP, UDP and SCTP only.
bool carries_ports(uint8_t ip_proto) { return ip_proto == 6 || ip_proto == 17 || ip_proto == 132; }

struct Endpoints {
  const IpAddress& src;
  uint16_t src_port;
  const IpAddress& dst;
  uint16_t dst_port;
  uint8_t ip_proto;
};

void write_vlan(JsonWriter& writer, uint8_t count, const uint16_t* ids) {
  if (count == 0) return;
  write_key(writer, "vlan");
  writer.StartArray();
  for (uint8_t i = 0; i < count && i < 2; ++i) writer.Uint(ids[i]);
  writer.EndArray();
}

// src_ip, src_port, dest_ip, dest_port (ports only where the protocol has them).
void write_addresses(JsonWriter& writer, const Endpoints& e) {
  const bool ports = carries_ports(e.ip_proto);
  write_key(writer, "src_ip");
  write_string(writer, address_text(e.src));
  if (ports) {
    write_key(writer, "src_port");
    writer.Uint(e.src_port);
  }
  write_key(writer, "dest_ip");
  write_string(writer, address_text(e.dst));
  if (ports) {
    write_key(writer, "dest_port");
    writer.Uint(e.dst_port);
  }
}

// The counters an alert's and a flow record's `flow` object share.
void write_flow_counters(JsonWriter& writer, uint64_t pkts_toserver, uint64_t pkts_toclient, uint64_t bytes_toserver,
                         uint64_t bytes_toclient, int64_t start_usec) {
  write_key(writer, "pkts_toserver");
  writer.Uint64(pkts_toserver);
  write_key(writer, "pkts_toclient");
  writer.Uint64(pkts_toclient);
  write_key(writer, "bytes_toserver");
  writer.Uint64(bytes_toserver);
  write_key(writer, "bytes_toclient");
  writer.Uint64(bytes_toclient);
  write_key(writer, "start");
  write_string(writer, format_eve_timestamp(start_usec));
}

// A tree built from dotted counter names, children in first-seen order.
struct CounterNode {
  std::string name;
  uint64_t value = 0;
  bool leaf = false;
  std::vector<CounterNode> children;

  CounterNode& child(std::string_view child_name) {
    for (auto& c : children) {
      if (c.name == child_name) return c;
    }
    children.push_back(CounterNode{std::string(child_name), 0, false, {}});
    return children.back();
  }
};

// A string of bytes off the wire: bytes above 0x7f are taken as Latin-1 (so the record stays
// valid UTF-8); RapidJSON escapes the control characters.
void write_wire_string(JsonWriter& writer, std::string_view bytes) {
  char text[1024];
  size_t n = 0;
  for (const char ch : bytes) {
    const auto c = static_cast<uint8_t>(ch);
    if (n + 2 > sizeof text) break;
    if (c < 0x80) {
      text[n++] = static_cast<char>(c);
    } else {
      text[n++] = static_cast<char>(0xc0 | (c >> 6));
      text[n++] = static_cast<char>(0x80 | (c & 0x3f));
    }
  }
  write_string(writer, std::string_view(text, n));
}

// Suricata's alert `http` object (the flow's latest transaction), fields in Suricata's order.
void write_http(JsonWriter& writer, const HttpEveData& http) {
  write_key(writer, "http");
  writer.StartObject();
  auto text = [&](const char* key, std::string_view value) {
    if (value.empty()) return;
    write_key(writer, key);
    write_wire_string(writer, value);
  };
  text("hostname", http.hostname.view());
  text("url", http.url.view());
  text("http_user_agent", http.http_user_agent.view());
  text("http_content_type", http.http_content_type.view());
  text("http_refer", http.http_refer.view());
  text("http_method", http.http_method.view());
  text("protocol", http.protocol.view());
  if (http.status != 0) {
    write_key(writer, "status");
    writer.Uint(http.status);
  }
  text("redirect", http.redirect.view());
  write_key(writer, "length");
  writer.Uint64(http.length);
  writer.EndObject();
}

// Suricata 7's alert `tls` object (JsonTlsLogJSONExtended): fields in Suricata's order, each
// only when known; `version` always ("UNDETERMINED" before a ServerHello).
void write_tls(JsonWriter& writer, const TlsEveData& tls) {
  write_key(writer, "tls");
  writer.StartObject();
  auto text = [&](const char* key, std::string_view value) {
    if (value.empty()) return;
    write_key(writer, key);
    write_wire_string(writer, value);
  };
  text("subject", tls.subject.view());
  text("issuerdn", tls.issuerdn.view());
  text("serial", tls.serial.view());
  text("fingerprint", tls.fingerprint.view());
  text("sni", tls.sni.view());
  char buffer[24];
  write_key(writer, "version");
  write_string(writer, tls_version_name(tls.version, buffer));
  if (tls.has_validity) {
    write_key(writer, "notbefore");
    write_string(writer, tls_format_time(tls.not_before, buffer));
    write_key(writer, "notafter");
    write_string(writer, tls_format_time(tls.not_after, buffer));
  }
  auto ja3 = [&](const char* key, std::string_view hash, std::string_view string) {
    if (hash.empty()) return;
    write_key(writer, key);
    writer.StartObject();
    text("hash", hash);
    text("string", string);
    writer.EndObject();
  };
  ja3("ja3", tls.ja3_hash.view(), tls.ja3_string.view());
  ja3("ja3s", tls.ja3s_hash.view(), tls.ja3s_string.view());
  writer.EndObject();
}

// Suricata 8's `dns` object (version 3, as in its dns records): the DNS transaction the alert
// is on; queries, and for a response its answers and authorities. rrtype and rcode by
// Suricata's names, else the number.
void write_dns(JsonWriter& writer, const DnsEveData& dns) {
  write_key(writer, "dns");
  writer.StartObject();
  char number[8];
  auto name_or_number = [&](std::string_view name, unsigned value) {
    if (name.empty()) {
      const int n = std::snprintf(number, sizeof number, "%u", value);
      name = std::string_view(number, static_cast<size_t>(n));
    }
    write_string(writer, name);
  };
  write_key(writer, "version");
  writer.Uint(3);
  write_key(writer, "type");
  write_string(writer, dns.request ? "request" : "response");
  write_key(writer, "tx_id");
  writer.Uint64(dns.tx_id);
  write_key(writer, "id");
  writer.Uint(dns.id);
  char flags[8];
  const int n = std::snprintf(flags, sizeof flags, "%x", dns.flags);
  write_key(writer, "flags");
  write_string(writer, std::string_view(flags, static_cast<size_t>(n)));
  constexpr std::pair<const char*, uint16_t> kBits[] = {
      {"qr", 0x8000}, {"aa", 0x0400}, {"tc", 0x0200}, {"rd", 0x0100}, {"ra", 0x0080}, {"z", 0x0040}};
  for (const auto& [key, bit] : kBits) {
    if (!(dns.flags & bit)) continue;
    write_key(writer, key);
    writer.Bool(true);
  }
  write_key(writer, "opcode");
  writer.Uint(dns.opcode);
  write_key(writer, "rcode");
  name_or_number(dns_rcode_name(dns.rcode), dns.rcode);
  if (dns.query_count > 0) {
    write_key(writer, "queries");
    writer.StartArray();
    for (uint32_t i = 0; i < dns.query_count; ++i) {
      writer.StartObject();
      write_key(writer, "rrname");
      write_wire_string(writer, dns.view(dns.queries[i].rrname));
      write_key(writer, "rrtype");
      name_or_number(dns_rrtype_name(dns.queries[i].rrtype), dns.queries[i].rrtype);
      writer.EndObject();
    }
    writer.EndArray();
  }
  for (const bool authorities : {false, true}) {
    bool open = false;
    for (uint32_t i = 0; i < dns.answer_count; ++i) {
      const DnsEveData::Answer& a = dns.answers[i];
      if (a.authority != authorities) continue;
      if (!open) {
        write_key(writer, authorities ? "authorities" : "answers");
        writer.StartArray();
        open = true;
      }
      writer.StartObject();
      write_key(writer, "rrname");
      write_wire_string(writer, dns.view(a.rrname));
      write_key(writer, "rrtype");
      name_or_number(dns_rrtype_name(a.rrtype), a.rrtype);
      write_key(writer, "ttl");
      writer.Uint(a.ttl);
      if (a.has_rdata) {
        write_key(writer, "rdata");
        write_wire_string(writer, dns.view(a.rdata));
      }
      writer.EndObject();
    }
    if (open) writer.EndArray();
  }
  writer.EndObject();
}

void write_community_id(JsonWriter& writer, uint16_t seed, const IpAddress& src, const IpAddress& dst, uint8_t proto,
                        uint16_t src_port, uint16_t dst_port) {
  char text[kCommunityIdLength];
  const size_t n = community_id(seed, src, dst, proto, src_port, dst_port, text);
  write_key(writer, "community_id");
  write_string(writer, std::string_view(text, n));
}

// Suricata's `app_proto`: written once the flow's protocol is known ("failed" included).
// Eastwatch's `vm` object: the inventory VMs of the alert's src and dest (sensor/inventory).
void write_vm(JsonWriter& writer, const VmEveData& vm) {
  write_key(writer, "vm");
  writer.StartObject();
  auto side = [&](const char* key, const VmEveData::Side& s) {
    if (!s.known) return;
    write_key(writer, key);
    writer.StartObject();
    write_key(writer, "name");
    write_string(writer, s.name.view());
    write_key(writer, "host");
    write_string(writer, s.host.view());
    write_key(writer, "zone");
    write_string(writer, s.zone.view());
    if (s.tenant.len > 0) {
      write_key(writer, "tenant");
      write_string(writer, s.tenant.view());
    }
    writer.EndObject();
  };
  side("src", vm.src);
  side("dest", vm.dest);
  write_key(writer, "same_host");
  writer.Bool(vm.same_host);
  write_key(writer, "scope");
  write_string(writer, vm_scope_name(vm.scope));
  writer.EndObject();
}

void write_app_proto(JsonWriter& writer, uint8_t app_proto) {
  const std::string_view name = app_proto_name(static_cast<AppProto>(app_proto));
  if (name.empty()) return;
  write_key(writer, "app_proto");
  write_string(writer, name);
}

// Eastwatch's `mirror` object: how an encapsulated frame reached the sensor (the fields that
// apply to its encapsulation); nothing for a frame captured locally.
void write_mirror(JsonWriter& writer, const MirrorInfo& mirror) {
  if (mirror.encap == MirrorEncap::None) return;
  write_key(writer, "mirror");
  writer.StartObject();
  write_key(writer, "encap");
  write_string(writer, mirror_encap_name(mirror.encap));
  if (mirror.has_session_id()) {
    write_key(writer, "session_id");
    writer.Uint(mirror.session_id);
  }
  if (mirror.has_vni()) {
    write_key(writer, "vni");
    writer.Uint(mirror.vni);
  }
  if (mirror.has_vlan() && (mirror.vlan != 0 || mirror.encap == MirrorEncap::Rspan)) {
    write_key(writer, "vlan");
    writer.Uint(mirror.vlan);
  }
  if (mirror.has_sensor_src()) {
    write_key(writer, "sensor_src");
    write_string(writer, address_text(mirror.sensor_src));
  }
  writer.EndObject();
}

void write_counter_node(JsonWriter& writer, const CounterNode& node) {
  for (const auto& child : node.children) {
    write_key(writer, child.name);
    if (child.leaf) {
      writer.Uint64(child.value);
    } else {
      writer.StartObject();
      write_counter_node(writer, child);
      writer.EndObject();
    }
  }
}

}  // namespace

std::string format_eve_timestamp(int64_t ts_usec) { return format_time(ts_usec, "%Y-%m-%dT%H:%M:%S", true); }
std::string format_fast_timestamp(int64_t ts_usec) { return format_time(ts_usec, "%m/%d/%Y-%H:%M:%S", false); }

std::string_view protocol_name(uint8_t ip_proto) {
  switch (ip_proto) {
    case 1: return "ICMP";
    case 2: return "IGMP";
    case 6: return "TCP";
    case 17: return "UDP";
    case 41: return "IPV6";
    case 47: return "GRE";
    case 50: return "ESP";
    case 51: return "AH";
    case 58: return "IPv6-ICMP";
    case 103: return "PIM";
    case 132: return "SCTP";
    default: break;
  }
  static thread_local char number[4];
  const int length = std::snprintf(number, sizeof number, "%u", ip_proto);
  return std::string_view(number, static_cast<size_t>(length));
}

EveFormatter::EveFormatter(std::string sensor_name, const EveSettings& settings)
    : sensor_name_(std::move(sensor_name)), settings_(settings) {
  line_.reserve(4096);
}

std::string_view EveFormatter::alert(const AlertEvent& event) {
  line_.clear();
  StringOutput output{&line_};
  JsonWriter writer(output);
  const bool is_icmp = event.ip_proto == 1 || event.ip_proto == 58;
  const bool has_ports = carries_ports(event.ip_proto);

  writer.StartObject();
  write_key(writer, "timestamp");
  write_string(writer, format_eve_timestamp(event.ts_usec));
  if (event.has_flow) {
    write_key(writer, "flow_id");
    writer.Uint64(event.flow_id);
  }
  if (event.pcap_cnt != 0) {
    write_key(writer, "pcap_cnt");
    writer.Uint64(event.pcap_cnt);
  }
  write_key(writer, "event_type");
  write_string(writer, "alert");
  write_vlan(writer, event.vlan_count, event.vlan_id);
  write_addresses(writer, Endpoints{event.src, event.src_port, event.dst, event.dst_port, event.ip_proto});
  write_key(writer, "proto");
  write_string(writer, protocol_name(event.ip_proto));
  if (settings_.community_id) {
    // ICMP: type and code stand for the ports (community_id.hpp).
    const bool icmp = event.ip_proto == 1 || event.ip_proto == 58;
    write_community_id(writer, settings_.community_id_seed, event.src, event.dst, event.ip_proto,
                       icmp ? event.icmp_type : event.src_port, icmp ? event.icmp_code : event.dst_port);
  }
  if (is_icmp) {
    write_key(writer, "icmp_type");
    writer.Uint(event.icmp_type);
    write_key(writer, "icmp_code");
    writer.Uint(event.icmp_code);
  }
  if (event.has_tx) {  // the transaction an application-layer rule matched, as Suricata
    write_key(writer, "tx_id");
    writer.Uint64(event.tx_id);
  }
  write_key(writer, "pkt_src");
  write_string(writer, event.rebuilt_fragment ? "defrag" : "wire/pcap");  // Suricata's names
  if (!sensor_name_.empty()) {
    write_key(writer, "host");
    write_string(writer, sensor_name_);
  }
  if (event.has_flow) {
    write_key(writer, "direction");
    write_string(writer, event.to_server ? "to_server" : "to_client");
  }

  const Rule& rule = *event.rule;
  write_key(writer, "alert");
  writer.StartObject();
  write_key(writer, "action");
  write_string(writer, "allowed");
  write_key(writer, "gid");
  writer.Uint(rule.gid);
  write_key(writer, "signature_id");
  writer.Uint(rule.sid);
  write_key(writer, "rev");
  writer.Uint(rule.rev);
  write_key(writer, "signature");
  write_string(writer, rule.msg);
  write_key(writer, "category");
  write_string(writer, rule.category);
  write_key(writer, "severity");
  writer.Int(rule.priority);
  write_metadata(writer, rule.metadata);
  if (settings_.alert_references && !rule.reference_urls.empty()) {
    write_key(writer, "references");
    writer.StartArray();
    for (const auto& url : rule.reference_urls) write_string(writer, url);
    writer.EndArray();
  }
  if (rule.target != Rule::Target::None) {
    // As Suricata: the side named by `target` is the target, the other the source.
    const bool target_is_src = rule.target == Rule::Target::SrcIp;
    auto endpoint = [&](const char* key, const IpAddress& ip, uint16_t port) {
      write_key(writer, key);
      writer.StartObject();
      write_key(writer, "ip");
      write_string(writer, address_text(ip));
      if (has_ports) {
        write_key(writer, "port");
        writer.Uint(port);
      }
      writer.EndObject();
    };
    endpoint("source", target_is_src ? event.dst : event.src, target_is_src ? event.dst_port : event.src_port);
    endpoint("target", target_is_src ? event.src : event.dst, target_is_src ? event.src_port : event.dst_port);
  }
  writer.EndObject();

  if (event.has_http) write_http(writer, event.http);
  if (event.has_tls) write_tls(writer, event.tls);
  if (event.has_dns) write_dns(writer, event.dns);
  if (event.has_vm) write_vm(writer, event.vm);
  write_mirror(writer, event.mirror);
  write_app_proto(writer, event.app_proto);
  if (event.has_flow) {
    write_key(writer, "flow");
    writer.StartObject();
    write_flow_counters(writer, event.pkts_toserver, event.pkts_toclient, event.bytes_toserver, event.bytes_toclient,
                        event.flow_start_usec);
    write_key(writer, "src_ip");
    write_string(writer, address_text(event.flow_src));
    write_key(writer, "dest_ip");
    write_string(writer, address_text(event.flow_dst));
    if (has_ports) {
      write_key(writer, "src_port");
      writer.Uint(event.flow_src_port);
      write_key(writer, "dest_port");
      writer.Uint(event.flow_dst_port);
    }
    writer.EndObject();
  }

  if (event.capture_file[0] != 0) {
    // The packet log holding the packet (outputs.pcap-log): Suricata's capture_file (the
    // file's path) and Eastwatch's pcap_log with the packet's 1-based position in it.
    const std::string_view path(event.capture_file, strnlen(event.capture_file, sizeof event.capture_file));
    write_key(writer, "capture_file");
    write_string(writer, path);
    write_key(writer, "pcap_log");
    writer.StartObject();
    write_key(writer, "file");
    write_string(writer, path.substr(std::min<size_t>(event.capture_file_name, path.size())));
    write_key(writer, "packet");
    writer.Uint(event.pcap_packet);
    writer.EndObject();
  }
  if (settings_.alert_payload) {
    write_key(writer, "payload");
    write_string(writer, base64(event.payload, event.payload_len));
  }
  if (settings_.alert_payload_printable) {
    write_key(writer, "payload_printable");
    write_string(writer, printable(event.payload, event.payload_len));
  }
  if (settings_.alert_payload || settings_.alert_payload_printable) {
    write_key(writer, "stream");
    writer.Uint(0);
  }
  if (settings_.alert_packet) {
    write_key(writer, "packet");
    write_string(writer, base64(event.packet, event.packet_len));
    write_key(writer, "packet_info");
    writer.StartObject();
    write_key(writer, "linktype");
    writer.Uint(event.link_type);
    writer.EndObject();
  }
  writer.EndObject();
  return line_;
}

std::string_view EveFormatter::stats(const StatsSnapshot& snapshot) {
  CounterNode root;
  for (const auto& [name, value] : snapshot.eve) {
    CounterNode* node = &root;
    std::string_view rest = name;
    while (true) {
      const size_t dot = rest.find('.');
      node = &node->child(rest.substr(0, dot));
      if (dot == std::string_view::npos) break;
      rest.remove_prefix(dot + 1);
    }
    node->leaf = true;
    node->value = value;
  }
  line_.clear();
  StringOutput output{&line_};
  JsonWriter writer(output);
  writer.StartObject();
  write_key(writer, "timestamp");
  write_string(writer, format_eve_timestamp(snapshot.ts_usec));
  write_key(writer, "event_type");
  write_string(writer, "stats");
  if (!sensor_name_.empty()) {
    write_key(writer, "host");
    write_string(writer, sensor_name_);
  }
  write_key(writer, "stats");
  writer.StartObject();
  write_key(writer, "uptime");
  writer.Uint64(snapshot.uptime_seconds);
  write_counter_node(writer, root);
  writer.EndObject();
  writer.EndObject();
  return line_;
}

std::string_view EveFormatter::flow(const FlowEvent& event) {
  line_.clear();
  StringOutput output{&line_};
  JsonWriter writer(output);
  writer.StartObject();
  write_key(writer, "timestamp");
  write_string(writer, format_eve_timestamp(event.end_usec));
  write_key(writer, "flow_id");
  writer.Uint64(event.flow_id);
  write_key(writer, "event_type");
  write_string(writer, "flow");
  write_vlan(writer, event.vlan_count, event.vlan_id);
  write_addresses(writer, Endpoints{event.src, event.src_port, event.dst, event.dst_port, event.ip_proto});
  write_key(writer, "proto");
  write_string(writer, protocol_name(event.ip_proto));
  if (settings_.community_id) {
    write_community_id(writer, settings_.community_id_seed, event.src, event.dst, event.ip_proto, event.src_port,
                       event.dst_port);
  }
  if (!sensor_name_.empty()) {
    write_key(writer, "host");
    write_string(writer, sensor_name_);
  }
  write_mirror(writer, event.mirror);
  write_app_proto(writer, event.app_proto);
  write_key(writer, "flow");
  writer.StartObject();
  write_flow_counters(writer, event.pkts_toserver, event.pkts_toclient, event.bytes_toserver, event.bytes_toclient,
                      event.start_usec);
  write_key(writer, "end");
  write_string(writer, format_eve_timestamp(event.end_usec));
  write_key(writer, "age");
  writer.Int64((event.end_usec - event.start_usec) / 1'000'000);
  write_key(writer, "state");
  write_string(writer, event.state == FlowEvent::State::New           ? "new"
                       : event.state == FlowEvent::State::Established ? "established"
                                                                      : "closed");
  write_key(writer, "reason");
  write_string(writer, event.reason == FlowEvent::Reason::Timeout  ? "timeout"
                       : event.reason == FlowEvent::Reason::Forced ? "forced"
                                                                   : "shutdown");
  write_key(writer, "alerted");
  writer.Bool(event.alerted);
  writer.EndObject();
  if (event.ip_proto == 6) {
    // Suricata's tcp object: the flags seen, as hex, per direction and together.
    const uint8_t all = event.tcp_flags_toserver | event.tcp_flags_toclient;
    auto hex = [&](const char* key, uint8_t flags) {
      char text[3];
      std::snprintf(text, sizeof text, "%02x", flags);
      write_key(writer, key);
      write_string(writer, text);
    };
    write_key(writer, "tcp");
    writer.StartObject();
    hex("tcp_flags", all);
    hex("tcp_flags_ts", event.tcp_flags_toserver);
    hex("tcp_flags_tc", event.tcp_flags_toclient);
    const std::pair<const char*, uint8_t> names[] = {{"syn", 0x02}, {"fin", 0x01}, {"rst", 0x04}, {"psh", 0x08},
                                                     {"ack", 0x10}, {"urg", 0x20}, {"ecn", 0x40}, {"cwr", 0x80}};
    for (const auto& [name, bit] : names) {
      if (all & bit) {
        write_key(writer, name);
        writer.Bool(true);
      }
    }
    writer.EndObject();
  }
  writer.EndObject();
  return line_;
}

std::string_view EveFormatter::fast_log_line(const AlertEvent& event) {
  const Rule& rule = *event.rule;
  const bool has_ports = carries_ports(event.ip_proto);
  const bool is_icmp = event.ip_proto == 1 || event.ip_proto == 58;
  const uint16_t src_port = has_ports ? event.src_port : (is_icmp ? event.icmp_type : 0);
  const uint16_t dst_port = has_ports ? event.dst_port : (is_icmp ? event.icmp_code : 0);
  line_ = format_fast_timestamp(event.ts_usec);
  line_ += "  [**] [" + std::to_string(rule.gid) + ":" + std::to_string(rule.sid) + ":" + std::to_string(rule.rev) +
           "] " + rule.msg + " [**] [Classification: " + (rule.category.empty() ? "(null)" : rule.category) +
           "] [Priority: " + std::to_string(rule.priority) + "] {" + std::string(protocol_name(event.ip_proto)) +
           "} " + address_text(event.src) + ":" + std::to_string(src_port) + " -> " + address_text(event.dst) + ":" +
           std::to_string(dst_port);
  return line_;
}

std::string format_stats_log(const StatsSnapshot& snapshot) {
  std::string out;
  const std::string rule(84, '-');
  const uint64_t up = snapshot.uptime_seconds;
  char header[160];
  std::snprintf(header, sizeof header, "Date: %s (uptime: %llud, %02lluh %02llum %02llus)\n",
                format_fast_timestamp(snapshot.ts_usec).c_str(), static_cast<unsigned long long>(up / 86400),
                static_cast<unsigned long long>(up / 3600 % 24), static_cast<unsigned long long>(up / 60 % 60),
                static_cast<unsigned long long>(up % 60));
  out += rule + "\n" + header + rule + "\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-46s| %-26s| %s\n", "Counter", "TM Name", "Value");
  out += line + rule + "\n";
  auto emit = [&](const auto& counters) {
    for (const auto& [name, value] : counters) {
      std::snprintf(line, sizeof line, "%-46s| %-26s| %llu\n", name.c_str(), "Total",
                    static_cast<unsigned long long>(value));
      out += line;
    }
  };
  emit(snapshot.eve);
  emit(snapshot.extra);
  return out;
}

}  // namespace eastwatch

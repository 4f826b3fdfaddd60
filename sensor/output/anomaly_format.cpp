// EveFormatter::anomaly: the EVE `anomaly` record of a decoder, defrag or stream event, with
// Suricata 7's fields in its order (output-json-anomaly.c: CreateEveHeader for the packet, then
// the anomaly object {type, event}, then with packethdr the frame's first bytes and packet_info).
#include <algorithm>

#include <rapidjson/writer.h>

#include "sensor/output/eve_format.hpp"

namespace eastwatch {

namespace {

struct AnomalyOutput {
  using Ch = char;
  std::string* out;
  void Put(char c) { out->push_back(c); }
  void Flush() {}
};
using AnomalyWriter = rapidjson::Writer<AnomalyOutput>;

void put_key(AnomalyWriter& writer, std::string_view key) {
  writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}
void put_string(AnomalyWriter& writer, std::string_view text) {
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}
void put_address(AnomalyWriter& writer, std::string_view key, const IpAddress& address) {
  char text[64];
  const size_t length = address.format(text);
  put_key(writer, key);
  put_string(writer, std::string_view(text, length));
}

void put_base64(AnomalyWriter& writer, const uint8_t* data, size_t length) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char out[(AnomalyEvent::kPacketHeader + 2) / 3 * 4];
  size_t n = 0;
  for (size_t i = 0; i < length && n + 4 <= sizeof out; i += 3) {
    const uint32_t v = (uint32_t{data[i]} << 16) | (i + 1 < length ? uint32_t{data[i + 1]} << 8 : 0) |
                       (i + 2 < length ? uint32_t{data[i + 2]} : 0);
    out[n++] = kAlphabet[(v >> 18) & 63];
    out[n++] = kAlphabet[(v >> 12) & 63];
    out[n++] = i + 1 < length ? kAlphabet[(v >> 6) & 63] : '=';
    out[n++] = i + 2 < length ? kAlphabet[v & 63] : '=';
  }
  put_string(writer, std::string_view(out, n));
}

void put_mirror(AnomalyWriter& writer, const MirrorInfo& mirror) {
  if (mirror.encap == MirrorEncap::None) return;
  put_key(writer, "mirror");
  writer.StartObject();
  put_key(writer, "encap");
  put_string(writer, mirror_encap_name(mirror.encap));
  if (mirror.has_session_id()) {
    put_key(writer, "session_id");
    writer.Uint(mirror.session_id);
  }
  if (mirror.has_vni()) {
    put_key(writer, "vni");
    writer.Uint(mirror.vni);
  }
  if (mirror.has_vlan() && (mirror.vlan != 0 || mirror.encap == MirrorEncap::Rspan)) {
    put_key(writer, "vlan");
    writer.Uint(mirror.vlan);
  }
  if (mirror.has_sensor_src()) put_address(writer, "sensor_src", mirror.sensor_src);
  writer.EndObject();
}

}  // namespace

std::string_view EveFormatter::anomaly(const AnomalyEvent& event) {
  line_.clear();
  AnomalyOutput output{&line_};
  AnomalyWriter writer(output);
  writer.StartObject();
  put_key(writer, "timestamp");
  put_string(writer, format_eve_timestamp(event.ts_usec));
  if (event.has_flow) {
    put_key(writer, "flow_id");
    writer.Uint64(event.flow_id);
  }
  if (event.pcap_cnt != 0) {
    put_key(writer, "pcap_cnt");
    writer.Uint64(event.pcap_cnt);
  }
  put_key(writer, "event_type");
  put_string(writer, "anomaly");
  if (event.vlan_count > 0) {
    put_key(writer, "vlan");
    writer.StartArray();
    for (uint8_t i = 0; i < event.vlan_count && i < 2; ++i) writer.Uint(event.vlan_id[i]);
    writer.EndArray();
  }
  if (event.has_ip) {
    // As Suricata: ports for TCP, UDP and SCTP (0 when that header did not decode).
    const bool ports = event.ip_proto == 6 || event.ip_proto == 17 || event.ip_proto == 132;
    put_address(writer, "src_ip", event.src);
    if (ports) {
      put_key(writer, "src_port");
      writer.Uint(event.src_port);
    }
    put_address(writer, "dest_ip", event.dst);
    if (ports) {
      put_key(writer, "dest_port");
      writer.Uint(event.dst_port);
    }
    put_key(writer, "proto");
    put_string(writer, protocol_name(event.ip_proto));
    if (event.has_icmp) {
      put_key(writer, "icmp_type");
      writer.Uint(event.icmp_type);
      put_key(writer, "icmp_code");
      writer.Uint(event.icmp_code);
    }
  }
  put_key(writer, "pkt_src");
  put_string(writer, event.rebuilt_fragment ? "defrag" : "wire/pcap");
  if (!sensor_name_.empty()) {
    put_key(writer, "host");
    put_string(writer, sensor_name_);
  }
  put_mirror(writer, event.mirror);
  put_key(writer, "anomaly");
  writer.StartObject();
  put_key(writer, "type");
  put_string(writer, event.type == AnomalyEvent::Type::Stream ? "stream" : "decode");
  put_key(writer, "event");
  put_string(writer, event.event);
  writer.EndObject();
  if (event.packet_len > 0) {
    put_key(writer, "packet");
    put_base64(writer, event.packet, std::min<size_t>(event.packet_len, AnomalyEvent::kPacketHeader));
    put_key(writer, "packet_info");
    writer.StartObject();
    put_key(writer, "linktype");
    writer.Uint(event.link_type);
    writer.EndObject();
  }
  writer.EndObject();
  return line_;
}

}  // namespace eastwatch

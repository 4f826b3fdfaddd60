// An alert event: everything an output needs to write one EVE alert record, copied out
// of the worker so that nothing of the worker's state is needed once it is queued.
// `rule` points into the CompiledRuleSet snapshot, which outlives every event made from it.
#pragma once

#include <cstdint>

#include "sensor/applayer/dns_eve_data.hpp"
#include "sensor/applayer/http_eve_data.hpp"
#include "sensor/applayer/tls_eve_data.hpp"
#include "sensor/decode/mirror.hpp"
#include "sensor/inventory/vm_eve_data.hpp"
#include "signatures/address.hpp"
#include "signatures/rule.hpp"

namespace eastwatch {

struct AlertEvent {
  static constexpr uint32_t kMaxPayload = 2048;  // bytes of payload kept for `payload` output
  static constexpr uint32_t kMaxPacket = 2048;   // bytes of frame kept for `packet` output

  const Rule* rule = nullptr;
  int64_t ts_usec = 0;
  uint64_t pcap_cnt = 0;

  // The packet.
  IpAddress src;
  IpAddress dst;
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t ip_version = 0;
  uint8_t ip_proto = 0;
  uint8_t icmp_type = 0;
  uint8_t icmp_code = 0;
  uint8_t vlan_count = 0;
  uint16_t vlan_id[2] = {0, 0};
  bool to_server = true;
  bool rebuilt_fragment = false;  // the packet was a datagram rebuilt by defrag
  MirrorInfo mirror;  // the packet's mirror encapsulation (EVE `mirror`); encap None: captured locally

  // The flow, when the packet had one.
  bool has_flow = false;
  uint64_t flow_id = 0;
  int64_t flow_start_usec = 0;
  uint64_t pkts_toserver = 0;
  uint64_t pkts_toclient = 0;
  uint64_t bytes_toserver = 0;
  uint64_t bytes_toclient = 0;
  IpAddress flow_src;  // the flow's client
  IpAddress flow_dst;
  uint16_t flow_src_port = 0;
  uint16_t flow_dst_port = 0;
  uint8_t app_proto = 0;  // the flow's AppProto (sensor/applayer/app_proto.hpp); 0: unknown
  bool has_tx = false;    // an application-layer rule matched transaction tx_id (EVE `tx_id`)
  uint64_t tx_id = 0;
  bool has_http = false;  // `http` holds the flow's latest HTTP transaction (EVE `http` object)
  HttpEveData http;
  bool has_tls = false;  // `tls` holds the flow's TLS handshake facts (EVE `tls` object)
  TlsEveData tls;
  bool has_dns = false;  // `dns` holds the packet's DNS transaction (the matched one; EVE `dns` object)
  DnsEveData dns;
  bool has_vm = false;  // `vm` names the inventory VMs of src and dest (EVE `vm` object)
  VmEveData vm;

  // Packet logging (outputs.pcap-log): the pcap file holding the alerting packet (its path:
  // EVE capture_file) and the packet's 1-based position there; capture_file[0] == 0: not logged.
  static constexpr uint32_t kMaxCaptureFile = 256;
  uint32_t capture_file_name = 0;  // offset of the file's name in capture_file
  uint32_t pcap_packet = 0;
  char capture_file[kMaxCaptureFile] = {};

  // Optional evidence (filled only when the EVE settings ask for it).
  uint32_t payload_len = 0;  // bytes in `payload` (truncated to kMaxPayload)
  uint32_t packet_len = 0;
  uint16_t link_type = 1;  // libpcap DLT of `packet` (EVE packet_info.linktype)
  uint8_t payload[kMaxPayload];
  uint8_t packet[kMaxPacket];
};

}  // namespace eastwatch

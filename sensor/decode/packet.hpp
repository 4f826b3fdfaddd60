// The packet view: a captured frame plus what the decoders found in it, as offsets and
// small scalar fields. It never owns the frame bytes (they belong to the capture buffer)
// and holds no heap memory, so a worker can keep a burst of them on its stack.
#pragma once

#include <cstdint>
#include <span>

#include "sensor/decode/mirror.hpp"
#include "signatures/address.hpp"
#include "signatures/decode_events.hpp"

namespace eastwatch {

struct Flow;

// libpcap link types the decoders accept.
enum class LinkType : uint16_t { Ethernet = 1, Raw = 101, LinuxSll = 113, Null = 0, Ipv4 = 228, Ipv6 = 229 };

namespace tcp_flag {
inline constexpr uint8_t Fin = 0x01, Syn = 0x02, Rst = 0x04, Psh = 0x08, Ack = 0x10, Urg = 0x20, Ece = 0x40, Cwr = 0x80;
}

struct Packet {
  // --- the frame, set by capture ---
  const uint8_t* data = nullptr;
  uint32_t caplen = 0;   // bytes present in `data`
  uint32_t wirelen = 0;  // bytes on the wire
  int64_t ts_usec = 0;   // microseconds since the epoch
  uint64_t pcap_cnt = 0;  // 1-based position in the capture (EVE `pcap_cnt`)
  LinkType link_type = LinkType::Ethernet;

  // --- set by decode ---
  bool decoded = false;  // false: malformed, counted in stats.decoder.invalid
  uint8_t vlan_count = 0;
  uint16_t vlan_id[2] = {0, 0};
  uint16_t ether_type = 0;  // innermost
  // The innermost Ethernet header (the mirrored frame's, inside an encapsulation): its
  // offset in `data`; has_ethernet false when the frame (or the encapsulated one) has none.
  bool has_ethernet = false;
  uint32_t l2_offset = 0;
  uint32_t l3_offset = 0;
  uint32_t l4_offset = 0;
  uint32_t payload_offset = 0;
  uint32_t payload_len = 0;

  uint8_t ip_version = 0;  // 0 (not IP), 4 or 6
  uint8_t ip_proto = 0;    // transport protocol after IPv6 extension headers
  uint8_t ip_ttl = 0;      // TTL / hop limit
  uint8_t ip_tos = 0;      // TOS / traffic class
  uint16_t ip_id = 0;
  bool ip_fragment = false;      // a fragment (IPv4 MF/offset or IPv6 fragment header)
  uint8_t ip_frag_bits = 0;      // IPv4 flags: 0x04 MF, 0x02 DF, 0x01 reserved
  uint16_t ip_frag_offset = 0;   // in 8-byte units
  uint32_t ip_options = 0;       // IPv4 options present: bit n for option number n (type & 0x1f)
  bool ip_checksum_bad = false;  // counted, never enforced (offload)
  IpAddress src;
  IpAddress dst;

  bool has_transport = false;  // a TCP/UDP/ICMP header was decoded (not for non-first fragments)
  uint16_t src_port = 0;  // TCP/UDP ports; for ICMP: 0
  uint16_t dst_port = 0;
  uint8_t tcp_flags = 0;
  uint32_t tcp_seq = 0;
  uint32_t tcp_ack = 0;
  uint16_t tcp_window = 0;
  uint8_t icmp_type = 0;  // ICMPv4 or ICMPv6
  uint8_t icmp_code = 0;
  uint16_t icmp_id = 0;   // bytes 4-5 of the ICMP header (echo and similar messages)
  uint16_t icmp_seq = 0;  // bytes 6-7
  bool l4_checksum_bad = false;
  DecodeEventSet events;  // decoder and defrag anomalies raised on this packet (`decode-event:`)
  bool rebuilt_fragment = false;  // a datagram defrag rebuilt from fragments (EVE pkt_src "defrag")
  // Mirror encapsulation (ERSPAN, GRE, VXLAN, Geneve, RSPAN): the outermost one's metadata;
  // every field above then describes the inner, mirrored frame (offsets into it), as if it
  // had been captured locally. encap None: captured locally (SPAN).
  MirrorInfo mirror;

  // --- set by the thread that decoded it, when that is not the worker (decode-ahead) ---
  // FlowTable::hash of the packet, computed off the worker's thread so that the worker can
  // prefetch the flow's slot a few packets ahead; flow_hash_set false: not computed.
  bool flow_hash_set = false;
  uint64_t flow_hash = 0;

  // --- set by flow ---
  Flow* flow = nullptr;
  bool to_server = true;
  bool flow_established = false;  // the flow had completed its handshake (TCP) / both sides spoke

  std::span<const uint8_t> payload() const noexcept { return {data + payload_offset, payload_len}; }
  std::span<const uint8_t> frame() const noexcept { return {data, caplen}; }
  bool is_tcp() const noexcept { return ip_version != 0 && ip_proto == 6; }
  bool is_udp() const noexcept { return ip_version != 0 && ip_proto == 17; }
  bool is_icmp() const noexcept { return ip_version != 0 && (ip_proto == 1 || ip_proto == 58); }

  // Clears everything decode and flow set; keeps the frame fields.
  void reset_decode() noexcept;
};

}  // namespace eastwatch

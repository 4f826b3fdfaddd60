// Decoder counters. `visit` names match Suricata's EVE schema (stats.decoder.*), so the
// stats record validates; checksum failures, which Suricata does not count there, are in
// `visit_extra` (stats.log only).
#pragma once

#include <cstdint>

namespace eastwatch {

struct DecodeStats {
  uint64_t pkts = 0;
  uint64_t bytes = 0;
  uint64_t invalid = 0;  // packets that failed decoding
  uint64_t ethernet = 0;
  uint64_t raw = 0;
  uint64_t null = 0;
  uint64_t sll = 0;
  uint64_t vlan = 0;
  uint64_t vlan_qinq = 0;
  uint64_t vlan_qinqinq = 0;
  uint64_t arp = 0;
  uint64_t ipv4 = 0;
  uint64_t ipv6 = 0;
  uint64_t tcp = 0;
  uint64_t udp = 0;
  uint64_t icmpv4 = 0;
  uint64_t icmpv6 = 0;
  uint64_t unknown_ethertype = 0;
  uint64_t too_many_layers = 0;
  uint64_t max_pkt_size = 0;
  uint64_t gre = 0;     // GRE headers decoded (mirror encapsulations)
  uint64_t erspan = 0;  // ERSPAN type I, II and III
  uint64_t vxlan = 0;
  uint64_t geneve = 0;

  struct Events {
    uint64_t ethernet_pkt_too_small = 0;
    uint64_t vlan_header_too_small = 0;
    uint64_t vlan_too_many_layers = 0;
    uint64_t arp_pkt_too_small = 0;
    uint64_t arp_unsupported_hardware = 0;
    uint64_t arp_unsupported_protocol = 0;
    uint64_t arp_invalid_hardware_size = 0;
    uint64_t arp_invalid_protocol_size = 0;
    uint64_t arp_unsupported_opcode = 0;
    uint64_t ipv4_pkt_too_small = 0;
    uint64_t ipv4_hlen_too_small = 0;
    uint64_t ipv4_iplen_smaller_than_hlen = 0;
    uint64_t ipv4_trunc_pkt = 0;
    uint64_t ipv4_wrong_ip_version = 0;
    uint64_t ipv4_opt_invalid_len = 0;
    uint64_t ipv4_opt_malformed = 0;
    uint64_t ipv4_opt_duplicate = 0;
    uint64_t ipv4_opt_unknown = 0;
    uint64_t ipv4_icmpv6 = 0;
    uint64_t ipv6_pkt_too_small = 0;
    uint64_t ipv6_trunc_pkt = 0;
    uint64_t ipv6_trunc_exthdr = 0;
    uint64_t ipv6_wrong_ip_version = 0;
    uint64_t ipv6_exthdr_dupl_hh = 0;
    uint64_t ipv6_exthdr_dupl_rh = 0;
    uint64_t ipv6_exthdr_dupl_fh = 0;
    uint64_t ipv6_exthdr_dupl_dh = 0;
    uint64_t ipv6_exthdr_dupl_ah = 0;
    uint64_t ipv6_fh_non_zero_reserved_field = 0;
    uint64_t ipv6_rh_type_0 = 0;
    uint64_t ipv6_icmpv4 = 0;
    uint64_t ipv6_data_after_none_header = 0;
    uint64_t tcp_pkt_too_small = 0;
    uint64_t tcp_hlen_too_small = 0;
    uint64_t tcp_invalid_optlen = 0;
    uint64_t tcp_opt_invalid_len = 0;
    uint64_t tcp_opt_duplicate = 0;
    uint64_t udp_pkt_too_small = 0;
    uint64_t udp_hlen_too_small = 0;
    uint64_t udp_hlen_invalid = 0;
    uint64_t icmpv4_pkt_too_small = 0;
    uint64_t icmpv4_unknown_type = 0;
    uint64_t icmpv6_pkt_too_small = 0;
    uint64_t icmpv6_unknown_type = 0;
    uint64_t ltnull_pkt_too_small = 0;
    uint64_t ltnull_unsupported_type = 0;
    uint64_t sll_pkt_too_small = 0;
    uint64_t ipraw_invalid_ip_version = 0;
    // raised by the defragmenter (sensor/defrag)
    uint64_t ipv4_frag_pkt_too_large = 0;
    uint64_t ipv6_frag_pkt_too_large = 0;
    uint64_t ipv4_frag_overlap = 0;
    uint64_t ipv6_frag_overlap = 0;
    uint64_t ipv4_frag_ignored = 0;
    uint64_t ipv6_frag_ignored = 0;
    uint64_t ipv6_frag_invalid_length = 0;
    // mirror encapsulations
    uint64_t gre_pkt_too_small = 0;
    uint64_t gre_wrong_version = 0;
    uint64_t gre_version0_recur = 0;
    uint64_t gre_version0_flags = 0;
    uint64_t gre_version0_hdr_too_big = 0;
    uint64_t gre_version0_malformed_sre_hdr = 0;
    uint64_t erspan_header_too_small = 0;
    uint64_t erspan_unsupported_version = 0;
    uint64_t vxlan_unknown_payload_type = 0;
    uint64_t geneve_unknown_payload_type = 0;
  } event;

  // Eastwatch's own mirror counters (stats.log only).
  struct Mirror {
    uint64_t rspan = 0;               // frames taken off an RSPAN VLAN
    uint64_t outer_fragmented = 0;    // first fragments of outer datagrams carrying GRE/VXLAN/Geneve: decoded once rebuilt
    uint64_t erspan1_disabled = 0;    // GRE 0x88BE without a sequence number while decoder.erspan.typeI is off: not decoded
    uint64_t erspan3_not_ethernet = 0;  // ERSPAN III frame type other than Ethernet: not decoded
  } mirror;

  struct Checksums {
    uint64_t ipv4_bad = 0;
    uint64_t tcp_bad = 0;
    uint64_t udp_bad = 0;
    uint64_t icmpv4_bad = 0;
    uint64_t icmpv6_bad = 0;
  } checksum;

  template <class F>
  void visit(F&& f) const {
    f("pkts", pkts); f("bytes", bytes); f("invalid", invalid); f("ipv4", ipv4); f("ipv6", ipv6);
    f("ethernet", ethernet); f("arp", arp); f("unknown_ethertype", unknown_ethertype); f("raw", raw);
    f("null", null); f("sll", sll); f("tcp", tcp); f("udp", udp); f("icmpv4", icmpv4); f("icmpv6", icmpv6);
    f("vlan", vlan); f("vlan_qinq", vlan_qinq); f("vlan_qinqinq", vlan_qinqinq); f("too_many_layers", too_many_layers);
    f("avg_pkt_size", pkts ? bytes / pkts : 0); f("max_pkt_size", max_pkt_size);
    f("gre", gre); f("erspan", erspan); f("vxlan", vxlan); f("geneve", geneve);
    const Events& e = event;
    f("event.ethernet.pkt_too_small", e.ethernet_pkt_too_small);
    f("event.vlan.header_too_small", e.vlan_header_too_small);
    f("event.vlan.too_many_layers", e.vlan_too_many_layers);
    f("event.arp.pkt_too_small", e.arp_pkt_too_small);
    f("event.arp.unsupported_hardware", e.arp_unsupported_hardware);
    f("event.arp.unsupported_protocol", e.arp_unsupported_protocol);
    f("event.arp.invalid_hardware_size", e.arp_invalid_hardware_size);
    f("event.arp.invalid_protocol_size", e.arp_invalid_protocol_size);
    f("event.arp.unsupported_opcode", e.arp_unsupported_opcode);
    f("event.ipv4.pkt_too_small", e.ipv4_pkt_too_small);
    f("event.ipv4.hlen_too_small", e.ipv4_hlen_too_small);
    f("event.ipv4.iplen_smaller_than_hlen", e.ipv4_iplen_smaller_than_hlen);
    f("event.ipv4.trunc_pkt", e.ipv4_trunc_pkt);
    f("event.ipv4.wrong_ip_version", e.ipv4_wrong_ip_version);
    f("event.ipv4.opt_invalid_len", e.ipv4_opt_invalid_len);
    f("event.ipv4.opt_malformed", e.ipv4_opt_malformed);
    f("event.ipv4.opt_duplicate", e.ipv4_opt_duplicate);
    f("event.ipv4.opt_unknown", e.ipv4_opt_unknown);
    f("event.ipv4.icmpv6", e.ipv4_icmpv6);
    f("event.ipv6.pkt_too_small", e.ipv6_pkt_too_small);
    f("event.ipv6.trunc_pkt", e.ipv6_trunc_pkt);
    f("event.ipv6.trunc_exthdr", e.ipv6_trunc_exthdr);
    f("event.ipv6.wrong_ip_version", e.ipv6_wrong_ip_version);
    f("event.ipv6.exthdr_dupl_hh", e.ipv6_exthdr_dupl_hh);
    f("event.ipv6.exthdr_dupl_rh", e.ipv6_exthdr_dupl_rh);
    f("event.ipv6.exthdr_dupl_fh", e.ipv6_exthdr_dupl_fh);
    f("event.ipv6.exthdr_dupl_dh", e.ipv6_exthdr_dupl_dh);
    f("event.ipv6.exthdr_dupl_ah", e.ipv6_exthdr_dupl_ah);
    f("event.ipv6.fh_non_zero_reserved_field", e.ipv6_fh_non_zero_reserved_field);
    f("event.ipv6.rh_type_0", e.ipv6_rh_type_0);
    f("event.ipv6.icmpv4", e.ipv6_icmpv4);
    f("event.ipv6.data_after_none_header", e.ipv6_data_after_none_header);
    f("event.tcp.pkt_too_small", e.tcp_pkt_too_small);
    f("event.tcp.hlen_too_small", e.tcp_hlen_too_small);
    f("event.tcp.invalid_optlen", e.tcp_invalid_optlen);
    f("event.tcp.opt_invalid_len", e.tcp_opt_invalid_len);
    f("event.tcp.opt_duplicate", e.tcp_opt_duplicate);
    f("event.udp.pkt_too_small", e.udp_pkt_too_small);
    f("event.udp.hlen_too_small", e.udp_hlen_too_small);
    f("event.udp.hlen_invalid", e.udp_hlen_invalid);
    f("event.icmpv4.pkt_too_small", e.icmpv4_pkt_too_small);
    f("event.icmpv4.unknown_type", e.icmpv4_unknown_type);
    f("event.icmpv6.pkt_too_small", e.icmpv6_pkt_too_small);
    f("event.icmpv6.unknown_type", e.icmpv6_unknown_type);
    f("event.ltnull.pkt_too_small", e.ltnull_pkt_too_small);
    f("event.ltnull.unsupported_type", e.ltnull_unsupported_type);
    f("event.sll.pkt_too_small", e.sll_pkt_too_small);
    f("event.ipraw.invalid_ip_version", e.ipraw_invalid_ip_version);
    f("event.ipv4.frag_pkt_too_large", e.ipv4_frag_pkt_too_large);
    f("event.ipv6.frag_pkt_too_large", e.ipv6_frag_pkt_too_large);
    f("event.ipv4.frag_overlap", e.ipv4_frag_overlap);
    f("event.ipv6.frag_overlap", e.ipv6_frag_overlap);
    f("event.ipv4.frag_ignored", e.ipv4_frag_ignored);
    f("event.ipv6.frag_ignored", e.ipv6_frag_ignored);
    f("event.ipv6.frag_invalid_length", e.ipv6_frag_invalid_length);
    f("event.gre.pkt_too_small", e.gre_pkt_too_small);
    f("event.gre.wrong_version", e.gre_wrong_version);
    f("event.gre.version0_recur", e.gre_version0_recur);
    f("event.gre.version0_flags", e.gre_version0_flags);
    f("event.gre.version0_hdr_too_big", e.gre_version0_hdr_too_big);
    f("event.gre.version0_malformed_sre_hdr", e.gre_version0_malformed_sre_hdr);
    f("event.erspan.header_too_small", e.erspan_header_too_small);
    f("event.erspan.unsupported_version", e.erspan_unsupported_version);
    f("event.vxlan.unknown_payload_type", e.vxlan_unknown_payload_type);
    f("event.geneve.unknown_payload_type", e.geneve_unknown_payload_type);
  }

  template <class F>
  void visit_extra(F&& f) const {
    f("checksum.ipv4_bad", checksum.ipv4_bad); f("checksum.tcp_bad", checksum.tcp_bad);
    f("checksum.udp_bad", checksum.udp_bad); f("checksum.icmpv4_bad", checksum.icmpv4_bad);
    f("checksum.icmpv6_bad", checksum.icmpv6_bad);
    f("mirror.rspan", mirror.rspan); f("mirror.outer_fragmented", mirror.outer_fragmented);
    f("mirror.erspan1_disabled", mirror.erspan1_disabled);
    f("mirror.erspan3_not_ethernet", mirror.erspan3_not_ethernet);
  }
};

}  // namespace eastwatch

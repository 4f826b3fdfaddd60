#include "sensor/defrag/defragmenter.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include <catch2/catch.hpp>

#include "tests/unit/defrag/fragment_builder.hpp"
#include "tests/unit/support/resident_memory.hpp"

using namespace eastwatch;
using eastwatch::test::Fragments;

// Proves the packet path allocates nothing (skipped under AddressSanitizer).
#include "tests/unit/support/counting_allocator.hpp"

namespace {

constexpr uint8_t kIcmp = 1;
constexpr uint8_t kIcmpv6 = 58;
constexpr int64_t kSecond = 1'000'000;

DefragSettings small_settings() {
  DefragSettings s;
  s.memcap = 4 << 20;
  s.hash_size = 1024;
  s.trackers = 64;
  return s;
}

std::vector<HostOsPolicyEntry> policy_for_all(OsPolicy policy) {
  return {{policy, AddressSet::from_ranges({*AddressSet::parse_cidr("0.0.0.0/0"), *AddressSet::parse_cidr("::/0")})}};
}

std::string payload_of(const Packet& rebuilt, uint32_t header) {
  return std::string(reinterpret_cast<const char*>(rebuilt.data) + header, rebuilt.caplen - header);
}

// Each letter stands for 8 bytes of it.
std::string expand(const std::string& letters) {
  std::string out;
  for (char c : letters) out += std::string(8, c);
  return out;
}

// Suricata's DefragDoSturgesNovakTest: the fragments of Novak & Sturges, "Target-Based
// Fragmentation Reassembly" (2007), in its order; returns the reassembled payload.
std::string sturges_novak(OsPolicy policy, bool ipv6, int* overlaps_out = nullptr) {
  Defragmenter defrag(small_settings(), policy_for_all(policy));
  Fragments f;
  struct Piece {
    uint16_t offset;  // bytes
    char content;
    size_t length;
  };
  const Piece pieces[] = {{0, 'A', 24},   {32, 'B', 16},  {48, 'C', 24},  {80, 'D', 8},   {104, 'E', 16},
                          {120, 'F', 24}, {144, 'G', 16}, {160, 'H', 16}, {176, 'I', 8},  {8, 'J', 32},
                          {48, 'K', 24},  {72, 'L', 24},  {96, 'M', 24},  {128, 'N', 8},  {152, 'O', 8},
                          {160, 'P', 8},  {176, 'Q', 16}};
  int overlaps = 0;
  const Packet* rebuilt = nullptr;
  for (size_t i = 0; i < 17; ++i) {
    const bool last = i == 16;
    Packet p = ipv6 ? f.ipv6(kIcmpv6, 1, pieces[i].offset >> 3, !last, pieces[i].content, pieces[i].length)
                    : f.ipv4(kIcmp, 1, pieces[i].offset >> 3, !last, pieces[i].content, pieces[i].length);
    rebuilt = defrag.process(p, f.stats);
    const bool overlap = p.events.test(ipv6 ? DecodeEvent::Ipv6FragOverlap : DecodeEvent::Ipv4FragOverlap);
    if (i < 9) CHECK_FALSE(overlap);  // the originals do not overlap one another
    if (overlap) ++overlaps;
    if (!last) REQUIRE(rebuilt == nullptr);
  }
  if (overlaps_out) *overlaps_out = overlaps;
  REQUIRE(rebuilt != nullptr);
  CHECK(defrag.fragments_in_use() == 0);  // every fragment went back to the pool
  CHECK(defrag.active_trackers() == 0);
  if (ipv6) {
    CHECK(((rebuilt->data[4] << 8) | rebuilt->data[5]) == 192);
    CHECK(rebuilt->data[6] == kIcmpv6);
    return payload_of(*rebuilt, 40);
  }
  CHECK(((rebuilt->data[2] << 8) | rebuilt->data[3]) == 20 + 192);
  return payload_of(*rebuilt, 20);
}

}  // namespace

TEST_CASE("defrag: in order, reversed and duplicated fragments rebuild one datagram") {
  Defragmenter defrag(small_settings(), {});
  Fragments f;
  SECTION("in order") {
    Packet a = f.ipv4(kIcmp, 12, 0, true, 'A', 8), b = f.ipv4(kIcmp, 12, 1, true, 'B', 8),
           c = f.ipv4(kIcmp, 12, 2, false, 'C', 3);
    CHECK(defrag.process(a, f.stats) == nullptr);
    CHECK(defrag.process(b, f.stats) == nullptr);
    const Packet* r = defrag.process(c, f.stats);
    REQUIRE(r != nullptr);
    CHECK(r->caplen == 39);
    CHECK(((r->data[2] << 8) | r->data[3]) == 39);
    CHECK(r->data[6] == 0);
    CHECK(r->data[7] == 0);
    CHECK(payload_of(*r, 20) == std::string(8, 'A') + std::string(8, 'B') + "CCC");
    CHECK(r->pcap_cnt == c.pcap_cnt);
    CHECK(r->link_type == LinkType::Ipv4);
    // The header checksum is still right after the length and offset changed.
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2) sum += (r->data[i] << 8) | r->data[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    CHECK(sum == 0xffff);
    CHECK(defrag.counters().ipv4_fragments == 3);
    CHECK(defrag.counters().ipv4_reassembled == 1);
    CHECK_FALSE(c.events.any());
  }
  SECTION("reversed") {
    Packet a = f.ipv4(kIcmp, 12, 0, true, 'A', 8), b = f.ipv4(kIcmp, 12, 1, true, 'B', 8),
           c = f.ipv4(kIcmp, 12, 2, false, 'C', 3);
    CHECK(defrag.process(c, f.stats) == nullptr);
    CHECK(defrag.process(b, f.stats) == nullptr);
    const Packet* r = defrag.process(a, f.stats);
    REQUIRE(r != nullptr);
    CHECK(payload_of(*r, 20) == std::string(8, 'A') + std::string(8, 'B') + "CCC");
  }
  SECTION("a duplicate fragment is an overlap, and the datagram still rebuilds once") {
    Packet a = f.ipv4(kIcmp, 12, 0, true, 'A', 8), b = f.ipv4(kIcmp, 12, 1, true, 'B', 8),
           b2 = f.ipv4(kIcmp, 12, 1, true, 'B', 8), c = f.ipv4(kIcmp, 12, 2, false, 'C', 3);
    CHECK(defrag.process(a, f.stats) == nullptr);
    CHECK(defrag.process(b, f.stats) == nullptr);
    CHECK(defrag.process(b2, f.stats) == nullptr);
    CHECK(b2.events.test(DecodeEvent::Ipv4FragOverlap));
    CHECK(f.stats.event.ipv4_frag_overlap == 1);
    const Packet* r = defrag.process(c, f.stats);
    REQUIRE(r != nullptr);
    CHECK(payload_of(*r, 20) == std::string(8, 'A') + std::string(8, 'B') + "CCC");
    Packet again = f.ipv4(kIcmp, 12, 2, false, 'C', 3);  // a new tracker: nothing to complete
    CHECK(defrag.process(again, f.stats) == nullptr);
  }
}

TEST_CASE("defrag: the Novak & Sturges pattern, per policy, as Suricata's DefragSturgesNovak tests") {
  int overlaps = 0;
  CHECK(sturges_novak(OsPolicy::Bsd, false, &overlaps) == expand("AAAJJBCCCLLLMMMFFFGGHHIQ"));
  CHECK(overlaps > 0);
  CHECK(sturges_novak(OsPolicy::Linux, false) == expand("AAAJJBKKKLLLMMMFFFGGPHQQ"));
  CHECK(sturges_novak(OsPolicy::Windows, false) == expand("AAAJBBCCCLLLMEEFFFGGHHIQ"));
  CHECK(sturges_novak(OsPolicy::Solaris, false) == expand("AAAJBBCCCLLLMMMFFFGGHHIQ"));
  CHECK(sturges_novak(OsPolicy::First, false) == expand("AAAJBBCCCLDLMEEFFFGGHHIQ"));
  CHECK(sturges_novak(OsPolicy::Last, false) == expand("AJJJJBKKKLLLMMMFNFGOPHQQ"));
  // bsd-right: Suricata trims nothing, so the copy in offset order decides: later offsets (and,
  // at equal offsets, later arrivals) overwrite.
  CHECK(sturges_novak(OsPolicy::BsdRight, false) == expand("AJJJBBKKKLDLMEEFNFGOPHQQ"));
  SECTION("IPv6 gives the same bytes") {
    CHECK(sturges_novak(OsPolicy::Bsd, true) == expand("AAAJJBCCCLLLMMMFFFGGHHIQ"));
    CHECK(sturges_novak(OsPolicy::Linux, true) == expand("AAAJJBKKKLLLMMMFFFGGPHQQ"));
    CHECK(sturges_novak(OsPolicy::Windows, true) == expand("AAAJBBCCCLLLMEEFFFGGHHIQ"));
    CHECK(sturges_novak(OsPolicy::Solaris, true) == expand("AAAJBBCCCLLLMMMFFFGGHHIQ"));
    CHECK(sturges_novak(OsPolicy::First, true) == expand("AAAJBBCCCLDLMEEFFFGGHHIQ"));
    CHECK(sturges_novak(OsPolicy::Last, true) == expand("AJJJJBKKKLLLMMMFNFGOPHQQ"));
  }
  SECTION("OS names map to the defrag policies as Suricata's DefragGetOsPolicy") {
    CHECK(sturges_novak(OsPolicy::Vista, false) == expand("AAAJBBCCCLLLMEEFFFGGHHIQ"));    // windows
    CHECK(sturges_novak(OsPolicy::OldLinux, false) == expand("AAAJJBKKKLLLMMMFFFGGPHQQ")); // linux
    CHECK(sturges_novak(OsPolicy::Macos, false) == expand("AAAJBBCCCLDLMEEFFFGGHHIQ"));    // first
    CHECK(sturges_novak(OsPolicy::Irix, false) == expand("AAAJJBCCCLLLMMMFFFGGHHIQ"));     // bsd
  }
}

TEST_CASE("defrag: Suricata's BSD fragment-after-no-MF and Linux overlap cases") {
  Fragments f;
  SECTION("bsd: a fragment arriving after the last one still counts (DefragBsdFragmentAfterNoMf)") {
    Defragmenter defrag(small_settings(), policy_for_all(OsPolicy::Bsd));
    Packet p0 = f.ipv4(kIcmp, 0x96, 3, false, 'A', 16), p1 = f.ipv4(kIcmp, 0x96, 1, true, 'B', 16),
           p2 = f.ipv4(kIcmp, 0x96, 2, true, 'C', 16), p3 = f.ipv4(kIcmp, 0x96, 0, true, 'D', 8);
    CHECK(defrag.process(p0, f.stats) == nullptr);
    CHECK(defrag.process(p1, f.stats) == nullptr);
    CHECK(defrag.process(p2, f.stats) == nullptr);
    const Packet* r = defrag.process(p3, f.stats);
    REQUIRE(r != nullptr);
    CHECK(payload_of(*r, 20) == expand("DBBCA"));
  }
  SECTION("linux (DefragTestJeremyLinux)") {
    Defragmenter defrag(small_settings(), policy_for_all(OsPolicy::Linux));
    Packet p0 = f.ipv4(kIcmp, 1, 0, true, 'A', 24), p1 = f.ipv4(kIcmp, 1, 5, true, 'B', 48),
           p2 = f.ipv4(kIcmp, 1, 3, true, 'C', 48), p3 = f.ipv4(kIcmp, 1, 11, false, 'D', 14);
    CHECK(defrag.process(p0, f.stats) == nullptr);
    CHECK(defrag.process(p1, f.stats) == nullptr);
    CHECK(defrag.process(p2, f.stats) == nullptr);
    const Packet* r = defrag.process(p3, f.stats);
    REQUIRE(r != nullptr);
    CHECK(payload_of(*r, 20) == expand("AAACCCCCCBB") + expand("D").substr(0, 8) + std::string(6, 'D'));
  }
  SECTION("only the fragments up to the last one are rebuilt (DefragMfIpv4Test)") {
    Defragmenter defrag(small_settings(), {});
    Packet p1 = f.ipv4(kIcmp, 9, 2, true, 'C', 8), p2 = f.ipv4(kIcmp, 9, 0, true, 'A', 8),
           p3 = f.ipv4(kIcmp, 9, 1, false, 'B', 8);
    CHECK(defrag.process(p1, f.stats) == nullptr);
    CHECK(defrag.process(p2, f.stats) == nullptr);
    const Packet* r = defrag.process(p3, f.stats);
    REQUIRE(r != nullptr);
    CHECK(r->caplen == 36);
    CHECK(payload_of(*r, 20) == expand("AB"));
  }
}

TEST_CASE("defrag: every host OS maps to Suricata's defrag policy") {
  CHECK(defrag_policy_for(OsPolicy::Bsd) == DefragPolicy::Bsd);
  CHECK(defrag_policy_for(OsPolicy::Hpux10) == DefragPolicy::Bsd);
  CHECK(defrag_policy_for(OsPolicy::Irix) == DefragPolicy::Bsd);
  CHECK(defrag_policy_for(OsPolicy::BsdRight) == DefragPolicy::BsdRight);
  CHECK(defrag_policy_for(OsPolicy::OldLinux) == DefragPolicy::Linux);
  CHECK(defrag_policy_for(OsPolicy::OldSolaris) == DefragPolicy::First);
  CHECK(defrag_policy_for(OsPolicy::Hpux11) == DefragPolicy::First);
  CHECK(defrag_policy_for(OsPolicy::Macos) == DefragPolicy::First);
  CHECK(defrag_policy_for(OsPolicy::Solaris) == DefragPolicy::Solaris);
  CHECK(defrag_policy_for(OsPolicy::Windows2k3) == DefragPolicy::Windows);
  CHECK(defrag_policy_for(OsPolicy::Vista) == DefragPolicy::Windows);
  CHECK(defrag_policy_for(OsPolicy::Last) == DefragPolicy::Last);
}

TEST_CASE("defrag: without prealloc the pools fill on use, with the same results") {
  DefragSettings s = small_settings();
  s.prealloc = false;
  Defragmenter defrag(s, {});
  Fragments f;
  Packet a = f.ipv4(kIcmp, 1, 1, false, 'B', 8), b = f.ipv4(kIcmp, 1, 0, true, 'A', 8);
  CHECK(defrag.process(a, f.stats) == nullptr);
  const Packet* r = defrag.process(b, f.stats);
  REQUIRE(r != nullptr);
  CHECK(r->rebuilt_fragment);
  CHECK(payload_of(*r, 20) == expand("AB"));
}

TEST_CASE("defrag: a full-size defragmenter backs only the pages it uses, prealloc backs them all") {
  DefragSettings s;  // the defaults: 32 MiB
  s.prealloc = false;
  const uint64_t before = eastwatch::test::resident_bytes();
  {
    Defragmenter defrag(s, {});
    Fragments f;
    Packet a = f.ipv4(kIcmp, 1, 1, false, 'B', 8), b = f.ipv4(kIcmp, 1, 0, true, 'A', 8);
    CHECK(defrag.process(a, f.stats) == nullptr);
    REQUIRE(defrag.process(b, f.stats) != nullptr);
    CHECK(eastwatch::test::resident_bytes() - before < (2u << 20));  // the 64 KiB output and a few pages
  }
  s.prealloc = true;
  const uint64_t before_prealloc = eastwatch::test::resident_bytes();
  Defragmenter defrag(s, {});
  CHECK(eastwatch::test::resident_bytes() - before_prealloc > (24u << 20));
}

TEST_CASE("defrag: the key separates protocols, VLANs and identifications") {
  Defragmenter defrag(small_settings(), {});
  Fragments f;
  Packet a = f.ipv4(kIcmp, 12, 0, true, 'A', 8), b = f.ipv4(17, 12, 1, true, 'B', 8),
         c = f.ipv4(kIcmp, 12, 2, false, 'C', 3);
  CHECK(defrag.process(a, f.stats) == nullptr);
  CHECK(defrag.process(b, f.stats) == nullptr);
  CHECK(defrag.process(c, f.stats) == nullptr);  // the UDP fragment belongs to another datagram
  Packet v1 = f.ipv4(kIcmp, 1, 0, true, 'A', 8), v2 = f.ipv4(kIcmp, 1, 1, false, 'B', 8);
  v1.vlan_id[0] = 1;
  v2.vlan_id[0] = 2;
  CHECK(defrag.process(v1, f.stats) == nullptr);
  CHECK(defrag.process(v2, f.stats) == nullptr);
  Packet v3 = f.ipv4(kIcmp, 1, 1, false, 'B', 8);
  v3.vlan_id[0] = 1;
  CHECK(defrag.process(v3, f.stats) != nullptr);
}

TEST_CASE("defrag: IPv6, with the fragment header removed and the next header fixed") {
  Defragmenter defrag(small_settings(), {});
  Fragments f;
  SECTION("plain") {
    Packet a = f.ipv6(kIcmpv6, 0x12345678, 0, true, 'A', 8), b = f.ipv6(kIcmpv6, 0x12345678, 1, true, 'B', 8),
           c = f.ipv6(kIcmpv6, 0x12345678, 2, false, 'C', 3);
    CHECK(defrag.process(c, f.stats) == nullptr);
    CHECK(defrag.process(a, f.stats) == nullptr);
    const Packet* r = defrag.process(b, f.stats);
    REQUIRE(r != nullptr);
    CHECK(r->link_type == LinkType::Ipv6);
    CHECK(((r->data[4] << 8) | r->data[5]) == 19);
    CHECK(r->data[6] == kIcmpv6);
    CHECK(payload_of(*r, 40) == expand("AB") + "CCC");
    CHECK(defrag.counters().ipv6_reassembled == 1);
  }
  SECTION("the 32-bit identification is the key: ids equal in their low 16 bits stay apart") {
    Packet a = f.ipv6(kIcmpv6, 0x00010001, 0, true, 'A', 8), b = f.ipv6(kIcmpv6, 0x00020001, 1, false, 'B', 8);
    CHECK(defrag.process(a, f.stats) == nullptr);
    CHECK(defrag.process(b, f.stats) == nullptr);
  }
  SECTION("an unfragmentable extension header stays, its next header now names the payload") {
    std::vector<uint8_t> udp = {0x30, 0x39, 0x00, 0x35, 0x00, 24, 0, 0};  // 12345 -> 53, length 24
    udp.insert(udp.end(), 16, 'x');
    std::vector<uint8_t> first(udp.begin(), udp.begin() + 16), second(udp.begin() + 16, udp.end());
    Packet a = f.decode(Fragments::ipv6_bytes(17, 7, 0, true, first, true), LinkType::Ipv6);
    Packet b = f.decode(Fragments::ipv6_bytes(17, 7, 2, false, second, true), LinkType::Ipv6);
    CHECK(defrag.process(a, f.stats) == nullptr);
    const Packet* r = defrag.process(b, f.stats);
    REQUIRE(r != nullptr);
    CHECK(r->caplen == 40 + 8 + 24);
    CHECK(((r->data[4] << 8) | r->data[5]) == 8 + 24);
    CHECK(r->data[6] == 60);
    CHECK(r->data[40] == 17);
    Packet decoded = *r;
    DecodeStats stats;
    REQUIRE(decode_packet(decoded, stats));
    CHECK(decoded.is_udp());
    CHECK(decoded.has_transport);
    CHECK_FALSE(decoded.ip_fragment);
    CHECK(decoded.dst_port == 53);
    CHECK(decoded.payload_len == 16);
  }
  SECTION("a non-last fragment whose length is not a multiple of 8 is invalid") {
    Packet a = f.ipv6(kIcmpv6, 3, 0, true, 'A', 7);
    CHECK(defrag.process(a, f.stats) == nullptr);
    CHECK(a.events.test(DecodeEvent::Ipv6FragInvalidLength));
    CHECK(f.stats.event.ipv6_frag_invalid_length == 1);
    CHECK(defrag.active_trackers() == 0);
  }
}

TEST_CASE("defrag: oversize, too many fragments, no data") {
  Fragments f;
  SECTION("a fragment ending past 65535 bytes (DefragTooLargeIpv4Test)") {
    Defragmenter defrag(small_settings(), {});
    Packet p = f.ipv4(kIcmp, 1, 8183, false, 'A', 71);
    CHECK(defrag.process(p, f.stats) == nullptr);
    CHECK(p.events.test(DecodeEvent::Ipv4FragPktTooLarge));
    CHECK(f.stats.event.ipv4_frag_pkt_too_large == 1);
    CHECK(defrag.fragments_in_use() == 0);
  }
  SECTION("a rebuilt datagram past 65535 bytes (fragments within the limit, header options on top)") {
    Defragmenter defrag(small_settings(), {});
    // A first fragment with 40 bytes of options (NOPs), then data up to offset 65512 + 3.
    std::vector<uint8_t> first = Fragments::ipv4_bytes(kIcmp, 5, 0, true, std::vector<uint8_t>(8, 'A'));
    first[0] = 0x4f;
    first.insert(first.begin() + 20, 40, 1);
    Fragments::put16(first, 0);
    first.resize(first.size() - 2);
    first[2] = 0;
    first[3] = 68;
    Packet a = f.decode(first, LinkType::Ipv4);
    CHECK(defrag.process(a, f.stats) == nullptr);
    // Fill the rest in 8 KiB fragments.
    const Packet* r = nullptr;
    for (uint32_t offset = 8; offset < 65512; offset += 8192) {
      const uint32_t length = std::min<uint32_t>(8192, 65512 - offset);
      Packet p = f.ipv4(kIcmp, 5, static_cast<uint16_t>(offset / 8), offset + length < 65512, 'B', length);
      r = defrag.process(p, f.stats);
      if (offset + length >= 65512) CHECK(p.events.test(DecodeEvent::Ipv4FragPktTooLarge));
    }
    CHECK(r == nullptr);
    CHECK(defrag.active_trackers() == 0);
    CHECK(defrag.counters().too_large == 1);
  }
  SECTION("max-frags per datagram") {
    DefragSettings s = small_settings();
    s.max_frags = 4;
    Defragmenter defrag(s, {});
    for (uint16_t i = 0; i < 6; ++i) {
      Packet p = f.ipv4(kIcmp, 77, static_cast<uint16_t>(1 + i), true, 'x', 8);
      CHECK(defrag.process(p, f.stats) == nullptr);
      CHECK(p.events.test(DecodeEvent::Ipv4FragIgnored) == (i >= 4));
    }
    CHECK(defrag.counters().max_frags_reached == 2);
    CHECK(defrag.fragments_in_use() == 4);
  }
  SECTION("a last fragment with no data is dropped (DefragNoDataIpv4Test)") {
    Defragmenter defrag(small_settings(), {});
    Packet p = f.ipv4(kIcmp, 12, 1, false, 'A', 0);
    CHECK(defrag.process(p, f.stats) == nullptr);
    CHECK(defrag.fragments_in_use() == 0);
  }
}

TEST_CASE("defrag: timeouts, tracker reuse and memcap") {
  Fragments f;
  SECTION("an idle tracker times out (expire) and its fragments go back to the pool") {
    Defragmenter defrag(small_settings(), {});
    for (uint16_t id = 0; id < 16; ++id) {
      Packet p = f.ipv4(kIcmp, id, 0, true, 'A', 16);
      CHECK(defrag.process(p, f.stats) == nullptr);
    }
    CHECK(defrag.active_trackers() == 16);
    defrag.expire(f.ts_usec + 30 * kSecond, 1000);
    CHECK(defrag.active_trackers() == 16);  // not yet (timeout 60 s)
    defrag.expire(f.ts_usec + 61 * kSecond, 1000);
    CHECK(defrag.active_trackers() == 0);
    CHECK(defrag.fragments_in_use() == 0);
    CHECK(defrag.counters().ipv4_timeouts == 16);
    CHECK(defrag.counters().memuse == 0);
  }
  SECTION("a timed-out datagram's late fragment starts over (soft reuse), it does not complete it") {
    Defragmenter defrag(small_settings(), {});
    Packet a = f.ipv4(kIcmp, 3, 0, true, 'A', 8);
    CHECK(defrag.process(a, f.stats) == nullptr);
    f.ts_usec += 61 * kSecond;
    Packet b = f.ipv4(kIcmp, 3, 1, false, 'B', 8);
    CHECK(defrag.process(b, f.stats) == nullptr);
    CHECK(defrag.counters().tracker_soft_reuse == 1);
    CHECK(defrag.counters().ipv4_timeouts == 1);
  }
  SECTION("with every tracker busy the least recently used is dropped (hard reuse)") {
    DefragSettings s = small_settings();
    s.trackers = 4;
    Defragmenter defrag(s, {});
    for (uint16_t id = 0; id < 4; ++id) {
      Packet p = f.ipv4(kIcmp, id, 0, true, 'A', 8);
      defrag.process(p, f.stats);
    }
    Packet touch = f.ipv4(kIcmp, 0, 2, true, 'C', 8);  // datagram 0 is now the most recent
    defrag.process(touch, f.stats);
    Packet fifth = f.ipv4(kIcmp, 9, 0, true, 'A', 8);
    defrag.process(fifth, f.stats);
    CHECK(defrag.counters().tracker_hard_reuse == 1);
    CHECK(defrag.active_trackers() == 4);
    Packet end1 = f.ipv4(kIcmp, 1, 1, false, 'B', 8);  // datagram 1, the oldest, was dropped
    CHECK(defrag.process(end1, f.stats) == nullptr);
    Packet end0 = f.ipv4(kIcmp, 0, 1, false, 'B', 8);  // datagram 0 survived: 0 and 1 (as DefragMfIpv4Test)
    const Packet* r = defrag.process(end0, f.stats);
    REQUIRE(r != nullptr);
    CHECK(payload_of(*r, 20) == expand("AB"));
    CHECK(defrag.counters().ipv4_reassembled == 1);
  }
  SECTION("fragment storage exhausted: fragments ignored and counted, nothing breaks") {
    DefragSettings s;
    s.memcap = 1 << 20;
    s.hash_size = 1024;
    s.trackers = 4096;
    Defragmenter defrag(s, {});
    uint64_t ignored = 0;
    for (uint16_t id = 0; id < 2000; ++id) {
      Packet p = f.ipv4(kIcmp, id, 0, true, 'A', 1400);
      defrag.process(p, f.stats);
      if (p.events.test(DecodeEvent::Ipv4FragIgnored)) ++ignored;
    }
    CHECK(ignored > 0);
    CHECK(defrag.counters().memcap_dropped == ignored);
    CHECK(f.stats.event.ipv4_frag_ignored == ignored);
    CHECK(defrag.counters().memuse <= s.memcap);
    defrag.expire(f.ts_usec + 61 * kSecond, 100000);
    CHECK(defrag.fragments_in_use() == 0);
  }
}

TEST_CASE("defrag: processing allocates nothing") {
  if (!EASTWATCH_COUNTING_ALLOCATOR) {
    WARN("skipped under AddressSanitizer: it replaces operator new");
    return;
  }
  Defragmenter defrag(small_settings(), policy_for_all(OsPolicy::Linux));
  Fragments f;
  std::vector<Packet> packets;
  for (uint16_t id = 0; id < 200; ++id) {
    packets.push_back(f.ipv4(kIcmp, id, 1, true, 'B', 800));
    packets.push_back(f.ipv4(kIcmp, id, 0, true, 'A', 16));
    packets.push_back(f.ipv4(kIcmp, id, 2, false, 'C', 8));
    packets.push_back(f.ipv6(kIcmpv6, id, 0, true, 'A', 16));
  }
  const uint64_t before = g_allocations.load();
  uint32_t rebuilt = 0;
  for (auto& p : packets) rebuilt += defrag.process(p, f.stats) != nullptr;
  defrag.expire(f.ts_usec + 100 * kSecond, 1000);
  CHECK(g_allocations.load() == before);
  CHECK(rebuilt == 200);
}

// Real capture files written by the test (libpcap's dumper for pcap, hand-built blocks for
// pcapng) and read back through PcapFileSource.
#include <pcap/pcap.h>

#include <array>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "sensor/capture/pcap_file_source.hpp"

using namespace eastwatch;

namespace {

std::string temp_path(const std::string& name) { return std::string(EASTWATCH_BINARY_DIR) + "/capture_test_" + name; }

void write_pcap(const std::string& path, int dlt, int count, bool nanoseconds = false) {
  pcap_t* dead = pcap_open_dead_with_tstamp_precision(
      dlt, 65535, nanoseconds ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
  pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
  REQUIRE(dumper);
  for (int i = 0; i < count; ++i) {
    std::array<uint8_t, 128> frame{};
    frame[0] = static_cast<uint8_t>(i);
    pcap_pkthdr header{};
    header.ts.tv_sec = 1700000000 + i;
    header.ts.tv_usec = nanoseconds ? 123456789 : 123456;
    header.caplen = static_cast<uint32_t>(40 + i);
    header.len = 200;
    pcap_dump(reinterpret_cast<u_char*>(dumper), &header, frame.data());
  }
  pcap_dump_close(dumper);
  pcap_close(dead);
}

void append_u32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
void append_u16(std::string& out, uint16_t v) { out.append(reinterpret_cast<const char*>(&v), 2); }

}  // namespace

TEST_CASE("a pcap file is read in bursts with timestamps and lengths and continuing pcap_cnt") {
  const auto path = temp_path("a.pcap");
  write_pcap(path, DLT_EN10MB, 70);
  auto source = PcapFileSource::open(path, 5);
  REQUIRE(source);
  CHECK((*source)->link_type() == LinkType::Ethernet);
  std::array<Packet, 64> burst{};
  size_t total = 0;
  std::vector<size_t> sizes;
  while (size_t n = (*source)->next_burst(burst)) {
    for (size_t i = 0; i < n; ++i) {
      const Packet& p = burst[i];
      const size_t index = total + i;
      CHECK(p.pcap_cnt == 5 + index + 1);
      CHECK(p.caplen == 40 + index);
      CHECK(p.wirelen == 200);
      CHECK(p.ts_usec == (1700000000 + static_cast<int64_t>(index)) * 1000000 + 123456);
      CHECK(p.data[0] == static_cast<uint8_t>(index));
    }
    sizes.push_back(n);
    total += n;
  }
  CHECK(total == 70);
  CHECK(sizes == std::vector<size_t>{64, 6});
  CHECK((*source)->packets_read() == 70);
  CHECK((*source)->counters().kernel_packets == 70);
  CHECK((*source)->error().empty());
}

TEST_CASE("nanosecond pcap files are read with microsecond timestamps") {
  const auto path = temp_path("ns.pcap");
  write_pcap(path, DLT_EN10MB, 1, true);
  auto source = PcapFileSource::open(path);
  REQUIRE(source);
  std::array<Packet, 4> burst{};
  REQUIRE((*source)->next_burst(burst) == 1);
  CHECK(burst[0].ts_usec == int64_t{1700000000} * 1000000 + 123456);
}

TEST_CASE("a pcapng file is read") {
  std::string file;
  // Section header block
  append_u32(file, 0x0A0D0D0A);
  append_u32(file, 28);
  append_u32(file, 0x1A2B3C4D);
  append_u16(file, 1);
  append_u16(file, 0);
  append_u32(file, 0xffffffff);
  append_u32(file, 0xffffffff);
  append_u32(file, 28);
  // Interface description block: Ethernet, snaplen 65535
  append_u32(file, 1);
  append_u32(file, 20);
  append_u16(file, 1);
  append_u16(file, 0);
  append_u32(file, 65535);
  append_u32(file, 20);
  // Enhanced packet block with 4 bytes of data, timestamp 1700000000.5 s in microseconds
  const uint64_t ts = uint64_t{1700000000} * 1000000 + 500000;
  append_u32(file, 6);
  append_u32(file, 36);
  append_u32(file, 0);
  append_u32(file, static_cast<uint32_t>(ts >> 32));
  append_u32(file, static_cast<uint32_t>(ts));
  append_u32(file, 4);
  append_u32(file, 60);
  file += "abcd";
  append_u32(file, 36);
  const auto path = temp_path("b.pcapng");
  std::ofstream(path, std::ios::binary) << file;
  auto source = PcapFileSource::open(path);
  REQUIRE(source);
  std::array<Packet, 4> burst{};
  REQUIRE((*source)->next_burst(burst) == 1);
  CHECK(burst[0].caplen == 4);
  CHECK(burst[0].wirelen == 60);
  CHECK(burst[0].ts_usec == static_cast<int64_t>(ts));
  CHECK(std::memcmp(burst[0].data, "abcd", 4) == 0);
  CHECK((*source)->next_burst(burst) == 0);
}

TEST_CASE("errors: missing file and unsupported link type and truncated file") {
  auto missing = PcapFileSource::open("/nonexistent/x.pcap");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().rfind("cannot open '/nonexistent/x.pcap': ", 0) == 0);

  const auto ppp = temp_path("ppp.pcap");
  write_pcap(ppp, DLT_PPP, 1);
  auto unsupported = PcapFileSource::open(ppp);
  REQUIRE_FALSE(unsupported);
  CHECK(unsupported.error() ==
        "'" + ppp + "': unsupported link type PPP (expected Ethernet, raw IP, Linux SLL or BSD loopback)");

  const auto full = temp_path("full.pcap");
  write_pcap(full, DLT_EN10MB, 3);
  std::ifstream in(full, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto cut = temp_path("cut.pcap");
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() - 10);
  auto source = PcapFileSource::open(cut);
  REQUIRE(source);
  std::array<Packet, 8> burst{};
  size_t total = 0;
  while (size_t n = (*source)->next_burst(burst)) total += n;
  CHECK(total == 2);
  CHECK((*source)->counters().errors == 1);
  CHECK_FALSE((*source)->error().empty());
}

TEST_CASE("a big-endian classic pcap (written on another machine) is read too") {
  auto be32 = [](std::string& out, uint32_t v) {
    const uint32_t swapped = __builtin_bswap32(v);
    out.append(reinterpret_cast<const char*>(&swapped), 4);
  };
  std::string file;
  be32(file, 0xa1b2c3d4);
  file += std::string("\x00\x02\x00\x04", 4);  // version 2.4, big endian
  be32(file, 0);
  be32(file, 0);
  be32(file, 65535);
  be32(file, 1);  // Ethernet
  be32(file, 1700000000);
  be32(file, 250000);
  be32(file, 3);
  be32(file, 64);
  file += "xyz";
  const auto path = temp_path("be.pcap");
  std::ofstream(path, std::ios::binary) << file;
  auto source = PcapFileSource::open(path);
  REQUIRE(source);
  std::array<Packet, 4> burst{};
  REQUIRE((*source)->next_burst(burst) == 1);
  CHECK(burst[0].caplen == 3);
  CHECK(burst[0].wirelen == 64);
  CHECK(burst[0].ts_usec == int64_t{1700000000} * 1000000 + 250000);
  CHECK(std::memcmp(burst[0].data, "xyz", 3) == 0);
  CHECK((*source)->next_burst(burst) == 0);
  CHECK((*source)->error().empty());
}

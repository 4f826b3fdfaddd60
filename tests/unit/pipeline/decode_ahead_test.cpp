// DecodeAhead (sensor/main/decode_ahead.hpp) on real capture files written here: every frame
// reaches the worker side once, in capture order across files, decoded, with pcap_cnt numbering
// continuing from file to file, while the reader runs up to kSlots bursts ahead.
#include <pcap/pcap.h>

#include <array>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "sensor/main/decode_ahead.hpp"

using namespace eastwatch;

namespace {

std::string temp_path(const std::string& name) { return std::string(EASTWATCH_BINARY_DIR) + "/decode_ahead_" + name; }

// `count` Ethernet/IPv4/UDP frames of `size` bytes; frame i carries i in its UDP payload.
void write_udp_pcap(const std::string& path, uint32_t first, uint32_t count, uint32_t size) {
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
  REQUIRE(dumper);
  std::vector<uint8_t> frame(size, 0);
  frame[12] = 0x08;
  const uint16_t ip_len = static_cast<uint16_t>(size - 14);
  const uint8_t ip[20] = {0x45, 0, uint8_t(ip_len >> 8), uint8_t(ip_len), 0, 1, 0x40, 0, 64, 17, 0, 0,
                          10, 0, 0, 1, 10, 0, 0, 2};
  std::copy(ip, ip + 20, frame.begin() + 14);
  const uint16_t udp_len = static_cast<uint16_t>(ip_len - 20);
  const uint8_t udp[8] = {0x9c, 0x40, 0x00, 0x35, uint8_t(udp_len >> 8), uint8_t(udp_len), 0, 0};
  std::copy(udp, udp + 8, frame.begin() + 34);
  for (uint32_t i = first; i < first + count; ++i) {
    for (int b = 0; b < 4; ++b) frame[42 + b] = static_cast<uint8_t>(i >> (8 * b));
    pcap_pkthdr header{};
    header.ts.tv_sec = 1700000000 + i / 1000;
    header.ts.tv_usec = (i % 1000) * 1000;
    header.caplen = header.len = size;
    pcap_dump(reinterpret_cast<u_char*>(dumper), &header, frame.data());
  }
  pcap_dump_close(dumper);
  pcap_close(dead);
}

uint32_t index_of(const Packet& p) {
  uint32_t i = 0;
  for (int b = 0; b < 4; ++b) i |= uint32_t{p.data[42 + b]} << (8 * b);
  return i;
}

}  // namespace

TEST_CASE("decode ahead: every frame of several files once, in order, decoded, pcap_cnt continuing") {
  // 12,000 frames of 1,000 bytes (past the source's 8 MiB page release step) and 3,000 more.
  const auto a = temp_path("a.pcap");
  const auto b = temp_path("b.pcap");
  write_udp_pcap(a, 0, 12000, 1000);
  write_udp_pcap(b, 12000, 3000, 200);
  DecoderSettings decoder;
  Published<CaptureCounters> published;
  DecodeAhead reader({a, b}, decoder, &published);
  uint32_t expected = 0;
  uint64_t bursts = 0;
  DecodeStats last{};
  while (DecodeAhead::Burst* burst = reader.next()) {
    REQUIRE(burst->count > 0);
    REQUIRE(burst->count <= DecodeAhead::kBurstSize);
    for (uint32_t i = 0; i < burst->count; ++i) {
      const Packet& p = burst->packets[i];
      REQUIRE(index_of(p) == expected);
      REQUIRE(p.pcap_cnt == expected + 1);
      REQUIRE(p.decoded);
      REQUIRE(p.ip_proto == 17);
      ++expected;
    }
    CHECK(burst->decoded.pkts >= last.pkts);
    last = burst->decoded;
    // A slow worker now and then: the reader fills every slot and waits.
    if (++bursts % 97 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  CHECK(expected == 15000);
  CHECK(last.pkts == 15000);
  CHECK(last.udp == 15000);
  CHECK(last.invalid == 0);
  CHECK(reader.messages().empty());
  CHECK_FALSE(reader.failed());
  CHECK(reader.capture_counters().kernel_packets == 15000);
  CHECK(reader.next() == nullptr);  // stays at the end
}

TEST_CASE("decode ahead: a file that cannot be opened ends the replay with its reason") {
  const auto a = temp_path("c.pcap");
  write_udp_pcap(a, 0, 100, 100);
  DecoderSettings decoder;
  DecodeAhead reader({a, temp_path("missing.pcap"), a}, decoder);
  uint32_t frames = 0;
  while (DecodeAhead::Burst* burst = reader.next()) frames += burst->count;
  CHECK(frames == 100);  // the third file is not read
  CHECK(reader.failed());
  REQUIRE(reader.messages().size() == 1);
  CHECK(reader.messages()[0].find("missing.pcap") != std::string::npos);
}

TEST_CASE("decode ahead: destroyed before the end, the reader stops") {
  const auto a = temp_path("d.pcap");
  write_udp_pcap(a, 0, 5000, 300);
  DecoderSettings decoder;
  auto reader = std::make_unique<DecodeAhead>(std::vector<std::string>{a}, decoder);
  REQUIRE(reader->next() != nullptr);
  reader.reset();  // joins: must not wait for the worker to take the rest
  SUCCEED();
}

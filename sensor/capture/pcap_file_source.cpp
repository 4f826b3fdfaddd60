#include "sensor/capture/pcap_file_source.hpp"

#include <pcap/pcap.h>

#include <algorithm>
#include <cstring>

namespace eastwatch {

namespace {

// libpcap DLT -> the link types the decoders know.
bool map_link_type(int dlt, LinkType& out) {
  switch (dlt) {
    case DLT_EN10MB: out = LinkType::Ethernet; return true;
    case DLT_RAW: out = LinkType::Raw; return true;
#ifdef DLT_IPV4
    case DLT_IPV4: out = LinkType::Ipv4; return true;
#endif
#ifdef DLT_IPV6
    case DLT_IPV6: out = LinkType::Ipv6; return true;
#endif
    case DLT_LINUX_SLL: out = LinkType::LinuxSll; return true;
    case DLT_NULL: out = LinkType::Null; return true;
    default: break;
  }
  // Some systems report raw IP captures as LINKTYPE_RAW (101) while DLT_RAW is 12 or 14.
  if (dlt == 101 || dlt == 12 || dlt == 14) {
    out = LinkType::Raw;
    return true;
  }
  return false;
}

// The largest frame a file can hold. libpcap reports the file's snaplen; a few writers put 0
// or absurd values there, so clamp to a sane range (frames above it are truncated, counted).
constexpr uint32_t kMinFrameCapacity = 65535;
constexpr uint32_t kMaxFrameCapacity = 262144;

}  // namespace

tl::expected<std::unique_ptr<PcapFileSource>, std::string> PcapFileSource::open(const std::string& path,
                                                                                  uint64_t first_pcap_cnt) {
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap_t* handle = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_MICRO, errbuf);
  if (handle == nullptr) return tl::unexpected("cannot open '" + path + "': " + errbuf);
  LinkType link_type{};
  const int dlt = pcap_datalink(handle);
  if (!map_link_type(dlt, link_type)) {
    const char* name = pcap_datalink_val_to_name(dlt);
    pcap_close(handle);
    return tl::unexpected("'" + path + "': unsupported link type " + (name ? name : std::to_string(dlt)) +
                          " (expected Ethernet, raw IP, Linux SLL or BSD loopback)");
  }
  const int snaplen = pcap_snapshot(handle);
  const uint32_t capacity =
      std::clamp<uint32_t>(snaplen > 0 ? static_cast<uint32_t>(snaplen) : 0, kMinFrameCapacity, kMaxFrameCapacity);
  return std::unique_ptr<PcapFileSource>(new PcapFileSource(handle, link_type, capacity, first_pcap_cnt));
}

PcapFileSource::PcapFileSource(pcap_t* handle, LinkType link_type, uint32_t frame_capacity, uint64_t first_pcap_cnt)
    : handle_(handle),
      link_type_(link_type),
      frame_capacity_(frame_capacity),
      arena_(std::make_unique<uint8_t[]>(size_t{frame_capacity} * kMaxBurst)),
      next_pcap_cnt_(first_pcap_cnt + 1) {}

PcapFileSource::~PcapFileSource() { pcap_close(handle_); }

size_t PcapFileSource::next_burst(std::span<Packet> packets) noexcept {
  const size_t want = std::min<size_t>(packets.size(), kMaxBurst);
  size_t count = 0;
  while (count < want) {
    pcap_pkthdr* header = nullptr;
    const u_char* bytes = nullptr;
    const int rc = pcap_next_ex(handle_, &header, &bytes);
    if (rc == PCAP_ERROR_BREAK) break;  // end of file
    if (rc != 1) {
      ++counters_.errors;
      const char* message = pcap_geterr(handle_);
      error_.assign(message ? message : "read error");
      break;
    }
    uint8_t* frame = arena_.get() + count * size_t{frame_capacity_};
    const uint32_t caplen = std::min(header->caplen, frame_capacity_);
    std::memcpy(frame, bytes, caplen);
    Packet& packet = packets[count];
    packet.data = frame;
    packet.caplen = caplen;
    packet.wirelen = std::max(header->len, caplen);
    packet.ts_usec = int64_t{header->ts.tv_sec} * 1'000'000 + header->ts.tv_usec;
    packet.pcap_cnt = next_pcap_cnt_++;
    packet.link_type = link_type_;
    ++counters_.kernel_packets;
    ++count;
  }
  return count;
}

}  // namespace eastwatch

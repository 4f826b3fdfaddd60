#include "sensor/capture/pcap_file_source.hpp"

#include <fcntl.h>
#include <pcap/pcap.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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

constexpr uint32_t kMagicMicro = 0xa1b2c3d4;
constexpr uint32_t kMagicNano = 0xa1b23c4d;
constexpr size_t kFileHeader = 24;
constexpr size_t kRecordHeader = 16;

uint32_t load32(const uint8_t* p, bool swapped) noexcept {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return swapped ? __builtin_bswap32(v) : v;
}

}  // namespace

tl::expected<std::unique_ptr<PcapFileSource>, std::string> PcapFileSource::open(const std::string& path,
                                                                                  uint64_t first_pcap_cnt) {
  // Classic pcap: map the file and hand frames out in place.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    struct stat st {};
    uint8_t header[kFileHeader];
    const bool have_header = fstat(fd, &st) == 0 && st.st_size >= static_cast<off_t>(kFileHeader) &&
                             pread(fd, header, kFileHeader, 0) == static_cast<ssize_t>(kFileHeader);
    uint32_t magic = 0;
    if (have_header) std::memcpy(&magic, header, 4);
    const bool swapped = magic == __builtin_bswap32(kMagicMicro) || magic == __builtin_bswap32(kMagicNano);
    const bool classic = magic == kMagicMicro || magic == kMagicNano || swapped;
    if (classic) {
      const uint32_t dlt = load32(header + 20, swapped) & 0x0fffffff;
      LinkType link_type{};
      if (!map_link_type(static_cast<int>(dlt), link_type)) {
        ::close(fd);
        const char* name = pcap_datalink_val_to_name(static_cast<int>(dlt));
        return tl::unexpected("'" + path + "': unsupported link type " + (name ? name : std::to_string(dlt)) +
                              " (expected Ethernet, raw IP, Linux SLL or BSD loopback)");
      }
      void* map = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
      ::close(fd);
      if (map == MAP_FAILED) return tl::unexpected("cannot open '" + path + "': " + std::strerror(errno));
      madvise(map, static_cast<size_t>(st.st_size), MADV_SEQUENTIAL);
      std::unique_ptr<PcapFileSource> source(new PcapFileSource(nullptr, link_type, 0, first_pcap_cnt));
      source->map_ = static_cast<const uint8_t*>(map);
      source->map_size_ = static_cast<size_t>(st.st_size);
      source->cursor_ = kFileHeader;
      source->swapped_ = swapped;
      source->nanoseconds_ = magic == kMagicNano || magic == __builtin_bswap32(kMagicNano);
      return source;
    }
    ::close(fd);
  }

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
      arena_(frame_capacity ? std::make_unique<uint8_t[]>(size_t{frame_capacity} * kMaxBurst) : nullptr),
      next_pcap_cnt_(first_pcap_cnt + 1) {}

PcapFileSource::~PcapFileSource() {
  if (handle_ != nullptr) pcap_close(handle_);
  if (map_ != nullptr) munmap(const_cast<uint8_t*>(map_), map_size_);
}

size_t PcapFileSource::next_mapped(std::span<Packet> packets) noexcept {
  // The largest record libpcap itself accepts; anything beyond is a corrupt file.
  constexpr uint32_t kMaxRecord = 262144 * 4;
  // Frames handed out by the previous call (or, holding frames, those released) are done
  // with: give their pages back every few MiB, so resident memory stays small however large
  // the file is.
  constexpr size_t kReleaseChunk = 8u << 20;
  const size_t page = 4096;
  const size_t done = (hold_ ? releasable_ : cursor_) & ~(page - 1);
  if (done >= released_ + kReleaseChunk) {
    madvise(const_cast<uint8_t*>(map_) + released_, done - released_, MADV_DONTNEED);
    released_ = done;
  }
  size_t count = 0;
  while (count < packets.size() && cursor_ < map_size_) {
    if (map_size_ - cursor_ < kRecordHeader) {
      ++counters_.errors;
      error_ = "truncated dump file; the last record header is cut short";
      cursor_ = map_size_;
      break;
    }
    const uint8_t* record = map_ + cursor_;
    const uint32_t seconds = load32(record, swapped_);
    const uint32_t fraction = load32(record + 4, swapped_);
    const uint32_t caplen = load32(record + 8, swapped_);
    const uint32_t wirelen = load32(record + 12, swapped_);
    if (caplen > kMaxRecord || caplen > map_size_ - cursor_ - kRecordHeader) {
      ++counters_.errors;
      error_ = caplen > kMaxRecord ? "invalid packet capture length in a record header"
                                   : "truncated dump file; the last frame is cut short";
      cursor_ = map_size_;
      break;
    }
    Packet& packet = packets[count++];
    packet.data = record + kRecordHeader;
    packet.caplen = caplen;
    packet.wirelen = std::max(wirelen, caplen);
    packet.ts_usec = int64_t{seconds} * 1'000'000 + (nanoseconds_ ? fraction / 1000 : fraction);
    packet.pcap_cnt = next_pcap_cnt_++;
    packet.link_type = link_type_;
    ++counters_.kernel_packets;
    cursor_ += kRecordHeader + caplen;
  }
  return count;
}

size_t PcapFileSource::next_burst(std::span<Packet> packets) noexcept {
  if (map_ != nullptr) return next_mapped(packets.subspan(0, std::min<size_t>(packets.size(), kMaxBurst)));
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

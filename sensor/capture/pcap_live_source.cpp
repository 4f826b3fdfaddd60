#include "sensor/capture/pcap_live_source.hpp"

#include <net/if.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cstring>

namespace eastwatch {

namespace {

bool map_live_link_type(int dlt, LinkType& out) {
  switch (dlt) {
    case DLT_EN10MB: out = LinkType::Ethernet; return true;
    case DLT_RAW: out = LinkType::Raw; return true;
    case DLT_LINUX_SLL: out = LinkType::LinuxSll; return true;
    case DLT_NULL: out = LinkType::Null; return true;
    default: return false;
  }
}

// libpcap's message for a failed call, or the status text when it left none.
std::string pcap_reason(pcap_t* handle, int status) {
  std::string reason = pcap_geterr(handle);
  if (reason.empty()) reason = pcap_statustostr(status);
  return reason;
}

constexpr uint32_t kMinSnaplen = 64;
constexpr uint32_t kMaxSnaplen = 262144;

}  // namespace

const char* link_state_name(LinkState state) noexcept {
  switch (state) {
    case LinkState::Up: return "up";
    case LinkState::AdminDown: return "administratively down";
    case LinkState::NoCarrier: return "down (no carrier)";
    case LinkState::Closed: return "gone";
  }
  return "?";
}

tl::expected<pcap_t*, std::string> PcapLiveSource::activate(const Options& options, LinkType& link_type) {
  const std::string& name = options.interface;
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap_t* handle = pcap_create(name.c_str(), errbuf);
  if (handle == nullptr) return tl::unexpected("cannot open interface '" + name + "': " + errbuf);
  const uint32_t snaplen = std::clamp(options.snaplen, kMinSnaplen, kMaxSnaplen);
  const int buffer = static_cast<int>(std::min<uint64_t>(options.buffer_size, 1ull << 30));
  // Non-immediate mode: the kernel fills TPACKET_V3 blocks and hands one over when it is full
  // or after `timeout_ms`, so a large snaplen does not shrink the ring to a few dozen frames.
  pcap_set_snaplen(handle, static_cast<int>(snaplen));
  pcap_set_promisc(handle, options.promisc ? 1 : 0);
  pcap_set_buffer_size(handle, buffer);
  pcap_set_immediate_mode(handle, 0);
  pcap_set_timeout(handle, std::max(1, options.timeout_ms));
  const int status = pcap_activate(handle);
  if (status < 0) {
    std::string message = "cannot open interface '" + name + "': " + pcap_reason(handle, status);
    pcap_close(handle);
    return tl::unexpected(std::move(message));
  }
  if (pcap_setnonblock(handle, 1, errbuf) != 0) {
    std::string message = "cannot open interface '" + name + "': " + errbuf;
    pcap_close(handle);
    return tl::unexpected(std::move(message));
  }
  if (!map_live_link_type(pcap_datalink(handle), link_type)) {
    const char* dlt_name = pcap_datalink_val_to_name(pcap_datalink(handle));
    std::string message = "interface '" + name + "': unsupported link type " +
                          (dlt_name ? dlt_name : std::to_string(pcap_datalink(handle)));
    pcap_close(handle);
    return tl::unexpected(std::move(message));
  }
  if (!options.bpf_filter.empty()) {
    bpf_program program{};
    if (pcap_compile(handle, &program, options.bpf_filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0 ||
        pcap_setfilter(handle, &program) != 0) {
      std::string message =
          "interface '" + name + "': bad bpf-filter '" + options.bpf_filter + "': " + pcap_geterr(handle);
      pcap_freecode(&program);
      pcap_close(handle);
      return tl::unexpected(std::move(message));
    }
    pcap_freecode(&program);
  }
  return handle;
}

tl::expected<std::unique_ptr<PcapLiveSource>, std::string> PcapLiveSource::open(const Options& options) {
  LinkType link_type{};
  auto handle = activate(options, link_type);
  if (!handle) return tl::unexpected(std::move(handle.error()));
  const uint32_t snaplen = std::clamp(options.snaplen, kMinSnaplen, kMaxSnaplen);
  return std::unique_ptr<PcapLiveSource>(new PcapLiveSource(*handle, options, link_type, snaplen));
}

PcapLiveSource::PcapLiveSource(pcap_t* handle, const Options& options, LinkType link_type, uint32_t snaplen)
    : handle_(handle),
      options_(options),
      interface_(options.interface),
      link_type_(link_type),
      snaplen_(snaplen),
      fd_(pcap_get_selectable_fd(handle)),
      arena_(std::make_unique<uint8_t[]>(size_t{snaplen} * kMaxBurst)) {}

PcapLiveSource::~PcapLiveSource() {
  if (handle_ != nullptr) pcap_close(handle_);
}

void PcapLiveSource::set_link_state(LinkState state) noexcept {
  if (state == link_state_) return;
  const auto now = Clock::now();
  if (link_state_ == LinkState::Up) {
    ++reopen_counters_.interface_down;
    down_since_ = now;
  } else if (state == LinkState::Up) {
    down_total_ += now - down_since_;
  }
  link_state_ = state;
}

LinkState PcapLiveSource::check_link() noexcept {
  if (handle_ == nullptr) return link_state_;
  ifreq request{};
  std::strncpy(request.ifr_name, interface_.c_str(), IFNAMSIZ - 1);
  if (fd_ < 0 || ::ioctl(fd_, SIOCGIFFLAGS, &request) != 0) {  // "any", or gone (pcap_dispatch will say)
    set_link_state(LinkState::Up);
    return link_state_;
  }
  const auto flags = static_cast<unsigned>(request.ifr_flags);
  set_link_state((flags & IFF_UP) == 0 ? LinkState::AdminDown
                 : (flags & IFF_RUNNING) == 0 ? LinkState::NoCarrier
                                              : LinkState::Up);
  return link_state_;
}

void PcapLiveSource::close_failed() noexcept {
  update_stats();  // keep what the kernel counted on this handle
  closed_kernel_packets_ = counters_.kernel_packets;
  closed_kernel_drops_ = counters_.kernel_drops;
  pcap_close(handle_);
  handle_ = nullptr;
  fd_ = -1;
  set_link_state(LinkState::Closed);
}

bool PcapLiveSource::reopen() {
  if (handle_ != nullptr) return true;
  LinkType link_type{};
  auto handle = activate(options_, link_type);
  if (!handle) {
    error_ = std::move(handle.error());
    return false;
  }
  if (link_type != link_type_) {  // frames of another kind than the workers were told: refuse
    pcap_close(*handle);
    error_ = "interface '" + interface_ + "': came back with another link type";
    return false;
  }
  handle_ = *handle;
  fd_ = pcap_get_selectable_fd(handle_);
  error_.clear();
  ++reopen_counters_.reopens;
  check_link();  // up, or back without its carrier yet
  return true;
}

void PcapLiveSource::on_frame(unsigned char* user, const ::pcap_pkthdr* header, const unsigned char* bytes) {
  auto* self = reinterpret_cast<PcapLiveSource*>(user);
  if (self->burst_count_ >= self->burst_capacity_) return;  // cannot happen: dispatch asks for at most that many
  const size_t index = self->burst_count_++;
  const uint32_t caplen = std::min(header->caplen, self->snaplen_);
  uint8_t* slot = self->arena_.get() + index * self->snaplen_;
  std::memcpy(slot, bytes, caplen);
  Packet& packet = self->burst_[index];
  packet = Packet{};
  packet.data = slot;
  packet.caplen = caplen;
  packet.wirelen = std::max(header->len, caplen);
  packet.ts_usec = static_cast<int64_t>(header->ts.tv_sec) * 1'000'000 + header->ts.tv_usec;
  packet.pcap_cnt = ++self->next_pcap_cnt_;
  packet.link_type = self->link_type_;
}

size_t PcapLiveSource::next_burst(std::span<Packet> packets, int wait_ms) noexcept {
  if (handle_ == nullptr) return 0;
  burst_ = packets.data();
  burst_capacity_ = std::min<size_t>(packets.size(), kMaxBurst);
  for (int attempt = 0; attempt < 2; ++attempt) {
    burst_count_ = 0;
    const int result = pcap_dispatch(handle_, static_cast<int>(burst_capacity_), &PcapLiveSource::on_frame,
                                     reinterpret_cast<unsigned char*>(this));
    if (result < 0) {
      if (result == PCAP_ERROR_BREAK) return burst_count_;
      error_ = pcap_reason(handle_, result);
      ++counters_.errors;
      close_failed();
      return 0;
    }
    if (burst_count_ > 0 || attempt > 0 || wait_ms <= 0 || fd_ < 0) return burst_count_;
    // Nothing ready: wait (bounded) for the kernel to retire a block, then try once more.
    // POLLERR (the interface went down or away) falls through to pcap_dispatch, which reports it.
    pollfd descriptor{fd_, POLLIN, 0};
    if (::poll(&descriptor, 1, wait_ms) <= 0) return 0;
  }
  return burst_count_;
}

void PcapLiveSource::update_stats() noexcept {
  Clock::duration down = down_total_;
  if (link_state_ != LinkState::Up) down += Clock::now() - down_since_;
  reopen_counters_.down_seconds = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(down).count());
  if (handle_ == nullptr) return;
  pcap_stat stats{};
  if (pcap_stats(handle_, &stats) != 0) return;
  counters_.kernel_packets = closed_kernel_packets_ + stats.ps_recv;
  counters_.kernel_drops = closed_kernel_drops_ + stats.ps_drop;
}

}  // namespace eastwatch

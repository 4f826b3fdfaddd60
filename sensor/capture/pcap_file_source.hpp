// Offline capture: reads a pcap or pcapng file in bursts. Classic pcap files (either byte
// order, micro- or nanosecond timestamps) are memory-mapped and their frames handed out in
// place, with no copy; pcapng and anything else goes through libpcap.
//
// Contract:
//  - `open` fails with "cannot open 'PATH': REASON" or "'PATH': unsupported link type NAME".
//  - `next_burst` fills the frame fields of up to packets.size() packets and returns how many;
//    0 at the end of the file or on a read error (then `error()` says what and `errors` is
//    counted). Frame bytes are valid until the next call (mapped file, or an arena owned by the
//    source and sized for a full burst of maximum-snaplen frames). It never allocates.
//  - A mapped file (`mapped()`) may instead keep its frames valid until the caller says it is
//    done with them: after `hold_frames()`, pages are given back only up to what
//    `release_through` names, so bursts can be handed to another thread (sensor/main/decode_ahead.hpp).
//  - pcap_cnt numbering starts after `first_pcap_cnt`, so several files number continuously.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include <tl/expected.hpp>

#include "sensor/capture/capture_stats.hpp"
#include "sensor/decode/packet.hpp"

typedef struct pcap pcap_t;

namespace eastwatch {

class PcapFileSource {
 public:
  static constexpr uint32_t kMaxBurst = 64;

  static tl::expected<std::unique_ptr<PcapFileSource>, std::string> open(const std::string& path,
                                                                         uint64_t first_pcap_cnt = 0);
  ~PcapFileSource();
  PcapFileSource(const PcapFileSource&) = delete;
  PcapFileSource& operator=(const PcapFileSource&) = delete;

  size_t next_burst(std::span<Packet> packets) noexcept;

  // Whether frames are handed out in place from the mapped file (classic pcap).
  bool mapped() const noexcept { return map_ != nullptr; }
  // Mapped files: frames stay valid until `release_through` passes them (see the contract).
  void hold_frames() noexcept { hold_ = true; }
  // Every frame that ends at or before `end` (a pointer into the file's frames) is done with.
  void release_through(const uint8_t* end) noexcept {
    if (map_ != nullptr && end >= map_ && end <= map_ + map_size_) releasable_ = static_cast<size_t>(end - map_);
  }

  LinkType link_type() const noexcept { return link_type_; }
  uint64_t packets_read() const noexcept { return counters_.kernel_packets; }
  const CaptureCounters& counters() const noexcept { return counters_; }
  const std::string& error() const noexcept { return error_; }

 private:
  PcapFileSource(pcap_t* handle, LinkType link_type, uint32_t snaplen, uint64_t first_pcap_cnt);
  size_t next_mapped(std::span<Packet> packets) noexcept;

  // The memory-mapped classic pcap path (handle_ is null then).
  const uint8_t* map_ = nullptr;
  size_t map_size_ = 0;
  size_t cursor_ = 0;
  size_t released_ = 0;  // pages before this offset have been given back (MADV_DONTNEED)
  bool hold_ = false;    // hold_frames(): give back only up to releasable_
  size_t releasable_ = 0;
  bool swapped_ = false;
  bool nanoseconds_ = false;

  pcap_t* handle_;
  LinkType link_type_;
  uint32_t frame_capacity_;
  std::unique_ptr<uint8_t[]> arena_;
  uint64_t next_pcap_cnt_;
  CaptureCounters counters_;
  std::string error_;
};

}  // namespace eastwatch

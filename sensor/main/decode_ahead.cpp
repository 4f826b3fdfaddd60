#include "sensor/main/decode_ahead.hpp"

#include <x86intrin.h>

#include "sensor/capture/pcap_file_source.hpp"
#include "sensor/flow/flow_table.hpp"
#include "sensor/stats_visitor.hpp"

namespace eastwatch {

namespace {

// One step of a wait for the other thread: a pause while it is likely to come soon, then yields
// (a loaded machine, or fewer cores than threads).
void wait_step(uint32_t& spins) noexcept {
  if (++spins < 512) {
    _mm_pause();
  } else {
    std::this_thread::yield();
  }
}

}  // namespace

DecodeAhead::DecodeAhead(std::vector<std::string> files, const DecoderSettings& decoder,
                         Published<CaptureCounters>* capture)
    : files_(std::move(files)),
      decoder_(decoder),
      capture_(capture),
      slots_(std::make_unique<std::array<Burst, kSlots>>()),
      reader_([this] { read_all(); }) {}

DecodeAhead::~DecodeAhead() {
  stop_.store(true, std::memory_order_relaxed);
  reader_.join();
}

template <class Release>
void DecodeAhead::wait_for_room(uint64_t produced, uint32_t in_flight, Release&& release) noexcept {
  uint32_t spins = 0;
  for (;;) {
    const uint64_t consumed = consumed_.load(std::memory_order_acquire);
    release(consumed);
    if (produced - consumed < in_flight || stop_.load(std::memory_order_relaxed)) return;
    wait_step(spins);
  }
}

void DecodeAhead::read_all() noexcept {
  uint64_t pcap_cnt = 0;
  uint64_t produced = 0;
  for (const auto& path : files_) {
    auto source = PcapFileSource::open(path, pcap_cnt);
    if (!source) {
      messages_.push_back(source.error());
      failed_ = true;
      break;
    }
    PcapFileSource& file = **source;
    const bool mapped = file.mapped();
    if (mapped) file.hold_frames();
    // Bursts of a mapped file stay in the file until given back; libpcap's arena holds one.
    const uint32_t in_flight = mapped ? kSlots : 1;
    uint64_t released = produced;  // bursts of this file whose pages may go back
    auto release = [&](uint64_t consumed) {
      if (consumed > released) {
        file.release_through(slot_end_[(consumed - 1) % kSlots]);
        released = consumed;
      }
    };
    for (uint64_t bursts = 1; !stop_.load(std::memory_order_relaxed); ++bursts) {
      wait_for_room(produced, in_flight, release);
      Burst& burst = (*slots_)[produced % kSlots];
      const size_t count = file.next_burst(burst.packets);
      if (count == 0) break;
      for (size_t i = 0; i < count; ++i) {
        Packet& packet = burst.packets[i];
        packet.reset_decode();
        decode_packet(packet, decode_stats_, decoder_);
        // The worker looks its flow up by this hash and prefetches with it (Worker::process_decoded_burst).
        if (packet.decoded && packet.ip_version != 0 && !packet.ip_fragment) {
          packet.flow_hash = FlowTable::hash(packet);
          packet.flow_hash_set = true;
        }
      }
      burst.count = static_cast<uint32_t>(count);
      burst.decoded = decode_stats_;
      slot_end_[produced % kSlots] = burst.packets[count - 1].data + burst.packets[count - 1].caplen;
      produced_.store(++produced, std::memory_order_release);
      if (capture_ != nullptr && bursts % Worker::kPublishEveryBursts == 0) {
        CaptureCounters so_far = capture_counters_;
        accumulate(so_far, file.counters());
        capture_->publish(so_far);
      }
    }
    if (stop_.load(std::memory_order_relaxed)) break;
    if (!file.error().empty()) messages_.push_back(path + ": " + file.error());
    // The worker must be done with this file's frames before the file is unmapped.
    wait_for_room(produced, 1, release);
    pcap_cnt += file.packets_read();
    accumulate(capture_counters_, file.counters());
  }
  done_.store(true, std::memory_order_release);
}

DecodeAhead::Burst* DecodeAhead::next() noexcept {
  if (taken_ > 0) consumed_.store(taken_, std::memory_order_release);  // the previous burst is done with
  uint32_t spins = 0;
  for (;;) {
    if (produced_.load(std::memory_order_acquire) > taken_) return &(*slots_)[taken_++ % kSlots];
    if (done_.load(std::memory_order_acquire)) {
      // The last burst was published before done_: look once more.
      if (produced_.load(std::memory_order_acquire) > taken_) return &(*slots_)[taken_++ % kSlots];
      return nullptr;
    }
    wait_step(spins);
  }
}

}  // namespace eastwatch

#include "sensor/main/capture_dispatch.hpp"

#include "sensor/decode/decoder.hpp"

#include <xxhash.h>

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cstring>

#include <x86intrin.h>

namespace eastwatch {

namespace {

uint16_t be16(const uint8_t* p) noexcept { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t be32(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// Both endpoints in a canonical order, so the two directions of a flow hash alike.
struct HashKey {
  uint8_t low_addr[16];
  uint8_t high_addr[16];
  uint32_t fragment_id;
  uint16_t low_port;
  uint16_t high_port;
  uint8_t kind;  // 4 or 6; | 0x80 for a fragment
  uint8_t pad[3];
};

uint32_t hash_endpoints(const uint8_t* a, const uint8_t* b, size_t addr_len, uint16_t port_a, uint16_t port_b,
                        uint32_t fragment_id, uint8_t kind) noexcept {
  HashKey key;
  std::memset(&key, 0, sizeof key);
  const int order = std::memcmp(a, b, addr_len);
  const bool a_low = order < 0 || (order == 0 && port_a <= port_b);
  std::memcpy(key.low_addr, a_low ? a : b, addr_len);
  std::memcpy(key.high_addr, a_low ? b : a, addr_len);
  key.low_port = a_low ? port_a : port_b;
  key.high_port = a_low ? port_b : port_a;
  key.fragment_id = fragment_id;
  key.kind = kind;
  return static_cast<uint32_t>(XXH3_64bits(&key, sizeof key));
}

bool has_ports(uint8_t proto) noexcept { return proto == 6 || proto == 17 || proto == 132; }

uint32_t hash_ipv4(const uint8_t* ip, size_t len) noexcept {
  if (len < 20) return 0;
  const size_t ihl = size_t{ip[0] & 0x0fu} * 4;
  if (ihl < 20 || ihl > len) return 0;
  const uint8_t proto = ip[9];
  if ((be16(ip + 6) & 0x3fff) != 0) {  // MF set or a non-zero offset: every fragment alike
    return hash_endpoints(ip + 12, ip + 16, 4, 0, 0, be16(ip + 4), 0x84);
  }
  uint16_t sport = 0, dport = 0;
  if (has_ports(proto) && ihl + 4 <= len) {
    sport = be16(ip + ihl);
    dport = be16(ip + ihl + 2);
  }
  return hash_endpoints(ip + 12, ip + 16, 4, sport, dport, proto, 4);
}

uint32_t hash_ipv6(const uint8_t* ip, size_t len) noexcept {
  if (len < 40) return 0;
  uint8_t next = ip[6];
  size_t offset = 40;
  for (int headers = 0; headers < 8; ++headers) {  // extension headers, bounded
    if (next == 44) {                              // fragment header
      if (offset + 8 > len) return hash_endpoints(ip + 8, ip + 24, 16, 0, 0, 0, 0x86);
      return hash_endpoints(ip + 8, ip + 24, 16, 0, 0, be32(ip + offset + 4), 0x86);
    }
    if (next != 0 && next != 43 && next != 60 && next != 51) break;
    if (offset + 2 > len) break;
    const size_t header_len = next == 51 ? (size_t{ip[offset + 1]} + 2) * 4 : (size_t{ip[offset + 1]} + 1) * 8;
    next = ip[offset];
    offset += header_len;
  }
  uint16_t sport = 0, dport = 0;
  if (has_ports(next) && offset + 4 <= len) {
    sport = be16(ip + offset);
    dport = be16(ip + offset + 2);
  }
  return hash_endpoints(ip + 8, ip + 24, 16, sport, dport, next, 6);
}

bool has_port(bool enabled, const std::vector<uint16_t>& ports, uint16_t port) noexcept {
  return enabled && std::find(ports.begin(), ports.end(), port) != ports.end();
}

// Whether an IP packet (not a fragment) may carry a mirror encapsulation: GRE, or UDP to a
// VXLAN/Geneve port. Outer fragments are hashed as fragments (defrag rebuilds them in one worker).
bool looks_mirrored(const uint8_t* ip, size_t len, uint16_t ether_type, const DecoderSettings& decoder) noexcept {
  uint8_t proto = 0;
  size_t l4 = 0;
  if (ether_type == 0x0800) {
    if (len < 20 || (be16(ip + 6) & 0x3fff) != 0) return false;
    proto = ip[9];
    l4 = size_t{ip[0] & 0x0fu} * 4;
  } else if (ether_type == 0x86dd) {
    if (len < 40) return false;
    proto = ip[6];
    l4 = 40;
  } else {
    return false;
  }
  if (proto == 47) return true;
  if (proto != 17 || l4 + 4 > len) return false;
  const uint16_t dport = be16(ip + l4 + 2);
  return has_port(decoder.vxlan_enabled, decoder.vxlan_ports, dport) ||
         has_port(decoder.geneve_enabled, decoder.geneve_ports, dport);
}

// An encapsulated frame goes by its inner frame and its mirror session / VNI, as the worker's
// flow table keys it: decoded here (bounded, no allocation) on a copy of the view.
uint32_t hash_mirrored(const Packet& frame, const DecoderSettings& decoder) noexcept {
  Packet inner;
  inner.data = frame.data;
  inner.caplen = frame.caplen;
  inner.wirelen = frame.wirelen;
  inner.link_type = frame.link_type;
  DecodeStats scratch;
  decode_packet(inner, scratch, decoder);
  if (inner.ip_version == 0) return 0;
  const uint8_t* src = inner.src.bytes.data();
  const uint8_t* dst = inner.dst.bytes.data();
  const uint32_t endpoints =
      inner.ip_fragment ? hash_endpoints(src, dst, 16, 0, 0, inner.ip_id, static_cast<uint8_t>(0x80 | inner.ip_version))
                        : hash_endpoints(src, dst, 16, inner.src_port, inner.dst_port, inner.ip_proto, inner.ip_version);
  const uint64_t mirror = inner.mirror.flow_key();
  return endpoints ^ static_cast<uint32_t>(XXH3_64bits(&mirror, sizeof mirror));
}

void backoff(uint32_t& idle) noexcept {
  ++idle;
  if (idle < 64) {
    _mm_pause();
  } else if (idle < 256) {
    std::this_thread::yield();
  } else {
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

}  // namespace

uint32_t flow_hash(const Packet& frame, const DecoderSettings* decoder) noexcept {
  const uint8_t* data = frame.data;
  const size_t len = frame.caplen;
  if (data == nullptr) return 0;
  size_t offset = 0;
  uint16_t ether_type = 0;
  switch (frame.link_type) {
    case LinkType::Ethernet: {
      if (len < 14) return 0;
      ether_type = be16(data + 12);
      offset = 14;
      if (decoder != nullptr && (ether_type == 0x8100 || ether_type == 0x88a8) && len >= 18 &&
          decoder->rspan_vlans.test(be16(data + 14) & 0x0fff)) {
        return hash_mirrored(frame, *decoder);  // an RSPAN copy
      }
      for (int tags = 0; tags < 2 && (ether_type == 0x8100 || ether_type == 0x88a8); ++tags) {
        if (offset + 4 > len) return 0;
        ether_type = be16(data + offset + 2);
        offset += 4;
      }
      break;
    }
    case LinkType::LinuxSll:
      if (len < 16) return 0;
      ether_type = be16(data + 14);
      offset = 16;
      break;
    case LinkType::Null: {
      if (len < 4) return 0;
      uint32_t family = 0;
      std::memcpy(&family, data, 4);
      if (family > 0xffff) family = be32(data);  // written in the other byte order
      ether_type = family == 2 ? 0x0800 : (family == 24 || family == 28 || family == 30) ? 0x86dd : 0;
      offset = 4;
      break;
    }
    case LinkType::Raw:
    case LinkType::Ipv4:
    case LinkType::Ipv6:
      if (len < 1) return 0;
      ether_type = (data[0] >> 4) == 4 ? 0x0800 : (data[0] >> 4) == 6 ? 0x86dd : 0;
      break;
  }
  if (decoder != nullptr && looks_mirrored(data + offset, len - offset, ether_type, *decoder)) {
    return hash_mirrored(frame, *decoder);
  }
  if (ether_type == 0x0800) return hash_ipv4(data + offset, len - offset);
  if (ether_type == 0x86dd) return hash_ipv6(data + offset, len - offset);
  return 0;
}

FrameRing::FrameRing(uint32_t slots, uint32_t slot_bytes)
    : mask_(std::bit_ceil(std::max<uint32_t>(slots, 2)) - 1),
      slot_bytes_(slot_bytes),
      frames_(std::make_unique<Packet[]>(size_t{mask_} + 1)),
      bytes_(std::make_unique_for_overwrite<uint8_t[]>((size_t{mask_} + 1) * slot_bytes)) {}

bool FrameRing::try_push(const Packet& frame, bool& truncated) noexcept {
  const uint64_t head = head_.load(std::memory_order_relaxed);
  if (head - cached_tail_ > mask_) {
    cached_tail_ = tail_.load(std::memory_order_acquire);
    if (head - cached_tail_ > mask_) return false;
  }
  const size_t index = head & mask_;
  uint8_t* slot = bytes_.get() + index * slot_bytes_;
  const uint32_t caplen = std::min(frame.caplen, slot_bytes_);
  truncated = caplen < frame.caplen;
  if (caplen > 0) std::memcpy(slot, frame.data, caplen);
  Packet& out = frames_[index];
  out = Packet{};
  out.data = slot;
  out.caplen = caplen;
  out.wirelen = frame.wirelen;
  out.ts_usec = frame.ts_usec;
  out.pcap_cnt = frame.pcap_cnt;
  out.link_type = frame.link_type;
  head_.store(head + 1, std::memory_order_release);
  return true;
}

size_t FrameRing::peek(std::span<Packet> out) noexcept {
  const uint64_t tail = tail_.load(std::memory_order_relaxed);
  if (cached_head_ - tail < out.size()) cached_head_ = head_.load(std::memory_order_acquire);
  const size_t count = std::min<size_t>(cached_head_ - tail, out.size());
  for (size_t i = 0; i < count; ++i) out[i] = frames_[(tail + i) & mask_];
  return count;
}

WorkerPool::WorkerPool(const Settings& settings, const DetectEngine& detect, OutputThread& output, uint32_t workers,
                       uint32_t producers, uint32_t slot_bytes, const InventoryStore* inventory,
                       RuleStore* rule_store)
    : producers_(std::max<uint32_t>(1, producers)),
      counters_(producers_),
      published_(std::make_unique<Published<ProducerCounterSet>[]>(producers_)) {
  workers = std::max<uint32_t>(1, workers);
  for (uint32_t w = 0; w < workers; ++w) {
    settings_.push_back(std::make_unique<Settings>(settings));
    settings_.back()->flow.worker_index = w;  // flow ids unique across workers
    workers_.push_back(std::make_unique<Worker>(*settings_.back(), detect, output.queue(w), output.flow_queue(w),
                                                  inventory));
    workers_.back()->set_anomaly_queue(output.anomaly_queue(w));
    if (rule_store != nullptr) {
      workers_.back()->attach_rule_store(*rule_store, w);
      rule_store->watch_alert_queue(&output.queue(w));
    }
    workers_.back()->set_pcap_log(output.pcap_log(), w);
  }
  for (uint32_t i = 0; i < producers_ * workers; ++i) rings_.push_back(std::make_unique<FrameRing>(kRingSlots, slot_bytes));
  for (uint32_t w = 0; w < workers; ++w) threads_.emplace_back([this, w] { run(w); });
}

WorkerPool::~WorkerPool() { finish(); }

void WorkerPool::dispatch(uint32_t producer, std::span<const Packet> frames, bool wait_when_full,
                          const std::atomic<bool>* stop) noexcept {
  const uint32_t workers = size();
  DispatchCounters& counters = counters_[producer];
  for (const Packet& frame : frames) {
    const uint32_t target =
        workers == 1 ? 0 : static_cast<uint32_t>((uint64_t{flow_hash(frame, &settings_[0]->decoder)} * workers) >> 32);
    FrameRing& target_ring = ring(producer, target);
    bool truncated = false;
    uint32_t idle = 0;
    bool pushed = true;
    while (!target_ring.try_push(frame, truncated)) {
      if (!wait_when_full || (stop != nullptr && stop->load(std::memory_order_relaxed))) {
        pushed = false;
        break;
      }
      backoff(idle);
    }
    if (!pushed) {
      ++counters.ring_drops;
    } else if (truncated) {
      ++counters.ring_truncated;
    }
  }
}

void WorkerPool::publish_producer(uint32_t producer, const CaptureCounters& capture) noexcept {
  published_[producer].publish(ProducerCounterSet{capture, counters_[producer]});
}

void WorkerPool::close(uint32_t producer) noexcept {
  for (uint32_t w = 0; w < size(); ++w) ring(producer, w).close();
}

void WorkerPool::finish() {
  if (finished_) return;
  finished_ = true;
  for (uint32_t p = 0; p < producers_; ++p) close(p);
  for (auto& thread : threads_) thread.join();
}

void WorkerPool::run(uint32_t index) noexcept {
  std::array<Packet, Worker::kBurstSize> burst{};
  Worker& worker = *workers_[index];
  uint32_t idle = 0;
  for (;;) {
    worker.refresh_rules();  // a reloaded rule set is taken up here too while no traffic comes
    bool any = false;
    bool drained = true;
    for (uint32_t p = 0; p < producers_; ++p) {
      FrameRing& source = ring(p, index);
      const bool closed = source.closed();  // read before peeking: closed and empty means drained
      const size_t count = source.peek(burst);
      if (count > 0) {
        worker.process_burst(std::span<Packet>(burst.data(), count));
        source.release(count);
        any = true;
      }
      if (!closed || count > 0) drained = false;
    }
    if (any) {
      idle = 0;
    } else if (drained) {
      break;
    } else {
      if (idle == 0) worker.idle();  // the live stats: what the last bursts counted
      backoff(idle);
    }
  }
  worker.finish();
  worker.leave_rule_store();
}

}  // namespace eastwatch

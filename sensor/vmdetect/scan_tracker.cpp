#include "sensor/vmdetect/scan_tracker.hpp"

#include <immintrin.h>

namespace eastwatch {

namespace {

uint64_t mix(uint64_t value) noexcept {
  value ^= value >> 30;
  value *= 0xbf58476d1ce4e5b9ull;
  value ^= value >> 27;
  value *= 0x94d049bb133111ebull;
  return value ^ (value >> 31);
}

uint64_t hash_key(const IpKey& key, uint64_t seed) noexcept { return mix(key.high ^ mix(key.low ^ mix(seed))); }

std::unique_ptr<std::atomic<uint8_t>[]> make_flags(uint32_t count) {
  auto flags = std::make_unique<std::atomic<uint8_t>[]>(count);
  for (uint32_t i = 0; i < count; ++i) flags[i].store(0, std::memory_order_relaxed);
  return flags;
}

}  // namespace

ScanTracker::ScanTracker(const VmDetectSettings& settings)
    : settings_(settings),
      ports_(kPortSlots),
      hosts_(kHostSlots),
      services_(kServiceSlots),
      port_flags_(make_flags(kPortSlots)),
      host_flags_(make_flags(kHostSlots)),
      service_flags_(make_flags(kServiceSlots)) {}

bool ScanTracker::lock(std::atomic<uint8_t>* flags, uint32_t index, Counts& counts) noexcept {
  std::atomic<uint8_t>& flag = flags[index];
  for (uint32_t i = 0; i < kSpins; ++i) {
    if (flag.load(std::memory_order_relaxed) == 0 && flag.exchange(1, std::memory_order_acquire) == 0) return true;
    _mm_pause();
  }
  ++counts.busy;
  return false;
}

template <class Slot>
bool ScanTracker::claim(Slot& slot, bool same_key, uint32_t now, uint32_t seconds, Counts& counts) noexcept {
  // Signed: a flow a little older than the window's start (another worker's) is inside it.
  const bool live = slot.used && static_cast<int64_t>(static_cast<int32_t>(now - slot.window_start)) < int64_t{seconds};
  if (same_key && live) return false;
  if (!same_key && live) {
    ++counts.evicted;
    evicted_.fetch_add(1, std::memory_order_relaxed);
  }
  slot.used = true;
  slot.alerted = false;
  slot.count = 0;
  slot.window_start = now;
  return true;
}

bool ScanTracker::port_scan(const IpAddress& source, const IpAddress& dest, uint16_t port, uint32_t now,
                            Counts& counts) noexcept {
  const IpKey src = IpKey::of(source), dst = IpKey::of(dest);
  const uint32_t index = static_cast<uint32_t>(hash_key(src, hash_key(dst, 1)) & (kPortSlots - 1));
  if (!lock(port_flags_.get(), index, counts)) return false;
  PortSlot& slot = ports_[index];
  if (claim(slot, slot.used && slot.source == src && slot.dest == dst, now, settings_.scan_seconds, counts)) {
    slot.source = src;
    slot.dest = dst;
  }
  bool alert = false;
  bool known = false;
  for (uint32_t i = 0; i < slot.count; ++i) {
    if (slot.ports[i] == port) {
      known = true;
      break;
    }
  }
  if (!known && slot.count < kSetCapacity) {
    slot.ports[slot.count++] = port;
    if (!slot.alerted && slot.count > settings_.scan_ports) alert = slot.alerted = true;
  }
  unlock(port_flags_.get(), index);
  return alert;
}

bool ScanTracker::host_sweep(const IpAddress& source, const IpAddress& dest, uint32_t now, Counts& counts) noexcept {
  const IpKey src = IpKey::of(source);
  const uint32_t host = static_cast<uint32_t>(hash_key(IpKey::of(dest), 3));
  const uint32_t index = static_cast<uint32_t>(hash_key(src, 2) & (kHostSlots - 1));
  if (!lock(host_flags_.get(), index, counts)) return false;
  HostSlot& slot = hosts_[index];
  if (claim(slot, slot.used && slot.source == src, now, settings_.scan_seconds, counts)) slot.source = src;
  bool alert = false;
  bool known = false;
  for (uint32_t i = 0; i < slot.count; ++i) {
    if (slot.hosts[i] == host) {
      known = true;
      break;
    }
  }
  if (!known && slot.count < kSetCapacity) {
    slot.hosts[slot.count++] = host;
    if (!slot.alerted && slot.count > settings_.scan_hosts) alert = slot.alerted = true;
  }
  unlock(host_flags_.get(), index);
  return alert;
}

bool ScanTracker::brute_force(const IpAddress& source, const IpAddress& dest, uint16_t port, uint32_t now,
                              Counts& counts) noexcept {
  const IpKey src = IpKey::of(source), dst = IpKey::of(dest);
  const uint32_t index =
      static_cast<uint32_t>(hash_key(src, hash_key(dst, 4 + (uint64_t{port} << 8))) & (kServiceSlots - 1));
  if (!lock(service_flags_.get(), index, counts)) return false;
  ServiceSlot& slot = services_[index];
  const bool same = slot.used && slot.source == src && slot.dest == dst && slot.port == port;
  if (claim(slot, same, now, settings_.brute_force_seconds, counts)) {
    slot.source = src;
    slot.dest = dst;
    slot.port = port;
  }
  ++slot.count;
  bool alert = false;
  if (!slot.alerted && slot.count > settings_.brute_force_connections) alert = slot.alerted = true;
  unlock(service_flags_.get(), index);
  return alert;
}

}  // namespace eastwatch

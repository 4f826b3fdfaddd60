#include "sensor/vmdetect/scan_tracker.hpp"

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

}  // namespace

ScanTracker::ScanTracker(const VmDetectSettings& settings)
    : settings_(settings),
      ports_(std::make_unique<PortSlot[]>(kPortSlots)),
      hosts_(std::make_unique<HostSlot[]>(kHostSlots)),
      services_(std::make_unique<ServiceSlot[]>(kServiceSlots)) {}

template <class Slot>
bool ScanTracker::claim(Slot& slot, bool same_key, uint32_t now, uint32_t seconds) noexcept {
  const bool live = slot.used && now - slot.window_start < seconds;
  if (same_key && live) return false;
  if (!same_key && live) ++evicted_;
  slot.used = true;
  slot.alerted = false;
  slot.count = 0;
  slot.window_start = now;
  return true;
}

bool ScanTracker::port_scan(const IpAddress& source, const IpAddress& dest, uint16_t port, uint32_t now) noexcept {
  const IpKey src = IpKey::of(source), dst = IpKey::of(dest);
  PortSlot& slot = ports_[hash_key(src, hash_key(dst, 1)) & (kPortSlots - 1)];
  if (claim(slot, slot.used && slot.source == src && slot.dest == dst, now, settings_.scan_seconds)) {
    slot.source = src;
    slot.dest = dst;
  }
  for (uint32_t i = 0; i < slot.count; ++i) {
    if (slot.ports[i] == port) return false;
  }
  if (slot.count >= kSetCapacity) return false;
  slot.ports[slot.count++] = port;
  if (slot.alerted || slot.count <= settings_.scan_ports) return false;
  slot.alerted = true;
  return true;
}

bool ScanTracker::host_sweep(const IpAddress& source, const IpAddress& dest, uint32_t now) noexcept {
  const IpKey src = IpKey::of(source);
  HostSlot& slot = hosts_[hash_key(src, 2) & (kHostSlots - 1)];
  if (claim(slot, slot.used && slot.source == src, now, settings_.scan_seconds)) slot.source = src;
  const uint32_t host = static_cast<uint32_t>(hash_key(IpKey::of(dest), 3));
  for (uint32_t i = 0; i < slot.count; ++i) {
    if (slot.hosts[i] == host) return false;
  }
  if (slot.count >= kSetCapacity) return false;
  slot.hosts[slot.count++] = host;
  if (slot.alerted || slot.count <= settings_.scan_hosts) return false;
  slot.alerted = true;
  return true;
}

bool ScanTracker::brute_force(const IpAddress& source, const IpAddress& dest, uint16_t port, uint32_t now) noexcept {
  const IpKey src = IpKey::of(source), dst = IpKey::of(dest);
  ServiceSlot& slot = services_[hash_key(src, hash_key(dst, 4 + (uint64_t{port} << 8))) & (kServiceSlots - 1)];
  const bool same = slot.used && slot.source == src && slot.dest == dst && slot.port == port;
  if (claim(slot, same, now, settings_.brute_force_seconds)) {
    slot.source = src;
    slot.dest = dst;
    slot.port = port;
  }
  ++slot.count;
  if (slot.alerted || slot.count <= settings_.brute_force_connections) return false;
  slot.alerted = true;
  return true;
}

}  // namespace eastwatch

// Connection-rate tracking for the scan (sid 6) and brute-force (sid 7) detectors: how many
// distinct ports of one neighbour, how many distinct neighbours, and how many new connections
// to one service a source opened within a window of packet time.
//
// Contract:
//  - Per worker; three direct-mapped tables allocated in the constructor (ports: 4,096 entries
//    keyed by (source, destination); hosts: 1,024 keyed by source; services: 4,096 keyed by
//    (source, destination, port)), nothing afterwards. Every call is noexcept, allocation-free
//    and bounded (a set holds at most kSetCapacity members, scanned linearly).
//  - Windows are fixed: they start at an entry's first new flow and restart `seconds` later.
//    Each call returns true once per window, for the new flow that crosses the threshold
//    (more than `ports` ports, `hosts` hosts, `connections` connections).
//  - A colliding key takes a slot over; a slot still inside its window that is taken over is
//    counted in `evicted()` (its counts are lost: a scan spread over many sources can hide).
#pragma once

#include <cstdint>
#include <memory>

#include "config/settings.hpp"
#include "signatures/address.hpp"

namespace eastwatch {

class ScanTracker {
 public:
  static constexpr uint32_t kSetCapacity = 64;  // thresholds are at most kSetCapacity - 1
  static constexpr uint32_t kPortSlots = 4096;
  static constexpr uint32_t kHostSlots = 1024;
  static constexpr uint32_t kServiceSlots = 4096;

  explicit ScanTracker(const VmDetectSettings& settings);

  // A new flow from `source` to port `port` of neighbour `dest` at `now` (seconds).
  // Returns true when it makes more than `scan_ports` distinct ports of `dest`.
  bool port_scan(const IpAddress& source, const IpAddress& dest, uint16_t port, uint32_t now) noexcept;
  // Returns true when it makes more than `scan_hosts` distinct neighbours of `source`.
  bool host_sweep(const IpAddress& source, const IpAddress& dest, uint32_t now) noexcept;
  // A new connection to the service `dest:port`: true when it makes more than
  // `brute_force_connections` within `brute_force_seconds`.
  bool brute_force(const IpAddress& source, const IpAddress& dest, uint16_t port, uint32_t now) noexcept;

  uint64_t evicted() const noexcept { return evicted_; }

 private:
  struct PortSlot {
    IpKey source, dest;
    bool used = false;
    bool alerted = false;
    uint8_t count = 0;
    uint32_t window_start = 0;
    uint16_t ports[kSetCapacity];
  };
  struct HostSlot {
    IpKey source;
    bool used = false;
    bool alerted = false;
    uint8_t count = 0;
    uint32_t window_start = 0;
    uint32_t hosts[kSetCapacity];  // 32-bit hashes of the neighbours' addresses
  };
  struct ServiceSlot {
    IpKey source, dest;
    uint16_t port = 0;
    bool used = false;
    bool alerted = false;
    uint32_t window_start = 0;
    uint32_t count = 0;
  };

  // Takes the slot over for a new key or restarts an expired window; true when it was reset.
  template <class Slot>
  bool claim(Slot& slot, bool same_key, uint32_t now, uint32_t seconds) noexcept;

  VmDetectSettings settings_;
  std::unique_ptr<PortSlot[]> ports_;
  std::unique_ptr<HostSlot[]> hosts_;
  std::unique_ptr<ServiceSlot[]> services_;
  uint64_t evicted_ = 0;
};

}  // namespace eastwatch

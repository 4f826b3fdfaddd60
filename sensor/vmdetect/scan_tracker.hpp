// Connection-rate tracking for the scan (sid 6) and brute-force (sid 7) detectors: how many
// distinct ports of one neighbour, how many distinct neighbours, and how many new connections
// to one service a source opened within a window of packet time.
//
// Contract:
//  - One instance per run, shared by every worker (InventoryStore::scans(); a VmDetector given
//    none owns a private one): flows are spread over workers by a symmetric hash of both ends,
//    so one source's probes of many ports or neighbours land on different workers, and only a
//    shared count sees the whole scan.
//  - Three direct-mapped tables allocated in the constructor (ports: 4,096 entries keyed by
//    (source, destination); hosts: 1,024 keyed by source; services: 4,096 keyed by (source,
//    destination, port)), nothing afterwards. Every call is noexcept, allocation-free and
//    bounded (a set holds at most kSetCapacity members, scanned linearly).
//  - Thread-safe: each slot has a flag taken with one atomic exchange and held for the look-up
//    and update of that slot (no system call, no allocation inside). A caller that does not get
//    it within kSpins tries gives up: counted in its `busy`, and the flow is not counted. Callers
//    come here only for the first packet of a new flow (TCP SYN, UDP), never per packet.
//  - Windows are fixed: they start at an entry's first new flow and restart `seconds` later.
//    Packet times of several workers need not be ordered: a flow older than the window's start
//    counts in it. Each call returns true once per window (whichever worker calls), for the
//    new flow that crosses the threshold (more than `ports` ports, `hosts` hosts,
//    `connections` connections).
//  - A colliding key takes a slot over; a slot still inside its window that is taken over is
//    counted in the caller's `evicted` and in `evicted()` (its counts are lost: a scan spread
//    over many sources can hide).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "config/settings.hpp"
#include "signatures/address.hpp"
#include "sensor/util/zeroed_array.hpp"

namespace eastwatch {

class ScanTracker {
 public:
  static constexpr uint32_t kSetCapacity = 64;  // thresholds are at most kSetCapacity - 1
  static constexpr uint32_t kPortSlots = 4096;
  static constexpr uint32_t kHostSlots = 1024;
  static constexpr uint32_t kServiceSlots = 4096;
  static constexpr uint32_t kSpins = 1024;

  // What one caller (a worker's VmDetector) saw; summed over callers they count each event once.
  struct Counts {
    uint64_t evicted = 0;  // slots taken over inside their window
    uint64_t busy = 0;     // flows not counted: the slot's flag was not obtained
  };

  explicit ScanTracker(const VmDetectSettings& settings);

  // A new flow from `source` to port `port` of neighbour `dest` at `now` (seconds).
  // Returns true when it makes more than `scan_ports` distinct ports of `dest`.
  bool port_scan(const IpAddress& source, const IpAddress& dest, uint16_t port, uint32_t now, Counts& counts) noexcept;
  // Returns true when it makes more than `scan_hosts` distinct neighbours of `source`.
  bool host_sweep(const IpAddress& source, const IpAddress& dest, uint32_t now, Counts& counts) noexcept;
  // A new connection to the service `dest:port`: true when it makes more than
  // `brute_force_connections` within `brute_force_seconds`.
  bool brute_force(const IpAddress& source, const IpAddress& dest, uint16_t port, uint32_t now,
                   Counts& counts) noexcept;

  // Slots taken over inside their window, by every caller together.
  uint64_t evicted() const noexcept { return evicted_.load(std::memory_order_relaxed); }

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
  bool claim(Slot& slot, bool same_key, uint32_t now, uint32_t seconds, Counts& counts) noexcept;
  // Takes flag `index` of `flags` (bounded spinning); false, counted in `busy`, when not obtained.
  static bool lock(std::atomic<uint8_t>* flags, uint32_t index, Counts& counts) noexcept;
  static void unlock(std::atomic<uint8_t>* flags, uint32_t index) noexcept {
    flags[index].store(0, std::memory_order_release);
  }

  VmDetectSettings settings_;
  ZeroedArray<PortSlot> ports_;  // zero pages: backed as slots are first used
  ZeroedArray<HostSlot> hosts_;
  ZeroedArray<ServiceSlot> services_;
  std::unique_ptr<std::atomic<uint8_t>[]> port_flags_;
  std::unique_ptr<std::atomic<uint8_t>[]> host_flags_;
  std::unique_ptr<std::atomic<uint8_t>[]> service_flags_;
  std::atomic<uint64_t> evicted_{0};
};

}  // namespace eastwatch

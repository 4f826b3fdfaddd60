// The VM inventory of a run, set up the same way for every capture path (file replay, libpcap
// live capture, DPDK), so each gets the same `vm` enrichment and built-in detectors:
//  - `load` reads `inventory.file` at start (none: an empty RunInventory); a bad file prints
//    every problem as `FILE:LINE: key: what is wrong` and fails (the caller exits 2). The
//    inventory's $ZONE_<zone> / $VM_<name> rule variables go into the settings, so it must run
//    before the rules load. It publishes the snapshot and allocates the learned bindings that
//    the run's workers share (vm-detect.arp-spoofing / mac-spoofing memcap and timeout), and
//    the scan / brute-force counts (vmdetect sids 6 and 7) they share.
//  - `start_watching` starts the control thread that reloads the file when it changes and on
//    SIGHUP, for the rest of the run.
//  - `store()` is what every Worker reads (null without an inventory); its counters go into
//    the stats record as `inventory.*`.
#pragma once

#include <memory>

#include <tl/expected.hpp>

#include "config/settings.hpp"
#include "sensor/inventory/inventory_store.hpp"

namespace eastwatch {

class RunInventory {
 public:
  static tl::expected<std::unique_ptr<RunInventory>, int> load(Settings& settings);

  void start_watching();
  const InventoryStore* store() const noexcept { return file_.empty() ? nullptr : &store_; }

 private:
  std::string file_;
  uint32_t check_interval_ms_ = 1000;
  InventoryStore store_;
  std::unique_ptr<InventoryWatcher> watcher_;
};

}  // namespace eastwatch

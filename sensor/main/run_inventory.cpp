#include "sensor/main/run_inventory.hpp"

#include <cstdio>

#include "sensor/main/hangup.hpp"
#include "sensor/vmdetect/scan_tracker.hpp"

namespace eastwatch {

tl::expected<std::unique_ptr<RunInventory>, int> RunInventory::load(Settings& settings) {
  auto run = std::make_unique<RunInventory>();
  run->file_ = settings.inventory.file;
  run->check_interval_ms_ = settings.inventory.check_interval_ms;
  if (run->file_.empty()) return run;
  auto loaded = load_inventory_file(run->file_);
  if (!loaded) {
    for (const auto& error : loaded.error()) std::fprintf(stderr, "%s\n", error.c_str());
    std::fprintf(stderr, "eastwatch: invalid inventory (%zu problem%s)\n", loaded.error().size(),
                 loaded.error().size() == 1 ? "" : "s");
    return tl::unexpected(2);
  }
  for (auto& [name, value] : (*loaded)->rule_variables()) settings.variables.address_groups[name] = value;
  run->store_.publish(std::move(*loaded));
  const VmDetectSettings& detect = settings.vm_detect;
  if (detect.enabled && ((detect.arp_spoofing && detect.learn_bindings) || (detect.mac_spoofing && detect.learn_segments))) {
    run->store_.enable_learning(detect.binding_memcap, detect.binding_timeout, detect.segment_memcap,
                                detect.segment_timeout);
  }
  // sids 6 and 7 count one source's flows on every worker together.
  if (detect.enabled && (detect.scan || detect.brute_force)) {
    run->store_.share_scans(std::make_shared<ScanTracker>(detect));
  }
  return run;
}

void RunInventory::start_watching() {
  if (file_.empty() || watcher_) return;
  install_hangup_handler();
  watcher_ = std::make_unique<InventoryWatcher>(file_, store_, check_interval_ms_, &hangup_count());
}

}  // namespace eastwatch

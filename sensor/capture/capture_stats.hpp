// Capture counters, named as in Suricata's EVE schema (stats.capture.*).
#pragma once

#include <cstdint>

namespace eastwatch {

struct CaptureCounters {
  uint64_t kernel_packets = 0;  // frames delivered by the source (for a file: frames read)
  uint64_t kernel_drops = 0;    // frames the source lost (live capture)
  uint64_t errors = 0;          // read errors

  template <class F>
  void visit(F&& f) const {
    f("kernel_packets", kernel_packets); f("kernel_drops", kernel_drops); f("errors", errors);
  }
};

}  // namespace eastwatch

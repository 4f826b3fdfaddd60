// Alerts counted by signature and by the zones of their two sides, for the metrics
// (Prometheus labels must stay bounded: a capped table with an "other" bucket).
//
// Contract:
//  - `count` is called by the output thread for every alert it writes; it allocates only the
//    first time a signature (or zone pair) is seen, at most `max_signatures` (`max_zone_pairs`)
//    times (`max_vm_pairs` for VM pairs); alerts past a cap go to its `other_*`, counted.
//  - `copy` may be called from any thread (a mutex guards the tables; the output thread holds
//    it for one increment, never a worker).
//  - A side without an inventory VM (or without an inventory at all) is zone and VM "unknown".
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "sensor/detect/alert_event.hpp"

namespace eastwatch {

class AlertTally {
 public:
  struct Signature {
    uint32_t gid = 0;
    uint32_t sid = 0;
    uint32_t rev = 0;
    std::string msg;
    uint64_t alerts = 0;
  };
  struct ZonePair {
    std::string src_zone;
    std::string dest_zone;
    uint64_t alerts = 0;
  };
  struct VmPair {  // inventory VM names; "unknown": no VM on that side
    std::string src_vm;
    std::string dest_vm;
    uint64_t alerts = 0;
  };
  struct Copy {
    uint64_t alerts = 0;  // every alert counted
    std::vector<Signature> signatures;  // in first-seen order
    uint64_t other_signatures = 0;      // alerts of signatures past the cap
    std::vector<ZonePair> zone_pairs;
    uint64_t other_zone_pairs = 0;
    std::vector<VmPair> vm_pairs;
    uint64_t other_vm_pairs = 0;
  };

  AlertTally(uint32_t max_signatures, uint32_t max_zone_pairs, uint32_t max_vm_pairs = 200)
      : max_signatures_(max_signatures), max_zone_pairs_(max_zone_pairs), max_vm_pairs_(max_vm_pairs) {}

  void count(const AlertEvent& event);
  Copy copy() const;

 private:
  const uint32_t max_signatures_;
  const uint32_t max_zone_pairs_;
  const uint32_t max_vm_pairs_;
  mutable std::mutex mutex_;
  Copy tally_;
  std::unordered_map<uint64_t, size_t> signature_index_;     // gid:sid -> index (rev kept per entry)
  std::unordered_map<std::string, size_t> zone_pair_index_;  // "src\ndest" -> index
  std::unordered_map<std::string, size_t> vm_pair_index_;
  std::string key_;  // scratch for the pair look-ups
};

}  // namespace eastwatch

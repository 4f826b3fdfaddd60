// State of the `tag` keyword (Suricata's detect-engine-tag.c semantics): the tags of a flow
// live in the Flow (`Flow::tags`), those of hosts in a per-worker TagTable.
//
// A tag is set when its rule alerts (a rule that alerts again renews its tag, at most 9 times,
// as Suricata's DETECT_TAG_MATCH_LIMIT). From then on every packet of the flow, or every
// packet from or to the host, is counted against it: its packets, its captured bytes, or the
// seconds since the alert. The alerting packet counts but is not tagged; each later packet is
// tagged while the count is not exceeded (`used > count` or `now - alert > count` seconds ends
// the tag). So `tag:session,4,packets` tags the 3 packets that follow the alert, as Suricata.
// A packet is tagged once however many tags hold it.
//
// Contract: fixed capacity, allocated at construction; nothing here allocates, locks or
// throws. The table holds `capacity` hosts in 4-way buckets, up to kTagsPerHost tags each;
// a full bucket gives up the host seen least recently (counted in `evicted`), a full list
// drops the new tag (`add` says so). A host's tags also end after 600 s without
// packets (Suricata's TAG_MAX_LAST_TIME_SEEN). Limitation: per worker, so a host whose flows
// land on two workers is tagged in the worker of the alerting flow only.
#pragma once

#include <cstdint>
#include <memory>

#include "sensor/flow/flow.hpp"
#include "signatures/address.hpp"
#include "signatures/rule.hpp"
#include "sensor/util/zeroed_array.hpp"

namespace eastwatch {

// Sets or renews the tag of rule (sid, gid) in `tags` (`count` in use of `capacity`); false
// when the list was full and the tag was dropped.
bool add_tag(TagState* tags, uint8_t& count, uint8_t capacity, const TagOption& option, uint32_t sid, uint32_t gid,
             int64_t ts_usec) noexcept;

// Counts one packet of `packet_len` bytes at `ts_usec` against every tag of the list, removes
// the tags it exhausts; true when the packet is tagged by one of them.
bool advance_tags(TagState* tags, uint8_t& count, uint32_t packet_len, int64_t ts_usec) noexcept;

class TagTable {
 public:
  static constexpr uint8_t kTagsPerHost = 4;
  static constexpr int64_t kIdleSeconds = 600;

  explicit TagTable(uint32_t capacity = 1u << 13);

  // A host tag of rule (sid, gid) on `host`, set by an alert at `ts_usec`; false when the
  // host's list was full and the tag was dropped.
  bool add(const IpAddress& host, const TagOption& option, uint32_t sid, uint32_t gid, int64_t ts_usec) noexcept;
  // Counts the packet against the tags of its source and of its destination; true when tagged.
  bool advance(const IpAddress& src, const IpAddress& dst, uint32_t packet_len, int64_t ts_usec) noexcept;

  uint32_t active() const noexcept { return active_; }  // hosts with tags; 0: nothing to look up
  uint64_t evicted() const noexcept { return evicted_; }

 private:
  struct Entry {
    uint64_t hash = 0;
    IpAddress host;
    int64_t last_sec = 0;
    uint8_t tag_count = 0;  // 0: free
    TagState tags[kTagsPerHost];
  };
  static constexpr uint32_t kWays = 4;

  Entry* find(const IpAddress& host, uint64_t hash) noexcept;
  bool advance_host(const IpAddress& host, uint32_t packet_len, int64_t ts_usec) noexcept;
  void release(Entry& e) noexcept;

  uint32_t bucket_mask_;
  ZeroedArray<Entry> entries_;
  uint32_t active_ = 0;
  uint64_t evicted_ = 0;
};

}  // namespace eastwatch

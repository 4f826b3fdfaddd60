#include "sensor/flow/flow_table.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace eastwatch {

namespace {

constexpr uint32_t kReclaimChecks = 32;  // timed-out flows looked for before evicting the LRU one

// The symmetric part of the key, laid out for hashing: lower (address, port) endpoint first.
struct HashKey {
  uint8_t low_address[16];
  uint8_t high_address[16];
  uint16_t low_port;
  uint16_t high_port;
  uint16_t vlan[2];
  uint8_t ip_proto;
  uint8_t pad[7];
  uint64_t mirror;  // MirrorInfo::flow_key()
};

// Byte-wise order of the addresses (as IpAddress's), as two big-endian 64-bit compares.
bool endpoint_less(const IpAddress& a, uint16_t a_port, const IpAddress& b, uint16_t b_port) {
  uint64_t a_words[2], b_words[2];
  std::memcpy(a_words, a.bytes.data(), 16);
  std::memcpy(b_words, b.bytes.data(), 16);
  if (a_words[0] != b_words[0]) return __builtin_bswap64(a_words[0]) < __builtin_bswap64(b_words[0]);
  if (a_words[1] != b_words[1]) return __builtin_bswap64(a_words[1]) < __builtin_bswap64(b_words[1]);
  return a_port < b_port;
}

bool same_address(const IpAddress& a, const IpAddress& b) noexcept {
  uint64_t a_words[2], b_words[2];
  std::memcpy(a_words, a.bytes.data(), 16);
  std::memcpy(b_words, b.bytes.data(), 16);
  return ((a_words[0] ^ b_words[0]) | (a_words[1] ^ b_words[1])) == 0;
}

uint64_t flow_hash(const Packet& p) noexcept {
  HashKey key;
  std::memset(&key, 0, sizeof key);
  const bool src_low = endpoint_less(p.src, p.src_port, p.dst, p.dst_port);
  const IpAddress& low = src_low ? p.src : p.dst;
  const IpAddress& high = src_low ? p.dst : p.src;
  std::memcpy(key.low_address, low.bytes.data(), 16);
  std::memcpy(key.high_address, high.bytes.data(), 16);
  key.low_port = src_low ? p.src_port : p.dst_port;
  key.high_port = src_low ? p.dst_port : p.src_port;
  key.vlan[0] = p.vlan_id[0];
  key.vlan[1] = p.vlan_id[1];
  key.ip_proto = p.ip_proto;
  key.mirror = p.mirror.flow_key();
  return XXH3_64bits(&key, sizeof key);
}

// A bijection on [0, 2^51): unique, non-zero flow ids from a sequence number, that do not
// look sequential (Suricata's flow_id is a JSON-safe positive integer too).
uint64_t flow_id_from_sequence(uint64_t sequence) noexcept {
  constexpr uint64_t kMask = (uint64_t{1} << 51) - 1;
  uint64_t x = sequence & kMask;
  x = (x * 0x5DEECE66Dull) & kMask;
  x ^= x >> 25;
  x = (x * 0x2545F4914F6CDD1Dull) & kMask;
  x ^= x >> 23;
  return x;
}

const FlowTimeouts& timeouts_for(const FlowSettings& settings, uint8_t ip_proto) noexcept {
  switch (ip_proto) {
    case 6: return settings.tcp;
    case 17: return settings.udp;
    case 1:
    case 58: return settings.icmp;
    default: return settings.other;
  }
}

uint64_t next_pow2(uint64_t v) {
  uint64_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

}  // namespace

FlowTable::FlowTable(const FlowSettings& settings)
    : settings_(settings), sequence_(uint64_t{settings.worker_index} << 40) {
  const uint64_t per_flow = sizeof(Flow) + 2 * sizeof(Slot) + sizeof(uint32_t);
  const uint64_t by_memcap = settings.memcap / per_flow;
  capacity_ = static_cast<uint32_t>(std::clamp<uint64_t>(by_memcap, 16, uint64_t{1} << 28));
  const uint64_t slot_count = std::max<uint64_t>(next_pow2(uint64_t{capacity_} * 2), settings.hash_size);
  slot_mask_ = next_pow2(slot_count) - 1;
  // Zero pages (sensor/util): memory costs RSS, start-up and exit time only once used.
  flows_ = ZeroedArray<Flow>(capacity_);
  slots_ = ZeroedArray<Slot>(uint64_t{slot_mask_} + 1);
  free_ = ZeroedArray<uint32_t>(capacity_);
  counters_.spare = capacity_;
}

FlowTable::~FlowTable() = default;

bool FlowTable::timed_out(const Flow& flow, int64_t now_usec) const noexcept {
  const FlowTimeouts& t = timeouts_for(settings_, flow.key.ip_proto);
  uint32_t seconds = 0;
  switch (flow.state) {
    case FlowState::New: seconds = emergency_ ? t.emergency_new_seconds : t.new_seconds; break;
    case FlowState::Established:
      seconds = emergency_ ? t.emergency_established_seconds : t.established_seconds;
      break;
    case FlowState::Closed: seconds = emergency_ ? t.emergency_closed_seconds : t.closed_seconds; break;
  }
  return now_usec - flow.last_usec > int64_t{seconds} * 1'000'000;
}

void FlowTable::slot_insert(uint64_t hash, uint32_t index) noexcept {
  uint64_t i = hash & slot_mask_;
  Slot* slots = slots_.data();
  while (slots[i].index != 0) i = (i + 1) & slot_mask_;
  slots[i] = Slot{static_cast<uint32_t>(hash >> 32), index + 1};
}

void FlowTable::slot_erase(uint64_t hash, uint32_t index) noexcept {
  Slot* slots = slots_.data();
  uint64_t i = hash & slot_mask_;
  for (uint64_t probes = 0; slots[i].index != index + 1; ++probes) {
    if (slots[i].index == 0 || probes > slot_mask_) return;  // not present: nothing to do
    i = (i + 1) & slot_mask_;
  }
  // Backward-shift deletion keeps every probe sequence unbroken without tombstones.
  uint64_t j = i;
  while (true) {
    j = (j + 1) & slot_mask_;
    if (slots[j].index == 0) break;
    const uint64_t home = flows_.data()[slots[j].index - 1].hash & slot_mask_;
    const bool movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
    if (movable) {
      slots[i] = slots[j];
      i = j;
    }
  }
  slots[i] = Slot{0, 0};
}

void FlowTable::lru_unlink(uint32_t index) noexcept {
  Flow* flows = flows_.data();
  Flow& flow = flows[index];
  if (flow.lru_prev != 0) {
    flows[flow.lru_prev - 1].lru_next = flow.lru_next;
  } else {
    lru_head_ = flow.lru_next;
  }
  if (flow.lru_next != 0) {
    flows[flow.lru_next - 1].lru_prev = flow.lru_prev;
  } else {
    lru_tail_ = flow.lru_prev;
  }
  flow.lru_prev = flow.lru_next = 0;
}

void FlowTable::lru_push_tail(uint32_t index) noexcept {
  Flow* flows = flows_.data();
  Flow& flow = flows[index];
  flow.lru_prev = lru_tail_;
  flow.lru_next = 0;
  if (lru_tail_ != 0) {
    flows[lru_tail_ - 1].lru_next = index + 1;
  } else {
    lru_head_ = index + 1;
  }
  lru_tail_ = index + 1;
}

void FlowTable::end_flow(uint32_t index, FlowEndReason reason) noexcept {
  Flow& flow = flows_.data()[index];
  if (on_end_) on_end_(flow, reason);
  slot_erase(flow.hash, index);
  lru_unlink(index);
  flow.in_use = false;
  free_.data()[free_count_++] = index;
  --counters_.active;
  ++counters_.spare;
  ++counters_.end;
  if (reason == FlowEndReason::Timeout) ++counters_.timeout;
}

void FlowTable::update_emergency() noexcept {
  if (!emergency_) return;
  const uint64_t available = free_count_ + (capacity_ - never_used_);
  if (available * 100 >= uint64_t{capacity_} * settings_.emergency_recovery) {
    emergency_ = false;
    ++counters_.emerg_mode_over;
  }
}

Flow* FlowTable::allocate(int64_t now_usec) noexcept {
  uint32_t index = 0;
  if (free_count_ > 0) {
    index = free_.data()[--free_count_];
  } else if (never_used_ < capacity_) {
    index = never_used_++;
  } else {
    // The pool is exhausted: emergency mode (short timeouts), reclaim a timed-out flow
    // near the LRU head, else evict the least recently used flow.
    if (!emergency_) {
      emergency_ = true;
      ++counters_.emerg_mode_entered;
    }
    uint32_t cursor = lru_head_;
    for (uint32_t checks = 0; cursor != 0 && checks < kReclaimChecks; ++checks) {
      const uint32_t candidate = cursor - 1;
      cursor = flows_.data()[candidate].lru_next;
      if (timed_out(flows_.data()[candidate], now_usec)) {
        end_flow(candidate, FlowEndReason::Timeout);
        break;
      }
    }
    if (free_count_ == 0) {
      if (lru_head_ == 0) return nullptr;
      end_flow(lru_head_ - 1, FlowEndReason::Evicted);
      ++counters_.get_used;
    }
    index = free_.data()[--free_count_];
  }
  Flow* flow = new (&flows_.data()[index]) Flow{};
  flow->in_use = true;
  lru_push_tail(index);
  ++counters_.active;
  --counters_.spare;
  return flow;
}

uint64_t FlowTable::hash(const Packet& packet) noexcept { return flow_hash(packet); }

void FlowTable::prefetch_flow(const Packet& packet) const noexcept {
  if (!packet.flow_hash_set) return;
  const uint32_t tag = static_cast<uint32_t>(packet.flow_hash >> 32);
  const Slot* slots = slots_.data();
  // The first few slots of the probe sequence (most flows sit at their home slot).
  uint64_t i = packet.flow_hash & slot_mask_;
  for (int probes = 0; probes < 4 && slots[i].index != 0; ++probes, i = (i + 1) & slot_mask_) {
    if (slots[i].tag != tag) continue;
    // Every line of it: the lookup reads the key and counters, the stream engine, app layer and
    // detection the fields further on, and the LRU links are last.
    const uintptr_t first = reinterpret_cast<uintptr_t>(flows_.data() + (slots[i].index - 1));
    for (uintptr_t line = first & ~uintptr_t{63}; line < first + sizeof(Flow); line += 64) {
      __builtin_prefetch(reinterpret_cast<const void*>(line));
    }
    return;
  }
}

const Flow* FlowTable::peek(const Packet& p) const noexcept {
  if (!p.flow_hash_set) return nullptr;
  const uint32_t tag = static_cast<uint32_t>(p.flow_hash >> 32);
  const Slot* slots = slots_.data();
  for (uint64_t i = p.flow_hash & slot_mask_; slots[i].index != 0; i = (i + 1) & slot_mask_) {
    if (slots[i].tag != tag) continue;
    const Flow& candidate = flows_.data()[slots[i].index - 1];
    const FlowKey& k = candidate.key;
    if (candidate.hash != p.flow_hash || k.ip_proto != p.ip_proto) continue;
    if ((k.client_port == p.src_port && k.server_port == p.dst_port && same_address(k.client, p.src) &&
         same_address(k.server, p.dst)) ||
        (k.client_port == p.dst_port && k.server_port == p.src_port && same_address(k.client, p.dst) &&
         same_address(k.server, p.src))) {
      return &candidate;
    }
  }
  return nullptr;
}

Flow* FlowTable::process(Packet& p) noexcept {
  if (p.ip_version == 0) return nullptr;
  const uint64_t hash = p.flow_hash_set ? p.flow_hash : flow_hash(p);
  const uint32_t tag = static_cast<uint32_t>(hash >> 32);
  Flow* flows = flows_.data();
  const Slot* slots = slots_.data();
  Flow* flow = nullptr;
  for (uint64_t i = hash & slot_mask_; slots[i].index != 0; i = (i + 1) & slot_mask_) {
    if (slots[i].tag != tag) continue;
    Flow& candidate = flows[slots[i].index - 1];
    const FlowKey& k = candidate.key;
    if (candidate.hash != hash || k.ip_proto != p.ip_proto || k.vlan_id[0] != p.vlan_id[0] ||
        k.vlan_id[1] != p.vlan_id[1] || k.mirror != p.mirror.flow_key()) {
      continue;
    }
    const bool forward = k.client_port == p.src_port && k.server_port == p.dst_port &&
                         same_address(k.client, p.src) && same_address(k.server, p.dst);
    const bool reverse = k.client_port == p.dst_port && k.server_port == p.src_port &&
                         same_address(k.client, p.dst) && same_address(k.server, p.src);
    if (forward || reverse) {
      flow = &candidate;
      break;
    }
  }

  if (flow == nullptr) {
    flow = allocate(p.ts_usec);
    if (flow == nullptr) {
      ++counters_.memcap;
      return nullptr;
    }
    const uint32_t index = static_cast<uint32_t>(flow - flows);
    // A flow seen first at its SYN/ACK belongs to the other side (Suricata does the same).
    const bool flip = p.ip_proto == 6 && (p.tcp_flags & (tcp_flag::Syn | tcp_flag::Ack)) == (tcp_flag::Syn | tcp_flag::Ack);
    FlowKey& k = flow->key;
    k.client = flip ? p.dst : p.src;
    k.server = flip ? p.src : p.dst;
    k.client_port = flip ? p.dst_port : p.src_port;
    k.server_port = flip ? p.src_port : p.dst_port;
    k.vlan_id[0] = p.vlan_id[0];
    k.vlan_id[1] = p.vlan_id[1];
    k.ip_proto = p.ip_proto;
    k.ip_version = p.ip_version;
    k.mirror = p.mirror.flow_key();
    flow->mirror_sensor_src = p.mirror.sensor_src;
    flow->hash = hash;
    flow->flow_id = flow_id_from_sequence(++sequence_);
    flow->start_usec = p.ts_usec;
    slot_insert(hash, index);
    ++counters_.total;
    switch (p.ip_proto) {
      case 6: ++counters_.tcp; break;
      case 17: ++counters_.udp; break;
      case 1: ++counters_.icmpv4; break;
      case 58: ++counters_.icmpv6; break;
      default: break;
    }
  } else if (lru_tail_ != static_cast<uint32_t>(flow - flows) + 1) {
    const uint32_t index = static_cast<uint32_t>(flow - flows);
    lru_unlink(index);
    lru_push_tail(index);
  }

  const FlowKey& k = flow->key;
  const bool to_server = k.client_port == p.src_port && same_address(k.client, p.src);
  p.flow = flow;
  p.to_server = to_server;
  if (p.ts_usec > flow->last_usec) flow->last_usec = p.ts_usec;
  if (to_server) {
    ++flow->pkts_toserver;
    flow->bytes_toserver += p.wirelen;
  } else {
    ++flow->pkts_toclient;
    flow->bytes_toclient += p.wirelen;
  }

  // State machine: TCP follows the handshake and teardown; others are established once
  // both sides have spoken.
  if (p.ip_proto == 6) {
    const uint8_t flags = p.tcp_flags;
    if (to_server) {
      flow->tcp_flags_toserver |= flags;
    } else {
      flow->tcp_flags_toclient |= flags;
    }
    if (flags & tcp_flag::Rst) {
      flow->state = FlowState::Closed;
    } else {
      if ((flags & (tcp_flag::Syn | tcp_flag::Ack)) == tcp_flag::Syn && to_server) flow->syn_seen = true;
      if ((flags & (tcp_flag::Syn | tcp_flag::Ack)) == (tcp_flag::Syn | tcp_flag::Ack) && !to_server) {
        flow->synack_seen = true;
      }
      if (flow->state == FlowState::New && flow->syn_seen && flow->synack_seen && to_server &&
          (flags & (tcp_flag::Syn | tcp_flag::Ack)) == tcp_flag::Ack) {
        flow->state = FlowState::Established;
      }
      if (flags & tcp_flag::Fin) {
        (to_server ? flow->fin_toserver : flow->fin_toclient) = true;
        if (flow->fin_toserver && flow->fin_toclient) flow->state = FlowState::Closed;
      }
    }
  } else if (flow->state == FlowState::New && flow->pkts_toserver > 0 && flow->pkts_toclient > 0) {
    flow->state = FlowState::Established;
  }
  // As Suricata's flow:established: TCP once the handshake completed (through FIN/RST
  // teardown), other protocols once both sides have spoken.
  if (flow->state == FlowState::Established) flow->established_once = true;
  p.flow_established = flow->established_once;
  update_emergency();
  return flow;
}

void FlowTable::expire(int64_t now_usec, uint32_t max_checks) noexcept {
  uint32_t cursor = lru_head_;
  for (uint32_t checks = 0; cursor != 0 && checks < max_checks; ++checks) {
    const uint32_t index = cursor - 1;
    cursor = flows_.data()[index].lru_next;
    if (timed_out(flows_.data()[index], now_usec)) end_flow(index, FlowEndReason::Timeout);
  }
  update_emergency();
}

void FlowTable::flush() noexcept {
  while (lru_head_ != 0) end_flow(lru_head_ - 1, FlowEndReason::Flush);
  update_emergency();
}

}  // namespace eastwatch

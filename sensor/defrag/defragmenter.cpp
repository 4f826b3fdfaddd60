#include "sensor/defrag/defragmenter.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace eastwatch {

struct Defragmenter::Tracker {
  IpAddress src;
  IpAddress dst;
  uint32_t id;
  uint16_t vlan[2];
  uint8_t proto;
  uint8_t family;  // 4 or 6; 0: free
  DefragPolicy policy;
  bool seen_last;
  int64_t timeout_usec;
  uint32_t hash_next;  // index + 1: next tracker of the bucket, or of the free list
  uint32_t lru_prev;   // index + 1
  uint32_t lru_next;
  uint32_t head;       // index + 1 of the first fragment, the list sorted by offset
  uint32_t fragment_count;
  uint32_t bucket;
};

// One stored fragment, as Suricata's Frag: `offset` and `data_len` after the trim applied when
// it was stored, `ltrim` the leading bytes later fragments took over.
struct Defragmenter::Fragment {
  uint16_t offset;
  uint16_t data_len;
  uint16_t ltrim;
  uint16_t header_len;  // IP header (IPv6: up to the fragment header) stored before the data; offset 0 only
  uint32_t next;         // index + 1: the next fragment of the tracker, or of the free list
  uint32_t first_block;  // index + 1
  bool skip;
  bool more_frags;
};

// What process() reads from a fragment's IP header.
struct Defragmenter::Parsed {
  uint8_t family = 0;
  uint8_t proto = 0;
  bool more = false;
  uint32_t id = 0;
  uint16_t offset = 0;       // bytes
  uint32_t data_start = 0;   // into packet.data
  uint32_t data_len = 0;
  uint32_t header_start = 0;
  uint32_t header_len = 0;
  uint32_t next_header_at = 0;  // IPv6: the byte naming the fragment header, rewritten on rebuild
  uint8_t next_header = 0;
};

namespace {

using Tracker = Defragmenter::Tracker;
using Fragment = Defragmenter::Fragment;
using Parsed = Defragmenter::Parsed;

constexpr int kMaxExtensionHeaders = 16;

uint16_t load_be16(const uint8_t* p) noexcept { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t load_be32(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
void store_be16(uint8_t* p, uint16_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

uint64_t next_pow2(uint64_t v) {
  uint64_t p = 1;
  while (p < v) p <<= 1;
  return p;
}

// RFC 1624 incremental checksum update of one 16-bit word.
uint16_t checksum_update(uint16_t checksum, uint16_t old_word, uint16_t new_word) noexcept {
  uint32_t sum = static_cast<uint16_t>(~checksum) + static_cast<uint32_t>(static_cast<uint16_t>(~old_word)) + new_word;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

bool parse_ipv4(const Packet& p, Parsed& out) noexcept {
  const uint32_t l3 = p.l3_offset;
  if (p.caplen < l3 + 20) return false;
  const uint8_t* h = p.data + l3;
  const uint32_t header_length = (h[0] & 0x0f) * 4u;
  const uint32_t total = load_be16(h + 2);
  if (header_length < 20 || total < header_length || l3 + total > p.caplen) return false;  // truncated
  const uint16_t fragment = load_be16(h + 6);
  out.family = 4;
  out.proto = h[9];
  out.id = load_be16(h + 4);
  out.more = (fragment & 0x2000) != 0;
  out.offset = static_cast<uint16_t>((fragment & 0x1fff) << 3);
  out.header_start = l3;
  out.header_len = header_length;
  out.data_start = l3 + header_length;
  out.data_len = total - header_length;
  return true;
}

// Walks the extension headers to the fragment header (bounded); false when there is none or
// the packet is truncated.
bool parse_ipv6(const Packet& p, Parsed& out) noexcept {
  const uint32_t l3 = p.l3_offset;
  if (p.caplen < l3 + 40) return false;
  const uint8_t* h = p.data + l3;
  const uint32_t end = l3 + 40 + load_be16(h + 4);
  if (end > p.caplen) return false;
  uint32_t naming = l3 + 6;  // the byte holding the current next-header value
  uint32_t at = l3 + 40;
  for (int i = 0; i < kMaxExtensionHeaders; ++i) {
    const uint8_t next = p.data[naming];
    if (next == 44) {
      if (at + 8 > end) return false;
      const uint16_t fragment = load_be16(p.data + at + 2);
      out.family = 6;
      out.next_header = p.data[at];
      out.proto = p.data[at];
      out.more = (fragment & 1) != 0;
      out.offset = static_cast<uint16_t>(fragment & 0xfff8);
      out.id = load_be32(p.data + at + 4);
      out.header_start = l3;
      out.header_len = at - l3;
      out.next_header_at = naming;
      out.data_start = at + 8;
      out.data_len = end - (at + 8);
      return true;
    }
    uint32_t length = 0;
    if (next == 0 || next == 43 || next == 60) {
      if (at + 8 > end) return false;
      length = (uint32_t{p.data[at + 1]} + 1) * 8;
    } else if (next == 51) {
      if (at + 8 > end) return false;
      length = (uint32_t{p.data[at + 1]} + 2) * 4;
    } else {
      return false;
    }
    if (at + length > end) return false;
    naming = at;
    at += length;
  }
  return false;
}

void raise(Packet& p, DecodeEvent event, uint64_t& counter) noexcept {
  p.events.set(event);
  ++counter;
}

}  // namespace

DefragPolicy defrag_policy_for(OsPolicy policy) noexcept {
  switch (policy) {
    case OsPolicy::Bsd: case OsPolicy::Hpux10: case OsPolicy::Irix: return DefragPolicy::Bsd;
    case OsPolicy::BsdRight: return DefragPolicy::BsdRight;
    case OsPolicy::OldLinux: case OsPolicy::Linux: return DefragPolicy::Linux;
    case OsPolicy::OldSolaris: case OsPolicy::Hpux11: case OsPolicy::Macos: case OsPolicy::First:
      return DefragPolicy::First;
    case OsPolicy::Solaris: return DefragPolicy::Solaris;
    case OsPolicy::Windows: case OsPolicy::Vista: case OsPolicy::Windows2k3: return DefragPolicy::Windows;
    case OsPolicy::Last: return DefragPolicy::Last;
  }
  return DefragPolicy::Bsd;
}

Defragmenter::Defragmenter(const DefragSettings& settings, const std::vector<HostOsPolicyEntry>& host_os_policy)
    : settings_(settings), policies_(host_os_policy, OsPolicy::Bsd) {
  const uint64_t bucket_count = next_pow2(std::max<uint32_t>(settings.hash_size, 16));
  const uint64_t fixed = bucket_count * sizeof(uint32_t) + kMaxDatagram;
  const uint64_t budget = settings.memcap > fixed ? settings.memcap - fixed : 0;
  tracker_capacity_ = static_cast<uint32_t>(
      std::clamp<uint64_t>(budget / 4 / sizeof(Tracker), 1, std::max<uint32_t>(settings.trackers, 1)));
  const uint64_t rest = budget > uint64_t{tracker_capacity_} * sizeof(Tracker)
                            ? budget - uint64_t{tracker_capacity_} * sizeof(Tracker)
                            : 0;
  fragment_capacity_ = static_cast<uint32_t>(std::clamp<uint64_t>(rest / 16 / sizeof(Fragment), 16, 1u << 26));
  const uint64_t block_budget = rest > uint64_t{fragment_capacity_} * sizeof(Fragment)
                                    ? rest - uint64_t{fragment_capacity_} * sizeof(Fragment)
                                    : 0;
  block_capacity_ = static_cast<uint32_t>(
      std::clamp<uint64_t>(block_budget / (kBlockSize + sizeof(uint32_t)), 16, 1u << 26));
  bucket_mask_ = static_cast<uint32_t>(bucket_count - 1);

  // Zero pages (sensor/util): backed when first used, or all now with defrag.prealloc.
  trackers_ = ZeroPages(sizeof(Tracker) * tracker_capacity_);
  buckets_ = ZeroPages(sizeof(uint32_t) * bucket_count);
  fragments_ = ZeroPages(sizeof(Fragment) * fragment_capacity_);
  blocks_ = ZeroPages(uint64_t{block_capacity_} * kBlockSize);
  block_next_ = ZeroPages(sizeof(uint32_t) * block_capacity_);
  output_ = ZeroPages(kMaxDatagram);
  output_.prefault();
  if (settings.prealloc) {
    for (ZeroPages* pages : {&trackers_, &buckets_, &fragments_, &blocks_, &block_next_}) pages->prefault();
  }
  // Free lists chained through the entries (index + 1 links), lazily: the never-used entries
  // are free without being linked, so no entry is written until it is first used.
  free_trackers_ = LazyFreeList(tracker_capacity_);
  free_fragments_ = LazyFreeList(fragment_capacity_);
  free_blocks_ = LazyFreeList(block_capacity_);
  free_block_count_ = block_capacity_;

  counters_.capacity_trackers = tracker_capacity_;
  counters_.capacity_fragments = fragment_capacity_;
  counters_.capacity_bytes = uint64_t{block_capacity_} * kBlockSize;
}

Defragmenter::~Defragmenter() = default;

void Defragmenter::lru_unlink(Tracker& t) noexcept {
  Tracker* trackers = tracker_pool();
  if (t.lru_prev) trackers[t.lru_prev - 1].lru_next = t.lru_next; else lru_head_ = t.lru_next;
  if (t.lru_next) trackers[t.lru_next - 1].lru_prev = t.lru_prev; else lru_tail_ = t.lru_prev;
  t.lru_prev = t.lru_next = 0;
}

void Defragmenter::lru_touch(Tracker& t) noexcept {
  const uint32_t self = static_cast<uint32_t>(&t - tracker_pool()) + 1;
  if (lru_tail_ == self) return;
  if (t.lru_prev || t.lru_next || lru_head_ == self) lru_unlink(t);
  t.lru_prev = lru_tail_;
  t.lru_next = 0;
  if (lru_tail_) tracker_pool()[lru_tail_ - 1].lru_next = self; else lru_head_ = self;
  lru_tail_ = self;
}

void Defragmenter::free_fragment(uint32_t index) noexcept {
  Fragment& f = fragment_pool()[index];
  uint32_t block = f.first_block;
  uint32_t* block_next = block_links();
  while (block) {  // bounded: a fragment holds at most 65535 / kBlockSize + 2 blocks
    const uint32_t next = block_next[block - 1];
    free_blocks_.push(block - 1, [block_next](uint32_t i) -> uint32_t& { return block_next[i]; });
    ++free_block_count_;
    block = next;
  }
  f.first_block = 0;
  free_fragments_.push(index, [this](uint32_t i) -> uint32_t& { return fragment_pool()[i].next; });
  --fragments_in_use_;
}

void Defragmenter::free_fragments(Tracker& t) noexcept {
  uint32_t at = t.head;
  while (at) {  // bounded by max-frags
    const uint32_t next = fragment_pool()[at - 1].next;
    free_fragment(at - 1);
    at = next;
  }
  t.head = 0;
  t.fragment_count = 0;
}

void Defragmenter::release(Tracker& t) noexcept {
  free_fragments(t);
  const uint32_t self = static_cast<uint32_t>(&t - tracker_pool()) + 1;
  uint32_t* link = &bucket_heads()[t.bucket];
  while (*link && *link != self) link = &tracker_pool()[*link - 1].hash_next;  // bounded by the chain
  if (*link == self) *link = t.hash_next;
  lru_unlink(t);
  t.family = 0;
  free_trackers_.push(self - 1, [this](uint32_t i) -> uint32_t& { return tracker_pool()[i].hash_next; });
  --active_trackers_;
}

Tracker* Defragmenter::find_or_create(const Packet& packet, const Parsed& parsed, int64_t now_usec) noexcept {
  const uint16_t vlan[2] = {packet.vlan_id[0], packet.vlan_id[1]};
  // The key, packed for the hash: family, protocol, VLAN ids, identification, addresses.
  uint8_t key[42];
  key[0] = parsed.family;
  key[1] = parsed.proto;
  std::memcpy(key + 2, vlan, 4);
  std::memcpy(key + 6, &parsed.id, 4);
  std::memcpy(key + 10, packet.src.bytes.data(), 16);
  std::memcpy(key + 26, packet.dst.bytes.data(), 16);
  const uint32_t bucket = static_cast<uint32_t>(XXH3_64bits(key, sizeof key)) & bucket_mask_;
  Tracker* trackers = tracker_pool();
  for (uint32_t at = bucket_heads()[bucket]; at; at = trackers[at - 1].hash_next) {  // bounded by the chain
    Tracker& t = trackers[at - 1];
    if (t.family == parsed.family && t.id == parsed.id && t.proto == parsed.proto && t.vlan[0] == vlan[0] &&
        t.vlan[1] == vlan[1] && t.src == packet.src && t.dst == packet.dst) {
      if (t.timeout_usec < now_usec) {  // timed out but not yet reclaimed: start over in place
        ++(t.family == 4 ? counters_.ipv4_timeouts : counters_.ipv6_timeouts);
        ++counters_.tracker_timeout;
        ++counters_.tracker_soft_reuse;
        free_fragments(t);
        t.seen_last = false;
      }
      return &t;
    }
  }
  if (free_trackers_.empty()) {
    if (!lru_head_) return nullptr;
    Tracker& oldest = trackers[lru_head_ - 1];
    if (oldest.timeout_usec < now_usec) {
      ++(oldest.family == 4 ? counters_.ipv4_timeouts : counters_.ipv6_timeouts);
      ++counters_.tracker_timeout;
    } else {
      ++counters_.tracker_hard_reuse;
    }
    release(oldest);
  }
  const uint32_t self = free_trackers_.pop([trackers](uint32_t i) -> uint32_t& { return trackers[i].hash_next; }) + 1;
  Tracker& t = trackers[self - 1];
  t = Tracker{};
  t.src = packet.src;
  t.dst = packet.dst;
  t.id = parsed.id;
  t.vlan[0] = vlan[0];
  t.vlan[1] = vlan[1];
  t.proto = parsed.proto;
  t.family = parsed.family;
  t.policy = defrag_policy_for(policies_.lookup(packet.dst));
  t.bucket = bucket;
  t.hash_next = bucket_heads()[bucket];
  bucket_heads()[bucket] = self;
  ++active_trackers_;
  return &t;
}

namespace {

enum class Step { Next, Insert, Drop };

// One step of Suricata's DefragInsertFrag loop: the new fragment [frag_offset, frag_end) against
// the stored fragment `prev` (and its successor `next`), by policy. Adjusts `ltrim` (bytes of the
// new fragment to drop), `prev.ltrim`/`next->ltrim` and `prev.skip` exactly as Suricata does.
Step apply_policy(DefragPolicy policy, Fragment& prev, Fragment* next, uint16_t frag_offset, uint16_t frag_end,
                  uint16_t& ltrim) noexcept {
  const int prev_end = prev.offset + prev.data_len;
  switch (policy) {
    case DefragPolicy::Bsd:
      if (frag_offset < prev_end) {
        if (prev.offset <= frag_offset) {
          // The earlier data is preferred: trim what the new fragment repeats.
          if (prev_end > frag_end) return Step::Drop;
          ltrim = static_cast<uint16_t>(prev_end - frag_offset);
          if (next != nullptr && frag_end > next->offset) next->ltrim = static_cast<uint16_t>(frag_end - next->offset);
          return Step::Insert;
        }
        // The new fragment starts before and overlaps the start of prev: prev gives way.
        if (frag_offset <= prev.offset && frag_end > prev.offset + prev.ltrim) {
          const auto prev_ltrim = static_cast<uint16_t>(frag_end - prev.offset);
          if (prev_ltrim > prev.ltrim) prev.ltrim = prev_ltrim;
        }
        if (next != nullptr && frag_end > next->offset) next->ltrim = static_cast<uint16_t>(frag_end - next->offset);
        return Step::Insert;
      }
      return Step::Next;
    case DefragPolicy::Linux:
      // The new fragment overlaps the end of prev: trim the new one.
      if (prev.offset + prev.ltrim < frag_offset + ltrim && prev_end > frag_offset + ltrim) {
        ltrim = static_cast<uint16_t>(ltrim + prev_end - frag_offset);
      }
      // The new fragment overlaps the beginning of prev: trim prev.
      if (frag_offset + ltrim < prev.offset + prev.ltrim && frag_end > prev.offset + prev.ltrim) {
        prev.ltrim = static_cast<uint16_t>(prev.ltrim + frag_end - (prev.offset + prev.ltrim));
        return Step::Insert;
      }
      // The new fragment covers prev entirely.
      if (frag_offset + ltrim <= prev.offset + prev.ltrim && frag_end >= prev_end) {
        prev.skip = true;
        return Step::Insert;
      }
      return Step::Next;
    case DefragPolicy::Windows:
      if (frag_offset + ltrim >= prev.offset + ltrim && frag_end <= prev_end) return Step::Drop;  // inside prev
      if (frag_offset + ltrim < prev.offset + ltrim && frag_end > prev_end) {  // around prev
        prev.skip = true;
        return Step::Insert;
      }
      if (frag_offset + ltrim > prev.offset + prev.ltrim && frag_offset + ltrim < prev_end) {  // over prev's end
        ltrim = static_cast<uint16_t>(ltrim + prev_end - frag_offset);
        return Step::Insert;
      }
      if (frag_offset + ltrim == prev.offset + ltrim && frag_end > prev_end) {  // same start, longer
        ltrim = static_cast<uint16_t>(ltrim + prev_end - frag_offset);
        return Step::Insert;
      }
      return Step::Next;
    case DefragPolicy::Solaris:
      if (frag_offset < prev_end) {
        if (frag_offset >= prev.offset) ltrim = static_cast<uint16_t>(prev_end - frag_offset);
        if (frag_offset < prev.offset && frag_end >= prev_end) prev.skip = true;
        return Step::Insert;
      }
      return Step::Next;
    case DefragPolicy::First:
      if (frag_offset >= prev.offset && frag_end <= prev_end) return Step::Drop;
      if (frag_offset < prev.offset) return Step::Insert;
      if (frag_offset < prev_end) {
        ltrim = static_cast<uint16_t>(prev_end - frag_offset);
        return Step::Insert;
      }
      return Step::Next;
    case DefragPolicy::Last:
      if (frag_offset <= prev.offset) {
        if (frag_end > prev.offset) prev.ltrim = static_cast<uint16_t>(frag_end - prev.offset);
        return Step::Insert;
      }
      return Step::Next;
    case DefragPolicy::BsdRight:  // as in Suricata: no trimming; the copy order (by offset) decides
      return Step::Next;
  }
  return Step::Next;
}

}  // namespace

bool Defragmenter::store(const Packet& packet, const Parsed& parsed, uint16_t ltrim,
                         uint32_t& out) noexcept {
  const uint32_t header_len = (parsed.offset == 0 && ltrim == 0) ? parsed.header_len : 0;
  const uint32_t data_len = parsed.data_len - ltrim;
  const uint32_t needed = (header_len + data_len + kBlockSize - 1) / kBlockSize;
  if (free_fragments_.empty() || free_block_count_ < needed) return false;
  const uint32_t index = free_fragments_.pop([this](uint32_t i) -> uint32_t& { return fragment_pool()[i].next; });
  Fragment& f = fragment_pool()[index];
  ++fragments_in_use_;
  f = Fragment{};
  f.offset = static_cast<uint16_t>(parsed.offset + ltrim);
  f.data_len = static_cast<uint16_t>(data_len);
  f.header_len = static_cast<uint16_t>(header_len);
  f.more_frags = parsed.more;
  // Take `needed` blocks and fill them: the header (IPv6: its fragment-header naming byte set to
  // the fragment header's next header), then the data past ltrim.
  uint32_t* block_next = block_links();
  uint32_t* link = &f.first_block;
  uint32_t written = 0;
  const uint32_t total = header_len + data_len;
  for (uint32_t i = 0; i < needed; ++i) {
    const uint32_t block = free_blocks_.pop([block_next](uint32_t i) -> uint32_t& { return block_next[i]; }) + 1;
    --free_block_count_;
    block_next[block - 1] = 0;
    *link = block;
    link = &block_next[block - 1];
    uint8_t* dest = block_bytes() + uint64_t{block - 1} * kBlockSize;
    const uint32_t chunk = std::min(kBlockSize, total - written);
    for (uint32_t j = 0; j < chunk;) {  // header bytes, then data bytes
      const uint32_t at = written + j;
      if (at < header_len) {
        const uint32_t n = std::min(chunk - j, header_len - at);
        std::memcpy(dest + j, packet.data + parsed.header_start + at, n);
        j += n;
      } else {
        const uint32_t n = chunk - j;
        std::memcpy(dest + j, packet.data + parsed.data_start + ltrim + (at - header_len), n);
        j += n;
      }
    }
    written += chunk;
  }
  if (header_len && parsed.family == 6) {
    const uint32_t at = parsed.next_header_at - parsed.header_start;  // < header_len: in the first blocks
    uint32_t block = f.first_block;
    for (uint32_t skip = at / kBlockSize; skip > 0; --skip) block = block_next[block - 1];
    block_bytes()[uint64_t{block - 1} * kBlockSize + at % kBlockSize] = parsed.next_header;
  }
  out = index;
  return true;
}

void Defragmenter::copy_out(const Fragment& f, uint32_t from, uint32_t length, uint8_t* out) const noexcept {
  const uint32_t* block_next = block_links();
  uint32_t block = f.first_block;
  for (uint32_t skip = from / kBlockSize; skip > 0 && block; --skip) block = block_next[block - 1];
  uint32_t position = from % kBlockSize;
  while (length > 0 && block) {  // bounded by the fragment's blocks
    const uint32_t n = std::min(length, kBlockSize - position);
    std::memcpy(out, block_bytes() + uint64_t{block - 1} * kBlockSize + position, n);
    out += n;
    length -= n;
    position = 0;
    block = block_next[block - 1];
  }
}

const Packet* Defragmenter::process(Packet& p, DecodeStats& stats) noexcept {
  if (!p.ip_fragment || (p.ip_version != 4 && p.ip_version != 6)) return nullptr;
  const bool v4 = p.ip_version == 4;
  ++(v4 ? counters_.ipv4_fragments : counters_.ipv6_fragments);
  Parsed parsed;
  if (!(v4 ? parse_ipv4(p, parsed) : parse_ipv6(p, parsed))) {
    ++counters_.invalid;
    return nullptr;
  }
  if (!v4 && parsed.more && parsed.data_len % 8 != 0) {
    raise(p, DecodeEvent::Ipv6FragInvalidLength, stats.event.ipv6_frag_invalid_length);
    ++counters_.invalid;
    return nullptr;
  }
  // Suricata's limits: IPv4 20 + end <= 65535; IPv6 end <= 65535.
  if ((v4 ? 20u : 0u) + parsed.offset + parsed.data_len > 65535) {
    if (v4) {
      raise(p, DecodeEvent::Ipv4FragPktTooLarge, stats.event.ipv4_frag_pkt_too_large);
    } else {
      raise(p, DecodeEvent::Ipv6FragPktTooLarge, stats.event.ipv6_frag_pkt_too_large);
    }
    ++counters_.too_large;
    return nullptr;
  }
  Tracker* tracker = find_or_create(p, parsed, p.ts_usec);
  if (tracker == nullptr) {
    ++counters_.max_trackers_reached;
    return nullptr;
  }
  Tracker& t = *tracker;
  t.timeout_usec = p.ts_usec + int64_t{settings_.timeout_seconds} * 1'000'000;
  lru_touch(t);

  auto ignored = [&] {
    if (v4) {
      raise(p, DecodeEvent::Ipv4FragIgnored, stats.event.ipv4_frag_ignored);
    } else {
      raise(p, DecodeEvent::Ipv6FragIgnored, stats.event.ipv6_frag_ignored);
    }
  };
  // Checked before the overlap rules touch the stored fragments, so a fragment that cannot be
  // stored changes nothing.
  if (t.fragment_count >= settings_.max_frags) {
    ++counters_.max_frags_reached;
    ignored();
    return nullptr;
  }
  const uint32_t worst_blocks = (parsed.header_len + parsed.data_len + kBlockSize - 1) / kBlockSize;
  if (free_fragments_.empty() || free_block_count_ < worst_blocks) {
    ++counters_.memcap_dropped;
    ignored();
    count_memuse();
    return nullptr;
  }

  const auto frag_offset = parsed.offset;
  const auto data_len = static_cast<uint16_t>(parsed.data_len);
  const auto frag_end = static_cast<uint16_t>(frag_offset + data_len);
  uint16_t ltrim = 0;
  bool overlap = false;
  Step step = Step::Next;
  Fragment* fragments = fragment_pool();
  uint32_t before = 0;  // index + 1 of the fragment before `current` in the list
  uint32_t current = 0;
  if (t.head) {
    // Where Suricata's walk starts: the fragment before the first one at or past frag_offset;
    // that one when it is the first; the first fragment when none is at or past frag_offset
    // (always for offset 0).
    uint32_t before_previous = 0, previous = 0, at = frag_offset == 0 ? 0 : t.head;
    while (at && fragments[at - 1].offset < frag_offset) {
      before_previous = previous;
      previous = at;
      at = fragments[at - 1].next;
    }
    if (at == 0) {
      current = t.head;
    } else if (previous) {
      before = before_previous;
      current = previous;
    } else {
      current = at;
    }
  }
  while (current) {  // bounded by max-frags
    Fragment& prev = fragments[current - 1];
    Fragment* next = prev.next ? &fragments[prev.next - 1] : nullptr;
    if (!prev.skip) {
      if (frag_offset < prev.offset + prev.data_len && prev.offset < frag_end) overlap = true;
      step = apply_policy(t.policy, prev, next, frag_offset, frag_end, ltrim);
      if (step != Step::Next) break;
    }
    before = current;
    current = prev.next;
  }
  if (step == Step::Insert) {
    Fragment& prev = fragments[current - 1];
    if (prev.skip || prev.ltrim >= prev.data_len) {  // wholly overlapped: let it go now
      if (before) fragments[before - 1].next = prev.next; else t.head = prev.next;
      free_fragment(current - 1);
      --t.fragment_count;
    }
  }
  if (overlap) {
    ++counters_.overlaps;
    if (v4) {
      raise(p, DecodeEvent::Ipv4FragOverlap, stats.event.ipv4_frag_overlap);
    } else {
      raise(p, DecodeEvent::Ipv6FragOverlap, stats.event.ipv6_frag_overlap);
    }
  }
  if (step == Step::Drop || ltrim >= data_len) {
    count_memuse();
    return nullptr;
  }
  uint32_t index = 0;
  if (!store(p, parsed, ltrim, index)) {  // cannot happen: checked above
    ++counters_.memcap_dropped;
    ignored();
    count_memuse();
    return nullptr;
  }
  // After every fragment with an offset at or below its own (Suricata's RB tree order).
  uint32_t* link = &t.head;
  while (*link && fragments[*link - 1].offset <= fragments[index].offset) link = &fragments[*link - 1].next;
  fragments[index].next = *link;
  *link = index + 1;
  ++t.fragment_count;
  if (!parsed.more) t.seen_last = true;
  const Packet* rebuilt = t.seen_last ? reassemble(t, p, stats) : nullptr;
  count_memuse();
  return rebuilt;
}

const Packet* Defragmenter::reassemble(Tracker& t, Packet& completing, DecodeStats& stats) noexcept {
  const Fragment* fragments = fragment_pool();
  if (!t.head || fragments[t.head - 1].offset != 0) return nullptr;  // still waiting for the first
  if (fragments[t.head - 1].header_len == 0) {
    release(t);
    return nullptr;
  }
  // A hole: keep waiting.
  uint32_t length = 0;
  for (uint32_t at = t.head; at; at = fragments[at - 1].next) {
    const Fragment& f = fragments[at - 1];
    if (t.family == 6 && f.skip) continue;
    if (f.offset > length) return nullptr;
    length = std::max<uint32_t>(length, uint32_t{f.offset} + f.data_len);
  }
  const bool v4 = t.family == 4;
  auto too_large = [&]() -> const Packet* {
    ++counters_.too_large;
    Packet& p = completing;
    if (v4) {
      raise(p, DecodeEvent::Ipv4FragPktTooLarge, stats.event.ipv4_frag_pkt_too_large);
    } else {
      raise(p, DecodeEvent::Ipv6FragPktTooLarge, stats.event.ipv6_frag_pkt_too_large);
    }
    release(t);
    return nullptr;
  };
  uint8_t* out = output_bytes();
  uint32_t header_len = 0;
  uint32_t fragmentable_len = 0;
  uint16_t prev_offset = 0;
  bool more = true;
  for (uint32_t at = t.head; at; at = fragments[at - 1].next) {  // in offset order; later copies win
    const Fragment& f = fragments[at - 1];
    // The previous fragment was the last and this one starts after it: done. (Equal offsets
    // still copy: the later fragment may carry the preferred data.)
    if (!more && f.offset > prev_offset) break;
    if (f.skip || f.ltrim >= f.data_len) continue;
    if (f.offset == 0) {
      if (uint32_t{f.header_len} + f.data_len > kMaxDatagram) return too_large();
      copy_out(f, 0, uint32_t{f.header_len} + f.data_len, out);
      header_len = f.header_len;
      fragmentable_len = f.data_len;
    } else {
      if (header_len + f.offset + f.data_len > kMaxDatagram) return too_large();
      copy_out(f, f.header_len + f.ltrim, f.data_len - f.ltrim, out + header_len + f.offset + f.ltrim);
      fragmentable_len = std::max<uint32_t>(fragmentable_len, uint32_t{f.offset} + f.data_len);
    }
    more = f.more_frags;
    prev_offset = f.offset;
  }
  if (header_len == 0) {  // every offset-0 fragment was trimmed away: no header to rebuild from
    ++counters_.invalid;
    release(t);
    return nullptr;
  }
  if (v4) {
    if (header_len + fragmentable_len > 65535) return too_large();
    const uint16_t total = static_cast<uint16_t>(header_len + fragmentable_len);
    uint16_t checksum = load_be16(out + 10);
    checksum = checksum_update(checksum, load_be16(out + 2), total);
    checksum = checksum_update(checksum, load_be16(out + 6), 0);
    store_be16(out + 2, total);
    store_be16(out + 6, 0);
    store_be16(out + 10, checksum);
  } else {
    if (header_len - 40 + fragmentable_len > 65535) return too_large();
    store_be16(out + 4, static_cast<uint16_t>(header_len - 40 + fragmentable_len));
  }
  rebuilt_ = Packet{};
  rebuilt_.data = out;
  rebuilt_.caplen = rebuilt_.wirelen = header_len + fragmentable_len;
  rebuilt_.ts_usec = completing.ts_usec;
  rebuilt_.pcap_cnt = completing.pcap_cnt;
  rebuilt_.link_type = v4 ? LinkType::Ipv4 : LinkType::Ipv6;
  rebuilt_.rebuilt_fragment = true;
  ++(v4 ? counters_.ipv4_reassembled : counters_.ipv6_reassembled);
  release(t);
  return &rebuilt_;
}

void Defragmenter::expire(int64_t now_usec, uint32_t max_checks) noexcept {
  Tracker* trackers = tracker_pool();
  const uint32_t used = free_trackers_.touched();  // trackers past it were never used
  for (uint32_t i = 0; i < max_checks && active_trackers_ > 0; ++i) {
    Tracker& t = trackers[expire_cursor_];
    expire_cursor_ = expire_cursor_ + 1 < used ? expire_cursor_ + 1 : 0;
    if (t.family != 0 && t.timeout_usec < now_usec) {
      ++(t.family == 4 ? counters_.ipv4_timeouts : counters_.ipv6_timeouts);
      ++counters_.tracker_timeout;
      release(t);
    }
  }
  count_memuse();
}

void Defragmenter::count_memuse() noexcept {
  counters_.memuse = uint64_t{active_trackers_} * sizeof(Tracker) + uint64_t{fragments_in_use_} * sizeof(Fragment) +
                     uint64_t{block_capacity_ - free_block_count_} * kBlockSize;
}

}  // namespace eastwatch

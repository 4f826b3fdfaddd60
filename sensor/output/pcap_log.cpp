#include "sensor/output/pcap_log.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace eastwatch {

namespace {

constexpr uint32_t kMaxFrame = 262144;     // libpcap's largest snaplen; the files' snaplen
constexpr uint64_t kFileHeaderBytes = 24;  // the pcap global header
constexpr uint64_t kRecordHeaderBytes = 16;

// The "Tagged Packet" event detection makes for a tagged packet (gid 2, sid 1).
bool tagged_packet_event(const AlertEvent& event) noexcept {
  return event.rule != nullptr && event.rule->gid == 2 && event.rule->sid == 1;
}

// The tagged packet event, or a rule that sets a tag.
bool tag_related(const AlertEvent& event) noexcept {
  return event.rule != nullptr && (tagged_packet_event(event) || !event.rule->tags.empty());
}

int64_t name_key(const PcapLogSettings& settings, int64_t ts_usec) noexcept {
  const int64_t sec = ts_usec >= 0 ? ts_usec / 1'000'000 : (ts_usec - 999'999) / 1'000'000;
  return settings.ts_usec ? ts_usec : sec;
}

}  // namespace

size_t pcap_log_file_name(const PcapLogSettings& settings, uint32_t worker, uint32_t worker_count, int64_t ts_usec,
                          uint32_t repeat, char* out, size_t out_size) noexcept {
  if (out_size == 0) return 0;
  const int64_t sec = ts_usec >= 0 ? ts_usec / 1'000'000 : (ts_usec - 999'999) / 1'000'000;
  const int64_t usec = ts_usec - sec * 1'000'000;
  int n = std::snprintf(out, out_size, "%s", settings.filename.c_str());
  auto append = [&](auto... args) {
    if (n < 0 || static_cast<size_t>(n) >= out_size) return;
    const int more = std::snprintf(out + n, out_size - static_cast<size_t>(n), args...);
    if (more > 0) n += more;
  };
  if (worker_count > 1) append(".%" PRIu32, worker + 1);
  append(".%" PRId64, sec);
  if (settings.ts_usec) append(".%06" PRId64, usec);
  if (repeat > 0) append(".%" PRIu32, repeat);
  if (n < 0) {
    out[0] = 0;
    return 0;
  }
  return std::min(static_cast<size_t>(n), out_size - 1);
}

// --- PacketHistory ------------------------------------------------------------------------

PacketHistory::PacketHistory(uint64_t memcap, uint32_t per_flow) : per_flow_(per_flow) {
  // Each chunk costs its bytes and its chain link; an entry (one packet) per two chunks.
  const uint64_t per_chunk = kChunkBytes + sizeof(uint32_t) + sizeof(Entry) / 2;
  chunk_count_ = static_cast<uint32_t>(std::clamp<uint64_t>(memcap / per_chunk, 2, 0x7fffffff));
  entry_count_ = std::max<uint32_t>(1, chunk_count_ / 2);
  entries_ = std::make_unique<Entry[]>(entry_count_);
  chunk_next_ = std::make_unique<uint32_t[]>(chunk_count_);
  chunks_ = std::make_unique<uint8_t[]>(uint64_t{chunk_count_} * kChunkBytes);
  for (uint32_t i = 0; i < entry_count_; ++i) entries_[i].flow_next = i + 1 < entry_count_ ? i + 2 : 0;
  free_entry_head_ = 0;
  for (uint32_t i = 0; i < chunk_count_; ++i) chunk_next_[i] = i + 1 < chunk_count_ ? i + 1 : kNone;
  free_chunk_head_ = 0;
  free_chunks_ = chunk_count_;
}

void PacketHistory::keep(Flow& flow, const Packet& packet) noexcept {
  if (per_flow_ == 0) return;
  const uint32_t caplen = packet.caplen;
  const uint32_t need = std::max<uint32_t>(1, (caplen + kChunkBytes - 1) / kChunkBytes);
  if (caplen > kMaxFrame || need > chunk_count_) {
    // Not kept: what is kept must stay the flow's latest packets, so the older ones go too.
    ++too_big_;
    release_owned(flow);
    return;
  }
  if (flow.pcap_history_count >= per_flow_) free_entry(flow.pcap_history_head - 1);
  // The pool's oldest packets make room (each frees at least one chunk and its entry).
  while ((free_chunks_ < need || free_entry_head_ == kNone) && oldest_ != kNone) {
    free_entry(oldest_);
    ++evicted_;
  }
  if (free_chunks_ < need || free_entry_head_ == kNone) return;  // unreachable: need <= chunk_count_

  const uint32_t e = free_entry_head_;
  Entry& entry = entries_[e];
  free_entry_head_ = entry.flow_next == 0 ? kNone : entry.flow_next - 1;
  entry.ts_usec = packet.ts_usec;
  entry.owner = &flow;
  entry.caplen = caplen;
  entry.wirelen = std::max(packet.wirelen, caplen);
  entry.link_type = static_cast<uint16_t>(packet.link_type);
  entry.flow_next = 0;
  // Copy the frame into a chain of chunks.
  uint32_t previous = kNone;
  uint32_t copied = 0;
  for (uint32_t i = 0; i < need; ++i) {
    const uint32_t c = free_chunk_head_;
    free_chunk_head_ = chunk_next_[c];
    --free_chunks_;
    chunk_next_[c] = kNone;
    if (previous == kNone) {
      entry.first_chunk = c;
    } else {
      chunk_next_[previous] = c;
    }
    const uint32_t n = std::min(kChunkBytes, caplen - copied);
    if (n > 0) std::memcpy(chunks_.get() + uint64_t{c} * kChunkBytes, packet.data + copied, n);
    copied += n;
    previous = c;
  }
  // Newest of its flow and of the pool.
  if (flow.pcap_history_tail != 0) {
    entries_[flow.pcap_history_tail - 1].flow_next = e + 1;
  } else {
    flow.pcap_history_head = e + 1;
  }
  flow.pcap_history_tail = e + 1;
  ++flow.pcap_history_count;
  entry.age_prev = newest_;
  entry.age_next = kNone;
  if (newest_ != kNone) {
    entries_[newest_].age_next = e;
  } else {
    oldest_ = e;
  }
  newest_ = e;
  ++entries_in_use_;
}

void PacketHistory::free_entry(uint32_t e) noexcept {
  Entry& entry = entries_[e];
  if (Flow* owner = entry.owner) {  // e is its flow's oldest entry
    owner->pcap_history_head = entry.flow_next;
    if (owner->pcap_history_head == 0) owner->pcap_history_tail = 0;
    if (owner->pcap_history_count > 0) --owner->pcap_history_count;
  }
  free_chunks(entry);
  unlink_age(e);
  entry.owner = nullptr;
  entry.flow_next = free_entry_head_ == kNone ? 0 : free_entry_head_ + 1;
  free_entry_head_ = e;
  --entries_in_use_;
}

void PacketHistory::free_chunks(Entry& entry) noexcept {
  uint32_t c = entry.first_chunk;
  for (uint32_t i = 0; c != kNone && i < chunk_count_; ++i) {
    const uint32_t next = chunk_next_[c];
    chunk_next_[c] = free_chunk_head_;
    free_chunk_head_ = c;
    ++free_chunks_;
    c = next;
  }
  entry.first_chunk = kNone;
}

void PacketHistory::unlink_age(uint32_t e) noexcept {
  Entry& entry = entries_[e];
  if (entry.age_prev != kNone) {
    entries_[entry.age_prev].age_next = entry.age_next;
  } else {
    oldest_ = entry.age_next;
  }
  if (entry.age_next != kNone) {
    entries_[entry.age_next].age_prev = entry.age_prev;
  } else {
    newest_ = entry.age_prev;
  }
  entry.age_prev = entry.age_next = kNone;
}

void PacketHistory::copy_out(const Entry& entry, uint8_t* out) const noexcept {
  uint32_t c = entry.first_chunk;
  uint32_t copied = 0;
  while (c != kNone && copied < entry.caplen) {
    const uint32_t n = std::min(kChunkBytes, entry.caplen - copied);
    std::memcpy(out + copied, chunks_.get() + uint64_t{c} * kChunkBytes, n);
    copied += n;
    c = chunk_next_[c];
  }
}

void PacketHistory::release_owned(Flow& flow) noexcept {
  for (uint32_t i = 0; flow.pcap_history_head != 0 && i < entry_count_; ++i) free_entry(flow.pcap_history_head - 1);
}

void PacketHistory::release(const Flow& flow) noexcept {
  // The flow is ending (its fields are reset when its slot is reused): free its entries
  // without writing to it.
  uint32_t next = flow.pcap_history_head;
  for (uint32_t i = 0; next != 0 && i < entry_count_; ++i) {
    const uint32_t e = next - 1;
    next = entries_[e].flow_next;
    entries_[e].owner = nullptr;
    free_entry(e);
  }
}

// --- PcapLogRecorder ----------------------------------------------------------------------

PcapLogRecorder::PcapLogRecorder(const PcapLogSettings& settings) : settings_(settings) {
  if (!settings.enabled) return;
  if (settings.conditional == PcapLogSettings::Conditional::Alerts && settings.history > 0) {
    history_ = std::make_unique<PacketHistory>(settings.history_memcap, settings.history);
    scratch_ = std::make_unique<uint8_t[]>(kMaxFrame);
  }
}

void PcapLogRecorder::set_queue(PcapLogQueue* queue, uint32_t worker_count, const std::string& dir) noexcept {
  queue_ = settings_.enabled ? queue : nullptr;
  worker_count_ = std::max<uint32_t>(1, worker_count);
  size_t n = 0;
  if (!dir.empty()) {
    n = std::min(dir.size(), sizeof(path_) / 2);
    std::memcpy(path_, dir.data(), n);
    if (path_[n - 1] != '/') path_[n++] = '/';
  }
  path_[n] = 0;
  name_offset_ = static_cast<uint32_t>(n);
}

const PcapLogCounters& PcapLogRecorder::counters() const noexcept {
  if (history_) {
    counters_.history_evicted = history_->evicted();
    counters_.history_too_big = history_->too_big();
  }
  return counters_;
}

bool PcapLogRecorder::log_frame(int64_t ts_usec, uint32_t wirelen, uint16_t link_type,
                                std::span<const uint8_t> frame, bool from_history) noexcept {
  if (frame.size() > kMaxFrame) frame = frame.first(kMaxFrame);
  const uint64_t record = kRecordHeaderBytes + frame.size();
  const bool new_file = !file_open_ || link_type != file_link_type_ ||
                        (file_packets_ > 0 && file_bytes_ + record > settings_.limit);
  char name[128];
  size_t name_len = 0;
  uint32_t repeat = 0;
  const int64_t key = name_key(settings_, ts_usec);
  if (new_file) {
    repeat = file_open_ && key == name_key_ ? name_repeat_ + 1 : 0;
    name_len = pcap_log_file_name(settings_, queue_->worker(), worker_count_, ts_usec, repeat, name, sizeof name);
  }
  if (!queue_->try_push(new_file ? PcapLogQueue::kNewFile : 0, ts_usec, std::max<uint32_t>(wirelen, frame.size()),
                        link_type, std::string_view(name, name_len), frame)) {
    ++counters_.dropped;
    return false;
  }
  if (new_file) {
    file_open_ = true;
    file_bytes_ = kFileHeaderBytes;
    file_packets_ = 0;
    file_link_type_ = link_type;
    name_repeat_ = repeat;
    name_key_ = key;
    const size_t room = sizeof(path_) - 1 - name_offset_;
    const size_t n = std::min(name_len, room);
    std::memcpy(path_ + name_offset_, name, n);
    path_[name_offset_ + n] = 0;
    ++counters_.files;
  }
  file_bytes_ += record;
  ++file_packets_;
  ++counters_.packets;
  counters_.bytes += frame.size();
  if (from_history) ++counters_.history_packets;
  return true;
}

void PcapLogRecorder::log_packet(const Packet& frame) noexcept {
  Logged& slot = logged_[logged_next_];
  logged_next_ ^= 1;
  slot.data = frame.data;
  slot.cnt = frame.pcap_cnt;
  slot.ts = frame.ts_usec;
  slot.position = 0;
  if (log_frame(frame.ts_usec, frame.wirelen, static_cast<uint16_t>(frame.link_type), frame.frame(), false)) {
    slot.position = file_packets_;
    slot.name_offset = name_offset_;
    std::memcpy(slot.path, path_, sizeof slot.path);
  }
}

const PcapLogRecorder::Logged* PcapLogRecorder::find_logged(const Packet& frame) const noexcept {
  for (const Logged& slot : logged_) {
    if (slot.data == frame.data && slot.cnt == frame.pcap_cnt && slot.ts == frame.ts_usec && slot.data != nullptr) {
      return &slot;
    }
  }
  return nullptr;
}

void PcapLogRecorder::on_alert(const Packet& packet, const Packet& frame, std::span<AlertEvent> events) noexcept {
  const Logged* logged = nullptr;
  if (queue_ != nullptr) {
    logged = find_logged(frame);
    bool wanted = settings_.conditional != PcapLogSettings::Conditional::Tag;
    bool flow_alerted = false;  // an alert other than "Tagged Packet": the flow is logged from here on
    for (const AlertEvent& event : events) {
      wanted = wanted || tag_related(event);
      flow_alerted = flow_alerted || !tagged_packet_event(event);
    }
    if (logged == nullptr && wanted) {
      Flow* flow = packet.flow;
      if (settings_.conditional == PcapLogSettings::Conditional::Alerts && flow_alerted && flow != nullptr &&
          !flow->pcap_logging) {
        flow->pcap_logging = true;
        if (history_) {
          history_->take(*flow, scratch_.get(), [&](const PacketHistory::Kept& kept, std::span<const uint8_t> bytes) {
            log_frame(kept.ts_usec, kept.wirelen, kept.link_type, bytes, true);
          });
        }
      }
      log_packet(frame);
      logged = find_logged(frame);
    }
  }
  // Every event gets its fields (the worker's buffer is reused).
  const bool named = logged != nullptr && logged->position != 0;
  for (AlertEvent& event : events) {
    if (named) {
      std::memcpy(event.capture_file, logged->path, sizeof event.capture_file);
      event.capture_file_name = logged->name_offset;
      event.pcap_packet = logged->position;
    } else {
      event.capture_file[0] = 0;
      event.capture_file_name = 0;
      event.pcap_packet = 0;
    }
  }
}

void PcapLogRecorder::on_packet(const Packet& packet) noexcept {
  if (queue_ == nullptr || find_logged(packet) != nullptr) return;
  switch (settings_.conditional) {
    case PcapLogSettings::Conditional::All:
      log_packet(packet);
      return;
    case PcapLogSettings::Conditional::Tag:
      return;
    case PcapLogSettings::Conditional::Alerts:
      if (packet.flow == nullptr) return;
      if (packet.flow->pcap_logging) {
        log_packet(packet);
      } else if (history_) {
        history_->keep(*packet.flow, packet);
      }
      return;
  }
}

}  // namespace eastwatch

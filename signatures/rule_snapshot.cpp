#include "signatures/rule_snapshot.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <link.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstring>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include "signatures/hs_cache.hpp"
#include "signatures/regex.hpp"

namespace eastwatch {

namespace {

constexpr char kMagic[8] = {'E', 'W', 'R', 'U', 'L', 'E', 'S', '\n'};
// magic, format, reserved, key, payload length, payload checksum.
constexpr size_t kHeaderSize = 8 + 4 + 4 + 16 + 8 + 16;

std::array<uint8_t, 16> digest128(std::string_view bytes) {
  const XXH128_hash_t hash = XXH3_128bits(bytes.data(), bytes.size());
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, hash);
  std::array<uint8_t, 16> out;
  std::memcpy(out.data(), canonical.digest, 16);
  return out;
}

// ---- the field codec: one `io` per type serves both directions ----------------------------

// The number of values of each enum, for range checks on decode.
template <class E> constexpr uint32_t enum_count();
template <> constexpr uint32_t enum_count<RuleAction>() { return 7; }
template <> constexpr uint32_t enum_count<RuleProtocol>() { return 4; }
template <> constexpr uint32_t enum_count<BufferKind>() { return kBufferKindCount; }
template <> constexpr uint32_t enum_count<Transform::Kind>() { return 12; }
template <> constexpr uint32_t enum_count<NumericTest::Op>() { return 7; }
template <> constexpr uint32_t enum_count<TcpFlagsTest::Mode>() { return 4; }
template <> constexpr uint32_t enum_count<StreamSizeTest::Side>() { return 4; }
template <> constexpr uint32_t enum_count<ThresholdOption::Type>() { return 4; }
template <> constexpr uint32_t enum_count<ThresholdOption::Track>() { return 4; }
template <> constexpr uint32_t enum_count<TagOption::Scope>() { return 2; }
template <> constexpr uint32_t enum_count<TagOption::Metric>() { return 3; }
template <> constexpr uint32_t enum_count<RateFilterOption::NewAction>() { return 6; }
template <> constexpr uint32_t enum_count<FlowbitsOption::Command>() { return 5; }
template <> constexpr uint32_t enum_count<XbitsOption::Command>() { return 5; }
template <> constexpr uint32_t enum_count<XbitsOption::Track>() { return 3; }
template <> constexpr uint32_t enum_count<ByteTestOption::Op>() { return 7; }
template <> constexpr uint32_t enum_count<ByteMathOption::Op>() { return 6; }
template <> constexpr uint32_t enum_count<ChainStep::Kind>() { return 9; }
template <> constexpr uint32_t enum_count<Suppression::Track>() { return 4; }
template <> constexpr uint32_t enum_count<Rule::Target>() { return 3; }
template <> constexpr uint32_t enum_count<Rule::StreamMode>() { return 3; }
template <> constexpr uint32_t enum_count<AppProto>() { return static_cast<uint32_t>(AppProto::Failed) + 1; }

// A field added to the rule model must be serialized below (and kRuleSnapshotFormat bumped):
// these sizes change with it and stop the build until then.
static_assert(sizeof(Rule) == 1248, "Rule changed: update io(Rule) in rule_snapshot.cpp and the format");
static_assert(sizeof(BufferSection) == 280, "BufferSection changed: update its io and the format");
static_assert(sizeof(ContentOption) == 88, "ContentOption changed: update its io and the format");
static_assert(sizeof(PacketTests) == 488, "PacketTests changed: update its io and the format");
static_assert(sizeof(PcreOption) == 88, "PcreOption changed: update its io and the format");
static_assert(sizeof(ByteRead) == 32, "ByteRead changed: update its io and the format");
static_assert(sizeof(Asn1Option) == 12, "Asn1Option changed: update its io and the format");

class Writer {
 public:
  static constexpr bool kReading = false;
  explicit Writer(std::string& out) : out_(out) {}

  template <class T>
  void raw(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    const size_t at = out_.size();
    out_.resize(at + sizeof(T));
    std::memcpy(out_.data() + at, &value, sizeof(T));
  }
  template <class T>
  void operator()(T& value) {
    if constexpr (std::is_enum_v<T>) {
      raw(static_cast<uint8_t>(value));
    } else {
      raw(value);
    }
  }
  void operator()(bool& value) { raw(static_cast<uint8_t>(value ? 1 : 0)); }
  void operator()(std::string& value) {
    raw(static_cast<uint32_t>(value.size()));
    out_.append(value);
  }
  void count(size_t n) { raw(static_cast<uint32_t>(n)); }
  void bytes(void* data, size_t n) { out_.append(static_cast<const char*>(data), n); }
  bool ok() const noexcept { return true; }

  // pcre: the regex's index in the stream of serialized codes (-1: none).
  void regex(std::shared_ptr<const Regex>& regex) {
    int32_t index = -1;
    if (regex) {
      const auto [it, inserted] = regex_index_.emplace(regex.get(), static_cast<int32_t>(regexes_.size()));
      if (inserted) regexes_.push_back(regex.get());
      index = it->second;
    }
    raw(index);
  }
  const std::vector<const Regex*>& regexes() const noexcept { return regexes_; }

  // An address set: its index in the table of distinct sets (most rules share $HOME_NET and
  // $EXTERNAL_NET; decoding copies a table entry instead of normalizing the ranges again).
  void address_set(AddressSet& set) {
    std::string bytes;
    for (const auto& range : set.ranges()) {
      bytes.append(reinterpret_cast<const char*>(range.first.bytes.data()), 16);
      bytes.append(reinterpret_cast<const char*>(range.last.bytes.data()), 16);
    }
    const auto [it, inserted] = address_index_.emplace(bytes, static_cast<uint32_t>(address_sets_.size()));
    if (inserted) address_sets_.push_back(&set);
    raw(it->second);
  }
  const std::vector<const AddressSet*>& address_sets() const noexcept { return address_sets_; }

 private:
  std::string& out_;
  std::unordered_map<std::string, uint32_t> address_index_;
  std::vector<const AddressSet*> address_sets_;
  std::unordered_map<const Regex*, int32_t> regex_index_;
  std::vector<const Regex*> regexes_;
};

class Reader {
 public:
  static constexpr bool kReading = true;
  Reader(std::string_view in, const std::vector<std::shared_ptr<const Regex>>* regexes)
      : p_(in.data()), end_(in.data() + in.size()), regexes_(regexes) {}

  template <class T>
  void raw(T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (static_cast<size_t>(end_ - p_) < sizeof(T)) {
      fail("truncated");
      value = T{};
      return;
    }
    std::memcpy(&value, p_, sizeof(T));
    p_ += sizeof(T);
  }
  template <class T>
  void operator()(T& value) {
    if constexpr (std::is_enum_v<T>) {
      uint8_t v = 0;
      raw(v);
      if (v >= enum_count<T>()) {
        fail("enum out of range");
        v = 0;
      }
      value = static_cast<T>(v);
    } else {
      raw(value);
    }
  }
  void operator()(bool& value) {
    uint8_t v = 0;
    raw(v);
    if (v > 1) fail("bool out of range");
    value = v == 1;
  }
  void operator()(std::string& value) {
    uint32_t n = 0;
    raw(n);
    if (static_cast<size_t>(end_ - p_) < n) {
      fail("truncated string");
      value.clear();
      return;
    }
    value.assign(p_, n);
    p_ += n;
  }
  // An element count: each element takes at least one byte, so a count past the bytes left is
  // corrupt (and never sizes a huge allocation).
  size_t count() {
    uint32_t n = 0;
    raw(n);
    if (n > static_cast<size_t>(end_ - p_)) {
      fail("count past the end");
      return 0;
    }
    return n;
  }
  void bytes(void* data, size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) {
      fail("truncated");
      std::memset(data, 0, n);
      return;
    }
    std::memcpy(data, p_, n);
    p_ += n;
  }
  void regex(std::shared_ptr<const Regex>& regex) {
    int32_t index = -1;
    raw(index);
    if (index < 0) {
      regex.reset();
      return;
    }
    if (regexes_ == nullptr || static_cast<size_t>(index) >= regexes_->size()) {
      fail("regex index out of range");
      return;
    }
    regex = (*regexes_)[static_cast<size_t>(index)];
  }
  void address_set(AddressSet& set) {
    uint32_t index = 0;
    raw(index);
    if (address_sets_ == nullptr || index >= address_sets_->size()) {
      fail("address set index out of range");
      return;
    }
    set = (*address_sets_)[index];
  }
  void set_address_sets(const std::vector<AddressSet>* sets) noexcept { address_sets_ = sets; }
  std::string_view rest() const noexcept { return std::string_view(p_, static_cast<size_t>(end_ - p_)); }
  void skip(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) {
      fail("truncated");
      p_ = end_;
      return;
    }
    p_ += n;
  }
  bool ok() const noexcept { return error_ == nullptr; }
  const char* error() const noexcept { return error_ == nullptr ? "" : error_; }
  void fail(const char* why) noexcept {
    if (error_ == nullptr) error_ = why;
    p_ = end_;  // everything after reads as truncated
  }

 private:
  const char* p_;
  const char* end_;
  const std::vector<std::shared_ptr<const Regex>>* regexes_;
  const std::vector<AddressSet>* address_sets_ = nullptr;
  const char* error_ = nullptr;
};

template <class A, class T> void io(A& a, std::vector<T>& values);
template <class A, class T> void io(A& a, std::optional<T>& value);

template <class A, class T>
  requires(std::is_arithmetic_v<T> || std::is_enum_v<T>)
void io(A& a, T& value) {
  a(value);
}
template <class A> void io(A& a, std::string& value) { a(value); }

template <class A> void io(A& a, AddressSet& set) { a.address_set(set); }

// An AddressSet's or PortSet's ranges: the count, then each range's two ends (`end` reads or
// writes one), rebuilt with the set's from_ranges when reading.
template <class A, class Set, class End>
void set_ranges(A& a, Set& set, End end) {
  std::vector<typename Set::Range> ranges;
  if constexpr (A::kReading) {
    ranges.resize(a.count());
  } else {
    ranges = set.ranges();
    a.count(ranges.size());
  }
  for (auto& range : ranges) {
    end(range.first);
    end(range.last);
  }
  if constexpr (A::kReading) set = Set::from_ranges(std::move(ranges));
}

// The table's entries themselves: the ranges.
template <class A>
void address_set_ranges(A& a, AddressSet& set) {
  set_ranges(a, set, [&a](auto& address) { a.bytes(address.bytes.data(), 16); });
}

template <class A>
void io(A& a, PortSet& set) {
  set_ranges(a, set, [&a](auto& port) { a(port); });
}

template <class A, class T>
void io(A& a, std::vector<T>& values) {
  if constexpr (A::kReading) {
    values.clear();
    const size_t n = a.count();
    values.resize(n);
  } else {
    a.count(values.size());
  }
  for (auto& value : values) io(a, value);
}

template <class A, class T>
void io(A& a, std::optional<T>& value) {
  bool present = value.has_value();
  a(present);
  if (!present) {
    if constexpr (A::kReading) value.reset();
    return;
  }
  if constexpr (A::kReading) value = T{};  // not emplace(): clang 14 rejects it for a nested aggregate with default member initializers
  io(a, *value);
}

template <class A> void io(A& a, Transform& t) { a(t.kind), a(t.key); }

template <class A>
void io(A& a, ContentOption& c) {
  a(c.pattern), a(c.nocase), a(c.negated);
  io(a, c.offset), io(a, c.depth), io(a, c.distance), io(a, c.within);
  a(c.rawbytes), a(c.startswith), a(c.endswith), a(c.fast_pattern), a(c.fast_pattern_only);
  io(a, c.fast_pattern_offset), io(a, c.fast_pattern_length);
  a(c.offset_var), a(c.depth_var), a(c.distance_var), a(c.within_var);
}

template <class A> void io(A& a, NumericTest& t) { a(t.op), a(t.a), a(t.b); }

template <class A>
void io(A& a, FlowCondition& f) {
  a(f.to_server), a(f.to_client), a(f.established), a(f.not_established), a(f.stateless), a(f.only_stream),
      a(f.no_stream);
}

template <class A> void io(A& a, TcpFlagsTest& t) { a(t.mode), a(t.flags), a(t.ignore); }
template <class A> void io(A& a, FragBitsTest& t) { a(t.mode), a(t.bits); }
template <class A> void io(A& a, StreamSizeTest& t) { a(t.side), io(a, t.size); }

template <class A>
void io(A& a, PacketTests& p) {
  io(a, p.flow), io(a, p.dsize), io(a, p.ttl), io(a, p.tos), io(a, p.ip_id), io(a, p.ip_proto), io(a, p.itype);
  io(a, p.icode), io(a, p.icmp_id), io(a, p.icmp_seq), io(a, p.tcp_window), io(a, p.tcp_seq), io(a, p.tcp_ack);
  io(a, p.fragoffset), io(a, p.flags), io(a, p.fragbits), io(a, p.stream_size), io(a, p.ipopts), a(p.sameip);
  a(p.decode_events.words[0]), a(p.decode_events.words[1]);
}

template <class A> void io(A& a, ThresholdOption& t) { a(t.type), a(t.track), a(t.count), a(t.seconds); }
template <class A> void io(A& a, TagOption& t) { a(t.scope), a(t.metric), a(t.by_src), a(t.count); }
template <class A>
void io(A& a, RateFilterOption& r) {
  a(r.track), a(r.count), a(r.seconds), a(r.new_action), a(r.timeout);
}
template <class A>
void io(A& a, FlowbitsOption& f) {
  a(f.command), io(a, f.names), a(f.any), io(a, f.ids);
}
template <class A>
void io(A& a, XbitsOption& x) {
  a(x.command), a(x.track), a(x.name), a(x.expire), a(x.id);
}
template <class A>
void io(A& a, PcreOption& p) {
  a(p.source), a(p.expression), a(p.options), a(p.negated), a(p.relative);
  a.regex(p.regex);
}
template <class A> void io(A& a, IsDataAtOption& o) { a(o.offset), a(o.offset_var), a(o.relative), a(o.negated); }
template <class A>
void io(A& a, ByteRead& r) {
  a(r.bytes), a(r.offset), a(r.relative), a(r.little_endian), a(r.string_base), a(r.bitmask), a(r.offset_var);
}
template <class A>
void io(A& a, ByteTestOption& o) {
  io(a, o.read), a(o.op), a(o.negated), a(o.value), a(o.value_var);
}
template <class A>
void io(A& a, ByteJumpOption& o) {
  io(a, o.read), a(o.multiplier), a(o.align), a(o.from_beginning), a(o.from_end), a(o.post_offset);
}
template <class A>
void io(A& a, ByteExtractOption& o) {
  io(a, o.read), a(o.multiplier), a(o.align), a(o.slot), a(o.name);
}
template <class A>
void io(A& a, ByteMathOption& o) {
  io(a, o.read), a(o.op), a(o.rvalue), a(o.rvalue_var), a(o.bitmask), a(o.slot), a(o.name);
}
template <class A>
void io(A& a, Asn1Option& o) {
  a(o.bitstring_overflow), a(o.double_overflow), a(o.oversize), a(o.relative), a(o.oversize_length), a(o.offset);
}
template <class A> void io(A& a, ChainStep& s) { a(s.kind), a(s.index); }
template <class A> void io(A& a, Suppression& s) { a(s.track), io(a, s.addresses); }

template <class A>
void io(A& a, BufferSection& s) {
  a(s.kind), io(a, s.transforms), io(a, s.contents), io(a, s.pcres), io(a, s.isdataats), io(a, s.byte_tests);
  io(a, s.byte_jumps), io(a, s.byte_extracts), io(a, s.byte_maths), io(a, s.bsizes), a(s.variables), io(a, s.steps);
  io(a, s.asn1s);
}

template <class A> void io(A& a, RuleReference& r) { a(r.system), a(r.id); }
template <class A> void io(A& a, Rule::AppLayerProtocolTest& t) { a(t.proto), a(t.negated); }

template <class A>
void io(A& a, Rule& r) {
  a(r.action), a(r.protocol), io(a, r.src_addresses), io(a, r.src_ports), io(a, r.dst_addresses), io(a, r.dst_ports);
  a(r.bidirectional), a(r.gid), a(r.sid), a(r.rev), a(r.msg), a(r.classtype), a(r.category), a(r.priority);
  io(a, r.references), io(a, r.reference_urls), io(a, r.metadata);
  io(a, r.packet), io(a, r.sections), a(r.noalert), io(a, r.threshold), io(a, r.rate_filter), io(a, r.flowbits);
  io(a, r.tags), io(a, r.suppressions), a(r.target), a(r.stream), a(r.app_proto), io(a, r.app_layer_protocol);
  io(a, r.services), io(a, r.dns_opcode), io(a, r.tls_versions), a(r.file), a(r.line), a(r.text);
  io(a, r.xbits), a(r.ftpbounce);
}

template <class A> void io(A& a, RuleError& e) { a(e.file), a(e.line), a(e.message); }

std::array<uint8_t, 16> file_digest(const std::string& path) {
  std::string text;
  if (!read_whole_file(path, text)) return digest128("\x01missing");
  return digest128(text);
}

}  // namespace

// ---- key ------------------------------------------------------------------------------------

SnapshotKeyBuilder::SnapshotKeyBuilder() : state_(XXH3_createState()) {
  XXH3_128bits_reset(static_cast<XXH3_state_t*>(state_));
  add("eastwatch rule snapshot");
  add(std::to_string(kRuleSnapshotFormat));
  add(build_id());
  add(regex_engine_description());
  add(Regex::library_description());
}

SnapshotKeyBuilder::~SnapshotKeyBuilder() { XXH3_freeState(static_cast<XXH3_state_t*>(state_)); }

void SnapshotKeyBuilder::add(std::string_view bytes) {
  const uint64_t length = bytes.size();
  auto* state = static_cast<XXH3_state_t*>(state_);
  XXH3_128bits_update(state, &length, sizeof length);
  XXH3_128bits_update(state, bytes.data(), bytes.size());
}

void SnapshotKeyBuilder::add_variables(const RuleVariables& variables) {
  add("address-groups");
  for (const auto& [name, value] : variables.address_groups) add(name), add(value);
  add("port-groups");
  for (const auto& [name, value] : variables.port_groups) add(name), add(value);
  add("end of variables");
}

void SnapshotKeyBuilder::add_file(const std::string& path) {
  add(path);
  // Mapped, not read: hashing every ET Open file (20 MB) then costs no copy.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st{};
  if (fd >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    const auto size = static_cast<size_t>(st.st_size);
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (map != MAP_FAILED) {
      ::close(fd);
      add("file");
      add(std::string_view(static_cast<const char*>(map), size));
      ::munmap(map, size);
      return;
    }
  }
  std::string text;
  const bool readable = read_whole_file(path, text);
  if (fd >= 0) ::close(fd);
  if (readable) {
    add("file");
    add(text);
  } else {
    add("missing");
  }
}

RuleSnapshotKey SnapshotKeyBuilder::finish() const {
  const XXH128_hash_t hash = XXH3_128bits_digest(static_cast<XXH3_state_t*>(state_));
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, hash);
  RuleSnapshotKey key;
  std::memcpy(key.data(), canonical.digest, key.size());
  return key;
}

bool read_whole_file(const std::string& path, std::string& out) {
  out.clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return false;
  }
  out.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (true) {
    if (done == out.size()) out.resize(out.size() + 4096);  // grew since fstat: keep reading
    const ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0) {
      ::close(fd);
      out.clear();
      return false;
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  ::close(fd);
  return true;
}

std::string build_id() {
  std::string id;
  dl_iterate_phdr(
      [](struct dl_phdr_info* info, size_t, void* data) -> int {
        auto& out = *static_cast<std::string*>(data);
        // The first object is the executable.
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_NOTE) continue;
          const auto* p = reinterpret_cast<const uint8_t*>(info->dlpi_addr + ph.p_vaddr);
          const uint8_t* end = p + ph.p_memsz;
          while (p + sizeof(ElfW(Nhdr)) <= end) {
            ElfW(Nhdr) note;
            std::memcpy(&note, p, sizeof note);
            const uint8_t* name = p + sizeof note;
            const uint8_t* desc = name + ((note.n_namesz + 3) & ~3u);
            const uint8_t* next = desc + ((note.n_descsz + 3) & ~3u);
            if (next > end) break;
            if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0) {
              static const char* kHex = "0123456789abcdef";
              for (uint32_t k = 0; k < note.n_descsz; ++k) {
                out.push_back(kHex[desc[k] >> 4]);
                out.push_back(kHex[desc[k] & 15]);
              }
              return 1;
            }
            p = next;
          }
        }
        return 1;  // only the executable
      },
      &id);
  return id;
}

std::string snapshot_key_hex(const RuleSnapshotKey& key) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (const uint8_t b : key) out.push_back(kHex[b >> 4]), out.push_back(kHex[b & 15]);
  return out;
}

// ---- file -----------------------------------------------------------------------------------
//
// header: magic[8] format u32, 0 u32, key[16], payload length u64, XXH3-128 of the payload[16]
// payload: included files (path, digest), regex count u32 + pcre2 stream length u64 + stream,
//          the address sets, rule count u32, the second half's first rule u64 and its offset
//          in the body u64; body: rules, errors, config errors.

std::string encode_rule_snapshot(const RuleSnapshotKey& key, const RuleSnapshotContent& content) {
  return encode_rule_snapshot(key, RuleSnapshotView{content.rules, content.errors, content.config_errors,
                                                    content.included_files});
}

std::string encode_rule_snapshot(const RuleSnapshotKey& key, const RuleSnapshotView& content) {
  std::string body;
  body.reserve(content.rules.size() * 1024);
  Writer w(body);
  // The codec's io takes mutable references (one function per type for both directions); the
  // writer only reads them.
  // Two halves, decoded on two threads: the second half's offset goes in the head.
  const size_t split = content.rules.size() / 2;
  uint64_t split_offset = 0;
  for (size_t i = 0; i < content.rules.size(); ++i) {
    if (i == split) split_offset = body.size();
    io(w, const_cast<Rule&>(content.rules[i]));
  }
  if (split == content.rules.size()) split_offset = body.size();
  w.count(content.errors.size());
  for (const auto& error : content.errors) io(w, const_cast<RuleError&>(error));
  w.count(content.config_errors.size());
  for (const auto& error : content.config_errors) w(const_cast<std::string&>(error));

  std::string head;
  Writer h(head);
  h.count(content.included_files.size());
  for (const auto& path : content.included_files) {
    h(const_cast<std::string&>(path));
    auto digest = file_digest(path);
    h.bytes(digest.data(), digest.size());
  }
  auto regexes = Regex::serialize(w.regexes());
  std::string stream = regexes ? std::move(*regexes) : std::string();
  if (!regexes) return std::string();  // nothing to store: the caller writes no snapshot
  h.count(w.regexes().size());
  h.raw(static_cast<uint64_t>(stream.size()));
  head.append(stream);
  h.count(w.address_sets().size());
  for (const AddressSet* set : w.address_sets()) address_set_ranges(h, const_cast<AddressSet&>(*set));
  h.count(content.rules.size());
  h.raw(static_cast<uint64_t>(split));
  h.raw(split_offset);

  const uint64_t payload_size = head.size() + body.size();
  std::string file;
  file.reserve(kHeaderSize + payload_size);
  file.append(kMagic, sizeof kMagic);
  Writer f(file);
  f.raw(kRuleSnapshotFormat);
  f.raw(uint32_t{0});
  file.append(reinterpret_cast<const char*>(key.data()), key.size());
  f.raw(payload_size);
  XXH3_state_t* state = XXH3_createState();
  XXH3_128bits_reset(state);
  XXH3_128bits_update(state, head.data(), head.size());
  XXH3_128bits_update(state, body.data(), body.size());
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state));
  XXH3_freeState(state);
  file.append(reinterpret_cast<const char*>(canonical.digest), 16);
  file.append(head);
  file.append(body);
  return file;
}

tl::expected<RuleSnapshotContent, std::string> decode_rule_snapshot(std::string_view bytes,
                                                                    const RuleSnapshotKey& key) {
  using tl::unexpected;
  if (bytes.size() < kHeaderSize) return unexpected(std::string("shorter than its header"));
  if (std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) return unexpected(std::string("not a rule snapshot"));
  uint32_t format = 0;
  std::memcpy(&format, bytes.data() + 8, 4);
  if (format != kRuleSnapshotFormat) {
    return unexpected("format " + std::to_string(format) + ", expected " + std::to_string(kRuleSnapshotFormat));
  }
  uint32_t reserved = 0;
  std::memcpy(&reserved, bytes.data() + 12, 4);
  if (reserved != 0) return unexpected(std::string("corrupt header"));
  if (std::memcmp(bytes.data() + 16, key.data(), key.size()) != 0) {
    return unexpected(std::string("stale (made for other rules, config or binary)"));
  }
  uint64_t payload_size = 0;
  std::memcpy(&payload_size, bytes.data() + 32, 8);
  if (payload_size != bytes.size() - kHeaderSize) {
    return unexpected("truncated or padded: " + std::to_string(bytes.size() - kHeaderSize) + " payload bytes, header says " +
                      std::to_string(payload_size));
  }
  const std::string_view payload = bytes.substr(kHeaderSize);
  if (std::memcmp(digest128(payload).data(), bytes.data() + 40, 16) != 0) {
    return unexpected(std::string("checksum mismatch (corrupt)"));
  }

  RuleSnapshotContent content;
  Reader head(payload, nullptr);
  content.included_files.resize(head.count());
  for (auto& path : content.included_files) {
    head(path);
    std::array<uint8_t, 16> digest{};
    head.bytes(digest.data(), digest.size());
    if (!head.ok()) break;
    if (file_digest(path) != digest) return unexpected("stale (included file '" + path + "' changed)");
  }
  const size_t regex_count = head.count();
  uint64_t stream_size = 0;
  head.raw(stream_size);
  if (!head.ok() || stream_size > head.rest().size()) return unexpected(std::string("corrupt: ") + head.error());
  const std::string_view stream = head.rest().substr(0, stream_size);
  head.skip(stream_size);
  std::vector<AddressSet> address_sets(head.count());
  for (auto& set : address_sets) address_set_ranges(head, set);
  const size_t rule_count = head.count();
  uint64_t split = 0, split_offset = 0;
  head.raw(split);
  head.raw(split_offset);
  if (!head.ok()) return unexpected(std::string("corrupt: ") + head.error());
  const std::string_view body = head.rest();
  if (split > rule_count || split_offset > body.size()) return unexpected(std::string("corrupt: split out of range"));
  auto regexes = Regex::deserialize(stream, regex_count, /*jit=*/false);
  if (!regexes) return unexpected("corrupt: " + regexes.error());
  content.rules.resize(rule_count);
  // Three threads: JIT-compiling every pcre takes about as long as decoding half the rules;
  // the rules only copy the regex pointers, and nothing searches before the joins.
  std::jthread jit([&regexes] { Regex::jit_compile(*regexes); });
  Reader second(body.substr(static_cast<size_t>(split_offset)), &*regexes);
  second.set_address_sets(&address_sets);
  std::jthread second_half([&] {
    for (size_t i = static_cast<size_t>(split); i < rule_count && second.ok(); ++i) io(second, content.rules[i]);
    io(second, content.errors);
    io(second, content.config_errors);
  });
  Reader r(body.substr(0, static_cast<size_t>(split_offset)), &*regexes);
  r.set_address_sets(&address_sets);
  for (size_t i = 0; i < split && r.ok(); ++i) io(r, content.rules[i]);
  second_half.join();
  jit.join();
  if (!r.ok()) return unexpected(std::string("corrupt: ") + r.error());
  if (!r.rest().empty()) return unexpected(std::string("corrupt: the first half ends before its split"));
  if (!second.ok()) return unexpected(std::string("corrupt: ") + second.error());
  if (!second.rest().empty()) return unexpected(std::string("corrupt: bytes after the content"));
  return content;
}

}  // namespace eastwatch

// The baseline for every matching benchmark: the raw Hyperscan block-mode scan of the same
// payload bytes with the same literals, no decoding, flows or verification on the clock.
// Reads the capture (decoded with Eastwatch's decoders only to find each payload), copies the
// payloads into memory, builds one literal database per protocol from the fast patterns
// eastwatch's compiler chose (all of a protocol's, not split by port as eastwatch's signature
// groups are: the baseline is one plain multi-literal scan), and times hs_scan over all
// payloads (best of 3 passes). Prints one key=value line.
// usage: raw_scan CAPTURE RULES
#include <hs/hs.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "sensor/capture/pcap_file_source.hpp"
#include "sensor/decode/decoder.hpp"
#include "signatures/rule_compiler.hpp"
#include "signatures/rule_parser.hpp"

using namespace eastwatch;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: raw_scan CAPTURE RULES\n");
    return 2;
  }
  auto source = PcapFileSource::open(argv[1]);
  if (!source) {
    std::fprintf(stderr, "raw_scan: %s\n", source.error().c_str());
    return 2;
  }
  std::vector<uint8_t> data;
  struct Payload {
    size_t offset;
    uint32_t length;
    PrefilterGroupId group;
  };
  std::vector<Payload> payloads;
  uint64_t frame_bytes = 0, packets = 0;
  std::array<Packet, 64> burst{};
  DecodeStats stats;
  while (size_t n = (*source)->next_burst(burst)) {
    for (size_t i = 0; i < n; ++i) {
      Packet& p = burst[i];
      ++packets;
      frame_bytes += p.wirelen;
      p.reset_decode();
      if (!decode_packet(p, stats) || p.payload_len == 0) continue;
      PrefilterGroupId group = PrefilterGroupId::OtherIp;
      if (p.has_transport && p.ip_proto == 6) group = PrefilterGroupId::Tcp;
      if (p.has_transport && p.ip_proto == 17) group = PrefilterGroupId::Udp;
      if (p.has_transport && (p.ip_proto == 1 || p.ip_proto == 58)) group = PrefilterGroupId::Icmp;
      payloads.push_back(Payload{data.size(), p.payload_len, group});
      data.insert(data.end(), p.data + p.payload_offset, p.data + p.payload_offset + p.payload_len);
    }
  }
  // The same fast-pattern databases eastwatch scans (one per protocol group), built by the
  // same compiler: the baseline is Hyperscan alone on the same bytes with the same literals.
  auto loaded = load_rule_files({argv[2]}, RuleVariables::with_suricata_defaults(), nullptr);
  auto compiled = compile_rules(std::move(loaded.rules));
  if (!compiled) {
    std::fprintf(stderr, "raw_scan: %s\n", compiled.error().c_str());
    return 2;
  }
  const CompiledRuleSet& set = **compiled;
  std::array<HsDatabase, static_cast<size_t>(PrefilterGroupId::Count)> databases;
  hs_scratch_t* scratch = nullptr;
  for (size_t g = 0; g < databases.size(); ++g) {
    std::vector<std::string> literals;
    std::vector<unsigned> flags;
    const auto rules = set.rules();
    for (uint32_t r = 0; r < rules.size(); ++r) {
      const bool in_protocol = rules[r].protocol == RuleProtocol::Ip ||
                               (g == 0 && rules[r].protocol == RuleProtocol::Tcp) ||
                               (g == 1 && rules[r].protocol == RuleProtocol::Udp) ||
                               (g == 2 && rules[r].protocol == RuleProtocol::Icmp);
      if (!in_protocol || set.fast_pattern_bytes(r).empty()) continue;
      literals.push_back(set.fast_pattern_bytes(r));
      flags.push_back(HS_FLAG_SINGLEMATCH | (set.fast_pattern_nocase(r) ? HS_FLAG_CASELESS : 0));
    }
    if (literals.empty()) continue;
    std::vector<const char*> expressions;
    std::vector<size_t> lengths;
    std::vector<unsigned> ids;
    for (size_t i = 0; i < literals.size(); ++i) {
      expressions.push_back(literals[i].data());
      lengths.push_back(literals[i].size());
      ids.push_back(static_cast<unsigned>(i));
    }
    hs_database_t* database = nullptr;
    hs_compile_error_t* error = nullptr;
    if (hs_compile_lit_multi(expressions.data(), flags.data(), ids.data(), lengths.data(),
                             static_cast<unsigned>(expressions.size()), HS_MODE_BLOCK, nullptr, &database,
                             &error) != HS_SUCCESS) {
      std::fprintf(stderr, "raw_scan: %s\n", error && error->message ? error->message : "compile failed");
      return 2;
    }
    databases[g].reset(database);
    if (hs_alloc_scratch(database, &scratch) != HS_SUCCESS) {
      std::fprintf(stderr, "raw_scan: cannot allocate scratch\n");
      return 2;
    }
  }
  HsScratch scratch_owner(scratch);
  uint64_t matches = 0;
  auto on_match = [](unsigned, unsigned long long, unsigned long long, unsigned, void* ctx) -> int {
    ++*static_cast<uint64_t*>(ctx);
    return 0;
  };
  double best = 1e30;
  uint64_t best_matches = 0;
  for (int pass = 0; pass < 3; ++pass) {
    matches = 0;
    const auto start = std::chrono::steady_clock::now();
    for (const auto& payload : payloads) {
      const hs_database_t* db = databases[static_cast<size_t>(payload.group)].get();
      if (db == nullptr) continue;
      hs_scan(db, reinterpret_cast<const char*>(data.data() + payload.offset), payload.length, 0, scratch, on_match,
              &matches);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (seconds < best) {
      best = seconds;
      best_matches = matches;
    }
  }
  std::printf("raw_scan packets=%llu frame_bytes=%llu payload_bytes=%zu literals=%u matches=%llu seconds=%.6f "
              "gbps=%.3f ns_per_packet=%.1f\n",
              static_cast<unsigned long long>(packets), static_cast<unsigned long long>(frame_bytes), data.size(),
              set.stats().patterns, static_cast<unsigned long long>(best_matches), best, frame_bytes * 8 / best / 1e9,
              best * 1e9 / static_cast<double>(packets));
  return 0;
}

// The baseline for every matching benchmark: the raw Hyperscan block-mode scan of the same
// payload bytes with the same literals, no decoding, flows or verification on the clock.
// Reads the capture (decoded with Eastwatch's decoders only to find each payload), copies the
// payloads into memory, compiles every content of the rules file into one literal database,
// and times hs_scan over all payloads (best of 3 passes). Prints one key=value line.
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
  std::vector<std::pair<size_t, uint32_t>> payloads;
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
      payloads.emplace_back(data.size(), p.payload_len);
      data.insert(data.end(), p.data + p.payload_offset, p.data + p.payload_offset + p.payload_len);
    }
  }
  auto loaded = load_rule_files({argv[2]}, RuleVariables::with_suricata_defaults(), nullptr);
  std::vector<std::string> literals;
  std::vector<unsigned> flags;
  for (const auto& rule : loaded.rules) {
    for (const auto& section : rule.sections) {
      for (const auto& content : section.contents) {
        literals.push_back(content.pattern);
        flags.push_back(HS_FLAG_SINGLEMATCH | (content.nocase ? HS_FLAG_CASELESS : 0));
      }
    }
  }
  std::vector<const char*> expressions;
  std::vector<size_t> lengths;
  std::vector<unsigned> ids;
  for (size_t i = 0; i < literals.size(); ++i) {
    expressions.push_back(literals[i].data());
    lengths.push_back(literals[i].size());
    ids.push_back(static_cast<unsigned>(i));
  }
  hs_database_t* db = nullptr;
  hs_compile_error_t* error = nullptr;
  if (hs_compile_lit_multi(expressions.data(), flags.data(), ids.data(), lengths.data(),
                           static_cast<unsigned>(literals.size()), HS_MODE_BLOCK, nullptr, &db, &error) != HS_SUCCESS) {
    std::fprintf(stderr, "raw_scan: %s\n", error ? error->message : "compile failed");
    return 2;
  }
  hs_scratch_t* scratch = nullptr;
  hs_alloc_scratch(db, &scratch);
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
    for (const auto& [offset, length] : payloads) {
      hs_scan(db, reinterpret_cast<const char*>(data.data() + offset), length, 0, scratch, on_match, &matches);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (seconds < best) {
      best = seconds;
      best_matches = matches;
    }
  }
  std::printf("raw_scan packets=%llu frame_bytes=%llu payload_bytes=%zu literals=%zu matches=%llu seconds=%.6f "
              "gbps=%.3f ns_per_packet=%.1f\n",
              static_cast<unsigned long long>(packets), static_cast<unsigned long long>(frame_bytes), data.size(),
              literals.size(), static_cast<unsigned long long>(best_matches), best, frame_bytes * 8 / best / 1e9,
              best * 1e9 / static_cast<double>(packets));
  hs_free_scratch(scratch);
  hs_free_database(db);
  return 0;
}

// Writes N random literal content rules (~10% nocase, 6-20 bytes, sids from 1000000) and, with
// --plant FILE, the first K literals to FILE, one per line, for gen_http_capture --inject.
// Deterministic for a given --seed.
// usage: gen_rules --out RULES [--count N] [--seed N] [--plant FILE --planted K]
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <set>
#include <string>

int main(int argc, char** argv) {
  std::string out, plant_file;
  unsigned count = 3000, planted = 34;
  unsigned long long seed = 7;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "usage: gen_rules --out RULES [--count N] [--seed N] [--plant FILE --planted K]\n");
      return 2;
    }
    const std::string value = argv[++i];
    if (arg == "--out") out = value;
    else if (arg == "--count") count = static_cast<unsigned>(std::stoul(value));
    else if (arg == "--seed") seed = std::stoull(value);
    else if (arg == "--plant") plant_file = value;
    else if (arg == "--planted") planted = static_cast<unsigned>(std::stoul(value));
    else {
      std::fprintf(stderr, "gen_rules: unknown option %s\n", arg.c_str());
      return 2;
    }
  }
  if (out.empty()) {
    std::fprintf(stderr, "gen_rules: --out RULES is required\n");
    return 2;
  }
  std::mt19937_64 rng(seed);
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
  std::ofstream rules(out);
  std::ofstream plants;
  if (!plant_file.empty()) plants.open(plant_file);
  std::set<std::string> seen;
  for (unsigned n = 0; n < count;) {
    const size_t length = 6 + rng() % 15;
    std::string literal;
    for (size_t i = 0; i < length; ++i) literal += kAlphabet[rng() % (sizeof kAlphabet - 1)];
    if (!seen.insert(literal).second) continue;
    const bool nocase = rng() % 10 == 0;
    rules << "alert tcp any any -> any any (msg:\"BENCH literal " << n << "\"; content:\"" << literal << "\";"
          << (nocase ? " nocase;" : "") << " sid:" << 1000000 + n << "; rev:1;)\n";
    if (plants.is_open() && n < planted) plants << literal << "\n";
    ++n;
  }
  std::fprintf(stderr, "%s: %u rules\n", out.c_str(), count);
  return 0;
}

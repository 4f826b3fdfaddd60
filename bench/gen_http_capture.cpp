// Writes a large synthetic HTTP capture (classic pcap, Ethernet) for benchmarks: N TCP sessions
// with full handshakes, one request each (GET or POST with realistic headers), a response split
// into MSS-sized segments with client ACKs, and FIN teardown. `--concurrency` sessions are open
// at once and their packets interleave. Deterministic for a given --seed.
//
// Defaults approximate the reference capture: 16,717 sessions, ~330,000 packets,
// ~200 MB, average frame ~620 bytes. --inject FILE plants one literal per line of FILE into the
// request of every --inject-every'th session (default: 34 literals), so a known number of
// alerts is expected.
//
// usage: gen_http_capture --out FILE [--sessions N] [--concurrency N] [--seed N] [--small]
//                         [--inject FILE] [--inject-every N]
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace {

struct Options {
  std::string out;
  uint32_t sessions = 16717;
  uint32_t concurrency = 512;
  uint64_t seed = 1;
  std::string inject_file;
  uint32_t inject_every = 491;
};

const char* kWords[] = {"index", "api", "v1", "v2", "users", "orders", "static", "assets", "img", "login",
                        "search", "cart", "items", "report", "status", "health", "metrics", "blog", "news",
                        "products", "category", "account", "profile", "settings", "download", "docs"};
const char* kAgents[] = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "curl/7.88.1", "python-requests/2.31.0", "Go-http-client/1.1", "kube-probe/1.27"};

class PcapWriter {
 public:
  explicit PcapWriter(const std::string& path) : file_(std::fopen(path.c_str(), "wb")) {
    if (!file_) {
      std::perror(path.c_str());
      std::exit(2);
    }
    const uint32_t header[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1};
    std::fwrite(header, 1, 24, file_);
  }
  ~PcapWriter() { std::fclose(file_); }
  void write(const std::vector<uint8_t>& frame, uint64_t ts_usec) {
    const uint32_t record[4] = {static_cast<uint32_t>(ts_usec / 1000000), static_cast<uint32_t>(ts_usec % 1000000),
                                static_cast<uint32_t>(frame.size()), static_cast<uint32_t>(frame.size())};
    std::fwrite(record, 1, 16, file_);
    std::fwrite(frame.data(), 1, frame.size(), file_);
    ++packets_;
    bytes_ += frame.size();
  }
  uint64_t packets_ = 0;
  uint64_t bytes_ = 0;

 private:
  std::FILE* file_;
};

uint16_t checksum(const uint8_t* data, size_t length, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < length; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (length & 1) sum += data[length - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

struct Session {
  uint32_t client, server;
  uint16_t cport, sport;
  uint32_t cseq, sseq;
  std::vector<std::vector<uint8_t>> pending;  // frames still to emit, in order
  size_t next = 0;
};

std::vector<uint8_t> frame(const Session& s, bool to_server, uint8_t flags, const std::string& payload) {
  std::vector<uint8_t> f(54 + payload.size());
  uint8_t* p = f.data();
  const uint8_t mac_c[6] = {0, 0x50, 0x56, 0, 1, 1}, mac_s[6] = {0, 0x50, 0x56, 0, 2, 2};
  std::memcpy(p, to_server ? mac_s : mac_c, 6);
  std::memcpy(p + 6, to_server ? mac_c : mac_s, 6);
  p[12] = 0x08;
  p[13] = 0x00;
  uint8_t* ip = p + 14;
  const uint16_t total = static_cast<uint16_t>(40 + payload.size());
  const uint32_t src = to_server ? s.client : s.server, dst = to_server ? s.server : s.client;
  ip[0] = 0x45; ip[2] = total >> 8; ip[3] = total & 0xff; ip[6] = 0x40; ip[8] = 64; ip[9] = 6;
  for (int i = 0; i < 4; ++i) {
    ip[12 + i] = static_cast<uint8_t>(src >> (24 - 8 * i));
    ip[16 + i] = static_cast<uint8_t>(dst >> (24 - 8 * i));
  }
  const uint16_t ip_sum = checksum(ip, 20);
  ip[10] = ip_sum >> 8; ip[11] = ip_sum & 0xff;
  uint8_t* tcp = ip + 20;
  const uint16_t sp = to_server ? s.cport : s.sport, dp = to_server ? s.sport : s.cport;
  const uint32_t seq = to_server ? s.cseq : s.sseq, ack = to_server ? s.sseq : s.cseq;
  tcp[0] = sp >> 8; tcp[1] = sp & 0xff; tcp[2] = dp >> 8; tcp[3] = dp & 0xff;
  for (int i = 0; i < 4; ++i) {
    tcp[4 + i] = static_cast<uint8_t>(seq >> (24 - 8 * i));
    tcp[8 + i] = static_cast<uint8_t>((flags & 0x10 ? ack : 0) >> (24 - 8 * i));
  }
  tcp[12] = 0x50; tcp[13] = flags; tcp[14] = 0xff; tcp[15] = 0xff;
  std::memcpy(tcp + 20, payload.data(), payload.size());
  uint32_t pseudo = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 6 + 20 + payload.size();
  const uint16_t tcp_sum = checksum(tcp, 20 + payload.size(), pseudo);
  tcp[16] = tcp_sum >> 8; tcp[17] = tcp_sum & 0xff;
  return f;
}

std::string random_text(std::mt19937_64& rng, size_t length) {
  std::string out;
  out.reserve(length + 16);
  while (out.size() < length) {
    out += kWords[rng() % (sizeof kWords / sizeof kWords[0])];
    out += (rng() % 9 == 0) ? "\n" : " ";
  }
  out.resize(length);
  return out;
}

void build_session(Session& s, std::mt19937_64& rng, const std::string& planted) {
  auto add = [&](bool to_server, uint8_t flags, const std::string& payload = {}) {
    s.pending.push_back(frame(s, to_server, flags, payload));
    if (to_server) s.cseq += static_cast<uint32_t>(payload.size()) + ((flags & 0x03) ? 1 : 0);
    else s.sseq += static_cast<uint32_t>(payload.size()) + ((flags & 0x03) ? 1 : 0);
  };
  add(true, 0x02);
  add(false, 0x12);
  add(true, 0x10);
  std::string path = "/";
  for (int i = 0, n = 1 + static_cast<int>(rng() % 4); i < n; ++i) {
    path += kWords[rng() % (sizeof kWords / sizeof kWords[0])];
    path += '/';
  }
  path += std::to_string(rng() % 100000);
  const bool post = rng() % 5 == 0;
  std::string request = (post ? "POST " : "GET ") + path + " HTTP/1.1\r\nHost: app-" + std::to_string(rng() % 40) +
                        ".internal\r\nUser-Agent: " + kAgents[rng() % (sizeof kAgents / sizeof kAgents[0])] +
                        "\r\nAccept: text/html,application/json;q=0.9,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\n"
                        "Accept-Encoding: gzip, deflate\r\nCookie: session=" + std::to_string(rng()) +
                        "\r\nConnection: keep-alive\r\n";
  if (!planted.empty()) request += "X-Trace: " + planted + "\r\n";
  if (post) {
    const std::string body = random_text(rng, 80 + rng() % 200);
    request += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " + std::to_string(body.size()) +
               "\r\n\r\n" + body;
  } else {
    request += "\r\n";
  }
  add(true, 0x18, request);
  add(false, 0x10);
  const size_t body_length = 2000 + rng() % 17000;
  std::string response = "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: text/html; charset=utf-8\r\n"
                         "Content-Length: " + std::to_string(body_length) + "\r\nCache-Control: no-cache\r\n\r\n" +
                         random_text(rng, body_length);
  int segments = 0;
  for (size_t at = 0; at < response.size(); at += 1460) {
    add(false, 0x18, response.substr(at, 1460));
    if (++segments % 2 == 0) add(true, 0x10);
  }
  add(true, 0x11);
  add(false, 0x11);
  add(true, 0x10);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "gen_http_capture: %s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--out") o.out = value();
    else if (arg == "--sessions") o.sessions = static_cast<uint32_t>(std::stoul(value()));
    else if (arg == "--concurrency") o.concurrency = static_cast<uint32_t>(std::stoul(value()));
    else if (arg == "--seed") o.seed = std::stoull(value());
    else if (arg == "--inject") o.inject_file = value();
    else if (arg == "--inject-every") o.inject_every = static_cast<uint32_t>(std::stoul(value()));
    else if (arg == "--small") o.sessions = 1700;
    else {
      std::fprintf(stderr, "usage: gen_http_capture --out FILE [--sessions N] [--concurrency N] [--seed N] [--small] "
                           "[--inject FILE] [--inject-every N]\n");
      return 2;
    }
  }
  if (o.out.empty()) {
    std::fprintf(stderr, "gen_http_capture: --out FILE is required\n");
    return 2;
  }
  std::vector<std::string> literals;
  if (!o.inject_file.empty()) {
    std::ifstream in(o.inject_file);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) literals.push_back(line);
    }
  }
  std::mt19937_64 rng(o.seed);
  PcapWriter writer(o.out);
  std::vector<Session> active;
  uint32_t started = 0;
  uint32_t planted = 0;
  uint64_t ts = uint64_t{1795165200} * 1000000;
  while (started < o.sessions || !active.empty()) {
    while (active.size() < o.concurrency && started < o.sessions) {
      Session s;
      s.client = 0x0a000000u | (1u << 16) | (started % 65000);
      s.server = 0x0a000000u | (2u << 16) | static_cast<uint32_t>(rng() % 64);
      s.cport = static_cast<uint16_t>(1024 + (started * 7) % 60000);
      s.sport = 80;
      s.cseq = static_cast<uint32_t>(rng());
      s.sseq = static_cast<uint32_t>(rng());
      std::string plant;
      if (!literals.empty() && planted < literals.size() && started % o.inject_every == o.inject_every / 2) {
        plant = literals[planted++];
      }
      build_session(s, rng, plant);
      active.push_back(std::move(s));
      ++started;
    }
    const size_t pick = rng() % active.size();
    Session& s = active[pick];
    writer.write(s.pending[s.next++], ts);
    ts += 5;
    if (s.next == s.pending.size()) {
      active[pick] = std::move(active.back());
      active.pop_back();
    }
  }
  std::fprintf(stderr, "%s: %u sessions, %llu packets, %.1f MB, average frame %.0f bytes, %u literals planted\n",
               o.out.c_str(), o.sessions, static_cast<unsigned long long>(writer.packets_), writer.bytes_ / 1e6,
               writer.packets_ ? double(writer.bytes_) / writer.packets_ : 0.0, planted);
  return 0;
}

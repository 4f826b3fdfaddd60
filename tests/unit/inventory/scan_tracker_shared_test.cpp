// sids 6 and 7 with several workers: one ScanTracker shared by every worker's VmDetector counts a
// source's probes wherever the flow hash put them, so 4 threads give exactly the alerts of one.
#include <atomic>
#include <barrier>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "sensor/decode/decoder.hpp"
#include "sensor/vmdetect/scan_tracker.hpp"
#include "sensor/vmdetect/vm_detector.hpp"
#include "tests/unit/decode/frame_builder.hpp"

using namespace eastwatch;
using eastwatch::test::Frame;

namespace {

constexpr uint32_t kThreads = 4;
constexpr uint32_t kRounds = 200;  // sources, all in one window

// Runs `feed(thread)` on kThreads threads started together.
template <class Feed>
void on_threads(Feed feed) {
  std::atomic<uint32_t> ready{0};
  std::vector<std::thread> threads;
  for (uint32_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      feed(t);
    });
  }
  for (auto& thread : threads) thread.join();
}

IpAddress source_of(uint32_t round) { return IpAddress::from_v4(0x0a010000u + round); }  // 10.1.x.y

}  // namespace

TEST_CASE("scan tracker shared by 4 threads: each source's scan, sweep and brute force alert exactly once") {
  VmDetectSettings settings;  // more than 20 ports, 10 hosts, 10 connections within 60 s
  const IpAddress dest = *IpAddress::parse("10.20.0.12");
  // What one thread gives: each round's 32 ports, 16 neighbours and 16 SSH connections alert once.
  ScanTracker single{settings};
  ScanTracker::Counts single_counts;
  uint64_t single_alerts[3] = {0, 0, 0};
  for (uint32_t round = 0; round < kRounds; ++round) {
    for (uint32_t t = 0; t < kThreads; ++t) {
      for (uint16_t i = 0; i < 8; ++i) {
        single_alerts[0] += single.port_scan(source_of(round), dest, static_cast<uint16_t>(t * 8 + i + 1), 5, single_counts);
      }
      for (uint32_t i = 0; i < 4; ++i) {
        single_alerts[1] += single.host_sweep(source_of(round), IpAddress::from_v4(0x0a140000u + t * 4 + i), 5, single_counts);
        single_alerts[2] += single.brute_force(source_of(round), dest, 22, 5, single_counts);
      }
    }
  }
  CHECK(single_alerts[0] == kRounds);
  CHECK(single_alerts[1] == kRounds);
  CHECK(single_alerts[2] == kRounds);

  // The same probes spread over 4 threads (thread t: ports 8t+1..8t+8, neighbours 4t..4t+3, 4 of
  // the connections): no thread alone crosses a threshold; the shared counts do, once each. The
  // threads take each round (source) together: sources of different rounds may share a slot of
  // the direct-mapped tables, and a round still counting must not be taken over by the next.
  ScanTracker shared{settings};
  std::barrier round_done(kThreads);
  // Per kind (port scan, host sweep, brute force) and round: alerts, and probes given up (busy).
  static std::atomic<uint32_t> alerts[3][kRounds], busy[3][kRounds];
  for (int k = 0; k < 3; ++k) {
    for (uint32_t r = 0; r < kRounds; ++r) alerts[k][r] = busy[k][r] = 0;
  }
  ScanTracker::Counts counts[3][kThreads];
  on_threads([&](uint32_t t) {
    for (uint32_t round = 0; round < kRounds; ++round) {
      round_done.arrive_and_wait();
      uint64_t before[3] = {counts[0][t].busy, counts[1][t].busy, counts[2][t].busy};
      uint32_t mine[3] = {0, 0, 0};
      for (uint16_t i = 0; i < 8; ++i) {
        mine[0] += shared.port_scan(source_of(round), dest, static_cast<uint16_t>(t * 8 + i + 1), 5, counts[0][t]);
      }
      for (uint32_t i = 0; i < 4; ++i) {
        mine[1] += shared.host_sweep(source_of(round), IpAddress::from_v4(0x0a140000u + t * 4 + i), 5, counts[1][t]);
        // Packet times of workers need not be ordered: one thread is a second behind.
        mine[2] += shared.brute_force(source_of(round), dest, 22, t == 3 ? 4 : 5, counts[2][t]);
      }
      for (int k = 0; k < 3; ++k) {
        alerts[k][round].fetch_add(mine[k]);
        busy[k][round].fetch_add(static_cast<uint32_t>(counts[k][t].busy - before[k]));
      }
    }
  });
  uint64_t evicted = 0;
  for (const auto& kind : counts) {
    for (const auto& c : kind) evicted += c.evicted;
  }
  CHECK(evicted == single_counts.evicted);
  CHECK(evicted == shared.evicted());
  // Never two alerts for one window, whichever threads met; exactly one where no probe was given
  // up. A thread preempted while it holds a slot (4 threads on this machine's cores) can make the
  // others give up probes (busy: not counted, as a worker would), which may leave a round below
  // its threshold; that is allowed only for such rounds, and they must be few.
  uint32_t busy_rounds = 0;
  for (int k = 0; k < 3; ++k) {
    for (uint32_t r = 0; r < kRounds; ++r) {
      INFO("kind " << k << " round " << r << " busy " << busy[k][r].load());
      CHECK(alerts[k][r].load() <= 1);
      if (busy[k][r].load() == 0) {
        CHECK(alerts[k][r].load() == 1);
      } else {
        ++busy_rounds;
      }
    }
  }
  CHECK(busy_rounds < kRounds / 4);
}

namespace {

// A TCP SYN from web-01 (10.20.0.11, MAC :11) to db-01 (10.20.0.12, MAC :12) port `dport`.
Packet syn_to_db(uint16_t sport, uint16_t dport) {
  Frame f;
  f.raw({0, 0x50, 0x56, 0, 0, 0x12}).raw({0, 0x50, 0x56, 0, 0, 0x11}).u16(0x0800);
  f.ipv4_between(6, 40, {10, 20, 0, 11}, {10, 20, 0, 12});
  f.tcp(sport, dport, tcp_flag::Syn);
  Packet p = f.packet();
  DecodeStats stats;
  REQUIRE(decode_packet(p, stats));
  p.ts_usec = 1'000'000;
  return p;
}

}  // namespace

TEST_CASE("4 workers' VmDetectors sharing the run's ScanTracker: sids 6 and 7 as with one worker") {
  auto parsed = parse_inventory(R"(sensor: {host: esx-01}
zones: [{name: dmz}]
vms:
  - {name: web-01, zone: dmz, macs: ["00:50:56:00:00:11"], ips: ["10.20.0.11"]}
  - {name: db-01, zone: dmz, macs: ["00:50:56:00:00:12"], ips: ["10.20.0.12"]}
)",
                                "g.yaml");
  REQUIRE(parsed);
  const Inventory& inv = **parsed;
  VmDetectSettings settings;
  // Thread t's flows: 8 ports of db-01 (t*8+1..), and 4 SSH connections: 32 ports, 16 connections.
  std::vector<std::vector<Packet>> flows(kThreads);
  for (uint32_t t = 0; t < kThreads; ++t) {
    for (uint16_t i = 0; i < 8; ++i) {
      flows[t].push_back(syn_to_db(static_cast<uint16_t>(40000 + t * 8 + i), static_cast<uint16_t>(100 + t * 8 + i)));
    }
    for (uint16_t i = 0; i < 4; ++i) flows[t].push_back(syn_to_db(static_cast<uint16_t>(50000 + t * 4 + i), 22));
  }
  const auto run = [&](ScanTracker* scans) {
    std::vector<std::unique_ptr<VmDetector>> detectors;
    for (uint32_t t = 0; t < kThreads; ++t) detectors.push_back(std::make_unique<VmDetector>(settings, nullptr, scans));
    std::atomic<uint64_t> sids[8] = {};
    on_threads([&](uint32_t t) {
      std::vector<AlertEvent> out(4);
      for (const Packet& p : flows[t]) {
        const size_t n = detectors[t]->on_new_flow(p, inv, 1, 2, out);
        for (size_t i = 0; i < n; ++i) sids[out[i].rule->sid & 7].fetch_add(1);
      }
    });
    uint64_t port_scans = 0, brute = 0, scan_busy = 0;
    for (const auto& d : detectors) {
      port_scans += d->counters().port_scan;
      brute += d->counters().brute_force;
      scan_busy += d->counters().scan_busy;
      CHECK(d->counters().scan_evicted == 0);
    }
    CHECK(port_scans == sids[kSidScan].load());
    CHECK(brute == sids[kSidBruteForce].load());
    // A give-up (a preempted thread holding the slot) may leave a count short; never doubled.
    if (scan_busy != 0) {
      CHECK(sids[kSidScan].load() <= 1);
      CHECK(sids[kSidBruteForce].load() <= 1);
      return std::pair<uint64_t, uint64_t>{1, 1};
    }
    return std::pair{sids[kSidScan].load(), sids[kSidBruteForce].load()};
  };
  ScanTracker shared{settings};
  CHECK(run(&shared) == std::pair<uint64_t, uint64_t>{1, 1});
  // Each worker with its own counts (the old layout) sees 8 ports and 4 connections: nothing.
  CHECK(run(nullptr) == std::pair<uint64_t, uint64_t>{0, 0});
}

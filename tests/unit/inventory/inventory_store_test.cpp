#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "sensor/inventory/inventory_store.hpp"

using namespace eastwatch;

namespace {

std::string inventory_text(const std::string& name) {
  return "sensor: {host: esx-01}\nzones: [{name: dmz}]\nvms:\n  - {name: " + name +
         ", zone: dmz, macs: [\"00:50:56:00:00:11\"], ips: [\"10.20.0.11\"]}\n";
}

std::shared_ptr<const Inventory> parsed(const std::string& name) {
  auto inventory = parse_inventory(inventory_text(name), "test.yaml");
  REQUIRE(inventory);
  return *inventory;
}

void write_file(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  std::ofstream(temporary) << text;
  std::rename(temporary.c_str(), path.c_str());  // atomic replacement, as an editor or deploy tool would
}

// Waits (bounded) until the store reaches `generation`; no timing is asserted.
bool wait_for_generation(const InventoryStore& store, uint64_t generation) {
  for (int i = 0; i < 200 && store.generation() < generation; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return store.generation() >= generation;
}

}  // namespace

TEST_CASE("publish swaps the snapshot and bumps the generation") {
  InventoryStore store;
  CHECK(store.generation() == 0);
  CHECK(store.current() == nullptr);
  store.publish(parsed("web-01"));
  uint64_t generation = 0;
  auto first = store.current(&generation);
  CHECK(generation == 1);
  store.publish(parsed("web-02"));
  CHECK(store.generation() == 2);
  CHECK(first->vm(0).name == "web-01");  // a holder keeps its snapshot alive
  CHECK(store.current()->vm(0).name == "web-02");
  const InventoryCounters counters = store.counters();
  CHECK(counters.reloads == 1);
  CHECK(counters.vms == 1);
}

TEST_CASE("a worker thread keeps looking up while the control plane publishes") {
  InventoryStore store;
  store.publish(parsed("vm-0"));
  std::atomic<bool> done{false};
  std::atomic<uint64_t> lookups{0};
  std::atomic<bool> consistent{true};
  std::thread worker([&] {
    std::shared_ptr<const Inventory> snapshot;
    uint64_t seen = 0;
    const uint8_t mac[6] = {0x00, 0x50, 0x56, 0x00, 0x00, 0x11};
    while (!done.load()) {
      if (store.generation() != seen) snapshot = store.current(&seen);  // between "bursts"
      for (int i = 0; i < 64; ++i) {
        const uint32_t vm = snapshot->find_mac(mac);
        if (vm != 0 || snapshot->vm(vm).name.rfind("vm-", 0) != 0) consistent = false;
        lookups.fetch_add(1, std::memory_order_relaxed);
      }
    }
  });
  for (int i = 1; i <= 200; ++i) store.publish(parsed("vm-" + std::to_string(i)));
  done = true;
  worker.join();
  CHECK(consistent.load());
  CHECK(lookups.load() > 0);
  CHECK(store.generation() == 201);
}

TEST_CASE("the watcher reloads on a changed file and on a hang-up, a bad file keeps the old one") {
  const std::string path = std::string(EASTWATCH_BINARY_DIR) + "/inventory_watch_test.yaml";
  write_file(path, inventory_text("web-01"));
  auto first = load_inventory_file(path);
  REQUIRE(first);
  InventoryStore store;
  store.publish(*first);
  std::atomic<uint64_t> hangups{0};
  {
    InventoryWatcher watcher(path, store, 100, &hangups);
    // The file changes (name and size): reloaded by the mtime check.
    write_file(path, inventory_text("web-01-renamed"));
    REQUIRE(wait_for_generation(store, 2));
    CHECK(store.current()->vm(0).name == "web-01-renamed");

    // A bad file: refused, the previous snapshot stays, the failure is counted.
    write_file(path, "zones: [{name: dmz}]\nvms:\n  - {name: x, host: h, zone: nowhere, ips: [10.0.0.1]}\n");
    hangups.fetch_add(1);  // also exercises the SIGHUP path
    for (int i = 0; i < 200 && store.counters().reload_failures == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    CHECK(store.counters().reload_failures >= 1);
    CHECK(store.current()->vm(0).name == "web-01-renamed");

    // Fixed again, signalled by a hang-up.
    write_file(path, inventory_text("web-03"));
    hangups.fetch_add(1);
    REQUIRE(wait_for_generation(store, 3));
    CHECK(store.current()->vm(0).name == "web-03");
  }
  std::remove(path.c_str());
}

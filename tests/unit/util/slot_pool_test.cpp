#include "sensor/util/slot_pool.hpp"

#include <cstdint>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/unit/support/counting_allocator.hpp"

using namespace eastwatch;

namespace {

int g_constructed = 0;
int g_destroyed = 0;

struct Counted {
  Counted() noexcept { ++g_constructed; }
  ~Counted() { ++g_destroyed; }
  uint64_t value = 77;  // a non-zero default: the pool must construct, not just map zeros
  char big[1000];
};

}  // namespace

TEST_CASE("LazyFreeList gives the same indexes as a chain built over every entry") {
  // Reference: a free stack initialised capacity-1 .. 0 (top 0), as the pools were built.
  constexpr uint32_t kCapacity = 500;
  std::vector<uint32_t> stack;
  for (uint32_t i = 0; i < kCapacity; ++i) stack.push_back(kCapacity - 1 - i);
  std::vector<uint32_t> links(kCapacity, 0xdeadbeef);
  LazyFreeList list(kCapacity);
  auto link = [&](uint32_t i) -> uint32_t& { return links[i]; };
  std::vector<uint32_t> held;
  std::mt19937 rng(12345);
  for (int step = 0; step < 20000; ++step) {
    const bool take = held.empty() || (!stack.empty() && rng() % 3 != 0);
    if (take) {
      REQUIRE(!list.empty());
      const uint32_t expected = stack.back();
      stack.pop_back();
      REQUIRE(list.pop(link) == expected);
      held.push_back(expected);
    } else {
      const size_t at = rng() % held.size();
      const uint32_t index = held[at];
      held[at] = held.back();
      held.pop_back();
      stack.push_back(index);
      list.push(index, link);
    }
    REQUIRE(list.empty() == stack.empty());
  }
  CHECK(list.touched() == kCapacity);  // the random walk filled the pool at some point
}

TEST_CASE("LazyFreeList: a fresh list touches no entry and hands out the lowest index first") {
  LazyFreeList list(3);
  std::vector<uint32_t> links(3, 0xdeadbeef);
  auto link = [&](uint32_t i) -> uint32_t& { return links[i]; };
  CHECK(list.pop(link) == 0);
  CHECK(list.pop(link) == 1);
  CHECK(links == std::vector<uint32_t>(3, 0xdeadbeef));  // never-used entries are not linked
  list.push(0, link);
  CHECK(list.pop(link) == 0);
  CHECK(list.pop(link) == 2);
  CHECK(list.empty());
  CHECK(LazyFreeList().empty());
}

TEST_CASE("SlotPool constructs a slot when first handed out and destroys every constructed one") {
  g_constructed = g_destroyed = 0;
  {
    SlotPool<Counted> pool(10000);
    CHECK(pool.capacity() == 10000);
    CHECK(g_constructed == 0);
    const uint32_t a = pool.acquire();
    const uint32_t b = pool.acquire();
    CHECK(a == 0);
    CHECK(b == 1);
    CHECK(g_constructed == 2);
    CHECK(pool[a].value == 77);
    pool[a].value = 5;
    pool.release(a);
    CHECK(pool.in_use() == 1);
    CHECK(pool.acquire() == a);  // reused, not rebuilt: the owner reinitialises
    CHECK(g_constructed == 2);
    CHECK(pool[a].value == 5);
    CHECK(pool.constructed() == 2);
  }
  CHECK(g_destroyed == 2);
}

TEST_CASE("SlotPool: kNone when every slot is taken, and acquire and release allocate nothing") {
  SlotPool<uint64_t> pool(4);
  const uint64_t before = g_allocations.load();
  uint32_t taken[4];
  for (uint32_t& t : taken) t = pool.acquire();
  CHECK(pool.acquire() == SlotPool<uint64_t>::kNone);
  pool.release(taken[2]);
  CHECK(pool.acquire() == taken[2]);
  for (uint32_t t : taken) pool.release(t);
  CHECK(pool.in_use() == 0);
  if (EASTWATCH_COUNTING_ALLOCATOR) CHECK(g_allocations.load() == before);
  SlotPool<uint64_t> empty(0);
  CHECK(empty.acquire() == SlotPool<uint64_t>::kNone);
}

#include "sensor/util/zeroed_array.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include <catch2/catch.hpp>

using namespace eastwatch;

namespace {

// Pages of [data, data + bytes) resident in memory, by mincore(2).
size_t resident_pages(const void* data, size_t bytes) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> map((bytes + page - 1) / page);
  REQUIRE(::mincore(const_cast<void*>(data), bytes, map.data()) == 0);
  size_t n = 0;
  for (unsigned char m : map) n += m & 1;
  return n;
}

struct Zeroed {
  uint64_t a = 0;
  uint32_t b = 0;
  bool used = false;
};
struct MinusOne {
  int64_t start = -1;
};

}  // namespace

TEST_CASE("ZeroedArray: entries read zero, and only written pages become resident") {
  constexpr size_t kCount = (64u << 20) / sizeof(uint64_t);  // 64 MiB
  ZeroedArray<uint64_t> table(kCount);
  REQUIRE(table.size() == kCount);
  REQUIRE(reinterpret_cast<uintptr_t>(table.data()) % static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE)) == 0);
  CHECK(resident_pages(table.data(), kCount * sizeof(uint64_t)) == 0);
  table[kCount / 2] = 42;
  table[kCount - 1] = 7;
  CHECK(resident_pages(table.data(), kCount * sizeof(uint64_t)) == 2);
  CHECK(table[kCount / 2] == 42);
  CHECK(table[kCount - 1] == 7);
  CHECK(table[0] == 0);
  CHECK(table[kCount / 2 + 1] == 0);
  uint64_t sum = 0;
  for (uint64_t v : table) sum += v;
  CHECK(sum == 49);
}

TEST_CASE("ZeroedArray: prefault backs every page and keeps the contents") {
  ZeroedArray<uint32_t> table(1u << 20);
  table[5] = 9;
  table.prefault();
  CHECK(resident_pages(table.data(), table.size() * sizeof(uint32_t)) == table.size() * 4 / 4096);
  CHECK(table[5] == 9);
}

TEST_CASE("ZeroedArray: a type whose default is not all-zero bytes is refused unless written before read") {
  CHECK_NOTHROW(ZeroedArray<Zeroed>(1000));
  CHECK_THROWS_AS(ZeroedArray<MinusOne>(1000), std::logic_error);
  ZeroedArray<MinusOne> slots(1000, ZeroedUse::kWrittenBeforeRead);
  CHECK(slots[999].start == 0);
}

TEST_CASE("ZeroedArray: moving hands over the mapping, and size 0 maps nothing") {
  ZeroedArray<uint32_t> a(4096);
  a[10] = 3;
  uint32_t* data = a.data();
  ZeroedArray<uint32_t> b(std::move(a));
  CHECK(b.data() == data);
  CHECK(b[10] == 3);
  CHECK(a.data() == nullptr);
  ZeroedArray<uint32_t> c;
  c = std::move(b);
  CHECK(c[10] == 3);
  ZeroedArray<uint32_t> empty(0);
  CHECK(empty.data() == nullptr);
  CHECK(empty.size() == 0);
}

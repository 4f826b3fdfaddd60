// The on-disk spool: order, commit offsets, resume after a crash, the byte bound.
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "sensor/output/spool.hpp"

using namespace eastwatch;

namespace {

std::string fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::path(EASTWATCH_BINARY_DIR) / ("spool_test_" + name);
  std::filesystem::remove_all(dir);
  return dir.string();
}

std::unique_ptr<Spool> open_spool(const std::string& dir, uint64_t max_bytes = 1 << 20, uint64_t segment = 4096) {
  auto spool = Spool::open(SpoolOptions{dir, max_bytes, segment, SpoolFsync::None});
  REQUIRE(spool);
  return std::move(*spool);
}

std::string record(int i) { return "{\"seq\":" + std::to_string(i) + ",\"pad\":\"" + std::string(i % 50, 'x') + "\"}"; }

std::vector<std::string> read_all(Spool& spool) {
  std::vector<std::string> all, batch;
  while (spool.read(7, 1 << 20, batch) > 0) {
    all.insert(all.end(), batch.begin(), batch.end());
    spool.commit(batch.size());
  }
  return all;
}

std::vector<std::filesystem::path> segments(const std::string& dir) {
  std::vector<std::filesystem::path> found;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".seg") found.push_back(entry.path());
  }
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace

TEST_CASE("the spool returns records in append order across segments and empties when committed") {
  const std::string dir = fresh_dir("order");
  auto spool = open_spool(dir);
  for (int i = 0; i < 500; ++i) REQUIRE(spool->append(record(i)));
  spool->flush();
  CHECK(spool->records() == 500);
  CHECK(segments(dir).size() > 3);  // 4 KiB segments: the records span several
  const auto all = read_all(*spool);
  REQUIRE(all.size() == 500);
  for (int i = 0; i < 500; ++i) CHECK(all[i] == record(i));
  CHECK(spool->empty());
  CHECK(spool->bytes() == 0);
  CHECK(segments(dir).size() == 1);  // only the fresh write segment is left
  CHECK(spool->dropped() == 0);
}

TEST_CASE("read without commit returns the same records again, a partial commit resumes after it") {
  const std::string dir = fresh_dir("partial");
  auto spool = open_spool(dir);
  for (int i = 0; i < 10; ++i) spool->append(record(i));
  std::vector<std::string> batch;
  REQUIRE(spool->read(4, 1 << 20, batch) == 4);
  REQUIRE(spool->read(4, 1 << 20, batch) == 4);
  CHECK(batch[0] == record(0));
  spool->commit(3);  // the sink confirmed only three
  REQUIRE(spool->read(100, 1 << 20, batch) == 7);
  CHECK(batch.front() == record(3));
  CHECK(batch.back() == record(9));
}

TEST_CASE("a reopened spool resumes from the committed offset, exactly once") {
  const std::string dir = fresh_dir("resume");
  {
    auto spool = open_spool(dir);
    for (int i = 0; i < 300; ++i) spool->append(record(i));
    std::vector<std::string> batch;
    size_t consumed = 0;
    while (consumed < 123) {
      const size_t n = spool->read(std::min<size_t>(10, 123 - consumed), 1 << 20, batch);
      spool->commit(n);
      consumed += n;
    }
    spool->read(50, 1 << 20, batch);  // read but never confirmed: must come back
  }
  auto spool = open_spool(dir);
  CHECK(spool->records() == 177);
  spool->append(record(300));  // new records follow the old ones
  const auto all = read_all(*spool);
  REQUIRE(all.size() == 178);
  for (size_t i = 0; i < all.size(); ++i) CHECK(all[i] == record(static_cast<int>(123 + i)));
}

TEST_CASE("a record cut off by a crash is removed at open, the whole ones before it survive") {
  const std::string dir = fresh_dir("torn");
  {
    auto spool = open_spool(dir, 1 << 20, 1 << 20);
    for (int i = 0; i < 20; ++i) spool->append(record(i));
  }
  const auto files = segments(dir);
  REQUIRE(files.size() == 1);
  const auto whole = std::filesystem::file_size(files[0]);
  int survivors = 19;
  SECTION("a half-written last record") {
    std::filesystem::resize_file(files[0], whole - 5);
  }
  SECTION("a header with no bytes behind it") {
    const int fd = ::open(files[0].c_str(), O_WRONLY | O_APPEND);
    const unsigned char header[6] = {100, 0, 0, 0, 1, 2};
    REQUIRE(::write(fd, header, sizeof header) == 6);
    ::close(fd);
    survivors = 20;
  }
  SECTION("a last record whose bytes are corrupt") {
    const int fd = ::open(files[0].c_str(), O_WRONLY);
    REQUIRE(::pwrite(fd, "#", 1, static_cast<off_t>(whole - 2)) == 1);
    ::close(fd);
  }
  auto spool = open_spool(dir, 1 << 20, 1 << 20);
  CHECK(spool->records() == static_cast<uint64_t>(survivors));
  spool->append(record(99));  // appends land after the cut, readable
  const auto all = read_all(*spool);
  REQUIRE(all.size() == static_cast<size_t>(survivors) + 1);
  for (int i = 0; i < survivors; ++i) CHECK(all[i] == record(i));
  CHECK(all.back() == record(99));
}

TEST_CASE("past max-bytes the oldest segments go and their records are counted as dropped") {
  const std::string dir = fresh_dir("bound");
  constexpr uint64_t kMax = 16 * 1024;
  auto spool = open_spool(dir, kMax, 2048);
  constexpr int kRecords = 2000;
  for (int i = 0; i < kRecords; ++i) REQUIRE(spool->append(record(i)));
  uint64_t on_disk = 0;
  for (const auto& file : segments(dir)) on_disk += std::filesystem::file_size(file);
  CHECK(on_disk <= kMax);
  CHECK(spool->bytes() <= kMax);
  CHECK(spool->dropped() > 0);
  const auto all = read_all(*spool);
  // Every record is either delivered or counted; what is left is the newest, in order.
  CHECK(all.size() + spool->dropped() == kRecords);
  REQUIRE(!all.empty());
  CHECK(all.back() == record(kRecords - 1));
  const int first = std::stoi(all.front().substr(7));
  for (size_t i = 0; i < all.size(); ++i) CHECK(all[i] == record(first + static_cast<int>(i)));
}

TEST_CASE("dropping the oldest segment while it is partly read keeps the count exact") {
  const std::string dir = fresh_dir("bound_read");
  auto spool = open_spool(dir, 8192, 1024);
  for (int i = 0; i < 40; ++i) spool->append(record(i));
  std::vector<std::string> batch;
  spool->commit(spool->read(5, 1 << 20, batch));
  for (int i = 40; i < 400; ++i) spool->append(record(i));
  const auto all = read_all(*spool);
  CHECK(all.size() + spool->dropped() + 5 == 400);
  CHECK(all.back() == record(399));
}

TEST_CASE("a record larger than the bound is dropped and counted, the spool stays usable") {
  const std::string dir = fresh_dir("huge");
  auto spool = open_spool(dir, 64 * 1024, 4096);
  CHECK_FALSE(spool->append(std::string(70 * 1024, 'a')));
  CHECK(spool->dropped() == 1);
  CHECK(spool->append(record(1)));
  CHECK(read_all(*spool) == std::vector<std::string>{record(1)});
}

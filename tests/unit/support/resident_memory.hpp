// The process's resident memory (/proc/self/statm), for tests that a preallocated pool backs
// only the pages it uses (sensor/util/zeroed_array.hpp). Single-threaded tests only: another
// thread's allocations would count too.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <fstream>

namespace eastwatch::test {

inline uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace eastwatch::test

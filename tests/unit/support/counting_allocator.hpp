// A counting global operator new for one test binary: include it in exactly one source file of
// the binary, then compare g_allocations before and after the code that must not allocate.
// AddressSanitizer brings its own operator new, so the sanitizer build leaves the replacement
// out (EASTWATCH_COUNTING_ALLOCATOR is 0) and such checks are skipped.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define EASTWATCH_COUNTING_ALLOCATOR 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EASTWATCH_COUNTING_ALLOCATOR 0
#endif
#endif
#ifndef EASTWATCH_COUNTING_ALLOCATOR
#define EASTWATCH_COUNTING_ALLOCATOR 1
#endif

namespace {
std::atomic<uint64_t> g_allocations{0};
}

#if EASTWATCH_COUNTING_ALLOCATOR
void* operator new(size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t size) {
  ++g_allocations;
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
#endif

#include "sensor/main/hangup.hpp"

#include <signal.h>

namespace eastwatch {

namespace {

std::atomic<uint64_t> g_hangups{0};
static_assert(std::atomic<uint64_t>::is_always_lock_free);

extern "C" void on_hangup_signal(int) { g_hangups.fetch_add(1, std::memory_order_relaxed); }

}  // namespace

const std::atomic<uint64_t>& hangup_count() noexcept { return g_hangups; }

void install_hangup_handler() {
  struct sigaction action {};
  action.sa_handler = on_hangup_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // reads of a capture file or pipe simply continue
  sigaction(SIGHUP, &action, nullptr);
}

}  // namespace eastwatch

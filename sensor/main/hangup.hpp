// SIGHUP, dispatched by polling: the handler only increments a counter (async-signal-safe);
// each consumer (the inventory watcher now, a log reopen later) remembers the count it has
// seen and acts when it changes, so one signal reaches every consumer.
#pragma once

#include <atomic>
#include <cstdint>

namespace eastwatch {

const std::atomic<uint64_t>& hangup_count() noexcept;
void install_hangup_handler();

}  // namespace eastwatch

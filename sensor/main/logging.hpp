// Eastwatch's own log (spdlog's default logger): start-up, privilege drop, reopen and rotation
// problems, sinks and captures coming and going; never anything per packet.
//
// Contract:
//  - stderr always: `eastwatch: [warning: |error: |debug: ]MESSAGE`; when stderr is the journal
//    (systemd's JOURNAL_STREAM names it), `<N>MESSAGE` instead, N the syslog priority, which
//    journald reads as the entry's priority.
//  - logging.file, when set: appended, `YYYY-mm-ddTHH:MM:SS.mmm+zzzz [level] MESSAGE`, flushed per
//    message, reopened (by the next message) when `reopen_requests` changes (SIGHUP, logrotate).
//  - logging.level filters both. Returns an error when the file cannot be opened.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "config/daemon_settings.hpp"

namespace eastwatch {

std::string setup_logging(const LoggingSettings& settings, const std::atomic<uint64_t>* reopen_requests);

}  // namespace eastwatch

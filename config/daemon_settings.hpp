// Settings of the daemon around the pipeline: EVE file rotation, the identity it runs as, its own
// log, the pid file. Plain structs (config/ fills them) and the one pure parser they need.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace eastwatch {

// outputs.eve rotation: the active file keeps its name; a full (or due) one is renamed
// `<filename>.<YYYY-mm-dd-HHMMSS>` (local time of the rotation, `.N` added past the first in a second).
struct LogRotationSettings {
  uint64_t size = 0;              // rotate-size: rotate before a record would take the file past it; 0: off
  uint32_t interval_seconds = 0;  // rotate-interval; 0: off
  bool interval_aligned = false;  // minute/hour/day: on the wall clock's boundaries (Suricata); 30s, 2h: from open
  uint32_t count = 0;             // rotate-count: rotated files kept (oldest deleted); 0: all
};

// rotate-interval's text, Suricata's syntax: `minute`, `hour`, `day` (aligned on the local wall
// clock), or a number with s, m, h or d (`30s`, `15m`, `1h`, `1d`; counted from the file's open).
struct RotateInterval {
  uint32_t seconds = 0;
  bool aligned = false;
};
tl::expected<RotateInterval, std::string> parse_rotate_interval(std::string_view text);

// run-as (Suricata's keys) and --user/--group: the identity after the captures, sockets and output
// files are open. Empty user: no switch.
struct RunAsSettings {
  std::string user;
  std::string group;       // empty: the user's primary group
  bool net_admin = false;  // keep CAP_NET_ADMIN besides CAP_NET_RAW for live capture
  bool allow_root = true;  // no: refuse to start as root without a user to switch to
};

enum class LogLevel : uint8_t { Error, Warning, Info, Debug };
struct LoggingSettings {
  LogLevel level = LogLevel::Info;
  std::string file;  // empty: stderr only (the journal under systemd)
};

struct DaemonSettings {
  RunAsSettings run_as;
  LoggingSettings logging;
  std::string pid_file;  // pid-file / --pidfile; empty: none
};

}  // namespace eastwatch

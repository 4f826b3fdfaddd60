// The daemon's life cycle around a run: pid file, privilege drop, systemd notifications.
//
// Eastwatch always runs in the foreground (systemd Type=notify or simple; no fork). main()
// prepares a Daemon before the run and registers it; each runner (replay, replay_workers,
// dpdk_workers) calls `daemon_started` once its captures, sockets and output files are open and
// before it starts its capture threads, and `daemon_stopping` when the run starts to wind down.
//
// Contract:
//  - `prepare` creates the pid file exclusively (a stale one, whose pid is not alive, is
//    replaced; a live one is an error) and resolves run-as's user and group, so that every
//    start-up problem is reported before any traffic is read. Anything that needs privileges
//    (control or metrics sockets in root-owned directories, captures) must be opened before
//    `daemon_started`.
//  - `started` switches to run-as's user and group (supplementary groups: the user's), keeping
//    only `kept_capabilities()` in the permitted, effective and bounding sets of the calling
//    thread, which every thread started later inherits; threads that already run lose every
//    capability (the uid change reaches them without PR_SET_KEEPCAPS). Files eastwatch created
//    as root in the log directory and the sinks' spool directories are handed to the user first.
//    Any failure is an error: eastwatch never goes on as root when told to switch. Then it sends
//    READY=1 to systemd and, when WATCHDOG_USEC is set, starts a thread that sends WATCHDOG=1
//    every half period while the output thread's heartbeat moves (a wedged output thread, such
//    as a write blocked on a dead disk, lets systemd restart the service).
//  - `stopping` sends STOPPING=1 once and ends the watchdog pings (systemd stops watching when
//    the unit stops). The destructor does it too if needed, and removes the pid file.
//  - Without a registered Daemon (tests, benchmarks), daemon_started/daemon_stopping do nothing.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <tl/expected.hpp>

#include "config/settings.hpp"

namespace eastwatch {

// A pid file created with O_EXCL, removed by the destructor if it still holds our pid.
class PidFile {
 public:
  static tl::expected<std::unique_ptr<PidFile>, std::string> create(const std::string& path);
  ~PidFile();
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;
  const std::string& path() const noexcept { return path_; }

 private:
  explicit PidFile(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

struct Identity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string user;
  std::string group;
};
// run-as's user (a name or a numeric uid) and group (the user's primary group when empty).
tl::expected<Identity, std::string> resolve_identity(const RunAsSettings& run_as);

// The capability bits (1 << CAP_x) a run keeps after the switch: CAP_NET_RAW for live or DPDK
// capture, CAP_NET_ADMIN too with run-as.net-admin; none for replays.
uint64_t kept_capabilities(const Settings& settings, bool captures_live);

// Switches the process to `identity`, keeping `capabilities` (see the contract above).
std::string drop_privileges(const Identity& identity, uint64_t capabilities);

class Daemon {
 public:
  static tl::expected<std::unique_ptr<Daemon>, std::string> prepare(const Settings& settings, bool captures_live);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  std::string started();
  void stopping();

 private:
  Daemon() = default;
  void chown_created_files() const;
  void watchdog_loop(uint64_t period_usec, const std::atomic<uint64_t>* heartbeat);

  std::unique_ptr<PidFile> pid_file_;
  std::optional<Identity> identity_;
  uint64_t capabilities_ = 0;
  std::vector<std::string> owned_paths_;  // handed to the user at the switch when root owns them
  bool started_ = false;
  bool warn_root_ = false;
  std::atomic<bool> stopping_sent_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool watchdog_stop_ = false;
  std::thread watchdog_;
};

void set_daemon(Daemon* daemon) noexcept;
// For the runners; an error ends the run (exit 2).
std::string daemon_started();
void daemon_stopping();

}  // namespace eastwatch

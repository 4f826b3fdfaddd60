#include "sensor/main/daemon.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <fstream>

#include <spdlog/spdlog.h>

#if EASTWATCH_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "sensor/output/output_thread.hpp"

namespace eastwatch {

namespace {

Daemon* g_daemon = nullptr;

std::string errno_text() { return std::strerror(errno); }

std::string join_path(const std::string& dir, const std::string& file) {
  if (file.empty() || file.front() == '/' || dir.empty()) return file;
  return dir.back() == '/' ? dir + file : dir + "/" + file;
}

void notify(const char* state) {
#if EASTWATCH_HAVE_SYSTEMD
  sd_notify(0, state);
#else
  (void)state;
#endif
}

bool parse_id(const std::string& text, uint32_t& out) {
  if (text.empty()) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

int last_capability() {
  std::ifstream in("/proc/sys/kernel/cap_last_cap");
  int last = CAP_LAST_CAP;
  if (in) in >> last;
  return last > 0 && last < 64 ? last : CAP_LAST_CAP;
}

std::string capability_names(uint64_t capabilities) {
  std::string names;
  if (capabilities & (1ull << CAP_NET_RAW)) names += "CAP_NET_RAW";
  if (capabilities & (1ull << CAP_NET_ADMIN)) names += names.empty() ? "CAP_NET_ADMIN" : " CAP_NET_ADMIN";
  return names.empty() ? "none" : names;
}

}  // namespace

// ---- pid file ----

namespace {

std::string command_of(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

// The pid file's process is alive and is an eastwatch (same command name as ours): pids are
// reused, and a restarted container often gives the new eastwatch its predecessor's pid.
bool held_by_live_eastwatch(long pid) {
  if (pid <= 0 || pid == getpid()) return false;
  if (kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM) return false;
  const std::string theirs = command_of(std::to_string(pid));
  return theirs.empty() || theirs == command_of("self");  // unreadable /proc: assume it is
}

}  // namespace

tl::expected<std::unique_ptr<PidFile>, std::string> PidFile::create(const std::string& path) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
      const std::string text = std::to_string(getpid()) + "\n";
      const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
      ::close(fd);
      if (!written) {
        ::unlink(path.c_str());
        return tl::unexpected("cannot write the pid file '" + path + "': " + errno_text());
      }
      return std::unique_ptr<PidFile>(new PidFile(path));
    }
    if (errno != EEXIST) return tl::unexpected("cannot create the pid file '" + path + "': " + errno_text());
    std::ifstream in(path);
    long pid = 0;
    in >> pid;
    if (held_by_live_eastwatch(pid)) {
      return tl::unexpected("another eastwatch is running as pid " + std::to_string(pid) + " (pid file '" + path +
                            "')");
    }
    // Stale: its process is gone or is not an eastwatch (or it holds no pid at all).
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return tl::unexpected("cannot remove the stale pid file '" + path + "': " + errno_text());
    }
  }
  return tl::unexpected("cannot create the pid file '" + path + "': it keeps reappearing");
}

PidFile::~PidFile() {
  std::ifstream in(path_);
  long pid = 0;
  in >> pid;
  if (pid != getpid()) return;  // replaced by someone else meanwhile: not ours to remove
  if (::unlink(path_.c_str()) != 0) {
    spdlog::warn("cannot remove the pid file '{}': {} (its directory must be writable by the run-as user)", path_,
                 errno_text());
  }
}

// ---- identity and privileges ----

tl::expected<Identity, std::string> resolve_identity(const RunAsSettings& run_as) {
  Identity identity;
  std::vector<char> buffer(16384);
  passwd pw{};
  passwd* found_user = nullptr;
  uint32_t numeric = 0;
  if (getpwnam_r(run_as.user.c_str(), &pw, buffer.data(), buffer.size(), &found_user) == 0 && found_user != nullptr) {
    identity.uid = found_user->pw_uid;
    identity.gid = found_user->pw_gid;
    identity.user = found_user->pw_name;
  } else if (parse_id(run_as.user, numeric)) {
    identity.uid = numeric;
    identity.gid = numeric;
    identity.user = run_as.user;
    if (getpwuid_r(numeric, &pw, buffer.data(), buffer.size(), &found_user) == 0 && found_user != nullptr) {
      identity.gid = found_user->pw_gid;
      identity.user = found_user->pw_name;
    }
  } else {
    return tl::unexpected("run-as.user: no user '" + run_as.user + "' (expected a user name or uid)");
  }
  if (!run_as.group.empty()) {
    group gr{};
    group* found_group = nullptr;
    if (getgrnam_r(run_as.group.c_str(), &gr, buffer.data(), buffer.size(), &found_group) == 0 &&
        found_group != nullptr) {
      identity.gid = found_group->gr_gid;
      identity.group = found_group->gr_name;
    } else if (parse_id(run_as.group, numeric)) {
      identity.gid = numeric;
      identity.group = run_as.group;
    } else {
      return tl::unexpected("run-as.group: no group '" + run_as.group + "' (expected a group name or gid)");
    }
  } else {
    group gr{};
    group* found_group = nullptr;
    if (getgrgid_r(identity.gid, &gr, buffer.data(), buffer.size(), &found_group) == 0 && found_group != nullptr) {
      identity.group = found_group->gr_name;
    } else {
      identity.group = std::to_string(identity.gid);
    }
  }
  if (identity.uid == 0) return tl::unexpected("run-as.user: '" + run_as.user + "' is root (expected an unprivileged user)");
  return identity;
}

uint64_t kept_capabilities(const Settings& settings, bool captures_live) {
  if (!captures_live) return 0;
  uint64_t capabilities = 1ull << CAP_NET_RAW;
  if (settings.daemon.run_as.net_admin) capabilities |= 1ull << CAP_NET_ADMIN;
  return capabilities;
}

std::string drop_privileges(const Identity& identity, uint64_t capabilities) {
  // The bounding set first (needs CAP_SETPCAP, still held): nothing outside `capabilities`
  // can come back, not even through a set-uid or file-capability executable.
  const int last = last_capability();
  for (int cap = 0; cap <= last; ++cap) {
    if ((capabilities >> cap) & 1) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
      return "cannot drop capability " + std::to_string(cap) + " from the bounding set: " + errno_text();
    }
  }
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return "prctl(PR_SET_KEEPCAPS): " + errno_text();
  // glibc applies the set*id calls to every thread of the process.
  if (initgroups(identity.user.c_str(), identity.gid) != 0) {
    const gid_t groups[1] = {identity.gid};
    if (setgroups(1, groups) != 0) return "cannot set the supplementary groups: " + errno_text();
  }
  if (setresgid(identity.gid, identity.gid, identity.gid) != 0) {
    return "cannot switch to group " + identity.group + ": " + errno_text();
  }
  if (setresuid(identity.uid, identity.uid, identity.uid) != 0) {
    return "cannot switch to user " + identity.user + ": " + errno_text();
  }
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  data[0].effective = data[0].permitted = static_cast<uint32_t>(capabilities);
  data[1].effective = data[1].permitted = static_cast<uint32_t>(capabilities >> 32);
  if (syscall(SYS_capset, &header, data) != 0) return "cannot set the capabilities: " + errno_text();
  prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return "prctl(PR_SET_NO_NEW_PRIVS): " + errno_text();
  // Paranoia, as every daemon that drops root should: there is no way back.
  uid_t ruid, euid, suid;
  if (getresuid(&ruid, &euid, &suid) != 0 || ruid != identity.uid || euid != identity.uid || suid != identity.uid ||
      setuid(0) == 0) {
    return "the switch to user " + identity.user + " did not hold";
  }
  return {};
}

// ---- the daemon ----

tl::expected<std::unique_ptr<Daemon>, std::string> Daemon::prepare(const Settings& settings, bool captures_live) {
  std::unique_ptr<Daemon> daemon(new Daemon());
  const RunAsSettings& run_as = settings.daemon.run_as;
  if (run_as.user.empty() && !run_as.group.empty()) {
    return tl::unexpected("--group " + run_as.group + " needs --user (or run-as.user) as well");
  }
  if (!run_as.user.empty()) {
    auto identity = resolve_identity(run_as);
    if (!identity) return tl::unexpected(identity.error());
    if (geteuid() != 0 && geteuid() != identity->uid) {
      return tl::unexpected("run-as.user: cannot switch to user " + identity->user + ": not running as root (uid " +
                            std::to_string(geteuid()) + ")");
    }
    if (geteuid() == 0) daemon->identity_ = *identity;
  } else if (geteuid() == 0) {
    if (!run_as.allow_root) {
      return tl::unexpected(std::string("refusing to run as root without run-as.user (run-as.allow-root: no)"));
    }
    daemon->warn_root_ = captures_live;  // a replay as root is an analyst's, not a daemon's
  }
  daemon->capabilities_ = kept_capabilities(settings, captures_live);
  if (!settings.daemon.pid_file.empty()) {
    auto pid_file = PidFile::create(settings.daemon.pid_file);
    if (!pid_file) return tl::unexpected(pid_file.error());
    daemon->pid_file_ = std::move(*pid_file);
  }
  // What the switch hands over: the output files (and the sinks' spools) eastwatch opens as root.
  if (daemon->identity_) {
    if (settings.eve.enabled) daemon->owned_paths_.push_back(join_path(settings.log_dir, settings.eve.filename));
    if (settings.fast.enabled) daemon->owned_paths_.push_back(join_path(settings.log_dir, settings.fast.filename));
    if (settings.stats_log.enabled) {
      daemon->owned_paths_.push_back(join_path(settings.log_dir, settings.stats_log.filename));
    }
    if (!settings.daemon.logging.file.empty()) daemon->owned_paths_.push_back(settings.daemon.logging.file);
    const SinkSettings& sinks = settings.sinks;
    if (sinks.redis.enabled || sinks.syslog.enabled || sinks.unix_socket.enabled || sinks.kafka.enabled) {
      for (const char* name : {"redis", "syslog", "unix", "kafka"}) {
        daemon->owned_paths_.push_back(join_path(sinks.spool.dir, name));
      }
    }
  }
  return daemon;
}

void Daemon::chown_created_files() const {
  auto hand_over = [&](const std::string& path) {
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0 || st.st_uid != 0 || S_ISLNK(st.st_mode)) return;
    if (lchown(path.c_str(), identity_->uid, identity_->gid) != 0) {
      spdlog::warn("cannot hand '{}' to {}: {}", path, identity_->user, errno_text());
    }
  };
  for (const auto& path : owned_paths_) {
    hand_over(path);
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    // A sink's spool directory: its segment and offset files.
    if (DIR* dir = opendir(path.c_str())) {
      while (dirent* entry = readdir(dir)) {
        if (entry->d_name[0] != '.') hand_over(join_path(path, entry->d_name));
      }
      closedir(dir);
    }
  }
}

std::string Daemon::started() {
  if (started_) return {};
  started_ = true;
  if (identity_) {
    chown_created_files();
    if (auto error = drop_privileges(*identity_, capabilities_); !error.empty()) return error;
    spdlog::info("running as user {} (uid {}), group {} (gid {}); capabilities kept: {}", identity_->user,
                 identity_->uid, identity_->group, identity_->gid, capability_names(capabilities_));
  } else if (warn_root_) {
    spdlog::warn("running as root: set run-as.user (or --user) to drop privileges once the captures are open");
  }
  notify("READY=1\nSTATUS=running");
#if EASTWATCH_HAVE_SYSTEMD
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    spdlog::info("systemd watchdog: WATCHDOG=1 every {} ms while the output thread runs", usec / 2000);
    watchdog_ = std::thread([this, usec] { watchdog_loop(usec, &OutputThread::heartbeat()); });
  }
#endif
  return {};
}

void Daemon::watchdog_loop(uint64_t period_usec, const std::atomic<uint64_t>* heartbeat) {
  const auto interval = std::chrono::microseconds(period_usec / 2);
  uint64_t last = heartbeat != nullptr ? heartbeat->load(std::memory_order_relaxed) : 0;
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, interval, [this] { return watchdog_stop_; })) {
    const uint64_t now = heartbeat != nullptr ? heartbeat->load(std::memory_order_relaxed) : last + 1;
    if (now != last) {
      notify("WATCHDOG=1");
    } else {
      spdlog::error("the output thread has not moved for {} ms: not pinging the systemd watchdog",
                    period_usec / 2000);
    }
    last = now;
  }
}

// systemd stops watching once the unit leaves the running state, so the pings end here too:
// a long drain of the sinks at exit is not a hang.
void Daemon::stopping() {
  if (stopping_sent_.exchange(true)) return;
  notify("STOPPING=1");
  {
    std::lock_guard lock(mutex_);
    watchdog_stop_ = true;
  }
  wake_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
}

Daemon::~Daemon() { stopping(); }

void set_daemon(Daemon* daemon) noexcept { g_daemon = daemon; }

std::string daemon_started() { return g_daemon != nullptr ? g_daemon->started() : ""; }

void daemon_stopping() {
  if (g_daemon != nullptr) g_daemon->stopping();
}

}  // namespace eastwatch

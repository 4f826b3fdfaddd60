// The control thread of a live run: the control socket (`control.socket`), SIGHUP, and the
// freeing of rule sets the workers moved past.
//
// Contract:
//  - `ControlSocket::open` binds a Unix stream socket at `path` with mode 0660 (its directory
//    made if missing; a stale socket nobody listens on is replaced, a live one is an error).
//    The destructor removes it.
//  - The thread polls the socket (up to kMaxClients connections at once) and the hang-up
//    counter every 100 ms. A request is one line (control_protocol.hpp); a line longer than
//    kMaxRequestBytes gets a NOK reply and the rest of it up to its newline is discarded; the
//    connection stays open for further requests until the client closes it.
//  - Commands: reload (Reloader, also on every SIGHUP), stats, rule-stats, iface-stat (from
//    the handlers the run gives), version, shutdown (the handler: the same clean drain as
//    SIGTERM), command-list. Requests are answered one at a time, in order.
//  - Nothing here touches a worker: stats come through the run's handlers (the live stats
//    snapshot), rule stats from the rule store's per-worker threads (relaxed atomic reads).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <tl/expected.hpp>

#include "sensor/main/control_protocol.hpp"
#include "sensor/main/reloader.hpp"
#include "sensor/main/rule_store.hpp"
#include "sensor/output/stats_snapshot.hpp"

namespace eastwatch {

class ControlSocket {
 public:
  static constexpr size_t kMaxClients = 16;

  static tl::expected<std::unique_ptr<ControlSocket>, std::string> open(const std::string& path);
  ~ControlSocket();
  ControlSocket(const ControlSocket&) = delete;
  ControlSocket& operator=(const ControlSocket&) = delete;

  const std::string& path() const noexcept { return path_; }
  // Waits up to timeout_ms for activity; answers every complete request line with `answer`.
  void poll_once(int timeout_ms, const std::function<std::string(std::string_view line)>& answer);

 private:
  struct Client {
    int fd = -1;
    std::string buffer;
    bool discarding = false;  // inside an oversized line: drop bytes up to its newline
  };
  ControlSocket(int fd, std::string path) : listen_fd_(fd), path_(std::move(path)) {}
  void read_client(Client& client, const std::function<std::string(std::string_view)>& answer);

  int listen_fd_;
  std::string path_;
  std::vector<Client> clients_;
};

struct ControlHandlers {
  std::function<std::string()> stats;       // the live counters as a JSON object
  std::function<std::string()> iface_stat;  // per interface / port: a JSON object
  std::function<void()> shutdown;           // starts the clean drain
};

class ControlPlane {
 public:
  // `socket` may be null (no control socket: SIGHUP only). `hangups`: the SIGHUP counter.
  ControlPlane(Reloader& reloader, RuleStore& store, std::unique_ptr<ControlSocket> socket, ControlHandlers handlers,
               const std::atomic<uint64_t>* hangups, bool profiling);
  ~ControlPlane();
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  // Ends the thread (before the workers are joined: nothing may swap rule sets after that).
  void stop();

  // One request line -> one reply line (without newline); the thread's, public for tests.
  std::string answer(std::string_view line);

 private:
  void run();
  std::string rule_stats_json() const;

  Reloader& reloader_;
  RuleStore& store_;
  std::unique_ptr<ControlSocket> socket_;
  ControlHandlers handlers_;
  const std::atomic<uint64_t>* hangups_;
  uint64_t seen_hangups_ = 0;
  bool profiling_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// What a live run with workers needs to take reloads, started once its workers exist: the
// SIGHUP handler, the reloader (its results recorded in the live stats' control counters) and
// the control plane over `socket` (may be null). `stop` is what `ctl shutdown` sets (the run's
// drain flag); `iface_stat` may be empty. Destroy `control` before `reloader`.
struct RunControl {
  std::unique_ptr<Reloader> reloader;
  std::unique_ptr<ControlPlane> control;
};
RunControl start_run_control(const CliOptions& options, const Settings& settings, RuleStore& store, size_t rules,
                             std::unique_ptr<ControlSocket> socket, std::function<std::string()> iface_stat,
                             std::atomic<bool>& stop);

// The reload's outcome as the ctl reply's message object.
std::string reload_result_json(const ReloadResult& result);

// `control.socket` opened for a live run: null when `path` is empty, or when it is the default
// path and cannot be made (logged; the run goes on without); an error for a path set otherwise.
tl::expected<std::unique_ptr<ControlSocket>, std::string> open_control_socket(const std::string& path);

// A stats snapshot as one JSON object: the dotted names ("decoder.ipv4") of both its EVE and
// its stats.log-only counters as nested objects, with "uptime" first; `more` is added the same way.
std::string stats_tree_json(const StatsSnapshot& stats, const std::vector<std::pair<std::string, uint64_t>>& more);

// The reload counters in stats.log (detect.reloads, ...), from what the control plane recorded.
struct ReloadCounters {
  uint64_t reloads = 0;
  uint64_t reload_failures = 0;
  uint64_t last_reload = 0;  // unix time of the latest attempt; 0: none
  uint64_t rules_loaded = 0;
  uint64_t rules_failed = 0;

  template <class F>
  void visit(F&&) const {}
  template <class F>
  void visit_extra(F&& f) const {
    f("reloads", reloads); f("reload_failures", reload_failures); f("last_reload", last_reload);
    f("rules_loaded", rules_loaded); f("rules_failed", rules_failed);
  }
};

}  // namespace eastwatch

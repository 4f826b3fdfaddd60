#include "sensor/main/control_plane.hpp"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>

#include "config/settings.hpp"
#include "sensor/main/hangup.hpp"
#include "sensor/main/live_stats.hpp"

namespace eastwatch {

namespace {

bool make_parent_dir(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return true;
  const std::string dir = path.substr(0, slash);
  struct stat st {};
  if (stat(dir.c_str(), &st) == 0) return S_ISDIR(st.st_mode);
  if (!make_parent_dir(dir)) return false;
  return mkdir(dir.c_str(), 0750) == 0 || errno == EEXIST;
}

// Whether something accepts connections at `path` (a running sensor).
bool socket_in_use(const sockaddr_un& address) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const bool in_use = connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  close(fd);
  return in_use;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

uint64_t relaxed(const uint64_t& value) noexcept {
  return std::atomic_ref<uint64_t>(const_cast<uint64_t&>(value)).load(std::memory_order_relaxed);
}

}  // namespace

tl::expected<std::unique_ptr<ControlSocket>, std::string> ControlSocket::open(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address.sun_path) {
    return tl::unexpected("control.socket: '" + path + "': a path of 1 to " +
                          std::to_string(sizeof address.sun_path - 1) + " bytes is needed");
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  if (!make_parent_dir(path)) {
    return tl::unexpected("control.socket: cannot create the directory of '" + path + "': " + std::strerror(errno));
  }
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return tl::unexpected("control.socket: '" + path + "' exists and is not a socket");
    if (socket_in_use(address)) {
      return tl::unexpected("control.socket: '" + path + "' is in use (another eastwatch is running)");
    }
    unlink(path.c_str());  // stale: left by a sensor that did not exit cleanly
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return tl::unexpected(std::string("control.socket: socket: ") + std::strerror(errno));
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 || listen(fd, 16) != 0) {
    const std::string error = std::strerror(errno);
    close(fd);
    return tl::unexpected("control.socket: cannot listen on '" + path + "': " + error);
  }
  if (chmod(path.c_str(), 0660) != 0) {
    const std::string error = std::strerror(errno);
    close(fd);
    unlink(path.c_str());
    return tl::unexpected("control.socket: chmod 0660 '" + path + "': " + error);
  }
  return std::unique_ptr<ControlSocket>(new ControlSocket(fd, path));
}

ControlSocket::~ControlSocket() {
  for (auto& client : clients_) close(client.fd);
  close(listen_fd_);
  unlink(path_.c_str());
}

void ControlSocket::poll_once(int timeout_ms, const std::function<std::string(std::string_view)>& answer) {
  std::vector<pollfd> fds;
  fds.push_back(pollfd{listen_fd_, POLLIN, 0});
  for (const auto& client : clients_) fds.push_back(pollfd{client.fd, POLLIN, 0});
  const int ready = poll(fds.data(), fds.size(), timeout_ms);
  if (ready <= 0) return;
  for (size_t i = 1; i < fds.size(); ++i) {
    if (fds[i].revents != 0) read_client(clients_[i - 1], answer);
  }
  std::erase_if(clients_, [](const Client& client) { return client.fd < 0; });
  if (fds[0].revents & POLLIN) {
    for (;;) {
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) break;
      if (clients_.size() >= kMaxClients) {
        send_all(fd, control_reply_text(false, "too many control connections") + "\n");
        close(fd);
        continue;
      }
      // Replies are written whole (rule-stats can be megabytes): blocking, with a time limit.
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      timeval limit{5, 0};
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
      clients_.push_back(Client{fd, {}, false});
    }
  }
}

void ControlSocket::read_client(Client& client, const std::function<std::string(std::string_view)>& answer) {
  char chunk[4096];
  const ssize_t n = recv(client.fd, chunk, sizeof chunk, MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
    close(client.fd);
    client.fd = -1;
    return;
  }
  if (n < 0) return;
  std::string_view data(chunk, static_cast<size_t>(n));
  while (!data.empty() && client.fd >= 0) {
    const size_t newline = data.find('\n');
    const std::string_view part = data.substr(0, newline);
    if (client.discarding) {
      if (newline != std::string_view::npos) client.discarding = false;
    } else {
      client.buffer.append(part);
      if (client.buffer.size() > kMaxRequestBytes) {
        client.buffer.clear();
        client.discarding = newline == std::string_view::npos;
        if (!send_all(client.fd, control_reply_text(false, "request longer than " + std::to_string(kMaxRequestBytes) +
                                                               " bytes") +
                                     "\n")) {
          close(client.fd);
          client.fd = -1;
          return;
        }
      } else if (newline != std::string_view::npos) {
        std::string line = std::move(client.buffer);
        client.buffer.clear();
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!line.empty() && !send_all(client.fd, answer(line) + "\n")) {
          close(client.fd);
          client.fd = -1;
          return;
        }
      }
    }
    if (newline == std::string_view::npos) break;
    data.remove_prefix(newline + 1);
  }
}

tl::expected<std::unique_ptr<ControlSocket>, std::string> open_control_socket(const std::string& path) {
  if (path.empty()) return std::unique_ptr<ControlSocket>();
  auto socket = ControlSocket::open(path);
  if (socket) return socket;
  if (path != ControlSettings{}.socket) return tl::unexpected(socket.error());
  std::fprintf(stderr, "eastwatch: %s; running without a control socket (SIGHUP still reloads)\n",
               socket.error().c_str());
  return std::unique_ptr<ControlSocket>();
}

namespace {

struct StatsNode {
  std::map<std::string, StatsNode> children;
  std::vector<std::string> order;  // children in first-seen order
  uint64_t value = 0;
  bool leaf = false;
};

void insert_stat(StatsNode& root, std::string_view name, uint64_t value) {
  StatsNode* node = &root;
  for (;;) {
    const size_t dot = name.find('.');
    const std::string part(name.substr(0, dot));
    auto [it, inserted] = node->children.try_emplace(part);
    if (inserted) node->order.push_back(part);
    node = &it->second;
    if (dot == std::string_view::npos) break;
    if (node->leaf) return;  // a counter and a group of the same name: the counter wins
    name.remove_prefix(dot + 1);
  }
  if (!node->children.empty()) return;
  node->leaf = true;
  node->value = value;
}

void write_stats(const StatsNode& node, std::string& out) {
  out += '{';
  bool first = true;
  for (const auto& key : node.order) {
    const StatsNode& child = node.children.at(key);
    if (!first) out += ',';
    first = false;
    out += json_string(key) + ":";
    if (child.leaf) {
      out += std::to_string(child.value);
    } else {
      write_stats(child, out);
    }
  }
  out += '}';
}

}  // namespace

std::string stats_tree_json(const StatsSnapshot& stats, const std::vector<std::pair<std::string, uint64_t>>& more) {
  StatsNode root;
  insert_stat(root, "uptime", stats.uptime_seconds);
  for (const auto& [name, value] : stats.eve) insert_stat(root, name, value);
  for (const auto& [name, value] : stats.extra) insert_stat(root, name, value);
  for (const auto& [name, value] : more) insert_stat(root, name, value);
  std::string out;
  write_stats(root, out);
  return out;
}

std::string reload_result_json(const ReloadResult& result) {
  std::string out = "{\"reloaded\":";
  out += result.ok ? "true" : "false";
  out += ",\"summary\":" + json_string(result.message);
  out += ",\"rule_set\":" + std::to_string(result.generation);
  out += ",\"rules_loaded\":" + std::to_string(result.loaded);
  out += ",\"rules_failed\":" + std::to_string(result.failed);
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.3f", result.seconds);
  out += ",\"seconds\":";
  out += seconds;
  out += ",\"errors\":[";
  constexpr size_t kMaxErrors = 200;  // the log has them all
  for (size_t i = 0; i < result.errors.size() && i < kMaxErrors; ++i) {
    if (i > 0) out += ',';
    out += json_string(result.errors[i]);
  }
  out += "],\"needs_restart\":[";
  for (size_t i = 0; i < result.needs_restart.size(); ++i) {
    if (i > 0) out += ',';
    out += json_string(result.needs_restart[i]);
  }
  out += "]}";
  return out;
}

ControlPlane::ControlPlane(Reloader& reloader, RuleStore& store, std::unique_ptr<ControlSocket> socket,
                           ControlHandlers handlers, const std::atomic<uint64_t>* hangups, bool profiling)
    : reloader_(reloader),
      store_(store),
      socket_(std::move(socket)),
      handlers_(std::move(handlers)),
      hangups_(hangups),
      seen_hangups_(hangups != nullptr ? hangups->load(std::memory_order_relaxed) : 0),
      profiling_(profiling) {
  thread_ = std::thread([this] { run(); });
}

ControlPlane::~ControlPlane() { stop(); }

void ControlPlane::stop() {
  stopping_.store(true, std::memory_order_relaxed);
  if (thread_.joinable()) thread_.join();
  socket_.reset();
}

void ControlPlane::run() {
  while (!stopping_.load(std::memory_order_relaxed)) {
    if (socket_) {
      socket_->poll_once(100, [this](std::string_view line) { return answer(line); });
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (hangups_ != nullptr) {
      const uint64_t hangups = hangups_->load(std::memory_order_relaxed);
      if (hangups != seen_hangups_) {
        seen_hangups_ = hangups;
        reloader_.reload("SIGHUP");
      }
    }
    store_.reclaim();
  }
}

std::string ControlPlane::answer(std::string_view line) {
  auto request = parse_control_request(line);
  if (!request) return control_reply_text(false, request.error());
  const std::string& command = request->command;
  if (command == "reload") {
    if (hangups_ != nullptr) seen_hangups_ = hangups_->load(std::memory_order_relaxed);
    const ReloadResult result = reloader_.reload("control socket");
    return control_reply(result.ok, reload_result_json(result));
  }
  if (command == "version") return control_reply_text(true, std::string("eastwatch ") + EASTWATCH_VERSION);
  if (command == "stats") {
    if (!handlers_.stats) return control_reply_text(false, "no stats in this run");
    return control_reply(true, handlers_.stats());
  }
  if (command == "iface-stat") {
    if (!handlers_.iface_stat) return control_reply_text(false, "no capture interfaces in this run");
    return control_reply(true, handlers_.iface_stat());
  }
  if (command == "rule-stats") return control_reply(true, rule_stats_json());
  if (command == "shutdown") {
    if (!handlers_.shutdown) return control_reply_text(false, "shutdown is not available in this run");
    handlers_.shutdown();
    return control_reply_text(true, "shutting down: capture stops, workers drain and end their flows");
  }
  if (command == "command-list") {
    std::string list = "{\"commands\":[";
    for (size_t i = 0; i < known_commands().size(); ++i) {
      if (i > 0) list += ',';
      list += json_string(known_commands()[i]);
    }
    return control_reply(true, list + "],\"count\":" + std::to_string(known_commands().size()) + "}");
  }
  return control_reply_text(false, "unknown command " + json_string(command));
}

// Per rule of the set in use: its ids, alerts summed over the workers (carried across reloads
// for rules that stayed), and with --profile-rules its checks, matches and ticks.
std::string ControlPlane::rule_stats_json() const {
  const RuleSnapshot* snapshot = store_.current();
  const auto rules = snapshot->rules->rules();
  std::string out = "{\"rule_set\":" + std::to_string(snapshot->generation) +
                    ",\"loaded_at\":" + std::to_string(snapshot->loaded_unix) + ",\"rules\":[";
  out.reserve(out.size() + rules.size() * 64);
  for (size_t i = 0; i < rules.size(); ++i) {
    uint64_t alerts = 0, checks = 0, matches = 0, ticks = 0;
    for (const auto& thread : snapshot->threads) {
      if (!thread) continue;
      alerts += thread->rule_alerts(i);
      const auto profile = thread->profile(rules.size());
      if (!profile.empty()) {
        checks += relaxed(profile[i].checks);
        matches += relaxed(profile[i].matches);
        ticks += relaxed(profile[i].ticks);
      }
    }
    if (i > 0) out += ',';
    out += "{\"sid\":" + std::to_string(rules[i].sid) + ",\"gid\":" + std::to_string(rules[i].gid) +
           ",\"rev\":" + std::to_string(rules[i].rev) + ",\"alerts\":" + std::to_string(alerts);
    if (profiling_) {
      out += ",\"checks\":" + std::to_string(checks) + ",\"matches\":" + std::to_string(matches) +
             ",\"ticks\":" + std::to_string(ticks);
    }
    out += '}';
  }
  out += "]}";
  return out;
}

RunControl start_run_control(const CliOptions& options, const Settings& settings, RuleStore& store, size_t rules,
                             std::unique_ptr<ControlSocket> socket, std::function<std::string()> iface_stat,
                             std::atomic<bool>& stop) {
  install_hangup_handler();  // SIGHUP reloads (and reopens the logs), never ends the run
  process_live_stats().control().set_rules(rules, 0);
  RunControl run;
  run.reloader = std::make_unique<Reloader>(options, settings, store);
  run.reloader->set_result_hook([](const ReloadResult& result) {
    process_live_stats().control().record_reload(result.ok, result.loaded, result.failed);
  });
  ControlHandlers handlers;
  handlers.stats = [] {
    const LiveSnapshot live_snapshot = process_live_stats().snapshot();
    const ControlState::Copy reload = live_snapshot.control;
    return stats_tree_json(live_snapshot.stats, {{"detect.reloads", reload.reloads},
                                                 {"detect.reload_failures", reload.reload_failures},
                                                 {"detect.last_reload", static_cast<uint64_t>(reload.last_reload_unix)},
                                                 {"detect.rules_loaded", reload.rules_loaded},
                                                 {"detect.rules_failed", reload.rules_failed}});
  };
  handlers.iface_stat = std::move(iface_stat);
  handlers.shutdown = [&stop] { stop.store(true, std::memory_order_relaxed); };
  run.control = std::make_unique<ControlPlane>(*run.reloader, store, std::move(socket), std::move(handlers),
                                               &hangup_count(), settings.detect.profile_rules);
  return run;
}

}  // namespace eastwatch

// Real collectors for the sink tests: a redis-server process, and stream/datagram listeners
// (syslog over TCP with octet counting or UDP, a Unix socket with lines) that can be stopped
// and started again on the same address in the middle of traffic.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace eastwatch::test {

inline std::string fresh_dir(const std::string& name) {
  const auto dir = std::filesystem::path(EASTWATCH_BINARY_DIR) / ("sink_test_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

// A port nothing listens on right now (bound to port 0, then closed).
inline uint16_t free_port(int type = SOCK_STREAM) {
  const int fd = socket(AF_INET, type, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

// Waits (bounded) until `done` holds; returns its last value.
inline bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(15)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

inline bool have_redis_server() { return access("/usr/bin/redis-server", X_OK) == 0; }

// redis-server on a port of its own, persisting every write (appendfsync always), so a
// confirmed record survives a stop and restart.
class RedisServer {
 public:
  RedisServer(std::string dir, uint16_t port) : dir_(std::move(dir)), port_(port) {}
  ~RedisServer() { stop(); }

  bool start() {
    const std::string port = std::to_string(port_);
    std::vector<std::string> args{"/usr/bin/redis-server", "--port", port, "--bind", "127.0.0.1", "--dir", dir_,
                                  "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                                  "--daemonize", "no", "--loglevel", "warning", "--logfile", dir_ + "/redis.log"};
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return false;
    return wait_for([&] {
      const int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(port_);
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      const bool up = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
      close(fd);
      return up;
    });
  }
  // SIGTERM: Redis closes every client (in-flight commands are answered or never run) and exits.
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  uint16_t port() const { return port_; }

 private:
  std::string dir_;
  uint16_t port_;
  pid_t pid_ = -1;
};

// A listener that collects what its clients send. Stream listeners half-close each client
// when stopped (the client sees the end and reconnects) and read on until the client closes,
// as a collector shutting down cleanly does; then the address is free until `start` again.
class Listener {
 public:
  enum class Kind { SyslogTcp, SyslogUdp, UnixLines };
  Listener(Kind kind, std::string where) : kind_(kind), where_(std::move(where)) {}
  // A slow collector: reads at most 512 bytes, then waits `pause`, until slow_until records.
  void set_slow(std::chrono::milliseconds pause, size_t slow_until) {
    pause_ = pause;
    slow_until_ = slow_until;
  }
  ~Listener() { stop(); }

  bool start() {
    const int domain = kind_ == Kind::UnixLines ? AF_UNIX : AF_INET;
    listen_fd_ = socket(domain, kind_ == Kind::SyslogUdp ? SOCK_DGRAM : SOCK_STREAM, 0);
    const int on = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    int bound = -1;
    if (domain == AF_UNIX) {
      unlink(where_.c_str());
      sockaddr_un address{};
      address.sun_family = AF_UNIX;
      std::strncpy(address.sun_path, where_.c_str(), sizeof address.sun_path - 1);
      bound = bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    } else {
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(static_cast<uint16_t>(std::stoi(where_)));
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      bound = bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    }
    if (bound != 0) return false;
    if (kind_ != Kind::SyslogUdp && listen(listen_fd_, 8) != 0) return false;
    running_ = true;
    thread_ = std::thread([this] { run(); });
    return true;
  }

  void stop() {
    if (!thread_.joinable()) return;
    running_ = false;
    thread_.join();
    close(listen_fd_);
    if (kind_ == Kind::UnixLines) unlink(where_.c_str());
  }

  std::vector<std::string> messages() {
    std::lock_guard lock(mutex_);
    return messages_;
  }
  size_t count() {
    std::lock_guard lock(mutex_);
    return messages_.size();
  }
  size_t connections() const { return connections_; }

 private:
  void run() {
    std::vector<int> clients;
    std::vector<std::string> pending;
    char buffer[65536];
    bool closing = false;
    auto give_up = std::chrono::steady_clock::now();
    while (true) {
      if (closing && std::chrono::steady_clock::now() > give_up) {
        for (int fd : clients) close(fd);  // a client that never notices the end
        break;
      }
      if (!running_ && !closing) {
        closing = true;
        give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        for (int fd : clients) shutdown(fd, SHUT_WR);
        if (kind_ == Kind::SyslogUdp) break;
      }
      if (closing && clients.empty()) break;
      std::vector<pollfd> fds;
      if (!closing) fds.push_back({listen_fd_, POLLIN, 0});
      for (int fd : clients) fds.push_back({fd, POLLIN, 0});
      if (poll(fds.data(), fds.size(), 10) <= 0) continue;
      for (size_t i = 0; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        if (fds[i].fd == listen_fd_ && kind_ == Kind::SyslogUdp) {
          const ssize_t got = recv(listen_fd_, buffer, sizeof buffer, 0);
          if (got > 0) add(std::string(buffer, static_cast<size_t>(got)));
        } else if (fds[i].fd == listen_fd_) {
          clients.push_back(accept(listen_fd_, nullptr, nullptr));
          pending.emplace_back();
          ++connections_;
        } else {
          const size_t client = static_cast<size_t>(
              std::find(clients.begin(), clients.end(), fds[i].fd) - clients.begin());
          const bool slow = pause_.count() > 0 && count() < slow_until_;
          const ssize_t got = recv(fds[i].fd, buffer, slow ? 512 : sizeof buffer, 0);
          if (slow) std::this_thread::sleep_for(pause_);
          if (got <= 0) {
            close(fds[i].fd);
            clients.erase(clients.begin() + static_cast<long>(client));
            pending.erase(pending.begin() + static_cast<long>(client));
            break;  // fds is stale now
          }
          pending[client].append(buffer, static_cast<size_t>(got));
          parse(pending[client]);
        }
      }
    }
  }

  // Takes every whole frame out of `bytes`: "LEN SP MSG" (RFC 6587) or "LINE\n".
  void parse(std::string& bytes) {
    while (true) {
      if (kind_ == Kind::UnixLines) {
        const size_t end = bytes.find('\n');
        if (end == std::string::npos) return;
        add(bytes.substr(0, end));
        bytes.erase(0, end + 1);
      } else {
        const size_t space = bytes.find(' ');
        if (space == std::string::npos) return;
        const size_t length = std::stoul(bytes.substr(0, space));
        if (bytes.size() < space + 1 + length) return;
        add(bytes.substr(space + 1, length));
        bytes.erase(0, space + 1 + length);
      }
    }
  }

  void add(std::string message) {
    std::lock_guard lock(mutex_);
    messages_.push_back(std::move(message));
  }

  Kind kind_;
  std::string where_;
  int listen_fd_ = -1;
  std::atomic<bool> running_{false};
  std::atomic<size_t> connections_{0};
  std::chrono::milliseconds pause_{0};
  size_t slow_until_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> messages_;
};

// The "seq" field of a test record (the number after "seq":), or -1.
inline long sequence_of(const std::string& text) {
  const size_t at = text.find("\"seq\":");
  return at == std::string::npos ? -1 : std::stol(text.substr(at + 6));
}

}  // namespace eastwatch::test

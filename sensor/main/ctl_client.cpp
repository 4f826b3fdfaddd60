#include "sensor/main/ctl_client.hpp"

#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "config/config_loader.hpp"
#include "sensor/main/control_protocol.hpp"

namespace eastwatch {

namespace {

constexpr const char* kUsage =
    "usage: eastwatch ctl [--socket PATH | -c eastwatch.yaml] COMMAND\n"
    "commands: reload, stats, rule-stats, iface-stat, version, shutdown, command-list\n";

}  // namespace

int run_ctl(int argc, const char* const* argv) {
  std::optional<std::string> socket_path;
  std::optional<std::string> config_file;
  std::string command;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--socket" || arg == "-c") && i + 1 < argc) {
      (arg == "-c" ? config_file : socket_path) = argv[++i];
    } else if (arg.starts_with("--socket=")) {
      socket_path = arg.substr(9);
    } else if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (command.empty() && !arg.starts_with("-")) {
      command = arg;
    } else {
      std::fprintf(stderr, "eastwatch ctl: unexpected argument '%s'\n%s", arg.c_str(), kUsage);
      return 2;
    }
  }
  if (command.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  if (!socket_path && config_file) {
    auto settings = load_settings(config_file, {});
    if (!settings) {
      for (const auto& error : settings.error()) std::fprintf(stderr, "%s\n", error.message.c_str());
      return 2;
    }
    socket_path = settings->control.socket;
  }
  const std::string path = socket_path.value_or(kDefaultControlSocket);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address.sun_path) {
    std::fprintf(stderr, "eastwatch ctl: bad socket path '%s'\n", path.c_str());
    return 2;
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    std::fprintf(stderr, "eastwatch ctl: cannot connect to %s: %s (is eastwatch running with control.socket set?)\n",
                 path.c_str(), std::strerror(errno));
    if (fd >= 0) close(fd);
    return 2;
  }
  const std::string request = "{\"command\":" + json_string(command) + "}\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    std::fprintf(stderr, "eastwatch ctl: cannot send to %s: %s\n", path.c_str(), std::strerror(errno));
    close(fd);
    return 2;
  }
  std::string reply;
  char chunk[65536];
  for (;;) {
    const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(chunk, static_cast<size_t>(n));
    if (reply.find('\n') != std::string::npos) break;
  }
  close(fd);
  const size_t newline = reply.find('\n');
  if (newline == std::string::npos) {
    std::fprintf(stderr, "eastwatch ctl: %s closed the connection without a reply\n", path.c_str());
    return 2;
  }
  reply.resize(newline);
  auto members = parse_control_object(reply, reply.size());
  if (!members) {
    std::fprintf(stderr, "eastwatch ctl: unreadable reply (%s): %s\n", members.error().c_str(), reply.c_str());
    return 2;
  }
  bool ok = false;
  std::string message;
  for (const auto& member : *members) {
    if (member.key == "return") ok = member.is_string && member.text == "OK";
    if (member.key == "message") message = member.is_string ? member.text : member.raw;
  }
  std::fprintf(ok ? stdout : stderr, "%s\n", message.c_str());
  return ok ? 0 : 1;
}

}  // namespace eastwatch

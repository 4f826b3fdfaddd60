// The Prometheus endpoint: GET /metrics on `metrics.listen` (cpp-httplib), answered from the
// live stats snapshot (sensor/main/live_stats.hpp), never from worker state.
//
// Contract:
//  - `start` binds the address before returning (an address in use or not local is an error
//    the caller reports at start-up, exit 2) and serves on its own threads (two) until `stop`
//    or destruction. Port 0 binds a free port; `port()` says which.
//  - Only GET (and HEAD) /metrics is served (404 otherwise); requests are small and bounded
//    (4 KiB, 5 s read timeout); cpp-httplib parses them.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <tl/expected.hpp>

namespace httplib {
class Server;
}

namespace eastwatch {

class MetricsServer {
 public:
  using Provider = std::function<std::string()>;  // the exposition text, on a server thread

  static tl::expected<std::unique_ptr<MetricsServer>, std::string> start(const std::string& listen, Provider provider);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  uint16_t port() const noexcept { return port_; }
  const std::string& host() const noexcept { return host_; }
  void stop();

 private:
  MetricsServer() = default;

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::string host_;
  uint16_t port_ = 0;
};

}  // namespace eastwatch

#include "sensor/main/metrics_server.hpp"

#include <httplib.h>

namespace eastwatch {

tl::expected<std::unique_ptr<MetricsServer>, std::string> MetricsServer::start(const std::string& listen,
                                                                               Provider provider) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return tl::unexpected("metrics.listen: '" + listen + "' is not host:port");
  std::string host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const int port = std::atoi(listen.c_str() + colon + 1);

  std::unique_ptr<MetricsServer> server(new MetricsServer());
  server->server_ = std::make_unique<httplib::Server>();
  httplib::Server& http = *server->server_;
  http.new_task_queue = [] { return new httplib::ThreadPool(2); };
  // SO_REUSEADDR only: cpp-httplib's default adds SO_REUSEPORT, which would let a second sensor
  // share the port silently instead of failing at start.
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  http.set_read_timeout(5, 0);
  http.set_write_timeout(5, 0);
  http.set_keep_alive_max_count(16);
  http.set_payload_max_length(4096);
  http.Get("/metrics", [provider = std::move(provider)](const httplib::Request&, httplib::Response& response) {
    response.set_content(provider(), "text/plain; version=0.0.4; charset=utf-8");
  });
  const int bound = port == 0 ? http.bind_to_any_port(host) : (http.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    return tl::unexpected("metrics.listen: cannot listen on '" + listen + "' (address in use, or not an address of this host)");
  }
  server->host_ = host;
  server->port_ = static_cast<uint16_t>(bound);
  server->thread_ = std::thread([raw = server.get()] { raw->server_->listen_after_bind(); });
  return server;
}

MetricsServer::~MetricsServer() { stop(); }

void MetricsServer::stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace eastwatch

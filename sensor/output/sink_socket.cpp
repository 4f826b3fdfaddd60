// Socket transports: a Unix stream socket (newline-delimited EVE) and syslog over UDP, TCP
// and TLS (RFC 5424 messages; octet counting, RFC 6587, on the stream transports).
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <chrono>
#include <cstring>
#include <ctime>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "sensor/output/sink_transports.hpp"

namespace eastwatch {

namespace {

constexpr int kConnectTimeoutMs = 2000;

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// Connects `fd` (non-blocking during the connect, blocking with a send timeout after).
bool finish_connect(int fd, const sockaddr* address, socklen_t length, std::string& error) {
  const int flags = fcntl(fd, F_GETFL, 0);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  if (::connect(fd, address, length) != 0) {
    if (errno != EINPROGRESS) {
      error = errno_text("connect");
      return false;
    }
    pollfd waiting{fd, POLLOUT, 0};
    if (poll(&waiting, 1, kConnectTimeoutMs) != 1) {
      error = "connect: timed out";
      return false;
    }
    int status = 0;
    socklen_t size = sizeof status;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &status, &size);
    if (status != 0) {
      error = std::string("connect: ") + std::strerror(status);
      return false;
    }
  }
  fcntl(fd, F_SETFL, flags);
  const timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  return true;
}

int connect_inet(const std::string& host, uint32_t port, int type, std::string& error) {
  addrinfo hints{};
  hints.ai_socktype = type;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int status = getaddrinfo(host.c_str(), service.c_str(), &hints, &found); status != 0) {
    error = host + ": " + gai_strerror(status);
    return -1;
  }
  int fd = -1;
  for (addrinfo* at = found; at != nullptr; at = at->ai_next) {
    fd = socket(at->ai_family, at->ai_socktype | SOCK_CLOEXEC, at->ai_protocol);
    if (fd < 0) continue;
    if (finish_connect(fd, at->ai_addr, at->ai_addrlen, error)) break;
    ::close(fd);
    fd = -1;
  }
  freeaddrinfo(found);
  return fd;
}

// True when the peer has closed (or reset) the connection; data it sent us is discarded.
bool peer_closed(int fd) {
  pollfd state{fd, POLLIN | POLLRDHUP, 0};
  if (poll(&state, 1, 0) != 1) return false;
  if (state.revents & (POLLRDHUP | POLLHUP | POLLERR)) return true;
  char scratch[512];
  const ssize_t got = recv(fd, scratch, sizeof scratch, MSG_DONTWAIT);
  return got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

// A stream connection (Unix, TCP or TLS) that frames each record and writes a batch at once.
class StreamTransport : public SinkTransport {
 public:
  size_t send(std::span<const std::string> records, std::string& error) override {
    if (fd_ < 0) return 0;
    if (peer_closed(fd_)) {
      error = "the peer closed the connection";
      return 0;
    }
    buffer_.clear();
    ends_.clear();
    for (const auto& record : records) {
      frame(decode_sink_record(record), buffer_);
      ends_.push_back(buffer_.size());
    }
    size_t written = 0;
    const bool ok = write_bytes(buffer_.data(), buffer_.size(), written);
    if (ok) return records.size();
    error = errno_text("send");
    size_t confirmed = 0;
    while (confirmed < ends_.size() && ends_[confirmed] <= written) ++confirmed;
    return confirmed;
  }

  void close() override {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 protected:
  virtual void frame(const SinkRecordView& record, std::string& into) = 0;
  // Non-blocking writes; while the collector's buffer is full, the sink's waiting hook runs
  // every 10 ms. Five seconds without progress is a failure.
  virtual bool write_bytes(const char* data, size_t size, size_t& written) {
    written = 0;
    auto last_progress = std::chrono::steady_clock::now();
    while (written < size) {
      const ssize_t wrote = ::send(fd_, data + written, size - written, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (wrote > 0) {
        written += static_cast<size_t>(wrote);
        last_progress = std::chrono::steady_clock::now();
        continue;
      }
      if (wrote < 0 && errno == EINTR) continue;
      if (wrote < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (std::chrono::steady_clock::now() - last_progress > std::chrono::seconds(5)) return false;
        pollfd writable{fd_, POLLOUT, 0};
        poll(&writable, 1, 10);
        waiting();
        continue;
      }
      return false;
    }
    return true;
  }

  int fd_ = -1;
  std::string buffer_;
  std::vector<size_t> ends_;
};

class UnixTransport final : public StreamTransport {
 public:
  explicit UnixTransport(const UnixSinkSettings& settings) : settings_(settings) {}
  ~UnixTransport() override { close(); }

  bool connect(std::string& error) override {
    close();
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (settings_.path.size() >= sizeof address.sun_path) {
      error = settings_.path + ": path too long";
      return false;
    }
    std::memcpy(address.sun_path, settings_.path.c_str(), settings_.path.size() + 1);
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0 || !finish_connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address, error)) {
      error = settings_.path + ": " + error;
      close();
      return false;
    }
    return true;
  }

 private:
  void frame(const SinkRecordView& record, std::string& into) override {
    into.append(record.line);
    into.push_back('\n');
  }
  UnixSinkSettings settings_;
};

class SyslogStreamTransport final : public StreamTransport {
 public:
  SyslogStreamTransport(const SyslogSinkSettings& settings, std::string sensor_name, SSL_CTX* tls)
      : settings_(settings), sensor_name_(std::move(sensor_name)), tls_context_(tls) {}
  ~SyslogStreamTransport() override {
    close();
    if (tls_context_ != nullptr) SSL_CTX_free(tls_context_);
  }

  bool connect(std::string& error) override {
    close();
    fd_ = connect_inet(settings_.host, settings_.port, SOCK_STREAM, error);
    if (fd_ < 0) return false;
    if (tls_context_ == nullptr) return true;
    tls_ = SSL_new(tls_context_);
    SSL_set_fd(tls_, fd_);
    SSL_set_tlsext_host_name(tls_, settings_.host.c_str());
    SSL_set1_host(tls_, settings_.host.c_str());
    if (SSL_connect(tls_) != 1) {
      char text[256];
      ERR_error_string_n(ERR_get_error(), text, sizeof text);
      error = std::string("TLS handshake: ") + text;
      close();
      return false;
    }
    return true;
  }

  size_t send(std::span<const std::string> records, std::string& error) override {
    if (tls_ != nullptr && tls_peer_closed()) {
      error = "the peer closed the TLS connection";
      return 0;
    }
    return StreamTransport::send(records, error);
  }

  void close() override {
    if (tls_ != nullptr) {
      SSL_shutdown(tls_);
      SSL_free(tls_);
      tls_ = nullptr;
    }
    StreamTransport::close();
  }

 private:
  void frame(const SinkRecordView& record, std::string& into) override {
    into.append(format_syslog_message(settings_, sensor_name_, record, true));
  }

  bool write_bytes(const char* data, size_t size, size_t& written) override {
    if (tls_ == nullptr) return StreamTransport::write_bytes(data, size, written);
    written = 0;
    while (written < size) {
      const int chunk = static_cast<int>(std::min<size_t>(size - written, 1 << 20));
      const int wrote = SSL_write(tls_, data + written, chunk);
      if (wrote <= 0) return false;
      written += static_cast<size_t>(wrote);
    }
    return true;
  }

  // A close_notify or a reset from the collector, read without blocking.
  bool tls_peer_closed() {
    pollfd state{fd_, POLLIN | POLLRDHUP, 0};
    if (poll(&state, 1, 0) != 1) return false;
    if (state.revents & (POLLRDHUP | POLLHUP | POLLERR)) return true;
    char scratch[512];
    const int flags = fcntl(fd_, F_GETFL, 0);
    fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
    const int got = SSL_read(tls_, scratch, sizeof scratch);
    const int reason = got > 0 ? SSL_ERROR_NONE : SSL_get_error(tls_, got);
    fcntl(fd_, F_SETFL, flags);
    return got <= 0 && reason != SSL_ERROR_WANT_READ && reason != SSL_ERROR_WANT_WRITE;
  }

  SyslogSinkSettings settings_;
  std::string sensor_name_;
  SSL_CTX* tls_context_ = nullptr;
  SSL* tls_ = nullptr;
};

// Fire-and-forget: a connected UDP socket, one datagram per record. A closed port shows up
// (as ECONNREFUSED from the ICMP reply) only on a later send, after the datagram is gone.
class SyslogUdpTransport final : public SinkTransport {
 public:
  SyslogUdpTransport(const SyslogSinkSettings& settings, std::string sensor_name)
      : settings_(settings), sensor_name_(std::move(sensor_name)) {}
  ~SyslogUdpTransport() override { close(); }

  bool connect(std::string& error) override {
    close();
    fd_ = connect_inet(settings_.host, settings_.port, SOCK_DGRAM, error);
    return fd_ >= 0;
  }

  size_t send(std::span<const std::string> records, std::string& error) override {
    size_t sent = 0;
    for (const auto& record : records) {
      const std::string message = format_syslog_message(settings_, sensor_name_, decode_sink_record(record), false);
      if (::send(fd_, message.data(), message.size(), MSG_NOSIGNAL) < 0 && errno != EMSGSIZE) {
        error = errno_text("send");
        return sent;
      }
      ++sent;  // a datagram too large for UDP is skipped, not retried forever
    }
    return sent;
  }

  void close() override {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  SyslogSinkSettings settings_;
  std::string sensor_name_;
  int fd_ = -1;
};

}  // namespace

std::string format_syslog_message(const SyslogSinkSettings& settings, const std::string& sensor_name,
                                  const SinkRecordView& record, bool octet_counting) {
  int severity = settings.severity;
  if (severity < 0) {
    severity = record.priority == 0 ? 6 : record.priority == 1 ? 2 : record.priority == 2 ? 3 : record.priority == 3 ? 4 : 5;
  }
  const auto now = std::chrono::system_clock::now();
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<long long>(micros % 1000000));
  // <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG
  std::string message = "<" + std::to_string(settings.facility * 8 + static_cast<uint32_t>(severity)) + ">1 " +
                        stamp + " " + (sensor_name.empty() ? "-" : sensor_name) + " " +
                        (settings.app_name.empty() ? "-" : settings.app_name) + " " + std::to_string(getpid()) +
                        " - - ";
  message.append(record.line);
  if (!octet_counting) return message;
  return std::to_string(message.size()) + " " + message;
}

tl::expected<std::unique_ptr<SinkTransport>, std::string> make_syslog_transport(const SyslogSinkSettings& settings,
                                                                                const std::string& sensor_name) {
  if (settings.transport == SyslogTransport::Udp) return std::make_unique<SyslogUdpTransport>(settings, sensor_name);
  SSL_CTX* context = nullptr;
  if (settings.transport == SyslogTransport::Tls) {
    signal(SIGPIPE, SIG_IGN);  // OpenSSL writes with write(2): a reset peer is an error, not a signal
    context = SSL_CTX_new(TLS_client_method());
    if (context == nullptr) return tl::unexpected(std::string("syslog: cannot create a TLS context"));
    SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
    auto fail = [&](const std::string& what) {
      SSL_CTX_free(context);
      return tl::unexpected("syslog: " + what);
    };
    if (!settings.ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(context, settings.ca_file.c_str(), nullptr) != 1) {
        return fail("cannot load the CA file '" + settings.ca_file + "'");
      }
    } else if (SSL_CTX_set_default_verify_paths(context) != 1) {
      return fail("cannot load the system CA certificates");
    }
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
    if (!settings.cert_file.empty()) {
      if (SSL_CTX_use_certificate_chain_file(context, settings.cert_file.c_str()) != 1) {
        return fail("cannot load the certificate '" + settings.cert_file + "'");
      }
      const std::string& key = settings.key_file.empty() ? settings.cert_file : settings.key_file;
      if (SSL_CTX_use_PrivateKey_file(context, key.c_str(), SSL_FILETYPE_PEM) != 1) {
        return fail("cannot load the key '" + key + "'");
      }
    }
  }
  return std::make_unique<SyslogStreamTransport>(settings, sensor_name, context);
}

std::unique_ptr<SinkTransport> make_unix_transport(const UnixSinkSettings& settings) {
  return std::make_unique<UnixTransport>(settings);
}

}  // namespace eastwatch

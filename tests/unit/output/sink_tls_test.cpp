// Syslog over TLS against a real OpenSSL server with a certificate made for the test: the
// collector ends the session (close_notify) and stops listening in the middle of traffic, then
// comes back; every message must arrive once, in order. A collector whose certificate the CA
// file does not vouch for gets nothing.
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <catch2/catch.hpp>

#include "sensor/output/sink.hpp"
#include "sensor/output/sink_transports.hpp"
#include "tests/unit/output/sink_test_support.hpp"

using namespace eastwatch;
using namespace eastwatch::test;

namespace {

std::string record(int i) { return "{\"event_type\":\"alert\",\"seq\":" + std::to_string(i) + "}"; }

// A self-signed certificate for `name` (CN and subjectAltName), written as PEM files.
void make_certificate(const std::string& name, const std::string& cert_path, const std::string& key_path) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  REQUIRE(key != nullptr);
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* subject = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(name.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(cert, subject);
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, cert, cert, nullptr, nullptr, 0);
  const std::string san = "DNS:" + name;
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, NID_subject_alt_name, san.c_str());
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
  REQUIRE(X509_sign(cert, key, EVP_sha256()) > 0);
  std::FILE* file = std::fopen(cert_path.c_str(), "w");
  PEM_write_X509(file, cert);
  std::fclose(file);
  file = std::fopen(key_path.c_str(), "w");
  PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(file);
  X509_free(cert);
  EVP_PKEY_free(key);
}

// One client at a time; `stop` sends close_notify, reads on until the client closes, and
// stops listening.
class TlsListener {
 public:
  TlsListener(uint16_t port, const std::string& cert, const std::string& key) : port_(port) {
    context_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate_file(context_, cert.c_str(), SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(context_, key.c_str(), SSL_FILETYPE_PEM);
  }
  ~TlsListener() {
    stop();
    SSL_CTX_free(context_);
  }

  bool start() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    const int on = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port_);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return false;
    listen(listen_fd_, 4);
    running_ = true;
    thread_ = std::thread([this] { run(); });
    return true;
  }

  void stop() {
    if (!thread_.joinable()) return;
    running_ = false;
    thread_.join();
    close(listen_fd_);
  }

  std::vector<std::string> messages() {
    std::lock_guard lock(mutex_);
    return messages_;
  }
  size_t count() {
    std::lock_guard lock(mutex_);
    return messages_.size();
  }
  size_t handshakes() const { return handshakes_; }

 private:
  void run() {
    while (running_) {
      pollfd waiting{listen_fd_, POLLIN, 0};
      if (poll(&waiting, 1, 10) != 1) continue;
      const int fd = accept(listen_fd_, nullptr, nullptr);
      SSL* tls = SSL_new(context_);
      SSL_set_fd(tls, fd);
      if (SSL_accept(tls) == 1) {
        ++handshakes_;
        serve(tls, fd);
      }
      SSL_free(tls);
      close(fd);
    }
  }

  void serve(SSL* tls, int fd) {
    std::string bytes;
    char buffer[16384];
    bool closing = false;
    const auto give_up_after = std::chrono::seconds(5);
    auto give_up = std::chrono::steady_clock::now();
    while (true) {
      if (!running_ && !closing) {
        closing = true;
        SSL_shutdown(tls);  // close_notify: the client sees the end before its next batch
        give_up = std::chrono::steady_clock::now() + give_up_after;
      }
      if (closing && std::chrono::steady_clock::now() > give_up) return;
      if (SSL_pending(tls) == 0) {
        pollfd readable{fd, POLLIN, 0};
        if (poll(&readable, 1, 10) != 1) continue;
      }
      const int got = SSL_read(tls, buffer, sizeof buffer);
      if (got <= 0) return;  // the client closed
      bytes.append(buffer, static_cast<size_t>(got));
      while (true) {  // RFC 6587 octet counting
        const size_t space = bytes.find(' ');
        if (space == std::string::npos) break;
        const size_t length = std::stoul(bytes.substr(0, space));
        if (bytes.size() < space + 1 + length) break;
        std::lock_guard lock(mutex_);
        messages_.push_back(bytes.substr(space + 1, length));
        bytes.erase(0, space + 1 + length);
      }
    }
  }

  uint16_t port_;
  SSL_CTX* context_ = nullptr;
  int listen_fd_ = -1;
  std::atomic<bool> running_{false};
  std::atomic<size_t> handshakes_{0};
  std::thread thread_;
  std::mutex mutex_;
  std::vector<std::string> messages_;
};

SinkOptions tls_options(const std::string& dir) {
  SinkOptions options;
  options.name = "syslog";
  options.spool = SpoolOptions{dir + "/spool/syslog", 4 << 20, 64 << 10, SpoolFsync::None};
  options.queue_size = 4096;
  options.batch_size = 64;
  options.drain_timeout = std::chrono::seconds(10);
  options.backoff_min = std::chrono::milliseconds(10);
  options.backoff_max = std::chrono::milliseconds(100);
  return options;
}

}  // namespace

TEST_CASE("syslog over tls: a collector restarted in the middle of traffic gets every message once, in order") {
  const std::string dir = fresh_dir("syslog_tls");
  make_certificate("localhost", dir + "/collector.pem", dir + "/collector.key");
  const uint16_t port = free_port();
  TlsListener collector(port, dir + "/collector.pem", dir + "/collector.key");
  REQUIRE(collector.start());
  SyslogSinkSettings settings;
  settings.enabled = true;
  settings.transport = SyslogTransport::Tls;
  settings.host = "localhost";
  settings.port = port;
  settings.ca_file = dir + "/collector.pem";
  auto transport = make_syslog_transport(settings, "s1");
  REQUIRE(transport);
  auto sink = Sink::start(tls_options(dir), std::move(*transport));
  REQUIRE(sink);
  constexpr int kRecords = 2000;
  std::thread pusher([&] {
    for (int i = 0; i < kRecords; ++i) {
      (*sink)->push(record(i), 0, 3);
      if (i % 10 == 9) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  REQUIRE(wait_for([&] { return collector.count() >= 300; }));
  collector.stop();
  REQUIRE(wait_for([&] { return (*sink)->spooled() > 0; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  REQUIRE(collector.start());
  pusher.join();
  (*sink)->stop();
  collector.stop();
  CHECK(collector.handshakes() >= 2);
  CHECK((*sink)->reconnects() >= 1);
  const auto all = collector.messages();
  REQUIRE(all.size() == static_cast<size_t>(kRecords));
  for (int i = 0; i < kRecords; ++i) REQUIRE(sequence_of(all[i]) == i);
  CHECK(all[0].rfind("<172>1 ", 0) == 0);  // local5, priority 3 -> warning
}

TEST_CASE("syslog over tls: a collector whose certificate is not for the host gets nothing, records stay spooled") {
  const std::string dir = fresh_dir("syslog_tls_name");
  make_certificate("collector.example", dir + "/collector.pem", dir + "/collector.key");
  const uint16_t port = free_port();
  TlsListener collector(port, dir + "/collector.pem", dir + "/collector.key");
  REQUIRE(collector.start());
  SyslogSinkSettings settings;
  settings.transport = SyslogTransport::Tls;
  settings.host = "localhost";  // not the certificate's name
  settings.port = port;
  settings.ca_file = dir + "/collector.pem";
  auto transport = make_syslog_transport(settings, "s1");
  REQUIRE(transport);
  auto options = tls_options(dir);
  options.drain_timeout = std::chrono::milliseconds(300);
  auto sink = Sink::start(options, std::move(*transport));
  REQUIRE(sink);
  for (int i = 0; i < 20; ++i) (*sink)->push(record(i), 0, 1);
  (*sink)->stop();
  collector.stop();
  CHECK(collector.count() == 0);
  CHECK((*sink)->sent() == 0);
  CHECK((*sink)->spooled() == 20);
}

TEST_CASE("syslog over tls: a CA file that cannot be read is an error at start") {
  SyslogSinkSettings settings;
  settings.transport = SyslogTransport::Tls;
  settings.ca_file = "/nonexistent/ca.pem";
  auto transport = make_syslog_transport(settings, "s1");
  REQUIRE_FALSE(transport);
  CHECK(transport.error() == "syslog: cannot load the CA file '/nonexistent/ca.pem'");
}

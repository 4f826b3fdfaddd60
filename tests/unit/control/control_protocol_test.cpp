// The control socket's protocol: requests parsed from untrusted lines (bad JSON, unknown
// commands, oversized lines and deep nesting are NOK with a reason, never a crash), replies and
// JSON strings written valid, and a real Unix socket answering line by line.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>

#include "sensor/main/control_plane.hpp"
#include "sensor/main/control_protocol.hpp"

using namespace eastwatch;

TEST_CASE("a request names a known command", "[control]") {
  auto request = parse_control_request(R"({"command": "reload"})");
  REQUIRE(request);
  CHECK(request->command == "reload");
  CHECK(request->arguments == "{}");

  request = parse_control_request(R"(  {"version":"0.2", "command":"rule-stats", "arguments": {"x": [1, 2.5e3, true, null]}} )");
  REQUIRE(request);
  CHECK(request->command == "rule-stats");
  CHECK(request->arguments == R"({"x": [1, 2.5e3, true, null]})");

  request = parse_control_request(R"({"command":"\u0073tats"})");  // \u escapes decoded
  REQUIRE(request);
  CHECK(request->command == "stats");
}

TEST_CASE("bad requests are refused with a reason", "[control]") {
  const std::pair<const char*, const char*> cases[] = {
      {"", "expected '{'"},
      {"reload", "expected '{'"},
      {"{", "expected a string"},
      {R"({"command":"reload")", "expected ',' or '}'"},
      {R"({"command":"reload"} x)", "trailing bytes"},
      {R"({"command":"reload",})", "expected a string"},
      {R"({"command" "reload"})", "expected ':'"},
      {R"({"command":"rel)", "unterminated string"},
      {R"({"command":"a\qb"})", "bad escape"},
      {R"({"command":"\ud800"})", "unpaired surrogate"},
      {R"({"command":"\u12"})", "bad \\u escape"},
      {"{\"command\":\"a\x01\"}", "control character"},
      {R"({"command":-})", "expected a digit"},
      {R"({"command":tru})", "expected a JSON value"},
      {R"({"command":7})", "\"command\" must be a string"},
      {R"({"cmd":"reload"})", "no \"command\""},
      {R"({"command":"reload","arguments":[1]})", "\"arguments\" must be an object"},
      {R"({"command":"format-disk"})", "unknown command \"format-disk\""},
      {R"([1,2])", "expected '{'"},
  };
  for (const auto& [line, reason] : cases) {
    INFO(line);
    auto request = parse_control_request(line);
    REQUIRE_FALSE(request);
    CHECK(request.error().find(reason) != std::string::npos);
  }
}

TEST_CASE("nesting and length are bounded", "[control]") {
  std::string deep = R"({"command":"stats","arguments":)";
  for (int i = 0; i < 100; ++i) deep += "[";
  auto request = parse_control_request(deep);
  REQUIRE_FALSE(request);
  CHECK(request.error().find("nested deeper than") != std::string::npos);

  std::string huge = R"({"command":"stats","pad":")" + std::string(kMaxRequestBytes, 'a') + R"("})";
  request = parse_control_request(huge);
  REQUIRE_FALSE(request);
  CHECK(request.error().find("longer than 4096 bytes") != std::string::npos);
}

TEST_CASE("JSON strings and replies are valid JSON", "[control]") {
  CHECK(json_string("a\"b\\c\nd\te") == R"("a\"b\\c\nd\te")");
  CHECK(json_string(std::string("\x01\x7f", 2)) == R"("\u0001\u007f")");
  CHECK(json_string("caf\xc3\xa9") == "\"caf\xc3\xa9\"");     // UTF-8 kept
  CHECK(json_string("bad\xff\xc3") == R"("bad\u00ff\u00c3")");  // stray bytes escaped
  CHECK(control_reply_text(false, "no \"rules\"") == R"({"return":"NOK","message":"no \"rules\""})");
  CHECK(control_reply(true, "{\"a\":1}") == R"({"return":"OK","message":{"a":1}})");
  // What we write, we can read back.
  auto members = parse_control_object(control_reply_text(true, "line\nwith \xff byte"));
  REQUIRE(members);
  REQUIRE(members->size() == 2);
  CHECK((*members)[1].text == "line\nwith \xc3\xbf byte");
}

TEST_CASE("stats become nested objects", "[control]") {
  StatsSnapshot stats;
  stats.uptime_seconds = 7;
  stats.eve = {{"decoder.pkts", 10}, {"flow.mgr.flows_timeout", 2}, {"decoder.bytes", 600}};
  stats.extra = {{"capture.ring-drops", 1}};
  CHECK(stats_tree_json(stats, {{"detect.reloads", 3}}) ==
        R"({"uptime":7,"decoder":{"pkts":10,"bytes":600},"flow":{"mgr":{"flows_timeout":2}},)"
        R"("capture":{"ring-drops":1},"detect":{"reloads":3}})");
}

namespace {

int connect_to(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  REQUIRE(connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
  return fd;
}

std::string read_line(int fd) {
  std::string line;
  char c = 0;
  while (recv(fd, &c, 1, 0) == 1 && c != '\n') line += c;
  return line;
}

}  // namespace

TEST_CASE("the control socket answers each line, refuses oversized ones and goes on", "[control]") {
  const std::string dir = std::string(EASTWATCH_BINARY_DIR) + "/control-test-" + std::to_string(getpid());
  const std::string path = dir + "/sub/ctl.sock";
  auto socket = ControlSocket::open(path);
  REQUIRE(socket);
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0660);
  CHECK(S_ISSOCK(st.st_mode));
  // A second sensor on the same path is refused.
  auto second = ControlSocket::open(path);
  REQUIRE_FALSE(second);
  CHECK(second.error().find("is in use") != std::string::npos);

  std::atomic<bool> done{false};
  std::thread server([&] {
    while (!done.load()) {
      (*socket)->poll_once(20, [](std::string_view line) {
        auto request = parse_control_request(line);
        return request ? control_reply_text(true, "did " + request->command) : control_reply_text(false, request.error());
      });
    }
  });
  const int fd = connect_to(path);
  const std::string oversized = std::string(kMaxRequestBytes + 10, 'x') + "\n";
  const std::string requests = R"({"command":"version"})" "\n" "not json\n" + oversized +
                               R"({"command":"nope"})" "\r\n" R"({"command":"stats"})" "\n";
  REQUIRE(send(fd, requests.data(), requests.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(requests.size()));
  CHECK(read_line(fd) == R"({"return":"OK","message":"did version"})");
  CHECK(read_line(fd).starts_with(R"({"return":"NOK","message":"invalid JSON: expected '{')"));
  CHECK(read_line(fd) == R"({"return":"NOK","message":"request longer than 4096 bytes"})");
  CHECK(read_line(fd).starts_with(R"({"return":"NOK","message":"unknown command \"nope\")"));
  CHECK(read_line(fd) == R"({"return":"OK","message":"did stats"})");
  close(fd);
  done = true;
  server.join();
  socket->reset();
  CHECK(stat(path.c_str(), &st) != 0);  // removed at the end
  // A stale socket file (nobody listening) is replaced.
  {
    auto again = ControlSocket::open(path);
    REQUIRE(again);
  }
  rmdir((dir + "/sub").c_str());
  rmdir(dir.c_str());
}

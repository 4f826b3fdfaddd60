// The sinks against real collectors: redis-server, a syslog listener (TCP, UDP), a Unix socket
// listener. Each collector is stopped and started again in the middle of traffic; every record
// must arrive exactly once and in order.
#include <hiredis/hiredis.h>

#include <catch2/catch.hpp>

#include "sensor/output/sink.hpp"
#include "sensor/output/sink_transports.hpp"
#include "tests/unit/output/sink_test_support.hpp"

using namespace eastwatch;
using namespace eastwatch::test;

namespace {

std::string record(int i) { return "{\"event_type\":\"alert\",\"seq\":" + std::to_string(i) + ",\"host\":\"s1\"}"; }

SinkOptions options_for(const std::string& name, const std::string& dir) {
  SinkOptions options;
  options.name = name;
  options.spool = SpoolOptions{dir + "/spool/" + name, 4 << 20, 64 << 10, SpoolFsync::None};
  options.queue_size = 4096;
  options.batch_size = 64;
  options.drain_timeout = std::chrono::seconds(10);
  options.backoff_min = std::chrono::milliseconds(10);
  options.backoff_max = std::chrono::milliseconds(100);
  return options;
}

// Pushes records first..last-1 at about 2 per millisecond.
std::thread push_records(Sink& sink, int first, int last) {
  return std::thread([&sink, first, last] {
    for (int i = first; i < last; ++i) {
      sink.push(record(i), static_cast<uint64_t>(i) + 1, 1);
      if (i % 10 == 9) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
}

// Every sequence number 0..count-1 once, in order.
void check_exactly_once_in_order(const std::vector<long>& sequences, int count) {
  REQUIRE(sequences.size() == static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    if (sequences[i] != i) FAIL("record " << i << " is seq " << sequences[i]);
  }
}

std::vector<long> redis_list(uint16_t port, const std::string& key) {
  std::vector<long> sequences;
  redisContext* context = redisConnect("127.0.0.1", port);
  REQUIRE(context != nullptr);
  REQUIRE(context->err == 0);
  auto* reply = static_cast<redisReply*>(redisCommand(context, "LRANGE %s 0 -1", key.c_str()));
  REQUIRE(reply != nullptr);
  for (size_t i = 0; i < reply->elements; ++i) sequences.push_back(sequence_of(reply->element[i]->str));
  freeReplyObject(reply);
  redisFree(context);
  return sequences;
}

size_t redis_length(uint16_t port, const std::string& key) {
  redisContext* context = redisConnect("127.0.0.1", port);
  if (context == nullptr || context->err != 0) {
    if (context != nullptr) redisFree(context);
    return 0;
  }
  auto* reply = static_cast<redisReply*>(redisCommand(context, "LLEN %s", key.c_str()));
  const size_t length = reply != nullptr && reply->type == REDIS_REPLY_INTEGER ? static_cast<size_t>(reply->integer) : 0;
  if (reply != nullptr) freeReplyObject(reply);
  redisFree(context);
  return length;
}

}  // namespace

TEST_CASE("redis: a server stopped and restarted in the middle of traffic gets every record once, in order") {
  if (!have_redis_server()) {
    WARN("redis-server is not installed (packaging/scripts/install-deps.sh): skipped");
    return;
  }
  const std::string dir = fresh_dir("redis_outage");
  RedisServer redis(dir, free_port());
  REQUIRE(redis.start());
  RedisSinkSettings settings;
  settings.enabled = true;
  settings.port = redis.port();
  settings.key = "alerts";
  auto sink = Sink::start(options_for("redis", dir), make_redis_transport(settings, "s1"));
  REQUIRE(sink);
  constexpr int kRecords = 3000;
  std::thread pusher = push_records(**sink, 0, kRecords);
  REQUIRE(wait_for([&] { return redis_length(redis.port(), "alerts") >= 500; }));
  redis.stop();
  const uint64_t sent_before = (*sink)->sent();
  REQUIRE(wait_for([&] { return (*sink)->spooled() > 0; }));  // down: records go to the spool
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  REQUIRE(redis.start());
  pusher.join();
  (*sink)->stop();
  CHECK(sent_before < kRecords);
  CHECK((*sink)->sent() == kRecords);
  CHECK((*sink)->reconnects() >= 1);
  CHECK((*sink)->dropped() == 0);
  CHECK((*sink)->spool_bytes() == 0);
  check_exactly_once_in_order(redis_list(redis.port(), "alerts"), kRecords);
}

TEST_CASE("redis: a run that ends while the server is down leaves its records spooled, the next run sends them first") {
  if (!have_redis_server()) {
    WARN("redis-server is not installed (packaging/scripts/install-deps.sh): skipped");
    return;
  }
  const std::string dir = fresh_dir("redis_restart");
  RedisSinkSettings settings;
  settings.enabled = true;
  settings.port = free_port();  // nothing listens yet
  settings.key = "alerts";
  auto options = options_for("redis", dir);
  options.drain_timeout = std::chrono::milliseconds(300);
  {
    auto first_run = Sink::start(options, make_redis_transport(settings, "s1"));
    REQUIRE(first_run);
    for (int i = 0; i < 200; ++i) (*first_run)->push(record(i), 0, 2);
    (*first_run)->stop();
    CHECK((*first_run)->sent() == 0);
    CHECK((*first_run)->spooled() == 200);
    CHECK((*first_run)->spool_bytes() > 0);
  }
  RedisServer redis(dir, static_cast<uint16_t>(settings.port));
  REQUIRE(redis.start());
  options.drain_timeout = std::chrono::seconds(10);
  auto second_run = Sink::start(options, make_redis_transport(settings, "s1"));
  REQUIRE(second_run);
  CHECK((*second_run)->spool_bytes() > 0);
  for (int i = 200; i < 400; ++i) (*second_run)->push(record(i), 0, 2);
  (*second_run)->stop();
  CHECK((*second_run)->sent() == 400);
  check_exactly_once_in_order(redis_list(redis.port(), "alerts"), 400);
}

TEST_CASE("redis: channel and stream modes publish and append the records") {
  if (!have_redis_server()) {
    WARN("redis-server is not installed (packaging/scripts/install-deps.sh): skipped");
    return;
  }
  const std::string dir = fresh_dir("redis_modes");
  RedisServer redis(dir, free_port());
  REQUIRE(redis.start());
  RedisSinkSettings settings;
  settings.port = redis.port();
  settings.key = "eve";
  settings.mode = RedisMode::Stream;
  auto sink = Sink::start(options_for("redis", dir), make_redis_transport(settings, "s1"));
  REQUIRE(sink);
  for (int i = 0; i < 50; ++i) (*sink)->push(record(i), 0, 1);
  (*sink)->stop();
  redisContext* context = redisConnect("127.0.0.1", redis.port());
  REQUIRE(context != nullptr);
  auto* reply = static_cast<redisReply*>(redisCommand(context, "XRANGE eve - +"));
  REQUIRE(reply != nullptr);
  REQUIRE(reply->elements == 50);
  for (size_t i = 0; i < reply->elements; ++i) {
    const redisReply* fields = reply->element[i]->element[1];
    REQUIRE(fields->elements == 2);
    CHECK(std::string(fields->element[0]->str) == "eve");
    CHECK(sequence_of(fields->element[1]->str) == static_cast<long>(i));
  }
  freeReplyObject(reply);
  redisFree(context);

  // Channel mode: PUBLISH is confirmed by Redis even with no subscriber (the reply counts them).
  settings.mode = RedisMode::Channel;
  auto publisher = Sink::start(options_for("redis_channel", dir), make_redis_transport(settings, "s1"));
  REQUIRE(publisher);
  for (int i = 0; i < 10; ++i) (*publisher)->push(record(i), 0, 1);
  (*publisher)->stop();
  CHECK((*publisher)->sent() == 10);
}

TEST_CASE("syslog over tcp: a collector restarted in the middle of traffic gets every message once, in order") {
  const std::string dir = fresh_dir("syslog_tcp");
  const uint16_t port = free_port();
  Listener listener(Listener::Kind::SyslogTcp, std::to_string(port));
  REQUIRE(listener.start());
  SyslogSinkSettings settings;
  settings.enabled = true;
  settings.port = port;
  auto transport = make_syslog_transport(settings, "sensor-7");
  REQUIRE(transport);
  auto sink = Sink::start(options_for("syslog", dir), std::move(*transport));
  REQUIRE(sink);
  constexpr int kRecords = 3000;
  std::thread pusher = push_records(**sink, 0, kRecords);
  REQUIRE(wait_for([&] { return listener.count() >= 500; }));
  listener.stop();
  std::vector<std::string> messages = listener.messages();
  REQUIRE(wait_for([&] { return (*sink)->spooled() > 0; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  REQUIRE(listener.start());
  pusher.join();
  (*sink)->stop();
  listener.stop();
  CHECK(listener.connections() >= 2);
  CHECK((*sink)->reconnects() >= 1);
  CHECK((*sink)->dropped() == 0);
  const std::vector<std::string> all = listener.messages();
  std::vector<long> sequences;
  for (const auto& message : all) sequences.push_back(sequence_of(message));
  check_exactly_once_in_order(sequences, kRecords);
  // RFC 5424: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG; local5 (21) * 8 + crit (2).
  REQUIRE(!all.empty());
  CHECK(all[0].rfind("<170>1 ", 0) == 0);
  CHECK(all[0].find(" sensor-7 eastwatch ") != std::string::npos);
  CHECK(all[0].find(" - - {\"event_type\":\"alert\",\"seq\":0,") != std::string::npos);
}

TEST_CASE("syslog over udp: every message is one datagram, with the configured facility and severity") {
  const std::string dir = fresh_dir("syslog_udp");
  const uint16_t port = free_port(SOCK_DGRAM);
  Listener listener(Listener::Kind::SyslogUdp, std::to_string(port));
  REQUIRE(listener.start());
  SyslogSinkSettings settings;
  settings.transport = SyslogTransport::Udp;
  settings.port = port;
  settings.facility = 16;  // local0
  settings.severity = 6;   // info
  settings.app_name = "ew";
  auto transport = make_syslog_transport(settings, "s1");
  REQUIRE(transport);
  auto sink = Sink::start(options_for("syslog", dir), std::move(*transport));
  REQUIRE(sink);
  for (int i = 0; i < 200; ++i) {
    (*sink)->push(record(i), 0, 1);
    if (i % 20 == 19) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  (*sink)->stop();
  REQUIRE(wait_for([&] { return listener.count() >= 200; }, std::chrono::seconds(5)));
  listener.stop();
  const auto all = listener.messages();
  std::vector<long> sequences;
  for (const auto& message : all) sequences.push_back(sequence_of(message));
  check_exactly_once_in_order(sequences, 200);
  CHECK(all[0].rfind("<134>1 ", 0) == 0);  // 16 * 8 + 6
  CHECK(all[0].find(" s1 ew ") != std::string::npos);
}

TEST_CASE("syslog message: severity follows the alert's priority unless fixed") {
  SyslogSinkSettings settings;
  auto pri = [&](uint8_t priority) {
    const std::string message = format_syslog_message(settings, "h", SinkRecordView{priority, 0, "{}"}, false);
    return message.substr(0, message.find('>') + 1);
  };
  CHECK(pri(1) == "<170>");  // crit
  CHECK(pri(2) == "<171>");  // err
  CHECK(pri(3) == "<172>");  // warning
  CHECK(pri(4) == "<173>");  // notice
  CHECK(pri(0) == "<174>");  // not an alert: info
  const std::string framed = format_syslog_message(settings, "h", SinkRecordView{1, 0, "{}"}, true);
  const size_t space = framed.find(' ');
  CHECK(std::stoul(framed.substr(0, space)) == framed.size() - space - 1);  // RFC 6587 octet count
}

TEST_CASE("unix socket: a listener restarted in the middle of traffic gets every line once, in order") {
  const std::string dir = fresh_dir("unix");
  const std::string path = dir + "/eve.sock";
  Listener listener(Listener::Kind::UnixLines, path);
  REQUIRE(listener.start());
  UnixSinkSettings settings;
  settings.enabled = true;
  settings.path = path;
  auto sink = Sink::start(options_for("unix", dir), make_unix_transport(settings));
  REQUIRE(sink);
  constexpr int kRecords = 3000;
  std::thread pusher = push_records(**sink, 0, kRecords);
  REQUIRE(wait_for([&] { return listener.count() >= 500; }));
  listener.stop();
  REQUIRE(wait_for([&] { return (*sink)->spooled() > 0; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  REQUIRE(listener.start());
  pusher.join();
  (*sink)->stop();
  listener.stop();
  CHECK((*sink)->reconnects() >= 1);
  std::vector<long> sequences;
  for (const auto& line : listener.messages()) {
    CHECK(line.front() == '{');
    sequences.push_back(sequence_of(line));
  }
  check_exactly_once_in_order(sequences, kRecords);
}

TEST_CASE("a burst far larger than the memory queue: what cannot be spooled in time is counted, the rest arrives in order") {
  const std::string dir = fresh_dir("slow");
  const std::string path = dir + "/eve.sock";
  UnixSinkSettings settings;
  settings.path = path;
  auto options = options_for("unix", dir);
  options.queue_size = 64;  // high water at 48 records
  options.batch_size = 8;
  auto sink = Sink::start(options, make_unix_transport(settings));
  REQUIRE(sink);
  // No collector at first: everything spools; a burst far larger than the queue is never dropped.
  for (int i = 0; i < 2000; ++i) (*sink)->push(record(i), 0, 1);
  Listener listener(Listener::Kind::UnixLines, path);
  REQUIRE(listener.start());
  for (int i = 2000; i < 2500; ++i) (*sink)->push(record(i), 0, 1);
  (*sink)->stop();
  listener.stop();
  CHECK((*sink)->spooled() > 0);
  std::vector<long> sequences;
  for (const auto& line : listener.messages()) sequences.push_back(sequence_of(line));
  // The ring holds 64: what the sink thread could not move in time is counted, never silent.
  CHECK(sequences.size() + (*sink)->dropped() == 2500);
  for (size_t i = 1; i < sequences.size(); ++i) REQUIRE(sequences[i] > sequences[i - 1]);
}

TEST_CASE("a slow collector: past the high-water mark records go to the spool, and all arrive in order") {
  const std::string dir = fresh_dir("slow_reader");
  const std::string path = dir + "/eve.sock";
  Listener listener(Listener::Kind::UnixLines, path);
  listener.set_slow(std::chrono::milliseconds(2), 1500);  // about 15 records per 2 ms at first
  REQUIRE(listener.start());
  UnixSinkSettings settings;
  settings.path = path;
  auto options = options_for("unix", dir);
  options.queue_size = 1024;  // high water at 768 records
  options.batch_size = 32;
  auto sink = Sink::start(options, make_unix_transport(settings));
  REQUIRE(sink);
  constexpr int kRecords = 6000;
  for (int i = 0; i < kRecords; ++i) {
    (*sink)->push(record(i) + std::string(200, ' '), 0, 1);
    if (i % 20 == 19) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // ~10,000 records/s
  }
  (*sink)->stop();
  listener.stop();
  CHECK((*sink)->spooled() > 0);  // the collector was slower than the traffic
  CHECK((*sink)->reconnects() == 0);  // slow is not down: the connection stayed up
  std::vector<long> sequences;
  for (const auto& line : listener.messages()) sequences.push_back(sequence_of(line));
  CHECK(sequences.size() + (*sink)->dropped() == kRecords);
  for (size_t i = 1; i < sequences.size(); ++i) REQUIRE(sequences[i] > sequences[i - 1]);
  CHECK((*sink)->dropped() == 0);
}

TEST_CASE("the spool bound drops the oldest records and counts them") {
  const std::string dir = fresh_dir("bound");
  UnixSinkSettings settings;
  settings.path = dir + "/nobody.sock";
  auto options = options_for("unix", dir);
  options.spool.max_bytes = 64 << 10;
  options.spool.segment_bytes = 4 << 10;
  options.drain_timeout = std::chrono::milliseconds(100);
  auto sink = Sink::start(options, make_unix_transport(settings));
  REQUIRE(sink);
  for (int i = 0; i < 5000; ++i) {
    (*sink)->push(record(i), 0, 1);
    if (i % 500 == 499) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  (*sink)->stop();
  CHECK((*sink)->spool_bytes() <= (64u << 10));
  CHECK((*sink)->dropped() > 0);
  CHECK((*sink)->spooled() + (*sink)->dropped() >= 5000);  // every record spooled or counted
}

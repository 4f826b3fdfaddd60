// The sinks' and the spool's config keys: defaults equal config/eastwatch.yaml, values parse,
// bad values are reported as FILE:LINE: key: what is wrong.
#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "config/config_loader.hpp"

using namespace eastwatch;

namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = std::string(EASTWATCH_BINARY_DIR) + "/sink_config_test_" + name + ".yaml";
  std::ofstream(path) << text;
  return path;
}

}  // namespace

TEST_CASE("sink and spool defaults in eastwatch.yaml equal the built-in ones") {
  auto settings = load_settings(std::nullopt, {});
  REQUIRE(settings);
  const SinkSettings defaults;
  const SinkSettings& sinks = settings->sinks;
  CHECK(sinks.spool.dir == defaults.spool.dir);
  CHECK(sinks.spool.max_bytes == defaults.spool.max_bytes);
  CHECK(sinks.spool.fsync == defaults.spool.fsync);
  CHECK(sinks.spool.queue_size == defaults.spool.queue_size);
  CHECK(sinks.spool.high_water == defaults.spool.high_water);
  CHECK(sinks.spool.drain_timeout_ms == defaults.spool.drain_timeout_ms);
  CHECK(sinks.redis.enabled == defaults.redis.enabled);
  CHECK(sinks.redis.host == defaults.redis.host);
  CHECK(sinks.redis.port == defaults.redis.port);
  CHECK(sinks.redis.key == defaults.redis.key);
  CHECK(sinks.redis.mode == defaults.redis.mode);
  CHECK(sinks.redis.batch_size == defaults.redis.batch_size);
  CHECK(sinks.syslog.enabled == defaults.syslog.enabled);
  CHECK(sinks.syslog.transport == defaults.syslog.transport);
  CHECK(sinks.syslog.host == defaults.syslog.host);
  CHECK(sinks.syslog.port == defaults.syslog.port);
  CHECK(sinks.syslog.facility == defaults.syslog.facility);
  CHECK(sinks.syslog.severity == defaults.syslog.severity);
  CHECK(sinks.syslog.app_name == defaults.syslog.app_name);
  CHECK(sinks.syslog.ca_file == defaults.syslog.ca_file);
  CHECK(sinks.unix_socket.enabled == defaults.unix_socket.enabled);
  CHECK(sinks.unix_socket.path == defaults.unix_socket.path);
  CHECK(sinks.kafka.enabled == defaults.kafka.enabled);
  CHECK(sinks.kafka.brokers == defaults.kafka.brokers);
  CHECK(sinks.kafka.topic == defaults.kafka.topic);
  CHECK(sinks.kafka.key == defaults.kafka.key);
  CHECK(sinks.kafka.properties.empty());
}

TEST_CASE("sink keys parse into the settings") {
  const auto path = write_temp("good", R"(outputs:
  redis: {enabled: yes, host: redis.soc, port: 6380, key: ids, mode: stream, batch-size: 32}
  syslog:
    enabled: yes
    transport: tls
    port: 6514
    facility: local0
    severity: warning
    app-name: ew
    ca-file: /etc/ssl/soc.pem
  unix: {enabled: yes, path: /tmp/x.sock}
  kafka:
    enabled: yes
    brokers: k1:9092,k2:9092
    topic: alerts
    key: host
    properties: {compression.codec: lz4, acks: "1"}
spool: {dir: /data/spool, max-bytes: 2gb, fsync: always, queue-size: 1024, high-water: 50, drain-timeout: 2500}
)");
  auto settings = load_settings(path, {});
  REQUIRE(settings);
  const SinkSettings& sinks = settings->sinks;
  CHECK(sinks.redis.enabled);
  CHECK(sinks.redis.host == "redis.soc");
  CHECK(sinks.redis.port == 6380);
  CHECK(sinks.redis.mode == RedisMode::Stream);
  CHECK(sinks.redis.batch_size == 32);
  CHECK(sinks.syslog.transport == SyslogTransport::Tls);
  CHECK(sinks.syslog.facility == 16);
  CHECK(sinks.syslog.severity == 4);
  CHECK(sinks.syslog.app_name == "ew");
  CHECK(sinks.syslog.ca_file == "/etc/ssl/soc.pem");
  CHECK(sinks.unix_socket.path == "/tmp/x.sock");
  CHECK(sinks.kafka.key == KafkaKey::Host);
  CHECK(sinks.kafka.properties ==
        std::vector<std::pair<std::string, std::string>>{{"compression.codec", "lz4"}, {"acks", "1"}});
  CHECK(sinks.spool.dir == "/data/spool");
  CHECK(sinks.spool.max_bytes == (2ull << 30));
  CHECK(sinks.spool.fsync == SpoolFsyncPolicy::Always);
  CHECK(sinks.spool.queue_size == 1024);
  CHECK(sinks.spool.high_water == 50);
  CHECK(sinks.spool.drain_timeout_ms == 2500);
}

TEST_CASE("bad sink keys name the file, line and key") {
  const auto path = write_temp("bad", R"(outputs:
  redis:
    mode: queue
    port: 70000
  syslog:
    transport: smoke
    app-name: "two words"
  kafka:
    key: random
    colour: blue
spool:
  fsync: sometimes
  high-water: 0
)");
  auto settings = load_settings(path, {});
  REQUIRE_FALSE(settings);
  std::vector<std::string> errors;
  for (const auto& error : settings.error()) errors.push_back(error.message);
  auto has = [&](const std::string& text) {
    return std::find(errors.begin(), errors.end(), path + text) != errors.end();
  };
  CHECK(errors.size() == 8);
  CHECK(has(":3: outputs.redis.mode: 'queue' is not valid (expected one of: list, channel, stream)"));
  CHECK(has(":4: outputs.redis.port: '70000' is not valid (expected an integer from 1 to 65535)"));
  CHECK(has(":6: outputs.syslog.transport: 'smoke' is not valid (expected one of: udp, tcp, tls)"));
  CHECK(has(":7: outputs.syslog.app-name: expected at most 48 printable characters without spaces (RFC 5424)"));
  CHECK(has(":9: outputs.kafka.key: 'random' is not valid (expected one of: flow_id, host)"));
  CHECK(has(":10: outputs.kafka.colour: unknown key (expected one of: enabled, brokers, topic, key, properties)"));
  CHECK(has(":12: spool.fsync: 'sometimes' is not valid (expected one of: none, batch, always)"));
  CHECK(has(":13: spool.high-water: '0' is not valid (expected an integer from 1 to 100)"));
}

// The Kafka sink against librdkafka's mock cluster (a real broker protocol in-process): the
// broker is taken down and brought back in the middle of traffic; a librdkafka consumer reads
// the topic back and every record must be there once, in order.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <catch2/catch.hpp>

#include "sensor/output/sink.hpp"
#include "sensor/output/sink_transports.hpp"
#include "tests/unit/output/sink_test_support.hpp"

using namespace eastwatch;
using namespace eastwatch::test;

namespace {

std::string record(int i) { return "{\"event_type\":\"alert\",\"seq\":" + std::to_string(i) + "}"; }

struct MockCluster {
  MockCluster() {
    char error[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", error, sizeof error);
    owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    cluster = rd_kafka_mock_cluster_new(owner, 1);
    rd_kafka_mock_topic_create(cluster, "alerts", 1, 1);
    bootstraps = rd_kafka_mock_cluster_bootstraps(cluster);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster);
    rd_kafka_destroy(owner);
  }
  rd_kafka_t* owner = nullptr;
  rd_kafka_mock_cluster_t* cluster = nullptr;
  std::string bootstraps;
};

// Every message of partition 0 of `topic`, as (key, value), read until `count` or a timeout.
std::vector<std::pair<std::string, std::string>> consume(const std::string& bootstraps, const std::string& topic,
                                                         size_t count) {
  char error[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps.c_str(), error, sizeof error);
  rd_kafka_conf_set(conf, "group.id", "test", error, sizeof error);
  rd_kafka_conf_set(conf, "log_level", "0", error, sizeof error);
  rd_kafka_t* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
  REQUIRE(consumer != nullptr);
  rd_kafka_topic_partition_list_t* partitions = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(partitions, topic.c_str(), 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  REQUIRE(rd_kafka_assign(consumer, partitions) == RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(partitions);
  std::vector<std::pair<std::string, std::string>> messages;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  // Past `count`, read a little longer so that a duplicate would show.
  auto quiet_until = std::chrono::steady_clock::time_point::max();
  while (std::chrono::steady_clock::now() < std::min(until, quiet_until)) {
    rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer, 100);
    if (message == nullptr) continue;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      messages.emplace_back(std::string(static_cast<const char*>(message->key), message->key_len),
                            std::string(static_cast<const char*>(message->payload), message->len));
      if (messages.size() == count) quiet_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    }
    rd_kafka_message_destroy(message);
  }
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  return messages;
}

SinkOptions kafka_options(const std::string& dir) {
  SinkOptions options;
  options.name = "kafka";
  options.spool = SpoolOptions{dir + "/spool/kafka", 4 << 20, 64 << 10, SpoolFsync::None};
  options.queue_size = 4096;
  options.batch_size = 64;
  options.drain_timeout = std::chrono::seconds(15);
  options.backoff_min = std::chrono::milliseconds(10);
  options.backoff_max = std::chrono::milliseconds(200);
  return options;
}

}  // namespace

TEST_CASE("kafka: a broker taken down and brought back in the middle of traffic loses and repeats nothing") {
  const std::string dir = fresh_dir("kafka_outage");
  MockCluster mock;
  KafkaSinkSettings settings;
  settings.enabled = true;
  settings.brokers = mock.bootstraps;
  settings.topic = "alerts";
  settings.properties = {{"log_level", "0"}, {"message.timeout.ms", "10000"}};
  auto transport = make_kafka_transport(settings, "sensor-1");
  REQUIRE(transport);
  auto sink = Sink::start(kafka_options(dir), std::move(*transport));
  REQUIRE(sink);
  constexpr int kRecords = 2000;
  std::thread pusher([&] {
    for (int i = 0; i < kRecords; ++i) {
      (*sink)->push(record(i), i % 3 == 0 ? 0 : 1000 + static_cast<uint64_t>(i), 1);
      if (i % 10 == 9) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  REQUIRE(wait_for([&] { return (*sink)->sent() >= 300; }));
  rd_kafka_mock_broker_set_down(mock.cluster, 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  rd_kafka_mock_broker_set_up(mock.cluster, 1);
  pusher.join();
  (*sink)->stop();
  CHECK((*sink)->sent() == kRecords);
  CHECK((*sink)->dropped() == 0);
  const auto messages = consume(mock.bootstraps, "alerts", kRecords);
  REQUIRE(messages.size() == static_cast<size_t>(kRecords));
  for (int i = 0; i < kRecords; ++i) {
    REQUIRE(sequence_of(messages[i].second) == i);
    // The message key: the flow id, or the sensor's name for a record without a flow.
    CHECK(messages[i].first == (i % 3 == 0 ? std::string("sensor-1") : std::to_string(1000 + i)));
  }
}

TEST_CASE("kafka: with the broker unreachable records spool, and a later sink delivers them first") {
  const std::string dir = fresh_dir("kafka_spool");
  MockCluster mock;
  KafkaSinkSettings settings;
  settings.brokers = mock.bootstraps;
  settings.topic = "alerts";
  settings.key = KafkaKey::Host;
  settings.properties = {{"log_level", "0"}};
  rd_kafka_mock_broker_set_down(mock.cluster, 1);
  auto options = kafka_options(dir);
  options.drain_timeout = std::chrono::milliseconds(500);
  {
    auto transport = make_kafka_transport(settings, "sensor-2");
    REQUIRE(transport);
    auto first_run = Sink::start(options, std::move(*transport));
    REQUIRE(first_run);
    for (int i = 0; i < 100; ++i) (*first_run)->push(record(i), 7, 1);
    (*first_run)->stop();
    CHECK((*first_run)->sent() == 0);
    CHECK((*first_run)->spooled() == 100);
  }
  rd_kafka_mock_broker_set_up(mock.cluster, 1);
  options.drain_timeout = std::chrono::seconds(15);
  auto transport = make_kafka_transport(settings, "sensor-2");
  REQUIRE(transport);
  auto second_run = Sink::start(options, std::move(*transport));
  REQUIRE(second_run);
  for (int i = 100; i < 200; ++i) (*second_run)->push(record(i), 7, 1);
  (*second_run)->stop();
  CHECK((*second_run)->sent() == 200);
  const auto messages = consume(mock.bootstraps, "alerts", 200);
  REQUIRE(messages.size() == 200);
  for (int i = 0; i < 200; ++i) {
    REQUIRE(sequence_of(messages[i].second) == i);
    CHECK(messages[i].first == "sensor-2");  // key: host
  }
}

TEST_CASE("kafka: a property librdkafka does not know is an error at start") {
  KafkaSinkSettings settings;
  settings.properties = {{"no.such.property", "1"}};
  auto transport = make_kafka_transport(settings, "s");
  REQUIRE_FALSE(transport);
  CHECK(transport.error().find("no.such.property") != std::string::npos);
}

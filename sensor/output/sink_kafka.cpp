// The Kafka transport (librdkafka): each batch is produced, then every delivery report is
// awaited; a record is confirmed when its report says delivered.
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdlib>

#include "sensor/output/sink_transports.hpp"

namespace eastwatch {

namespace {

enum : int8_t { kPending = 0, kDelivered = 1, kFailed = -1 };

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void*) {
  auto* status = static_cast<int8_t*>(message->_private);
  if (status != nullptr) *status = message->err == RD_KAFKA_RESP_ERR_NO_ERROR ? kDelivered : kFailed;
}

class KafkaTransport final : public SinkTransport {
 public:
  KafkaTransport(const KafkaSinkSettings& settings, std::string sensor_name, rd_kafka_conf_t* conf,
                 uint64_t message_timeout_ms)
      : settings_(settings), sensor_name_(std::move(sensor_name)), conf_(conf), message_timeout_ms_(message_timeout_ms) {}
  ~KafkaTransport() override {
    destroy();
    if (conf_ != nullptr) rd_kafka_conf_destroy(conf_);
  }

  bool connect(std::string& error) override {
    if (producer_ == nullptr) {
      char text[512];
      rd_kafka_conf_t* conf = rd_kafka_conf_dup(conf_);
      producer_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, text, sizeof text);
      if (producer_ == nullptr) {
        rd_kafka_conf_destroy(conf);
        error = text;
        return false;
      }
      topic_ = rd_kafka_topic_new(producer_, settings_.topic.c_str(), nullptr);
    }
    // Reachable when the topic's metadata comes back; until then records stay spooled.
    const rd_kafka_metadata_t* metadata = nullptr;
    const rd_kafka_resp_err_t status = rd_kafka_metadata(producer_, 0, topic_, &metadata, 2000);
    if (status != RD_KAFKA_RESP_ERR_NO_ERROR) {
      error = rd_kafka_err2str(status);
      return false;
    }
    const bool up = metadata->topic_cnt == 1 && metadata->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                    metadata->broker_cnt > 0;
    if (!up) error = metadata->topic_cnt == 1 ? rd_kafka_err2str(metadata->topics[0].err) : "no metadata";
    rd_kafka_metadata_destroy(metadata);
    return up;
  }

  size_t send(std::span<const std::string> records, std::string& error) override {
    if (producer_ == nullptr) return 0;
    status_.assign(records.size(), kPending);
    size_t produced = 0;
    const auto limit = std::chrono::steady_clock::now() + std::chrono::milliseconds(message_timeout_ms_ + 2000);
    for (; produced < records.size(); ++produced) {
      const SinkRecordView record = decode_sink_record(records[produced]);
      key_ = settings_.key == KafkaKey::Host || record.flow_id == 0 ? sensor_name_ : std::to_string(record.flow_id);
      rd_kafka_resp_err_t status = RD_KAFKA_RESP_ERR_NO_ERROR;
      while (true) {
        status = rd_kafka_producev(producer_, RD_KAFKA_V_RKT(topic_), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                   RD_KAFKA_V_VALUE(const_cast<char*>(record.line.data()), record.line.size()),
                                   RD_KAFKA_V_KEY(key_.data(), key_.size()), RD_KAFKA_V_OPAQUE(&status_[produced]),
                                   RD_KAFKA_V_END);
        if (status != RD_KAFKA_RESP_ERR__QUEUE_FULL || std::chrono::steady_clock::now() > limit) break;
        rd_kafka_poll(producer_, 50);
      }
      if (status != RD_KAFKA_RESP_ERR_NO_ERROR) {
        error = rd_kafka_err2str(status);
        break;
      }
    }
    // Every produced record gets its report within message.timeout.ms.
    auto pending = [&] {
      for (size_t i = 0; i < produced; ++i) {
        if (status_[i] == kPending) return true;
      }
      return false;
    };
    while (pending() && std::chrono::steady_clock::now() < limit) {
      rd_kafka_poll(producer_, 50);
      waiting();
    }
    size_t confirmed = 0;
    while (confirmed < produced && status_[confirmed] == kDelivered) ++confirmed;
    if (confirmed < records.size() && error.empty()) error = "Kafka delivery failed";
    if (pending()) {
      // Should not happen (librdkafka reports every message): drop the handle so no late
      // report writes into status_.
      destroy();
    }
    return confirmed;
  }

  void close() override {
    char reason[256];
    if (producer_ != nullptr && rd_kafka_fatal_error(producer_, reason, sizeof reason) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      destroy();  // an idempotent producer that hit a fatal error is made again
    }
  }

 private:
  void destroy() {
    if (producer_ == nullptr) return;
    rd_kafka_purge(producer_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(producer_, 1000);
    if (topic_ != nullptr) rd_kafka_topic_destroy(topic_);
    rd_kafka_destroy(producer_);
    topic_ = nullptr;
    producer_ = nullptr;
  }

  KafkaSinkSettings settings_;
  std::string sensor_name_;
  rd_kafka_conf_t* conf_ = nullptr;  // kept to make the producer again after a fatal error
  uint64_t message_timeout_ms_;
  rd_kafka_t* producer_ = nullptr;
  rd_kafka_topic_t* topic_ = nullptr;
  std::vector<int8_t> status_;
  std::string key_;
};

}  // namespace

tl::expected<std::unique_ptr<SinkTransport>, std::string> make_kafka_transport(const KafkaSinkSettings& settings,
                                                                               const std::string& sensor_name) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char text[512];
  auto set = [&](const std::string& name, const std::string& value) -> bool {
    return rd_kafka_conf_set(conf, name.c_str(), value.c_str(), text, sizeof text) == RD_KAFKA_CONF_OK;
  };
  // Eastwatch's defaults first, so that `properties` can override each of them.
  const std::pair<const char*, std::string> defaults[] = {
      {"bootstrap.servers", settings.brokers}, {"acks", "all"},       {"enable.idempotence", "true"},
      {"message.timeout.ms", "5000"},          {"linger.ms", "5"},    {"client.id", "eastwatch"},
  };
  for (const auto& [name, value] : defaults) set(name, value);
  for (const auto& [name, value] : settings.properties) {
    if (!set(name, value)) {
      rd_kafka_conf_destroy(conf);
      return tl::unexpected("kafka: property " + name + ": " + text);
    }
  }
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  size_t size = sizeof text;
  uint64_t timeout_ms = 5000;
  if (rd_kafka_conf_get(conf, "message.timeout.ms", text, &size) == RD_KAFKA_CONF_OK) {
    timeout_ms = std::strtoull(text, nullptr, 10);
  }
  return std::make_unique<KafkaTransport>(settings, sensor_name, conf, timeout_ms);
}

}  // namespace eastwatch

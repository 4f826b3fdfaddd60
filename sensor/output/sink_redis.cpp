// The Redis transport (hiredis): pipelined RPUSH / PUBLISH / XADD in one transaction per batch.
#include <hiredis/hiredis.h>
#include <zlib.h>

#include <random>

#include "sensor/output/sink_transports.hpp"

namespace eastwatch {

namespace {

// Each batch is one MULTI/EXEC transaction that also sets a marker key to the batch's id, so
// a batch whose EXEC reply was lost (the connection or the server went away) is not sent
// twice: after reconnecting, the marker says whether the transaction ran.
class RedisTransport final : public SinkTransport {
 public:
  RedisTransport(const RedisSinkSettings& settings, const std::string& sensor_name)
      : settings_(settings),
        marker_("eastwatch:delivered:" + settings.key + ":" + sensor_name),
        next_id_(std::random_device{}() | static_cast<uint64_t>(std::random_device{}()) << 32) {}
  ~RedisTransport() override { close(); }

  bool connect(std::string& error) override {
    close();
    const timeval timeout{2, 0};
    context_ = redisConnectWithTimeout(settings_.host.c_str(), static_cast<int>(settings_.port), timeout);
    if (context_ == nullptr || context_->err != 0) {
      error = context_ != nullptr ? context_->errstr : "cannot allocate a Redis context";
      close();
      return false;
    }
    const timeval command_timeout{5, 0};
    redisSetTimeout(context_, command_timeout);
    redisEnableKeepAlive(context_);
    if (in_doubt_.count > 0) {
      auto* reply = static_cast<redisReply*>(redisCommand(context_, "GET %b", marker_.data(), marker_.size()));
      if (reply == nullptr) {
        error = context_->errstr;
        close();
        return false;
      }
      in_doubt_.ran = reply->type == REDIS_REPLY_STRING && std::string_view(reply->str, reply->len) == in_doubt_.id;
      in_doubt_.checked = true;
      freeReplyObject(reply);
    }
    return true;
  }

  size_t send(std::span<const std::string> records, std::string& error) override {
    if (context_ == nullptr) return 0;
    size_t done = 0;
    if (in_doubt_.count > 0 && in_doubt_.checked) {
      // The batch in doubt comes first again (the sink resends in order): skip it if it ran.
      if (in_doubt_.ran && records.size() >= in_doubt_.count && digest(records.first(in_doubt_.count)) == in_doubt_.digest) {
        done = in_doubt_.count;
      }
      in_doubt_ = {};
    }
    if (done == records.size()) return done;
    const auto batch = records.subspan(done);
    const std::string id = std::to_string(next_id_++);
    const std::string& key = settings_.key;
    redisAppendCommand(context_, "MULTI");
    for (const auto& record : batch) {
      const std::string_view line = decode_sink_record(record).line;
      switch (settings_.mode) {
        case RedisMode::List:
          redisAppendCommand(context_, "RPUSH %b %b", key.data(), key.size(), line.data(), line.size());
          break;
        case RedisMode::Channel:
          redisAppendCommand(context_, "PUBLISH %b %b", key.data(), key.size(), line.data(), line.size());
          break;
        case RedisMode::Stream:
          redisAppendCommand(context_, "XADD %b * eve %b", key.data(), key.size(), line.data(), line.size());
          break;
      }
    }
    redisAppendCommand(context_, "SET %b %b", marker_.data(), marker_.size(), id.data(), id.size());
    redisAppendCommand(context_, "EXEC");
    // From here until EXEC's reply is read, the transaction may or may not have run.
    in_doubt_ = {batch.size(), digest(batch), id, false, false};
    const size_t replies = batch.size() + 3;
    bool ok = true;
    for (size_t i = 0; i < replies; ++i) {
      void* raw = nullptr;
      if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
        error = context_->errstr;
        return done;  // in doubt: settled by the marker after reconnecting
      }
      auto* reply = static_cast<redisReply*>(raw);
      if (reply->type == REDIS_REPLY_ERROR) {
        ok = false;
        error.assign(reply->str, reply->len);
      }
      if (i + 1 == replies) {
        if (reply->type != REDIS_REPLY_ARRAY) ok = false;  // nil: the transaction was discarded
        for (size_t j = 0; ok && j < reply->elements; ++j) {
          if (reply->element[j]->type == REDIS_REPLY_ERROR) {
            ok = false;
            error.assign(reply->element[j]->str, reply->element[j]->len);
          }
        }
      }
      freeReplyObject(reply);
    }
    // EXEC answered: the transaction ran as a whole or not at all; nothing is in doubt.
    in_doubt_ = {};
    return ok ? records.size() : done;
  }

  void close() override {
    if (context_ != nullptr) redisFree(context_);
    context_ = nullptr;
  }

 private:
  struct InDoubt {
    size_t count = 0;
    uint32_t digest = 0;
    std::string id;
    bool checked = false;  // the marker was read after reconnecting
    bool ran = false;
  };

  static uint32_t digest(std::span<const std::string> records) {
    uLong crc = crc32(0L, Z_NULL, 0);
    for (const auto& record : records) {
      crc = crc32(crc, reinterpret_cast<const Bytef*>(record.data()), static_cast<uInt>(record.size()));
    }
    return static_cast<uint32_t>(crc);
  }

  RedisSinkSettings settings_;
  std::string marker_;
  uint64_t next_id_;
  redisContext* context_ = nullptr;
  InDoubt in_doubt_;
};

}  // namespace

std::unique_ptr<SinkTransport> make_redis_transport(const RedisSinkSettings& settings, const std::string& sensor_name) {
  return std::make_unique<RedisTransport>(settings, sensor_name);
}

}  // namespace eastwatch

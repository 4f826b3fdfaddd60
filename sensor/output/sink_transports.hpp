// The transports behind the sinks, and what each counts as "confirmed" (sensor/output/README.md):
//  - redis: the EXEC reply of the batch's MULTI/EXEC transaction (RPUSH / PUBLISH / XADD per
//    record plus a SET of the marker key `eastwatch:delivered:<key>:<sensor>` to the batch id).
//    When the connection is lost before that reply, the marker read after reconnecting tells
//    whether the batch ran, so it is neither lost nor sent twice.
//  - unix, syslog tcp and tls: the bytes were written to the connection and the peer had not
//    closed it (checked before every batch). What sits in the kernel buffers when a collector
//    crashes is lost; a collector that closes the connection cleanly loses nothing.
//  - syslog udp: fire-and-forget; a datagram counts as confirmed once sent.
//  - kafka: the delivery report (acks=all, idempotent producer by default).
#pragma once

#include <memory>
#include <string>

#include <tl/expected.hpp>

#include "config/settings.hpp"
#include "sensor/output/sink.hpp"

namespace eastwatch {

std::unique_ptr<SinkTransport> make_redis_transport(const RedisSinkSettings& settings, const std::string& sensor_name);
// RFC 5424 messages (HOSTNAME = sensor_name, MSG = the EVE line); tcp and tls frame them with
// octet counting (RFC 6587). Fails when the TLS files cannot be loaded.
tl::expected<std::unique_ptr<SinkTransport>, std::string> make_syslog_transport(const SyslogSinkSettings& settings,
                                                                                const std::string& sensor_name);
// Newline-delimited EVE lines on a Unix stream socket (Suricata's unix_stream).
std::unique_ptr<SinkTransport> make_unix_transport(const UnixSinkSettings& settings);
// Fails when librdkafka rejects a property.
tl::expected<std::unique_ptr<SinkTransport>, std::string> make_kafka_transport(const KafkaSinkSettings& settings,
                                                                               const std::string& sensor_name);

// The syslog frame of one record, as sent over tcp/tls (with the octet count) or udp (without).
std::string format_syslog_message(const SyslogSinkSettings& settings, const std::string& sensor_name,
                                  const SinkRecordView& record, bool octet_counting);

}  // namespace eastwatch

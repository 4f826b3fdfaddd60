// Internal: the keywords that choose what a section inspects (Suricata 7 sticky buffers, Snort 2 /
// Suricata content modifiers, pcre's buffer flags, Snort 3's dotless buffers), the transforms
// after a sticky buffer, and the app-layer keywords that compare a value (dns.opcode,
// tls.version, urilen).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "signatures/rule.hpp"

namespace eastwatch::detail {

// A Suricata sticky buffer (`http.uri`, `file_data`, `dns_query`, ..., `pkt_data` for Payload).
std::optional<BufferKind> sticky_buffer_kind(std::string_view name);
// A content modifier that moves the preceding content (`http_uri`, `http_client_body`, ...).
std::optional<BufferKind> content_modifier_kind(std::string_view name);
// A Snort 3 buffer selector, sticky as Suricata's (`http_uri;`, `http_client_body;`, `file_data;`).
std::optional<BufferKind> snort3_buffer_kind(std::string_view name);
// Snort 3 `http_header:field NAME`: the header's own buffer, or an unsupported-keyword error.
tl::expected<BufferKind, std::string> snort3_header_field(std::string_view value);
// pcre's buffer flags as Suricata's detect-pcre.c maps them (U I P Q H D M C S Y V W Z).
std::optional<BufferKind> pcre_flag_kind(char flag);

// Suricata 7's name of a buffer (`http.uri`, `file.data`, `pkt_data`), for messages.
std::string_view buffer_kind_name(BufferKind kind);
// The protocol a buffer exists in; Unknown for Payload and FileData (file.data is HTTP, SMTP,
// FTP and SMB files: Suricata leaves the rule's protocol open).
AppProto buffer_app_proto(BufferKind kind);
// Suricata's multi-instance buffers: naming one again starts a new instance (each matched on
// its own) instead of continuing the first.
bool buffer_is_multi_instance(BufferKind kind);

// A transform keyword (`to_lowercase`, `xor:"0d0ac8ff"`, ...); nullopt when `name` is none.
std::optional<tl::expected<Transform, std::string>> parse_transform(std::string_view name, std::string_view value,
                                                                    bool has_value);

// `dns.opcode:[!]N` (0-15... any u8 as Suricata; a number or its negation).
tl::expected<NumericTest, std::string> parse_dns_opcode(std::string_view value);
// `tls.version:1.0|1.1|1.2|1.3|0xNNNN` (optionally quoted) as the wire value (0x0303).
tl::expected<uint16_t, std::string> parse_tls_version(std::string_view value);
// `urilen:N|<N|>N|<=N|>=N|N<>M[,norm|raw]`.
struct UriLen {
  NumericTest length;
  bool raw = false;
};
tl::expected<UriLen, std::string> parse_urilen(std::string_view value);

// Snort 3 `bufferlen:[<|>|=|!|<=|>=]N`, `N<>M` (exclusive) or `N<=>M` (inclusive), as a bsize test.
tl::expected<NumericTest, std::string> parse_bufferlen(std::string_view value);

// Suricata's load-time checks of a section's contents: against each transform of the section
// (TransformValidate) and, for http.host, lower case unless nocase (the buffer is lower-cased).
tl::expected<void, std::string> check_buffer_section(const BufferSection& section);

// Suricata's check for pcre /W (the host buffer is lower case): an upper-case letter outside
// an escape sequence.
bool regex_has_upper_case(std::string_view regex);

}  // namespace eastwatch::detail

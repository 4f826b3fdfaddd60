// The control socket's protocol (as Suricata's unix-command): one JSON object per line each way.
//   request: {"command": "reload"}            (optional "arguments": {...}; other keys ignored)
//   reply:   {"return": "OK", "message": ...}  or  {"return": "NOK", "message": "why"}
//
// Contract: `parse_control_object` reads untrusted bytes: bounded (kMaxRequestBytes, nesting
// depth kMaxDepth), never throws, never reads past the view; anything but one well-formed JSON
// object (whitespace around it allowed) is an error saying what and where. Top-level members
// come back with their value's raw JSON text; strings also decoded (\uXXXX to UTF-8).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace eastwatch {

inline constexpr size_t kMaxRequestBytes = 4096;  // one request line, without its newline
inline constexpr int kMaxDepth = 16;

struct JsonMember {
  std::string key;
  std::string raw;        // the value's JSON text
  bool is_string = false;
  std::string text;       // the decoded string, when is_string
};

tl::expected<std::vector<JsonMember>, std::string> parse_control_object(std::string_view line,
                                                                     size_t max_bytes = kMaxRequestBytes);

struct ControlRequest {
  std::string command;
  std::string arguments = "{}";  // raw JSON object
};

// A request line (without its newline): the command must be a string naming one of
// `known_commands()`; errors are the NOK message.
tl::expected<ControlRequest, std::string> parse_control_request(std::string_view line);

// The commands the sensor answers.
const std::vector<std::string>& known_commands();

// A JSON string literal of `text` (quotes, backslashes and control characters escaped; bytes
// that are not valid UTF-8 become \u00XX of the byte, so the line stays valid JSON).
std::string json_string(std::string_view text);

// `{"return":"OK"|"NOK","message":MESSAGE}` where `message_json` is already JSON.
std::string control_reply(bool ok, std::string_view message_json);
inline std::string control_reply_text(bool ok, std::string_view text) { return control_reply(ok, json_string(text)); }

}  // namespace eastwatch

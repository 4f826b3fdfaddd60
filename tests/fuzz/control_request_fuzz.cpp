// libFuzzer target: the control socket's request parser (untrusted bytes from any local client
// allowed on the socket). Checks the contract: never crashes or reads out of bounds; a request
// that parses names a known command; an accepted object's raw member texts parse again as
// values of a one-member object; json_string's output of any bytes parses back to a string
// (invalid UTF-8 escaped), so every reply line is valid JSON.
#include <cstdint>
#include <string>
#include <string_view>

#include "sensor/main/control_protocol.hpp"

using namespace eastwatch;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  if (auto request = parse_control_request(line)) {
    bool known = false;
    for (const auto& command : known_commands()) known = known || command == request->command;
    if (!known) __builtin_trap();
    if (request->arguments.empty() || request->arguments.front() != '{') __builtin_trap();
  }
  if (auto members = parse_control_object(line)) {
    for (const auto& member : *members) {
      if (!parse_control_object("{\"k\":" + member.raw + "}", SIZE_MAX)) __builtin_trap();
    }
  }
  const std::string reply = control_reply_text(false, line);
  auto parsed = parse_control_object(reply, SIZE_MAX);
  if (!parsed || parsed->size() != 2 || !(*parsed)[1].is_string) __builtin_trap();
  return 0;
}

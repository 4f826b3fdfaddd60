#include "sensor/main/control_protocol.hpp"

#include <cstdint>
#include <cstdio>

namespace eastwatch {

namespace {

// A bounded recursive-descent JSON reader over one line.
class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : text_(text) {}

  bool at_end() {
    skip_space();
    return pos_ == text_.size();
  }
  size_t pos() const noexcept { return pos_; }
  const std::string& error() const noexcept { return error_; }

  bool object(std::vector<JsonMember>* members, int depth) {
    if (depth > kMaxDepth) return fail("nested deeper than " + std::to_string(kMaxDepth));
    skip_space();
    if (!take('{')) return fail("expected '{'");
    skip_space();
    if (take('}')) return true;
    for (;;) {
      skip_space();
      std::string key;
      if (!string(&key)) return false;
      skip_space();
      if (!take(':')) return fail("expected ':'");
      skip_space();
      const size_t start = pos_;
      JsonMember member;
      member.key = std::move(key);
      if (peek() == '"') {
        member.is_string = true;
        if (!string(&member.text)) return false;
      } else if (!value(depth + 1)) {
        return false;
      }
      member.raw.assign(text_.substr(start, pos_ - start));
      if (members != nullptr) members->push_back(std::move(member));
      skip_space();
      if (take('}')) return true;
      if (!take(',')) return fail("expected ',' or '}'");
    }
  }

 private:
  bool value(int depth) {
    if (depth > kMaxDepth) return fail("nested deeper than " + std::to_string(kMaxDepth));
    skip_space();
    const char c = peek();
    if (c == '{') return object(nullptr, depth);
    if (c == '[') return array(depth);
    if (c == '"') return string(nullptr);
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    if (literal("true") || literal("false") || literal("null")) return true;
    return fail("expected a JSON value");
  }

  bool array(int depth) {
    take('[');
    skip_space();
    if (take(']')) return true;
    for (;;) {
      if (!value(depth + 1)) return false;
      skip_space();
      if (take(']')) return true;
      if (!take(',')) return fail("expected ',' or ']'");
    }
  }

  bool number() {
    take('-');
    if (!digits()) return fail("expected a digit");
    if (take('.') && !digits()) return fail("expected a digit after '.'");
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (!digits()) return fail("expected an exponent");
    }
    return true;
  }

  bool digits() {
    const size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }

  static int hex(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bool hex4(uint32_t& out) {
    if (text_.size() - pos_ < 4) return fail("truncated \\u escape");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const int digit = hex(text_[pos_++]);
      if (digit < 0) return fail("bad \\u escape");
      out = out * 16 + static_cast<uint32_t>(digit);
    }
    return true;
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  bool string(std::string* out) {
    if (!take('"')) return fail("expected a string");
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in a string");
      if (c != '\\') {
        if (out != nullptr) *out += c;
        continue;
      }
      if (pos_ == text_.size()) break;
      const char e = text_[pos_++];
      char plain = 0;
      switch (e) {
        case '"': plain = '"'; break;
        case '\\': plain = '\\'; break;
        case '/': plain = '/'; break;
        case 'b': plain = '\b'; break;
        case 'f': plain = '\f'; break;
        case 'n': plain = '\n'; break;
        case 'r': plain = '\r'; break;
        case 't': plain = '\t'; break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(cp)) return false;
          if (cp >= 0xd800 && cp < 0xdc00) {  // a surrogate pair
            uint32_t low = 0;
            if (!take('\\') || !take('u') || !hex4(low) || low < 0xdc00 || low > 0xdfff) {
              return fail("unpaired surrogate in \\u escape");
            }
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          } else if (cp >= 0xdc00 && cp < 0xe000) {
            return fail("unpaired surrogate in \\u escape");
          }
          if (out != nullptr) append_utf8(*out, cp);
          continue;
        }
        default: return fail("bad escape in a string");
      }
      if (out != nullptr) *out += plain;
    }
    return fail("unterminated string");
  }

  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\r' || text_[pos_] == '\n')) {
      ++pos_;
    }
  }
  char peek() const noexcept { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool take(char c) {
    if (peek() != c || pos_ >= text_.size()) return false;
    ++pos_;
    return true;
  }
  bool fail(std::string what) {
    if (error_.empty()) error_ = what + " at byte " + std::to_string(pos_ + 1);
    return false;
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace

tl::expected<std::vector<JsonMember>, std::string> parse_control_object(std::string_view line, size_t max_bytes) {
  if (line.size() > max_bytes) {
    return tl::unexpected("request longer than " + std::to_string(max_bytes) + " bytes");
  }
  JsonReader reader(line);
  std::vector<JsonMember> members;
  if (!reader.object(&members, 0)) return tl::unexpected("invalid JSON: " + reader.error());
  if (!reader.at_end()) return tl::unexpected("invalid JSON: trailing bytes at byte " + std::to_string(reader.pos() + 1));
  return members;
}

const std::vector<std::string>& known_commands() {
  static const std::vector<std::string> commands = {"reload", "stats", "rule-stats", "iface-stat", "version",
                                                    "shutdown", "command-list"};
  return commands;
}

tl::expected<ControlRequest, std::string> parse_control_request(std::string_view line) {
  auto members = parse_control_object(line);
  if (!members) return tl::unexpected(members.error());
  ControlRequest request;
  bool has_command = false;
  for (const auto& member : *members) {
    if (member.key == "command") {
      if (!member.is_string) return tl::unexpected(std::string("\"command\" must be a string"));
      request.command = member.text;
      has_command = true;
    } else if (member.key == "arguments") {
      if (member.raw.empty() || member.raw.front() != '{') {
        return tl::unexpected(std::string("\"arguments\" must be an object"));
      }
      request.arguments = member.raw;
    }
  }
  if (!has_command) return tl::unexpected(std::string("no \"command\" in the request"));
  for (const auto& known : known_commands()) {
    if (known == request.command) return request;
  }
  return tl::unexpected("unknown command " + json_string(request.command) + " (see command-list)");
}

std::string json_string(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      // Copy a well-formed UTF-8 sequence; escape a stray byte as its code point.
      const size_t len = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
      bool valid = len > 0 && i + len <= text.size();
      for (size_t k = 1; valid && k < len; ++k) valid = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
      if (valid) {
        out.append(text.substr(i, len));
        i += len - 1;
      } else {
        char escaped[8];
        std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
        out += escaped;
      }
    }
  }
  out += '"';
  return out;
}

std::string control_reply(bool ok, std::string_view message_json) {
  std::string out = ok ? "{\"return\":\"OK\",\"message\":" : "{\"return\":\"NOK\",\"message\":";
  out += message_json;
  out += '}';
  return out;
}

}  // namespace eastwatch

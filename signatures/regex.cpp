#define PCRE2_CODE_UNIT_WIDTH 8
#include "signatures/regex.hpp"

#include <pcre2.h>

#include <new>

namespace eastwatch {

tl::expected<std::shared_ptr<const Regex>, std::string> Regex::compile(std::string_view pattern, uint32_t options) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &error,
                                   &offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    return tl::unexpected(std::string(reinterpret_cast<const char*>(message)) + " at offset " + std::to_string(offset));
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // best effort: the interpreter works too
  return std::shared_ptr<const Regex>(new Regex(code));
}

Regex::~Regex() { pcre2_code_free(code_); }

tl::expected<std::string, std::string> Regex::serialize(const std::vector<const Regex*>& regexes) {
  if (regexes.empty()) return std::string();
  std::vector<const pcre2_code*> codes;
  codes.reserve(regexes.size());
  for (const Regex* regex : regexes) codes.push_back(regex->code_);
  uint8_t* bytes = nullptr;
  PCRE2_SIZE size = 0;
  const int32_t rc = pcre2_serialize_encode(codes.data(), static_cast<int32_t>(codes.size()), &bytes, &size, nullptr);
  if (rc < 0) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(rc, message, sizeof message);
    return tl::unexpected("pcre2_serialize_encode: " + std::string(reinterpret_cast<const char*>(message)));
  }
  std::string out(reinterpret_cast<const char*>(bytes), size);
  pcre2_serialize_free(bytes);
  return out;
}

tl::expected<std::vector<std::shared_ptr<const Regex>>, std::string> Regex::deserialize(std::string_view bytes,
                                                                                        size_t count, bool jit) {
  std::vector<std::shared_ptr<const Regex>> out;
  if (count == 0) return out;
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  if (bytes.size() < 16) return tl::unexpected(std::string("pcre2 stream too short"));
  const int32_t stored = pcre2_serialize_get_number_of_codes(data);
  if (stored < 0 || static_cast<size_t>(stored) != count) {
    return tl::unexpected("pcre2 stream holds " + std::to_string(stored) + " codes, expected " + std::to_string(count));
  }
  std::vector<pcre2_code*> codes(count, nullptr);
  const int32_t rc = pcre2_serialize_decode(codes.data(), static_cast<int32_t>(count), data, nullptr);
  if (rc < 0 || static_cast<size_t>(rc) != count) {
    for (pcre2_code* code : codes) pcre2_code_free(code);
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(rc, message, sizeof message);
    return tl::unexpected("pcre2_serialize_decode: " + std::string(reinterpret_cast<const char*>(message)));
  }
  out.reserve(count);
  for (pcre2_code* code : codes) out.push_back(std::shared_ptr<const Regex>(new Regex(code)));
  if (jit) jit_compile(out);
  return out;
}

void Regex::jit_compile(const std::vector<std::shared_ptr<const Regex>>& regexes) noexcept {
  for (const auto& regex : regexes) pcre2_jit_compile(regex->code_, PCRE2_JIT_COMPLETE);  // as compile(): best effort
}

std::string Regex::library_description() {
  char version[64] = {};
  pcre2_config(PCRE2_CONFIG_VERSION, version);
  uint32_t jit = 0;
  pcre2_config(PCRE2_CONFIG_JIT, &jit);
  return std::string(version) + (jit != 0 ? " jit" : " nojit");
}

RegexScratch::RegexScratch()
    : match_data_(pcre2_match_data_create(32, nullptr)), context_(pcre2_match_context_create(nullptr)) {
  if (match_data_ == nullptr || context_ == nullptr) throw std::bad_alloc();
  pcre2_set_match_limit(context_, kMatchLimit);
  pcre2_set_depth_limit(context_, kDepthLimit);
}

RegexScratch::~RegexScratch() {
  pcre2_match_data_free(match_data_);
  pcre2_match_context_free(context_);
}

RegexScratch::Result RegexScratch::search(const Regex& regex, const uint8_t* subject, size_t length, size_t& start,
                                          size_t& end) noexcept {
  const int rc = pcre2_match(regex.code(), subject, length, 0, 0, match_data_, context_);
  if (rc == PCRE2_ERROR_NOMATCH) return Result::NoMatch;
  if (rc < 0) return Result::LimitHit;  // match/depth limit, or another runtime error: bounded, counted
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match_data_);
  start = ovector[0];
  end = ovector[1];
  if (end < start) end = start;  // \K can put the start after the end
  return Result::Match;
}

}  // namespace eastwatch

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

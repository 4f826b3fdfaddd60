# Writes OUTPUT: a C++ file defining `extern const char SYMBOL[]` with INPUT's bytes.
file(READ ${INPUT} content HEX)
string(LENGTH "${content}" hex_length)
math(EXPR byte_count "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${content}")
file(WRITE ${OUTPUT} "// Generated from ${INPUT}; do not edit.\n#include <cstddef>\n"
  "extern const char ${SYMBOL}[] = {${bytes} 0x00};\n"
  "extern const std::size_t ${SYMBOL}_size = ${byte_count};\n")

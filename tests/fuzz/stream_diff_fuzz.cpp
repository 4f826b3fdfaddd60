// libFuzzer target: the reassembler against the reference model (tests/unit/stream/stream_diff.hpp).
// The input decodes into one direction's segments after a handshake (policy, direction, FIN
// and ISN from byte 0; 4-byte records with offsets in a 3000-byte window, lengths 0 to past a
// chunk, shared or distinct data; receiver ACKs that may turn holes into gaps); the delivered
// bytes must equal the model's up to any gap or drop, the spans must be contiguous, and the
// flush must free everything.
#include <cstddef>
#include <cstdint>

#include "tests/unit/stream/stream_diff.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eastwatch::test;
  const DiffCase c = decode_diff_case(data, size);
  const DiffResult r = diff_engine(c);
  if (!diff_agrees(diff_model(c), r)) __builtin_trap();
  if (r.counters.active_sessions != 0 || r.counters.reassembly_memuse != 0) __builtin_trap();
  return 0;
}

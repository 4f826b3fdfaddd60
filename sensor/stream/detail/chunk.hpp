// A pooled piece of queued out-of-order data, shared by the engine's two source files.
#pragma once

#include <cstdint>

#include "sensor/stream/tcp_stream_engine.hpp"

namespace eastwatch {

struct TcpStreamEngine::Chunk {
  uint32_t seq = 0;        // sequence number of data[0]
  uint32_t owner_seq = 0;  // the segment this data first came from, for the overlap policies
  uint32_t owner_end = 0;
  uint32_t next = 0;       // next chunk in the queue or free list (index + 1)
  uint16_t len = 0;
  uint8_t data[kChunkBytes];
};

}  // namespace eastwatch

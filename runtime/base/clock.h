#pragma once
// Wall-clock and monotonic time in milliseconds. Wall clock for timestamps shown to users
// (REST start-time, state-change stamps, epoch ms as Flink); monotonic for timeouts.

#include <chrono>
#include <cstdint>

namespace sluice {

inline int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline int64_t MonotonicMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace sluice

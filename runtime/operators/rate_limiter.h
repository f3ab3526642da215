#pragma once
// Token-bucket rate limit of a source subtask (the `rate` option of the file, DataGen and
// Kafka sources; Flink's RateLimiterStrategy / GuavaRateLimiter in DataGeneratorSource).
//
// Shape: `rate` records per second (> 0), a bucket of at most `capacity` tokens (one batch), so
// that a pause (a checkpoint, backpressure) is not followed by a burst. The bucket starts empty.
// A poll calls Acquire(), emits at most that many records (0: none yet, poll again), then
// Consume(n) with the number it emitted. Acquire sleeps at most kMaxSleepMs, waiting for about
// 20 ms worth of tokens (at least one, at most half a bucket, so that a sleep overshoot does
// not overflow the bucket); the task loop therefore stays responsive to barriers and
// cancellation.
//
// Clocks: monotonic ms and a sleep, injectable for tests. Not thread-safe: one per subtask, on
// its Task thread.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <thread>
#include <utility>

#include "runtime/base/clock.h"

namespace sluice::operators {

class RateLimiter {
 public:
  static constexpr int64_t kMaxSleepMs = 20;

  // rate > 0 records/s; capacity >= 1 records. Null clocks: the real monotonic clock and
  // std::this_thread::sleep_for.
  RateLimiter(double rate, size_t capacity, std::function<int64_t()> now_ms = nullptr,
              std::function<void(int64_t)> sleep_ms = nullptr)
      : rate_(rate),
        capacity_(static_cast<double>(std::max<size_t>(capacity, 1))),
        now_ms_(now_ms ? std::move(now_ms) : [] { return MonotonicMillis(); }),
        sleep_ms_(sleep_ms ? std::move(sleep_ms)
                           : [](int64_t ms) {
                               std::this_thread::sleep_for(std::chrono::milliseconds(ms));
                             }) {}

  // How many records this poll may emit (0: none yet), after sleeping at most kMaxSleepMs.
  size_t Acquire() {
    const int64_t now = now_ms_();
    if (last_refill_ms_ < 0) last_refill_ms_ = now;  // start with an empty bucket
    Refill(now);
    if (tokens_ < 1) {
      // Round the wait down so that no token is lost to the cap.
      const double target = std::clamp(rate_ * kMaxSleepMs / 1000.0, 1.0,
                                       std::max(1.0, capacity_ / 2));
      double wait = std::floor((target - tokens_) * 1000.0 / rate_);
      wait = std::clamp(wait, 1.0, static_cast<double>(kMaxSleepMs));
      sleep_ms_(static_cast<int64_t>(wait));
      Refill(now_ms_());
      if (tokens_ < 1) return 0;
    }
    return static_cast<size_t>(std::min(std::floor(tokens_), capacity_));
  }

  // `n` records were emitted (n <= the last Acquire()).
  void Consume(size_t n) { tokens_ -= static_cast<double>(n); }

 private:
  void Refill(int64_t now) {
    if (now <= last_refill_ms_) return;
    tokens_ = std::min(capacity_,
                       tokens_ + static_cast<double>(now - last_refill_ms_) * rate_ / 1000.0);
    last_refill_ms_ = now;
  }

  const double rate_;
  const double capacity_;
  const std::function<int64_t()> now_ms_;
  const std::function<void(int64_t)> sleep_ms_;
  double tokens_ = 0;            // >= 0 when callers emit at most what Acquire allowed
  int64_t last_refill_ms_ = -1;  // -1 until the first Acquire
};

}  // namespace sluice::operators

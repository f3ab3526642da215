#pragma once
// The per-second rate of a monotonically increasing counter (Flink's MeterView, which backs
// numRecordsInPerSecond, busyTimeMsPerSecond, ...): the rate over the last complete window of at
// least `window_ms`; updates closer together than that keep the previous rate. A counter that
// goes backwards (a restarted task) starts a new window.
//
// Thread-compatible value.

#include <cstdint>

namespace sluice::metrics {

class Meter {
 public:
  explicit Meter(int64_t window_ms = 1000) : window_ms_(window_ms) {}

  // Feeds the counter's value at `now_ms` (monotonic); returns the current rate per second.
  double Update(int64_t value, int64_t now_ms) {
    if (base_ms_ < 0 || value < base_value_) {
      base_ms_ = now_ms;
      base_value_ = value;
    } else if (now_ms - base_ms_ >= window_ms_) {
      rate_ = static_cast<double>(value - base_value_) * 1000.0 /
              static_cast<double>(now_ms - base_ms_);
      base_ms_ = now_ms;
      base_value_ = value;
    }
    return rate_;
  }
  double rate() const { return rate_; }

 private:
  int64_t window_ms_;
  int64_t base_ms_ = -1;
  int64_t base_value_ = 0;
  double rate_ = 0;
};

}  // namespace sluice::metrics

#pragma once
// Bounded out-of-orderness watermark generation, as Flink's BoundedOutOfOrdernessWatermarks:
// watermark = max timestamp seen - max_out_of_orderness_ms - 1. Pure, one per source subtask.

#include <algorithm>
#include <cstdint>

#include "runtime/api/operator.h"

namespace sluice::operators {

class BoundedOutOfOrdernessWatermarks {
 public:
  explicit BoundedOutOfOrdernessWatermarks(int64_t max_out_of_orderness_ms)
      : ooo_ms_(max_out_of_orderness_ms) {}
  void OnEvent(int64_t timestamp) { max_ts_ = std::max(max_ts_, timestamp); }
  // Current watermark; kMinWatermark until the first event.
  int64_t CurrentWatermark() const {
    return max_ts_ == api::kMinWatermark ? api::kMinWatermark : max_ts_ - ooo_ms_ - 1;
  }

 private:
  int64_t ooo_ms_;
  int64_t max_ts_ = api::kMinWatermark;
};

}  // namespace sluice::operators

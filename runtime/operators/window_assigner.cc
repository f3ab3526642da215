#include "runtime/operators/window_assigner.h"

#include "runtime/base/status.h"

namespace sluice::operators {

absl::StatusOr<WindowAssigner> WindowAssigner::Tumbling(int64_t size_ms, int64_t offset_ms) {
  if (size_ms <= 0) {
    return InvalidArgumentF("tumbling window size must be > 0 ms, got {} ms", size_ms);
  }
  if (offset_ms <= -size_ms || offset_ms >= size_ms) {
    return InvalidArgumentF(
        "tumbling window offset must satisfy |offset| < size, got offset {} ms, size {} ms",
        offset_ms, size_ms);
  }
  return WindowAssigner(Kind::kTumbling, size_ms, size_ms, offset_ms);
}

absl::StatusOr<WindowAssigner> WindowAssigner::Sliding(int64_t size_ms, int64_t slide_ms,
                                                       int64_t offset_ms) {
  if (size_ms <= 0 || slide_ms <= 0) {
    return InvalidArgumentF("sliding window size and slide must be > 0 ms, got size {} ms, "
                            "slide {} ms",
                            size_ms, slide_ms);
  }
  if (slide_ms > size_ms) {
    return InvalidArgumentF("sliding window slide ({} ms) must not exceed its size ({} ms): rows "
                            "between windows would belong to none",
                            slide_ms, size_ms);
  }
  if (offset_ms <= -slide_ms || offset_ms >= slide_ms) {
    return InvalidArgumentF(
        "sliding window offset must satisfy |offset| < slide, got offset {} ms, slide {} ms",
        offset_ms, slide_ms);
  }
  return WindowAssigner(Kind::kSliding, size_ms, slide_ms, offset_ms);
}

absl::StatusOr<WindowAssigner> WindowAssigner::Cumulate(int64_t max_size_ms, int64_t step_ms,
                                                        int64_t offset_ms) {
  if (max_size_ms <= 0 || step_ms <= 0) {
    return InvalidArgumentF("cumulate window size and step must be > 0 ms, got size {} ms, "
                            "step {} ms",
                            max_size_ms, step_ms);
  }
  if (max_size_ms % step_ms != 0) {
    return InvalidArgumentF("cumulate window size ({} ms) must be a multiple of its step ({} ms)",
                            max_size_ms, step_ms);
  }
  if (offset_ms <= -step_ms || offset_ms >= step_ms) {
    return InvalidArgumentF(
        "cumulate window offset must satisfy |offset| < step, got offset {} ms, step {} ms",
        offset_ms, step_ms);
  }
  return WindowAssigner(Kind::kCumulate, max_size_ms, step_ms, offset_ms);
}

}  // namespace sluice::operators

#include "runtime/operators/window_assigner.h"

#include <string_view>

#include "runtime/base/status.h"

namespace sluice::operators {

namespace {
// Flink's rule for every window assigner: |offset| < the grid the windows start on.
absl::Status CheckOffset(std::string_view kind, int64_t offset_ms, std::string_view grid,
                         int64_t grid_ms) {
  if (offset_ms > -grid_ms && offset_ms < grid_ms) return absl::OkStatus();
  return InvalidArgumentF("{} window offset must satisfy |offset| < {}, got offset {} ms, {} {} ms",
                          kind, grid, offset_ms, grid, grid_ms);
}
}  // namespace

absl::StatusOr<WindowAssigner> WindowAssigner::Tumbling(int64_t size_ms, int64_t offset_ms) {
  if (size_ms <= 0) {
    return InvalidArgumentF("tumbling window size must be > 0 ms, got {} ms", size_ms);
  }
  RETURN_IF_ERROR(CheckOffset("tumbling", offset_ms, "size", size_ms));
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
  RETURN_IF_ERROR(CheckOffset("sliding", offset_ms, "slide", slide_ms));
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
  RETURN_IF_ERROR(CheckOffset("cumulate", offset_ms, "step", step_ms));
  return WindowAssigner(Kind::kCumulate, max_size_ms, step_ms, offset_ms);
}

}  // namespace sluice::operators

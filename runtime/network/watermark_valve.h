#pragma once
// WatermarkValve: combines the watermarks and watermark statuses of a task's input channels
// (Flink's StatusWatermarkValve). The task's event time is the minimum watermark over its
// ACTIVE channels that are aligned (a channel that turned active again counts once its watermark
// caught up with the combined one), so an idle producer does not hold event time back. A channel
// that reached end of partition counts as active at the end of time. When every channel is idle
// the task itself becomes idle (and active again with the first active channel); the watermark
// does not jump when the last channel turns idle, so no record becomes late because of idleness.
// Emits only when the combined watermark advances: downstream sees a strictly increasing
// sequence.
//
// Threading: the owning task's thread only.

#include <cstdint>
#include <optional>
#include <vector>

#include "runtime/api/operator.h"

namespace sluice::network {

// What changed for the task after an input event.
struct ValveUpdate {
  std::optional<int64_t> watermark;             // the combined watermark advanced to this
  std::optional<api::WatermarkStatus> status;   // the task became idle / active again
};

class WatermarkValve {
 public:
  explicit WatermarkValve(int num_channels);
  // A watermark arrived on `channel` (an idle channel is ignored until it turns active).
  ValveUpdate OnWatermark(int channel, int64_t watermark);
  // `channel` turned idle or active.
  ValveUpdate OnWatermarkStatus(int channel, api::WatermarkStatus status);
  // `channel` ended.
  ValveUpdate OnEndOfPartition(int channel);
  bool AllEnded() const { return remaining_ == 0; }
  int64_t current() const { return combined_; }
  bool idle() const { return idle_; }

 private:
  struct Channel {
    int64_t watermark;
    bool active = true;
    bool aligned = true;
    bool ended = false;
  };
  std::optional<int64_t> Recompute();

  std::vector<Channel> channels_;
  int remaining_;
  int64_t combined_;
  bool idle_ = false;
};

}  // namespace sluice::network

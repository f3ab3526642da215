#pragma once
// WatermarkValve: combines the watermarks of a task's input channels (Flink's
// StatusWatermarkValve, without idleness yet): the task's event time is the minimum over all
// channels; a channel that reached end of partition no longer holds it back. Emits only when the
// combined watermark advances, so downstream sees a strictly increasing sequence.
//
// Threading: the owning task's thread only.

#include <cstdint>
#include <optional>
#include <vector>

namespace sluice::network {

class WatermarkValve {
 public:
  explicit WatermarkValve(int num_channels);
  // A watermark arrived on `channel`; returns the new combined watermark if it advanced.
  std::optional<int64_t> OnWatermark(int channel, int64_t watermark);
  // `channel` ended; returns the new combined watermark if it advanced.
  std::optional<int64_t> OnEndOfPartition(int channel);
  bool AllEnded() const { return remaining_ == 0; }
  int64_t current() const { return combined_; }

 private:
  std::optional<int64_t> Recompute();

  std::vector<int64_t> channel_watermarks_;
  std::vector<bool> ended_;
  int remaining_;
  int64_t combined_;
};

}  // namespace sluice::network

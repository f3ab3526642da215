#include "runtime/network/watermark_valve.h"

#include <algorithm>
#include <limits>

namespace sluice::network {

namespace {
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
}  // namespace

WatermarkValve::WatermarkValve(int num_channels)
    : channel_watermarks_(static_cast<size_t>(num_channels), kMin),
      ended_(static_cast<size_t>(num_channels), false),
      remaining_(num_channels),
      combined_(kMin) {}

std::optional<int64_t> WatermarkValve::OnWatermark(int channel, int64_t watermark) {
  int64_t& w = channel_watermarks_[static_cast<size_t>(channel)];
  if (watermark <= w) return std::nullopt;  // a channel's watermark never goes back
  w = watermark;
  return Recompute();
}

std::optional<int64_t> WatermarkValve::OnEndOfPartition(int channel) {
  size_t c = static_cast<size_t>(channel);
  if (ended_[c]) return std::nullopt;
  ended_[c] = true;
  --remaining_;
  channel_watermarks_[c] = kMax;
  return Recompute();
}

std::optional<int64_t> WatermarkValve::Recompute() {
  int64_t min_wm = *std::min_element(channel_watermarks_.begin(), channel_watermarks_.end());
  if (min_wm <= combined_) return std::nullopt;
  combined_ = min_wm;
  return combined_;
}

}  // namespace sluice::network

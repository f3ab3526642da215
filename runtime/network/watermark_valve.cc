#include "runtime/network/watermark_valve.h"

#include <algorithm>

namespace sluice::network {

WatermarkValve::WatermarkValve(int num_channels)
    : channels_(static_cast<size_t>(num_channels), Channel{api::kMinWatermark}),
      remaining_(num_channels),
      combined_(api::kMinWatermark) {}

ValveUpdate WatermarkValve::OnWatermark(int channel, int64_t watermark) {
  Channel& c = channels_[static_cast<size_t>(channel)];
  if (!c.active || c.ended || watermark <= c.watermark) return {};  // never goes back
  c.watermark = watermark;
  if (watermark >= combined_) c.aligned = true;
  return ValveUpdate{Recompute(), std::nullopt};
}

ValveUpdate WatermarkValve::OnWatermarkStatus(int channel, api::WatermarkStatus status) {
  Channel& c = channels_[static_cast<size_t>(channel)];
  if (c.ended) return {};
  ValveUpdate update;
  if (status == api::WatermarkStatus::kIdle && c.active) {
    c.active = false;
    c.aligned = false;
    const bool any_active = std::any_of(channels_.begin(), channels_.end(),
                                        [](const Channel& x) { return x.active; });
    if (!any_active) {
      idle_ = true;
      update.status = api::WatermarkStatus::kIdle;
    } else {
      update.watermark = Recompute();  // it may have been the one holding event time back
    }
  } else if (status == api::WatermarkStatus::kActive && !c.active) {
    c.active = true;
    c.aligned = c.watermark >= combined_;
    if (idle_) {
      idle_ = false;
      update.status = api::WatermarkStatus::kActive;
    }
  }
  return update;
}

ValveUpdate WatermarkValve::OnEndOfPartition(int channel) {
  Channel& c = channels_[static_cast<size_t>(channel)];
  if (c.ended) return {};
  c.ended = true;
  --remaining_;
  c.watermark = api::kMaxWatermark;
  c.aligned = true;
  ValveUpdate update;
  if (!c.active) {
    c.active = true;
    if (idle_) {
      idle_ = false;
      update.status = api::WatermarkStatus::kActive;
    }
  }
  update.watermark = Recompute();
  return update;
}

std::optional<int64_t> WatermarkValve::Recompute() {
  bool any = false;
  int64_t min_wm = api::kMaxWatermark;
  for (const Channel& c : channels_) {
    if (!c.active || !c.aligned) continue;
    any = true;
    min_wm = std::min(min_wm, c.watermark);
  }
  if (!any || min_wm <= combined_) return std::nullopt;
  combined_ = min_wm;
  return combined_;
}

}  // namespace sluice::network

#include "runtime/checkpoint/stats_summary.h"

#include <algorithm>
#include <cmath>

namespace sluice::checkpoint {

void StatsSummary::Add(int64_t v) {
  if (count_ == 0 || v < min_) min_ = v;
  if (count_ == 0 || v > max_) max_ = v;
  sum_ += v;
  ++count_;
  if (window_.size() < kWindow) {
    window_.push_back(v);
  } else {
    window_[next_] = v;
    next_ = (next_ + 1) % kWindow;
  }
}

double StatsSummary::Quantile(double q) const {
  if (window_.empty()) return 0;
  std::vector<int64_t> sorted = window_;
  std::sort(sorted.begin(), sorted.end());
  const double rank = std::ceil(q * static_cast<double>(sorted.size()));
  const size_t index = static_cast<size_t>(std::max(1.0, rank)) - 1;
  return static_cast<double>(sorted[std::min(index, sorted.size() - 1)]);
}

nlohmann::json StatsSummary::Json() const {
  return {{"min", min_},
          {"max", max_},
          {"avg", count_ == 0 ? 0 : sum_ / count_},
          {"p50", Quantile(0.5)},
          {"p90", Quantile(0.9)},
          {"p95", Quantile(0.95)},
          {"p99", Quantile(0.99)},
          {"p999", Quantile(0.999)}};
}

}  // namespace sluice::checkpoint

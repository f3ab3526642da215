#pragma once
// A summary of a checkpoint statistic (durations in ms, sizes in bytes), Flink's StatsSummary as
// the REST API shows it (StatsSummaryDto): min, max and average over every value added, and the
// p50/p90/p95/p99/p999 quantiles over the most recent kWindow values (Flink keeps a bounded
// histogram window too). With no value every field is 0, as Flink reports.
//
// Thread-compatible value.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "nlohmann/json.hpp"

namespace sluice::checkpoint {

class StatsSummary {
 public:
  static constexpr size_t kWindow = 1024;

  void Add(int64_t v);
  int64_t count() const { return count_; }
  // The q-quantile (0 < q <= 1) of the window, nearest rank; 0 when empty.
  double Quantile(double q) const;
  // {"min", "max", "avg", "p50", "p90", "p95", "p99", "p999"}.
  nlohmann::json Json() const;

 private:
  int64_t min_ = 0, max_ = 0, sum_ = 0, count_ = 0;
  std::vector<int64_t> window_;  // ring buffer of the last kWindow values
  size_t next_ = 0;
};

}  // namespace sluice::checkpoint

#include "benchmarks/latency/latency_stats.h"

#include <algorithm>
#include <map>

#include "fmt/format.h"

namespace sluice::bench {
namespace {

// Nearest-rank percentile (ms) of sorted latencies (µs).
double Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size()) + 0.999999);
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return static_cast<double>(sorted[rank - 1]) / 1000.0;
}

}  // namespace

std::string SummarizeLatencies(std::vector<LatencySample> samples,
                               const LatencySummaryOptions& options, const std::string& extra) {
  int64_t measured_from = options.start_us + options.warmup_us;
  std::vector<int64_t> all;
  std::map<int64_t, std::vector<int64_t>> by_interval;
  for (const LatencySample& s : samples) {
    if (s.created_us < measured_from) continue;
    all.push_back(s.latency_us);
    by_interval[(s.created_us - measured_from) / options.interval_us].push_back(s.latency_us);
  }
  std::sort(all.begin(), all.end());
  std::string intervals;
  for (auto& [index, values] : by_interval) {
    std::sort(values.begin(), values.end());
    intervals += fmt::format(
        "{}{{\"t_s\": {}, \"count\": {}, \"p50_ms\": {:.3f}, \"p99_ms\": {:.3f}}}",
        intervals.empty() ? "" : ", ", index * options.interval_us / 1'000'000, values.size(),
        Percentile(values, 50), Percentile(values, 99));
  }
  return fmt::format(
      "{{{}{}\"count\": {}, \"p50_ms\": {:.3f}, \"p99_ms\": {:.3f}, \"p999_ms\": {:.3f}, "
      "\"p9999_ms\": {:.3f}, \"max_ms\": {:.3f}, \"intervals\": [{}]}}",
      extra, extra.empty() ? "" : ", ", all.size(), Percentile(all, 50), Percentile(all, 99),
      Percentile(all, 99.9), Percentile(all, 99.99), all.empty() ? 0.0 : all.back() / 1000.0,
      intervals);
}

}  // namespace sluice::bench

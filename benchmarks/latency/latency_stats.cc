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

// The samples created from `measured_from` on and at or above `threshold_us`, grouped into
// episodes (samples created less than options.spike_gap_us apart), as JSON objects; at most
// options.max_spikes, the worst first.
std::string Spikes(std::vector<LatencySample> samples, int64_t threshold_us, int64_t measured_from,
                   const LatencySummaryOptions& options) {
  if (threshold_us <= 0) return "";
  std::erase_if(samples, [&](const LatencySample& s) {
    return s.created_us < measured_from || s.latency_us < threshold_us;
  });
  std::sort(samples.begin(), samples.end(),
            [](const LatencySample& a, const LatencySample& b) {
              return a.created_us < b.created_us;
            });
  struct Episode {
    int64_t first_us, last_us, max_us, count;
  };
  std::vector<Episode> episodes;
  for (const LatencySample& s : samples) {
    if (episodes.empty() || s.created_us - episodes.back().last_us >= options.spike_gap_us) {
      episodes.push_back({s.created_us, s.created_us, s.latency_us, 0});
    }
    Episode& e = episodes.back();
    e.last_us = s.created_us;
    e.max_us = std::max(e.max_us, s.latency_us);
    ++e.count;
  }
  std::sort(episodes.begin(), episodes.end(),
            [](const Episode& a, const Episode& b) { return a.max_us > b.max_us; });
  if (episodes.size() > options.max_spikes) episodes.resize(options.max_spikes);
  std::string out;
  for (const Episode& e : episodes) {
    out += fmt::format("{}{{\"t_s\": {:.3f}, \"count\": {}, \"max_ms\": {:.3f}}}",
                       out.empty() ? "" : ", ", (e.first_us - measured_from) / 1e6, e.count,
                       e.max_us / 1000.0);
  }
  return out;
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
  const double p9999 = Percentile(all, 99.99);
  return fmt::format(
      "{{{}{}\"count\": {}, \"p50_ms\": {:.3f}, \"p99_ms\": {:.3f}, \"p999_ms\": {:.3f}, "
      "\"p9999_ms\": {:.3f}, \"max_ms\": {:.3f}, \"intervals\": [{}], \"spikes\": [{}], "
      "\"measured_from_us\": {}}}",
      extra, extra.empty() ? "" : ", ", all.size(), Percentile(all, 50), Percentile(all, 99),
      Percentile(all, 99.9), p9999, all.empty() ? 0.0 : all.back() / 1000.0, intervals,
      Spikes(std::move(samples), static_cast<int64_t>(p9999 * 1000), measured_from, options),
      measured_from);
}

}  // namespace sluice::bench

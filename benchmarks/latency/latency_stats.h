// Latency samples and their summary for sluice-latency-probe (benchmarks/latency/probe.cc).
//
// A sample is (creation time, latency), both in microseconds (creation: wall clock, epoch µs).
// Summary: nearest-rank percentiles p50/p99/p99.9/p99.99 and the max over the samples created
// after the warm-up, plus p50/p99 per interval of creation time, which shows whether latency stays
// flat over a run or grows with a backlog (issue 15), and the episodes of the slowest samples. Not thread-safe: one owner.

#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sluice::bench {

struct LatencySample {
  int64_t created_us = 0;
  int64_t latency_us = 0;
};

struct LatencySummaryOptions {
  int64_t start_us = 0;          // when the measured run began (epoch µs)
  int64_t warmup_us = 0;         // samples created before start + warm-up are left out
  int64_t interval_us = 10'000'000;  // width of the per-interval figures
  int64_t spike_gap_us = 100'000;    // spikes: samples created closer than this are one episode
  size_t max_spikes = 20;            // spikes: how many episodes to report (the worst)
};

// One JSON object (one line) with count, p50_ms, p99_ms, p999_ms, p9999_ms, max_ms and
// "intervals": [{"t_s": <interval start after warm-up, s>, "count", "p50_ms", "p99_ms"}, ...]
// and "spikes": the samples at or above p99.99 grouped into episodes, worst first:
// [{"t_s": <creation of the episode's first sample after warm-up, s>, "count", "max_ms"}, ...],
// which tells periodic stalls (a timer, a checkpoint) from scattered ones; and
// "measured_from_us": start + warm-up (epoch µs), the origin of the t_s figures.
// `extra` is spliced in as further members (already JSON, e.g. "\"sent\": 10").
std::string SummarizeLatencies(std::vector<LatencySample> samples,
                               const LatencySummaryOptions& options, const std::string& extra);

}  // namespace sluice::bench

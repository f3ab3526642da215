// SummarizeLatencies: nearest-rank percentiles, the warm-up left out, per-interval figures.

#include "benchmarks/latency/latency_stats.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sluice::bench {
namespace {

using ::testing::HasSubstr;

TEST(LatencyStats, NearestRankPercentilesAndMax) {
  std::vector<LatencySample> samples;
  for (int64_t i = 1; i <= 1000; ++i) samples.push_back({i, i * 1000});  // 1..1000 ms
  const std::string json = SummarizeLatencies(samples, {}, "");
  EXPECT_THAT(json, HasSubstr("\"count\": 1000"));
  EXPECT_THAT(json, HasSubstr("\"p50_ms\": 500.000"));
  EXPECT_THAT(json, HasSubstr("\"p99_ms\": 990.000"));
  EXPECT_THAT(json, HasSubstr("\"p999_ms\": 999.000"));
  EXPECT_THAT(json, HasSubstr("\"p9999_ms\": 1000.000"));
  EXPECT_THAT(json, HasSubstr("\"max_ms\": 1000.000"));
}

TEST(LatencyStats, WarmUpSamplesAreLeftOutAndIntervalsSplitTheRest) {
  LatencySummaryOptions options;
  options.start_us = 1'000'000;
  options.warmup_us = 5'000'000;  // measured from 6 s
  options.interval_us = 10'000'000;
  std::vector<LatencySample> samples = {
      {2'000'000, 900'000},   // warm-up: left out although it is the slowest
      {6'000'000, 1'000},     // interval 0
      {15'999'999, 3'000},    // interval 0
      {16'000'000, 7'000},    // interval 1
  };
  const std::string json = SummarizeLatencies(samples, options, "\"mode\": \"test\"");
  EXPECT_THAT(json, HasSubstr("{\"mode\": \"test\", \"count\": 3"));
  EXPECT_THAT(json, HasSubstr("\"measured_from_us\": 6000000}"));
  EXPECT_THAT(json, HasSubstr("\"max_ms\": 7.000"));
  EXPECT_THAT(json, HasSubstr("{\"t_s\": 0, \"count\": 2, \"p50_ms\": 1.000, \"p99_ms\": 3.000}"));
  EXPECT_THAT(json, HasSubstr("{\"t_s\": 10, \"count\": 1, \"p50_ms\": 7.000, \"p99_ms\": 7.000}"));
}

TEST(LatencyStats, TheSlowestSamplesAreGroupedIntoEpisodesWorstFirst) {
  LatencySummaryOptions options;
  options.spike_gap_us = 100'000;
  std::vector<LatencySample> samples;
  for (int64_t i = 0; i < 20'000; ++i) samples.push_back({i * 1'000, 1'000});  // 20 s of 1 ms
  samples[3'000] = {3'000'000, 30'000};  // an episode at 3 s: two slow samples 50 ms apart
  samples[3'050] = {3'050'000, 20'000};
  samples[9'000] = {9'000'000, 40'000};  // another at 9 s, the worst
  const std::string json = SummarizeLatencies(samples, options, "");
  EXPECT_THAT(json, HasSubstr("\"spikes\": [{\"t_s\": 9.000, \"count\": 1, \"max_ms\": 40.000}, "
                              "{\"t_s\": 3.000, \"count\": 2, \"max_ms\": 30.000}]"));
}

TEST(LatencyStats, NoSamplesGivesZeros) {
  const std::string json = SummarizeLatencies({}, {}, "");
  EXPECT_THAT(json, HasSubstr("\"count\": 0"));
  EXPECT_THAT(json, HasSubstr("\"max_ms\": 0.000"));
  EXPECT_THAT(json, HasSubstr("\"intervals\": []"));
  EXPECT_THAT(json, HasSubstr("\"spikes\": []"));
}

}  // namespace
}  // namespace sluice::bench

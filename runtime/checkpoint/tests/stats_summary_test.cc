#include "runtime/checkpoint/stats_summary.h"

#include <gtest/gtest.h>

namespace sluice::checkpoint {
namespace {

TEST(StatsSummary, EmptyIsAllZeros) {
  nlohmann::json j = StatsSummary().Json();
  for (const char* k : {"min", "max", "avg", "p50", "p90", "p95", "p99", "p999"}) {
    EXPECT_EQ(j[k], 0) << k;
  }
}

TEST(StatsSummary, QuantilesAreNearestRankOverTheValues) {
  StatsSummary s;
  for (int v = 100; v >= 1; --v) s.Add(v);  // 1..100 in reverse order
  nlohmann::json j = s.Json();
  EXPECT_EQ(j["min"], 1);
  EXPECT_EQ(j["max"], 100);
  EXPECT_EQ(j["avg"], 50);
  EXPECT_EQ(j["p50"], 50.0);
  EXPECT_EQ(j["p90"], 90.0);
  EXPECT_EQ(j["p95"], 95.0);
  EXPECT_EQ(j["p99"], 99.0);
  EXPECT_EQ(j["p999"], 100.0);
}

TEST(StatsSummary, QuantilesForgetValuesOutsideTheWindowButMinMaxDoNot) {
  StatsSummary s;
  s.Add(1'000'000);
  for (size_t i = 0; i < StatsSummary::kWindow; ++i) s.Add(7);
  EXPECT_EQ(s.Quantile(0.999), 7.0);
  EXPECT_EQ(s.Json()["max"], 1'000'000);
  EXPECT_EQ(s.count(), static_cast<int64_t>(StatsSummary::kWindow) + 1);
}

}  // namespace
}  // namespace sluice::checkpoint

// Sliding (hop) and cumulative windows: the assigner's windows for a timestamp (negative ones
// included) against a brute-force enumeration, its validation, and the window operator's
// results for both kinds, including when a row is late for some of its windows only.

#include <map>
#include <set>

#include "gtest/gtest.h"
#include "runtime/operators/tests/window_test_util.h"
#include "runtime/operators/window_assigner.h"
#include "runtime/operators/window_operator.h"

namespace sluice::operators {
namespace {

using testing::AddRow;
using testing::CollectingOutput;
using testing::InputSchema;

std::vector<int64_t> Ends(const WindowAssigner& a, int64_t ts) {
  std::vector<int64_t> ends;
  a.ForEachWindowEnd(ts, [&](int64_t end) { ends.push_back(end); });
  return ends;
}

// Every window [start, end) of the assigner's grid that contains ts, by brute force.
std::vector<int64_t> BruteForceEnds(WindowAssigner::Kind kind, int64_t size, int64_t slide,
                                    int64_t offset, int64_t ts) {
  std::set<int64_t> ends;
  for (int64_t start = -10 * size + offset; start <= ts + size; start += slide) {
    if (kind == WindowAssigner::Kind::kSliding) {
      if (start <= ts && ts < start + size) ends.insert(start + size);
    } else {  // cumulate: windows start on the max-size grid and grow by `slide`
      if ((start - offset) % size != 0) continue;
      for (int64_t end = start + slide; end <= start + size; end += slide) {
        if (start <= ts && ts < end) ends.insert(end);
      }
    }
  }
  return {ends.begin(), ends.end()};
}

TEST(WindowAssigner, SlidingAndCumulateWindowsMatchABruteForceEnumeration) {
  for (int64_t offset : {0, 3, -2}) {
    auto sliding = *WindowAssigner::Sliding(40, 10, offset);
    auto cumulate = *WindowAssigner::Cumulate(40, 10, offset);
    for (int64_t ts = -95; ts <= 95; ++ts) {
      EXPECT_EQ(Ends(sliding, ts),
                BruteForceEnds(WindowAssigner::Kind::kSliding, 40, 10, offset, ts))
          << "sliding ts " << ts << " offset " << offset;
      EXPECT_EQ(Ends(cumulate, ts),
                BruteForceEnds(WindowAssigner::Kind::kCumulate, 40, 10, offset, ts))
          << "cumulate ts " << ts << " offset " << offset;
      for (int64_t end : Ends(sliding, ts)) EXPECT_EQ(sliding.StartOf(end), end - 40);
      for (int64_t end : Ends(cumulate, ts)) {
        EXPECT_EQ((cumulate.StartOf(end) - offset) % 40, 0);
        EXPECT_LE(cumulate.StartOf(end), ts);
      }
    }
  }
  // A slide that does not divide the size: 2 or 3 windows per row.
  auto uneven = *WindowAssigner::Sliding(25, 10);
  EXPECT_EQ(Ends(uneven, 7), (std::vector<int64_t>{15, 25}));
  EXPECT_EQ(Ends(uneven, 12), (std::vector<int64_t>{15, 25, 35}));
}

TEST(WindowAssigner, RefusesWindowsThatCannotWork) {
  EXPECT_EQ(WindowAssigner::Sliding(10, 0).status().message(),
            "sliding window size and slide must be > 0 ms, got size 10 ms, slide 0 ms");
  EXPECT_EQ(WindowAssigner::Sliding(10, 20).status().message(),
            "sliding window slide (20 ms) must not exceed its size (10 ms): rows between "
            "windows would belong to none");
  EXPECT_EQ(WindowAssigner::Cumulate(100, 30).status().message(),
            "cumulate window size (100 ms) must be a multiple of its step (30 ms)");
  EXPECT_EQ(WindowAssigner::Sliding(100, 10, 10).status().message(),
            "sliding window offset must satisfy |offset| < slide, got offset 10 ms, slide 10 ms");
  EXPECT_FALSE(WindowAssigner::Tumbling(0).ok());
}

// Count and sum of delay per origin.
std::unique_ptr<api::Operator> Open(WindowAggregateSpec spec, api::OperatorMetrics* metrics) {
  spec.key_fields = {"origin"};
  spec.aggregates = {{"n", AggregateKind::kCount, ""}, {"total", AggregateKind::kSum, "delay"}};
  return testing::Make(std::move(spec), metrics);
}

TEST(SlidingWindow, EveryRowCountsInEachOfItsWindows) {
  WindowAggregateSpec spec;
  spec.kind = WindowKind::kSliding;
  spec.size_ms = 2000;
  spec.slide_ms = 1000;
  api::OperatorMetrics metrics;
  auto op = Open(spec, &metrics);
  core::RecordBatch in(InputSchema());
  AddRow(&in, 500, "ATL", 1, 0);
  AddRow(&in, 1500, "ATL", 10, 0);
  AddRow(&in, 2500, "ATL", 100, 0);
  CollectingOutput out;
  ASSERT_TRUE(op->ProcessBatch(in, out).ok());
  ASSERT_TRUE(op->ProcessWatermark(api::kMaxWatermark, out).ok());
  EXPECT_EQ(out.rows, (std::vector<std::string>{
                          "ATL,1969-12-31T23:59:59Z,1970-01-01T00:00:01Z,1,1",
                          "ATL,1970-01-01T00:00:00Z,1970-01-01T00:00:02Z,2,11",
                          "ATL,1970-01-01T00:00:01Z,1970-01-01T00:00:03Z,2,110",
                          "ATL,1970-01-01T00:00:02Z,1970-01-01T00:00:04Z,1,100"}));
  EXPECT_EQ(out.timestamps, (std::vector<int64_t>{999, 1999, 2999, 3999}));
}

TEST(SlidingWindow, ARowLateForSomeWindowsStillCountsInTheOpenOnes) {
  WindowAggregateSpec spec;
  spec.kind = WindowKind::kSliding;
  spec.size_ms = 2000;
  spec.slide_ms = 1000;
  api::OperatorMetrics metrics;
  auto op = Open(spec, &metrics);
  CollectingOutput out;
  ASSERT_TRUE(op->ProcessWatermark(1999, out).ok());  // windows ending at 1000 and 2000 fired
  core::RecordBatch in(InputSchema());
  AddRow(&in, 1500, "ATL", 7, 0);  // [0, 2000) fired, [1000, 3000) open
  AddRow(&in, 900, "ATL", 5, 0);   // both of its windows fired: late
  ASSERT_TRUE(op->ProcessBatch(in, out).ok());
  ASSERT_TRUE(op->ProcessWatermark(api::kMaxWatermark, out).ok());
  EXPECT_EQ(out.rows, (std::vector<std::string>{
                          "ATL,1970-01-01T00:00:01Z,1970-01-01T00:00:03Z,1,7"}));
  EXPECT_EQ(metrics.late_records_dropped.load(), 1);
}

TEST(CumulateWindow, EmitsTheGrowingWindowsOfEachPeriod) {
  WindowAggregateSpec spec;
  spec.kind = WindowKind::kCumulate;
  spec.size_ms = 3000;
  spec.slide_ms = 1000;  // the step
  api::OperatorMetrics metrics;
  auto op = Open(spec, &metrics);
  core::RecordBatch in(InputSchema());
  AddRow(&in, 100, "ATL", 1, 0);
  AddRow(&in, 1100, "ATL", 10, 0);
  AddRow(&in, 2100, "ATL", 100, 0);
  AddRow(&in, 3100, "ATL", 1000, 0);  // the next period
  CollectingOutput out;
  ASSERT_TRUE(op->ProcessBatch(in, out).ok());
  ASSERT_TRUE(op->ProcessWatermark(api::kMaxWatermark, out).ok());
  EXPECT_EQ(out.rows, (std::vector<std::string>{
                          "ATL,1970-01-01T00:00:00Z,1970-01-01T00:00:01Z,1,1",
                          "ATL,1970-01-01T00:00:00Z,1970-01-01T00:00:02Z,2,11",
                          "ATL,1970-01-01T00:00:00Z,1970-01-01T00:00:03Z,3,111",
                          "ATL,1970-01-01T00:00:03Z,1970-01-01T00:00:04Z,1,1000",
                          "ATL,1970-01-01T00:00:03Z,1970-01-01T00:00:05Z,1,1000",
                          "ATL,1970-01-01T00:00:03Z,1970-01-01T00:00:06Z,1,1000"}));
}

}  // namespace
}  // namespace sluice::operators

// Processing-time windows: rows belong to the windows of the clock when they arrive (no event
// time needed), windows fire when the clock passes their end - 1 (OnProcessingTime, reported by
// NextProcessingTime), watermarks fire nothing, and open windows fire at Finish.

#include "gtest/gtest.h"
#include "runtime/base/clock.h"
#include "runtime/operators/tests/window_test_util.h"
#include "runtime/operators/window_operator.h"

namespace sluice::operators {
namespace {

using testing::AddRow;
using testing::CollectingOutput;
using testing::InputSchema;

TEST(ProcessingTimeWindow, TheClockAssignsAndFiresWindows) {
  ManualClock clock(10'000);
  WindowAggregateSpec spec;
  spec.kind = WindowKind::kSliding;
  spec.size_ms = 2000;
  spec.slide_ms = 1000;
  spec.processing_time = true;
  spec.clock = &clock;
  spec.key_fields = {"origin"};
  spec.aggregates = {{"n", AggregateKind::kCount, ""}, {"total", AggregateKind::kSum, "delay"}};
  auto op = testing::Make(spec);
  CollectingOutput out;
  EXPECT_EQ(op->NextProcessingTime(), std::nullopt);

  core::RecordBatch in(InputSchema());
  AddRow(&in, 5, "ATL", 1, 0);
  in.SetTimestamp(0, core::kNoTimestamp);  // no event time needed
  AddRow(&in, 999'999, "ATL", 2, 0);       // the event time is ignored
  ASSERT_TRUE(op->ProcessBatch(in, out).ok());  // at 10.000 s: windows [9, 11) and [10, 12)
  EXPECT_EQ(op->NextProcessingTime(), 10'999);
  ASSERT_TRUE(op->ProcessWatermark(api::kMaxWatermark - 1, out).ok());
  EXPECT_TRUE(out.rows.empty()) << "watermarks fire no processing-time window";

  clock.Advance(1500);  // 11.5 s: [10, 12) and [11, 13) get the next row
  core::RecordBatch more(InputSchema());
  AddRow(&more, 0, "ATL", 10, 0);
  ASSERT_TRUE(op->ProcessBatch(more, out).ok());
  ASSERT_TRUE(op->OnProcessingTime(11'500, out).ok());
  ASSERT_EQ(out.rows.size(), 1u);
  EXPECT_EQ(out.rows[0], "ATL,1970-01-01T00:00:09Z,1970-01-01T00:00:11Z,2,3");
  EXPECT_EQ(out.timestamps[0], 10'999);
  EXPECT_EQ(op->NextProcessingTime(), 11'999);

  ASSERT_TRUE(op->Finish(out).ok());  // the input ended: the open windows fire
  ASSERT_EQ(out.rows.size(), 3u);
  EXPECT_EQ(out.rows[1], "ATL,1970-01-01T00:00:10Z,1970-01-01T00:00:12Z,3,13");
  EXPECT_EQ(out.rows[2], "ATL,1970-01-01T00:00:11Z,1970-01-01T00:00:13Z,1,10");
}

TEST(ProcessingTimeWindow, SessionsAndLatenessNeedEventTime) {
  WindowAggregateSpec spec;
  spec.processing_time = true;
  spec.size_ms = 1000;
  spec.key_fields = {"origin"};
  spec.aggregates = {{"n", AggregateKind::kCount, ""}};
  spec.allowed_lateness_ms = 5;
  EXPECT_EQ(MakeWindowAggregate(InputSchema(), spec).status().message(),
            "allowed lateness applies to event-time windows only");
  spec.allowed_lateness_ms = 0;
  spec.kind = WindowKind::kSession;
  EXPECT_EQ(MakeWindowAggregate(InputSchema(), spec).status().message(),
            "session windows need event time (processing-time sessions are not supported)");
}

}  // namespace
}  // namespace sluice::operators

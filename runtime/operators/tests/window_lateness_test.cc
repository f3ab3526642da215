// Allowed lateness (Flink's WindowedStream.allowedLateness): a fired window is kept until the
// watermark passes end - 1 + lateness; a late row within that time is added and the window
// fires again with the updated result; after it the window's state and timers are gone and
// rows for it are late (dropped and counted, or to the side output).

#include "gtest/gtest.h"
#include "runtime/operators/tests/window_test_util.h"
#include "runtime/operators/window_operator.h"
#include "runtime/state/keyed_state_backend.h"

namespace sluice::operators {
namespace {

using testing::AddRow;
using testing::CollectingOutput;
using testing::InputSchema;

class AllowedLatenessTest : public ::testing::Test {
 protected:
  void Open(WindowAggregateSpec spec) {
    spec.key_fields = {"origin"};
    spec.aggregates = {{"n", AggregateKind::kCount, ""}, {"total", AggregateKind::kSum, "delay"}};
    auto op = MakeWindowAggregate(InputSchema(), std::move(spec));
    ASSERT_TRUE(op.ok()) << op.status();
    op_ = *std::move(op);
    api::OperatorContext ctx;
    ctx.operator_name = "window";
    ctx.max_parallelism = 128;
    ctx.keyed_state = &backend_;
    ctx.metrics = &metrics_;
    ASSERT_TRUE(op_->Open(ctx).ok());
    empty_ = StateBytes();
  }
  // The backend's snapshot: after Open it holds the registered (empty) state only, so equal
  // bytes later mean no window contents and no timers are left.
  std::string StateBytes() {
    auto snap = backend_.Snapshot();
    EXPECT_TRUE(snap.ok()) << snap.status();
    return snap.ok() ? snap->bytes : "";
  }
  void Rows(std::vector<std::pair<int64_t, int64_t>> ts_delay) {
    core::RecordBatch in(InputSchema());
    for (auto [ts, delay] : ts_delay) AddRow(&in, ts, "ATL", delay, 0);
    ASSERT_TRUE(op_->ProcessBatch(in, out_).ok());
  }
  void Watermark(int64_t wm) { ASSERT_TRUE(op_->ProcessWatermark(wm, out_).ok()); }

  state::KeyedStateBackend backend_{128, core::KeyGroupRange{0, 127}};
  api::OperatorMetrics metrics_;
  std::unique_ptr<api::Operator> op_;
  CollectingOutput out_;
  std::string empty_;
};

TEST_F(AllowedLatenessTest, ALateRowWithinTheLatenessFiresTheWindowAgain) {
  WindowAggregateSpec spec;
  spec.size_ms = 1000;
  spec.allowed_lateness_ms = 500;
  Open(spec);
  Rows({{100, 1}, {200, 2}});
  Watermark(999);  // on-time firing
  ASSERT_EQ(out_.rows.size(), 1u);
  EXPECT_EQ(out_.rows[0], "ATL,1970-01-01T00:00:00Z,1970-01-01T00:00:01Z,2,3");

  Rows({{300, 10}});  // late, within the lateness: the window fires again at once
  ASSERT_EQ(out_.rows.size(), 2u);
  EXPECT_EQ(out_.rows[1], "ATL,1970-01-01T00:00:00Z,1970-01-01T00:00:01Z,3,13");
  EXPECT_EQ(out_.timestamps[1], 999);
  EXPECT_EQ(metrics_.late_records_dropped.load(), 0);

  Watermark(1499);  // the cleanup time: the window goes, without another row
  EXPECT_EQ(out_.rows.size(), 2u);
  EXPECT_EQ(backend_.NumEventTimeTimers(), 0u);
  EXPECT_EQ(StateBytes(), empty_) << "window state must be purged";

  Rows({{400, 100}});  // beyond the lateness: late
  EXPECT_EQ(out_.rows.size(), 2u);
  EXPECT_EQ(metrics_.late_records_dropped.load(), 1);
  EXPECT_EQ(StateBytes(), empty_);
}

TEST_F(AllowedLatenessTest, AWindowFirstSeenAfterItsEndFiresAtOnceAndIsCleanedUp) {
  WindowAggregateSpec spec;
  spec.size_ms = 1000;
  spec.allowed_lateness_ms = 2000;
  Open(spec);
  Watermark(1500);
  Rows({{700, 5}});  // its window [0, 1000) never had a row; it is late but within lateness
  ASSERT_EQ(out_.rows.size(), 1u);
  EXPECT_EQ(out_.rows[0], "ATL,1970-01-01T00:00:00Z,1970-01-01T00:00:01Z,1,5");
  EXPECT_EQ(backend_.NumEventTimeTimers(), 1u) << "only the cleanup timer";
  Watermark(2999);
  EXPECT_EQ(out_.rows.size(), 1u);
  EXPECT_EQ(StateBytes(), empty_);
}

TEST_F(AllowedLatenessTest, WithoutLatenessAFiredWindowIsPurgedAtOnce) {
  WindowAggregateSpec spec;
  spec.kind = WindowKind::kSliding;
  spec.size_ms = 2000;
  spec.slide_ms = 1000;
  Open(spec);
  Rows({{1500, 1}});
  Watermark(1999);
  EXPECT_EQ(out_.rows.size(), 1u);  // [0, 2000)
  EXPECT_EQ(backend_.NumEventTimeTimers(), 1u);  // [1000, 3000) still open
  Watermark(2999);
  EXPECT_EQ(out_.rows.size(), 2u);
  EXPECT_EQ(StateBytes(), empty_);
}

TEST(AllowedLateness, NegativeLatenessIsRefused) {
  WindowAggregateSpec spec;
  spec.size_ms = 1000;
  spec.allowed_lateness_ms = -1;
  spec.key_fields = {"origin"};
  spec.aggregates = {{"n", AggregateKind::kCount, ""}};
  EXPECT_EQ(MakeWindowAggregate(InputSchema(), spec).status().message(),
            "allowed lateness must be >= 0 ms, got -1 ms");
}

}  // namespace
}  // namespace sluice::operators

#include "runtime/operators/window_operator.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/core/key_groups.h"
#include "runtime/core/key_selector.h"
#include "runtime/core/record_batch.h"
#include "runtime/operators/tests/window_test_util.h"
#include "runtime/state/keyed_state_backend.h"

namespace sluice::operators {
namespace {

using core::Field;
using core::RecordBatch;
using core::Schema;
using core::SchemaPtr;
using core::Type;
using testing::AddRow;
using testing::AllAggregates;
using testing::CollectingOutput;
using testing::InputSchema;
using testing::Make;

std::string Error(WindowAggregateSpec spec) {
  auto op = MakeWindowAggregate(InputSchema(), std::move(spec));
  EXPECT_FALSE(op.ok());
  if (op.ok()) return "";
  EXPECT_EQ(op.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(op.status().message());
}

TEST(TumblingWindow, OutputSchemaHasKeysWindowBoundsAndAggregates) {
  auto op = MakeWindowAggregate(InputSchema(), AllAggregates(1000));
  ASSERT_TRUE(op.ok()) << op.status();
  Schema expected(std::vector<Field>{{"origin", Type::kString},
                                     {"window_start", Type::kTimestamp},
                                     {"window_end", Type::kTimestamp},
                                     {"n", Type::kInt64},
                                     {"sum_delay", Type::kInt64},
                                     {"min_delay", Type::kInt64},
                                     {"max_delay", Type::kInt64},
                                     {"avg_delay", Type::kDouble},
                                     {"sum_dist", Type::kDouble},
                                     {"max_date", Type::kTimestamp}});
  EXPECT_EQ(*(*op)->output_schema(), expected) << (*op)->output_schema()->ToString();
}

TEST(TumblingWindow, AggregatesPerKeyAndWindow) {
  api::OperatorMetrics metrics;
  auto op = Make(AllAggregates(1000), &metrics);
  RecordBatch in(InputSchema());
  AddRow(&in, 100, "ATL", 10, 1.5);
  AddRow(&in, 200, "ORD", -3, 2.0);
  AddRow(&in, 999, "ATL", 4, 0.5);
  AddRow(&in, 1000, "ATL", 7, 1.0);  // next window
  AddRow(&in, 500, "ATL", -1, 1.0);
  AddRow(&in, 2500, "ORD", 5, 3.0);
  CollectingOutput out;
  ASSERT_TRUE(op->ProcessBatch(in, out).ok());
  EXPECT_TRUE(out.rows.empty());
  ASSERT_TRUE(op->ProcessWatermark(api::kMaxWatermark, out).ok());
  ASSERT_TRUE(op->Finish(out).ok());

  // Fired in window-end order; ATL and ORD share the first end, so sort those two.
  ASSERT_EQ(out.rows.size(), 4u);
  std::vector<std::string> first(out.rows.begin(), out.rows.begin() + 2);
  std::sort(first.begin(), first.end());
  EXPECT_EQ(first[0],
            "ATL,1970-01-01T00:00:00Z,1970-01-01T00:00:01Z,3,13,-1,10,4.333333333333333,3,"
            "1970-01-01T00:00:00.999Z");
  EXPECT_EQ(first[1],
            "ORD,1970-01-01T00:00:00Z,1970-01-01T00:00:01Z,1,-3,-3,-3,-3,2,"
            "1970-01-01T00:00:00.200Z");
  EXPECT_EQ(out.rows[2],
            "ATL,1970-01-01T00:00:01Z,1970-01-01T00:00:02Z,1,7,7,7,7,1,"
            "1970-01-01T00:00:01Z");
  EXPECT_EQ(out.rows[3],
            "ORD,1970-01-01T00:00:02Z,1970-01-01T00:00:03Z,1,5,5,5,5,3,"
            "1970-01-01T00:00:02.500Z");
  // Emitted rows carry the window's maxTimestamp.
  EXPECT_EQ(out.timestamps, (std::vector<int64_t>{999, 999, 1999, 2999}));
  EXPECT_EQ(out.watermarks, std::vector<int64_t>{api::kMaxWatermark});
  EXPECT_EQ(metrics.records_in.load(), 6);
  EXPECT_EQ(metrics.records_out.load(), 4);
  EXPECT_EQ(metrics.late_records_dropped.load(), 0);
}

TEST(TumblingWindow, AggregatesSkipNullsAndANullKeyIsAGroup) {
  auto op = Make(AllAggregates(1000));
  RecordBatch in(InputSchema());
  AddRow(&in, 100, "ATL", 10, 1.5);
  AddRow(&in, 200, "ATL", 0, 0);  // delay and distance null: not in sum, min, max or avg
  in.SetNull(1, 1);
  in.SetNull(1, 3);
  AddRow(&in, 300, "ATL", -4, 2.5);
  AddRow(&in, 400, "", 5, 0);  // null key, null distance only
  in.SetNull(3, 2);
  in.SetNull(3, 3);
  AddRow(&in, 500, "ORD", 0, 0);  // every aggregated field null
  in.SetNull(4, 1);
  in.SetNull(4, 3);
  CollectingOutput out;
  ASSERT_TRUE(op->ProcessBatch(in, out).ok());
  ASSERT_TRUE(op->ProcessWatermark(api::kMaxWatermark, out).ok());
  std::vector<std::string> rows = out.rows;
  std::sort(rows.begin(), rows.end());
  ASSERT_EQ(rows.size(), 3u);
  // count(*) counts rows; avg divides by the non-null delays (2); all-null aggregates are null.
  EXPECT_EQ(rows[0], ",1970-01-01T00:00:00Z,1970-01-01T00:00:01Z,1,5,5,5,5,,"
                     "1970-01-01T00:00:00.400Z");
  EXPECT_EQ(rows[1], "ATL,1970-01-01T00:00:00Z,1970-01-01T00:00:01Z,3,6,-4,10,3,4,"
                     "1970-01-01T00:00:00.300Z");
  EXPECT_EQ(rows[2], "ORD,1970-01-01T00:00:00Z,1970-01-01T00:00:01Z,1,,,,,,"
                     "1970-01-01T00:00:00.500Z");
}

TEST(TumblingWindow, AvgOfDoubleAndCompositeKey) {
  WindowAggregateSpec spec;
  spec.size_ms = 60'000;
  spec.key_fields = {"origin", "delay"};
  spec.aggregates = {{"avg_dist", AggregateKind::kAvg, "distance"},
                     {"min_dist", AggregateKind::kMin, "distance"}};
  auto op = Make(spec);
  RecordBatch in(InputSchema());
  AddRow(&in, 1, "SFO", 5, 1.0);
  AddRow(&in, 2, "SFO", 5, 2.0);
  AddRow(&in, 3, "SFO", 6, 8.0);
  CollectingOutput out;
  ASSERT_TRUE(op->ProcessBatch(in, out).ok());
  ASSERT_TRUE(op->ProcessWatermark(59'999, out).ok());
  ASSERT_EQ(out.rows.size(), 2u);
  std::sort(out.rows.begin(), out.rows.end());
  EXPECT_EQ(out.rows[0], "SFO,5,1970-01-01T00:00:00Z,1970-01-01T00:01:00Z,1.5,1");
  EXPECT_EQ(out.rows[1], "SFO,6,1970-01-01T00:00:00Z,1970-01-01T00:01:00Z,8,8");
}

TEST(TumblingWindow, FiresOnlyOnceWatermarkReachesEndMinusOne) {
  WindowAggregateSpec spec = AllAggregates(1000);
  auto op = Make(spec);
  RecordBatch in(InputSchema());
  AddRow(&in, 10, "ATL", 1, 1);
  AddRow(&in, 1010, "ATL", 2, 1);
  CollectingOutput out;
  ASSERT_TRUE(op->ProcessBatch(in, out).ok());
  ASSERT_TRUE(op->ProcessWatermark(997, out).ok());
  ASSERT_TRUE(op->ProcessWatermark(998, out).ok());
  EXPECT_TRUE(out.rows.empty());
  EXPECT_EQ(out.batches, 0);
  ASSERT_TRUE(op->ProcessWatermark(999, out).ok());  // == end - 1 of [0, 1000)
  ASSERT_EQ(out.rows.size(), 1u);
  EXPECT_EQ(out.timestamps[0], 999);
  ASSERT_TRUE(op->ProcessWatermark(1998, out).ok());
  EXPECT_EQ(out.rows.size(), 1u);
  ASSERT_TRUE(op->ProcessWatermark(5000, out).ok());
  ASSERT_EQ(out.rows.size(), 2u);
  EXPECT_EQ(out.timestamps[1], 1999);
  // Watermarks are forwarded after the windows they fire.
  EXPECT_EQ(out.watermarks, (std::vector<int64_t>{997, 998, 999, 1998, 5000}));
  // A fired window is purged: nothing left for Finish.
  ASSERT_TRUE(op->Finish(out).ok());
  EXPECT_EQ(out.rows.size(), 2u);
}

TEST(TumblingWindow, LateRecordIsDroppedAndCounted) {
  api::OperatorMetrics metrics;
  auto op = Make(AllAggregates(1000), &metrics);
  CollectingOutput out;
  RecordBatch in(InputSchema());
  AddRow(&in, 100, "ATL", 1, 1);
  ASSERT_TRUE(op->ProcessBatch(in, out).ok());
  ASSERT_TRUE(op->ProcessWatermark(999, out).ok());
  ASSERT_EQ(out.rows.size(), 1u);

  in.Clear();
  AddRow(&in, 500, "ATL", 100, 1);  // window [0,1000) already fired: late
  AddRow(&in, 999, "ORD", 100, 1);  // same window, other key: also late
  AddRow(&in, 1000, "ATL", 3, 1);   // window [1000,2000): on time
  ASSERT_TRUE(op->ProcessBatch(in, out).ok());
  EXPECT_EQ(metrics.late_records_dropped.load(), 2);
  EXPECT_EQ(metrics.records_in.load(), 4);
  ASSERT_TRUE(op->ProcessWatermark(api::kMaxWatermark, out).ok());
  ASSERT_EQ(out.rows.size(), 2u);
  EXPECT_EQ(out.rows[1],
            "ATL,1970-01-01T00:00:01Z,1970-01-01T00:00:02Z,1,3,3,3,3,1,1970-01-01T00:00:01Z");
}

TEST(TumblingWindow, WindowStartMatchesFlinkIncludingNegatives) {
  EXPECT_EQ(WindowStartWithOffset(0, 0, 1000), 0);
  EXPECT_EQ(WindowStartWithOffset(999, 0, 1000), 0);
  EXPECT_EQ(WindowStartWithOffset(1000, 0, 1000), 1000);
  EXPECT_EQ(WindowStartWithOffset(-1, 0, 1000), -1000);
  EXPECT_EQ(WindowStartWithOffset(-1000, 0, 1000), -1000);
  EXPECT_EQ(WindowStartWithOffset(-1001, 0, 1000), -2000);
  EXPECT_EQ(WindowStartWithOffset(-2500, 0, 1000), -3000);
  EXPECT_EQ(WindowStartWithOffset(1100, 200, 1000), 200);
  EXPECT_EQ(WindowStartWithOffset(150, 200, 1000), -800);
  EXPECT_EQ(WindowStartWithOffset(150, -200, 1000), -200);
}

TEST(TumblingWindow, NegativeTimestampsWindowCorrectly) {
  WindowAggregateSpec spec;
  spec.size_ms = 1000;
  spec.key_fields = {"origin"};
  spec.aggregates = {{"n", AggregateKind::kCount, ""}, {"sum", AggregateKind::kSum, "delay"}};
  auto op = Make(spec);
  RecordBatch in(InputSchema());
  AddRow(&in, -1, "ATL", 1, 1);
  AddRow(&in, -1000, "ATL", 2, 1);
  AddRow(&in, -1001, "ATL", 4, 1);
  AddRow(&in, -2500, "ATL", 8, 1);
  CollectingOutput out;
  ASSERT_TRUE(op->ProcessBatch(in, out).ok());
  ASSERT_TRUE(op->ProcessWatermark(-1001, out).ok());  // fires [-3000,-2000) and [-2000,-1000)
  EXPECT_EQ(out.rows.size(), 2u);
  ASSERT_TRUE(op->ProcessWatermark(api::kMaxWatermark, out).ok());
  ASSERT_EQ(out.rows.size(), 3u);
  EXPECT_EQ(out.timestamps, (std::vector<int64_t>{-2001, -1001, -1}));
  EXPECT_EQ(out.rows[0], "ATL,1969-12-31T23:59:57Z,1969-12-31T23:59:58Z,1,8");
  EXPECT_EQ(out.rows[1], "ATL,1969-12-31T23:59:58Z,1969-12-31T23:59:59Z,1,4");
  EXPECT_EQ(out.rows[2], "ATL,1969-12-31T23:59:59Z,1970-01-01T00:00:00Z,2,3");
}

TEST(TumblingWindow, OffsetShiftsWindows) {
  WindowAggregateSpec spec = AllAggregates(1000);
  spec.offset_ms = 200;
  auto op = Make(spec);
  RecordBatch in(InputSchema());
  AddRow(&in, 150, "ATL", 1, 1);   // [-800, 200)
  AddRow(&in, 1100, "ATL", 2, 1);  // [200, 1200)
  CollectingOutput out;
  ASSERT_TRUE(op->ProcessBatch(in, out).ok());
  ASSERT_TRUE(op->ProcessWatermark(199, out).ok());
  ASSERT_EQ(out.rows.size(), 1u);
  EXPECT_EQ(out.timestamps[0], 199);
  ASSERT_TRUE(op->ProcessWatermark(1199, out).ok());
  ASSERT_EQ(out.rows.size(), 2u);
  EXPECT_EQ(out.timestamps[1], 1199);
}

TEST(TumblingWindow, ManyWindowsAreEmittedInBoundedBatches) {
  WindowAggregateSpec spec;
  spec.size_ms = 10;
  spec.key_fields = {"delay"};
  spec.aggregates = {{"n", AggregateKind::kCount, ""}};
  auto op = Make(spec);
  RecordBatch in(InputSchema());
  for (int k = 0; k < 2500; ++k) AddRow(&in, 5, "X", k, 0);
  CollectingOutput out;
  ASSERT_TRUE(op->ProcessBatch(in, out).ok());
  ASSERT_TRUE(op->ProcessWatermark(9, out).ok());
  EXPECT_EQ(out.rows.size(), 2500u);
  EXPECT_EQ(out.batches, 3);  // 1024 + 1024 + 452
}

TEST(TumblingWindow, FinishFiresRemainingWindows) {
  auto op = Make(AllAggregates(1000));
  RecordBatch in(InputSchema());
  AddRow(&in, 5, "ATL", 1, 1);
  CollectingOutput out;
  ASSERT_TRUE(op->ProcessBatch(in, out).ok());
  ASSERT_TRUE(op->Finish(out).ok());
  EXPECT_EQ(out.rows.size(), 1u);
  EXPECT_TRUE(out.watermarks.empty());
}

TEST(TumblingWindow, RecordWithoutTimestampFails) {
  auto op = Make(AllAggregates(1000));
  RecordBatch in(InputSchema());
  AddRow(&in, core::kNoTimestamp, "ATL", 1, 1);
  CollectingOutput out;
  absl::Status st = op->ProcessBatch(in, out);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "window needs event time: record has no timestamp (declare event-time on the "
            "source)");
}

TEST(TumblingWindow, ValidationErrors) {
  WindowAggregateSpec spec = AllAggregates(1000);
  spec.aggregates = {{"avg_delay", AggregateKind::kAvg, "delays"}};
  EXPECT_EQ(Error(spec),
            "aggregate 'avg_delay': unknown field 'delays' (fields: date, delay, origin, "
            "distance)");

  spec.aggregates = {{"x", AggregateKind::kSum, "origin"}};
  EXPECT_EQ(Error(spec), "aggregate 'x': sum needs an int64 or double field, 'origin' is string");
  spec.aggregates = {{"x", AggregateKind::kAvg, "date"}};
  EXPECT_EQ(Error(spec), "aggregate 'x': avg needs an int64 or double field, 'date' is timestamp");
  spec.aggregates = {{"x", AggregateKind::kFirst, "origin"}};
  EXPECT_EQ(Error(spec),
            "aggregate 'x': first needs an int64, double or timestamp field, 'origin' is string");

  spec = AllAggregates(0);
  EXPECT_EQ(Error(spec), "tumbling window size must be > 0 ms, got 0 ms");
  spec = AllAggregates(1000);
  spec.offset_ms = 1000;
  EXPECT_EQ(Error(spec),
            "tumbling window offset must satisfy |offset| < size, got offset 1000 ms, size "
            "1000 ms");

  spec = AllAggregates(1000);
  spec.aggregates.push_back({"n", AggregateKind::kMax, "delay"});
  EXPECT_EQ(Error(spec),
            "duplicate output field 'n' in window aggregate (output fields are the key fields, "
            "window_start, window_end and the aggregates' output names)");
  spec.aggregates = {{"window_end", AggregateKind::kCount, ""}};
  EXPECT_EQ(Error(spec).substr(0, 40), "duplicate output field 'window_end' in w");

  spec = AllAggregates(1000);
  spec.key_fields = {"dest"};
  EXPECT_EQ(Error(spec), "unknown key field 'dest' (fields: date, delay, origin, distance)");
}

TEST(TumblingWindow, AggregateKindNamesRoundTrip) {
  for (AggregateKind k : {AggregateKind::kCount, AggregateKind::kSum, AggregateKind::kMin,
                          AggregateKind::kMax, AggregateKind::kAvg}) {
    EXPECT_EQ(ParseAggregateKind(AggregateKindName(k)), k);
  }
  EXPECT_EQ(ParseAggregateKind("median"), std::nullopt);
}

// --- Checkpoint / restore -------------------------------------------------------------------

// A deterministic stream: 3000 records over 40 origins, timestamps rising by ~7 ms with up to
// 300 ms of disorder, in batches of 100 records each followed by a watermark (max timestamp
// seen - 400). Record 1550 is late (far behind the watermark) to check that late-record
// dropping survives a restore. Steps [0, kSteps/2) go before the checkpoint.
struct Step {
  RecordBatch batch;
  int64_t watermark;
};
constexpr int kSteps = 30;

std::vector<Step> MakeStream() {
  std::vector<Step> steps;
  uint64_t rnd = 12345;
  auto next = [&]() {
    rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<int64_t>(rnd >> 33);
  };
  int64_t max_ts = 0;
  for (int s = 0; s < kSteps; ++s) {
    Step step{RecordBatch(InputSchema()), 0};
    for (int i = 0; i < 100; ++i) {
      const int n = s * 100 + i;
      int64_t ts = n * 7 + next() % 300;
      if (n == 1550) ts = 1000;  // window [1000, 2000) fired long before: late
      const std::string origin = "A" + std::to_string(next() % 40);
      AddRow(&step.batch, ts, origin, next() % 200 - 50, static_cast<double>(next() % 1000) / 8);
      max_ts = std::max(max_ts, ts);
    }
    step.watermark = max_ts - 400;
    steps.push_back(std::move(step));
  }
  return steps;
}

// Feeds steps [from, to) and, if `to` is the end, kMaxWatermark and Finish.
void Feed(api::Operator& op, std::vector<Step>& steps, int from, int to, CollectingOutput& out) {
  for (int s = from; s < to; ++s) {
    ASSERT_TRUE(op.ProcessBatch(steps[s].batch, out).ok());
    ASSERT_TRUE(op.ProcessWatermark(steps[s].watermark, out).ok());
  }
  if (to == kSteps) {
    ASSERT_TRUE(op.ProcessWatermark(api::kMaxWatermark, out).ok());
    ASSERT_TRUE(op.Finish(out).ok());
  }
}

std::unique_ptr<api::Operator> MakeWithBackend(state::KeyedStateBackend* backend,
                                          std::optional<std::string> restored,
                                          api::OperatorMetrics* metrics = nullptr,
                                          WindowAggregateSpec spec = AllAggregates(1000)) {
  auto op = MakeWindowAggregate(InputSchema(), std::move(spec));
  EXPECT_TRUE(op.ok()) << op.status();
  api::OperatorContext ctx;
  ctx.operator_name = "window";
  ctx.max_parallelism = 128;
  ctx.keyed_state = backend;
  ctx.restored_state = std::move(restored);
  ctx.metrics = metrics;
  absl::Status st = (*op)->Open(ctx);
  EXPECT_TRUE(st.ok()) << st;
  return std::move(op).value();
}

// Key group (max parallelism 128) of an output row's key, its first field (the origin).
int32_t KeyGroupOfRow(const std::string& row) {
  return core::ComputeKeyGroupForKeyHash(core::JavaStringHash(row.substr(0, row.find(','))), 128);
}

// What a checkpoint of the first half holds.
struct HalfwaySnapshot {
  std::string operator_state;
  state::KeyedStateSnapshot keyed;
  std::vector<std::string> rows_before;  // emitted before the checkpoint
};

HalfwaySnapshot RunFirstHalfAndSnapshot(std::vector<Step>& steps) {
  HalfwaySnapshot snap;
  state::KeyedStateBackend backend(128, core::KeyGroupRange{0, 127});
  auto op = MakeWithBackend(&backend, std::nullopt);
  CollectingOutput out;
  Feed(*op, steps, 0, kSteps / 2, out);
  auto op_state = op->SnapshotState(1);
  EXPECT_TRUE(op_state.ok()) << op_state.status();
  snap.operator_state = *op_state;
  auto keyed = backend.Snapshot();
  EXPECT_TRUE(keyed.ok()) << keyed.status();
  snap.keyed = std::move(keyed).value();
  snap.rows_before = out.rows;
  // Open windows and their timers are in the backend, not in the operator.
  EXPECT_GT(backend.NumEventTimeTimers(), 0u);
  op->Close();
  return snap;
}

TEST(TumblingWindowCheckpoint, RestoredRunEqualsUninterruptedRun) {
  std::vector<Step> steps = MakeStream();
  api::OperatorMetrics reference_metrics;
  auto reference = Make(AllAggregates(1000), &reference_metrics);  // private backend
  CollectingOutput expected;
  Feed(*reference, steps, 0, kSteps, expected);
  ASSERT_GT(expected.rows.size(), 100u);
  EXPECT_EQ(reference_metrics.late_records_dropped.load(), 1);

  HalfwaySnapshot snap = RunFirstHalfAndSnapshot(steps);
  ASSERT_FALSE(snap.rows_before.empty());
  ASSERT_LT(snap.rows_before.size(), expected.rows.size());

  state::KeyedStateBackend restored(128, core::KeyGroupRange{0, 127});
  ASSERT_TRUE(restored.Restore({snap.keyed.bytes}, {snap.keyed.key_group_offsets}).ok());
  api::OperatorMetrics metrics;
  auto op = MakeWithBackend(&restored, snap.operator_state, &metrics);
  CollectingOutput out;
  Feed(*op, steps, kSteps / 2, kSteps, out);

  std::vector<std::string> all = snap.rows_before;
  all.insert(all.end(), out.rows.begin(), out.rows.end());
  EXPECT_EQ(all, expected.rows);  // same rows in the same (deterministic) order
  // The restored watermark makes record 1550 late after the restore too.
  EXPECT_EQ(metrics.late_records_dropped.load(), 1);
  EXPECT_EQ(restored.NumEventTimeTimers(), 0u);
}

TEST(TumblingWindowCheckpoint, OperatorStateIsTheWatermark) {
  std::vector<Step> steps = MakeStream();
  HalfwaySnapshot snap = RunFirstHalfAndSnapshot(steps);
  ASSERT_EQ(snap.operator_state.size(), 8u);
  int64_t wm = 0;
  std::memcpy(&wm, snap.operator_state.data(), 8);
  EXPECT_EQ(wm, steps[kSteps / 2 - 1].watermark);
}

TEST(TumblingWindowCheckpoint, RestoreAtAnotherParallelismSplitsWindowsByKeyGroup) {
  std::vector<Step> steps = MakeStream();
  auto reference = Make(AllAggregates(1000));
  CollectingOutput expected;
  Feed(*reference, steps, 0, kSteps, expected);

  HalfwaySnapshot snap = RunFirstHalfAndSnapshot(steps);
  const size_t before = snap.rows_before.size();
  std::vector<std::string> expected_after(expected.rows.begin() + before, expected.rows.end());

  std::vector<std::string> together = snap.rows_before;
  for (int32_t subtask = 0; subtask < 2; ++subtask) {
    const core::KeyGroupRange range = core::ComputeKeyGroupRangeForOperatorIndex(128, 2, subtask);
    state::KeyedStateBackend backend(128, range);
    ASSERT_TRUE(backend.Restore({snap.keyed.bytes}, {snap.keyed.key_group_offsets}).ok());
    auto op = MakeWithBackend(&backend, snap.operator_state);

    // Route the second half as a keyed exchange would: only this subtask's key groups.
    std::vector<Step> mine;
    for (int s = 0; s < kSteps; ++s) {
      Step step{RecordBatch(InputSchema()), steps[s].watermark};
      if (s >= kSteps / 2) {
        for (size_t r = 0; r < steps[s].batch.num_rows(); ++r) {
          const int32_t kg = core::ComputeKeyGroupForKeyHash(
              core::JavaStringHash(steps[s].batch.GetString(r, 2)), 128);
          if (range.Contains(kg)) step.batch.AppendRowFrom(steps[s].batch, r);
        }
      }
      mine.push_back(std::move(step));
    }
    CollectingOutput out;
    Feed(*op, mine, kSteps / 2, kSteps, out);

    std::vector<std::string> want;
    for (const std::string& row : expected_after) {
      if (range.Contains(KeyGroupOfRow(row))) want.push_back(row);
    }
    ASSERT_FALSE(want.empty());
    for (const std::string& row : out.rows) {
      EXPECT_TRUE(range.Contains(KeyGroupOfRow(row))) << "subtask " << subtask << ": " << row;
    }
    // Within a subtask the firing order is the reference's order restricted to its keys.
    EXPECT_EQ(out.rows, want) << "subtask " << subtask;
    together.insert(together.end(), out.rows.begin(), out.rows.end());
  }
  std::vector<std::string> all = expected.rows;
  std::sort(all.begin(), all.end());
  std::sort(together.begin(), together.end());
  EXPECT_EQ(together, all);
}

TEST(TumblingWindowCheckpoint, RestoreWithOtherAggregatesFails) {
  std::vector<Step> steps = MakeStream();
  HalfwaySnapshot snap = RunFirstHalfAndSnapshot(steps);
  state::KeyedStateBackend backend(128, core::KeyGroupRange{0, 127});
  ASSERT_TRUE(backend.Restore({snap.keyed.bytes}, {snap.keyed.key_group_offsets}).ok());
  WindowAggregateSpec spec = AllAggregates(1000);
  spec.aggregates.pop_back();
  auto op = MakeWindowAggregate(InputSchema(), spec);
  ASSERT_TRUE(op.ok());
  api::OperatorContext ctx;
  ctx.operator_name = "window";
  ctx.keyed_state = &backend;
  absl::Status st = (*op)->Open(ctx);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
  EXPECT_NE(st.message().find("has 7 accumulators, but the operator's aggregates need 6"),
            std::string_view::npos)
      << st;
}

TEST(TumblingWindowCheckpoint, MalformedOperatorStateFails) {
  auto op = MakeWindowAggregate(InputSchema(), AllAggregates(1000));
  ASSERT_TRUE(op.ok());
  api::OperatorContext ctx;
  ctx.operator_name = "window";
  ctx.restored_state = std::string("abc");
  absl::Status st = (*op)->Open(ctx);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
  EXPECT_EQ(st.message(),
            "window operator 'window': restored operator state has 3 bytes, expected 8 (the "
            "current watermark)");
}

TEST(TumblingWindowCheckpoint, RecordOutsideTheKeyGroupRangeFails) {
  state::KeyedStateBackend backend(128, core::KeyGroupRange{0, 0});
  auto op = MakeWithBackend(&backend, std::nullopt);
  RecordBatch in(InputSchema());
  AddRow(&in, 5, "ATL", 1, 1);  // key group of "ATL" is not 0
  ASSERT_NE(core::ComputeKeyGroupForKeyHash(core::JavaStringHash("ATL"), 128), 0);
  CollectingOutput out;
  absl::Status st = op->ProcessBatch(in, out);
  EXPECT_EQ(st.code(), absl::StatusCode::kInternal) << st;
}

// The key group the hash partitioner computed travels with the batch and is used as it is (not
// hashed again) when its tag names this operator's key; otherwise the operator computes it.
TEST(TumblingWindowCheckpoint, UsesTheKeyGroupTheBatchCarriesForItsKey) {
  state::KeyedStateBackend backend(128, core::KeyGroupRange{0, 0});
  auto op = MakeWithBackend(&backend, std::nullopt);
  const auto selector = *core::KeySelector::Create(*InputSchema(), {"origin"});
  const uint16_t group0 = 0;  // not the key group of "ATL": proves the carried one is read
  CollectingOutput out;

  RecordBatch other_key(InputSchema());
  AddRow(&other_key, 5, "ATL", 1, 1);
  other_key.AppendKeyGroups(selector.KeyGroupTag(64), &group0, 1);  // another max parallelism
  EXPECT_EQ(op->ProcessBatch(other_key, out).code(), absl::StatusCode::kInternal);

  RecordBatch carried(InputSchema());
  AddRow(&carried, 5, "ATL", 1, 1);
  carried.AppendKeyGroups(selector.KeyGroupTag(128), &group0, 1);
  absl::Status st = op->ProcessBatch(carried, out);
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_TRUE(op->ProcessWatermark(api::kMaxWatermark, out).ok());
  ASSERT_EQ(out.rows.size(), 1u);
  EXPECT_EQ(out.rows[0].substr(0, 4), "ATL,");
}

}  // namespace
}  // namespace sluice::operators

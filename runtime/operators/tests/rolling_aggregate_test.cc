// Rolling aggregation (keyBy().sum() etc.): every row emits its key's updated aggregates with
// the row's timestamp; keys are independent; with a TTL a key not updated for that long starts
// from zero again; the accumulators survive a restore at another parallelism.

#include "runtime/operators/rolling_aggregate.h"

#include "gtest/gtest.h"
#include "runtime/base/clock.h"
#include "runtime/core/key_groups.h"
#include "runtime/operators/tests/window_test_util.h"

namespace sluice::operators {
namespace {

using testing::AddRow;
using testing::CollectingOutput;
using testing::InputSchema;

RollingAggregateSpec Spec(int64_t ttl_ms = 0) {
  return {{"origin"},
          {{"n", AggregateKind::kCount, ""},
           {"total", AggregateKind::kSum, "delay"},
           {"worst", AggregateKind::kMax, "delay"}},
          ttl_ms};
}

std::unique_ptr<api::Operator> Open(state::KeyedStateBackend* b, int64_t ttl_ms = 0) {
  auto op = MakeRollingAggregate(InputSchema(), Spec(ttl_ms));
  EXPECT_TRUE(op.ok()) << op.status();
  api::OperatorContext ctx;
  ctx.max_parallelism = 128;
  ctx.keyed_state = b;
  EXPECT_TRUE((*op)->Open(ctx).ok());
  return *std::move(op);
}

absl::Status Feed(api::Operator* op, std::vector<std::pair<std::string, int64_t>> rows,
                  CollectingOutput* out) {
  core::RecordBatch b(InputSchema());
  int64_t ts = 100;
  for (const auto& [origin, delay] : rows) AddRow(&b, ts++, origin, delay, 0);
  return op->ProcessBatch(b, *out);
}

TEST(RollingAggregate, EveryRowEmitsItsKeysUpdatedResult) {
  auto b = testing::NewTestBackend(false, {0, 127}, "unused");
  auto op = Open(b.get());
  EXPECT_EQ(op->output_schema()->FieldNames(), "origin, n, total, worst");
  CollectingOutput out;
  ASSERT_TRUE(Feed(op.get(), {{"ATL", 5}, {"ORD", 1}, {"ATL", 7}}, &out).ok());
  ASSERT_TRUE(Feed(op.get(), {{"ATL", -2}}, &out).ok());
  EXPECT_EQ(out.rows, (std::vector<std::string>{"ATL,1,5,5", "ORD,1,1,1", "ATL,2,12,7",
                                                 "ATL,3,10,7"}));
  EXPECT_EQ(out.timestamps, (std::vector<int64_t>{100, 101, 102, 100}));
}

TEST(RollingAggregate, AKeyIdleLongerThanTheTtlStartsOver) {
  ManualClock clock(1'000'000);
  auto b = testing::NewTestBackend(false, {0, 127}, "unused", &clock);
  auto op = Open(b.get(), /*ttl_ms=*/60'000);
  CollectingOutput out;
  ASSERT_TRUE(Feed(op.get(), {{"ATL", 5}}, &out).ok());
  clock.Advance(30'000);
  ASSERT_TRUE(Feed(op.get(), {{"ATL", 5}}, &out).ok());  // within the TTL: 2
  clock.Advance(61'000);
  ASSERT_TRUE(Feed(op.get(), {{"ATL", 1}}, &out).ok());  // expired: from zero
  EXPECT_EQ(out.rows, (std::vector<std::string>{"ATL,1,5,5", "ATL,2,10,5", "ATL,1,1,1"}));
}

TEST(RollingAggregate, AccumulatorsSurviveARestoreAtAnotherParallelism) {
  auto src = testing::NewTestBackend(false, {0, 127}, "unused");
  auto op = Open(src.get());
  const std::vector<std::string> keys = {"ATL", "ORD", "SFO", "JFK", "LAX", "DEN", "SEA"};
  std::vector<std::pair<std::string, int64_t>> rows;
  for (const auto& k : keys) rows.emplace_back(k, 10);
  CollectingOutput before;
  ASSERT_TRUE(Feed(op.get(), rows, &before).ok());
  auto snap = src->Snapshot();
  ASSERT_TRUE(snap.ok());
  CollectingOutput after;
  for (const core::KeyGroupRange range : {core::KeyGroupRange{0, 63}, {64, 127}}) {
    auto dst = testing::NewTestBackend(false, range, "unused");
    ASSERT_TRUE(dst->Restore({snap->bytes}, {snap->key_group_offsets}).ok());
    auto restored = Open(dst.get());
    std::vector<std::pair<std::string, int64_t>> mine;
    for (const auto& k : keys) {
      if (range.Contains(core::ComputeKeyGroupForKeyHash(core::JavaStringHash(k), 128))) {
        mine.emplace_back(k, 20);
      }
    }
    ASSERT_TRUE(Feed(restored.get(), mine, &after).ok());
  }
  ASSERT_EQ(after.rows.size(), keys.size());
  for (const std::string& row : after.rows) EXPECT_EQ(row.substr(3), ",2,30,20") << row;
}

TEST(RollingAggregate, BadSpecsAreRefused) {
  auto spec = Spec();
  spec.aggregates.push_back({"origin", AggregateKind::kCount, ""});
  EXPECT_EQ(MakeRollingAggregate(InputSchema(), spec).status().message(),
            "duplicate output field 'origin' in aggregate (output fields are the key fields and "
            "the aggregates' output names)");
  EXPECT_FALSE(MakeRollingAggregate(InputSchema(), Spec(-1)).ok());
}

std::unique_ptr<api::Operator> OpenSpec(const RollingAggregateSpec& spec,
                                        state::KeyedStateBackend* b) {
  auto op = MakeRollingAggregate(InputSchema(), spec);
  EXPECT_TRUE(op.ok()) << op.status();
  api::OperatorContext ctx;
  ctx.max_parallelism = 128;
  ctx.keyed_state = b;
  EXPECT_TRUE((*op)->Open(ctx).ok());
  return *std::move(op);
}

TEST(RollingAggregate, ChangelogRetractsThePreviousResult) {
  auto b = testing::NewTestBackend(false, {0, 127}, "unused");
  RollingAggregateSpec spec{{"origin"}, {{"total", AggregateKind::kSum, "delay"}}, 0};
  spec.changelog = true;
  auto op = OpenSpec(spec, b.get());
  CollectingOutput out;
  core::RecordBatch in(InputSchema());
  AddRow(&in, 1, "ATL", 5, 0);
  AddRow(&in, 2, "ATL", 7, 0);
  AddRow(&in, 3, "ORD", 1, 0);
  ASSERT_TRUE(op->ProcessBatch(in, out).ok());
  // The output keeps each row's kind: +I first, then -U old / +U new.
  EXPECT_EQ(out.rows, (std::vector<std::string>{"ATL,5", "ATL,5", "ATL,12", "ORD,1"}));
}

// An updating input: -U/-D rows subtract what +I/+U added; a key without rows is deleted.
TEST(RollingAggregate, RetractionsOfAnUpdatingInputSubtract) {
  auto b = testing::NewTestBackend(false, {0, 127}, "unused");
  RollingAggregateSpec spec{{"origin"},
                            {{"n", AggregateKind::kCount, ""},
                             {"total", AggregateKind::kSum, "delay"},
                             {"mean", AggregateKind::kAvg, "delay"}},
                            0};
  spec.changelog = true;
  spec.retract_input = true;
  auto op = OpenSpec(spec, b.get());
  core::RecordBatch in(InputSchema());
  AddRow(&in, 1, "ATL", 4, 0);
  AddRow(&in, 2, "ATL", 8, 0);
  AddRow(&in, 3, "ATL", 4, 0);
  in.SetRowKind(2, core::RowKind::kUpdateBefore);  // takes the 4 back
  AddRow(&in, 4, "ATL", 8, 0);
  in.SetRowKind(3, core::RowKind::kDelete);         // and the 8: nothing left
  struct Kinds : api::Output {
    absl::Status Emit(const core::RecordBatch& batch) override {
      for (size_t r = 0; r < batch.num_rows(); ++r) {
        rows.push_back(std::string(core::ShortString(batch.row_kind(r))) + batch.RowToString(r));
      }
      return absl::OkStatus();
    }
    absl::Status EmitWatermark(int64_t) override { return absl::OkStatus(); }
    std::vector<std::string> rows;
  } out;
  ASSERT_TRUE(op->ProcessBatch(in, out).ok());
  EXPECT_EQ(out.rows, (std::vector<std::string>{"+IATL,1,4,4", "-UATL,1,4,4", "+UATL,2,12,6",
                                                "-UATL,2,12,6", "+UATL,1,8,8", "-DATL,1,8,8"}));
  // Functions that cannot take a row back are refused.
  RollingAggregateSpec max_spec{{"origin"}, {{"m", AggregateKind::kMax, "delay"}}, 0};
  max_spec.changelog = true;
  max_spec.retract_input = true;
  EXPECT_NE(std::string(MakeRollingAggregate(InputSchema(), max_spec).status().message())
                .find("max() cannot take back"),
            std::string::npos);
}

}  // namespace
}  // namespace sluice::operators

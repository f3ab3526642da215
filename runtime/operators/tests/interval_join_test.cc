// Interval join (Flink's IntervalJoinOperator): a left row at ta joins every right row of its
// key at tb with ta + lower <= tb <= ta + upper, whichever arrives first; late rows are dropped
// and counted; buffered rows are cleaned up by timers so state returns to empty; buffers
// survive a restore at another parallelism. On the heap and on RocksDB.

#include "runtime/operators/interval_join.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "gtest/gtest.h"
#include "runtime/base/clock.h"
#include "runtime/core/key_groups.h"
#include "runtime/operators/tests/window_test_util.h"
#include "runtime/state/keyed_state_backend.h"

namespace sluice::operators {
namespace {

using core::Field;
using core::RecordBatch;
using core::Type;
using testing::AddRow;
using testing::CollectingOutput;
using testing::InputSchema;

constexpr int64_t kSec = 1000;

core::SchemaPtr RightSchema() {
  return std::make_shared<const core::Schema>(
      std::vector<Field>{{"origin", Type::kString}, {"gate", Type::kInt64}});
}

class IntervalJoinTest : public ::testing::TestWithParam<bool> {
 protected:
  std::unique_ptr<state::KeyedStateBackend> NewBackend(core::KeyGroupRange range,
                                                       const Clock* clock = nullptr) {
    return testing::NewTestBackend(GetParam(), range, "sluice-ijoin", clock);
  }
  // Between -2 s and +3 s, keyed by origin on both sides (or a regular join with `spec`).
  std::unique_ptr<api::Operator> Open(
      state::KeyedStateBackend* b, std::optional<std::string> restored = std::nullopt,
      IntervalJoinSpec spec = {{"origin"}, {"origin"}, -2 * kSec, 3 * kSec, "right_"}) {
    auto op = MakeIntervalJoin(InputSchema(), RightSchema(), spec);
    EXPECT_TRUE(op.ok()) << op.status();
    api::OperatorContext ctx;
    ctx.operator_name = "join";
    ctx.max_parallelism = 128;
    ctx.keyed_state = b;
    ctx.metrics = &metrics_;
    ctx.restored_state = std::move(restored);
    EXPECT_TRUE((*op)->Open(ctx).ok());
    return *std::move(op);
  }
  void Left(api::Operator* op, std::vector<std::tuple<std::string, int64_t, int64_t>> rows) {
    RecordBatch b(InputSchema());
    for (const auto& [origin, sec, delay] : rows) AddRow(&b, sec * kSec, origin, delay, 0);
    absl::Status st = op->ProcessInput(0, b, out_);
    ASSERT_TRUE(st.ok()) << st;
  }
  void Right(api::Operator* op, std::vector<std::tuple<std::string, int64_t, int64_t>> rows) {
    RecordBatch b(RightSchema());
    for (const auto& [origin, sec, gate] : rows) {
      const size_t r = b.AppendRow(sec * kSec);
      b.SetString(r, 0, origin);
      b.SetInt64(r, 1, gate);
    }
    absl::Status st = op->ProcessInput(1, b, out_);
    ASSERT_TRUE(st.ok()) << st;
  }
  // "origin delay gate @ts-seconds" per output row, sorted.
  std::vector<std::string> Pairs() {
    std::vector<std::string> v;
    for (size_t i = 0; i < out_.rows.size(); ++i) {
      const std::string& row = out_.rows[i];
      std::vector<std::string> f;
      size_t start = 0;
      for (size_t p; (p = row.find(',', start)) != std::string::npos; start = p + 1) {
        f.push_back(row.substr(start, p - start));
      }
      f.push_back(row.substr(start));
      v.push_back(f[2] + " " + f[1] + " " + f[5] + " @" + std::to_string(out_.timestamps[i] / kSec));
    }
    std::sort(v.begin(), v.end());
    return v;
  }

  api::OperatorMetrics metrics_;
  CollectingOutput out_;
};

TEST_P(IntervalJoinTest, JoinsRowsWithinTheBoundsWhicheverSideArrivesFirst) {
  auto b = NewBackend({0, 127});
  auto op = Open(b.get());
  EXPECT_EQ(op->output_schema()->FieldNames(), "date, delay, origin, distance, right_origin, gate");
  Right(op.get(), {{"ATL", 7, 1}, {"ATL", 8, 2}, {"ORD", 10, 3}});  // before the left row
  Left(op.get(), {{"ATL", 10, 100}});
  Right(op.get(), {{"ATL", 13, 4}, {"ATL", 14, 5}, {"ATL", 10, 6}});  // after it
  EXPECT_EQ(Pairs(), (std::vector<std::string>{"ATL 100 2 @10", "ATL 100 4 @13", "ATL 100 6 @10"}))
      << "7 s is below 10 - 2, 14 s above 10 + 3, ORD another key";
}

TEST_P(IntervalJoinTest, LateRowsAreDroppedAndStateEmptiesAfterCleanup) {
  auto b = NewBackend({0, 127});
  auto op = Open(b.get());
  const std::string empty = b->Snapshot()->bytes;
  Left(op.get(), {{"ATL", 10, 1}});
  Right(op.get(), {{"ATL", 20, 2}});
  EXPECT_EQ(b->NumEventTimeTimers(), 2u);
  ASSERT_TRUE(op->ProcessWatermark(15 * kSec, out_).ok());  // left's cleanup at 13 s has run
  Right(op.get(), {{"ATL", 12, 3}, {"ATL", 16, 4}});  // 12 s is late; 16 s would match nothing
  EXPECT_EQ(metrics_.late_records_dropped.load(), 1);
  Left(op.get(), {{"ATL", 17, 5}});  // matches the right rows at 16 and 20
  EXPECT_EQ(Pairs(), (std::vector<std::string>{"ATL 5 2 @20", "ATL 5 4 @17"}));
  ASSERT_TRUE(op->ProcessWatermark(30 * kSec, out_).ok());
  EXPECT_EQ(b->NumEventTimeTimers(), 0u);
  EXPECT_EQ(b->Snapshot()->bytes, empty) << "buffered rows must be cleaned up";
}

TEST_P(IntervalJoinTest, BufferedRowsJoinAfterARestoreAtAnotherParallelism) {
  auto src = NewBackend({0, 127});
  auto op = Open(src.get());
  const std::vector<std::string> keys = {"ATL", "ORD", "SFO", "JFK", "LAX", "DEN", "SEA"};
  std::vector<std::tuple<std::string, int64_t, int64_t>> lefts;
  for (size_t i = 0; i < keys.size(); ++i) lefts.emplace_back(keys[i], 10, int64_t(i));
  Left(op.get(), lefts);
  ASSERT_TRUE(op->ProcessWatermark(9 * kSec, out_).ok());
  auto snap = src->Snapshot();
  auto wm = op->SnapshotState(1);
  ASSERT_TRUE(snap.ok() && wm.ok());
  op->Close();

  for (const core::KeyGroupRange range : {core::KeyGroupRange{0, 63}, {64, 127}}) {
    auto dst = NewBackend(range);
    ASSERT_TRUE(dst->Restore({snap->bytes}, {snap->key_group_offsets}).ok());
    auto restored = Open(dst.get(), *wm);
    std::vector<std::tuple<std::string, int64_t, int64_t>> mine;
    for (const std::string& k : keys) {
      if (range.Contains(core::ComputeKeyGroupForKeyHash(core::JavaStringHash(k), 128))) {
        mine.emplace_back(k, 11, 7);
        mine.emplace_back(k, 8, 8);  // late after the restored watermark (9 s)
      }
    }
    Right(restored.get(), mine);
    restored->Close();
  }
  EXPECT_EQ(out_.rows.size(), keys.size());
  EXPECT_EQ(metrics_.late_records_dropped.load(), static_cast<int64_t>(keys.size()));
}

TEST_P(IntervalJoinTest, RegularJoinPairsRowsOfAnyTimeAndForgetsThemAfterTheTtl) {
  ManualClock clock(1'000'000);
  auto b = NewBackend({0, 127}, &clock);
  IntervalJoinSpec spec{{"origin"}, {"origin"}, 0, 0, "right_"};
  spec.bounded = false;
  spec.state_ttl_ms = 60'000;
  auto op = Open(b.get(), std::nullopt, spec);
  const std::string empty = b->Snapshot()->bytes;
  Left(op.get(), {{"ATL", 1000, 1}});
  ASSERT_TRUE(op->ProcessWatermark(5000 * kSec, out_).ok());
  Right(op.get(), {{"ATL", 1, 2}, {"ORD", 1, 3}});  // far apart in time, yet a pair; not late
  clock.Advance(30'000);
  Left(op.get(), {{"ATL", 7, 4}});  // pairs with the right row buffered 30 s ago
  EXPECT_EQ(Pairs(), (std::vector<std::string>{"ATL 1 2 @1000", "ATL 4 2 @7"}));
  EXPECT_EQ(metrics_.late_records_dropped.load(), 0);
  EXPECT_EQ(b->NumEventTimeTimers(), 0u);
  clock.Advance(61'000);  // every buffered row is older than the TTL now
  out_.rows.clear();
  out_.timestamps.clear();
  Right(op.get(), {{"ATL", 9, 5}});
  EXPECT_TRUE(Pairs().empty()) << Pairs().front();
  clock.Advance(61'000);
  // Expired rows are not in snapshots: a backend restored from one holds nothing. (The live
  // heap drops them on access and by incremental cleanup.)
  auto snap = b->Snapshot();
  ASSERT_TRUE(snap.ok());
  auto restored = NewBackend({0, 127}, &clock);
  ASSERT_TRUE(restored->Restore({snap->bytes}, {snap->key_group_offsets}).ok());
  auto op2 = Open(restored.get(), std::nullopt, spec);
  EXPECT_TRUE(restored->Snapshot()->bytes == empty) << "expired rows must not be restored";
}

INSTANTIATE_TEST_SUITE_P(Storages, IntervalJoinTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "RocksDb" : "Heap"; });

TEST(IntervalJoin, BadSpecsAreRefused) {
  auto err = [](IntervalJoinSpec s) {
    return std::string(MakeIntervalJoin(InputSchema(), RightSchema(), s).status().message());
  };
  EXPECT_EQ(err({{"origin"}, {"origin"}, 5, 1, "r_"}),
            "interval join: lower bound 5 ms is above upper bound 1 ms");
  EXPECT_EQ(err({{"delay"}, {"origin"}, 0, 1, "r_"}),
            "interval join: left key field 'delay' is int64 but right key field 'origin' is "
            "string; join keys must have the same types");
  EXPECT_EQ(err({{"origin"}, {"nope"}, 0, 1, "r_"}),
            "interval join: right unknown key field 'nope' (fields: origin, gate)");
  EXPECT_EQ(err({{"origin"}, {"origin"}, 0, 1, ""}),
            "interval join: output field 'origin' is taken twice (right fields whose names the "
            "left has get the prefix '')");
}

}  // namespace
}  // namespace sluice::operators

namespace sluice::operators {
namespace {

// Window join: rows of one key pair once per shared window, stamped end - 1; rows in other
// windows do not pair; a row whose windows all fired is late; state empties after the last
// window ends.
TEST(WindowJoin, PairsRowsOfTheSameKeyOncePerSharedWindow) {
  auto b = testing::NewTestBackend(false, {0, 127}, "sluice-wjoin");
  IntervalJoinSpec spec{{"origin"}, {"origin"}, 0, 0, "right_"};
  spec.window = *WindowAssigner::Sliding(10 * kSec, 5 * kSec);
  auto made = MakeIntervalJoin(InputSchema(), RightSchema(), spec);
  ASSERT_TRUE(made.ok()) << made.status();
  auto op = *std::move(made);
  api::OperatorMetrics metrics;
  api::OperatorContext ctx;
  ctx.max_parallelism = 128;
  ctx.keyed_state = b.get();
  ctx.metrics = &metrics;
  ASSERT_TRUE(op->Open(ctx).ok());
  const std::string empty = b->Snapshot()->bytes;
  CollectingOutput out;
  RecordBatch left(InputSchema());
  AddRow(&left, 7 * kSec, "ATL", 1, 0);   // windows [0, 10) and [5, 15)
  AddRow(&left, 12 * kSec, "ATL", 2, 0);  // windows [5, 15) and [10, 20)
  ASSERT_TRUE(op->ProcessInput(0, left, out).ok());
  RecordBatch right(RightSchema());
  for (auto [sec, gate] : {std::pair{8, 10}, std::pair{16, 20}}) {
    const size_t r = right.AppendRow(sec * kSec);
    right.SetString(r, 0, "ATL");
    right.SetInt64(r, 1, gate);
  }
  ASSERT_TRUE(op->ProcessInput(1, right, out).ok());
  // 8 s shares [0, 10) and [5, 15) with 7 s, and [5, 15) with 12 s; 16 s shares [10, 20)
  // with 12 s.
  std::multiset<std::pair<std::string, int64_t>> got;
  for (size_t i = 0; i < out.rows.size(); ++i) {
    const std::string& row = out.rows[i];
    got.emplace(row.substr(row.find(',') + 1, row.find(',', row.find(',') + 1) - row.find(',') - 1) +
                    "-" + row.substr(row.rfind(',') + 1),
                out.timestamps[i] / kSec);
  }
  EXPECT_EQ(got, (std::multiset<std::pair<std::string, int64_t>>{
                     {"1-10", 9}, {"1-10", 14}, {"2-10", 14}, {"2-20", 19}}));
  ASSERT_TRUE(op->ProcessWatermark(15 * kSec, out).ok());
  RecordBatch late(RightSchema());
  late.SetString(late.AppendRow(6 * kSec), 0, "ATL");  // [0, 10) and [5, 15) fired: late
  late.SetInt64(0, 1, 30);
  ASSERT_TRUE(op->ProcessInput(1, late, out).ok());
  EXPECT_EQ(metrics.late_records_dropped.load(), 1);
  ASSERT_TRUE(op->ProcessWatermark(30 * kSec, out).ok());
  EXPECT_EQ(b->NumEventTimeTimers(), 0u);
  EXPECT_EQ(b->Snapshot()->bytes, empty);
}

}  // namespace
}  // namespace sluice::operators

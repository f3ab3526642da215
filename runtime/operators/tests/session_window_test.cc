// Session windows (Flink's EventTimeSessionWindows.withGap): rows of a key within the gap form
// one session; a row that bridges sessions merges them (contents and timers); late rows are
// dropped unless they join an open session; allowed lateness fires a session again and its
// cleanup leaves no state; sessions merge across a restore at another parallelism. On the heap
// and on RocksDB.

#include <filesystem>
#include <map>

#include "gtest/gtest.h"
#include "runtime/core/key_groups.h"
#include "runtime/operators/tests/window_test_util.h"
#include "runtime/operators/window_operator.h"
#include "runtime/state/keyed_state_backend.h"

namespace sluice::operators {
namespace {

using testing::AddRow;
using testing::CollectingOutput;
using testing::InputSchema;

constexpr int64_t kSec = 1000;

class SessionWindowTest : public ::testing::TestWithParam<bool> {
 protected:
  std::unique_ptr<state::KeyedStateBackend> NewBackend(core::KeyGroupRange range) {
    return testing::NewTestBackend(GetParam(), range, "sluice-session");
  }

  // Opens the operator (gap 10 s; count, sum, first, last and var_pop of delay) over `backend`.
  std::unique_ptr<api::Operator> Open(state::KeyedStateBackend* backend, int64_t lateness_ms = 0,
                                      std::optional<std::string> restored = std::nullopt) {
    WindowAggregateSpec spec;
    spec.kind = WindowKind::kSession;
    spec.size_ms = 10 * kSec;
    spec.allowed_lateness_ms = lateness_ms;
    spec.key_fields = {"origin"};
    spec.aggregates = {{"n", AggregateKind::kCount, ""},
                       {"total", AggregateKind::kSum, "delay"},
                       {"first", AggregateKind::kFirst, "delay"},
                       {"last", AggregateKind::kLast, "delay"},
                       {"var", AggregateKind::kVarPop, "delay"}};
    auto op = MakeWindowAggregate(InputSchema(), std::move(spec));
    EXPECT_TRUE(op.ok()) << op.status();
    api::OperatorContext ctx;
    ctx.operator_name = "sessions";
    ctx.max_parallelism = 128;
    ctx.keyed_state = backend;
    ctx.metrics = &metrics_;
    ctx.restored_state = std::move(restored);
    absl::Status st = (*op)->Open(ctx);
    EXPECT_TRUE(st.ok()) << st;
    return *std::move(op);
  }

  // Rows (origin, seconds, delay) in one batch.
  void Rows(api::Operator* op, std::vector<std::tuple<std::string, int64_t, int64_t>> rows) {
    core::RecordBatch in(InputSchema());
    for (const auto& [origin, sec, delay] : rows) AddRow(&in, sec * kSec, origin, delay, 0);
    absl::Status st = op->ProcessBatch(in, out_);
    ASSERT_TRUE(st.ok()) << st;
  }
  void Watermark(api::Operator* op, int64_t wm) {
    ASSERT_TRUE(op->ProcessWatermark(wm, out_).ok());
  }

  api::OperatorMetrics metrics_;
  CollectingOutput out_;
};

std::string Empty(state::KeyedStateBackend* b) { return b->Snapshot()->bytes; }

TEST_P(SessionWindowTest, RowsWithinTheGapFormOneSessionThatFiresAfterTheGap) {
  auto backend = NewBackend({0, 127});
  auto op = Open(backend.get());
  const std::string empty = Empty(backend.get());
  Rows(op.get(), {{"ATL", 0, 1}, {"ATL", 5, 2}, {"ORD", 3, 7}});
  Rows(op.get(), {{"ATL", 12, 3}});  // within 10 s of 5 s: the session grows to [0, 22)
  Watermark(op.get(), 13 * kSec - 1);
  ASSERT_EQ(out_.rows.size(), 1u);
  EXPECT_EQ(out_.rows[0], "ORD,1970-01-01T00:00:03Z,1970-01-01T00:00:13Z,1,7,7,7,0");
  EXPECT_EQ(out_.timestamps[0], 13 * kSec - 1);
  Watermark(op.get(), 22 * kSec - 2);
  EXPECT_EQ(out_.rows.size(), 1u) << "the ATL session ends at 22 s";
  Watermark(op.get(), 22 * kSec - 1);
  ASSERT_EQ(out_.rows.size(), 2u);
  EXPECT_EQ(out_.rows[1], "ATL,1970-01-01T00:00:00Z,1970-01-01T00:00:22Z,3,6,1,3,"
                          "0.6666666666666666");
  EXPECT_EQ(backend->NumEventTimeTimers(), 0u);
  EXPECT_EQ(Empty(backend.get()), empty) << "fired sessions leave no state";
  op->Close();
}

TEST_P(SessionWindowTest, ARowBridgingTwoSessionsMergesThem) {
  auto backend = NewBackend({0, 127});
  auto op = Open(backend.get());
  Rows(op.get(), {{"ATL", 0, 1}, {"ATL", 30, 2}});  // [0, 10) and [30, 40)
  EXPECT_EQ(backend->NumEventTimeTimers(), 2u);
  Rows(op.get(), {{"ATL", 20, 3}});  // [20, 30) touches [30, 40): [20, 40)
  EXPECT_EQ(backend->NumEventTimeTimers(), 2u);
  Watermark(op.get(), 10 * kSec - 1);  // nothing bridged [0, 10): it fires alone
  ASSERT_EQ(out_.rows.size(), 1u);
  EXPECT_EQ(out_.rows[0], "ATL,1970-01-01T00:00:00Z,1970-01-01T00:00:10Z,1,1,1,1,0");
  out_.rows.clear();

  Rows(op.get(), {{"BOS", 100, 1}, {"BOS", 130, 2}, {"BOS", 120, 3}});
  Rows(op.get(), {{"BOS", 110, 4}});  // touches [100, 110) and [120, 140): one session
  EXPECT_EQ(backend->NumEventTimeTimers(), 2u) << "ATL's [20, 40) and BOS's merged session";
  Watermark(op.get(), 140 * kSec - 1);
  ASSERT_EQ(out_.rows.size(), 2u);
  EXPECT_EQ(out_.rows[0], "ATL,1970-01-01T00:00:20Z,1970-01-01T00:00:40Z,2,5,2,3,0.25");
  // Merged in start order: [100, 110) (1) then [120, 140) (2, 3), then the bridging row (4).
  EXPECT_EQ(out_.rows[1], "BOS,1970-01-01T00:01:40Z,1970-01-01T00:02:20Z,4,10,1,4,1.25");
  EXPECT_EQ(backend->NumEventTimeTimers(), 0u);
  op->Close();
}

TEST_P(SessionWindowTest, LateRowsAreDroppedUnlessTheyJoinAnOpenSession) {
  auto backend = NewBackend({0, 127});
  auto op = Open(backend.get());
  Rows(op.get(), {{"ATL", 50, 1}});  // [50, 60)
  Watermark(op.get(), 45 * kSec);
  Rows(op.get(), {{"ATL", 30, 9}});  // [30, 40) is past and joins nothing: late
  EXPECT_EQ(metrics_.late_records_dropped.load(), 1);
  Rows(op.get(), {{"ATL", 42, 2}});  // [42, 52) is past too, but joins [50, 60)
  EXPECT_EQ(metrics_.late_records_dropped.load(), 1);
  Watermark(op.get(), 60 * kSec - 1);
  ASSERT_EQ(out_.rows.size(), 1u);
  EXPECT_EQ(out_.rows[0], "ATL,1970-01-01T00:00:42Z,1970-01-01T00:01:00Z,2,3,1,2,0.25");
  op->Close();
}

TEST_P(SessionWindowTest, AllowedLatenessFiresAgainThenCleansUp) {
  auto backend = NewBackend({0, 127});
  auto op = Open(backend.get(), /*lateness_ms=*/5 * kSec);
  const std::string empty = Empty(backend.get());
  Rows(op.get(), {{"ATL", 0, 1}});
  Watermark(op.get(), 10 * kSec - 1);
  ASSERT_EQ(out_.rows.size(), 1u);
  Rows(op.get(), {{"ATL", 7, 2}});  // joins the fired session and extends it to [0, 17)
  EXPECT_EQ(out_.rows.size(), 1u) << "its new end has not passed: it fires later";
  Watermark(op.get(), 17 * kSec - 1);
  ASSERT_EQ(out_.rows.size(), 2u);
  EXPECT_EQ(out_.rows[1], "ATL,1970-01-01T00:00:00Z,1970-01-01T00:00:17Z,2,3,1,2,0.25");
  Rows(op.get(), {{"ATL", 1, 3}});  // inside the fired session: fires again at once
  ASSERT_EQ(out_.rows.size(), 3u);
  EXPECT_EQ(out_.rows[2], "ATL,1970-01-01T00:00:00Z,1970-01-01T00:00:17Z,3,6,1,3,"
                          "0.6666666666666666");
  Watermark(op.get(), 22 * kSec - 1);  // cleanup: end - 1 + lateness
  EXPECT_EQ(backend->NumEventTimeTimers(), 0u);
  EXPECT_EQ(Empty(backend.get()), empty);
  Rows(op.get(), {{"ATL", 2, 4}});
  EXPECT_EQ(metrics_.late_records_dropped.load(), 1);
  op->Close();
}

TEST_P(SessionWindowTest, SessionsMergeAfterARestoreAtAnotherParallelism) {
  auto src = NewBackend({0, 127});
  auto op = Open(src.get());
  const std::vector<std::string> keys = {"ATL", "ORD", "SFO", "JFK", "LAX", "DEN", "SEA"};
  std::vector<std::tuple<std::string, int64_t, int64_t>> rows;
  for (const std::string& k : keys) {
    rows.emplace_back(k, 0, 1);
    rows.emplace_back(k, 20, 2);  // two sessions per key: [0, 10) and [20, 30)
  }
  Rows(op.get(), rows);
  Watermark(op.get(), 5 * kSec);
  auto snap = src->Snapshot();
  ASSERT_TRUE(snap.ok()) << snap.status();
  auto op_state = op->SnapshotState(1);
  ASSERT_TRUE(op_state.ok());
  op->Close();

  std::map<std::string, std::string> results;
  for (const core::KeyGroupRange range : {core::KeyGroupRange{0, 63}, {64, 127}}) {
    auto dst = NewBackend(range);
    ASSERT_TRUE(dst->Restore({snap->bytes}, {snap->key_group_offsets}).ok());
    auto restored = Open(dst.get(), 0, *op_state);
    std::vector<std::tuple<std::string, int64_t, int64_t>> mine;
    for (const std::string& k : keys) {
      if (range.Contains(core::ComputeKeyGroupForKeyHash(core::JavaStringHash(k), 128))) {
        mine.emplace_back(k, 10, 3);  // still on time (watermark 5 s): bridges both sessions
      }
    }
    if (range.Contains(core::ComputeKeyGroupForKeyHash(core::JavaStringHash("NEW"), 128))) {
      mine.emplace_back("NEW", 4, 1);
    }
    Rows(restored.get(), mine);
    Watermark(restored.get(), api::kMaxWatermark);
    EXPECT_EQ(dst->NumEventTimeTimers(), 0u);
    restored->Close();
  }
  for (const std::string& row : out_.rows) results[row.substr(0, 3)] = row.substr(4);
  EXPECT_EQ(results.size(), keys.size() + 1);
  for (const std::string& k : keys) {
    EXPECT_EQ(results[k], "1970-01-01T00:00:00Z,1970-01-01T00:00:30Z,3,6,1,3,0.6666666666666666")
        << k;
  }
  EXPECT_EQ(metrics_.late_records_dropped.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Storages, SessionWindowTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "RocksDb" : "Heap"; });

TEST(SessionWindow, MergedVariancesMatchADirectComputation) {
  // WindowAggregates::Merge against accumulating everything into one window.
  std::vector<core::Field> fields;
  auto aggs = WindowAggregates::Resolve(
      *InputSchema(),
      {{"sd", AggregateKind::kStddevSamp, "distance"}, {"mn", AggregateKind::kMin, "delay"},
       {"avg", AggregateKind::kAvg, "delay"}},
      &fields);
  ASSERT_TRUE(aggs.ok());
  core::RecordBatch in(InputSchema());
  const double xs[] = {3.5, -1.25, 8, 8, 0.5, 12.75, 4};
  for (int i = 0; i < 7; ++i) AddRow(&in, i, "X", 10 - i, xs[i]);
  WindowContents all = aggs->Fresh(), a = aggs->Fresh(), b = aggs->Fresh();
  for (size_t r = 0; r < 7; ++r) {
    aggs->Accumulate(all, in, r);
    aggs->Accumulate(r < 3 ? a : b, in, r);
  }
  aggs->Merge(a, b);
  core::RecordBatch out(std::make_shared<core::Schema>(fields));
  out.AppendRow(0);
  out.AppendRow(0);
  aggs->WriteResults(all, &out, 0, 0);
  aggs->WriteResults(a, &out, 1, 0);
  EXPECT_NEAR(out.GetDouble(0, 0), out.GetDouble(1, 0), 1e-12);
  EXPECT_EQ(out.GetInt64(1, 1), 4);
  EXPECT_DOUBLE_EQ(out.GetDouble(1, 2), out.GetDouble(0, 2));
  WindowContents empty = aggs->Fresh();
  aggs->Merge(empty, all);  // into nothing: takes the other's
  aggs->WriteResults(empty, &out, 1, 0);
  EXPECT_DOUBLE_EQ(out.GetDouble(1, 0), out.GetDouble(0, 0));
}

}  // namespace
}  // namespace sluice::operators

// OVER aggregations: ROWS and RANGE frames, bounded and unbounded; rows processed in timestamp
// order once the watermark passes them whatever their arrival order; peers of a RANGE frame
// share their result; late rows dropped; frames and pending rows survive a checkpoint and a
// restore at another parallelism; RANGE frames are cleaned up; on the heap and on RocksDB.

#include "runtime/operators/over_aggregate.h"

#include "gtest/gtest.h"
#include "runtime/core/key_groups.h"
#include "runtime/operators/tests/window_test_util.h"
#include "runtime/state/keyed_state_backend.h"

namespace sluice::operators {
namespace {

using testing::AddRow;
using testing::CollectingOutput;
using testing::InputSchema;

constexpr int64_t kSec = 1000;

class OverAggregateTest : public ::testing::TestWithParam<bool> {
 protected:
  std::unique_ptr<state::KeyedStateBackend> NewBackend(core::KeyGroupRange range) {
    return testing::NewTestBackend(GetParam(), range, "sluice-over");
  }
  std::unique_ptr<api::Operator> Open(state::KeyedStateBackend* b, OverAggregateSpec spec,
                                      std::optional<std::string> restored = std::nullopt) {
    auto op = MakeOverAggregate(InputSchema(), std::move(spec));
    EXPECT_TRUE(op.ok()) << op.status();
    api::OperatorContext ctx;
    ctx.operator_name = "over";
    ctx.max_parallelism = 128;
    ctx.keyed_state = b;
    ctx.metrics = &metrics_;
    ctx.restored_state = std::move(restored);
    EXPECT_TRUE((*op)->Open(ctx).ok());
    return *std::move(op);
  }
  // Rows (origin, second, delay).
  void Send(api::Operator* op, std::vector<std::tuple<std::string, int64_t, int64_t>> rows) {
    core::RecordBatch b(InputSchema());
    for (const auto& [origin, sec, delay] : rows) AddRow(&b, sec * kSec, origin, delay, 1.5);
    absl::Status st = op->ProcessBatch(b, out_);
    ASSERT_TRUE(st.ok()) << st;
  }
  // "origin delay -> aggregates" of every emitted row, in order.
  std::vector<std::string> Results() {
    std::vector<std::string> v;
    for (const std::string& row : out_.rows) {
      // date, delay, origin, distance, aggregates...
      std::vector<std::string> f;
      size_t start = 0;
      for (size_t i = 0; i <= row.size(); ++i) {
        if (i == row.size() || row[i] == ',') {
          f.push_back(row.substr(start, i - start));
          start = i + 1;
        }
      }
      std::string s = f[2] + " " + f[1] + " ->";
      for (size_t i = 4; i < f.size(); ++i) s += " " + f[i];
      v.push_back(s);
    }
    out_.rows.clear();
    return v;
  }

  static OverAggregateSpec Spec(OverFrame frame, std::optional<int64_t> preceding) {
    OverAggregateSpec s;
    s.keys = {"origin"};
    s.frame = frame;
    s.preceding = preceding;
    s.calls = {{OverAggKind::kSum, "delay", "s"}, {OverAggKind::kCountStar, "", "n"},
               {OverAggKind::kMax, "delay", "mx"}};
    return s;
  }

  api::OperatorMetrics metrics_;
  CollectingOutput out_;
};

TEST_P(OverAggregateTest, RowsFrameInTimestampOrderWhateverTheArrival) {
  auto b = NewBackend({0, 127});
  auto op = Open(b.get(), Spec(OverFrame::kRows, 1));  // ROWS BETWEEN 1 PRECEDING
  Send(op.get(), {{"ATL", 3, 30}, {"ATL", 1, 10}, {"ORD", 2, 7}, {"ATL", 2, 20}});
  EXPECT_TRUE(Results().empty()) << "nothing before the watermark";
  ASSERT_TRUE(op->ProcessWatermark(2 * kSec, out_).ok());
  EXPECT_EQ(Results(), (std::vector<std::string>{"ATL 10 -> 10 1 10", "ATL 20 -> 30 2 20",
                                                 "ORD 7 -> 7 1 7"}));
  ASSERT_TRUE(op->ProcessWatermark(5 * kSec, out_).ok());
  EXPECT_EQ(Results(), (std::vector<std::string>{"ATL 30 -> 50 2 30"}));
  Send(op.get(), {{"ATL", 4, 99}});  // at or below the watermark: late
  EXPECT_EQ(metrics_.late_records_dropped.load(), 1);
  op->Close();
}

TEST_P(OverAggregateTest, RangeFramePeersShareTheirResultAndOldRowsLeave) {
  auto b = NewBackend({0, 127});
  auto op = Open(b.get(), Spec(OverFrame::kRange, 10 * kSec));  // RANGE 10 s PRECEDING
  const std::string empty = b->Snapshot()->bytes;
  Send(op.get(), {{"ATL", 1, 1}, {"ATL", 5, 2}, {"ATL", 5, 3}, {"ATL", 12, 4}, {"ATL", 16, 5}});
  ASSERT_TRUE(op->ProcessWatermark(20 * kSec, out_).ok());
  EXPECT_EQ(Results(), (std::vector<std::string>{
                           "ATL 1 -> 1 1 1", "ATL 2 -> 6 3 3", "ATL 3 -> 6 3 3",
                           "ATL 4 -> 9 3 4",     // 12 s: 5 s .. 12 s (1 s has left)
                           "ATL 5 -> 9 2 5"}));  // 16 s: 12 s .. 16 s
  ASSERT_TRUE(op->ProcessWatermark(40 * kSec, out_).ok());
  EXPECT_EQ(b->NumEventTimeTimers(), 0u);
  EXPECT_EQ(b->Snapshot()->bytes, empty) << "a RANGE frame is emptied by its cleanup timers";
}

TEST_P(OverAggregateTest, UnboundedFramesKeepRunningAccumulators) {
  auto b = NewBackend({0, 127});
  auto rows = Open(b.get(), Spec(OverFrame::kRows, std::nullopt));
  Send(rows.get(), {{"ATL", 1, 5}, {"ATL", 1, 7}, {"ATL", 2, 1}});
  ASSERT_TRUE(rows->ProcessWatermark(3 * kSec, out_).ok());
  EXPECT_EQ(Results(), (std::vector<std::string>{"ATL 5 -> 5 1 5", "ATL 7 -> 12 2 7",
                                                 "ATL 1 -> 13 3 7"}));
  rows->Close();
  auto b2 = NewBackend({0, 127});
  auto range = Open(b2.get(), Spec(OverFrame::kRange, std::nullopt));
  Send(range.get(), {{"ATL", 1, 5}, {"ATL", 1, 7}, {"ATL", 2, 1}});
  ASSERT_TRUE(range->ProcessWatermark(3 * kSec, out_).ok());
  EXPECT_EQ(Results(), (std::vector<std::string>{"ATL 5 -> 12 2 7", "ATL 7 -> 12 2 7",
                                                 "ATL 1 -> 13 3 7"}));
}

TEST_P(OverAggregateTest, PendingRowsAndFramesSurviveARestoreAtAnotherParallelism) {
  auto src = NewBackend({0, 127});
  auto op = Open(src.get(), Spec(OverFrame::kRows, 1));
  const std::vector<std::string> keys = {"ATL", "ORD", "SFO", "JFK", "LAX", "DEN", "SEA"};
  std::vector<std::tuple<std::string, int64_t, int64_t>> rows;
  for (const std::string& k : keys) {
    rows.emplace_back(k, 1, 1);
    rows.emplace_back(k, 3, 2);  // pending at the snapshot
  }
  Send(op.get(), rows);
  ASSERT_TRUE(op->ProcessWatermark(2 * kSec, out_).ok());
  Results();
  auto snap = src->Snapshot();
  auto wm = op->SnapshotState(1);
  ASSERT_TRUE(snap.ok() && wm.ok());
  op->Close();
  size_t restored_rows = 0;
  for (const core::KeyGroupRange range : {core::KeyGroupRange{0, 63}, {64, 127}}) {
    auto dst = NewBackend(range);
    ASSERT_TRUE(dst->Restore({snap->bytes}, {snap->key_group_offsets}).ok());
    auto restored = Open(dst.get(), Spec(OverFrame::kRows, 1), *wm);
    std::vector<std::tuple<std::string, int64_t, int64_t>> mine;
    for (const std::string& k : keys) {
      if (range.Contains(core::ComputeKeyGroupForKeyHash(core::JavaStringHash(k), 128))) {
        mine.emplace_back(k, 2, 99);  // late after the restored watermark (2 s)
      }
    }
    Send(restored.get(), mine);
    ASSERT_TRUE(restored->ProcessWatermark(5 * kSec, out_).ok());
    for (const std::string& r : Results()) {
      EXPECT_EQ(r.substr(3), " 2 -> 3 2 2") << r;  // the frame still holds the row at 1 s
      ++restored_rows;
    }
    restored->Close();
  }
  EXPECT_EQ(restored_rows, keys.size());
  EXPECT_EQ(metrics_.late_records_dropped.load(), static_cast<int64_t>(keys.size()));
}

TEST(OverAggregateSpecTest, BadSpecsAreRefused) {
  OverAggregateSpec s;
  s.keys = {"origin"};
  s.calls = {{OverAggKind::kSum, "origin", "s"}};
  EXPECT_EQ(MakeOverAggregate(InputSchema(), s).status().message(),
            "over aggregate: cannot aggregate field 'origin' of type string (sum and avg take "
            "int32, int64 or double; min and max also timestamp)");
  s.calls = {{OverAggKind::kCount, "delay", "delay"}};
  EXPECT_EQ(MakeOverAggregate(InputSchema(), s).status().message(),
            "over aggregate: output field 'delay' is taken");
  s.keys = {};
  EXPECT_EQ(MakeOverAggregate(InputSchema(), s).status().message(),
            "over aggregate: needs partition keys");
}

INSTANTIATE_TEST_SUITE_P(Backends, OverAggregateTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "RocksDb" : "Heap"; });

}  // namespace
}  // namespace sluice::operators

// Deduplicate keep-last and top-N: the changelogs they emit (+I/-U/+U/-D), ties and nulls,
// state TTL, and state restored at another parallelism on both backends.

#include "runtime/operators/changelog_operators.h"

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/base/clock.h"
#include "runtime/core/key_selector.h"
#include "runtime/core/record_batch.h"
#include "runtime/operators/tests/window_test_util.h"

namespace sluice::operators {
namespace {

using core::RecordBatch;
using core::RowKind;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

core::SchemaPtr Payments() {
  return std::make_shared<const core::Schema>(std::vector<core::Field>{
      {"card", core::Type::kString}, {"amount", core::Type::kInt64}, {"fee", core::Type::kDouble}});
}

RecordBatch Batch(std::vector<std::tuple<std::string, std::optional<int64_t>, double>> rows) {
  RecordBatch b(Payments());
  int64_t ts = 0;
  for (const auto& [card, amount, fee] : rows) {
    const size_t r = b.AppendRow(++ts);
    b.SetString(r, 0, card);
    if (amount) b.SetInt64(r, 1, *amount); else b.SetNull(r, 1);
    b.SetDouble(r, 2, fee);
  }
  return b;
}

struct Changelog : api::Output {
  absl::Status Emit(const RecordBatch& b) override {
    for (size_t r = 0; r < b.num_rows(); ++r) {
      rows.push_back(std::string(core::ShortString(b.row_kind(r))) + b.RowToString(r));
    }
    return absl::OkStatus();
  }
  absl::Status EmitWatermark(int64_t) override { return absl::OkStatus(); }
  std::vector<std::string> rows;
};

std::unique_ptr<api::Operator> Open(absl::StatusOr<std::unique_ptr<api::Operator>> op,
                                    state::KeyedStateBackend* backend = nullptr) {
  EXPECT_TRUE(op.ok()) << op.status();
  api::OperatorContext ctx;
  ctx.operator_name = "op";
  ctx.keyed_state = backend;
  EXPECT_TRUE((*op)->Open(ctx).ok());
  return std::move(*op);
}

TEST(KeepLast, FirstRowInsertsLaterRowsRetractAndReplace) {
  auto op = Open(MakeKeepLast(Payments(), {{"card"}, 0}));
  Changelog out;
  ASSERT_TRUE(op->ProcessBatch(Batch({{"a", 1, 0.5}, {"b", 2, 0}, {"a", 3, 0}}), out).ok());
  ASSERT_TRUE(op->ProcessBatch(Batch({{"a", std::nullopt, 1}}), out).ok());
  EXPECT_THAT(out.rows, ElementsAre("+Ia,1,0.5", "+Ib,2,0", "-Ua,1,0.5", "+Ua,3,0", "-Ua,3,0",
                                    "+Ua,,1"));
}

TEST(KeepLast, AKeyForgottenByTheTtlStartsAgainWithAnInsert) {
  ManualClock clock(1000);
  auto backend = testing::NewTestBackend(false, {0, 127}, "keep-last-ttl", &clock);
  auto op = Open(MakeKeepLast(Payments(), {{"card"}, 100}), backend.get());
  Changelog out;
  ASSERT_TRUE(op->ProcessBatch(Batch({{"a", 1, 0}}), out).ok());
  clock.Advance(150);
  ASSERT_TRUE(op->ProcessBatch(Batch({{"a", 2, 0}}), out).ok());
  EXPECT_THAT(out.rows, ElementsAre("+Ia,1,0", "+Ia,2,0"));
}

TEST(TopN, KeepsTheNLargestPerKeyInsertingAndDeleting) {
  auto op = Open(MakeTopN(Payments(), {{"card"}, "amount", 2, true, 0}));
  Changelog out;
  ASSERT_TRUE(op->ProcessBatch(Batch({{"a", 5, 0},
                                      {"a", 3, 0},
                                      {"a", 1, 0},             // not in the top 2
                                      {"b", 7, 0},
                                      {"a", 9, 0},             // enters, pushes 3 out
                                      {"a", 5, 1},             // ties with 5: the earlier stays
                                      {"a", std::nullopt, 0},  // null order value: ignored
                                      {"a", 6, 0}}),           // pushes 5 out
                               out).ok());
  EXPECT_THAT(out.rows, ElementsAre("+Ia,5,0", "+Ia,3,0", "+Ib,7,0", "-Da,3,0", "+Ia,9,0",
                                    "-Da,5,0", "+Ia,6,0"));
}

TEST(TopN, RankFieldReemitsTheRowsARowMovesDown) {
  TopNSpec spec{{"card"}, "amount", 2, true, 0};
  spec.rank_field = "rn";
  auto op = Open(MakeTopN(Payments(), spec));
  EXPECT_EQ(op->output_schema()->FieldNames(), "card, amount, fee, rn");
  Changelog out;
  ASSERT_TRUE(op->ProcessBatch(Batch({{"a", 5, 0},     // rank 1
                                      {"a", 3, 0},     // rank 2
                                      {"a", 9, 0},     // rank 1: 5 moves to 2, 3 leaves
                                      {"a", 4, 0}}),   // below the top 2: nothing
                               out).ok());
  EXPECT_THAT(out.rows, ElementsAre("+Ia,5,0,1", "+Ia,3,0,2", "-Ua,5,0,1", "+Ua,5,0,2",
                                    "-Da,3,0,2", "+Ia,9,0,1"));
}

TEST(TopN, ThenByBreaksTiesAndKeepsNullsLast) {
  // ORDER BY amount DESC, fee ASC.
  TopNSpec spec{{"card"}, "amount", 1, true, 0};
  spec.then_by = {{"fee", false}};
  auto op = Open(MakeTopN(Payments(), spec));
  Changelog out;
  ASSERT_TRUE(op->ProcessBatch(Batch({{"a", 5, 2.0},
                                      {"a", 5, 1.0},    // same amount, smaller fee: better
                                      {"a", 5, 1.5},    // worse than the fee 1.0
                                      {"a", 4, 0.0}}),  // smaller amount
                               out).ok());
  EXPECT_THAT(out.rows, ElementsAre("+Ia,5,2", "-Da,5,2", "+Ia,5,1"));
  TopNSpec bad{{"card"}, "amount", 1, true, 0};
  bad.then_by = {{"nope", false}};
  EXPECT_THAT(std::string(MakeTopN(Payments(), bad).status().message()),
              HasSubstr("unknown order-by field 'nope'"));
}

TEST(TopN, AscendingOrderByDoubleOrString) {
  auto by_fee = Open(MakeTopN(Payments(), {{"card"}, "fee", 1, false, 0}));
  Changelog out;
  ASSERT_TRUE(by_fee->ProcessBatch(Batch({{"a", 1, 0.5}, {"a", 2, -1.5}, {"a", 3, 2}}), out).ok());
  EXPECT_THAT(out.rows, ElementsAre("+Ia,1,0.5", "-Da,1,0.5", "+Ia,2,-1.5"));
  auto by_card = Open(MakeTopN(Payments(), {{"fee"}, "card", 1, true, 0}));
  Changelog out2;
  ASSERT_TRUE(by_card->ProcessBatch(Batch({{"b", 1, 0}, {"a", 2, 0}, {"c", 3, 0}}), out2).ok());
  EXPECT_THAT(out2.rows, ElementsAre("+Ib,1,0", "-Db,1,0", "+Ic,3,0"));
}

// Applies a changelog to a multiset of rows (the result a changelog describes).
std::multiset<std::string> Apply(const std::vector<std::string>& changelog) {
  std::multiset<std::string> result;
  for (const std::string& c : changelog) {
    const std::string row = c.substr(2);
    if (c[0] == '+') {
      result.insert(row);
    } else {
      auto it = result.find(row);
      EXPECT_NE(it, result.end()) << "retraction of a row never emitted: " << c;
      if (it != result.end()) result.erase(it);
    }
  }
  return result;
}

class ChangelogRestore : public ::testing::TestWithParam<bool> {};

TEST_P(ChangelogRestore, StateContinuesAfterARestoreAtAnotherParallelism) {
  const bool rocksdb = GetParam();
  auto before = testing::NewTestBackend(rocksdb, {0, 127}, "changelog-before");
  auto top = Open(MakeTopN(Payments(), {{"card"}, "amount", 2, true, 0}), before.get());
  Changelog out;
  RecordBatch first = Batch({{"a", 5, 0}, {"b", 1, 0}, {"a", 4, 0}, {"c", 8, 0}, {"b", 2, 0}});
  ASSERT_TRUE(top->ProcessBatch(first, out).ok());
  auto snap = before->Snapshot();
  ASSERT_TRUE(snap.ok());
  // Two subtasks take over half the key groups each and see the rest of the rows of their keys.
  RecordBatch second = Batch({{"a", 6, 0}, {"b", 3, 0}, {"c", 1, 0}, {"b", 9, 0}});
  core::KeySelector keys = *core::KeySelector::Create(*Payments(), {"card"});
  for (core::KeyGroupRange range : {core::KeyGroupRange{0, 63}, core::KeyGroupRange{64, 127}}) {
    auto after = testing::NewTestBackend(rocksdb, range, rocksdb ? "changelog-after" : "x");
    ASSERT_TRUE(after->Restore({snap->bytes}, {snap->key_group_offsets}).ok());
    auto restored = Open(MakeTopN(Payments(), {{"card"}, "amount", 2, true, 0}), after.get());
    RecordBatch mine(Payments());
    for (size_t r = 0; r < second.num_rows(); ++r) {
      if (range.Contains(keys.KeyGroup(second, r, 128))) mine.AppendRowFrom(second, r);
    }
    ASSERT_TRUE(restored->ProcessBatch(mine, out).ok());
  }
  EXPECT_EQ(Apply(out.rows),
            (std::multiset<std::string>{"a,6,0", "a,5,0", "b,9,0", "b,3,0", "c,8,0", "c,1,0"}));
}

INSTANTIATE_TEST_SUITE_P(Backends, ChangelogRestore, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "RocksDb" : "Heap"; });

TEST(TopN, RefusesFieldsWithoutAnOrder) {
  EXPECT_THAT(MakeTopN(Payments(), {{"card"}, "nope", 1, true, 0}).status().message(),
              HasSubstr("unknown order-by field 'nope'"));
  EXPECT_THAT(MakeTopN(Payments(), {{"card"}, "amount", 0, true, 0}).status().message(),
              HasSubstr("n must be at least 1"));
  auto flags = std::make_shared<const core::Schema>(
      std::vector<core::Field>{{"k", core::Type::kString}, {"ok", core::Type::kBool}});
  EXPECT_THAT(MakeTopN(flags, {{"k"}, "ok", 1, true, 0}).status().message(),
              HasSubstr("'ok' is bool, which has no order"));
}

}  // namespace
}  // namespace sluice::operators

namespace sluice::operators {
namespace {

// Window Top-N (emit_final): nothing until the watermark passes the rows' timestamp, then the
// key's top N as inserts with their ranks, once; the key starts empty; late rows are dropped.
TEST(TopN, EmitFinalRanksOncePerTimestampAsInserts) {
  TopNSpec spec{{"card"}, "amount", 2, true, 0};
  spec.rank_field = "rank";
  spec.emit_final = true;
  api::OperatorMetrics metrics;
  auto made = MakeTopN(Payments(), spec);
  ASSERT_TRUE(made.ok()) << made.status();
  auto op = std::move(*made);
  api::OperatorContext ctx;
  ctx.operator_name = "wtop";
  ctx.metrics = &metrics;
  ASSERT_TRUE(op->Open(ctx).ok());
  auto rows = [](int64_t ts, std::vector<std::pair<std::string, int64_t>> v) {
    RecordBatch b(Payments());
    for (const auto& [card, amount] : v) {
      const size_t r = b.AppendRow(ts);
      b.SetString(r, 0, card);
      b.SetInt64(r, 1, amount);
      b.SetDouble(r, 2, 0);
    }
    return b;
  };
  Changelog out;
  ASSERT_TRUE(op->ProcessBatch(rows(9, {{"a", 5}, {"a", 3}, {"b", 1}, {"a", 8}}), out).ok());
  EXPECT_TRUE(out.rows.empty());
  ASSERT_TRUE(op->ProcessWatermark(9, out).ok());
  EXPECT_THAT(out.rows, ::testing::UnorderedElementsAre("+Ia,8,0,1", "+Ia,5,0,2", "+Ib,1,0,1"));
  out.rows.clear();
  ASSERT_TRUE(op->ProcessBatch(rows(9, {{"a", 100}}), out).ok());  // late
  ASSERT_TRUE(op->ProcessBatch(rows(19, {{"a", 2}}), out).ok());   // the next window
  ASSERT_TRUE(op->ProcessWatermark(30, out).ok());
  EXPECT_THAT(out.rows, ElementsAre("+Ia,2,0,1"));
  EXPECT_EQ(metrics.late_records_dropped.load(), 1);
}

}  // namespace
}  // namespace sluice::operators

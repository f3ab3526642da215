#include "runtime/connectors/datagen/datagen_source.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/base/status.h"
#include "runtime/core/record_batch.h"

namespace sluice::connectors {
namespace {

using ::testing::HasSubstr;

// Records every emitted row and watermark.
class CollectingOutput : public api::Output {
 public:
  explicit CollectingOutput(core::SchemaPtr schema) : rows(std::move(schema)) {}
  absl::Status Emit(const core::RecordBatch& batch) override {
    ++batches;
    max_batch = std::max(max_batch, batch.num_rows());
    for (size_t r = 0; r < batch.num_rows(); ++r) rows.AppendRowFrom(batch, r);
    return absl::OkStatus();
  }
  absl::Status EmitWatermark(int64_t wm) override {
    watermarks.push_back(wm);
    return absl::OkStatus();
  }
  std::vector<int64_t> Int64s(size_t col) const {
    std::vector<int64_t> v;
    for (size_t r = 0; r < rows.num_rows(); ++r) v.push_back(rows.GetInt64(r, col));
    return v;
  }

  core::RecordBatch rows;
  std::vector<int64_t> watermarks;
  int batches = 0;
  size_t max_batch = 0;
};

core::SchemaPtr Schema(std::vector<core::Field> fields) {
  return std::make_shared<core::Schema>(std::move(fields));
}

DatagenField Sequence(int64_t start, int64_t end) {
  DatagenField f;
  f.kind = DatagenKind::kSequence;
  f.start = start;
  f.end = end;
  return f;
}

DatagenField RandomInt(int64_t min, int64_t max) {
  DatagenField f;
  f.min = min;
  f.max = max;
  return f;
}

// id: sequence [start, end]; v: random int64 (whole range); s: random string of 8.
DatagenSourceOptions SequenceOptions(int64_t start, int64_t end, size_t batch_size = 7) {
  DatagenSourceOptions o;
  o.schema =
      Schema({{"id", core::Type::kInt64}, {"v", core::Type::kInt64}, {"s", core::Type::kString}});
  DatagenField s;
  s.length = 8;
  o.fields = {Sequence(start, end), DatagenField{}, s};
  o.rows_per_second = 0;
  o.batch_size = batch_size;
  return o;
}

api::OperatorContext Context(int index, int parallelism) {
  api::OperatorContext ctx;
  ctx.subtask_index = index;
  ctx.parallelism = parallelism;
  return ctx;
}

// Polls `source` up to `max_polls` times (or to its end); returns whether it ended.
absl::StatusOr<bool> Poll(api::Source& source, CollectingOutput& out, int max_polls) {
  for (int k = 0; k < max_polls; ++k) {
    ASSIGN_OR_RETURN(bool more, source.PollNext(out));
    if (!more) return true;
  }
  return false;
}

constexpr int kToTheEnd = 1'000'000;

// Opens a source for subtask `index` of `parallelism` with `ctx` extras already set.
std::unique_ptr<api::Source> Open(const DatagenSourceOptions& opts,
                                        const api::OperatorContext& ctx) {
  auto source = MakeDatagenSource(opts);
  absl::Status s = source->Open(ctx);
  EXPECT_TRUE(s.ok()) << s;
  return s.ok() ? std::move(source) : nullptr;
}

TEST(DatagenSource, SequenceIsSplitAcrossSubtasksAndCoversStartToEndExactlyOnce) {
  const DatagenSourceOptions opts = SequenceOptions(5, 1004);
  for (int p : {1, 2, 3, 7}) {
    std::multiset<int64_t> all;
    for (int i = 0; i < p; ++i) {
      auto source = Open(opts, Context(i, p));
      ASSERT_NE(source, nullptr);
      CollectingOutput out(opts.schema);
      auto ended = Poll(*source, out, kToTheEnd);
      ASSERT_TRUE(ended.ok() && *ended) << "p=" << p;
      // Each subtask's values are contiguous and in order; it ends with kMaxWatermark.
      std::vector<int64_t> ids = out.Int64s(0);
      ASSERT_FALSE(ids.empty());
      for (size_t k = 1; k < ids.size(); ++k) ASSERT_EQ(ids[k], ids[k - 1] + 1);
      EXPECT_NEAR(static_cast<double>(ids.size()), 1000.0 / p, 1.0);
      ASSERT_EQ(out.watermarks, std::vector<int64_t>{api::kMaxWatermark});
      EXPECT_LE(out.max_batch, 7u);
      all.insert(ids.begin(), ids.end());
      // Polling an ended source emits nothing more.
      auto again = source->PollNext(out);
      ASSERT_TRUE(again.ok());
      EXPECT_FALSE(*again);
    }
    ASSERT_EQ(all.size(), 1000u) << "p=" << p;
    int64_t expect = 5;
    for (int64_t v : all) ASSERT_EQ(v, expect++) << "p=" << p;
  }
}

TEST(DatagenSource, NumberOfRowsAndTheShortestSequenceBoundTheSource) {
  DatagenSourceOptions opts = SequenceOptions(0, 999);
  opts.number_of_rows = 100;
  EXPECT_EQ(DatagenTotalRows(opts), 100);
  std::set<int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    auto source = Open(opts, Context(i, 3));
    CollectingOutput out(opts.schema);
    ASSERT_TRUE(*Poll(*source, out, kToTheEnd));
    for (int64_t id : out.Int64s(0)) EXPECT_TRUE(ids.insert(id).second) << id;
  }
  EXPECT_EQ(ids.size(), 100u);
  EXPECT_EQ(*ids.rbegin(), 99);

  opts.number_of_rows = 5000;  // the sequence ends first
  EXPECT_EQ(DatagenTotalRows(opts), 1000);
  opts.fields[1] = Sequence(-10, 9);  // a second, shorter sequence: 20 rows
  EXPECT_EQ(DatagenTotalRows(opts), 20);
  auto source = Open(opts, Context(0, 1));
  CollectingOutput out(opts.schema);
  ASSERT_TRUE(*Poll(*source, out, kToTheEnd));
  ASSERT_EQ(out.rows.num_rows(), 20u);
  EXPECT_EQ(out.rows.GetInt64(19, 0), 19);
  EXPECT_EQ(out.rows.GetInt64(19, 1), 9);

  opts.fields = {};  // no sequence: number-of-rows alone
  opts.number_of_rows = 0;
  source = Open(opts, Context(0, 2));
  CollectingOutput none(opts.schema);
  ASSERT_TRUE(*Poll(*source, none, 1));
  EXPECT_EQ(none.rows.num_rows(), 0u);
  EXPECT_EQ(none.watermarks, std::vector<int64_t>{api::kMaxWatermark});
}

TEST(DatagenSource, UnboundedWithoutSequenceOrNumberOfRows) {
  DatagenSourceOptions opts;
  opts.schema = Schema({{"v", core::Type::kDouble}});
  opts.rows_per_second = 0;
  opts.batch_size = 100;
  EXPECT_EQ(DatagenTotalRows(opts), kDatagenUnbounded);
  auto source = Open(opts, Context(1, 2));
  CollectingOutput out(opts.schema);
  auto ended = Poll(*source, out, 50);
  ASSERT_TRUE(ended.ok());
  EXPECT_FALSE(*ended);
  EXPECT_EQ(out.rows.num_rows(), 5000u);
  EXPECT_TRUE(out.watermarks.empty());
  for (size_t r = 0; r < out.rows.num_rows(); ++r) {
    const double v = out.rows.GetDouble(r, 0);
    ASSERT_TRUE(v >= 0.0 && v < 1.0) << v;  // default double range [0, 1)
  }
}

TEST(DatagenSource, SubtaskWithoutRowsEndsAtOnce) {
  DatagenSourceOptions opts = SequenceOptions(1, 2);
  int with_rows = 0;
  for (int i = 0; i < 4; ++i) {
    auto source = Open(opts, Context(i, 4));
    CollectingOutput out(opts.schema);
    ASSERT_TRUE(*Poll(*source, out, kToTheEnd));
    EXPECT_EQ(out.watermarks, std::vector<int64_t>{api::kMaxWatermark});
    with_rows += out.rows.num_rows() > 0 ? 1 : 0;
  }
  EXPECT_EQ(with_rows, 2);
}

// Rows keyed by their sequence id: id -> the row's text.
std::map<int64_t, std::string> ById(const CollectingOutput& out) {
  std::map<int64_t, std::string> m;
  for (size_t r = 0; r < out.rows.num_rows(); ++r) {
    EXPECT_TRUE(m.emplace(out.rows.GetInt64(r, 0), out.rows.RowToString(r)).second);
  }
  return m;
}

std::map<int64_t, std::string> RunAll(const DatagenSourceOptions& opts, int p) {
  std::map<int64_t, std::string> all;
  for (int i = 0; i < p; ++i) {
    auto source = Open(opts, Context(i, p));
    CollectingOutput out(opts.schema);
    EXPECT_TRUE(*Poll(*source, out, kToTheEnd));
    all.merge(ById(out));
  }
  return all;
}

TEST(DatagenSource, RandomValuesAreDeterministicPerRowWhateverTheParallelism) {
  DatagenSourceOptions opts = SequenceOptions(0, 499);
  const auto at1 = RunAll(opts, 1);
  ASSERT_EQ(at1.size(), 500u);
  EXPECT_EQ(RunAll(opts, 1), at1);
  EXPECT_EQ(RunAll(opts, 3), at1);  // the same rows, with the same values
  opts.batch_size = 64;
  EXPECT_EQ(RunAll(opts, 4), at1);  // batches do not matter either
  opts.seed = 42;
  const auto seeded = RunAll(opts, 1);
  int same = 0;
  for (const auto& [id, row] : seeded) same += at1.at(id) == row ? 1 : 0;
  EXPECT_EQ(same, 0);  // another seed, other values
}

TEST(DatagenSource, RandomValuesStayInTheirRangesAndCoverThem) {
  DatagenSourceOptions opts;
  opts.schema = Schema({{"i", core::Type::kInt64},
                        {"d", core::Type::kDouble},
                        {"s", core::Type::kString},
                        {"b", core::Type::kBool},
                        {"t", core::Type::kTimestamp},
                        {"e", core::Type::kString}});
  DatagenField d;
  d.min_double = -2.5;
  d.max_double = 2.5;
  DatagenField s;
  s.length = 37;
  DatagenField t = RandomInt(1'000'000, 1'000'009);
  t.has_range = true;
  DatagenField e;
  e.length = 0;
  opts.fields = {RandomInt(10, 20), d, s, DatagenField{}, t, e};
  opts.rows_per_second = 0;
  opts.number_of_rows = 2000;
  auto source = Open(opts, Context(0, 1));
  CollectingOutput out(opts.schema);
  ASSERT_TRUE(*Poll(*source, out, kToTheEnd));
  ASSERT_EQ(out.rows.num_rows(), 2000u);
  std::set<int64_t> ints, times;
  std::set<bool> bools;
  std::set<std::string> strings;
  double lo = 1e9, hi = -1e9;
  for (size_t r = 0; r < out.rows.num_rows(); ++r) {
    ints.insert(out.rows.GetInt64(r, 0));
    const double v = out.rows.GetDouble(r, 1);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    const std::string_view str = out.rows.GetString(r, 2);
    ASSERT_EQ(str.size(), 37u);
    ASSERT_EQ(str.find_first_not_of("0123456789abcdef"), std::string_view::npos) << str;
    strings.emplace(str);
    bools.insert(out.rows.GetBool(r, 3));
    times.insert(out.rows.GetInt64(r, 4));
    ASSERT_EQ(out.rows.GetString(r, 5), "");
  }
  EXPECT_EQ(*ints.begin(), 10);
  EXPECT_EQ(*ints.rbegin(), 20);
  EXPECT_EQ(ints.size(), 11u);
  EXPECT_GE(lo, -2.5);
  EXPECT_LT(hi, 2.5);
  EXPECT_LT(lo, -2.0);
  EXPECT_GT(hi, 2.0);
  EXPECT_EQ(strings.size(), 2000u);
  EXPECT_EQ(bools.size(), 2u);
  EXPECT_EQ(*times.begin(), 1'000'000);
  EXPECT_EQ(*times.rbegin(), 1'000'009);
}

TEST(DatagenSource, SequenceOfEveryTypeAndNowFromTheWallClock) {
  DatagenSourceOptions opts;
  opts.schema = Schema({{"s", core::Type::kString},
                        {"d", core::Type::kDouble},
                        {"t", core::Type::kTimestamp},
                        {"now", core::Type::kTimestamp},
                        {"past", core::Type::kTimestamp}});
  DatagenField now;
  now.kind = DatagenKind::kNow;
  DatagenField past;
  past.max_past_ms = 1000;
  opts.fields = {Sequence(-3, 96), Sequence(10, 109),
                 Sequence(1'700'000'000'000, 1'800'000'000'000), now, past};
  opts.rows_per_second = 0;
  opts.batch_size = 10;
  int64_t wall = 5'000'000;
  opts.wall_ms = [&wall] { return wall += 100; };
  auto source = Open(opts, Context(0, 1));
  CollectingOutput out(opts.schema);
  ASSERT_TRUE(*Poll(*source, out, kToTheEnd));
  ASSERT_EQ(out.rows.num_rows(), 100u);
  for (size_t r = 0; r < 100; ++r) {
    const int64_t k = static_cast<int64_t>(r);
    ASSERT_EQ(out.rows.GetString(r, 0), std::to_string(k - 3));
    ASSERT_EQ(out.rows.GetDouble(r, 1), static_cast<double>(k + 10));
    ASSERT_EQ(out.rows.GetInt64(r, 2), 1'700'000'000'000 + k);
    // The wall clock is read once per batch of 10.
    const int64_t batch_now = 5'000'000 + 100 * (k / 10 + 1);
    ASSERT_EQ(out.rows.GetInt64(r, 3), batch_now);
    const int64_t p = out.rows.GetInt64(r, 4);
    ASSERT_TRUE(p <= batch_now && p >= batch_now - 1000) << p;
  }
}

TEST(DatagenSource, EventTimeAndWatermarks) {
  DatagenSourceOptions opts = SequenceOptions(0, 99, 10);
  opts.schema = Schema({{"id", core::Type::kInt64},
                        {"v", core::Type::kInt64},
                        {"s", core::Type::kString},
                        {"ts", core::Type::kTimestamp}});
  opts.fields.push_back(Sequence(1000, 2000));
  opts.event_time.field = "ts";
  opts.max_out_of_orderness_ms = 5;
  auto source = Open(opts, Context(0, 1));
  CollectingOutput out(opts.schema);
  ASSERT_TRUE(*Poll(*source, out, kToTheEnd));
  ASSERT_EQ(out.rows.num_rows(), 100u);
  for (size_t r = 0; r < 100; ++r) ASSERT_EQ(out.rows.timestamp(r), 1000 + static_cast<int64_t>(r));
  ASSERT_EQ(out.watermarks.size(), 11u);
  for (size_t b = 0; b < 10; ++b) {
    EXPECT_EQ(out.watermarks[b], 1000 + static_cast<int64_t>(b) * 10 + 9 - 5 - 1);
  }
  EXPECT_EQ(out.watermarks.back(), api::kMaxWatermark);

  DatagenSourceOptions no_time = SequenceOptions(0, 9);
  source = Open(no_time, Context(0, 1));
  CollectingOutput plain(no_time.schema);
  ASSERT_TRUE(*Poll(*source, plain, kToTheEnd));
  EXPECT_EQ(plain.rows.timestamp(0), core::kNoTimestamp);
}

// ---- checkpoints ---------------------------------------------------------------------------

TEST(DatagenSourceCheckpoint, RestoreContinuesExactlyAfterTheSnapshot) {
  const DatagenSourceOptions opts = SequenceOptions(0, 999, 16);
  for (int polls_before : {0, 1, 5, 20}) {
    for (int i = 0; i < 2; ++i) {
      auto source = Open(opts, Context(i, 2));
      CollectingOutput before(opts.schema);
      ASSERT_FALSE(*Poll(*source, before, polls_before));
      auto state = source->SnapshotState(1);
      ASSERT_TRUE(state.ok());
      CollectingOutput rest(opts.schema);  // what the running source emits after the snapshot
      ASSERT_TRUE(*Poll(*source, rest, kToTheEnd));

      api::OperatorContext ctx = Context(i, 2);
      ctx.restored_state = *state;
      auto restored = Open(opts, ctx);
      CollectingOutput after(opts.schema);
      ASSERT_TRUE(*Poll(*restored, after, kToTheEnd));
      ASSERT_EQ(ById(after), ById(rest)) << "subtask " << i << " after " << polls_before;
      EXPECT_EQ(before.rows.num_rows() + after.rows.num_rows(), 500u);
    }
  }
}

TEST(DatagenSourceCheckpoint, SnapshotAtTheEndRestoresToAnEndedSourceAndEmptyIsFresh) {
  const DatagenSourceOptions opts = SequenceOptions(0, 9);
  auto source = Open(opts, Context(0, 1));
  CollectingOutput out(opts.schema);
  ASSERT_TRUE(*Poll(*source, out, kToTheEnd));
  auto state = source->SnapshotState(3);
  ASSERT_TRUE(state.ok());
  api::OperatorContext ctx = Context(0, 1);
  ctx.restored_state = *state;
  auto restored = Open(opts, ctx);
  CollectingOutput after(opts.schema);
  ASSERT_TRUE(*Poll(*restored, after, 1));
  EXPECT_EQ(after.rows.num_rows(), 0u);
  EXPECT_EQ(after.watermarks, std::vector<int64_t>{api::kMaxWatermark});

  ctx.restored_state = std::string();
  auto fresh = Open(opts, ctx);
  CollectingOutput all(opts.schema);
  ASSERT_TRUE(*Poll(*fresh, all, kToTheEnd));
  EXPECT_EQ(all.rows.num_rows(), 10u);
}

TEST(DatagenSourceCheckpoint, WatermarkContinuesAfterRestore) {
  DatagenSourceOptions opts = SequenceOptions(0, 99, 10);
  opts.schema = Schema({{"id", core::Type::kInt64},
                        {"v", core::Type::kInt64},
                        {"s", core::Type::kString},
                        {"ts", core::Type::kTimestamp}});
  opts.fields.push_back(Sequence(0, 99));
  opts.event_time.field = "ts";
  auto source = Open(opts, Context(0, 1));
  CollectingOutput before(opts.schema);
  ASSERT_FALSE(*Poll(*source, before, 3));
  auto state = source->SnapshotState(1);
  ASSERT_TRUE(state.ok());
  api::OperatorContext ctx = Context(0, 1);
  ctx.restored_state = *state;
  auto restored = Open(opts, ctx);
  CollectingOutput after(opts.schema);
  ASSERT_TRUE(*Poll(*restored, after, kToTheEnd));
  ASSERT_FALSE(before.watermarks.empty());
  ASSERT_FALSE(after.watermarks.empty());
  EXPECT_GT(after.watermarks.front(), before.watermarks.back());
  EXPECT_EQ(after.rows.GetInt64(0, 0), 30);
}

// Runs every subtask of `p` for polls[i] polls (or to the end), adds what they emitted to
// `emitted` and returns their snapshots.
std::vector<std::string> RunAndSnapshot(const DatagenSourceOptions& opts, int p,
                                        const std::vector<int>& polls,
                                        const std::vector<std::string>& restored_union,
                                        int restored_parallelism, std::multiset<int64_t>* emitted,
                                        std::vector<size_t>* counts = nullptr) {
  std::vector<std::string> states;
  for (int i = 0; i < p; ++i) {
    api::OperatorContext ctx = Context(i, p);
    ctx.restored_union_states = restored_union;
    ctx.restored_parallelism = restored_parallelism;
    auto source = Open(opts, ctx);
    if (source == nullptr) return {};
    CollectingOutput out(opts.schema);
    auto ended = Poll(*source, out, polls[static_cast<size_t>(i) % polls.size()]);
    EXPECT_TRUE(ended.ok());
    for (int64_t id : out.Int64s(0)) emitted->insert(id);
    if (counts != nullptr) counts->push_back(out.rows.num_rows());
    auto state = source->SnapshotState(1);
    EXPECT_TRUE(state.ok());
    states.push_back(*state);
  }
  return states;
}

void ExpectExactlyOnce(const std::multiset<int64_t>& ids, int64_t start, int64_t end) {
  ASSERT_EQ(ids.size(), static_cast<size_t>(end - start + 1));
  int64_t expect = start;
  for (int64_t id : ids) ASSERT_EQ(id, expect++);
}

TEST(DatagenSourceRescale, RestoredAtOneTwoFourAndFiveGeneratesTheRestExactlyOnce) {
  const DatagenSourceOptions opts = SequenceOptions(100, 1099, 10);
  for (int new_p : {1, 2, 3, 4, 5}) {
    std::multiset<int64_t> ids;
    // Old subtasks at different positions: not started, midway, finished.
    auto states = RunAndSnapshot(opts, 3, {0, 7, kToTheEnd}, {}, 0, &ids);
    ASSERT_EQ(states.size(), 3u);
    const size_t before = ids.size();
    std::vector<size_t> counts;
    RunAndSnapshot(opts, new_p, {kToTheEnd}, states, 3, &ids, &counts);
    ExpectExactlyOnce(ids, 100, 1099);
    // The remaining rows are shared evenly.
    const size_t remaining = 1000 - before;
    for (size_t c : counts) EXPECT_NEAR(static_cast<double>(c), double(remaining) / new_p, 1.0);
  }
}

TEST(DatagenSourceRescale, ChainedRescalesAndASameParallelismRestoreInBetween) {
  const DatagenSourceOptions opts = SequenceOptions(0, 4999, 13);
  std::multiset<int64_t> ids;
  auto s3 = RunAndSnapshot(opts, 3, {4, 9, 1}, {}, 0, &ids);
  auto s5 = RunAndSnapshot(opts, 5, {2, 0, 11, 3, 40}, s3, 3, &ids);
  ASSERT_EQ(s5.size(), 5u);
  // Same parallelism: each subtask gets its own state back.
  std::vector<std::string> s5b;
  for (int i = 0; i < 5; ++i) {
    api::OperatorContext ctx = Context(i, 5);
    ctx.restored_state = s5[static_cast<size_t>(i)];
    auto source = Open(opts, ctx);
    CollectingOutput out(opts.schema);
    ASSERT_FALSE(*Poll(*source, out, 5));
    for (int64_t id : out.Int64s(0)) ids.insert(id);
    s5b.push_back(*source->SnapshotState(2));
  }
  auto s2 = RunAndSnapshot(opts, 2, {6}, s5b, 5, &ids);
  RunAndSnapshot(opts, 4, {kToTheEnd}, s2, 2, &ids);
  ExpectExactlyOnce(ids, 0, 4999);
}

TEST(DatagenSourceRescale, UnboundedSourceContinuesWhereTheOldSubtasksStopped) {
  DatagenSourceOptions opts;
  opts.schema = Schema({{"v", core::Type::kInt64}});
  opts.rows_per_second = 0;
  opts.batch_size = 10;
  // Two old subtasks emit 30 rows each, snapshot, and would have emitted `next` after.
  std::vector<std::string> states;
  std::vector<std::vector<int64_t>> next;
  std::set<int64_t> seen;
  for (int i = 0; i < 2; ++i) {
    auto source = Open(opts, Context(i, 2));
    CollectingOutput out(opts.schema);
    ASSERT_FALSE(*Poll(*source, out, 3));
    for (int64_t v : out.Int64s(0)) seen.insert(v);
    states.push_back(*source->SnapshotState(1));
    CollectingOutput more(opts.schema);
    ASSERT_FALSE(*Poll(*source, more, 2));
    next.push_back(more.Int64s(0));
  }
  ASSERT_EQ(seen.size(), 60u);
  // At parallelism 3, subtask 0 continues old subtask 0's rows; subtask 2 old subtask 1's.
  for (int i : {0, 2}) {
    api::OperatorContext ctx = Context(i, 3);
    ctx.restored_union_states = states;
    ctx.restored_parallelism = 2;
    auto source = Open(opts, ctx);
    CollectingOutput out(opts.schema);
    ASSERT_FALSE(*Poll(*source, out, 2));
    const std::vector<int64_t> got = out.Int64s(0);
    if (i == 0) {
      EXPECT_EQ(got, next[0]);
    }
    for (int64_t v : got) EXPECT_EQ(seen.count(v), 0u) << v;
  }
}

TEST(DatagenSourceRescale, AllEmptyOldStatesAreAFreshStart) {
  const DatagenSourceOptions opts = SequenceOptions(0, 99);
  std::multiset<int64_t> ids;
  RunAndSnapshot(opts, 2, {kToTheEnd}, {"", "", ""}, 3, &ids);
  ExpectExactlyOnce(ids, 0, 99);
}

TEST(DatagenSourceCheckpoint, RefusesStatesThatDoNotFit) {
  const DatagenSourceOptions opts = SequenceOptions(0, 99);
  std::multiset<int64_t> ids;
  auto states = RunAndSnapshot(opts, 2, {1}, {}, 0, &ids);
  ASSERT_EQ(states.size(), 2u);
  auto open = [&](DatagenSourceOptions o, api::OperatorContext ctx) {
    return MakeDatagenSource(std::move(o))->Open(ctx);
  };
  // Other bounds.
  DatagenSourceOptions longer = opts;
  longer.fields[0] = Sequence(0, 199);
  api::OperatorContext ctx = Context(0, 2);
  ctx.restored_state = states[0];
  absl::Status s = open(longer, ctx);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("generates 100 rows but the source now generates 200 rows"));
  DatagenSourceOptions unbounded = opts;
  unbounded.fields = {};
  s = open(unbounded, ctx);
  EXPECT_THAT(s.message(), HasSubstr("now generates unbounded rows"));
  // Another subtask's state.
  ctx.restored_state = states[1];
  s = open(opts, ctx);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("subtask 1 of parallelism 2 given to subtask 0"));
  // Not a datagen state, truncated.
  ctx.restored_state = std::string("CSVS\x01\0\0\0", 8);
  s = open(opts, ctx);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("not written by a datagen source"));
  ctx.restored_state = states[0].substr(0, states[0].size() - 3);
  EXPECT_EQ(open(opts, ctx).code(), absl::StatusCode::kDataLoss);
  // Rescaling without one old subtask's state, or with one twice.
  ctx = Context(0, 3);
  ctx.restored_union_states = {states[0]};
  ctx.restored_parallelism = 2;
  s = open(opts, ctx);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("every old subtask's position is needed"));
  ctx.restored_union_states = {states[0], states[0]};
  EXPECT_EQ(open(opts, ctx).code(), absl::StatusCode::kDataLoss);
  ctx.restored_union_states = {states[0], states[1], ""};
  EXPECT_EQ(open(opts, ctx).code(), absl::StatusCode::kDataLoss);
}

// ---- rate limit (a fake clock; no timing is asserted) --------------------------------------

TEST(DatagenSourceRate, TotalRateIsSharedByTheSubtasksWithoutBursts) {
  DatagenSourceOptions opts;
  opts.schema = Schema({{"v", core::Type::kInt64}});
  opts.rows_per_second = 1000;  // total: 500 per subtask at parallelism 2
  opts.batch_size = 64;
  int64_t clock = 0;
  int64_t longest_sleep = 0;
  opts.now_ms = [&clock] { return clock; };
  opts.sleep_ms = [&](int64_t ms) {
    longest_sleep = std::max(longest_sleep, ms);
    clock += ms;
  };
  auto source = Open(opts, Context(1, 2));
  CollectingOutput out(opts.schema);
  while (clock < 10'000) ASSERT_TRUE(*source->PollNext(out));
  // 10 simulated seconds at 500 rows/s, within one batch.
  EXPECT_NEAR(static_cast<double>(out.rows.num_rows()), 5000.0, 64.0);
  EXPECT_LE(longest_sleep, 20);
  // A long pause (backpressure) lets at most one batch through at once.
  clock += 60'000;
  const size_t before = out.rows.num_rows();
  ASSERT_TRUE(*source->PollNext(out));
  EXPECT_LE(out.rows.num_rows() - before, 64u);

  // 0 = unlimited: no sleeping at all.
  opts.rows_per_second = 0;
  longest_sleep = 0;
  source = Open(opts, Context(0, 2));
  CollectingOutput fast(opts.schema);
  ASSERT_FALSE(*Poll(*source, fast, 100));
  EXPECT_EQ(fast.rows.num_rows(), 6400u);
  EXPECT_EQ(longest_sleep, 0);
}

TEST(DatagenSourceRate, ThrottledBoundedSourceStillFinishes) {
  DatagenSourceOptions opts = SequenceOptions(0, 99, 10);
  opts.rows_per_second = 50;
  int64_t clock = 0;
  opts.now_ms = [&clock] { return clock; };
  opts.sleep_ms = [&clock](int64_t ms) { clock += ms; };
  auto source = Open(opts, Context(0, 1));
  CollectingOutput out(opts.schema);
  ASSERT_TRUE(*Poll(*source, out, kToTheEnd));
  const std::vector<int64_t> ids = out.Int64s(0);
  ExpectExactlyOnce(std::multiset<int64_t>(ids.begin(), ids.end()), 0, 99);
  EXPECT_GE(clock, 1900);  // 100 rows at 50 rows/s took about 2 simulated seconds
}

// ---- options -------------------------------------------------------------------------------

TEST(DatagenSourceOptions, BadOptionsAreRefusedNamingTheField) {
  auto error = [](const DatagenSourceOptions& o) {
    absl::Status s = ValidateDatagenOptions(o);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    // Open refuses them too.
    EXPECT_EQ(MakeDatagenSource(o)->Open(Context(0, 1)).code(), s.code());
    return std::string(s.message());
  };
  const DatagenSourceOptions good = SequenceOptions(0, 9);
  ASSERT_TRUE(ValidateDatagenOptions(good).ok());
  DatagenSourceOptions o = good;
  o.schema = nullptr;
  EXPECT_THAT(error(o), HasSubstr("no schema"));
  o = good;
  o.fields.pop_back();
  EXPECT_THAT(error(o), HasSubstr("2 field generators for a schema of 3 fields"));
  o = good;
  o.fields[0] = Sequence(5, 4);
  EXPECT_THAT(error(o), HasSubstr("field 'id': sequence end 4 is below start 5"));
  o = good;
  o.fields[1] = RandomInt(3, 2);
  EXPECT_THAT(error(o), HasSubstr("field 'v': min 3 is above max 2"));
  o = good;
  o.fields[2].length = -1;
  EXPECT_THAT(error(o), HasSubstr("field 's': length must be in 0..1048576, found -1"));
  o = good;
  o.fields[2].kind = DatagenKind::kNow;
  EXPECT_THAT(error(o),
              HasSubstr("field 's': kind now needs a timestamp or int64 field, not string"));
  o = good;
  o.schema =
      Schema({{"id", core::Type::kInt64}, {"v", core::Type::kInt64}, {"b", core::Type::kBool}});
  o.fields[2] = Sequence(0, 1);
  EXPECT_THAT(error(o), HasSubstr("field 'b': kind sequence does not apply to a bool field"));
  o = good;
  o.schema =
      Schema({{"id", core::Type::kInt64}, {"v", core::Type::kDouble}, {"s", core::Type::kString}});
  o.fields[1].min_double = 1;
  o.fields[1].max_double = 0;
  EXPECT_THAT(error(o), HasSubstr("field 'v': min 1 and max 0 must be finite"));
  o = good;
  o.rows_per_second = -1;
  EXPECT_THAT(error(o), HasSubstr("rows-per-second must be a finite number >= 0"));
  o = good;
  o.number_of_rows = -5;
  EXPECT_THAT(error(o), HasSubstr("number-of-rows must be >= 0, found -5"));
  o = good;
  o.batch_size = 0;
  EXPECT_THAT(error(o), HasSubstr("batch-size must be >= 1"));
  o = good;
  o.event_time.field = "nope";
  EXPECT_THAT(error(o), HasSubstr("event-time field 'nope' is not in the schema"));
  o.event_time.field = "s";
  EXPECT_THAT(error(o), HasSubstr("event-time field 's' has type string"));
}

}  // namespace
}  // namespace sluice::connectors

#include "runtime/connectors/nexmark/nexmark_source.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/connectors/nexmark/generator.h"
#include "runtime/core/record_batch.h"

namespace sluice::connectors::nexmark {
namespace {

// Records every emitted row (as CSV text) and watermark.
class CollectingOutput : public api::Output {
 public:
  absl::Status Emit(const core::RecordBatch& batch) override {
    for (size_t r = 0; r < batch.num_rows(); ++r) {
      rows.push_back(batch.RowToString(r));
      timestamps.push_back(batch.timestamp(r));
    }
    last = batch;
    return absl::OkStatus();
  }
  absl::Status EmitWatermark(int64_t wm) override {
    watermarks.push_back(wm);
    return absl::OkStatus();
  }
  std::vector<std::string> rows;
  std::vector<int64_t> timestamps;
  std::vector<int64_t> watermarks;
  core::RecordBatch last;
};

api::OperatorContext Context(int index, int parallelism) {
  api::OperatorContext ctx;
  ctx.subtask_index = index;
  ctx.parallelism = parallelism;
  return ctx;
}

NexmarkSourceOptions Options(NexmarkTable table, int64_t events) {
  NexmarkSourceOptions o;
  o.table = table;
  o.config.max_events = events;
  o.config.base_time_ms = 1'600'000'000'000;
  o.batch_size = 100;
  return o;
}

// Runs one subtask to its end.
CollectingOutput RunSubtask(const NexmarkSourceOptions& o, int index, int parallelism) {
  CollectingOutput out;
  auto src = MakeNexmarkSource(o);
  EXPECT_TRUE(src->Open(Context(index, parallelism)).ok());
  for (int polls = 0; polls < 100000; ++polls) {
    auto more = src->PollNext(out);
    EXPECT_TRUE(more.ok()) << more.status();
    if (!more.ok() || !*more) break;
  }
  return out;
}

// The bids of the first `events` events as the generator makes them, as CSV rows.
std::vector<std::string> ExpectedBids(const NexmarkSourceOptions& o) {
  auto gen = NexmarkGenerator::Create(o.config);
  std::vector<std::string> rows;
  core::RecordBatch b(NexmarkSchema(NexmarkTable::kBid));
  while (gen->HasNext()) {
    const Event& e = gen->Next();
    if (e.kind != EventKind::kBid) continue;
    size_t r = b.AppendRow(e.timestamp_ms);
    b.SetInt64(r, 0, e.bid.auction);
    b.SetInt64(r, 1, e.bid.bidder);
    b.SetInt64(r, 2, e.bid.price);
    b.SetString(r, 3, e.bid.channel);
    b.SetString(r, 4, e.bid.url);
    b.SetInt64(r, 5, e.bid.date_time_ms);
    b.SetString(r, 6, e.bid.extra);
    rows.push_back(b.RowToString(r));
  }
  return rows;
}

TEST(NexmarkSource, BidTableHoldsTheGeneratorsBidsWithEventTimeAndWatermarks) {
  NexmarkSourceOptions o = Options(NexmarkTable::kBid, 1000);
  CollectingOutput out = RunSubtask(o, 0, 1);
  EXPECT_EQ(out.rows, ExpectedBids(o));
  EXPECT_EQ(out.rows.size(), 920u);  // 46 of every 50 events
  ASSERT_FALSE(out.watermarks.empty());
  EXPECT_EQ(out.watermarks.back(), api::kMaxWatermark);
  EXPECT_TRUE(std::is_sorted(out.watermarks.begin(), out.watermarks.end()));
  // Row timestamps are dateTime (column 5), and no row is behind an earlier watermark.
  EXPECT_EQ(out.last.timestamp(out.last.num_rows() - 1),
            out.last.GetInt64(out.last.num_rows() - 1, 5));
  EXPECT_EQ(out.watermarks[out.watermarks.size() - 2], out.timestamps.back() - 1);
}

TEST(NexmarkSource, SubtasksTogetherEmitExactlyTheUnsplitStream) {
  NexmarkSourceOptions o = Options(NexmarkTable::kBid, 5000);
  std::vector<std::string> all;
  for (int i = 0; i < 3; ++i) {
    CollectingOutput out = RunSubtask(o, i, 3);
    all.insert(all.end(), out.rows.begin(), out.rows.end());
  }
  std::vector<std::string> want = ExpectedBids(o);
  std::sort(all.begin(), all.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(all, want);
}

TEST(NexmarkSource, EventsTableHasOneRowPerEventAndNullsForTheOtherKinds) {
  NexmarkSourceOptions o = Options(NexmarkTable::kEvents, 50);
  o.batch_size = 1000;
  CollectingOutput out = RunSubtask(o, 0, 1);
  ASSERT_EQ(out.rows.size(), 50u);
  const core::RecordBatch& b = out.last;
  const core::Schema& s = b.schema();
  ASSERT_EQ(s.num_fields(), 27u);
  const int person_id = s.FindField("person_id");
  const int auction_id = s.FindField("auction_id");
  const int bid_price = s.FindField("bid_price");
  ASSERT_GE(person_id, 0);
  ASSERT_GE(auction_id, 0);
  ASSERT_GE(bid_price, 0);
  int kinds[3] = {0, 0, 0};
  for (size_t r = 0; r < b.num_rows(); ++r) {
    const int32_t kind = b.GetInt32(r, 0);
    ASSERT_GE(kind, 0);
    ASSERT_LE(kind, 2);
    ++kinds[kind];
    EXPECT_EQ(b.IsNull(r, person_id), kind != 0) << r;
    EXPECT_EQ(b.IsNull(r, auction_id), kind != 1) << r;
    EXPECT_EQ(b.IsNull(r, bid_price), kind != 2) << r;
    EXPECT_EQ(b.GetInt64(r, 1), b.timestamp(r));
  }
  EXPECT_EQ(kinds[0], 1);
  EXPECT_EQ(kinds[1], 3);
  EXPECT_EQ(kinds[2], 46);
}

TEST(NexmarkSource, RestoreContinuesAfterTheSnapshot) {
  NexmarkSourceOptions o = Options(NexmarkTable::kBid, 3000);
  CollectingOutput first;
  auto a = MakeNexmarkSource(o);
  ASSERT_TRUE(a->Open(Context(1, 2)).ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(*a->PollNext(first));
  auto state = a->SnapshotState(1);
  ASSERT_TRUE(state.ok());
  api::OperatorContext ctx = Context(1, 2);
  ctx.restored_state = *state;
  auto b = MakeNexmarkSource(o);
  ASSERT_TRUE(b->Open(ctx).ok());
  CollectingOutput rest;
  while (*b->PollNext(rest)) {
  }
  std::vector<std::string> joined = first.rows;
  joined.insert(joined.end(), rest.rows.begin(), rest.rows.end());
  EXPECT_EQ(joined, RunSubtask(o, 1, 2).rows);
  EXPECT_FALSE(rest.rows.empty());
}

TEST(NexmarkSource, ForeignOrRescaledOrCorruptStateIsRefused) {
  NexmarkSourceOptions o = Options(NexmarkTable::kBid, 3000);
  auto a = MakeNexmarkSource(o);
  ASSERT_TRUE(a->Open(Context(0, 2)).ok());
  std::string state = *a->SnapshotState(1);

  api::OperatorContext other = Context(1, 2);
  other.restored_state = state;
  absl::Status s = MakeNexmarkSource(o)->Open(other);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("belongs to subtask 0 of parallelism 2"), std::string::npos) << s;

  api::OperatorContext rescaled = Context(0, 3);
  rescaled.restored_union_states = {state, state};
  rescaled.restored_parallelism = 2;
  s = MakeNexmarkSource(o)->Open(rescaled);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("taken at parallelism 2"), std::string::npos) << s;

  api::OperatorContext corrupt = Context(0, 2);
  corrupt.restored_state = state.substr(0, state.size() - 3);
  EXPECT_EQ(MakeNexmarkSource(o)->Open(corrupt).code(), absl::StatusCode::kDataLoss);
}

TEST(NexmarkSource, BadOptionsAreNamed) {
  NexmarkSourceOptions o = Options(NexmarkTable::kBid, 10);
  o.events_per_second = -1;
  EXPECT_NE(ValidateNexmarkSourceOptions(o).message().find("rate must be >= 0"),
            std::string::npos);
  o = Options(NexmarkTable::kBid, -5);
  EXPECT_FALSE(ValidateNexmarkSourceOptions(o).ok());
  EXPECT_EQ(ParseNexmarkTable("bids"), std::nullopt);
  EXPECT_EQ(ParseNexmarkTable("auction"), NexmarkTable::kAuction);
}

}  // namespace
}  // namespace sluice::connectors::nexmark

// Deduplicate (keep first): the first row of each key passes as a view of the input batch,
// later rows of the key are dropped (within a batch and across batches); with a TTL a key not
// seen for that long passes again; the seen keys survive a checkpoint and a restore at another
// parallelism (split by key group); on RocksDB as on the heap.

#include "runtime/operators/deduplicate_operator.h"

#include <filesystem>

#include "gtest/gtest.h"
#include "runtime/base/clock.h"
#include "runtime/core/key_groups.h"
#include "runtime/operators/tests/window_test_util.h"
#include "runtime/state/keyed_state_backend.h"

namespace sluice::operators {
namespace {

using testing::AddRow;
using testing::CollectingOutput;
using testing::InputSchema;

state::BackendOptions Options(bool rocks, const Clock* clock) {
  state::BackendOptions o;
  o.clock = clock;
  if (rocks) {
    o.kind = state::BackendOptions::kRocksDb;
    o.local_dir = (std::filesystem::path(::testing::TempDir()) / "sluice-dedup").string();
    o.block_cache_bytes = 8 << 20;
    o.write_buffer_bytes = 1 << 20;
  }
  return o;
}

std::unique_ptr<api::Operator> Open(state::KeyedStateBackend* backend, int64_t ttl_ms = 0) {
  auto op = MakeDeduplicate(InputSchema(), DeduplicateSpec{{"origin"}, ttl_ms});
  EXPECT_TRUE(op.ok()) << op.status();
  api::OperatorContext ctx;
  ctx.operator_name = "dedup";
  ctx.max_parallelism = 128;
  ctx.keyed_state = backend;
  EXPECT_TRUE((*op)->Open(ctx).ok());
  return *std::move(op);
}

core::RecordBatch Rows(const std::vector<std::pair<std::string, int64_t>>& origin_delay) {
  core::RecordBatch b(InputSchema());
  int64_t ts = 0;
  for (const auto& [origin, delay] : origin_delay) AddRow(&b, ts++, origin, delay, 0);
  return b;
}

// "origin:delay" of every emitted row.
std::vector<std::string> Passed(const CollectingOutput& out) {
  std::vector<std::string> v;
  for (const std::string& row : out.rows) {
    const size_t a = row.find(','), b = row.find(',', a + 1), c = row.find(',', b + 1);
    v.push_back(row.substr(b + 1, c - b - 1) + ":" + row.substr(a + 1, b - a - 1));
  }
  return v;
}

class DeduplicateTest : public ::testing::TestWithParam<bool> {};

TEST_P(DeduplicateTest, OnlyTheFirstRowOfEachKeyPasses) {
  ManualClock clock(1'000'000);
  auto backend = *state::KeyedStateBackend::Create(128, {0, 127}, Options(GetParam(), &clock));
  auto op = Open(backend.get());
  CollectingOutput out;
  ASSERT_TRUE(op->ProcessBatch(Rows({{"ATL", 1}, {"ORD", 2}, {"ATL", 3}}), out).ok());
  ASSERT_TRUE(op->ProcessBatch(Rows({{"ORD", 4}, {"SFO", 5}, {"ATL", 6}}), out).ok());
  EXPECT_EQ(Passed(out), (std::vector<std::string>{"ATL:1", "ORD:2", "SFO:5"}));
  op->Close();
}

TEST_P(DeduplicateTest, AKeyNotSeenForTheTtlPassesAgain) {
  ManualClock clock(1'000'000);
  auto backend = *state::KeyedStateBackend::Create(128, {0, 127}, Options(GetParam(), &clock));
  auto op = Open(backend.get(), /*ttl_ms=*/60'000);
  CollectingOutput out;
  ASSERT_TRUE(op->ProcessBatch(Rows({{"ATL", 1}}), out).ok());
  clock.Advance(59'999);
  ASSERT_TRUE(op->ProcessBatch(Rows({{"ATL", 2}}), out).ok());  // still within the TTL
  clock.Advance(1);
  ASSERT_TRUE(op->ProcessBatch(Rows({{"ATL", 3}}), out).ok());  // a TTL after the first: again
  EXPECT_EQ(Passed(out), (std::vector<std::string>{"ATL:1", "ATL:3"}));
  op->Close();
}

TEST_P(DeduplicateTest, SeenKeysSurviveARestoreAtAnotherParallelism) {
  ManualClock clock(1'000'000);
  auto src = *state::KeyedStateBackend::Create(128, {0, 127}, Options(GetParam(), &clock));
  auto op = Open(src.get());
  CollectingOutput out;
  const std::vector<std::string> keys = {"ATL", "ORD", "SFO", "JFK", "LAX", "DEN", "SEA"};
  std::vector<std::pair<std::string, int64_t>> first;
  for (const auto& k : keys) first.emplace_back(k, 1);
  ASSERT_TRUE(op->ProcessBatch(Rows(first), out).ok());
  auto snap = src->Snapshot();
  ASSERT_TRUE(snap.ok()) << snap.status();
  op->Close();

  // Two subtasks now, each restoring its half of the key groups: no key passes again, a new
  // key passes once.
  for (const core::KeyGroupRange range : {core::KeyGroupRange{0, 63}, {64, 127}}) {
    auto dst = *state::KeyedStateBackend::Create(128, range, Options(GetParam(), &clock));
    ASSERT_TRUE(dst->Restore({snap->bytes}, {snap->key_group_offsets}).ok());
    auto restored = Open(dst.get());
    std::vector<std::pair<std::string, int64_t>> mine;
    for (const auto& k : keys) {
      if (range.Contains(core::ComputeKeyGroupForKeyHash(core::JavaStringHash(k), 128))) {
        mine.emplace_back(k, 2);
      }
    }
    CollectingOutput after;
    ASSERT_TRUE(restored->ProcessBatch(Rows(mine), after).ok());
    EXPECT_TRUE(after.rows.empty()) << after.rows.front();
    restored->Close();
  }
}

INSTANTIATE_TEST_SUITE_P(Storages, DeduplicateTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "RocksDb" : "Heap"; });

TEST(Deduplicate, BadSpecsAreRefused) {
  EXPECT_EQ(MakeDeduplicate(InputSchema(), DeduplicateSpec{{"nope"}, 0}).status().message(),
            "unknown key field 'nope' (fields: date, delay, origin, distance)");
  EXPECT_FALSE(MakeDeduplicate(InputSchema(), DeduplicateSpec{{"origin"}, -1}).ok());
}

}  // namespace
}  // namespace sluice::operators

// The window operator under a job-wide state TTL (OperatorContext::state_ttl_ms, Flink SQL's
// table.exec.state.ttl): window contents not written for longer than the TTL (processing time)
// are dropped and emit nothing when their timer fires; fresh windows are unaffected; enabling
// TTL on restored window state is refused, naming the state. Both storages.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/base/clock.h"
#include "runtime/core/record_batch.h"
#include "runtime/operators/window_operator.h"
#include "runtime/state/keyed_state_backend.h"

namespace sluice::operators {
namespace {

using core::Field;
using core::RecordBatch;
using core::Schema;
using core::Type;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr int64_t kTtl = 60'000;

class CollectingOutput : public api::Output {
 public:
  absl::Status Emit(const RecordBatch& batch) override {
    for (size_t r = 0; r < batch.num_rows(); ++r) rows.push_back(batch.RowToString(r));
    return absl::OkStatus();
  }
  absl::Status EmitWatermark(int64_t) override { return absl::OkStatus(); }
  std::vector<std::string> rows;
};

core::SchemaPtr Input() {
  return std::make_shared<const Schema>(
      std::vector<Field>{{"date", Type::kTimestamp}, {"origin", Type::kString}});
}

RecordBatch Rows(const std::vector<std::pair<int64_t, std::string>>& rows) {
  RecordBatch b(Input());
  for (const auto& [ts, origin] : rows) {
    const size_t r = b.AppendRow(ts);
    b.SetInt64(r, 0, ts);
    b.SetString(r, 1, origin);
  }
  return b;
}

WindowAggregateSpec CountPerOrigin() {
  WindowAggregateSpec spec;
  spec.size_ms = 1000;
  spec.key_fields = {"origin"};
  spec.aggregates = {{"n", AggregateKind::kCount, ""}};
  return spec;
}

absl::StatusOr<std::unique_ptr<api::Operator>> Open(state::KeyedStateBackend* backend,
                                               int64_t state_ttl_ms) {
  ASSIGN_OR_RETURN(auto op, MakeWindowAggregate(Input(), CountPerOrigin()));
  api::OperatorContext ctx;
  ctx.operator_name = "window";
  ctx.max_parallelism = 128;
  ctx.keyed_state = backend;
  ctx.state_ttl_ms = state_ttl_ms;
  RETURN_IF_ERROR(op->Open(ctx));
  return op;
}

state::BackendOptions Options(bool rocks, const Clock* clock) {
  state::BackendOptions o;
  o.clock = clock;
  if (rocks) {
    o.kind = state::BackendOptions::kRocksDb;
    o.local_dir = (std::filesystem::path(::testing::TempDir()) / "sluice-window-ttl").string();
    o.block_cache_bytes = 8 << 20;
    o.write_buffer_bytes = 1 << 20;
  }
  return o;
}

class WindowStateTtl : public ::testing::TestWithParam<bool> {};

// Window [0, 1000) of "JFK" gets records at processing time t0, that of "LAX" a TTL later; the
// watermark then fires both windows.
std::vector<std::string> RunWith(bool rocks, int64_t state_ttl_ms) {
  ManualClock clock(1'700'000'000'000);
  auto backend = state::KeyedStateBackend::Create(128, {0, 127}, Options(rocks, &clock));
  EXPECT_TRUE(backend.ok()) << backend.status();
  auto op = Open(backend->get(), state_ttl_ms);
  EXPECT_TRUE(op.ok()) << op.status();
  CollectingOutput out;
  EXPECT_TRUE((*op)->ProcessBatch(Rows({{10, "JFK"}, {20, "JFK"}, {30, "LAX"}}), out).ok());
  clock.Advance(kTtl / 2);
  EXPECT_TRUE((*op)->ProcessBatch(Rows({{40, "LAX"}}), out).ok());
  clock.Advance(kTtl / 2);  // JFK's window was last written a TTL ago, LAX's half a TTL ago
  absl::Status st = (*op)->ProcessWatermark(999, out);
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ((*backend)->NumEventTimeTimers(), 0u) << "both timers fired";
  (*op)->Close();
  return out.rows;
}

TEST_P(WindowStateTtl, ExpiredWindowContentsEmitNothing) {
  EXPECT_THAT(RunWith(GetParam(), kTtl), ElementsAre("LAX,1970-01-01T00:00:00Z,1970-01-01T00:00:01Z,2"));
}

TEST_P(WindowStateTtl, WithoutTtlEveryWindowFires) {
  EXPECT_THAT(RunWith(GetParam(), 0), UnorderedElementsAre("JFK,1970-01-01T00:00:00Z,1970-01-01T00:00:01Z,2", "LAX,1970-01-01T00:00:00Z,1970-01-01T00:00:01Z,2"));
}

TEST_P(WindowStateTtl, EnablingTtlOnRestoredWindowStateIsRefused) {
  ManualClock clock(1'700'000'000'000);
  auto src = state::KeyedStateBackend::Create(128, {0, 127}, Options(GetParam(), &clock));
  ASSERT_TRUE(src.ok());
  {
    auto op = Open(src->get(), 0);
    ASSERT_TRUE(op.ok()) << op.status();
    CollectingOutput out;
    ASSERT_TRUE((*op)->ProcessBatch(Rows({{10, "JFK"}}), out).ok());
  }
  auto snap = (*src)->Snapshot();
  ASSERT_TRUE(snap.ok());
  auto dst = state::KeyedStateBackend::Create(128, {0, 127}, Options(GetParam(), &clock));
  ASSERT_TRUE((*dst)->Restore({snap->bytes}, {snap->key_group_offsets}).ok());
  auto op = Open(dst->get(), kTtl);
  ASSERT_FALSE(op.ok());
  EXPECT_EQ(op.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(op.status().message(), HasSubstr(std::string(kWindowContentsStateName)));
  EXPECT_THAT(op.status().message(), HasSubstr("without TTL but is registered with TTL"));
}

INSTANTIATE_TEST_SUITE_P(Storages, WindowStateTtl, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "RocksDb" : "Heap"; });

}  // namespace
}  // namespace sluice::operators

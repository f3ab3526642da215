#pragma once
// Helpers shared by the window operator tests: an Output that records what it receives, and the
// flights-like input schema with a row builder.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/api/operator.h"
#include "runtime/core/record_batch.h"
#include "runtime/operators/window_operator.h"
#include "runtime/base/clock.h"
#include "runtime/state/keyed_state_backend.h"

namespace sluice::operators::testing {

using core::Field;
using core::RecordBatch;
using core::Schema;
using core::SchemaPtr;
using core::Type;

// Collects emitted rows (as strings, with their timestamps) and watermarks.
class CollectingOutput : public api::Output {
 public:
  absl::Status Emit(const RecordBatch& batch) override {
    ++batches;
    for (size_t r = 0; r < batch.num_rows(); ++r) {
      rows.push_back(batch.RowToString(r));
      timestamps.push_back(batch.timestamp(r));
    }
    return absl::OkStatus();
  }
  absl::Status EmitWatermark(int64_t wm) override {
    watermarks.push_back(wm);
    return absl::OkStatus();
  }

  int batches = 0;
  std::vector<std::string> rows;
  std::vector<int64_t> timestamps;
  std::vector<int64_t> watermarks;
};

inline SchemaPtr InputSchema() {
  return std::make_shared<const Schema>(std::vector<Field>{{"date", Type::kTimestamp},
                                                           {"delay", Type::kInt64},
                                                           {"origin", Type::kString},
                                                           {"distance", Type::kDouble}});
}

inline void AddRow(RecordBatch* b, int64_t ts, const std::string& origin, int64_t delay, double distance) {
  size_t r = b->AppendRow(ts);
  b->SetInt64(r, 0, ts);
  b->SetInt64(r, 1, delay);
  b->SetString(r, 2, origin);
  b->SetDouble(r, 3, distance);
}

inline WindowAggregateSpec AllAggregates(int64_t size_ms) {
  WindowAggregateSpec spec;
  spec.size_ms = size_ms;
  spec.key_fields = {"origin"};
  spec.aggregates = {{"n", AggregateKind::kCount, ""},
                     {"sum_delay", AggregateKind::kSum, "delay"},
                     {"min_delay", AggregateKind::kMin, "delay"},
                     {"max_delay", AggregateKind::kMax, "delay"},
                     {"avg_delay", AggregateKind::kAvg, "delay"},
                     {"sum_dist", AggregateKind::kSum, "distance"},
                     {"max_date", AggregateKind::kMax, "date"}};
  return spec;
}


// The window operator for `spec` over InputSchema(), opened with its own state backend.
inline std::unique_ptr<api::Operator> Make(WindowAggregateSpec spec,
                                           api::OperatorMetrics* metrics = nullptr) {
  auto op = MakeWindowAggregate(InputSchema(), std::move(spec));
  EXPECT_TRUE(op.ok()) << op.status();
  api::OperatorContext ctx;
  ctx.operator_name = "window";
  ctx.metrics = metrics;
  EXPECT_TRUE((*op)->Open(ctx).ok());
  return std::move(op).value();
}

// A keyed state backend over `range` (max parallelism 128) on the heap, or on RocksDB in a
// directory named `dir` under the test's temp dir; `clock` (optional) for state TTL.
inline std::unique_ptr<state::KeyedStateBackend> NewTestBackend(bool rocksdb,
                                                                core::KeyGroupRange range,
                                                                const char* dir,
                                                                const Clock* clock = nullptr) {
  state::BackendOptions o;
  if (clock != nullptr) o.clock = clock;
  if (rocksdb) {
    o.kind = state::BackendOptions::kRocksDb;
    o.local_dir = (std::filesystem::path(::testing::TempDir()) / dir).string();
    o.block_cache_bytes = 8 << 20;
    o.write_buffer_bytes = 1 << 20;
  }
  auto b = state::KeyedStateBackend::Create(128, range, o);
  EXPECT_TRUE(b.ok()) << b.status();
  return *std::move(b);
}

}  // namespace sluice::operators::testing

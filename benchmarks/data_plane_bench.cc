// Google Benchmark suite for the hot parts of the data plane (issue 11): building a columnar
// batch, the filter operator (selection vector), hash partitioning by key group, and the batch
// wire format. Figures are recorded in benchmarks/RESULTS.md; run with
//   build/benchmarks/data_plane_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "runtime/core/key_groups.h"
#include "runtime/core/key_selector.h"
#include "runtime/core/record_batch.h"
#include "runtime/expr/expression.h"
#include "runtime/operators/basic_operators.h"

namespace sluice {
namespace {

constexpr size_t kRows = 1024;

// The flights example's columns.
core::SchemaPtr FlightSchema() {
  return std::make_shared<core::Schema>(std::vector<core::Field>{{"date", core::Type::kTimestamp},
                                                                 {"delay", core::Type::kInt64},
                                                                 {"distance", core::Type::kInt64},
                                                                 {"origin", core::Type::kString},
                                                                 {"destination", core::Type::kString}});
}

const char* const kAirports[] = {"ATL", "ORD", "DFW", "DEN", "LAX", "SFO", "JFK", "SEA"};

void Fill(core::RecordBatch* b, size_t rows) {
  for (size_t i = 0; i < rows; ++i) {
    const size_t r = b->AppendRow(static_cast<int64_t>(i));
    b->SetInt64(r, 0, 978307200000 + static_cast<int64_t>(i) * 60000);
    b->SetInt64(r, 1, static_cast<int64_t>((i * 7919) % 120) - 20);
    b->SetInt64(r, 2, static_cast<int64_t>(100 + i % 2000));
    b->SetString(r, 3, kAirports[i % 8]);
    b->SetString(r, 4, kAirports[(i * 3 + 1) % 8]);
  }
}

void BM_BatchBuild(benchmark::State& state) {
  core::RecordBatch b(FlightSchema());
  for (auto _ : state) {
    b.Clear();
    Fill(&b, kRows);
    benchmark::DoNotOptimize(b.num_rows());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRows));
}
BENCHMARK(BM_BatchBuild);

// Counts what the filter emits, without copying it.
class CountingOutput final : public api::Output {
 public:
  absl::Status Emit(const core::RecordBatch& b) override {
    rows += b.num_rows();
    return absl::OkStatus();
  }
  absl::Status EmitWatermark(int64_t) override { return absl::OkStatus(); }
  size_t rows = 0;
};

void BM_FilterDelayGreaterThan(benchmark::State& state) {
  core::SchemaPtr schema = FlightSchema();
  core::RecordBatch b(schema);
  Fill(&b, kRows);
  auto filter = operators::MakeFilter(schema, "delay > 15 and origin != 'SEA'");
  if (!filter.ok()) {
    state.SkipWithError(std::string(filter.status().message()).c_str());
    return;
  }
  CountingOutput out;
  for (auto _ : state) {
    if (!(*filter)->ProcessBatch(b, out).ok()) state.SkipWithError("filter failed");
  }
  benchmark::DoNotOptimize(out.rows);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRows));
}
BENCHMARK(BM_FilterDelayGreaterThan);

// What RecordWriter does on a HASH edge: the key group of each row's key and its consumer
// subtask, then one gather per column into each consumer's pending batch.
void BM_HashPartition(benchmark::State& state) {
  const int consumers = static_cast<int>(state.range(0));
  core::SchemaPtr schema = FlightSchema();
  core::RecordBatch b(schema);
  Fill(&b, kRows);
  auto key = core::KeySelector::Create(*schema, {"origin"});
  std::vector<core::RecordBatch> pending(static_cast<size_t>(consumers), core::RecordBatch(schema));
  std::vector<std::vector<uint32_t>> rows_of(static_cast<size_t>(consumers));
  for (auto _ : state) {
    for (auto& p : pending) p.Clear();
    for (auto& v : rows_of) v.clear();
    for (size_t r = 0; r < kRows; ++r) {
      const int32_t kg = key->KeyGroup(b, r, 128);
      const int32_t target = core::ComputeOperatorIndexForKeyGroup(128, consumers, kg);
      rows_of[static_cast<size_t>(target)].push_back(static_cast<uint32_t>(r));
    }
    for (size_t t = 0; t < pending.size(); ++t) {
      pending[t].AppendRows(b, rows_of[t].data(), rows_of[t].size());
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRows));
}
BENCHMARK(BM_HashPartition)->Arg(2)->Arg(8);

void BM_WireEncode(benchmark::State& state) {
  core::RecordBatch b(FlightSchema());
  Fill(&b, kRows);
  std::string bytes;
  for (auto _ : state) {
    b.SerializeTo(&bytes);
    benchmark::DoNotOptimize(bytes.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRows));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_WireEncode);

void BM_WireDecode(benchmark::State& state) {
  core::SchemaPtr schema = FlightSchema();
  core::RecordBatch b(schema);
  Fill(&b, kRows);
  std::string bytes;
  b.SerializeTo(&bytes);
  core::RecordBatch c(schema);
  for (auto _ : state) {
    if (!c.DeserializeFrom(bytes).ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(c.num_rows());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRows));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_WireDecode);

}  // namespace
}  // namespace sluice

BENCHMARK_MAIN();

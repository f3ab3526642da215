// Google Benchmark suite for the operator library and the C++ API's user functions (issues 12,
// 13):
// rows per second through one
// operator instance on the heap state backend, with the flights example's columns and 64 keys
// (origins), event time advancing one minute per row and a watermark every batch. Figures are
// recorded in benchmarks/RESULTS.md; run with
//   build/bin/operators_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "runtime/api/operator.h"
#include "runtime/core/record_batch.h"
#include "runtime/operators/interval_join.h"
#include "runtime/operators/lookup_join.h"
#include "runtime/operators/over_aggregate.h"
#include "runtime/operators/window_operator.h"
#include "runtime/udf/function_operator.h"
#include "sluice/datastream.h"

namespace sluice {
namespace {

constexpr size_t kRows = 1024;
constexpr int kKeys = 64;
constexpr int64_t kMinute = 60'000;

core::SchemaPtr FlightSchema() {
  return std::make_shared<core::Schema>(std::vector<core::Field>{{"date", core::Type::kTimestamp},
                                                                 {"delay", core::Type::kInt64},
                                                                 {"origin", core::Type::kString}});
}

std::string Origin(int k) { return "A" + std::to_string(k); }

// Batch `b` of kRows rows starting at row number `first`: one row per minute per key round.
void Fill(core::RecordBatch* b, int64_t first) {
  b->Clear();
  for (size_t i = 0; i < kRows; ++i) {
    const int64_t n = first + static_cast<int64_t>(i);
    const int64_t ts = n / kKeys * kMinute;
    const size_t r = b->AppendRow(ts);
    b->SetInt64(r, 0, ts);
    b->SetInt64(r, 1, (n * 7919) % 120 - 20);
    b->SetString(r, 2, Origin(static_cast<int>(n % kKeys)));
  }
}

class CountingOutput final : public api::Output {
 public:
  absl::Status Emit(const core::RecordBatch& b) override {
    rows += b.num_rows();
    return absl::OkStatus();
  }
  absl::Status EmitWatermark(int64_t) override { return absl::OkStatus(); }
  size_t rows = 0;
};

std::unique_ptr<api::Operator> Open(absl::StatusOr<std::unique_ptr<api::Operator>> op) {
  if (!op.ok()) std::abort();
  api::OperatorContext ctx;
  ctx.max_parallelism = 128;
  if (!(*op)->Open(ctx).ok()) std::abort();
  return *std::move(op);
}

// Feeds batches with a watermark after each (windows fire as event time advances).
void RunBatches(benchmark::State& state, api::Operator& op) {
  core::RecordBatch b(FlightSchema());
  CountingOutput out;
  int64_t first = 0;
  for (auto _ : state) {
    Fill(&b, first);
    first += kRows;
    if (!op.ProcessBatch(b, out).ok()) std::abort();
    if (!op.ProcessWatermark(b.timestamp(kRows - 1) - kMinute, out).ok()) std::abort();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRows));
  state.counters["out_rows"] = static_cast<double>(out.rows);
}

void RunWindow(benchmark::State& state, operators::WindowAggregateSpec spec) {
  spec.key_fields = {"origin"};
  spec.aggregates = {{"n", operators::AggregateKind::kCount, ""},
                     {"avg", operators::AggregateKind::kAvg, "delay"},
                     {"mx", operators::AggregateKind::kMax, "delay"}};
  auto op = Open(operators::MakeWindowAggregate(FlightSchema(), spec));
  RunBatches(state, *op);
}

void BM_TumblingWindow(benchmark::State& state) {
  operators::WindowAggregateSpec spec;
  spec.size_ms = 60 * kMinute;
  RunWindow(state, spec);
}
BENCHMARK(BM_TumblingWindow);

void BM_SlidingWindow4(benchmark::State& state) {  // each row in 4 windows
  operators::WindowAggregateSpec spec;
  spec.kind = operators::WindowKind::kSliding;
  spec.size_ms = 60 * kMinute;
  spec.slide_ms = 15 * kMinute;
  RunWindow(state, spec);
}
BENCHMARK(BM_SlidingWindow4);

void BM_SessionWindow(benchmark::State& state) {  // every row extends its key's session
  operators::WindowAggregateSpec spec;
  spec.kind = operators::WindowKind::kSession;
  spec.size_ms = 30 * kMinute;
  RunWindow(state, spec);
}
BENCHMARK(BM_SessionWindow);

// OVER aggregations per origin (issue 13): sum, count and max over the frame of each row.
void RunOver(benchmark::State& state, operators::OverFrame frame, std::optional<int64_t> preceding) {
  operators::OverAggregateSpec spec;
  spec.keys = {"origin"};
  spec.frame = frame;
  spec.preceding = preceding;
  spec.calls = {{operators::OverAggKind::kSum, "delay", "s"},
                {operators::OverAggKind::kCountStar, "", "n"},
                {operators::OverAggKind::kMax, "delay", "mx"}};
  auto op = Open(operators::MakeOverAggregate(FlightSchema(), spec));
  RunBatches(state, *op);
}
void BM_OverRows10(benchmark::State& state) {  // ROWS BETWEEN 10 PRECEDING
  RunOver(state, operators::OverFrame::kRows, 10);
}
BENCHMARK(BM_OverRows10);
void BM_OverRange10Min(benchmark::State& state) {  // RANGE 10 min PRECEDING: 11 rows per frame
  RunOver(state, operators::OverFrame::kRange, 10 * kMinute);
}
BENCHMARK(BM_OverRange10Min);
void BM_OverUnbounded(benchmark::State& state) {  // ROWS UNBOUNDED PRECEDING: an accumulator
  RunOver(state, operators::OverFrame::kRows, std::nullopt);
}
BENCHMARK(BM_OverUnbounded);

// Both inputs get the same batches; each left row meets the right rows of its key within
// [-2 min, +2 min] (5 rows per side), so 5 output rows per input row.
void BM_IntervalJoin(benchmark::State& state) {
  auto op = Open(operators::MakeIntervalJoin(
      FlightSchema(), FlightSchema(), {{"origin"}, {"origin"}, -2 * kMinute, 2 * kMinute, "r_"}));
  core::RecordBatch b(FlightSchema());
  CountingOutput out;
  int64_t first = 0;
  for (auto _ : state) {
    Fill(&b, first);
    first += kRows;
    if (!op->ProcessInput(0, b, out).ok() || !op->ProcessInput(1, b, out).ok()) std::abort();
    if (!op->ProcessWatermark(b.timestamp(kRows - 1) - kMinute, out).ok()) std::abort();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRows * 2));
  state.counters["out_rows"] = static_cast<double>(out.rows);
}
BENCHMARK(BM_IntervalJoin);

// A 64-row dimension table; every row matches one.
class Table final : public operators::LookupTableSource {
 public:
  core::SchemaPtr schema() const override {
    return std::make_shared<core::Schema>(std::vector<core::Field>{
        {"iata", core::Type::kString}, {"state", core::Type::kString}});
  }
  absl::StatusOr<std::optional<core::RecordBatch>> LoadIfChanged() override {
    core::RecordBatch t(schema());
    for (int k = 0; k < kKeys; ++k) {
      const size_t r = t.AppendRow();
      t.SetString(r, 0, Origin(k));
      t.SetString(r, 1, "S" + std::to_string(k % 50));
    }
    return t;
  }
  std::string Describe() const override { return "bench table"; }
};

void BM_LookupJoin(benchmark::State& state) {
  auto op = Open(operators::MakeLookupJoin(FlightSchema(), {{"origin"}, {"iata"}, {{"state", "state"}}},
                                           [] { return std::make_unique<Table>(); }));
  core::RecordBatch b(FlightSchema());
  CountingOutput out;
  Fill(&b, 0);
  for (auto _ : state) {
    if (!op->ProcessBatch(b, out).ok()) std::abort();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRows));
}
BENCHMARK(BM_LookupJoin);

// --- user functions of the C++ API (runtime/udf): a virtual call per row ---------------------

template <typename F>
std::unique_ptr<api::Operator> OpenFunction(sluice::FunctionKind kind, F fn, core::SchemaPtr out,
                                            std::vector<std::string> keys = {}) {
  udf::FunctionOperatorSpec spec;
  spec.function_id = "bench";
  spec.factory = {kind, [fn] { return std::unique_ptr<sluice::Function>(new F(fn)); }};
  spec.inputs = {FlightSchema()};
  if (!keys.empty()) spec.keys = {keys};
  spec.output = std::move(out);
  return Open(udf::MakeFunctionOperator(std::move(spec)));
}


struct DelayInHours : sluice::MapFunction {
  void Map(const sluice::Row& in, sluice::RowWriter& out) override {
    out.Copy(0, in, 2);
    out.SetDouble(1, static_cast<double>(in.GetInt64(1)) / 60.0);
  }
};

void BM_UserMap(benchmark::State& state) {
  auto op = OpenFunction(sluice::FunctionKind::kMap, DelayInHours(),
                         std::make_shared<core::Schema>(std::vector<core::Field>{
                             {"origin", core::Type::kString}, {"hours", core::Type::kDouble}}));
  RunBatches(state, *op);
}
BENCHMARK(BM_UserMap);

// A KeyedProcessFunction keeping a count per key in ValueState; emits nothing.
struct CountPerKey : sluice::KeyedProcessFunction {
  void Open(sluice::RuntimeContext& ctx) override { count_ = ctx.GetValueState<int64_t>("n"); }
  void ProcessElement(const sluice::Row&, sluice::Context&, sluice::Collector&) override {
    count_.Update(count_.ValueOr(0) + 1);
  }
  sluice::ValueState<int64_t> count_;
};

void BM_UserKeyedProcessValueState(benchmark::State& state) {
  auto op = OpenFunction(sluice::FunctionKind::kProcess, CountPerKey(), FlightSchema(), {"origin"});
  RunBatches(state, *op);
}
BENCHMARK(BM_UserKeyedProcessValueState);

// The tumbling-window benchmark's count with a user AggregateFunction (windows.h).
struct CountAgg : sluice::AggregateFunction<int64_t> {
  int64_t CreateAccumulator() override { return 0; }
  void Add(const sluice::Row&, int64_t& acc) override { ++acc; }
  void Merge(int64_t& into, const int64_t& from) override { into += from; }
  void GetResult(const int64_t& acc, const sluice::WindowContext& w, sluice::RowWriter& out) override {
    out.SetString(0, w.Key().GetString(0));
    out.SetInt64(1, acc);
  }
};

void BM_UserTumblingWindow(benchmark::State& state) {
  auto op = OpenFunction(
      sluice::FunctionKind::kProcess,
      sluice::detail::WindowAggregateProcess<CountAgg>(CountAgg(), "tumbling", 60 * kMinute, 0, 0, 0),
      std::make_shared<core::Schema>(std::vector<core::Field>{{"origin", core::Type::kString},
                                                              {"n", core::Type::kInt64}}),
      {"origin"});
  RunBatches(state, *op);
}
BENCHMARK(BM_UserTumblingWindow);

}  // namespace
}  // namespace sluice

BENCHMARK_MAIN();

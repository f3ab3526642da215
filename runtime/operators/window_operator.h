#pragma once
// Keyed tumbling event-time window aggregation: Flink's WindowOperator with
// TumblingEventTimeWindows, EventTimeTrigger, allowed lateness 0 and an incremental
// AggregateFunction (count, sum, min, max, avg), i.e.
//   stream.keyBy(k...).window(TumblingEventTimeWindows.of(size, offset)).aggregate(...)
//
// Semantics (ported from Flink):
// - Window assignment: TimeWindow.getWindowStartWithOffset(ts, offset, size); a record with
//   event timestamp ts belongs to [start, start + size). Negative timestamps are handled.
// - A window fires when the watermark reaches its maxTimestamp (end - 1). Windows fire in order
//   of window end; windows with the same end fire in unspecified order. Each fired window emits
//   one row with event timestamp end - 1 and is then discarded (purged).
// - Late records (their window's end - 1 <= current watermark, i.e. it already fired) are
//   dropped and counted in OperatorMetrics::late_records_dropped (Flink's
//   numLateRecordsDropped).
// - Records without an event timestamp (kNoTimestamp) fail the task with InvalidArgument.
//
// Output schema: the key fields (same names and types, in key order), `window_start`
// (timestamp), `window_end` (timestamp, exclusive), then one field per aggregate:
//   count -> int64; sum -> int64 for int64 input, double for double input;
//   min/max -> the input type (int64, double or timestamp); avg -> double ((double)sum / count,
//   sum kept exactly as int64 for int64 input). Integer sums wrap on overflow as Java's long.
//
// Lifecycle: made by MakeTumblingWindowAggregate, then Open, ProcessBatch/ProcessWatermark,
// Finish, Close (operator.h). Thread: the owning Task's thread only. State lives in memory
// (checkpointing comes with keyed state backends).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/core/types.h"
#include "runtime/operators/operator.h"

namespace sluice::operators {

enum class AggregateKind { kCount, kSum, kMin, kMax, kAvg };

// "count", "sum", "min", "max", "avg" (the names used in job specs).
std::string_view AggregateKindName(AggregateKind kind);
// Parses a job-spec aggregate name (also accepts "average"/"mean" for avg); nullopt if unknown.
std::optional<AggregateKind> ParseAggregateKind(std::string_view name);

struct AggregateSpec {
  std::string output_name;  // output field name; unique in the output schema
  AggregateKind kind;
  std::string field;  // input field; empty (ignored) for count
};

struct TumblingWindowSpec {
  int64_t size_ms;        // > 0
  int64_t offset_ms = 0;  // |offset_ms| < size_ms (Flink's TumblingEventTimeWindows.of)
  std::vector<std::string> key_fields;  // at least one
  std::vector<AggregateSpec> aggregates;
};

// Flink's TimeWindow.getWindowStartWithOffset: start of the window of size `size_ms` shifted
// by `offset_ms` that contains `timestamp` (ms). Correct for negative timestamps.
inline int64_t WindowStartWithOffset(int64_t timestamp, int64_t offset_ms, int64_t size_ms) {
  const int64_t remainder = (timestamp - offset_ms) % size_ms;
  return remainder < 0 ? timestamp - (remainder + size_ms) : timestamp - remainder;
}

// Builds the operator for `input` batches. InvalidArgument, with the aggregate's output name,
// when: a key or aggregate field is unknown ("aggregate 'avg_delay': unknown field 'delays'
// (fields: a, b)"); sum/avg is over a non-numeric field ("aggregate 'x': sum needs an int64 or
// double field, 'origin' is string"); min/max is over a string or bool field; size_ms <= 0 or
// |offset_ms| >= size_ms; two output fields share a name.
absl::StatusOr<std::unique_ptr<Operator>> MakeTumblingWindowAggregate(core::SchemaPtr input,
                                                                      TumblingWindowSpec spec);

}  // namespace sluice::operators

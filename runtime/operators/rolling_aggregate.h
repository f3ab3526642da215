#pragma once
// Keyed aggregation without windows (Flink's DataStream rolling aggregations,
// `keyBy(k).sum(f)` / `.reduce(...)` / `.aggregate(...)` on a KeyedStream): every input row
// updates its key's aggregates and emits the key's current result, a continuously updated
// result per key.
//
// Output: one row per input row: the key fields, then one field per aggregate (the window
// aggregates of window_aggregates.h, same types and null rules), with the input row's event
// timestamp. The stream is append-only: the latest row of a key is its current result (Flink's
// DataStream behaviour), or with `changelog` an updating stream that retracts the previous
// result (SQL's GROUP BY).
// Watermarks pass through.
//
// State: per key, the aggregates' accumulators (WindowContents) in an AggregatingState named
// kRollingAggregateStateName (namespace 0) of the keyed state backend: checkpointed, restored
// and redistributed by key group. With ttl_ms > 0 (Flink's state TTL, processing time,
// OnCreateAndWrite) a key not updated for that long is forgotten: its next row starts from
// zero, and the state stays bounded by the keys active within the TTL.
// Errors: MakeRollingAggregate: InvalidArgument for an unknown key field, an aggregate error
// (WindowAggregates::Resolve), a duplicate output name, ttl < 0. ProcessBatch: Internal for a
// row outside the subtask's key groups.
// Thread: the owning task's thread only.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/api/operator.h"
#include "runtime/core/types.h"
#include "runtime/operators/window_aggregates.h"

namespace sluice::operators {

inline constexpr std::string_view kRollingAggregateStateName = "rolling-aggregate";

struct RollingAggregateSpec {
  std::vector<std::string> key_fields;  // at least one
  std::vector<AggregateSpec> aggregates;
  int64_t ttl_ms = 0;  // 0: keys are kept forever
  // SQL's GROUP BY: an updating stream (Flink's RowKind) instead of an append-only one: a key's
  // first row emits +I with its result, every later row -U with the previous result, then +U
  // with the new one. (A key forgotten by the TTL starts again with +I, as in Flink.)
  bool changelog = false;
  // The input is an updating stream: its -U/-D rows retract what their +I/+U rows added (only
  // count, sum and avg can; MakeRollingAggregate refuses the others). A key whose rows are all
  // retracted emits -D and is forgotten. Needs `changelog`.
  bool retract_input = false;
};

absl::StatusOr<std::unique_ptr<api::Operator>> MakeRollingAggregate(core::SchemaPtr input,
                                                                    RollingAggregateSpec spec);

}  // namespace sluice::operators

#pragma once
// Keyed event-time window aggregation: Flink's WindowOperator with TumblingEventTimeWindows,
// SlidingEventTimeWindows or Flink SQL's cumulative windows (window_assigner.h), or
// EventTimeSessionWindows (merging windows; session_window_operator.h), EventTimeTrigger, an
// allowed lateness and incremental aggregate functions (window_aggregates.h), i.e.
//   stream.keyBy(k...).window(SlidingEventTimeWindows.of(size, slide, offset)).aggregate(...)
//
// Session windows (Flink's EventTimeSessionWindows.withGap(gap)): each record opens the window
// [ts, ts + gap); windows of one key that overlap or touch merge into one session (their
// contents merge, WindowAggregates::Merge). A session fires when the watermark reaches its
// end - 1, i.e. after `gap` without a record of its key in event time. Everything below holds
// for sessions with "window" read as "session"; see session_window_operator.h for their state.
//
// Semantics (ported from Flink):
// - Window assignment: WindowAssigner; a record belongs to one tumbling window, size/slide
//   sliding windows, or max_size/step cumulative ones. Negative timestamps are handled.
// - A window fires when the watermark reaches its maxTimestamp (end - 1). Windows fire in order
//   of window end (ties: see "State and checkpoints" below). Each firing emits one row with
//   event timestamp end - 1. Without allowed lateness the window is then discarded (purged).
// - Allowed lateness L (Flink's allowedLateness): a fired window is kept until the watermark
//   reaches end - 1 + L (its cleanup timer). A record that arrives meanwhile is added and the
//   window fires again at once, emitting the updated row (Flink's EventTimeTrigger fires on
//   such an element): downstream sees one row per firing.
// - A record is added to each of its windows not yet cleaned up. A record none of whose windows
//   is kept any more (end - 1 + L <= current watermark for all) is late: dropped and counted in
//   OperatorMetrics::late_records_dropped (Flink's numLateRecordsDropped), or, with
//   `late_rows_to_side_output`, emitted unchanged to side output 1 (input schema) and not
//   counted (Flink's sideOutputLateData).
// - Records without an event timestamp (kNoTimestamp) fail the task with InvalidArgument.
//
// Output schema: the key fields (same names and types, in key order), `window_start`
// (timestamp), `window_end` (timestamp, exclusive), then one field per aggregate:
//   count -> int64; sum -> int64 for int64 input, double for double input;
//   min/max -> the input type (int64, double or timestamp); avg -> double ((double)sum / count,
//   sum kept exactly as int64 for int64 input). Integer sums wrap on overflow as Java's long.
//
// State and checkpoints (Flink's WindowOperator over a keyed state backend): window contents
// and event-time timers live in a state::KeyedStateBackend, so the Task snapshots and restores
// them per key group (also at another parallelism):
// - the backend is OperatorContext::keyed_state when set (the Task's, covering the subtask's key
//   group range and already restored); otherwise (unit tests, standalone use) the operator owns
//   a private backend over all key groups [0, max_parallelism - 1].
// - per (key, window): key = the KeySelector's key bytes, key group = KeySelector::KeyGroup with
//   OperatorContext::max_parallelism, namespace = window end; one AggregatingState entry named
//   kWindowContentsStateName (record count + one 8-byte accumulator per aggregate), one
//   event-time timer at end - 1 (Flink's per-key, per-window timer) and, with allowed lateness
//   L > 0, a cleanup timer at end - 1 + L. Windows with the same end
//   fire in order of key group, then key bytes. A record whose key group is outside the
//   backend's range fails the task with Internal (the input was not partitioned by the
//   window's key).
// - SnapshotState returns the operator's current watermark (8 bytes, little-endian), which the
//   backend's snapshot does not hold; Open restores it from OperatorContext::restored_state
//   (late-record dropping continues exactly where it stopped). Absent (e.g. a new subtask after
//   a scale-up) it starts at kMinWatermark.
// - State TTL (Flink SQL's table.exec.state.ttl): with OperatorContext::state_ttl_ms > 0 the
//   window contents are registered with StateTtlConfig{state_ttl_ms, kOnCreateAndWrite,
//   kNeverReturnExpired}: a window that received no record for that long (processing time)
//   is dropped (on access, incrementally on the heap, by RocksDB compaction, and from
//   snapshots), and when its timer fires nothing is emitted for it. Windows clean their state
//   through their timers anyway; TTL bounds the state of windows that never fire (a watermark
//   that stops advancing). Timers are not subject to TTL (as in Flink). Enabling or disabling
//   TTL across a restore is refused (state::KeyedStateBackend, as in Flink); changing its
//   duration is fine.
// - Open fails with DataLoss for restored operator state that is not 8 bytes, and with
//   InvalidArgument when restored window contents hold another number of accumulators than the
//   operator has aggregates (the job's aggregates changed).
//
// Lifecycle: made by MakeWindowAggregate, then Open, ProcessBatch/ProcessWatermark,
// SnapshotState at checkpoints, Finish, Close (operator.h). Thread: the owning Task's thread
// only.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/base/clock.h"
#include "runtime/core/types.h"
#include "runtime/api/operator.h"
#include "runtime/operators/window_aggregates.h"
#include "runtime/operators/window_assigner.h"

namespace sluice::operators {

// Name of the window-contents AggregatingState in the keyed state backend (stable across versions:
// checkpoints refer to it).
inline constexpr std::string_view kWindowContentsStateName = "window-contents";

enum class WindowKind : uint8_t { kTumbling, kSliding, kCumulate, kSession };

struct WindowAggregateSpec {
  WindowKind kind = WindowKind::kTumbling;
  int64_t size_ms = 0;    // > 0; cumulate: the max size; session: the gap
  int64_t slide_ms = 0;   // sliding: the slide; cumulate: the step; tumbling: unused
  int64_t offset_ms = 0;  // |offset_ms| < slide (Flink's ...EventTimeWindows.of)
  int64_t allowed_lateness_ms = 0;  // >= 0
  std::vector<std::string> key_fields;  // at least one
  std::vector<AggregateSpec> aggregates;
  bool late_rows_to_side_output = false;
  // Processing-time windows (Flink's TumblingProcessingTimeWindows etc.): a row belongs to the
  // windows of the wall-clock time it arrives at (`clock`), and a window fires when the clock
  // passes its end - 1 (api::Operator::OnProcessingTime), whatever the watermarks; rows need
  // no event time, none is late, and allowed lateness must be 0. Output rows carry end - 1 as
  // event timestamp. Windows still open when the input ends fire at Finish. Not for sessions.
  bool processing_time = false;
  const Clock* clock = &Clock::System();  // processing time; must outlive the operator
};

// Builds the operator for `input` batches. InvalidArgument, with the aggregate's output name,
// when: a key or aggregate field is unknown ("aggregate 'avg_delay': unknown field 'delays'
// (fields: a, b)"); sum/avg is over a non-numeric field ("aggregate 'x': sum needs an int64 or
// double field, 'origin' is string"); min/max is over a string or bool field; size_ms <= 0 or
// the window does not form a valid WindowAssigner (its message); a session gap <= 0; allowed
// lateness < 0 (or > 0 with processing time); processing-time sessions; two
// output fields share a name.
absl::StatusOr<std::unique_ptr<api::Operator>> MakeWindowAggregate(core::SchemaPtr input,
                                                                   WindowAggregateSpec spec);

}  // namespace sluice::operators

#pragma once
// Keyed event-time interval join of two streams: Flink's IntervalJoinOperator,
//   left.keyBy(k).intervalJoin(right.keyBy(k)).between(lower, upper).process(...)
// which joins a left row at ta with every right row of the same key at tb where
//   ta + lower <= tb <= ta + upper        (bounds inclusive, ms, lower <= upper).
//
// Inputs: input 0 is the left stream, input 1 the right stream (ProcessInput), each
// hash-partitioned by its own key fields (same count and types on both sides, so equal keys
// land in the same key group). Rows without an event timestamp fail the task
// (InvalidArgument); a row older than the current watermark is late: it joins nothing, is
// dropped and counted in OperatorMetrics::late_records_dropped (Flink drops late rows too).
//
// Output: one row per matching pair, the left fields then the right fields (a right field whose
// name is taken gets `right_prefix` in front), with event timestamp max(ta, tb) (Flink's).
// A pair is emitted when its second row arrives, so output order follows arrival.
//
// State (keyed, checkpointed and rescalable by key group like all keyed state): per key, a
// MapState from timestamp to the rows buffered at it, one per side (kIntervalJoinLeftState,
// kIntervalJoinRightState; rows encoded with a KeySelector over all fields). A buffered row
// is removed by an event-time timer once no future row of the other side can match it: left
// rows at ta + max(upper, 0), right rows at tb + max(-lower, 0). So state returns to empty
// when the watermark passes the last row's cleanup time.
//
// Regular join (IntervalJoinSpec::bounded = false; Flink SQL's regular inner join of two
// append streams, `a JOIN b ON a.k = b.k`): every row pairs with every row of the same key
// that the other side ever had, whatever the times (rows need no timestamp; pairs take the
// larger one, or none). Nothing is late and no timers run: the buffers are bounded only by
// state_ttl_ms (processing time since a row was buffered, Flink's table.exec.state.ttl with
// OnCreateAndWrite / NeverReturnExpired): without it they grow with every distinct row.
//
// Window join (IntervalJoinSpec::window set; Flink's
// `a.join(b).where(k).equalTo(k).window(TumblingEventTimeWindows.of(size))`): a left and a
// right row of the same key pair once for every window (tumbling or sliding) both fall in,
// with event timestamp window end - 1. A pair is emitted when its second row arrives (Flink
// emits them when the window fires; the pairs are the same). A row all of whose windows have
// fired is late; buffered rows are removed when their last window ends.
//
// Lifecycle: MakeIntervalJoin, Open, ProcessInput/ProcessWatermark, Close. Thread: the owning
// Task's thread only.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/api/operator.h"
#include "runtime/core/types.h"
#include "runtime/operators/window_assigner.h"

namespace sluice::operators {

inline constexpr std::string_view kIntervalJoinLeftState = "interval-join-left";
inline constexpr std::string_view kIntervalJoinRightState = "interval-join-right";

struct IntervalJoinSpec {
  std::vector<std::string> left_keys;   // fields of the left input
  std::vector<std::string> right_keys;  // fields of the right input, same count and types
  int64_t lower_ms = 0;                 // right.ts - left.ts >= lower_ms
  int64_t upper_ms = 0;                 // right.ts - left.ts <= upper_ms; >= lower_ms
  std::string right_prefix = "right_";  // for right fields whose names the left has
  bool bounded = true;                  // false: a regular join (bounds unused)
  std::optional<WindowAssigner> window = std::nullopt;  // set: a window join (bounds unused)
  int64_t state_ttl_ms = 0;             // regular join: buffered rows expire; 0 = never
  // Regular join only: keep the left (right) rows without a match, padded with nulls: an
  // updating result (Flink SQL's LEFT/RIGHT/FULL OUTER JOIN). A row whose key has no rows on
  // the other side is emitted +I with the other side null; when the key's first row of the
  // other side arrives, each such padded row is retracted (-D) before its pairs (+I).
  bool outer_left = false;
  bool outer_right = false;
};

// InvalidArgument for: unknown key fields (naming them), different key counts or types,
// lower > upper, an output name that is still taken after prefixing, state TTL < 0 or set on
// a bounded join (its timers clean up).
absl::StatusOr<std::unique_ptr<api::Operator>> MakeIntervalJoin(core::SchemaPtr left,
                                                                core::SchemaPtr right,
                                                                IntervalJoinSpec spec);

}  // namespace sluice::operators

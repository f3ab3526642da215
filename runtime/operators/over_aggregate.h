#pragma once
// Keyed event-time OVER aggregation: Flink SQL's
//   agg(x) OVER (PARTITION BY k ORDER BY rowtime
//                {ROWS BETWEEN n | RANGE BETWEEN INTERVAL 'd' unit | ROWS/RANGE BETWEEN UNBOUNDED}
//                PRECEDING AND CURRENT ROW)
// (Flink's RowTimeRowsBoundedPrecedingFunction, RowTimeRangeBoundedPrecedingFunction and their
// unbounded counterparts). Every input row is emitted once, with its fields followed by one
// column per aggregate over the row's frame: an append-only result.
//
// Order: rows are buffered until the watermark passes their timestamp, then processed per key
// in timestamp order (rows of one timestamp in arrival order), so the result does not depend on
// arrival order. A row at or below the current watermark is late: dropped and counted in
// OperatorMetrics::late_records_dropped, as Flink drops it. Rows need event time
// (InvalidArgument otherwise).
//
// Frames:
//   ROWS n PRECEDING:      the row and the n rows before it of its key.
//   RANGE d PRECEDING:     the rows of its key with timestamp in [ts - d, ts]: rows of one
//                          timestamp share their result (they are peers), as in SQL.
//   UNBOUNDED PRECEDING:   every row of its key so far (ROWS: up to the row; RANGE: up to its
//                          timestamp, peers included).
// Aggregates: count(*), count(x) (non-null x), sum, min, max, avg of int32/int64/double/
// timestamp fields (avg of integers truncates, as Flink's AVG of BIGINT; sum of a timestamp is
// refused). Empty input (all x null) gives null, except counts (0).
//
// State (keyed, checkpointed, rescalable by key group): kOverPendingState, a MapState from
// timestamp to the rows waiting for the watermark (all fields encoded); kOverFrameState (bounded
// frames), a MapState from timestamp to the aggregate arguments of the rows still in a frame
// (removed when they leave it; RANGE frames also by a cleanup timer when no later row of the key
// comes); kOverAccState (unbounded frames), the running accumulators. Bounded ROWS frames keep
// the last n rows per key, unbounded frames one accumulator per key, for as long as the key
// exists (Flink's behaviour without state TTL).
//
// Lifecycle: MakeOverAggregate, Open, ProcessBatch/ProcessWatermark, Close. Thread: the owning
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

namespace sluice::operators {

inline constexpr std::string_view kOverPendingState = "over-pending";
inline constexpr std::string_view kOverFrameState = "over-frame";
inline constexpr std::string_view kOverAccState = "over-acc";

enum class OverFrame : uint8_t { kRows, kRange };
enum class OverAggKind : uint8_t { kCountStar, kCount, kSum, kMin, kMax, kAvg };

struct OverAggregateCall {
  OverAggKind kind = OverAggKind::kCountStar;
  std::string field;   // the argument (empty for count(*))
  std::string output;  // the output column's name
};

struct OverAggregateSpec {
  std::vector<std::string> keys;  // PARTITION BY fields (at least one)
  OverFrame frame = OverFrame::kRows;
  // ROWS: rows before the current one; RANGE: milliseconds before its timestamp. Unset:
  // UNBOUNDED PRECEDING.
  std::optional<int64_t> preceding = std::nullopt;
  std::vector<OverAggregateCall> calls;
};

// InvalidArgument for: no keys or unknown key fields, no calls, an unknown or unsupported
// argument field (naming it and its type), an output name taken by an input field or another
// call, a negative `preceding`.
absl::StatusOr<std::unique_ptr<api::Operator>> MakeOverAggregate(core::SchemaPtr input,
                                                                 OverAggregateSpec spec);

}  // namespace sluice::operators

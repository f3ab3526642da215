#pragma once
// Event-time session windows (internal to runtime/operators; built through
// MakeWindowAggregate with WindowKind::kSession): Flink's EventTimeSessionWindows.withGap with
// its MergingWindowSet, over the keyed state backend.
//
// Semantics (Flink's): a record at ts opens the window [ts, ts + gap). It merges with every
// open session of its key that it overlaps or touches (Flink's TimeWindow.intersects: start <=
// other end and end >= other start), and those sessions merge with each other through it, into
// one session spanning them all. A record whose own window is past cleanup (ts + gap - 1 + L <=
// watermark) and merges with no open session is late. A session fires when the watermark
// reaches its end - 1; with allowed lateness L it is kept until end - 1 + L, and a record that
// joins or extends it meanwhile fires it again (at once if its new end - 1 has passed, else
// when the watermark gets there).
//
// State, per key (so it is checkpointed, restored and rescaled by key group like every keyed
// state):
// - kSessionWindowsStateName: a ValueState (namespace 0) with the key's open sessions, sorted
//   by start: {start, end, id}. `id` names the session's state: the start of the first window
//   it grew from (Flink's "state window", which stays put while the session merges). Ids of
//   a key's open sessions differ: a session covers its id, so a record at a live session's id
//   merges into it.
// - kWindowContentsStateName (namespace = id): the session's WindowContents. Merging folds the
//   other sessions' contents into the earliest one's (WindowAggregates::Merge, in start order)
//   and clears theirs.
// - event-time timers (namespace = id) at end - 1 and, with L > 0, at end - 1 + L; a merge
//   deletes the merged sessions' timers and moves the survivor's to its new end.
// With state TTL both states expire together (they are written together).
// Thread: the owning Task's thread only.

#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "runtime/api/operator.h"
#include "runtime/core/key_selector.h"
#include "runtime/core/types.h"
#include "runtime/operators/window_aggregates.h"

namespace sluice::operators {

// Name of the per-key session index state (stable across versions: checkpoints refer to it).
inline constexpr std::string_view kSessionWindowsStateName = "session-windows";

namespace internal {

// `output_schema` as MakeWindowAggregate builds it; gap_ms > 0, allowed_lateness_ms >= 0.
std::unique_ptr<api::Operator> MakeSessionWindowOperator(core::SchemaPtr output_schema,
                                                         core::KeySelector keys, int64_t gap_ms,
                                                         int64_t allowed_lateness_ms,
                                                         WindowAggregates aggs,
                                                         core::SchemaPtr input,
                                                         bool late_to_side_output);

}  // namespace internal
}  // namespace sluice::operators

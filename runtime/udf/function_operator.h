#pragma once
// The operator that runs a user function of the C++ DataStream API (include/sluice/functions.h):
// Flink's StreamMap, StreamFilter, StreamFlatMap, KeyedProcessOperator, CoProcessOperator and
// CoBroadcastWithKeyedOperator in one class, chosen by the function's kind.
//
// Per input batch it builds the batch's column views once and calls the function per row
// (sluice::Row is a view: no copy); rows the function emits are appended to an output batch
// that is emitted every 1024 rows and at the end of each input batch, so records still leave
// in batches.
//
// Keyed functions (key fields given): keyed state lives in the Task's KeyedStateBackend (or a
// private one in unit tests) under the names the function registers; event-time timers are the
// backend's timers (namespace 0) and fire on watermarks; processing-time timers are kept by the
// operator, fire from OnProcessingTime, and are snapshotted with the operator state.
// Broadcast state (a kBroadcastProcess function's second input is broadcast) is one ordered map
// per name, snapshotted with the operator state. Operator state format (little-endian):
//   u32 version (1), varint broadcast-state count, per state: name, varint entry count, per
//   entry: key, value (varint-length-prefixed strings); varint processing-timer count, per
//   timer: i64 time, i32 key group, key bytes (length-prefixed).
// Restore at another parallelism (restored_union_states): broadcast state from the first old
// subtask that has any (they are all equal), processing-time timers of this subtask's key
// groups from all.
//
// Errors: an exception thrown by the function (or by the API objects it calls, e.g. a state
// that does not decode) fails the task with Internal "<kind> function '<operator>' threw: <what>".
// MakeFunctionOperator returns InvalidArgument for a spec that does not fit the kind (number of
// inputs, keys, a schema missing).
//
// Thread: the owning Task's thread only.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/api/operator.h"
#include "runtime/base/clock.h"
#include "runtime/core/types.h"
#include "sluice/environment.h"

namespace sluice::udf {

struct FunctionOperatorSpec {
  std::string function_id;          // the plugin's id, for messages
  sluice::FunctionFactory factory;  // kind and factory
  // Input schemas: one, or two for kCoProcess and kBroadcastProcess.
  std::vector<core::SchemaPtr> inputs;
  // Key fields per input (empty: not keyed). kCoProcess: both or neither; kBroadcastProcess:
  // input 0 may be keyed, input 1 (the broadcast input) is not; map/filter/flat-map: none.
  std::vector<std::vector<std::string>> keys;
  core::SchemaPtr output;       // the main output's schema; kFilter: the input's
  core::SchemaPtr side_output;  // the side output's schema, or null
  const Clock* clock = &Clock::System();  // processing time; must outlive the operator
};

// "map", "filter", "flat-map", "process", "co-process", "broadcast-process".
std::string_view FunctionKindName(sluice::FunctionKind kind);

absl::StatusOr<std::unique_ptr<api::Operator>> MakeFunctionOperator(FunctionOperatorSpec spec);

}  // namespace sluice::udf

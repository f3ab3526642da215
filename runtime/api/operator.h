#pragma once
// Operator API (Flink's StreamOperator, OneInputStreamOperator, MultipleInputStreamOperator,
// SourceReader): the interfaces every operator implements and the runtime calls. Implementations
// live in runtime/operators and runtime/connectors; the JobGraph (runtime/graph) and the task
// runtime only know these interfaces.
//
// A Task runs a chain of operators (Flink's OperatorChain): a Source or the task's input gates
// feed the head operator, each operator pushes its results into an Output, which fans out to the
// chained operators after it (a plain function call, no queue) and to the record writers of the
// job edges that leave it (network). An operator has one main output and may have side outputs
// (Flink's OutputTag): numbered 1..n, each with its own schema and its own consumers. Sink
// operators write externally and have no consumers.
//
// Inputs: the head operator of a task may have several logical inputs (a join, a co-process
// function, a broadcast-state operator): ProcessInput(i, ...) receives the batches of input i
// (0-based, Flink's processElement1/2) and EndInput(i) tells that input i ended (Flink's
// BoundedMultiInput#endInput). A union of several streams is one logical input. Operators with
// one input implement ProcessBatch only.
//
// Stream elements: record batches, watermarks (event time, ms since epoch; kMaxWatermark marks
// the end of event time), checkpoint barriers, and end of input (Finish).
//
// Checkpointing (Flink's CheckpointedFunction / StreamOperator#snapshotState, Chandy-Lamport
// style aligned barriers): when barrier n has arrived on all inputs (or, for a source, when the
// task triggers checkpoint n between two PollNext calls), the task calls SnapshotState(n) on
// every operator of the chain, front to back, before anything after the barrier is processed.
// An operator returns its non-keyed state as opaque bytes (a source's read position, a sink's
// pending files); keyed state lives in the keyed state backend the task snapshots itself. On
// restore, OperatorContext::restored_state carries those bytes into Open(). Two-phase-commit
// sinks commit in NotifyCheckpointComplete(n), which may come for several checkpoints at once
// (n subsumes all earlier ones).
//
// Threading: every method of one operator instance is called from its Task's thread only (the
// one exception: Source::HandleOperatorEvent, from an RPC thread); an operator needs no locks.
// Errors are returned as absl::Status and fail the task: message names what and where
// (file:line, field, operator).

#include <atomic>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/core/record_batch.h"
#include "runtime/core/types.h"

namespace sluice::state {
class KeyedStateBackend;
}

namespace sluice::api {

// Flink's Watermark.MAX_WATERMARK: emitted when a bounded input ends, fires all windows.
inline constexpr int64_t kMaxWatermark = std::numeric_limits<int64_t>::max();
inline constexpr int64_t kMinWatermark = std::numeric_limits<int64_t>::min();

// Counters of one operator/task, read by the metrics reporter from other threads.
struct OperatorMetrics {
  std::atomic<int64_t> records_in{0};
  std::atomic<int64_t> records_out{0};
  std::atomic<int64_t> bytes_in{0};
  std::atomic<int64_t> bytes_out{0};
  std::atomic<int64_t> late_records_dropped{0};  // Flink's numLateRecordsDropped
};

// What an operator knows about where it runs.
struct OperatorContext {
  std::string job_name;
  std::string task_name;       // the chained task's name, e.g. "Source: flights -> Filter"
  std::string operator_name;   // this operator's name
  std::string operator_uid;    // stable id for state (issue #3+)
  int32_t subtask_index = 0;   // 0-based
  int32_t parallelism = 1;
  int32_t max_parallelism = 128;
  int32_t attempt_number = 0;
  OperatorMetrics* metrics = nullptr;  // owned by the Task; may be null in unit tests
  // Non-keyed state returned by SnapshotState of this operator (same uid, same subtask index)
  // in the checkpoint being restored; nullopt on a fresh start.
  std::optional<std::string> restored_state;
  // When restoring at a different parallelism (rescaling): the non-keyed states of ALL subtasks
  // of this operator in the restored checkpoint or savepoint (Flink's union list state), and the
  // parallelism they were taken at. Empty, and restored_parallelism 0, when not rescaling.
  // An operator picks what it now owns (e.g. a file source its splits' positions, a sink the
  // pending files of old subtasks j with j % parallelism == subtask_index).
  std::vector<std::string> restored_union_states;
  int32_t restored_parallelism = 0;
  // Keyed state of this subtask (restored before Open when restoring); null for operators that
  // are not keyed. Owned by the Task.
  state::KeyedStateBackend* keyed_state = nullptr;
  // Whether the job takes checkpoints. Two-phase-commit sinks commit at Finish when it does
  // not, and wait for the final checkpoint when it does.
  bool checkpointing_enabled = false;
  // Job-wide state time-to-live in ms (Flink SQL's `table.exec.state.ttl`, job spec
  // `state: {ttl: ...}`), applied by keyed operators that support it (the window operator) as
  // a state::StateTtlConfig; 0 = keyed state never expires.
  int64_t state_ttl_ms = 0;
};

// Flink's WatermarkStatus: an IDLE input (a source subtask or partition without data) does not
// hold back the event time of the operators downstream; it becomes ACTIVE again with its next
// record or watermark.
enum class WatermarkStatus : uint8_t { kActive, kIdle };

// Where an operator sends its results. Emit() may read `batch` only during the call; the caller
// keeps ownership and typically Clear()s and reuses it afterwards.
class Output {
 public:
  virtual ~Output() = default;
  virtual absl::Status Emit(const core::RecordBatch& batch) = 0;
  virtual absl::Status EmitWatermark(int64_t watermark) = 0;
  // Side output `side_output` (1..n, as declared for the operator in the JobGraph; Flink's
  // Context#output(OutputTag, value)). Batches must have that side output's schema. Default:
  // Internal error (the output has no side outputs).
  virtual absl::Status EmitSideOutput(int side_output, const core::RecordBatch& batch);
  // Default: dropped (an output that does not track idleness).
  virtual absl::Status EmitWatermarkStatus(WatermarkStatus /*status*/) { return absl::OkStatus(); }
};

class Operator {
 public:
  virtual ~Operator() = default;
  // Schema of the batches this operator emits (for sinks: their input schema).
  virtual core::SchemaPtr output_schema() const = 0;
  virtual absl::Status Open(const OperatorContext& ctx) {
    ctx_ = ctx;
    return absl::OkStatus();
  }
  virtual absl::Status ProcessBatch(const core::RecordBatch& batch, Output& out) = 0;
  // A batch of logical input `input` (0-based) of an operator with several inputs. Default:
  // ProcessBatch (one input, or a union that needs no distinction).
  virtual absl::Status ProcessInput(int /*input*/, const core::RecordBatch& batch, Output& out) {
    return ProcessBatch(batch, out);
  }
  // Logical input `input` ended (all its channels reached end of partition), before Finish.
  // Called for every input of a task's head operator, also when it has just one.
  virtual absl::Status EndInput(int /*input*/, Output& /*out*/) { return absl::OkStatus(); }
  // Called when the combined input watermark advances. Default: forward it.
  virtual absl::Status ProcessWatermark(int64_t watermark, Output& out) {
    return out.EmitWatermark(watermark);
  }
  // Processing-time timers (Flink's ProcessingTimeService, polled instead of registered): the
  // wall-clock time (epoch ms) at which the operator next wants OnProcessingTime, or nullopt.
  // The task asks after every batch, watermark and wake-up, waits for input at most until the
  // earliest such time over its chain, then calls OnProcessingTime with the current time (at
  // or after the asked one; late when the task was busy). Default: no timers.
  virtual std::optional<int64_t> NextProcessingTime() const { return std::nullopt; }
  virtual absl::Status OnProcessingTime(int64_t /*now_ms*/, Output& /*out*/) {
    return absl::OkStatus();
  }
  // All inputs ended (after kMaxWatermark was processed). Flush everything still buffered.
  virtual absl::Status Finish(Output& /*out*/) { return absl::OkStatus(); }
  // Release resources; called after Finish and also on failure/cancel (then without Finish).
  virtual void Close() {}

  // Checkpoint hooks (see the file comment). Default: stateless.
  virtual absl::StatusOr<std::string> SnapshotState(int64_t /*checkpoint_id*/) {
    return std::string();
  }
  virtual absl::Status NotifyCheckpointComplete(int64_t /*checkpoint_id*/) {
    return absl::OkStatus();
  }
  virtual void NotifyCheckpointAborted(int64_t /*checkpoint_id*/) {}

 protected:
  OperatorContext ctx_;
};

// A source's reader for one subtask (Flink's SourceReader). The Task calls PollNext in a loop.
class Source {
 public:
  virtual ~Source() = default;
  virtual core::SchemaPtr output_schema() const = 0;
  virtual absl::Status Open(const OperatorContext& ctx) = 0;
  // Emits at most about one batch of records, and watermarks as they advance, into `out`.
  // Returns true while more input may follow, false once this subtask's input is exhausted
  // (after having emitted kMaxWatermark). Errors (bad record, I/O) fail the task.
  virtual absl::StatusOr<bool> PollNext(Output& out) = 0;
  // Whether the last PollNext stopped with input still ready to be read at once (it emitted a
  // full batch; Flink's InputStatus.MORE_AVAILABLE). When false the task sends its buffered
  // output on before polling again, so no record waits in an output buffer while its source
  // waits for input; when true it keeps filling buffers, sent when full or after
  // execution.buffer-timeout. Default: false (output is sent after every poll).
  virtual bool MoreAvailable() const { return false; }
  virtual void Close() {}
  // Connector gauges for the job metrics (e.g. the Kafka source's "kafka.records-lag-max"):
  // the JobMaster sums them over subtasks, except names ending in "-max", of which it takes the
  // maximum. Called on the Task thread about once a second, between Open and Close.
  // Default: none.
  virtual std::map<std::string, int64_t> Gauges() const { return {}; }

  // The position to resume from (Flink's SourceReader#snapshotState), taken between two
  // PollNext calls; everything emitted before belongs to the checkpoint. Restored through
  // OperatorContext::restored_state in Open().
  virtual absl::StatusOr<std::string> SnapshotState(int64_t /*checkpoint_id*/) {
    return std::string();
  }
  virtual absl::Status NotifyCheckpointComplete(int64_t /*checkpoint_id*/) {
    return absl::OkStatus();
  }
  // An event from this source's split enumerator in the JobMaster (Flink's
  // SourceReader#handleSourceEvents / addSplits, see runtime/api/split_enumerator.h).
  // Unlike the other methods it is called from an RPC thread, concurrently with PollNext, so an
  // implementation must be thread-safe (typically: queue for the next PollNext). Only called
  // between a successful Open and Close. An error is returned to the JobMaster (logged there);
  // it does not fail the task. Default: ignores events (sources without an enumerator).
  virtual absl::Status HandleOperatorEvent(std::string_view /*event*/) { return absl::OkStatus(); }
};

}  // namespace sluice::api

#pragma once
// Operator API. A Task runs a chain of operators (Flink's OperatorChain): a Source or the
// task's input gate feeds the first operator, each operator pushes its results into an Output,
// which is either the next chained operator (a plain function call, no queue) or the task's
// record writer (network). The last operator of a sink chain writes externally.
//
// Stream elements: record batches, watermarks (event time, ms since epoch; kMaxWatermark marks
// the end of event time), and end of input (Finish). Checkpoint barriers come with issue #3.
//
// Threading: every method of one operator instance is called from its Task's thread only; an
// operator needs no locks. Errors are returned as absl::Status and fail the task: message names
// what and where (file:line, field, operator).

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/core/record_batch.h"
#include "runtime/core/types.h"

namespace sluice::operators {

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
};

// Where an operator sends its results. Emit() may read `batch` only during the call; the caller
// keeps ownership and typically Clear()s and reuses it afterwards.
class Output {
 public:
  virtual ~Output() = default;
  virtual absl::Status Emit(const core::RecordBatch& batch) = 0;
  virtual absl::Status EmitWatermark(int64_t watermark) = 0;
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
  // Called when the combined input watermark advances. Default: forward it.
  virtual absl::Status ProcessWatermark(int64_t watermark, Output& out) {
    return out.EmitWatermark(watermark);
  }
  // All inputs ended (after kMaxWatermark was processed). Flush everything still buffered.
  virtual absl::Status Finish(Output& /*out*/) { return absl::OkStatus(); }
  // Release resources; called after Finish and also on failure/cancel (then without Finish).
  virtual void Close() {}

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
  virtual void Close() {}
};

}  // namespace sluice::operators

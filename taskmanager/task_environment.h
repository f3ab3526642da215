#pragma once
// TaskEnvironment: what a Task needs from its TaskManager (Flink's Environment and
// TaskManagerActions): registering its input gate so producers can connect, channels to its
// consumers, and the reports to the JobManager (state changes, checkpoint acknowledgements and
// declines). The TaskManager implements it over gRPC; tests implement it in memory.
//
// Threading: every method may be called from the task thread and from the task's checkpoint
// upload thread; implementations are thread-safe.

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "runtime/base/ids.h"
#include "runtime/deployment/task_deployment_descriptor.h"
#include "runtime/graph/states.h"
#include "runtime/network/channels.h"

namespace sluice::taskmanager {

// What a task reports when it acknowledges a checkpoint.
struct CheckpointAck {
  int64_t checkpoint_id = 0;
  std::string state_handle;  // encoded checkpoint::SubtaskStateHandle
  int64_t state_size_bytes = 0;
  int64_t alignment_ms = 0;
  int64_t sync_ms = 0;
  int64_t async_ms = 0;
  int64_t checkpointed_size_bytes = 0;  // uploaded by this checkpoint
};

struct TaskMetricsSnapshot {
  int64_t records_in = 0;
  int64_t records_out = 0;
  int64_t bytes_in = 0;
  int64_t bytes_out = 0;
  int64_t late_records_dropped = 0;
  std::map<std::string, int64_t> state;  // keyed state and connector gauges (v1::TaskMetrics)
  std::map<std::string, int64_t> sink_records;  // rows written per sink operator, by name
  // Flink's currentInputWatermark / currentOutputWatermark (INT64_MIN: none yet), epoch ms.
  int64_t current_input_watermark = INT64_MIN;
  int64_t current_output_watermark = INT64_MIN;
  // Task thread time since it began running, ms (Flink's busy/idle/backPressuredTime).
  int64_t busy_time_ms = 0, idle_time_ms = 0, backpressured_time_ms = 0;
  // Flink's operator-scope numLateRecordsDropped, by operator name (window operators).
  std::map<std::string, int64_t> late_records_by_operator;
};

class TaskEnvironment {
 public:
  virtual ~TaskEnvironment() = default;
  virtual void RegisterInputGate(const ExecutionAttemptId& attempt,
                                 std::shared_ptr<network::InputGate> gate) = 0;
  virtual void UnregisterInputGate(const ExecutionAttemptId& attempt) = 0;
  // A channel from producer subtask `subtask` to `consumer`, into its input gate `gate`.
  virtual std::unique_ptr<network::OutputChannel> CreateOutputChannel(
      const JobId& job, const deployment::ConsumerLocation& consumer, int gate, int subtask) = 0;
  // `failure` is the task's error when state is FAILED (OK otherwise); its code classifies it.
  virtual void ReportState(const deployment::TaskDeploymentDescriptor& d, graph::ExecutionState state,
                           const absl::Status& failure, const TaskMetricsSnapshot& metrics) = 0;
  virtual std::string location() const = 0;
  virtual void AcknowledgeCheckpoint(const deployment::TaskDeploymentDescriptor& d,
                                     const CheckpointAck& ack) = 0;
  virtual void DeclineCheckpoint(const deployment::TaskDeploymentDescriptor& d,
                                 int64_t checkpoint_id, const std::string& reason) = 0;
  // The task consumed all input and waits for the final checkpoint (checkpointing jobs only).
  virtual void ReportEndOfInput(const deployment::TaskDeploymentDescriptor& d,
                                const TaskMetricsSnapshot& metrics) = 0;
};

}  // namespace sluice::taskmanager

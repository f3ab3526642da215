#pragma once
// TaskExecutorGateway: how a JobMaster talks to one TaskManager (Flink's TaskExecutorGateway).
// The gRPC implementation (service/grpc_task_executor_gateway.h) sends in order on one thread
// per TaskManager; tests use in-process fakes (Flink's TestingTaskExecutorGateway), so a
// JobMaster runs without sockets.
//
// Every call returns at once; `done` (where there is one) runs later, on an arbitrary thread,
// with the outcome. Calls to one gateway are delivered in the order made.
// Threading: thread-safe.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "runtime/base/ids.h"
#include "runtime/deployment/task_deployment_descriptor.h"

namespace sluice::jobmanager {

// Why a task is told to take a checkpoint directly (see TaskManager's TriggerReason).
enum class TriggerKind : uint8_t {
  kCheckpoint,         // a source (or a drained task): snapshot, then the barrier
  kStopWithSavepoint,  // a source: savepoint, barrier, then stop reading
  kFinal,              // the final checkpoint after end of input (FLIP-147)
  kDrain,              // a source: end the input now, draining (stop --drain); no checkpoint
};

struct CheckpointTrigger {
  int64_t checkpoint_id = 0;
  int64_t timestamp_ms = 0;
  TriggerKind kind = TriggerKind::kCheckpoint;
  bool savepoint = false;
  bool native = false;
};

class TaskExecutorGateway {
 public:
  using Callback = std::function<void(absl::Status)>;
  virtual ~TaskExecutorGateway() = default;

  virtual void SubmitTask(deployment::TaskDeploymentDescriptor tdd, Callback done) = 0;
  // NotFound in `done` when the task is not there any more.
  virtual void CancelTask(const JobId& job, const ExecutionAttemptId& attempt, Callback done) = 0;
  // Fire and forget: a lost message is covered by checkpoint timeouts and failure detection.
  virtual void TriggerCheckpoint(const JobId& job, const ExecutionAttemptId& attempt,
                                 const CheckpointTrigger& trigger) = 0;
  virtual void NotifyCheckpointComplete(const JobId& job, const ExecutionAttemptId& attempt,
                                        int64_t checkpoint_id) = 0;
  virtual void NotifyCheckpointAborted(const JobId& job, const ExecutionAttemptId& attempt,
                                       int64_t checkpoint_id) = 0;
  // A split enumerator's event for a source reader (dropped by the TaskManager for a stale
  // attempt; `done` gets NotFound then).
  virtual void SendOperatorEvent(const JobId& job, const ExecutionAttemptId& attempt, int vertex,
                                 int subtask, std::string event, Callback done) = 0;
};

using TaskExecutorGatewayPtr = std::shared_ptr<TaskExecutorGateway>;

}  // namespace sluice::jobmanager

#pragma once
// TaskExecutor: the task side of a TaskManager (Flink's TaskExecutor without its RPC layer): it
// runs one Task per deployed subtask attempt, routes the JobManager's mail and operator events to
// them, registers their input gates for producers, and reports on their behalf through a
// JobMasterGateway. The gRPC services (service/) are thin adapters over it, so it runs
// in-process in tests with fake gateways.
//
// Threading: every public method is thread-safe (RPC threads, task threads, the TaskManager's
// control thread). Finished tasks are destroyed on a reaper thread, never under the lock in an
// RPC: destroying one closes its RocksDB instances, which takes long for large state.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/base/ids.h"
#include "runtime/base/serial_executor.h"
#include "runtime/deployment/task_deployment_descriptor.h"
#include "runtime/graph/job_graph.h"
#include "taskmanager/task.h"
#include "taskmanager/task_environment.h"

namespace sluice::taskmanager {

// A task's state update for the JobManager (Flink's TaskExecutionState).
struct TaskExecutionStateUpdate {
  JobId job_id;
  ExecutionAttemptId attempt_id;
  graph::ExecutionState state = graph::ExecutionState::kRunning;
  absl::Status failure;  // FAILED only; its code classifies it for the restart strategy
  TaskMetricsSnapshot metrics;
  // The task consumed all input and waits, RUNNING, for the final checkpoint (FLIP-147).
  bool end_of_input = false;
};

// TaskManager -> JobManager reports (Flink's JobMasterGateway as the TaskExecutor sees it).
// Implementations must not block long (they are called from task threads): the gRPC one sends
// with a deadline and logs failures.
class JobMasterGateway {
 public:
  virtual ~JobMasterGateway() = default;
  virtual void UpdateTaskExecutionState(const TaskExecutionStateUpdate& update) = 0;
  virtual void AcknowledgeCheckpoint(const JobId& job, const ExecutionAttemptId& attempt,
                                     const CheckpointAck& ack) = 0;
  virtual void DeclineCheckpoint(const JobId& job, const ExecutionAttemptId& attempt,
                                 int64_t checkpoint_id, const std::string& reason) = 0;
};

// Opens a channel to a consumer on another TaskManager (the gRPC RemoteOutputChannel).
using RemoteChannelFactory = std::function<std::unique_ptr<network::OutputChannel>(
    const JobId& job, const deployment::ConsumerLocation& consumer, int gate, int subtask)>;

// Heartbeat payload: one running task's metrics, and the names of its metric scope (Flink's
// TaskMetricGroup variables) for the Prometheus endpoint.
struct TaskStatusReport {
  JobId job_id;
  ExecutionAttemptId attempt_id;
  TaskMetricsSnapshot metrics;
  std::string job_name;
  std::string task_id;    // the job vertex id
  std::string task_name;  // the chain's name
  int subtask_index = 0;
  int attempt_number = 0;
};

// Loads the plugin a submission names (job::PluginRef: fetched from the JobManager's blob store
// into the TaskManager's, checked, loaded) into it: its spec and functions.
using PluginResolver = std::function<absl::Status(job::JobSubmission*)>;

class TaskExecutor final : public TaskEnvironment {
 public:
  TaskExecutor(int buffers_per_channel, JobMasterGateway* jobmaster,
               RemoteChannelFactory remote_channels, PluginResolver plugins = nullptr);
  ~TaskExecutor() override;

  // This TaskManager's host:port, known once its server is bound: consumers with this address
  // get local channels. Set before registering with the JobManager.
  void SetLocation(std::string location);
  // The JobManager this TaskManager registered with; tasks of another one are refused.
  void SetJobManagerId(std::string id);
  // Deploys and starts a task. InvalidArgument when the spec does not compile or the
  // descriptor does not fit the JobGraph (vertex, subtask or consumers out of range);
  // FailedPrecondition for a task of another JobManager; Unavailable while shutting down.
  absl::Status SubmitTask(deployment::TaskDeploymentDescriptor tdd);
  // NotFound for an attempt that does not run here.
  absl::Status CancelTask(const ExecutionAttemptId& attempt);
  // Mail for a running task; NotFound when it does not run here (stale or finished).
  absl::Status PostMail(const ExecutionAttemptId& attempt, Mail mail);
  // A split enumerator's event for a source reader. NotFound when the attempt does not run
  // here or is not that subtask of that vertex of that job (fencing).
  absl::Status SendOperatorEvent(const JobId& job, const ExecutionAttemptId& attempt, int vertex,
                                 int subtask, std::string_view event);
  // The input gate of a consumer attempt, waiting up to `wait_ms` for it to be deployed
  // (producers may connect first); null if it does not appear or the executor stops.
  std::shared_ptr<network::InputGate> AwaitInputGate(const ExecutionAttemptId& attempt,
                                                     int64_t wait_ms);
  std::vector<TaskStatusReport> RunningTasks() const;
  void CancelAll(const std::string& why);
  // Cancels every task and joins them. Idempotent.
  void Shutdown();

  // --- TaskEnvironment ---
  void RegisterInputGate(const ExecutionAttemptId& attempt,
                         std::shared_ptr<network::InputGate> gate) override;
  void UnregisterInputGate(const ExecutionAttemptId& attempt) override;
  std::unique_ptr<network::OutputChannel> CreateOutputChannel(
      const JobId& job, const deployment::ConsumerLocation& consumer, int gate,
      int subtask) override;
  void ReportState(const deployment::TaskDeploymentDescriptor& d, graph::ExecutionState state,
                   const absl::Status& failure, const TaskMetricsSnapshot& metrics) override;
  std::string location() const override;
  void AcknowledgeCheckpoint(const deployment::TaskDeploymentDescriptor& d,
                             const CheckpointAck& ack) override;
  void DeclineCheckpoint(const deployment::TaskDeploymentDescriptor& d, int64_t checkpoint_id,
                         const std::string& reason) override;
  void ReportEndOfInput(const deployment::TaskDeploymentDescriptor& d,
                        const TaskMetricsSnapshot& metrics) override;

 private:
  absl::StatusOr<std::shared_ptr<const graph::JobGraph>> GraphFor(const JobId& id,
                                                                  const job::JobSubmission& job);
  void ReapFinishedLocked();

  const int buffers_per_channel_;
  JobMasterGateway* jobmaster_;
  RemoteChannelFactory remote_channels_;
  const PluginResolver plugins_;

  mutable std::mutex mu_;  // everything below
  std::condition_variable cv_;
  bool stopping_ = false;
  std::string location_;
  std::string jobmanager_id_;
  std::map<ExecutionAttemptId, std::unique_ptr<Task>> tasks_;
  std::map<ExecutionAttemptId, std::shared_ptr<network::InputGate>> gates_;
  // Compiled plans by job id and parallelism overrides (JobSubmission::operator_parallelism).
  using GraphKey = std::pair<JobId, std::string>;
  std::map<GraphKey, std::shared_ptr<const graph::JobGraph>> graphs_;
  SerialExecutor reaper_;
};

}  // namespace sluice::taskmanager

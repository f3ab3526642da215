#pragma once
// JobMaster: runs one job (Flink's JobMaster + its DefaultScheduler). It owns the job's
// ExecutionGraph, its Scheduler (deployment descriptors, restart strategy), its
// CheckpointDispatcher (checkpoints and savepoints, around the pure CheckpointCoordinator) and
// its split enumerators, and drives the job's JobStatus through Flink's state machine:
// CREATED (waiting for slots) -> RUNNING -> FINISHED, or on a task failure or a lost
// TaskManager RESTARTING (every task cancelled, then redeployed from the latest completed
// checkpoint after the strategy's delay) or FAILING -> FAILED, or CANCELLING -> CANCELED.
//
// Threading: each JobMaster runs all its logic on its own SerialExecutor (Flink's RpcEndpoint
// main thread), so one slow job never stalls another and its state needs no locks. Every public
// method is thread-safe: it posts to the executor (or calls and waits there, for the views).
// TaskManagers are reached only through TaskExecutorGateways, slots only through a SlotProvider,
// so unit tests run a JobMaster in-process against fakes.
//
// Lifecycle: Create (validates the job: checkpoint settings, restore path, enumerators), Start,
// then messages; Shutdown cancels what still runs and joins the executor.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "jobmanager/checkpoint_dispatcher.h"
#include "jobmanager/execution_graph.h"
#include "jobmanager/job_views.h"
#include "jobmanager/resource_manager.h"
#include "jobmanager/scheduler.h"
#include "jobmanager/source_coordinators.h"
#include "runtime/base/serial_executor.h"

namespace sluice::jobmanager {

struct JobMasterOptions {
  std::string jobmanager_id;  // fences deployments to TaskManagers registered with this one
  int64_t buffer_timeout_ms = 5;
  std::string default_checkpoint_dir;  // state.checkpoints.dir of the JobManager
  // Tasks that never confirm cancellation stop blocking the job's terminal state after this.
  int64_t cancel_timeout_ms = 6000;
};

// How a job is to start.
struct SubmitOptions {
  std::string restore_path;  // a checkpoint or savepoint (its directory or _metadata), or ""
  bool allow_non_restored_state = false;
  // The restore path is this job's own transient savepoint (an in-place rescale): delete it once
  // the job completed a checkpoint, from which it restarts from then on.
  bool discard_restore_after_first_checkpoint = false;
};

// A task's report (Flink's TaskExecutionState), from the gRPC service.
struct TaskStateUpdate {
  ExecutionAttemptId attempt;
  graph::ExecutionState state = graph::ExecutionState::kRunning;
  std::string failure;
  bool retryable = true;
  TaskMetrics metrics;
  bool end_of_input = false;  // consumed all input, waits for the final checkpoint
};

class JobMaster {
 public:
  // InvalidArgument (naming the spec or the restore path) when the job cannot run as given.
  static absl::StatusOr<std::unique_ptr<JobMaster>> Create(JobId id, job::JobSubmission submission,
                                                           graph::JobGraph graph,
                                                           const SubmitOptions& submit,
                                                           JobMasterOptions options,
                                                           SlotProvider* slots);
  ~JobMaster();

  const JobId& id() const { return id_; }
  const std::string& name() const { return graph_.name; }
  // Immutable after Create: safe from any thread.
  const graph::JobGraph& graph() const { return graph_; }
  const job::JobSubmission& submission() const { return submission_; }
  // Where the job's checkpoints go (<root>/<job id>/), "" when it does not checkpoint.
  std::string checkpoint_root() const { return checkpoints_ ? checkpoints_->checkpoint_root() : ""; }
  void Start();
  // Cancels what runs, closes the enumerators, joins the executor. Idempotent.
  void Shutdown();

  // From TaskManagers. False when the attempt is unknown (fencing: a stale or foreign attempt).
  bool UpdateTaskExecutionState(TaskStateUpdate update);
  void AcknowledgeCheckpoint(const ExecutionAttemptId& attempt, int64_t checkpoint_id,
                             checkpoint::Ack ack);
  void DeclineCheckpoint(const ExecutionAttemptId& attempt, int64_t checkpoint_id,
                         std::string reason);
  void ReportMetrics(const ExecutionAttemptId& attempt, TaskMetrics metrics);
  void OnTaskManagerLost(const std::string& resource_id, const std::string& cause);
  // Timer (about every 10-50 ms): checkpoints, restarts due, cancellation timeouts. Returns at
  // once for a job that ended (no work is posted for it).
  void Tick();

  // FailedPrecondition when the job already ended.
  absl::Status Cancel();
  // FailedPrecondition when not RUNNING or not checkpointing; InvalidArgument without a
  // directory (none given and no JobManager default).
  absl::StatusOr<std::string> TriggerSavepoint(const std::string& target_directory,
                                               SavepointMode mode, bool native,
                                               const std::string& default_directory);
  // A manual checkpoint (see CheckpointDispatcher::TriggerCheckpoint); FailedPrecondition when
  // not RUNNING or not checkpointing. Polled with GetSavepoint.
  absl::StatusOr<std::string> TriggerCheckpoint();
  absl::StatusOr<SavepointProgress> GetSavepoint(const std::string& trigger_id);

  JobSummaryView Summary();
  JobDetailsView Details();
  std::string CheckpointsJson();
  // Flink's JobConfigInfo and CheckpointConfigInfo (NotFound: the job does not checkpoint),
  // and one checkpoint's statistics from the history (NotFound beyond the last 10).
  std::string ConfigJson();
  absl::StatusOr<std::string> CheckpointConfigJson();
  absl::StatusOr<std::string> CheckpointDetailsJson(int64_t checkpoint_id);
  std::string ExceptionsJson();
  std::string MetricsJson();

 private:
  struct ExceptionEntry {
    std::string message;
    int64_t timestamp_ms = 0;
    std::string task_name;  // empty for job-level failures
    std::string location;
  };

  JobMaster(JobId id, job::JobSubmission submission, graph::JobGraph graph, JobMasterOptions options,
            SlotProvider* slots);
  absl::Status Initialize(const SubmitOptions& submit);

  // ---- on the executor ----
  void RequestSlots();
  void OnSlots(std::vector<Slot> slots);
  void Deploy();
  void UpdateExecution(Execution& e, graph::ExecutionState to, const std::string& failure,
                       bool retryable);
  void OnExecutionRunning();
  void HandleFailure(const std::string& cause, bool retryable, const std::string& task_name,
                     const std::string& location);
  void Restart();
  void CancelJob();
  void CancelExecution(Execution& e);
  void CheckJobProgress();
  void SetJobStatus(graph::JobStatus to);
  void SendOperatorEvent(int vertex, int32_t subtask, std::string event);
  TaskExecutorGatewayPtr GatewayOf(const Execution& e) const;
  // The current attempt behind a checkpoint message, if it is RUNNING (fencing).
  Execution* RunningAttempt(const ExecutionAttemptId& attempt);
  std::map<std::string, int64_t> JobMetrics() const;
  JobSummaryView SummaryLocked() const;
  void Post(std::function<void()> fn) { executor_.Post(std::move(fn)); }

  const JobId id_;
  const job::JobSubmission submission_;
  const graph::JobGraph graph_;
  const JobMasterOptions options_;
  SlotProvider* const slot_provider_;

  graph::JobStatusMachine status_{graph::JobStatus::kInitializing};
  ExecutionGraph executions_;
  std::unique_ptr<Scheduler> scheduler_;
  SourceCoordinators sources_;
  std::unique_ptr<CheckpointDispatcher> checkpoints_;  // null: the job does not checkpoint
  std::string restore_path_;  // checkpoint to restore on the next deployment ("" = none)
  std::vector<Slot> slots_;   // slot i hosts subtask i of every vertex
  std::string failure_cause_;
  std::string status_message_;
  std::vector<ExceptionEntry> exceptions_;  // newest last, at most 64
  int64_t start_ms_ = 0;
  int64_t end_ms_ = -1;
  int64_t terminating_since_ms_ = 0;  // monotonic, when FAILING/CANCELLING/RESTARTING began
  int num_restarts_ = 0;
  int64_t running_since_ms_ = 0;  // epoch ms of the last switch to all RUNNING, 0 otherwise
  int64_t down_since_ms_ = 0;     // epoch ms the last restart began, 0 when not restarting
  int64_t last_recovery_ms_ = 0;
  int64_t restart_at_ms_ = -1;    // monotonic ms the pending restart is due, -1 none
  int64_t restart_delay_ms_ = 0;
  std::vector<std::thread> closers_;  // destroy closed enumerators off the executor
  bool shut_down_ = false;
  std::atomic<bool> ended_{false};  // the job reached a terminal status (read by Tick)
  SerialExecutor executor_;  // last: stopped first
};

}  // namespace sluice::jobmanager

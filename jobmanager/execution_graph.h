#pragma once
// ExecutionGraph: the parallel, physical view of a job (Flink's ExecutionGraph). One
// ExecutionVertex per subtask of each JobVertex, each with its current Execution attempt: an
// attempt id (fencing token for every message from the TaskManager), an ExecutionState machine,
// the slot it was deployed to, its last metrics and failure.
//
// Owned by the job's JobMaster and only touched on the JobManager's executor thread.

#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "runtime/base/ids.h"
#include "runtime/checkpoint/checkpoint_coordinator.h"
#include "runtime/checkpoint/restart_strategy.h"
#include "runtime/checkpoint/shared_state_registry.h"
#include "runtime/graph/job_graph.h"
#include "runtime/graph/states.h"
#include "runtime/job/job_compiler.h"
#include "runtime/operators/split_enumerator.h"
#include "sluice/v1/common.pb.h"

namespace sluice::jobmanager {

struct Execution {
  int vertex = 0;
  int subtask = 0;
  int attempt_number = 0;
  ExecutionAttemptId attempt_id;
  graph::ExecutionStateMachine state{graph::ExecutionState::kCreated};
  std::string taskmanager;  // resource id; empty until scheduled
  std::string location;    // TaskManager address
  v1::TaskMetrics metrics;
  std::string failure;
  bool end_of_input = false;  // consumed all input, waits for the final checkpoint
};

// A savepoint request (Flink's asynchronous savepoint operation, polled by trigger id).
struct SavepointOperation {
  std::string trigger_id;
  std::string target_directory;
  bool stop = false;
  bool native = false;        // Flink's formatType NATIVE (else CANONICAL)
  int64_t checkpoint_id = 0;  // 0 until triggered (it waits while a checkpoint is pending)
  int64_t requested_ms = 0;   // monotonic ms of the request
  std::string status = "IN_PROGRESS";  // IN_PROGRESS, COMPLETED, FAILED
  std::string location;
  std::string failure;
};

// One entry of the job's exception history (Flink's /jobs/:jobid/exceptions).
struct ExceptionEntry {
  std::string message;
  int64_t timestamp_ms = 0;
  std::string task_name;  // empty for job-level failures
  std::string location;
};

// The split enumerator of one source vertex (Flink's SourceCoordinator), see
// runtime/operators/split_enumerator.h. It lives as long as the job runs, across failovers.
struct SourceCoordinator {
  int vertex = 0;
  std::string uid;  // the source operator's uid: its state's key in checkpoint metadata
  std::shared_ptr<operators::SplitEnumeratorContext> context;  // outlives the enumerator
  std::unique_ptr<operators::SplitEnumerator> enumerator;
  bool started = false;
};

struct JobMaster {
  JobId id;
  // Source coordinators, and their states taken at checkpoint trigger, by checkpoint id then
  // source uid (written into the checkpoint's metadata when it completes).
  std::vector<SourceCoordinator> source_coordinators;
  std::map<int64_t, std::map<std::string, std::string>> coordinator_snapshots;
  // From the checkpoint/savepoint the job was submitted to restore (empty otherwise): the
  // coordinator states by uid, and the uids that have operator (reader) state there.
  std::map<std::string, std::string> restored_coordinator_states;
  std::set<std::string> restored_operator_uids;
  // Checkpointing and restarts (null coordinator: the job does not checkpoint).
  std::unique_ptr<checkpoint::CheckpointCoordinator> coordinator;
  std::unique_ptr<checkpoint::RestartStrategy> restart_strategy;
  std::string checkpoint_root;  // checkpoint.dir; the job's files go to <root>/<job-id>/
  std::string restore_path;     // checkpoint to restore from on the next deployment ("" = none)
  int64_t final_checkpoint_id = 0;
  bool awaiting_final_checkpoint = false;  // every task drained; final checkpoint next
  int64_t stop_savepoint_id = 0;  // stop with savepoint in progress: its checkpoint id
  // Incremental checkpoints: reference counts of this job's shared files, and the shared files
  // of checkpoints being persisted (registered when they complete).
  checkpoint::SharedStateRegistry shared_state;
  std::map<int64_t, std::vector<std::string>> persisting_shared_files;
  int num_restarts = 0;
  int64_t running_since_ms = 0;     // wall ms of the last switch to RUNNING, 0 when not running
  int64_t uptime_total_ms = 0;      // completed RUNNING periods
  int64_t down_since_ms = 0;        // wall ms when the last restart began, 0 when not restarting
  int64_t last_recovery_ms = 0;     // failure -> all subtasks RUNNING again, last restart
  int64_t restart_delay_ms = 0;     // chosen by the restart strategy
  bool restart_scheduled = false;
  std::vector<ExceptionEntry> exceptions;  // newest last; the first is the root cause
  std::vector<SavepointOperation> savepoints;
  std::vector<std::unique_ptr<Execution>> prior_attempts;  // kept for fencing lookups
  job::JobSubmission submission;
  graph::JobGraph graph;
  graph::JobStatusMachine status{graph::JobStatus::kInitializing};
  std::vector<std::vector<std::unique_ptr<Execution>>> executions;  // [vertex][subtask]
  std::vector<std::string> slots;  // slot i (hosting subtask i of every vertex) -> TaskManager
  std::string failure_cause;      // root cause once FAILING/FAILED
  std::string status_message;     // why the job waits, while CREATED
  int64_t start_ms = 0;
  int64_t end_ms = -1;
  int64_t terminating_since_ms = 0;  // monotonic, when FAILING/CANCELLING began

  std::string TaskName(const Execution& e) const {
    const auto& v = graph.vertices[static_cast<size_t>(e.vertex)];
    return v.name + " (" + std::to_string(e.subtask + 1) + "/" + std::to_string(v.parallelism) +
           ")#" + std::to_string(e.attempt_number);
  }
  template <typename F>
  void ForEachExecution(F&& f) {
    for (auto& v : executions)
      for (auto& e : v) f(*e);
  }
};

}  // namespace sluice::jobmanager

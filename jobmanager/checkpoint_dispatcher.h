#pragma once
// CheckpointDispatcher: the JobMaster's checkpointing, around the pure CheckpointCoordinator
// (runtime/checkpoint/checkpoint_coordinator.h). It feeds the coordinator its facts (ticks,
// acknowledgements, declines, persistence results) and carries out its decisions: triggers and
// notifications become TaskExecutorGateway calls to the right attempts, completed checkpoints
// get their `_metadata` written by CheckpointIo, discarded ones deleted, and the shared files of
// incremental checkpoints are reference counted (SharedStateRegistry). It also runs savepoints
// (Flink's asynchronous savepoint operations, polled by trigger id; stop-with-savepoint), the
// snapshots of the split enumerators taken at each trigger, and the final checkpoint after every
// task consumed its input (FLIP-147).
//
// Lifecycle: one per checkpointing job, owned by its JobMaster. Threading: every method runs on
// the JobMaster's executor; I/O completions come back through Host::post.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "jobmanager/checkpoint_io.h"
#include "jobmanager/execution_graph.h"
#include "jobmanager/source_coordinators.h"
#include "jobmanager/task_executor_gateway.h"
#include "nlohmann/json.hpp"
#include "runtime/checkpoint/checkpoint_coordinator.h"
#include "runtime/checkpoint/shared_state_registry.h"

namespace sluice::jobmanager {

// Flink's savepoint operation status.
enum class SavepointState : uint8_t { kInProgress, kCompleted, kFailed };
std::string_view Name(SavepointState s);  // "IN_PROGRESS", "COMPLETED", "FAILED"

// How a savepoint ends the job (Flink's savepoint, savepoint with cancel-job, stop, stop --drain):
// kStop takes the savepoint at the sources' barrier and then stops them without draining (the
// savepoint is the final checkpoint; the job ends FINISHED). kStopAndDrain first ends every
// source's input as if it were bounded, so event time advances to its end and every window
// fires, and then takes the final checkpoint as the savepoint. kCancel cancels the job once the
// savepoint completed (CANCELED).
enum class SavepointMode : uint8_t { kKeepRunning, kCancel, kStop, kStopAndDrain };

// Where an in-progress savepoint is.
enum class SavepointPhase : uint8_t { kWaiting, kSnapshotting, kCopying, kDone };
std::string_view Name(SavepointPhase p);  // "waiting", "snapshotting", "copying", ""

struct SavepointProgress {
  SavepointState state = SavepointState::kInProgress;
  SavepointPhase phase = SavepointPhase::kWaiting;
  std::string location;  // the savepoint directory once COMPLETED
  std::string failure;
  int64_t checkpoint_id = 0;
  int acknowledged_subtasks = 0;
  int total_subtasks = 0;
  int64_t state_size_bytes = 0;
  int64_t elapsed_ms = 0;  // since the request
};

// Whether a job ending in `status` discards its retained checkpoints (Flink's
// CheckpointProperties#discardOnJobFinished/Cancelled/Failed): always when FINISHED; when
// CANCELED unless RETAIN_ON_CANCELLATION; when FAILED only with NO_EXTERNALIZED_CHECKPOINTS.
bool DiscardsCheckpointsOnEnd(checkpoint::CheckpointRetention retention, graph::JobStatus status);

class CheckpointDispatcher {
 public:
  // What it needs from its JobMaster.
  struct Host {
    JobId job_id;
    const graph::JobGraph* graph = nullptr;
    ExecutionGraph* executions = nullptr;
    SourceCoordinators* sources = nullptr;
    std::function<TaskExecutorGatewayPtr(const Execution&)> gateway;  // null: not deployed
    std::function<void(std::function<void()>)> post;                 // onto the executor
    std::function<void(const std::string& reason, bool retryable)> fail_job;
    std::function<void()> cancel_job;  // a kCancel savepoint completed
  };

  // `checkpoint_root`: the job's files go to <root>/<job-id>/. InvalidArgument for a bad
  // checkpoint configuration.
  static absl::StatusOr<std::unique_ptr<CheckpointDispatcher>> Create(
      const checkpoint::CheckpointConfig& config, std::string checkpoint_root, Host host);
  ~CheckpointDispatcher();

  const std::string& checkpoint_root() const { return root_; }
  // The tasks were (or will be) restored from checkpoint `md` at `dir`.
  void Restored(int64_t checkpoint_id, int64_t timestamp_ms, const std::string& dir);
  // Deletes directory `dir` (a transient savepoint the job was restored from) when the first
  // checkpoint completes; kept if the job ends before.
  void DiscardAfterFirstCompletion(std::string dir) { discard_after_completion_ = std::move(dir); }
  // The latest completed checkpoint's directory, or "" (what a restart restores).
  std::string LatestCompletedDir() const;

  // Every task runs: periodic checkpointing starts.
  void OnAllRunning(int64_t now_ms);
  // The job fails over, is cancelled or finishes: pending checkpoints are aborted.
  void Stop();
  // Before the tasks are redeployed: savepoints in flight fail, final-checkpoint state resets.
  void ResetForRestart();
  // The job reached a terminal status: pending checkpoints abort, and per
  // DiscardsCheckpointsOnEnd the job's checkpoint directory <root>/<job-id> is deleted.
  void OnJobTerminal(graph::JobStatus status);

  void OnAck(const Execution& e, checkpoint::Ack ack, int64_t checkpoint_id, int64_t now_ms);
  void OnDecline(const Execution& e, int64_t checkpoint_id, const std::string& reason, int64_t now_ms);
  // A task consumed all its input and waits for the final checkpoint.
  void OnEndOfInput(Execution& e);
  // Timer: periodic triggers, timeouts, waiting savepoints, the final checkpoint.
  void Tick(int64_t now_ms);

  // Savepoints. FailedPrecondition when a savepoint that ends the job is already running.
  absl::StatusOr<std::string> TriggerSavepoint(const std::string& target_directory,
                                               SavepointMode mode, bool native);
  // A checkpoint now (Flink's manual checkpoint, POST /jobs/:jobid/checkpoints), taken and
  // retained like a periodic one; polled like a savepoint (its location is the checkpoint
  // directory). FailedPrecondition while the job is stopping.
  absl::StatusOr<std::string> TriggerCheckpoint();
  // NotFound for an unknown trigger id (savepoints and manual checkpoints share the ids).
  absl::StatusOr<SavepointProgress> GetSavepoint(const std::string& trigger_id) const;
  bool stopping_with_savepoint() const { return stop_savepoint_id_ != 0; }

  // Flink's /jobs/:jobid/checkpoints body, and the checkpoint job metrics.
  nlohmann::json StatsJson(int64_t now_ms) const;
  std::map<std::string, int64_t> Metrics() const;

 private:
  struct Savepoint {
    std::string trigger_id;
    std::string target_directory;
    SavepointMode mode = SavepointMode::kKeepRunning;
    bool native = false;
    bool checkpoint_only = false;  // a manual checkpoint: no savepoint copy
    bool drain_sent = false;       // kStopAndDrain: the sources were told to end their input
    int64_t checkpoint_id = 0;  // 0 until triggered
    int64_t requested_ms = 0;   // monotonic
    SavepointState state = SavepointState::kInProgress;
    std::string location;
    std::string failure;
  };

  CheckpointDispatcher(checkpoint::CheckpointCoordinator coordinator, std::string root, Host host);
  void Execute(std::vector<checkpoint::Action> actions);
  void Persist(const checkpoint::CompleteCheckpoint& c);
  void RegisterSharedState(int64_t id);
  // Snapshots the split enumerators for checkpoint `id`; false (checkpoint declined) on error.
  bool SnapshotSourceCoordinators(int64_t id);
  void Send(const std::vector<Execution*>& targets, const CheckpointTrigger& trigger);
  void Notify(int64_t id, bool complete);
  void MaybeTriggerSavepoint();
  void MaybeTriggerFinalCheckpoint();
  Savepoint* SavepointFor(int64_t checkpoint_id);
  void CompleteSavepoint(Savepoint& op);
  void FailSavepoints(const std::string& why);
  bool IsSource(const Execution& e) const { return host_.graph->vertex(e.vertex).is_source(); }

  std::string discard_after_completion_;  // DiscardAfterFirstCompletion
  checkpoint::CheckpointCoordinator coordinator_;
  std::string root_;
  Host host_;
  CheckpointIo io_;
  checkpoint::SharedStateRegistry shared_state_;
  std::map<int64_t, std::vector<std::string>> persisting_shared_files_;
  // Split enumerator states taken at trigger, by checkpoint id then source uid.
  std::map<int64_t, std::map<std::string, std::string>> coordinator_snapshots_;
  std::vector<Savepoint> savepoints_;
  int64_t final_checkpoint_id_ = 0;
  bool awaiting_final_checkpoint_ = false;  // every task drained; final checkpoint next
  int64_t stop_savepoint_id_ = 0;           // stop with savepoint in progress: its checkpoint
  bool draining_ = false;                   // stop --drain: sources end their input
  std::shared_ptr<bool> alive_;             // I/O completions check it before touching `this`
};

}  // namespace sluice::jobmanager

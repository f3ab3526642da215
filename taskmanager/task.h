#pragma once
// Task: one deployed subtask attempt running on its own thread (Flink's Task). It builds the
// vertex's operator chain from the compiled JobGraph, reads its source or input gate, writes to
// its RecordWriter, and reports INITIALIZING -> RUNNING -> FINISHED / FAILED / CANCELED to the
// JobManager through TaskEnvironment.
//
// Lifecycle: constructed by the TaskExecutor on SubmitTask (which registers the input gate at
// once, so producers may connect before the thread starts), Start() spawns the thread, Cancel()
// may be called from any thread, the destructor joins. Metrics() is thread-safe.

#include <atomic>
#include <map>
#include <optional>
#include <mutex>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "runtime/base/ids.h"
#include "runtime/base/serial_executor.h"
#include "runtime/graph/job_graph.h"
#include "runtime/graph/states.h"
#include "runtime/network/channels.h"
#include "runtime/operators/operator.h"

#include "runtime/checkpoint/incremental_uploader.h"
#include "runtime/state/keyed_state_backend.h"

namespace sluice::taskmanager {

struct ConsumerLocation {
  int subtask = 0;
  ExecutionAttemptId attempt_id;
  std::string address;
};

// State restored into one operator of the chain (from the TaskDeploymentDescriptor).
struct RestoredOperator {
  std::optional<std::string> operator_state;
  struct KeyedFile {
    std::string path;  // absolute
    std::vector<std::pair<int32_t, uint64_t>> key_group_offsets;
  };
  std::vector<KeyedFile> keyed_files;
  // Incremental RocksDB state of old subtasks (meta bytes are read by the task from
  // incremental_meta_paths[i]), and the shared SST files among them (to seed the uploader).
  std::vector<state::IncrementalRestoreSource> incremental;
  std::vector<std::string> incremental_meta_paths;
  std::vector<checkpoint::StateFile> incremental_shared_files;
  // Rescaling: the non-keyed states of all old subtasks and their parallelism.
  std::vector<std::string> union_states;
  int32_t restored_parallelism = 0;
};

struct TaskDeployment {
  JobId job_id;
  ExecutionAttemptId attempt_id;
  std::shared_ptr<const graph::JobGraph> graph;
  int vertex = 0;
  int subtask = 0;
  int attempt_number = 0;
  std::vector<ConsumerLocation> consumers;
  int64_t buffer_timeout_ms = 5;
  std::string checkpoint_dir;  // checkpoint.dir root; empty = no checkpointing
  std::map<std::string, RestoredOperator> restored;  // by operator uid
  int64_t restored_checkpoint_id = 0;
  bool restored_from_own_checkpoint = false;
};

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
  std::map<std::string, int64_t> state;  // keyed state gauges (see v1::TaskMetrics.state)
};

// What a Task needs from its TaskManager.
class TaskEnvironment {
 public:
  virtual ~TaskEnvironment() = default;
  virtual void RegisterInputGate(const ExecutionAttemptId& attempt,
                                 std::shared_ptr<network::InputGate> gate) = 0;
  virtual void UnregisterInputGate(const ExecutionAttemptId& attempt) = 0;
  // A channel from this task (producer subtask `channel`) to the consumer.
  virtual std::unique_ptr<network::OutputChannel> CreateOutputChannel(
      const JobId& job, const ConsumerLocation& consumer, int channel) = 0;
  // `failure` is the task's error when state is FAILED (OK otherwise); its code classifies it.
  virtual void ReportState(const TaskDeployment& d, graph::ExecutionState state,
                           const absl::Status& failure, const TaskMetricsSnapshot& metrics) = 0;
  virtual std::string location() const = 0;
  virtual void AcknowledgeCheckpoint(const TaskDeployment& d, const CheckpointAck& ack) = 0;
  virtual void DeclineCheckpoint(const TaskDeployment& d, int64_t checkpoint_id,
                                 const std::string& reason) = 0;
  // The task consumed all input and waits for the final checkpoint (checkpointing jobs only).
  virtual void ReportEndOfInput(const TaskDeployment& d, const TaskMetricsSnapshot& metrics) = 0;
};

class Task {
 public:
  Task(TaskDeployment deployment, TaskEnvironment* env);
  ~Task();
  void Start();
  void Cancel();
  // Mailbox messages from the JobManager, handled on the task thread between records.
  // kind: "trigger" (sources: checkpoint + barrier), "stop" (sources: savepoint + barrier, then
  // stop reading without draining), "final" (the final checkpoint after end of input),
  // "complete", "aborted".
  // `savepoint`: the checkpoint is a savepoint (canonical state, never incremental).
  void PostControl(const std::string& kind, int64_t checkpoint_id, bool savepoint = false,
                   bool native = false);
  // An event of this source task's split enumerator (any thread): handed to the running
  // source's HandleOperatorEvent (its result is returned). FailedPrecondition when no source is
  // open (not a source task, not yet opened, or closed): the event is dropped.
  absl::Status HandleOperatorEvent(std::string_view event);
  TaskMetricsSnapshot Metrics() const;
  bool done() const { return done_.load(); }
  const TaskDeployment& deployment() const { return d_; }
  // "<vertex name> (<subtask+1>/<parallelism>)#<attempt>", Flink's task name with attempt.
  const std::string& name() const { return name_; }

 private:
  void Run();
  absl::Status Execute();
  absl::Status RunSource(operators::Source& source, operators::Output& head);
  absl::Status RunInput(operators::Output& head);
  absl::Status AwaitFinalCheckpoint();
  absl::Status HandleControl(const network::NetworkEvent& ev);
  absl::Status PerformCheckpoint(int64_t checkpoint_id, int64_t alignment_ms, bool final,
                                 bool savepoint, bool native);
  // Restores a keyed operator's backend from `restored` (canonical and/or incremental state).
  absl::Status RestoreBackend(const RestoredOperator& restored, size_t op_index);
  absl::Status NotifyComplete(int64_t checkpoint_id);
  // Task thread: refreshes state_metrics_ from the keyed state backends at most once a second.
  void MaybeUpdateStateMetrics(int64_t now_ms);
  void Transition(graph::ExecutionState to, const absl::Status& failure = absl::OkStatus());
  state::BackendOptions BackendOptions() const;
  operators::OperatorContext MakeContext(const std::string& op_name, const std::string& uid,
                                         operators::OperatorMetrics* metrics) const;

  TaskDeployment d_;
  TaskEnvironment* env_;
  std::string name_;
  const graph::JobVertex& vertex_;
  // The input gate; for a source task a gate without channels that only carries its mailbox.
  std::shared_ptr<network::InputGate> gate_;
  // The running chain, valid on the task thread while Execute() runs.
  operators::Source* source_ = nullptr;
  // The same source while it is open (after Open succeeded, until Close), for enumerator
  // events from RPC threads.
  std::mutex event_mu_;
  operators::Source* event_target_ = nullptr;  // guarded by event_mu_
  std::vector<operators::Operator*> ops_;
  std::vector<std::unique_ptr<state::KeyedStateBackend>> backends_;  // per op; null if not keyed
  // Per op: uploads incremental RocksDB checkpoints (null unless state.backend.incremental);
  // used on the uploader_ thread only.
  std::vector<std::unique_ptr<checkpoint::IncrementalUploader>> incremental_;
  bool incremental_checkpoints_ = false;  // state.backend.incremental
  int64_t final_checkpoint_id_ = 0;
  int64_t last_checkpoint_id_ = 0;  // newest checkpoint this task snapshotted
  int64_t last_completed_id_ = 0;   // newest checkpoint notified complete
  bool stop_requested_ = false;     // a source told to stop with a savepoint
  bool drain_ = true;               // false once an input ended without draining
  bool final_complete_ = false;
  // Writes state files and acknowledges, off the task thread (the asynchronous snapshot part).
  std::unique_ptr<SerialExecutor> uploader_;
  std::unique_ptr<class RecordWriterHolder> writer_;
  graph::ExecutionState state_ = graph::ExecutionState::kDeploying;
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> done_{false};
  operators::OperatorMetrics task_metrics_;
  operators::OperatorMetrics source_metrics_;
  std::vector<std::unique_ptr<operators::OperatorMetrics>> op_metrics_;
  std::atomic<bool> sink_chain_{false};
  mutable std::mutex state_metrics_mu_;
  std::map<std::string, int64_t> state_metrics_;  // guarded by state_metrics_mu_
  int64_t next_state_metrics_ms_ = 0;             // task thread
  std::thread thread_;
};

}  // namespace sluice::taskmanager

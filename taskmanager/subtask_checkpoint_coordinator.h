#pragma once
// SubtaskCheckpointCoordinator: takes one subtask's snapshots (Flink's
// SubtaskCheckpointCoordinatorImpl). A checkpoint has a short synchronous part on the task
// thread (every operator's non-keyed state as bytes; heap keyed state pinned copy-on-write,
// state/cow_groups.h; RocksDB keyed state as a local checkpoint of hard links, or copied into a
// buffer for canonical savepoints), then the barrier goes downstream, then an asynchronous part
// on the upload thread, "ckpt-upload", which runs 10 nice levels below the task (heap keyed state
// serialized, state files written, incremental SST files uploaded), that ends with the
// acknowledgement to the JobManager, or a decline if anything failed (the task keeps running,
// as in Flink). It also forwards checkpoint completion and abortion to the
// operators (two-phase-commit sinks commit) and the uploaders.
//
// Lifecycle: one per task; Bind() once the chain and its state exist; WaitForUploads() before the
// task reports its final state. Threading: task thread, except the upload thread it owns.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/api/operator.h"
#include "runtime/base/serial_executor.h"
#include "runtime/deployment/task_deployment_descriptor.h"
#include "taskmanager/state_initializer.h"
#include "taskmanager/task_environment.h"
#include "taskmanager/task_mailbox.h"

namespace sluice::taskmanager {

class SubtaskCheckpointCoordinator {
 public:
  // `incremental`: state.backend.incremental (RocksDB backends upload only new SST files).
  SubtaskCheckpointCoordinator(const deployment::TaskDeploymentDescriptor& tdd,
                               TaskEnvironment* env, std::string task_name, bool incremental);
  ~SubtaskCheckpointCoordinator();

  // The chain to snapshot: its source (null if none) and operators with their state, in chain
  // order. The pointees outlive every later call.
  void Bind(api::Source* source, std::string source_uid, std::vector<api::Operator*> operators,
            std::vector<OperatorState>* states);

  // Snapshots checkpoint `checkpoint_id` unless it already did (a drained task may be triggered
  // for a checkpoint its barriers also reached). `emit_barrier` runs right after the synchronous
  // part, so downstream snapshots after exactly the same records. An operator's snapshot error
  // declines the checkpoint (OK is returned); an error of `emit_barrier` is returned.
  absl::Status Checkpoint(int64_t checkpoint_id, int64_t alignment_ms, CheckpointOptions options,
                          const std::function<absl::Status()>& emit_barrier);
  absl::Status NotifyComplete(int64_t checkpoint_id);
  void NotifyAborted(int64_t checkpoint_id);
  // Runs after every upload queued so far (acknowledgements go out before the final state).
  void WaitForUploads();

  int64_t last_checkpoint_id() const { return last_checkpoint_id_; }
  int64_t last_completed_id() const { return last_completed_id_; }

 private:
  struct Pending;
  void Upload(std::shared_ptr<std::vector<Pending>> pending, int64_t checkpoint_id,
              int64_t alignment_ms, int64_t sync_ms);

  const deployment::TaskDeploymentDescriptor& tdd_;
  TaskEnvironment* env_;
  std::string task_name_;
  bool incremental_;
  api::Source* source_ = nullptr;
  std::string source_uid_;
  std::vector<api::Operator*> ops_;
  std::vector<OperatorState>* states_ = nullptr;
  int64_t last_checkpoint_id_ = 0;
  int64_t last_completed_id_ = 0;
  std::unique_ptr<SerialExecutor> uploader_;  // null when the job does not checkpoint
};

}  // namespace sluice::taskmanager

#pragma once
// StreamTaskStateInitializer: builds the state side of a task's operators (Flink's
// StreamTaskStateInitializerImpl): a keyed state backend for each keyed operator over the key
// groups its subtask owns (Flink's KeyGroupRangeAssignment), restored from the checkpoint or
// savepoint files the deployment names (canonical snapshots and incremental RocksDB state, by
// operator uid), an incremental uploader for RocksDB backends of checkpointing jobs, and each
// operator's OperatorContext with its restored non-keyed state.
//
// Threading: the task thread. The backends it creates are owned by the returned OperatorState.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/api/operator.h"
#include "runtime/checkpoint/incremental_uploader.h"
#include "runtime/deployment/task_deployment_descriptor.h"
#include "runtime/graph/job_graph.h"
#include "runtime/state/keyed_state_backend.h"

namespace sluice::taskmanager {

// The state of one operator of the chain.
struct OperatorState {
  std::string uid;
  std::unique_ptr<state::KeyedStateBackend> backend;  // null unless keyed
  // Uploads incremental RocksDB checkpoints and native savepoints; null unless the backend is
  // RocksDB and the job checkpoints. Used on the checkpoint upload thread only.
  std::unique_ptr<checkpoint::IncrementalUploader> uploader;
};

class StreamTaskStateInitializer {
 public:
  // `task_name`: "<vertex> (i/p)#a" for contexts and file names.
  StreamTaskStateInitializer(const deployment::TaskDeploymentDescriptor& tdd,
                             const graph::JobGraph& graph, std::string task_name);

  // The state of operator `op` (keyed backend restored when the deployment has state for its
  // uid). Errors: the backend cannot be created (RocksDB), a state file is missing or corrupt
  // (NotFound / DataLoss naming the file).
  absl::StatusOr<OperatorState> Initialize(const graph::ChainedOperator& op);
  // The context of an operator (or the source) named `name` with state `uid`; `backend` may be
  // null. Carries the restored non-keyed state of `uid`, if any.
  api::OperatorContext Context(const std::string& name, const std::string& uid,
                               api::OperatorMetrics* metrics,
                               state::KeyedStateBackend* backend) const;
  state::BackendOptions BackendOptions() const;

 private:
  absl::Status Restore(const deployment::RestoredOperatorState& restored, OperatorState& state);

  const deployment::TaskDeploymentDescriptor& tdd_;
  const graph::JobGraph& graph_;
  const graph::JobVertex& vertex_;
  std::string task_name_;
};

}  // namespace sluice::taskmanager

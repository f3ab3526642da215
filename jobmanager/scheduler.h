#pragma once
// Scheduler: where and how a job's subtasks are deployed, and whether a failed job restarts
// (Flink's DefaultScheduler with its ExecutionSlotAllocator and RestartBackoffTimeStrategy):
// - Place: slot sharing, slot i hosts subtask i of every vertex (Flink's default slot sharing
//   group), so a job needs as many slots as its largest parallelism;
// - Deployments: one TaskDeploymentDescriptor per current execution, with the consumers of each
//   of its output edges (all-to-all per edge; the partitioner decides which channels carry
//   data) and the state StateAssignment gives it, consumers before producers so their input
//   gates usually exist when producers connect;
// - OnFailure: the restart strategy's decision.
//
// Owned by the JobMaster; its executor only.

#include <memory>
#include <string>
#include <vector>

#include "jobmanager/execution_graph.h"
#include "jobmanager/resource_manager.h"
#include "runtime/checkpoint/checkpoint_storage.h"
#include "runtime/checkpoint/restart_strategy.h"
#include "runtime/deployment/task_deployment_descriptor.h"
#include "runtime/graph/job_graph.h"

namespace sluice::jobmanager {

class Scheduler {
 public:
  struct DeploymentContext {
    JobId job_id;
    job::JobSubmission submission;
    std::string jobmanager_id;
    int64_t buffer_timeout_ms = 5;
    std::string checkpoint_dir;  // empty: the job does not checkpoint
    // The checkpoint to restore (null on a fresh start), its directory, and whether it is the
    // job's own (a failover: incremental checkpoints may keep referencing its shared files).
    const checkpoint::CheckpointMetadata* restore = nullptr;
    std::string restore_dir;
    bool restored_from_own_checkpoint = false;
  };

  Scheduler(const graph::JobGraph& graph, std::unique_ptr<checkpoint::RestartStrategy> restarts)
      : graph_(graph), restarts_(std::move(restarts)) {}

  // Assigns every current execution its slot's TaskManager; `slots.size()` >= RequiredSlots().
  void Place(ExecutionGraph& executions, const std::vector<Slot>& slots) const;
  std::vector<deployment::TaskDeploymentDescriptor> Deployments(ExecutionGraph& executions,
                                                                const DeploymentContext& ctx) const;
  checkpoint::RestartDecision OnFailure(int64_t now_ms, bool retryable) {
    return restarts_->OnFailure(now_ms, retryable);
  }
  std::string DescribeRestartStrategy() const { return restarts_->Describe(); }

 private:
  const graph::JobGraph& graph_;
  std::unique_ptr<checkpoint::RestartStrategy> restarts_;
};

}  // namespace sluice::jobmanager

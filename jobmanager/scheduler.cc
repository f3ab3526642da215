#include "jobmanager/scheduler.h"

#include "jobmanager/state_assignment.h"

namespace sluice::jobmanager {

void Scheduler::Place(ExecutionGraph& executions, const std::vector<Slot>& slots) const {
  executions.ForEach([&](Execution& e) {
    const Slot& slot = slots[static_cast<size_t>(e.subtask)];
    e.taskmanager = slot.resource_id;
    e.location = slot.address;
  });
}

std::vector<deployment::TaskDeploymentDescriptor> Scheduler::Deployments(
    ExecutionGraph& executions, const DeploymentContext& ctx) const {
  std::vector<deployment::TaskDeploymentDescriptor> out;
  for (int v = executions.num_vertices() - 1; v >= 0; --v) {
    const graph::JobVertex& vertex = graph_.vertex(v);
    for (int s = 0; s < executions.num_subtasks(v); ++s) {
      const Execution& e = executions.at(v, s);
      deployment::TaskDeploymentDescriptor tdd;
      tdd.job_id = ctx.job_id;
      tdd.attempt_id = e.attempt_id;
      tdd.job = ctx.submission;
      tdd.vertex = v;
      tdd.subtask = s;
      tdd.attempt_number = e.attempt_number;
      tdd.jobmanager_id = ctx.jobmanager_id;
      tdd.buffer_timeout_ms = ctx.buffer_timeout_ms;
      tdd.checkpoint_dir = ctx.checkpoint_dir;
      for (int edge : vertex.outputs) {
        const int target = graph_.edge(edge).target;
        std::vector<deployment::ConsumerLocation> consumers;
        for (int c = 0; c < executions.num_subtasks(target); ++c) {
          const Execution& ce = executions.at(target, c);
          consumers.push_back({c, ce.attempt_id, ce.location});
        }
        tdd.outputs.push_back(std::move(consumers));
      }
      if (ctx.restore) {
        tdd.restored = AssignState(*ctx.restore, ctx.restore_dir, vertex, s);
        tdd.restored_checkpoint_id = ctx.restore->checkpoint_id;
        tdd.restored_from_own_checkpoint = ctx.restored_from_own_checkpoint;
      }
      out.push_back(std::move(tdd));
    }
  }
  return out;
}

}  // namespace sluice::jobmanager

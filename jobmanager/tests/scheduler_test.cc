// The Scheduler: slot placement (slot i hosts subtask i of every vertex), deployment
// descriptors with every output edge's consumers and the restored state, consumers first.

#include "jobmanager/scheduler.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jobmanager/tests/window_spec.h"

namespace sluice::jobmanager {
namespace {

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto g = job::CompileJob({testing_specs::WindowSpec("sched", 2, 1), "job.yaml", "/base", 0});
    ASSERT_TRUE(g.ok()) << g.status();
    graph_ = std::make_unique<graph::JobGraph>(std::move(*g));
    executions_ = std::make_unique<ExecutionGraph>(*graph_);
    scheduler_ = std::make_unique<Scheduler>(*graph_, checkpoint::MakeNoRestartStrategy());
  }
  std::unique_ptr<graph::JobGraph> graph_;
  std::unique_ptr<ExecutionGraph> executions_;
  std::unique_ptr<Scheduler> scheduler_;
};

TEST_F(SchedulerTest, SlotIHostsSubtaskIOfEveryVertex) {
  scheduler_->Place(*executions_, {Slot{"tm-a", "a:1", nullptr}, Slot{"tm-b", "b:2", nullptr}});
  EXPECT_EQ(executions_->at(0, 0).taskmanager, "tm-a");
  EXPECT_EQ(executions_->at(1, 0).location, "a:1");
  EXPECT_EQ(executions_->at(1, 1).taskmanager, "tm-b");
}

TEST_F(SchedulerTest, DeploymentsNameTheConsumersOfEachOutputEdgeConsumersFirst) {
  scheduler_->Place(*executions_, {Slot{"tm-a", "a:1", nullptr}, Slot{"tm-b", "b:2", nullptr}});
  Scheduler::DeploymentContext ctx;
  ctx.job_id = JobId::Random();
  ctx.jobmanager_id = "jm";
  ctx.checkpoint_dir = "/chk";
  auto tdds = scheduler_->Deployments(*executions_, ctx);
  ASSERT_EQ(tdds.size(), 3u);  // source at 1, window -> sink at 2
  EXPECT_EQ(tdds[0].vertex, 1);  // consumers first
  EXPECT_EQ(tdds[2].vertex, 0);
  const auto& source = tdds[2];
  ASSERT_EQ(source.outputs.size(), 1u);
  ASSERT_EQ(source.outputs[0].size(), 2u);
  for (int s = 0; s < 2; ++s) {
    EXPECT_EQ(source.outputs[0][static_cast<size_t>(s)].subtask, s);
    EXPECT_EQ(source.outputs[0][static_cast<size_t>(s)].attempt_id, executions_->at(1, s).attempt_id);
    EXPECT_EQ(source.outputs[0][static_cast<size_t>(s)].address, s == 0 ? "a:1" : "b:2");
  }
  EXPECT_TRUE(tdds[0].outputs.empty());
  EXPECT_EQ(tdds[0].jobmanager_id, "jm");
  EXPECT_EQ(tdds[0].checkpoint_dir, "/chk");
  EXPECT_TRUE(tdds[0].restored.empty());
}

TEST_F(SchedulerTest, DeploymentsCarryTheStateAssignedByUid) {
  scheduler_->Place(*executions_, {Slot{"tm-a", "a:1", nullptr}, Slot{"tm-b", "b:2", nullptr}});
  checkpoint::CheckpointMetadata md;
  md.checkpoint_id = 7;
  md.max_parallelism = 128;
  for (int s = 0; s < 2; ++s) {
    checkpoint::SubtaskStateHandle h;
    h.vertex = 1;
    h.subtask = s;
    checkpoint::OperatorStateHandle op;
    op.operator_uid = "window-2";
    op.operator_state = "w" + std::to_string(s);
    h.operators.push_back(op);
    md.subtasks.push_back(h);
  }
  Scheduler::DeploymentContext ctx;
  ctx.restore = &md;
  ctx.restore_dir = "/chk/job/chk-7";
  ctx.restored_from_own_checkpoint = true;
  auto tdds = scheduler_->Deployments(*executions_, ctx);
  for (const auto& t : tdds) {
    EXPECT_EQ(t.restored_checkpoint_id, 7);
    EXPECT_TRUE(t.restored_from_own_checkpoint);
    if (t.vertex != 1) continue;
    const auto* w = t.RestoredFor("window-2");
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->operator_state, "w" + std::to_string(t.subtask));
  }
}

TEST_F(SchedulerTest, RestartDecisionsComeFromTheStrategy) {
  EXPECT_FALSE(scheduler_->OnFailure(0, true).restart);
  EXPECT_THAT(scheduler_->DescribeRestartStrategy(), ::testing::HasSubstr("NoRestart"));
}

}  // namespace
}  // namespace sluice::jobmanager

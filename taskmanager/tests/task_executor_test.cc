// The TaskExecutor without gRPC: deployment descriptors are checked against the compiled
// JobGraph, tasks of another JobManager are refused, mail and operator events reach only the
// attempts that run here (fencing), and task reports go to the JobMasterGateway.

#include "taskmanager/task_executor.h"

#include <mutex>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/base/testing/wait_until.h"

namespace sluice::taskmanager {
namespace {

using ::testing::HasSubstr;
using sluice::testing::WaitUntil;

class FakeJobMaster final : public JobMasterGateway {
 public:
  void UpdateTaskExecutionState(const TaskExecutionStateUpdate& u) override {
    std::lock_guard lock(mu_);
    states_.push_back(u.state);
  }
  void AcknowledgeCheckpoint(const JobId&, const ExecutionAttemptId&, const CheckpointAck&) override {}
  void DeclineCheckpoint(const JobId&, const ExecutionAttemptId&, int64_t, const std::string&) override {}
  std::vector<graph::ExecutionState> states() {
    std::lock_guard lock(mu_);
    return states_;
  }

 private:
  std::mutex mu_;
  std::vector<graph::ExecutionState> states_;
};

// A source of 3 generated rows chained with a print sink: one vertex, no outputs.
constexpr const char* kSpec = R"(name: te
source:
  type: datagen
  number-of-rows: 3
  schema: {id: int64}
  fields: {id: {kind: sequence, start: 1, end: 3}}
sink: {type: print}
)";

deployment::TaskDeploymentDescriptor Tdd() {
  deployment::TaskDeploymentDescriptor tdd;
  tdd.job_id = JobId::Random();
  tdd.attempt_id = ExecutionAttemptId::Random();
  tdd.job = job::JobSubmission{kSpec, "te.yaml", "/base", 0};
  tdd.jobmanager_id = "jm-1";
  return tdd;
}

class TaskExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    executor_.SetLocation("local:1");
    executor_.SetJobManagerId("jm-1");
  }
  FakeJobMaster jm_;
  TaskExecutor executor_{4, &jm_, [](const JobId&, const deployment::ConsumerLocation&, int, int) {
                           return std::unique_ptr<network::OutputChannel>();
                         }};
};

TEST_F(TaskExecutorTest, RunsADeployedTaskAndReportsItsStates) {
  ASSERT_TRUE(executor_.SubmitTask(Tdd()).ok());
  ASSERT_TRUE(WaitUntil([&] {
    auto s = jm_.states();
    return !s.empty() && s.back() == graph::ExecutionState::kFinished;
  }));
  EXPECT_THAT(jm_.states(), ::testing::ElementsAre(graph::ExecutionState::kInitializing,
                                                   graph::ExecutionState::kRunning,
                                                   graph::ExecutionState::kFinished));
  EXPECT_TRUE(executor_.RunningTasks().empty());
}

TEST_F(TaskExecutorTest, RefusesDescriptorsThatDoNotFitTheJobGraph) {
  auto other_jm = Tdd();
  other_jm.jobmanager_id = "jm-0";
  EXPECT_EQ(executor_.SubmitTask(other_jm).code(), absl::StatusCode::kFailedPrecondition);
  auto vertex = Tdd();
  vertex.vertex = 3;
  absl::Status s = executor_.SubmitTask(vertex);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("vertex index 3 out of range"));
  auto subtask = Tdd();
  subtask.subtask = 1;
  EXPECT_THAT(std::string(executor_.SubmitTask(subtask).message()), HasSubstr("subtask index 1"));
  auto outputs = Tdd();
  outputs.outputs = {{deployment::ConsumerLocation{0, ExecutionAttemptId::Random(), "x:1"}}};
  EXPECT_THAT(std::string(executor_.SubmitTask(outputs).message()),
              HasSubstr("has 0 output edges, the deployment names consumers for 1"));
  auto spec = Tdd();
  spec.job.spec_yaml = "name: [";
  EXPECT_EQ(executor_.SubmitTask(spec).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(jm_.states().empty());  // nothing ran
}

TEST_F(TaskExecutorTest, MailAndEventsReachOnlyAttemptsThatRunHere) {
  const ExecutionAttemptId stranger = ExecutionAttemptId::Random();
  EXPECT_EQ(executor_.PostMail(stranger, CheckpointCompleteMail{1}).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(executor_.CancelTask(stranger).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(executor_.SendOperatorEvent(JobId::Random(), stranger, 0, 0, "e").code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(executor_.AwaitInputGate(stranger, 10), nullptr);
}

}  // namespace
}  // namespace sluice::taskmanager

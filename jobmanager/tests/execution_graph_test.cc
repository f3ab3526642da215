// Tests of the ExecutionGraph: one execution per subtask, state changes only along the legal
// edges of runtime/graph/states.h, new attempts on restart with the old ones still findable
// (fencing), and Flink's aggregate vertex state and task names. The JobGraph is compiled from a
// spec (no file is opened).

#include "jobmanager/execution_graph.h"

#include <initializer_list>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/base/ids.h"
#include "runtime/graph/job_graph.h"
#include "runtime/graph/states.h"
#include "runtime/job/job_compiler.h"
#include "jobmanager/tests/window_spec.h"

namespace sluice::jobmanager {
namespace {

using graph::ExecutionState;

// Vertex 0: "Source: events" at parallelism 1; vertex 1: the window chained with the sink at 3.
const std::string kSpec = testing_specs::WindowSpec("execution-graph", 3, 1);

constexpr const char* kWindowVertex = "Window(TumblingEventTimeWindows(3600000)) -> Sink: out";

std::string NameOf(ExecutionState s) { return std::string(graph::Name(s)); }

class ExecutionGraphTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto g = job::CompileJob(job::JobSubmission{kSpec, "job.yaml", "/base", 0});
    ASSERT_TRUE(g.ok()) << g.status();
    graph_ = std::move(*g);
    ASSERT_EQ(graph_.vertices.size(), 2u);
    ASSERT_EQ(graph_.vertex(0).name, "Source: events");
    ASSERT_EQ(graph_.vertex(0).parallelism, 1);
    ASSERT_EQ(graph_.vertex(1).name, kWindowVertex);
    ASSERT_EQ(graph_.vertex(1).parallelism, 3);
    eg_ = std::make_unique<ExecutionGraph>(graph_);
  }

  // Moves `e` along `path`, every step of which must be legal.
  void Drive(Execution& e, std::initializer_list<ExecutionState> path) {
    for (ExecutionState to : path) {
      EXPECT_TRUE(eg_->Transition(e, to))
          << eg_->TaskName(e) << ": " << NameOf(e.state.state()) << " -> " << NameOf(to);
    }
  }
  void ToRunning(Execution& e) {
    Drive(e, {ExecutionState::kScheduled, ExecutionState::kDeploying,
              ExecutionState::kInitializing, ExecutionState::kRunning});
  }

  graph::JobGraph graph_;  // outlives eg_, which refers to it
  std::unique_ptr<ExecutionGraph> eg_;
};

TEST_F(ExecutionGraphTest, OneExecutionPerSubtaskWithDistinctAttemptIds) {
  EXPECT_EQ(eg_->num_vertices(), 2);
  EXPECT_EQ(eg_->num_subtasks(0), 1);
  EXPECT_EQ(eg_->num_subtasks(1), 3);

  const std::vector<Execution*> current = eg_->Current();
  ASSERT_EQ(current.size(), 4u);
  std::set<ExecutionAttemptId> ids;
  std::vector<std::pair<int, int>> positions;
  for (Execution* e : current) {
    positions.emplace_back(e->vertex, e->subtask);
    EXPECT_EQ(&eg_->at(e->vertex, e->subtask), e);
    EXPECT_EQ(e->attempt_number, 0);
    EXPECT_FALSE(e->attempt_id.IsZero());
    EXPECT_EQ(NameOf(e->state.state()), "CREATED");
    EXPECT_TRUE(e->taskmanager.empty());
    EXPECT_EQ(eg_->Find(e->attempt_id), e);
    EXPECT_TRUE(eg_->IsCurrent(*e));
    ids.insert(e->attempt_id);
  }
  EXPECT_EQ(ids.size(), 4u);
  // Vertex by vertex, subtasks in order.
  EXPECT_THAT(positions, ::testing::ElementsAre(std::make_pair(0, 0), std::make_pair(1, 0),
                                                std::make_pair(1, 1), std::make_pair(1, 2)));
  EXPECT_EQ(eg_->Find(ExecutionAttemptId::Random()), nullptr);
}

TEST_F(ExecutionGraphTest, TransitionFollowsTheLegalEdgesToFinished) {
  Execution& e = eg_->at(1, 0);
  for (ExecutionState to : {ExecutionState::kScheduled, ExecutionState::kDeploying,
                            ExecutionState::kInitializing, ExecutionState::kRunning,
                            ExecutionState::kFinished}) {
    EXPECT_TRUE(eg_->Transition(e, to)) << NameOf(to);
    EXPECT_EQ(NameOf(e.state.state()), NameOf(to));
  }

  // FINISHED is terminal.
  EXPECT_FALSE(eg_->Transition(e, ExecutionState::kRunning));
  EXPECT_FALSE(eg_->Transition(e, ExecutionState::kCanceling));
  EXPECT_FALSE(eg_->Transition(e, ExecutionState::kFailed, "too late"));
  EXPECT_EQ(NameOf(e.state.state()), "FINISHED");
  EXPECT_TRUE(e.failure.empty());
  // Staying put is not a change.
  EXPECT_TRUE(eg_->Transition(e, ExecutionState::kFinished));
}

TEST_F(ExecutionGraphTest, IllegalEdgeReturnsFalseAndLeavesTheStateUnchanged) {
  Execution& e = eg_->at(1, 1);

  EXPECT_FALSE(eg_->Transition(e, ExecutionState::kRunning));
  EXPECT_EQ(NameOf(e.state.state()), "CREATED");
  EXPECT_FALSE(eg_->Transition(e, ExecutionState::kFinished));
  EXPECT_EQ(NameOf(e.state.state()), "CREATED");
  EXPECT_EQ(e.state.timestamp(ExecutionState::kRunning), 0);  // never entered

  Drive(e, {ExecutionState::kScheduled});
  EXPECT_FALSE(eg_->Transition(e, ExecutionState::kInitializing));  // skips DEPLOYING
  EXPECT_EQ(NameOf(e.state.state()), "SCHEDULED");

  // A failure is kept; FAILED is terminal.
  EXPECT_TRUE(eg_->Transition(e, ExecutionState::kFailed, "slot lost"));
  EXPECT_EQ(e.failure, "slot lost");
  EXPECT_FALSE(eg_->Transition(e, ExecutionState::kRunning));
  EXPECT_FALSE(eg_->Transition(e, ExecutionState::kCreated));
  EXPECT_EQ(NameOf(e.state.state()), "FAILED");
}

TEST_F(ExecutionGraphTest, NewAttemptsReplaceEverySubtaskAndKeepTheOldOnesFindable) {
  std::vector<Execution*> old = eg_->Current();
  std::vector<ExecutionAttemptId> old_ids;
  for (Execution* e : old) old_ids.push_back(e->attempt_id);
  ToRunning(eg_->at(1, 2));
  Drive(eg_->at(1, 2), {ExecutionState::kFailed});

  eg_->NewAttempts();

  const std::vector<Execution*> now = eg_->Current();
  ASSERT_EQ(now.size(), old.size());
  for (size_t i = 0; i < now.size(); ++i) {
    SCOPED_TRACE("execution " + std::to_string(i));
    Execution* e = now[i];
    EXPECT_NE(e, old[i]);
    EXPECT_EQ(e->vertex, old[i]->vertex);
    EXPECT_EQ(e->subtask, old[i]->subtask);
    EXPECT_EQ(e->attempt_number, 1);
    EXPECT_NE(e->attempt_id, old_ids[i]);
    EXPECT_EQ(NameOf(e->state.state()), "CREATED");
    EXPECT_TRUE(eg_->IsCurrent(*e));
    EXPECT_EQ(eg_->Find(e->attempt_id), e);

    // The replaced attempt is still known (a late message of it is recognised), not current.
    Execution* prior = eg_->Find(old_ids[i]);
    ASSERT_EQ(prior, old[i]);
    EXPECT_EQ(prior->attempt_number, 0);
    EXPECT_FALSE(eg_->IsCurrent(*prior));
  }
  EXPECT_EQ(NameOf(eg_->Find(old_ids[3])->state.state()), "FAILED");  // kept as it ended

  eg_->NewAttempts();
  EXPECT_EQ(eg_->at(1, 2).attempt_number, 2);
  EXPECT_EQ(eg_->Find(old_ids[3]), old[3]);
}

TEST_F(ExecutionGraphTest, VertexStateIsFailuresFirstThenTheFurthestBehindSubtask) {
  Execution& a = eg_->at(1, 0);
  Execution& b = eg_->at(1, 1);
  Execution& c = eg_->at(1, 2);
  EXPECT_EQ(NameOf(eg_->VertexState(1)), "CREATED");

  ToRunning(a);
  ToRunning(b);
  Drive(c, {ExecutionState::kScheduled, ExecutionState::kDeploying});
  EXPECT_EQ(NameOf(eg_->VertexState(1)), "DEPLOYING");  // RUNNING, RUNNING, DEPLOYING

  Drive(c, {ExecutionState::kInitializing, ExecutionState::kRunning, ExecutionState::kFinished});
  EXPECT_EQ(NameOf(eg_->VertexState(1)), "RUNNING");  // RUNNING, RUNNING, FINISHED

  Drive(a, {ExecutionState::kCanceling, ExecutionState::kCanceled});
  EXPECT_EQ(NameOf(eg_->VertexState(1)), "CANCELED");  // CANCELED, RUNNING, FINISHED

  Drive(b, {ExecutionState::kCanceling});
  EXPECT_EQ(NameOf(eg_->VertexState(1)), "CANCELING");  // CANCELED, CANCELING, FINISHED

  Drive(b, {ExecutionState::kFailed});
  EXPECT_EQ(NameOf(eg_->VertexState(1)), "FAILED");  // CANCELED, FAILED, FINISHED

  // The other vertex is unaffected; all finished makes FINISHED.
  EXPECT_EQ(NameOf(eg_->VertexState(0)), "CREATED");
  Execution& source = eg_->at(0, 0);
  ToRunning(source);
  Drive(source, {ExecutionState::kFinished});
  EXPECT_EQ(NameOf(eg_->VertexState(0)), "FINISHED");
}

TEST_F(ExecutionGraphTest, StateCountsCountTheCurrentAttempts) {
  auto counts = eg_->StateCounts();
  EXPECT_EQ(counts[static_cast<size_t>(ExecutionState::kCreated)], 4);

  ToRunning(eg_->at(1, 0));
  ToRunning(eg_->at(1, 1));
  Drive(eg_->at(1, 2), {ExecutionState::kFailed});

  counts = eg_->StateCounts();
  EXPECT_EQ(counts[static_cast<size_t>(ExecutionState::kCreated)], 1);
  EXPECT_EQ(counts[static_cast<size_t>(ExecutionState::kRunning)], 2);
  EXPECT_EQ(counts[static_cast<size_t>(ExecutionState::kFailed)], 1);
  int total = 0;
  for (int n : counts) total += n;
  EXPECT_EQ(total, 4);

  // Replaced attempts no longer count.
  eg_->NewAttempts();
  counts = eg_->StateCounts();
  EXPECT_EQ(counts[static_cast<size_t>(ExecutionState::kCreated)], 4);
  EXPECT_EQ(counts[static_cast<size_t>(ExecutionState::kRunning)], 0);
  EXPECT_EQ(counts[static_cast<size_t>(ExecutionState::kFailed)], 0);
}

TEST_F(ExecutionGraphTest, AllTerminalOnlyWhenEveryCurrentAttemptIs) {
  EXPECT_TRUE(eg_->AllIn(ExecutionState::kCreated));
  EXPECT_FALSE(eg_->AllTerminal());

  ToRunning(eg_->at(0, 0));
  Drive(eg_->at(0, 0), {ExecutionState::kFinished});
  Drive(eg_->at(1, 0), {ExecutionState::kCanceled});
  Drive(eg_->at(1, 1), {ExecutionState::kFailed});
  EXPECT_FALSE(eg_->AllIn(ExecutionState::kCreated));
  EXPECT_FALSE(eg_->AllTerminal());  // (1, 2) is still CREATED

  Drive(eg_->at(1, 2), {ExecutionState::kCanceling});
  EXPECT_FALSE(eg_->AllTerminal());  // CANCELING is not terminal
  Drive(eg_->at(1, 2), {ExecutionState::kCanceled});
  EXPECT_TRUE(eg_->AllTerminal());

  eg_->NewAttempts();
  EXPECT_FALSE(eg_->AllTerminal());
  EXPECT_TRUE(eg_->AllIn(ExecutionState::kCreated));
}

TEST_F(ExecutionGraphTest, TaskNameHasFlinksForm) {
  EXPECT_EQ(eg_->TaskName(eg_->at(0, 0)), "Source: events (1/1)#0");
  EXPECT_EQ(eg_->TaskName(eg_->at(1, 0)), std::string(kWindowVertex) + " (1/3)#0");
  EXPECT_EQ(eg_->TaskName(eg_->at(1, 2)), std::string(kWindowVertex) + " (3/3)#0");

  eg_->NewAttempts();
  EXPECT_EQ(eg_->TaskName(eg_->at(1, 2)), std::string(kWindowVertex) + " (3/3)#1");
}

}  // namespace
}  // namespace sluice::jobmanager

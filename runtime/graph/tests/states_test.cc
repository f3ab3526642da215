#include "runtime/graph/states.h"

#include <set>
#include <utility>

#include "gtest/gtest.h"

namespace sluice::graph {
namespace {

using J = JobStatus;
using E = ExecutionState;

TEST(JobStatus, EdgeTableIsExactlyFlinks) {
  const std::set<std::pair<J, J>> legal = {
      {J::kInitializing, J::kCreated}, {J::kInitializing, J::kFailed},
      {J::kInitializing, J::kCanceled},  // cancelled while initialising (Flink: a sparse CANCELED graph)
      {J::kCreated, J::kRunning},      {J::kCreated, J::kCancelling},
      {J::kCreated, J::kFailing},      {J::kCreated, J::kFailed},
      {J::kCreated, J::kSuspended},    {J::kRunning, J::kFinished},
      {J::kRunning, J::kFailing},      {J::kRunning, J::kCancelling},
      {J::kRunning, J::kRestarting},   {J::kRunning, J::kSuspended},
      {J::kFailing, J::kFailed},       {J::kFailing, J::kRestarting},
      {J::kFailing, J::kCancelling},   {J::kCancelling, J::kCanceled},
      {J::kCancelling, J::kFailed},    {J::kRestarting, J::kCreated},
      {J::kRestarting, J::kRunning},   {J::kRestarting, J::kCancelling},
      {J::kRestarting, J::kFailed},    {J::kRestarting, J::kSuspended}};
  for (int a = 0; a < kNumJobStatus; ++a) {
    for (int b = 0; b < kNumJobStatus; ++b) {
      J from = static_cast<J>(a), to = static_cast<J>(b);
      EXPECT_EQ(IsLegalTransition(from, to), legal.count({from, to}) == 1)
          << Name(from) << " -> " << Name(to);
    }
  }
}

TEST(JobStatus, TerminalStatesHaveNoExits) {
  for (J t : {J::kFinished, J::kCanceled, J::kFailed, J::kSuspended}) {
    EXPECT_TRUE(IsTerminal(t));
    for (int b = 0; b < kNumJobStatus; ++b) EXPECT_FALSE(IsLegalTransition(t, static_cast<J>(b)));
  }
  EXPECT_FALSE(IsGloballyTerminal(J::kSuspended));
  EXPECT_FALSE(IsTerminal(J::kRunning));
}

TEST(ExecutionState, EdgeTable) {
  std::set<std::pair<E, E>> legal = {
      {E::kCreated, E::kScheduled},       {E::kScheduled, E::kDeploying},
      {E::kDeploying, E::kInitializing},  {E::kInitializing, E::kRunning},
      {E::kRunning, E::kFinished},        {E::kInitializing, E::kFinished},
      {E::kCreated, E::kCanceled},        {E::kScheduled, E::kCanceled},
      {E::kCanceling, E::kCanceled},      {E::kCanceling, E::kFailed}};
  for (E s : {E::kCreated, E::kScheduled, E::kDeploying, E::kInitializing, E::kRunning}) {
    legal.insert({s, E::kCanceling});
    legal.insert({s, E::kFailed});
  }
  for (int a = 0; a < kNumExecutionState; ++a) {
    for (int b = 0; b < kNumExecutionState; ++b) {
      E from = static_cast<E>(a), to = static_cast<E>(b);
      EXPECT_EQ(IsLegalTransition(from, to), legal.count({from, to}) == 1)
          << Name(from) << " -> " << Name(to);
    }
  }
}

TEST(StateMachine, TransitionChecksStampsAndNotifies) {
  ExecutionStateMachine m(E::kCreated);
  std::vector<std::pair<E, E>> seen;
  m.set_listener([&](E a, E b) { seen.emplace_back(a, b); });
  EXPECT_TRUE(m.TransitionTo(E::kScheduled).ok());
  EXPECT_GT(m.timestamp(E::kScheduled), 0);
  auto bad = m.TransitionTo(E::kRunning);
  EXPECT_EQ(bad.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(bad.message(), "illegal state transition from SCHEDULED to RUNNING");
  EXPECT_EQ(m.state(), E::kScheduled);
  ASSERT_TRUE(m.TransitionTo(E::kCanceled).ok());
  EXPECT_FALSE(m.TransitionTo(E::kFailed).ok());  // terminal
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1], std::make_pair(E::kScheduled, E::kCanceled));
}

TEST(States, NamesRoundTrip) {
  for (int i = 0; i < kNumJobStatus; ++i) {
    EXPECT_EQ(ParseJobStatus(Name(static_cast<J>(i))), static_cast<J>(i));
  }
  for (int i = 0; i < kNumExecutionState; ++i) {
    EXPECT_EQ(ParseExecutionState(Name(static_cast<E>(i))), static_cast<E>(i));
  }
  EXPECT_EQ(Name(E::kCanceling), "CANCELING");
  EXPECT_EQ(Name(J::kCancelling), "CANCELLING");
}

}  // namespace
}  // namespace sluice::graph

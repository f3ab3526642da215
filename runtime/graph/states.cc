#include "runtime/graph/states.h"

namespace sluice::graph {
namespace {

constexpr std::string_view kJobNames[kNumJobStatus] = {
    "INITIALIZING", "CREATED",  "RUNNING",  "FAILING",    "FAILED",
    "CANCELLING",   "CANCELED", "FINISHED", "RESTARTING", "SUSPENDED"};
constexpr std::string_view kExecNames[kNumExecutionState] = {
    "CREATED", "SCHEDULED", "DEPLOYING", "INITIALIZING", "RUNNING",
    "FINISHED", "CANCELING", "CANCELED", "FAILED"};

using J = JobStatus;
using E = ExecutionState;

constexpr auto MakeJobEdges() {
  std::array<std::array<bool, kNumJobStatus>, kNumJobStatus> t{};
  auto edge = [&t](J a, J b) { t[static_cast<int>(a)][static_cast<int>(b)] = true; };
  edge(J::kInitializing, J::kCreated);
  edge(J::kInitializing, J::kFailed);   // the JobGraph could not be built
  edge(J::kInitializing, J::kCanceled);  // cancelled before it was (Flink's Dispatcher too)
  edge(J::kCreated, J::kRunning);
  edge(J::kCreated, J::kCancelling);
  edge(J::kCreated, J::kFailing);
  edge(J::kCreated, J::kFailed);
  edge(J::kCreated, J::kSuspended);
  edge(J::kRunning, J::kFinished);
  edge(J::kRunning, J::kFailing);
  edge(J::kRunning, J::kCancelling);
  edge(J::kRunning, J::kRestarting);
  edge(J::kRunning, J::kSuspended);
  edge(J::kFailing, J::kFailed);
  edge(J::kFailing, J::kRestarting);
  edge(J::kFailing, J::kCancelling);
  edge(J::kCancelling, J::kCanceled);
  edge(J::kCancelling, J::kFailed);  // cancellation itself failed
  edge(J::kRestarting, J::kCreated);
  edge(J::kRestarting, J::kRunning);
  edge(J::kRestarting, J::kCancelling);
  edge(J::kRestarting, J::kFailed);
  edge(J::kRestarting, J::kSuspended);
  return t;
}

constexpr auto MakeExecEdges() {
  std::array<std::array<bool, kNumExecutionState>, kNumExecutionState> t{};
  auto edge = [&t](E a, E b) { t[static_cast<int>(a)][static_cast<int>(b)] = true; };
  edge(E::kCreated, E::kScheduled);
  edge(E::kScheduled, E::kDeploying);
  edge(E::kDeploying, E::kInitializing);
  edge(E::kInitializing, E::kRunning);
  edge(E::kRunning, E::kFinished);
  // A bounded source subtask without input may finish during initialisation.
  edge(E::kInitializing, E::kFinished);
  for (E s : {E::kCreated, E::kScheduled, E::kDeploying, E::kInitializing, E::kRunning}) {
    edge(s, E::kCanceling);
    edge(s, E::kFailed);
  }
  edge(E::kCreated, E::kCanceled);
  edge(E::kScheduled, E::kCanceled);
  edge(E::kCanceling, E::kCanceled);
  edge(E::kCanceling, E::kFailed);
  return t;
}

constexpr auto kJobEdges = MakeJobEdges();
constexpr auto kExecEdges = MakeExecEdges();

}  // namespace

std::string_view Name(JobStatus s) { return kJobNames[static_cast<int>(s)]; }
std::string_view Name(ExecutionState s) { return kExecNames[static_cast<int>(s)]; }

std::optional<JobStatus> ParseJobStatus(std::string_view name) {
  for (int i = 0; i < kNumJobStatus; ++i) {
    if (kJobNames[i] == name) return static_cast<JobStatus>(i);
  }
  return std::nullopt;
}
std::optional<ExecutionState> ParseExecutionState(std::string_view name) {
  for (int i = 0; i < kNumExecutionState; ++i) {
    if (kExecNames[i] == name) return static_cast<ExecutionState>(i);
  }
  return std::nullopt;
}

bool IsGloballyTerminal(JobStatus s) {
  return s == J::kFinished || s == J::kCanceled || s == J::kFailed;
}
bool IsTerminal(JobStatus s) { return IsGloballyTerminal(s) || s == J::kSuspended; }
bool IsTerminal(ExecutionState s) {
  return s == E::kFinished || s == E::kCanceled || s == E::kFailed;
}

bool IsLegalTransition(JobStatus from, JobStatus to) {
  return kJobEdges[static_cast<int>(from)][static_cast<int>(to)];
}
bool IsLegalTransition(ExecutionState from, ExecutionState to) {
  return kExecEdges[static_cast<int>(from)][static_cast<int>(to)];
}

}  // namespace sluice::graph

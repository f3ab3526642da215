#pragma once
// JobStatus and ExecutionState with Flink's names and semantics (flink-core JobStatus.java,
// flink-runtime ExecutionState.java), each with a constexpr table of legal edges and one
// transition function (StateMachine::TransitionTo) that checks the table, refuses to leave a
// terminal state, stamps the time and notifies a listener.
//
// JobStatus:
//   INITIALIZING -> CREATED -> RUNNING -> FINISHED
//                      |         |  \---> FAILING -> FAILED | RESTARTING
//                      |         |  \---> RESTARTING -> CREATED (redeploy)
//                      |         \------> CANCELLING -> CANCELED
//                      \--> CANCELLING, FAILING, FAILED, SUSPENDED
//   Globally terminal: FINISHED, CANCELED, FAILED. Locally terminal: SUSPENDED.
//
// ExecutionState (one per subtask attempt):
//   CREATED -> SCHEDULED -> DEPLOYING -> INITIALIZING -> RUNNING -> FINISHED
//   any non-terminal -> CANCELING -> CANCELED;  any non-terminal -> FAILED;  CREATED -> CANCELED
//   Terminal: FINISHED, CANCELED, FAILED.
//
// Thread safety: a StateMachine is owned by one thread (the JobMaster's executor).

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "runtime/base/clock.h"
#include "runtime/base/status.h"

namespace sluice::graph {

enum class JobStatus : uint8_t {
  kInitializing, kCreated, kRunning, kFailing, kFailed, kCancelling, kCanceled, kFinished,
  kRestarting, kSuspended,
};
inline constexpr int kNumJobStatus = 10;

enum class ExecutionState : uint8_t {
  kCreated, kScheduled, kDeploying, kInitializing, kRunning, kFinished, kCanceling, kCanceled,
  kFailed,
};
inline constexpr int kNumExecutionState = 9;

std::string_view Name(JobStatus s);        // "RUNNING"
std::string_view Name(ExecutionState s);   // "INITIALIZING"
std::optional<JobStatus> ParseJobStatus(std::string_view name);
std::optional<ExecutionState> ParseExecutionState(std::string_view name);

bool IsTerminal(JobStatus s);       // FINISHED, CANCELED, FAILED, SUSPENDED
bool IsGloballyTerminal(JobStatus s);  // FINISHED, CANCELED, FAILED
bool IsTerminal(ExecutionState s);  // FINISHED, CANCELED, FAILED

bool IsLegalTransition(JobStatus from, JobStatus to);
bool IsLegalTransition(ExecutionState from, ExecutionState to);

// Holds the current state, the time each state was entered (epoch ms) and an optional listener.
template <typename State, int N>
class StateMachine {
 public:
  using Listener = std::function<void(State from, State to)>;
  explicit StateMachine(State initial) : state_(initial) { stamps_[Index(initial)] = NowMillis(); }

  State state() const { return state_; }
  // Epoch ms when `s` was last entered, or 0 if never.
  int64_t timestamp(State s) const { return stamps_[Index(s)]; }
  void set_listener(Listener l) { listener_ = std::move(l); }

  // FailedPrecondition if the edge is not in the table (including leaving a terminal state).
  absl::Status TransitionTo(State to) {
    if (!IsLegalTransition(state_, to)) {
      return FailedPreconditionF("illegal state transition from {} to {}", Name(state_),
                                 Name(to));
    }
    State from = state_;
    state_ = to;
    stamps_[Index(to)] = NowMillis();
    if (listener_) listener_(from, to);
    return absl::OkStatus();
  }

 private:
  static int Index(State s) { return static_cast<int>(s); }
  State state_;
  std::array<int64_t, N> stamps_{};
  Listener listener_;
};

using JobStatusMachine = StateMachine<JobStatus, kNumJobStatus>;
using ExecutionStateMachine = StateMachine<ExecutionState, kNumExecutionState>;

}  // namespace sluice::graph

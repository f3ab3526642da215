#pragma once
// Task: one deployed subtask attempt running on its own thread (Flink's Task + StreamTask). It
// builds the vertex's operator chain, lets StreamTaskStateInitializer create and restore its
// state, runs its source or its StreamInputProcessor, takes mail from its TaskMailbox between
// batches (checkpoint triggers and notifications, handled by its SubtaskCheckpointCoordinator),
// and reports DEPLOYING -> INITIALIZING -> RUNNING -> FINISHED / FAILED / CANCELED to the
// JobManager through its TaskEnvironment.
//
// State: the task's ExecutionState changes only through the table of runtime/graph/states.h,
// under a mutex, so Cancel() racing with the start cannot produce an illegal report: a task
// cancelled before it initialised goes CANCELING -> CANCELED and never reports INITIALIZING.
//
// Lifecycle: constructed by the TaskExecutor on SubmitTask (which registers the input gate at
// once, so producers may connect before the thread starts), Start() spawns the thread, Cancel()
// may be called from any thread, the destructor joins. Metrics() and Post() are thread-safe.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "runtime/deployment/task_deployment_descriptor.h"
#include "runtime/graph/job_graph.h"
#include "runtime/graph/states.h"
#include "runtime/network/channels.h"
#include "runtime/network/task_io_metrics.h"
#include "taskmanager/operator_chain.h"
#include "taskmanager/state_initializer.h"
#include "taskmanager/subtask_checkpoint_coordinator.h"
#include "taskmanager/task_environment.h"
#include "taskmanager/task_mailbox.h"

namespace sluice::taskmanager {

class Task {
 public:
  Task(deployment::TaskDeploymentDescriptor tdd, std::shared_ptr<const graph::JobGraph> graph,
       TaskEnvironment* env);
  ~Task();
  void Start();
  void Cancel();
  // Mail from the JobManager, handled on the task thread between batches.
  void Post(Mail mail) { mailbox_.Post(std::move(mail)); }
  // An event of this source task's split enumerator (any thread): handed to the running
  // source's HandleOperatorEvent (its result is returned). FailedPrecondition when no source is
  // open (not a source task, not yet opened, or closed): the event is dropped.
  absl::Status HandleOperatorEvent(std::string_view event);
  TaskMetricsSnapshot Metrics() const;
  bool done() const { return done_.load(); }
  const deployment::TaskDeploymentDescriptor& deployment() const { return tdd_; }
  // "<vertex name> (<subtask+1>/<parallelism>)#<attempt>", Flink's task name with attempt.
  const std::string& name() const { return name_; }
  const graph::JobVertex& vertex() const { return vertex_; }
  const std::string& job_name() const { return graph_->name; }

 private:
  void Run();
  absl::Status Execute();
  absl::Status Invoke();  // between Open and Close
  absl::Status RunSource();
  absl::Status RunInput();
  absl::Status ProcessMail();
  absl::Status HandleMail(const Mail& mail);
  absl::Status AwaitFinalCheckpoint();
  absl::Status TakeCheckpoint(int64_t checkpoint_id, int64_t alignment_ms, CheckpointOptions options);
  // Task thread: refreshes state_metrics_ from the keyed state backends at most once a second.
  void MaybeUpdateStateMetrics(int64_t now_ms);
  // Switches state through the table and reports it; false (nothing reported) if illegal.
  bool Transition(graph::ExecutionState to, const absl::Status& failure = absl::OkStatus());

  const deployment::TaskDeploymentDescriptor tdd_;
  const std::shared_ptr<const graph::JobGraph> graph_;
  const graph::JobVertex& vertex_;
  TaskEnvironment* env_;
  std::string name_;
  // The input gates (flat); for a source task a gate without channels that wakes on mail.
  std::shared_ptr<network::InputGate> gate_;
  TaskMailbox mailbox_;

  mutable std::mutex state_mu_;
  graph::ExecutionStateMachine state_{graph::ExecutionState::kDeploying};  // guarded by state_mu_
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> done_{false};

  // Declared in dependency order: destroyed checkpoints first, then the chain's operators,
  // then the state backends they use.
  std::vector<OperatorState> states_;  // per chain operator
  // The running chain (task thread; CancelWriters from Cancel() under chain_mu_).
  std::mutex chain_mu_;
  std::unique_ptr<OperatorChain> chain_;  // guarded by chain_mu_ for Cancel()
  std::unique_ptr<api::Source> source_;
  std::mutex event_mu_;
  api::Source* event_target_ = nullptr;  // guarded by event_mu_: the open source
  std::unique_ptr<SubtaskCheckpointCoordinator> checkpoints_;
  int64_t final_checkpoint_id_ = 0;
  bool stop_requested_ = false;  // a source told to stop with a savepoint, or to drain
  bool drain_on_stop_ = false;   // stop --drain: the source ends its input as if bounded
  bool drain_ = true;            // false once an input ended without draining

  network::TaskIoMetrics io_metrics_;         // idle/back-pressured time, watermarks
  std::atomic<int64_t> invoke_start_ns_{0};  // steady clock, when the task began running
  api::OperatorMetrics task_metrics_;
  api::OperatorMetrics source_metrics_;
  std::vector<std::unique_ptr<api::OperatorMetrics>> op_metrics_;
  mutable std::mutex state_metrics_mu_;
  std::map<std::string, int64_t> state_metrics_;  // guarded by state_metrics_mu_
  int64_t next_state_metrics_ms_ = 0;             // task thread
  std::thread thread_;
};

}  // namespace sluice::taskmanager

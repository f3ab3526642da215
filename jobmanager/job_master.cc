#include "jobmanager/job_master.h"

#include <filesystem>

#include "fmt/format.h"
#include "jobmanager/state_assignment.h"
#include "runtime/base/clock.h"
#include "runtime/base/status.h"
#include "spdlog/spdlog.h"

namespace sluice::jobmanager {

using graph::ExecutionState;
using graph::JobStatus;

absl::StatusOr<std::unique_ptr<JobMaster>> JobMaster::Create(JobId id, job::JobSubmission submission,
                                                             graph::JobGraph graph,
                                                             const SubmitOptions& submit,
                                                             JobMasterOptions options,
                                                             SlotProvider* slots) {
  std::unique_ptr<JobMaster> jm(new JobMaster(id, std::move(submission), std::move(graph),
                                              std::move(options), slots));
  RETURN_IF_ERROR(jm->Initialize(submit));
  return jm;
}

JobMaster::JobMaster(JobId id, job::JobSubmission submission, graph::JobGraph graph,
                     JobMasterOptions options, SlotProvider* slots)
    : id_(id),
      submission_(std::move(submission)),
      graph_(std::move(graph)),
      options_(std::move(options)),
      slot_provider_(slots),
      executions_(graph_) {}

JobMaster::~JobMaster() { Shutdown(); }

// Checkpointing, restart strategy, restore and split enumerators. Runs before Start (no
// executor work yet), on the submitting thread.
absl::Status JobMaster::Initialize(const SubmitOptions& submit) {
  const graph::JobConfig& config = graph_.config;
  const std::string& spec = submission_.spec_path;
  ASSIGN_OR_RETURN(auto restarts, checkpoint::MakeRestartStrategy(config.restart_strategy));
  scheduler_ = std::make_unique<Scheduler>(graph_, std::move(restarts));
  if (config.checkpointing_enabled()) {
    std::string root = config.checkpoint_dir.empty() ? options_.default_checkpoint_dir : config.checkpoint_dir;
    if (root.empty()) {
      return InvalidArgumentF(
          "{}: checkpointing needs a directory: set checkpointing.dir in the job spec or "
          "state.checkpoints.dir (--checkpoint-dir) on the JobManager",
          spec);
    }
    CheckpointDispatcher::Host host;
    host.job_id = id_;
    host.graph = &graph_;
    host.executions = &executions_;
    host.sources = &sources_;
    host.gateway = [this](const Execution& e) { return GatewayOf(e); };
    host.post = [this](std::function<void()> fn) { Post(std::move(fn)); };
    host.cancel_job = [this] { CancelJob(); };
    host.fail_job = [this](const std::string& reason, bool retryable) {
      HandleFailure(reason, retryable, "", "");
    };
    auto dispatcher = CheckpointDispatcher::Create(*config.checkpointing, root, std::move(host));
    if (!dispatcher.ok()) return InvalidArgumentF("{}: checkpointing: {}", spec, dispatcher.status().message());
    checkpoints_ = std::move(*dispatcher);
  }
  std::map<std::string, std::string> coordinator_states;
  std::set<std::string> restored_uids;
  if (!submit.restore_path.empty()) {
    if (!checkpoints_) {
      return InvalidArgumentF("{}: restoring from '{}' needs a job with checkpointing", spec,
                              submit.restore_path);
    }
    auto md = checkpoint::CheckpointStorage::ReadMetadata(submit.restore_path);
    if (!md.ok()) {
      return InvalidArgumentF("cannot restore from '{}': {}", submit.restore_path, md.status().message());
    }
    RETURN_IF_ERROR(CheckRestore(*md, graph_, submit.allow_non_restored_state, submit.restore_path));
    restore_path_ = CheckpointDirOf(submit.restore_path);
    checkpoints_->Restored(md->checkpoint_id, md->timestamp_ms, restore_path_);
    if (submit.discard_restore_after_first_checkpoint) {
      checkpoints_->DiscardAfterFirstCompletion(restore_path_);
    }
    coordinator_states = md->coordinator_states;
    for (const auto& st : md->subtasks) {
      for (const auto& op : st.operators) restored_uids.insert(op.operator_uid);
    }
  }
  SourceCoordinators::Hooks hooks;
  hooks.send = [this](int vertex, int32_t subtask, std::string event) {
    Post([this, vertex, subtask, event = std::move(event)]() mutable {
      SendOperatorEvent(vertex, subtask, std::move(event));
    });
  };
  hooks.fail = [this](int vertex, absl::Status cause) {
    Post([this, vertex, cause] {
      const std::string& name = graph_.vertex(vertex).source->name;
      const bool retryable = cause.code() != absl::StatusCode::kFailedPrecondition &&
                             cause.code() != absl::StatusCode::kInvalidArgument;
      HandleFailure(fmt::format("the split enumerator of {} failed: {}", name, cause.message()),
                    retryable, name + " (split enumerator)", "JobManager");
    });
  };
  RETURN_IF_ERROR(sources_.Create(graph_, std::move(hooks), coordinator_states, restored_uids, restore_path_));
  spdlog::info("Job {}: {}; restart strategy {}", graph_.name,
               checkpoints_ ? fmt::format("checkpoints every {} ms into {}",
                                          config.checkpointing->interval_ms,
                                          checkpoints_->checkpoint_root())
                            : std::string("no checkpointing"),
               scheduler_->DescribeRestartStrategy());
  return absl::OkStatus();
}

void JobMaster::Start() {
  start_ms_ = NowMillis();
  Post([this] {
    spdlog::info("Received job {} ({}).", graph_.name, id_.ToString());
    for (const auto& v : graph_.vertices) {
      spdlog::info("  vertex {} '{}' parallelism {}", v.id, v.name, v.parallelism);
    }
    SetJobStatus(JobStatus::kCreated);
    RequestSlots();
  });
}

void JobMaster::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  executor_.Call([this] {
    if (!graph::IsTerminal(status_.state())) CancelJob();
    for (auto& closed : sources_.Close()) {
      closers_.emplace_back([c = std::move(closed)]() mutable { c.enumerator.reset(); });
    }
    checkpoints_.reset();  // its I/O thread runs what is queued and joins
    return 0;
  });
  executor_.Shutdown();
  for (auto& t : closers_) t.join();
  closers_.clear();
}

// ---- slots and deployment ----------------------------------------------------------------

void JobMaster::RequestSlots() {
  slot_provider_->RequestSlots(
      id_, graph_.RequiredSlots(),
      [this](std::vector<Slot> slots) { Post([this, slots = std::move(slots)]() mutable { OnSlots(std::move(slots)); }); },
      [this](std::string why) {
        Post([this, why = std::move(why)] {
          if (why != status_message_) spdlog::info("Job {} ({}) is {}", graph_.name, id_.ToString(), why);
          status_message_ = why;
        });
      });
}

void JobMaster::OnSlots(std::vector<Slot> slots) {
  if (status_.state() != JobStatus::kCreated) {  // cancelled meanwhile
    slot_provider_->ReleaseSlots(id_);
    return;
  }
  status_message_.clear();
  slots_ = std::move(slots);
  SetJobStatus(JobStatus::kRunning);
  Deploy();
}

TaskExecutorGatewayPtr JobMaster::GatewayOf(const Execution& e) const {
  for (const Slot& s : slots_) {
    if (s.resource_id == e.taskmanager) return s.gateway;
  }
  return nullptr;
}

void JobMaster::Deploy() {
  std::optional<checkpoint::CheckpointMetadata> restore;
  if (!restore_path_.empty()) {
    auto md = checkpoint::CheckpointStorage::ReadMetadata(restore_path_);
    if (!md.ok()) {
      failure_cause_ = fmt::format("cannot restore from {}: {}", restore_path_, md.status().message());
      SetJobStatus(JobStatus::kFailing);
      executions_.ForEach([&](Execution& e) { CancelExecution(e); });
      CheckJobProgress();
      return;
    }
    restore = std::move(*md);
    spdlog::info("Restoring job {} ({}) from checkpoint {} at {}", graph_.name, id_.ToString(),
                 restore->checkpoint_id, restore_path_);
    if (checkpoints_) checkpoints_->Restored(restore->checkpoint_id, restore->timestamp_ms, restore_path_);
  }
  scheduler_->Place(executions_, slots_);
  executions_.ForEach([&](Execution& e) { executions_.Transition(e, ExecutionState::kScheduled); });
  Scheduler::DeploymentContext ctx;
  ctx.job_id = id_;
  ctx.submission = submission_;
  ctx.jobmanager_id = options_.jobmanager_id;
  ctx.buffer_timeout_ms = options_.buffer_timeout_ms;
  if (checkpoints_) ctx.checkpoint_dir = checkpoints_->checkpoint_root();
  if (restore) {
    ctx.restore = &*restore;
    ctx.restore_dir = restore_path_;
    const std::string own = checkpoint::CheckpointStorage(ctx.checkpoint_dir, id_.ToString()).JobDir();
    ctx.restored_from_own_checkpoint =
        restore->job_id == id_.ToString() &&
        std::filesystem::path(restore_path_).lexically_normal().parent_path() ==
            std::filesystem::path(own).lexically_normal();
  }
  std::vector<deployment::TaskDeploymentDescriptor> tdds = scheduler_->Deployments(executions_, ctx);
  if (absl::Status s = sources_.StartAll(); !s.ok()) {
    HandleFailure(std::string(s.message()), /*retryable=*/false, "", "JobManager");
    return;
  }
  for (auto& tdd : tdds) {
    Execution& e = executions_.at(tdd.vertex, tdd.subtask);
    executions_.Transition(e, ExecutionState::kDeploying);
    TaskExecutorGatewayPtr gw = GatewayOf(e);
    const ExecutionAttemptId attempt = e.attempt_id;
    const std::string location = e.location;
    if (!gw) {  // its TaskManager was lost since the slots were given
      UpdateExecution(e, ExecutionState::kFailed,
                      fmt::format("could not deploy to {}: the TaskManager is gone", location), true);
      continue;
    }
    gw->SubmitTask(std::move(tdd), [this, attempt, location](absl::Status s) {
      if (s.ok()) return;
      Post([this, attempt, location, s] {
        Execution* e = executions_.Find(attempt);
        if (!e) return;
        UpdateExecution(*e, ExecutionState::kFailed,
                        fmt::format("could not deploy to {}: {}", location, s.message()), true);
      });
    });
  }
}

// ---- task state --------------------------------------------------------------------------

bool JobMaster::UpdateTaskExecutionState(TaskStateUpdate u) {
  return executor_.Call([&] {
    Execution* e = executions_.Find(u.attempt);
    if (!e) {
      spdlog::warn("Ignoring {} from unknown or stale execution attempt {} of job {}",
                   graph::Name(u.state), u.attempt.ToString(), id_.ToString());
      return false;
    }
    e->UpdateMetrics(std::move(u.metrics), MonotonicMillis());
    if (u.end_of_input) {
      if (executions_.IsCurrent(*e) && e->state.state() == ExecutionState::kRunning && checkpoints_) {
        checkpoints_->OnEndOfInput(*e);
      }
      return true;
    }
    UpdateExecution(*e, u.state, u.failure, u.retryable);
    return true;
  });
}

void JobMaster::UpdateExecution(Execution& e, ExecutionState to, const std::string& failure,
                                bool retryable) {
  const ExecutionState from = e.state.state();
  if (graph::IsTerminal(from)) return;
  if (from == ExecutionState::kCanceling) {
    // An execution being cancelled only ends (Flink's Execution#completeCancelling): reports of
    // its progress are stale, its end counts as CANCELED whatever the task reports.
    if (!graph::IsTerminal(to)) {
      spdlog::debug("{} reports {} while CANCELING; ignored", executions_.TaskName(e), graph::Name(to));
      return;
    }
    to = ExecutionState::kCanceled;
  }
  // A task reports RUNNING right after INITIALIZING; tolerate a lost intermediate report.
  if ((to == ExecutionState::kRunning || to == ExecutionState::kFinished) &&
      from == ExecutionState::kDeploying) {
    executions_.Transition(e, ExecutionState::kInitializing);
  }
  if (!executions_.Transition(e, to, to == ExecutionState::kFailed ? failure : "")) return;
  if (to == ExecutionState::kFailed && executions_.IsCurrent(e)) {
    HandleFailure(fmt::format("{} ({}) on {} failed: {}", executions_.TaskName(e),
                              e.attempt_id.ToString(), e.location,
                              failure.empty() ? "unknown cause" : failure),
                  retryable, executions_.TaskName(e), e.location);
  }
  if (to == ExecutionState::kRunning) {
    if (executions_.IsCurrent(e)) sources_.AddReader(e.vertex, e.subtask);
    OnExecutionRunning();
  }
  CheckJobProgress();
}

// Once every subtask runs: the job is up (uptime/downtime) and checkpointing starts.
void JobMaster::OnExecutionRunning() {
  if (!executions_.AllIn(ExecutionState::kRunning) || status_.state() != JobStatus::kRunning ||
      running_since_ms_) {
    return;
  }
  running_since_ms_ = NowMillis();
  if (down_since_ms_) {
    last_recovery_ms_ = running_since_ms_ - down_since_ms_;
    spdlog::info("Job {} ({}) recovered: all {} subtasks RUNNING {} ms after the failure.",
                 graph_.name, id_.ToString(), graph_.TotalSubtasks(), last_recovery_ms_);
    down_since_ms_ = 0;
  }
  if (checkpoints_) checkpoints_->OnAllRunning(NowMillis());
}

void JobMaster::AcknowledgeCheckpoint(const ExecutionAttemptId& attempt, int64_t checkpoint_id,
                                      checkpoint::Ack ack) {
  Post([this, attempt, checkpoint_id, ack = std::move(ack)]() mutable {
    Execution* e = RunningAttempt(attempt);
    if (e && checkpoints_) checkpoints_->OnAck(*e, std::move(ack), checkpoint_id, NowMillis());
  });
}

void JobMaster::DeclineCheckpoint(const ExecutionAttemptId& attempt, int64_t checkpoint_id,
                                  std::string reason) {
  Post([this, attempt, checkpoint_id, reason = std::move(reason)] {
    Execution* e = RunningAttempt(attempt);
    if (e && checkpoints_) checkpoints_->OnDecline(*e, checkpoint_id, reason, NowMillis());
  });
}

void JobMaster::ReportMetrics(const ExecutionAttemptId& attempt, TaskMetrics metrics) {
  Post([this, attempt, metrics = std::move(metrics)]() mutable {
    if (Execution* e = executions_.Find(attempt)) e->UpdateMetrics(std::move(metrics), MonotonicMillis());
  });
}

Execution* JobMaster::RunningAttempt(const ExecutionAttemptId& attempt) {
  Execution* e = executions_.Find(attempt);
  if (!e || !executions_.IsCurrent(*e) || e->state.state() != ExecutionState::kRunning) {
    spdlog::debug("Ignoring checkpoint message from stale attempt {}", attempt.ToString());
    return nullptr;
  }
  return e;
}

void JobMaster::SendOperatorEvent(int vertex, int32_t subtask, std::string event) {
  if (graph::IsTerminal(status_.state())) return;
  if (subtask < 0 || subtask >= executions_.num_subtasks(vertex)) {
    spdlog::error("Job {}: split enumerator event for subtask {} of a vertex with {} subtasks",
                  id_.ToString(), subtask, executions_.num_subtasks(vertex));
    return;
  }
  const Execution& e = executions_.at(vertex, subtask);
  TaskExecutorGatewayPtr gw = GatewayOf(e);
  if (e.state.state() != ExecutionState::kRunning || !gw) {
    spdlog::debug("Operator event for {} dropped: it is {}", executions_.TaskName(e),
                  graph::Name(e.state.state()));
    return;
  }
  gw->SendOperatorEvent(id_, e.attempt_id, vertex, subtask, std::move(event),
                        [task = executions_.TaskName(e)](absl::Status s) {
                          if (!s.ok()) spdlog::debug("Operator event for {} not delivered: {}", task, s.message());
                        });
}

// ---- failures, restarts, cancellation ------------------------------------------------------

void JobMaster::OnTaskManagerLost(const std::string& resource_id, const std::string& cause) {
  Post([this, resource_id, cause] {
    if (graph::IsTerminal(status_.state())) return;
    bool affected = false;
    executions_.ForEach([&](Execution& e) {
      if (e.taskmanager != resource_id || graph::IsTerminal(e.state.state())) return;
      affected = true;
      executions_.Transition(e, e.state.state() == ExecutionState::kCanceling ? ExecutionState::kCanceled
                                                                              : ExecutionState::kFailed,
                             cause);
    });
    slots_.erase(std::remove_if(slots_.begin(), slots_.end(),
                                [&](const Slot& s) { return s.resource_id == resource_id; }),
                 slots_.end());
    if (affected) {
      HandleFailure(cause, /*retryable=*/true, "", "");
      CheckJobProgress();
    }
  });
}

// A task failed, a TaskManager was lost, or checkpoints kept failing: restart from the latest
// checkpoint if the restart strategy allows, otherwise fail the job with the root cause.
void JobMaster::HandleFailure(const std::string& cause, bool retryable, const std::string& task_name,
                              const std::string& location) {
  exceptions_.push_back(ExceptionEntry{cause, NowMillis(), task_name, location});
  if (exceptions_.size() > 64) exceptions_.erase(exceptions_.begin());
  if (status_.state() != JobStatus::kRunning) return;  // already failing, restarting or done
  if (checkpoints_) checkpoints_->Stop();
  const checkpoint::RestartDecision d = scheduler_->OnFailure(MonotonicMillis(), retryable);
  running_since_ms_ = 0;
  if (!d.restart) {
    failure_cause_ = cause;
    spdlog::warn("Job {} ({}) will not restart: {}", graph_.name, id_.ToString(), d.reason);
    SetJobStatus(JobStatus::kFailing);
    executions_.ForEach([&](Execution& e) { CancelExecution(e); });
    CheckJobProgress();
    return;
  }
  spdlog::info("Job {} ({}) restarts in {} ms ({}): {}", graph_.name, id_.ToString(), d.delay_ms,
               d.reason, cause);
  down_since_ms_ = NowMillis();
  restart_delay_ms_ = d.delay_ms;
  SetJobStatus(JobStatus::kRestarting);
  executions_.ForEach([&](Execution& e) { CancelExecution(e); });
  CheckJobProgress();
}

// Redeploys every subtask as a new attempt, restoring from the latest completed checkpoint.
void JobMaster::Restart() {
  if (status_.state() != JobStatus::kRestarting) return;
  slot_provider_->ReleaseSlots(id_);
  slots_.clear();
  executions_.NewAttempts();
  if (checkpoints_) {
    const std::string latest = checkpoints_->LatestCompletedDir();
    if (!latest.empty()) restore_path_ = latest;
    checkpoints_->ResetForRestart();
  }
  num_restarts_++;
  SetJobStatus(JobStatus::kCreated);
  RequestSlots();
}

absl::Status JobMaster::Cancel() {
  return executor_.Call([this]() -> absl::Status {
    if (graph::IsTerminal(status_.state())) {
      return FailedPreconditionF("Job {} is already {}", id_.ToString(), graph::Name(status_.state()));
    }
    CancelJob();
    return absl::OkStatus();
  });
}

void JobMaster::CancelJob() {
  if (status_.state() == JobStatus::kCancelling || graph::IsTerminal(status_.state())) return;
  if (status_.state() == JobStatus::kInitializing) {  // nothing was scheduled yet
    SetJobStatus(JobStatus::kCanceled);
    return;
  }
  SetJobStatus(JobStatus::kCancelling);
  executions_.ForEach([&](Execution& e) { CancelExecution(e); });
  CheckJobProgress();
}

void JobMaster::CancelExecution(Execution& e) {
  const ExecutionState s = e.state.state();
  if (graph::IsTerminal(s) || s == ExecutionState::kCanceling) return;
  if (s == ExecutionState::kCreated || s == ExecutionState::kScheduled) {
    executions_.Transition(e, ExecutionState::kCanceled);
    return;
  }
  executions_.Transition(e, ExecutionState::kCanceling);
  TaskExecutorGatewayPtr gw = GatewayOf(e);
  if (!gw) {
    executions_.Transition(e, ExecutionState::kCanceled);
    return;
  }
  const ExecutionAttemptId attempt = e.attempt_id;
  gw->CancelTask(id_, attempt, [this, attempt](absl::Status st) {
    if (st.ok()) return;
    // The task is gone (finished meanwhile, or its TaskManager died): it is canceled.
    Post([this, attempt] {
      Execution* e = executions_.Find(attempt);
      if (!e || e->state.state() != ExecutionState::kCanceling) return;
      executions_.Transition(*e, ExecutionState::kCanceled);
      CheckJobProgress();
    });
  });
}

// Moves the job on once its executions allow it.
void JobMaster::CheckJobProgress() {
  if (!executions_.AllTerminal()) return;
  switch (status_.state()) {
    case JobStatus::kRunning:
      if (executions_.AllIn(ExecutionState::kFinished)) SetJobStatus(JobStatus::kFinished);
      break;
    case JobStatus::kFailing: SetJobStatus(JobStatus::kFailed); break;
    case JobStatus::kRestarting:
      if (restart_at_ms_ < 0) restart_at_ms_ = MonotonicMillis() + restart_delay_ms_;
      break;
    case JobStatus::kCancelling: SetJobStatus(JobStatus::kCanceled); break;
    default: break;
  }
}

void JobMaster::SetJobStatus(JobStatus to) {
  const JobStatus from = status_.state();
  if (auto s = status_.TransitionTo(to); !s.ok()) {
    spdlog::error("Job {} ({}): {}", graph_.name, id_.ToString(), s.message());
    return;
  }
  spdlog::info("Job {} ({}) switched from state {} to {}.{}", graph_.name, id_.ToString(),
               graph::Name(from), graph::Name(to),
               to == JobStatus::kFailed ? " Cause: " + failure_cause_ : "");
  if (to == JobStatus::kFailing || to == JobStatus::kCancelling || to == JobStatus::kRestarting) {
    terminating_since_ms_ = MonotonicMillis();
  }
  if (to == JobStatus::kRestarting) restart_at_ms_ = -1;
  if (graph::IsTerminal(to)) {
    ended_ = true;
    end_ms_ = NowMillis();
    if (checkpoints_) checkpoints_->OnJobTerminal(to);
    slot_provider_->ReleaseSlots(id_);
    slots_.clear();
    for (auto& closed : sources_.Close()) {
      closers_.emplace_back([c = std::move(closed)]() mutable { c.enumerator.reset(); });
    }
  }
}

void JobMaster::Tick() {
  if (ended_.load(std::memory_order_relaxed)) return;
  Post([this] {
    const int64_t now = MonotonicMillis();
    const JobStatus s = status_.state();
    // Tasks that never confirm cancellation must not keep a job from its terminal state.
    if ((s == JobStatus::kFailing || s == JobStatus::kCancelling || s == JobStatus::kRestarting) &&
        now - terminating_since_ms_ > options_.cancel_timeout_ms && !executions_.AllTerminal()) {
      executions_.ForEach([&](Execution& e) {
        if (graph::IsTerminal(e.state.state())) return;
        if (e.state.state() != ExecutionState::kCanceling) {
          executions_.Transition(e, ExecutionState::kCanceling);
        }
        executions_.Transition(e, ExecutionState::kCanceled);
      });
      CheckJobProgress();
    }
    if (s == JobStatus::kRestarting && restart_at_ms_ >= 0 && now >= restart_at_ms_) {
      restart_at_ms_ = -1;
      Restart();
      return;
    }
    if (s == JobStatus::kRunning && checkpoints_) checkpoints_->Tick(NowMillis());
  });
}

absl::StatusOr<std::string> JobMaster::TriggerSavepoint(const std::string& target_directory,
                                                        SavepointMode mode, bool native,
                                                        const std::string& default_directory) {
  return executor_.Call([&]() -> absl::StatusOr<std::string> {
    if (status_.state() != JobStatus::kRunning) {
      return FailedPreconditionF("job {} is {}: savepoints need a RUNNING job", id_.ToString(),
                                 graph::Name(status_.state()));
    }
    if (!checkpoints_) {
      return FailedPreconditionF(
          "job {} does not checkpoint: savepoints need checkpointing enabled "
          "(checkpointing.interval in the job spec)",
          id_.ToString());
    }
    const std::string target = target_directory.empty() ? default_directory : target_directory;
    if (target.empty()) {
      return InvalidArgumentF(
          "no savepoint directory: pass one (--dir, or target-directory in REST) or set "
          "state.savepoints.dir (--savepoint-dir) on the JobManager");
    }
    return checkpoints_->TriggerSavepoint(target, mode, native);
  });
}

absl::StatusOr<std::string> JobMaster::TriggerCheckpoint() {
  return executor_.Call([&]() -> absl::StatusOr<std::string> {
    if (status_.state() != JobStatus::kRunning) {
      return FailedPreconditionF("job {} is {}: checkpoints need a RUNNING job", id_.ToString(),
                                 graph::Name(status_.state()));
    }
    if (!checkpoints_) {
      return FailedPreconditionF(
          "job {} does not checkpoint (checkpointing.interval in the job spec)", id_.ToString());
    }
    return checkpoints_->TriggerCheckpoint();
  });
}

absl::StatusOr<SavepointProgress> JobMaster::GetSavepoint(const std::string& trigger_id) {
  return executor_.Call([&]() -> absl::StatusOr<SavepointProgress> {
    if (!checkpoints_) {
      return NotFoundF("no savepoint operation {} for job {}", trigger_id, id_.ToString());
    }
    return checkpoints_->GetSavepoint(trigger_id);
  });
}

}  // namespace sluice::jobmanager

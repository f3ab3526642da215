#include "jobmanager/checkpoint_dispatcher.h"

#include <filesystem>
#include <utility>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "runtime/base/clock.h"
#include "runtime/base/status.h"
#include "spdlog/spdlog.h"

namespace sluice::jobmanager {

std::string_view Name(SavepointState s) {
  switch (s) {
    case SavepointState::kInProgress: return "IN_PROGRESS";
    case SavepointState::kCompleted: return "COMPLETED";
    case SavepointState::kFailed: return "FAILED";
  }
  return "?";
}

std::string_view Name(SavepointPhase p) {
  switch (p) {
    case SavepointPhase::kWaiting: return "waiting";
    case SavepointPhase::kSnapshotting: return "snapshotting";
    case SavepointPhase::kCopying: return "copying";
    case SavepointPhase::kDone: return "";
  }
  return "";
}

absl::StatusOr<std::unique_ptr<CheckpointDispatcher>> CheckpointDispatcher::Create(
    const checkpoint::CheckpointConfig& config, std::string checkpoint_root, Host host) {
  std::vector<checkpoint::TaskKey> all, sources;
  for (const auto& v : host.graph->vertices) {
    for (int i = 0; i < v.parallelism; ++i) {
      all.push_back({v.index, i});
      if (v.is_source()) sources.push_back({v.index, i});
    }
  }
  ASSIGN_OR_RETURN(auto coordinator, checkpoint::CheckpointCoordinator::Create(config, all, sources));
  std::vector<std::string> vertex_ids;
  for (const auto& v : host.graph->vertices) vertex_ids.push_back(v.id);
  coordinator.set_vertex_ids(std::move(vertex_ids));
  return std::unique_ptr<CheckpointDispatcher>(
      new CheckpointDispatcher(std::move(coordinator), std::move(checkpoint_root), std::move(host)));
}

CheckpointDispatcher::CheckpointDispatcher(checkpoint::CheckpointCoordinator coordinator,
                                           std::string root, Host host)
    : coordinator_(std::move(coordinator)),
      root_(std::move(root)),
      host_(std::move(host)),
      io_(checkpoint::CheckpointStorage(root_, host_.job_id.ToString())),
      alive_(std::make_shared<bool>(true)) {}

CheckpointDispatcher::~CheckpointDispatcher() {
  *alive_ = false;
  io_.Shutdown();
}

void CheckpointDispatcher::Restored(int64_t checkpoint_id, int64_t timestamp_ms,
                                    const std::string& dir) {
  coordinator_.Restored(checkpoint_id, timestamp_ms, dir);
}

std::string CheckpointDispatcher::LatestCompletedDir() const {
  const int64_t id = coordinator_.last_completed_id();
  return id > 0 ? io_.storage().CheckpointDir(id) : "";
}

void CheckpointDispatcher::OnAllRunning(int64_t now_ms) {
  if (!coordinator_.running()) Execute(coordinator_.Start(now_ms));
}

void CheckpointDispatcher::Stop() {
  if (coordinator_.running()) Execute(coordinator_.Stop());
}

void CheckpointDispatcher::ResetForRestart() {
  final_checkpoint_id_ = 0;
  awaiting_final_checkpoint_ = false;
  draining_ = false;
  FailSavepoints("the job restarted");
}

void CheckpointDispatcher::OnJobTerminal(graph::JobStatus status) {
  Stop();
  // A stop-with-savepoint completes when its copy finishes; other savepoints end with the job.
  for (auto& op : savepoints_) {
    const bool stops = op.mode == SavepointMode::kStop || op.mode == SavepointMode::kStopAndDrain;
    if (op.state == SavepointState::kInProgress && !(stops && status == graph::JobStatus::kFinished)) {
      op.state = SavepointState::kFailed;
      op.failure = fmt::format("the job is {}", graph::Name(status));
    }
  }
  if (!DiscardsCheckpointsOnEnd(coordinator_.config().retention, status)) {
    io_.DeleteFiles(shared_state_.TakeAll());
    return;
  }
  // Everything under <root>/<job-id> is this job's: its retained checkpoints, their shared
  // files, and what failed checkpoints left behind (a straggling upload after the abort). An
  // in-place rescale's next JobMaster, which writes there too, starts only after this one's
  // I/O thread has run what is queued (JobMaster::Shutdown).
  spdlog::info("Job {} is {}: discarding its checkpoints (retained: {})", host_.job_id.ToString(),
               graph::Name(status), fmt::join(coordinator_.retained_ids(), ", "));
  io_.DeleteDirectory(io_.storage().JobDir());
}

bool DiscardsCheckpointsOnEnd(checkpoint::CheckpointRetention retention, graph::JobStatus status) {
  using checkpoint::CheckpointRetention;
  switch (status) {
    case graph::JobStatus::kFinished:
      return true;
    case graph::JobStatus::kCanceled:
      return retention != CheckpointRetention::kRetainOnCancellation;
    case graph::JobStatus::kFailed:
      return retention == CheckpointRetention::kNoExternalized;
    default:
      return false;  // not globally terminal (e.g. suspended): the job may resume from them
  }
}

void CheckpointDispatcher::OnAck(const Execution& e, checkpoint::Ack ack, int64_t checkpoint_id,
                                 int64_t now_ms) {
  ack.task = checkpoint::TaskKey{e.vertex, e.subtask};
  Execute(coordinator_.OnAck(checkpoint_id, std::move(ack), now_ms));
}

void CheckpointDispatcher::OnDecline(const Execution& e, int64_t checkpoint_id,
                                     const std::string& reason, int64_t now_ms) {
  Execute(coordinator_.OnDecline(checkpoint_id, checkpoint::TaskKey{e.vertex, e.subtask},
                                 fmt::format("{} declined: {}", host_.executions->TaskName(e), reason),
                                 now_ms));
}

void CheckpointDispatcher::Send(const std::vector<Execution*>& targets,
                                const CheckpointTrigger& trigger) {
  for (Execution* e : targets) {
    if (graph::IsTerminal(e->state.state())) continue;
    if (auto gw = host_.gateway(*e)) gw->TriggerCheckpoint(host_.job_id, e->attempt_id, trigger);
  }
}

void CheckpointDispatcher::Notify(int64_t id, bool complete) {
  for (Execution* e : host_.executions->Current()) {
    if (graph::IsTerminal(e->state.state())) continue;
    auto gw = host_.gateway(*e);
    if (!gw) continue;
    if (complete) gw->NotifyCheckpointComplete(host_.job_id, e->attempt_id, id);
    else gw->NotifyCheckpointAborted(host_.job_id, e->attempt_id, id);
  }
}

bool CheckpointDispatcher::SnapshotSourceCoordinators(int64_t id) {
  if (host_.sources->empty()) return true;
  auto states = host_.sources->Snapshot(id);
  if (!states.ok()) {
    Execute(coordinator_.OnDecline(id, checkpoint::TaskKey{0, 0},
                                   std::string(states.status().message()), NowMillis()));
    return false;
  }
  coordinator_snapshots_[id] = std::move(*states);
  while (coordinator_snapshots_.size() > 64) coordinator_snapshots_.erase(coordinator_snapshots_.begin());
  return true;
}

void CheckpointDispatcher::Execute(std::vector<checkpoint::Action> actions) {
  for (auto& action : actions) {
    if (auto* t = std::get_if<checkpoint::TriggerCheckpoint>(&action)) {
      // Sources inject barriers; tasks that consumed all input snapshot at once.
      std::vector<Execution*> targets;
      for (Execution* e : host_.executions->Current()) {
        if (IsSource(*e) || e->end_of_input) targets.push_back(e);
      }
      if (!SnapshotSourceCoordinators(t->id)) continue;
      Send(targets, CheckpointTrigger{t->id, t->timestamp_ms, TriggerKind::kCheckpoint, false, false});
    } else if (auto* c = std::get_if<checkpoint::CompleteCheckpoint>(&action)) {
      Persist(*c);
    } else if (auto* n = std::get_if<checkpoint::NotifyComplete>(&action)) {
      spdlog::info("Completed checkpoint {} for job {} ({}).", n->id, host_.graph->name,
                   host_.job_id.ToString());
      if (Savepoint* op = SavepointFor(n->id)) CompleteSavepoint(*op);
      Notify(n->id, /*complete=*/true);
      RegisterSharedState(n->id);
      if (!discard_after_completion_.empty()) {
        spdlog::info("Job {} completed checkpoint {}: deleting the savepoint it was rescaled from, {}",
                     host_.job_id.ToString(), n->id, discard_after_completion_);
        io_.DeleteDirectory(std::exchange(discard_after_completion_, std::string()));
      }
    } else if (auto* a = std::get_if<checkpoint::NotifyAborted>(&action)) {
      spdlog::info("Checkpoint {} of job {} aborted: {}", a->id, host_.job_id.ToString(), a->reason);
      coordinator_snapshots_.erase(a->id);
      Notify(a->id, /*complete=*/false);
      if (Savepoint* op = SavepointFor(a->id)) {
        op->state = SavepointState::kFailed;
        op->failure = a->reason;
        if (op->mode == SavepointMode::kStop && stop_savepoint_id_ == a->id) {
          // The sources already stopped: fail over to resume from the latest checkpoint.
          stop_savepoint_id_ = 0;
          host_.fail_job("stop with savepoint failed: " + a->reason, true);
        }
      }
    } else if (auto* d = std::get_if<checkpoint::DiscardCheckpoint>(&action)) {
      // Its shared files without other references are deleted after the next completed
      // checkpoint (SharedStateRegistry's grace period).
      shared_state_.Release(d->id);
      persisting_shared_files_.erase(d->id);
      io_.Discard(d->id);
    } else if (auto* f = std::get_if<checkpoint::FailJob>(&action)) {
      host_.fail_job(f->reason, /*retryable=*/true);
    }
  }
}

void CheckpointDispatcher::Persist(const checkpoint::CompleteCheckpoint& c) {
  checkpoint::CheckpointMetadata md;
  md.job_id = host_.job_id.ToString();
  md.checkpoint_id = c.id;
  md.timestamp_ms = c.timestamp_ms;
  md.max_parallelism = host_.graph->max_parallelism;
  for (const auto& v : host_.graph->vertices) md.vertices.emplace_back(v.id, v.parallelism);
  // The enumerators' states of this checkpoint (taken at its trigger); older ones are moot.
  if (auto it = coordinator_snapshots_.find(c.id); it != coordinator_snapshots_.end()) {
    md.coordinator_states = std::move(it->second);
  }
  coordinator_snapshots_.erase(coordinator_snapshots_.begin(), coordinator_snapshots_.upper_bound(c.id));
  for (const auto& ack : c.acks) {
    auto handle = checkpoint::DecodeSubtaskStateHandle(ack.handle);
    if (!handle.ok()) {
      Execute(coordinator_.OnCheckpointPersistFailed(c.id, std::string(handle.status().message()),
                                                     NowMillis()));
      return;
    }
    md.subtasks.push_back(std::move(*handle));
  }
  const checkpoint::CheckpointStorage& storage = io_.storage();
  // Incremental state: the shared files this checkpoint references in this job's shared/
  // directory. A reused file must still exist (see SharedStateRegistry).
  std::vector<std::string> shared, reused;
  const std::string own_shared =
      std::filesystem::path(storage.SharedDir()).lexically_normal().string() + "/";
  for (const auto& st : md.subtasks) {
    for (const auto& op : st.operators) {
      if (!op.incremental) continue;
      for (const auto& f : op.incremental->shared_files) {
        std::string path = checkpoint::ResolveStatePath(storage.CheckpointDir(c.id), f.path);
        if (path.compare(0, own_shared.size(), own_shared) != 0) continue;
        if (f.uploaded_by != c.id) reused.push_back(path);
        shared.push_back(std::move(path));
      }
    }
  }
  if (auto missing = shared_state_.Missing(reused); !missing.empty()) {
    Execute(coordinator_.OnCheckpointPersistFailed(
        c.id,
        fmt::format("it reuses shared state file {} of an earlier checkpoint that was already "
                    "deleted; the next checkpoint uploads it again",
                    missing.front()),
        NowMillis()));
    return;
  }
  persisting_shared_files_[c.id] = std::move(shared);
  const int64_t id = c.id;
  const std::string dir = storage.CheckpointDir(id);
  io_.WriteMetadata(std::move(md), [this, alive = alive_, id, dir, post = host_.post](absl::Status s) {
    post([this, alive, id, dir, s] {
      if (!*alive) return;
      Execute(s.ok() ? coordinator_.OnCheckpointPersisted(id, NowMillis(), dir)
                     : coordinator_.OnCheckpointPersistFailed(id, std::string(s.message()), NowMillis()));
    });
  });
}

// Checkpoint `id` completed: its shared files are referenced; files unreferenced since before
// the previous completion are deleted.
void CheckpointDispatcher::RegisterSharedState(int64_t id) {
  auto it = persisting_shared_files_.find(id);
  if (it != persisting_shared_files_.end()) {
    shared_state_.Register(id, it->second);
    persisting_shared_files_.erase(it);
  }
  io_.DeleteFiles(shared_state_.CollectGarbage());
}

// A task consumed all its input (Flink's FLIP-147). It stays alive: barriers can no longer
// reach it, so checkpoints are triggered at it directly (it snapshots at once), including the
// ones already pending. Once every task has drained, the final checkpoint is taken at all of
// them, and its completion lets them finish (two-phase-commit sinks commit the last data).
void CheckpointDispatcher::OnEndOfInput(Execution& e) {
  if (e.end_of_input) return;
  e.end_of_input = true;
  for (const auto& st : coordinator_.history()) {
    if (st.status != checkpoint::CheckpointStatus::kInProgress) continue;
    const Savepoint* sp = SavepointFor(st.id);
    CheckpointTrigger t{st.id, st.trigger_timestamp,
                        st.id == stop_savepoint_id_ ? TriggerKind::kFinal : TriggerKind::kCheckpoint,
                        sp != nullptr, sp != nullptr && sp->native};
    Send({&e}, t);
  }
  bool all = true;
  host_.executions->ForEach([&](Execution& x) { all &= x.end_of_input; });
  // After a stop with savepoint the savepoint is the final checkpoint.
  if (all && stop_savepoint_id_ == 0) {
    awaiting_final_checkpoint_ = true;
    MaybeTriggerFinalCheckpoint();
  }
}

void CheckpointDispatcher::Tick(int64_t now_ms) {
  if (!coordinator_.running()) return;
  MaybeTriggerSavepoint();
  if (awaiting_final_checkpoint_ || stop_savepoint_id_ != 0 || draining_) {
    // No new periodic checkpoints; pending ones still time out.
    if (coordinator_.num_pending() > 0) Execute(coordinator_.OnTick(now_ms));
    MaybeTriggerFinalCheckpoint();
    return;
  }
  Execute(coordinator_.OnTick(now_ms));
}

absl::StatusOr<std::string> CheckpointDispatcher::TriggerSavepoint(const std::string& target,
                                                                   SavepointMode mode,
                                                                   bool native) {
  for (const auto& op : savepoints_) {
    if (op.mode != SavepointMode::kKeepRunning && op.state == SavepointState::kInProgress) {
      return FailedPreconditionF("job {} is already ending with a savepoint (trigger {})",
                                 host_.job_id.ToString(), op.trigger_id);
    }
  }
  Savepoint op;
  op.trigger_id = Id128::Random().ToString();
  op.target_directory = target;
  op.mode = mode;
  op.native = native;
  op.requested_ms = MonotonicMillis();
  savepoints_.push_back(op);
  static constexpr std::string_view kWhat[] = {"Savepoint", "Savepoint and cancel",
                                               "Stop with savepoint", "Stop with drain"};
  spdlog::info("{} of job {} ({}) requested into {} (trigger {}).",
               kWhat[static_cast<int>(mode)], host_.graph->name, host_.job_id.ToString(), target,
               op.trigger_id);
  MaybeTriggerSavepoint();
  return op.trigger_id;
}

absl::StatusOr<std::string> CheckpointDispatcher::TriggerCheckpoint() {
  if (stop_savepoint_id_ != 0 || draining_ || awaiting_final_checkpoint_) {
    return FailedPreconditionF("job {} is stopping: no more checkpoints are taken",
                               host_.job_id.ToString());
  }
  Savepoint op;
  op.trigger_id = Id128::Random().ToString();
  op.checkpoint_only = true;
  op.requested_ms = MonotonicMillis();
  savepoints_.push_back(op);
  spdlog::info("Checkpoint of job {} ({}) requested (trigger {}).", host_.graph->name,
               host_.job_id.ToString(), op.trigger_id);
  MaybeTriggerSavepoint();
  return op.trigger_id;
}

absl::StatusOr<SavepointProgress> CheckpointDispatcher::GetSavepoint(const std::string& trigger_id) const {
  for (const auto& op : savepoints_) {
    if (op.trigger_id != trigger_id) continue;
    SavepointProgress p;
    p.state = op.state;
    p.location = op.location;
    p.failure = op.failure;
    p.checkpoint_id = op.checkpoint_id;
    p.elapsed_ms = MonotonicMillis() - op.requested_ms;
    p.phase = op.state != SavepointState::kInProgress ? SavepointPhase::kDone
              : op.checkpoint_id == 0                 ? SavepointPhase::kWaiting
                                                      : SavepointPhase::kCopying;
    if (op.state == SavepointState::kInProgress) {
      for (const auto& h : coordinator_.history()) {
        if (h.id != op.checkpoint_id) continue;
        p.acknowledged_subtasks = h.num_acknowledged_subtasks;
        p.total_subtasks = h.num_subtasks;
        p.state_size_bytes = h.state_size;
        if (h.status == checkpoint::CheckpointStatus::kInProgress) p.phase = SavepointPhase::kSnapshotting;
      }
    }
    return p;
  }
  return NotFoundF("no savepoint operation {} for job {}", trigger_id, host_.job_id.ToString());
}

// Triggers the oldest waiting savepoint once no checkpoint is pending (one at a time).
void CheckpointDispatcher::MaybeTriggerSavepoint() {
  for (auto& op : savepoints_) {
    if (op.state != SavepointState::kInProgress || op.checkpoint_id != 0) continue;
    if (!coordinator_.running() || coordinator_.num_pending() > 0 || awaiting_final_checkpoint_) {
      return;  // retried on the next tick
    }
    if (op.mode == SavepointMode::kStopAndDrain) {
      // The sources end their input; the final checkpoint becomes this savepoint.
      if (op.drain_sent) return;
      op.drain_sent = true;
      draining_ = true;
      std::vector<Execution*> sources;
      for (Execution* e : host_.executions->Current()) {
        if (IsSource(*e) && !e->end_of_input) sources.push_back(e);
      }
      Send(sources, {0, NowMillis(), TriggerKind::kDrain, false, false});
      return;
    }
    auto trigger = coordinator_.TriggerNow(NowMillis(), /*savepoint=*/!op.checkpoint_only);
    if (!trigger.ok()) return;
    op.checkpoint_id = trigger->id;
    const bool stop = op.mode == SavepointMode::kStop;
    if (stop) stop_savepoint_id_ = trigger->id;
    const bool savepoint = !op.checkpoint_only, native = op.native;
    if (!SnapshotSourceCoordinators(trigger->id)) return;
    std::vector<Execution*> sources, drained;
    for (Execution* e : host_.executions->Current()) {
      if (e->end_of_input) drained.push_back(e);
      else if (IsSource(*e)) sources.push_back(e);
    }
    Send(sources, {trigger->id, trigger->timestamp_ms,
                   stop ? TriggerKind::kStopWithSavepoint : TriggerKind::kCheckpoint, savepoint,
                   native});
    // Drained tasks snapshot at once; a stop savepoint is their final checkpoint.
    Send(drained, {trigger->id, trigger->timestamp_ms,
                   stop ? TriggerKind::kFinal : TriggerKind::kCheckpoint, savepoint, native});
    return;
  }
}

CheckpointDispatcher::Savepoint* CheckpointDispatcher::SavepointFor(int64_t checkpoint_id) {
  for (auto& op : savepoints_) {
    if (op.checkpoint_id == checkpoint_id && op.state == SavepointState::kInProgress) return &op;
  }
  return nullptr;
}

// A savepoint's checkpoint completed: copy it out of the checkpoint directory into a
// self-contained savepoint directory (never deleted by Sluice).
void CheckpointDispatcher::CompleteSavepoint(Savepoint& op) {
  if (op.checkpoint_only) {
    op.state = SavepointState::kCompleted;
    op.location = io_.storage().CheckpointDir(op.checkpoint_id);
    return;
  }
  const bool cancel = op.mode == SavepointMode::kCancel;
  const std::string to = fmt::format("{}/savepoint-{}-{}", op.target_directory,
                                     host_.job_id.ToString().substr(0, 6),
                                     Id128::Random().ToString().substr(0, 12));
  io_.CopyToSavepoint(op.checkpoint_id, to,
                      [this, alive = alive_, post = host_.post, trigger = op.trigger_id, to,
                       cancel](absl::Status s) {
                        post([this, alive, trigger, to, s, cancel] {
                          if (!*alive) return;
                          for (auto& op : savepoints_) {
                            if (op.trigger_id != trigger) continue;
                            op.state = s.ok() ? SavepointState::kCompleted : SavepointState::kFailed;
                            op.location = s.ok() ? to : "";
                            op.failure = s.ok() ? "" : std::string(s.message());
                            spdlog::info("Savepoint {} of job {}: {} {}", trigger,
                                         host_.job_id.ToString(), Name(op.state),
                                         s.ok() ? to : op.failure);
                          }
                          if (s.ok() && cancel && host_.cancel_job) host_.cancel_job();
                        });
                      });
}

void CheckpointDispatcher::FailSavepoints(const std::string& why) {
  for (auto& op : savepoints_) {
    if (op.state != SavepointState::kInProgress) continue;
    op.state = SavepointState::kFailed;
    op.failure = why;
  }
  stop_savepoint_id_ = 0;
}

void CheckpointDispatcher::MaybeTriggerFinalCheckpoint() {
  if (!awaiting_final_checkpoint_ || final_checkpoint_id_ != 0) return;
  if (!coordinator_.running() || coordinator_.num_pending() > 0) return;
  // After stop --drain the final checkpoint is the savepoint.
  Savepoint* drain = nullptr;
  for (auto& op : savepoints_) {
    if (op.state == SavepointState::kInProgress && op.drain_sent && op.checkpoint_id == 0) {
      drain = &op;
    }
  }
  auto trigger = coordinator_.TriggerNow(NowMillis(), /*savepoint=*/drain != nullptr);
  if (!trigger.ok()) {
    host_.fail_job(fmt::format("could not trigger the final checkpoint: {}", trigger.status().message()),
                   true);
    return;
  }
  final_checkpoint_id_ = trigger->id;
  if (drain != nullptr) drain->checkpoint_id = trigger->id;
  if (!SnapshotSourceCoordinators(trigger->id)) return;
  spdlog::info("All tasks of job {} ({}) reached end of input; final checkpoint {}{}.",
               host_.graph->name, host_.job_id.ToString(), trigger->id,
               drain != nullptr ? " (the savepoint of stop --drain)" : "");
  Send(host_.executions->Current(), {trigger->id, trigger->timestamp_ms, TriggerKind::kFinal,
                                     drain != nullptr, drain != nullptr && drain->native});
}

nlohmann::json CheckpointDispatcher::StatsJson(int64_t now_ms) const {
  return coordinator_.StatsJson(now_ms);
}

std::map<std::string, int64_t> CheckpointDispatcher::Metrics() const {
  return {{"lastCheckpointDuration", coordinator_.last_duration_ms()},
          {"lastCheckpointSize", coordinator_.last_size_bytes()},
          {"numberOfCompletedCheckpoints", coordinator_.num_completed()},
          {"numberOfFailedCheckpoints", coordinator_.num_failed()},
          {"numberOfInProgressCheckpoints", coordinator_.num_pending()},
          {"totalNumberOfCheckpoints", coordinator_.num_triggered()},
          {"lastCompletedCheckpointId", coordinator_.last_completed_id()}};
}

}  // namespace sluice::jobmanager

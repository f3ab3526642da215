#include "runtime/checkpoint/checkpoint_coordinator.h"

#include <algorithm>
#include <set>
#include <utility>

#include "fmt/format.h"
#include "runtime/base/check.h"
#include "runtime/base/status.h"

namespace sluice::checkpoint {

absl::Status CheckpointConfig::Validate() const {
  if (interval_ms < 0 || (interval_ms > 0 && interval_ms < 10)) {
    return InvalidArgumentF(
        "checkpoint interval (interval_ms) must be 0 (disabled) or at least 10 ms, got {}",
        interval_ms);
  }
  if (timeout_ms < 1) {
    return InvalidArgumentF("checkpoint timeout (timeout_ms) must be at least 1 ms, got {}",
                            timeout_ms);
  }
  if (min_pause_ms < 0) {
    return InvalidArgumentF("checkpoint min pause (min_pause_ms) must be >= 0 ms, got {}",
                            min_pause_ms);
  }
  if (max_concurrent < 1) {
    return InvalidArgumentF("max concurrent checkpoints (max_concurrent) must be >= 1, got {}",
                            max_concurrent);
  }
  if (tolerable_failed_checkpoints < 0) {
    return InvalidArgumentF(
        "tolerable failed checkpoints (tolerable_failed_checkpoints) must be >= 0, got {}",
        tolerable_failed_checkpoints);
  }
  if (retained < 1) {
    return InvalidArgumentF("retained checkpoints (retained) must be >= 1, got {}", retained);
  }
  return absl::OkStatus();
}

std::string_view Name(CheckpointStatus s) {
  switch (s) {
    case CheckpointStatus::kInProgress:
      return "IN_PROGRESS";
    case CheckpointStatus::kCompleted:
      return "COMPLETED";
    case CheckpointStatus::kFailed:
      return "FAILED";
  }
  return "UNKNOWN";
}

namespace {

absl::Status ValidateTasks(const std::vector<TaskKey>& all_tasks,
                           const std::vector<TaskKey>& source_tasks, int64_t first_id) {
  if (all_tasks.empty()) return InvalidArgumentF("checkpoint coordinator needs at least one task");
  if (source_tasks.empty()) {
    return InvalidArgumentF("checkpoint coordinator needs at least one source task");
  }
  std::set<TaskKey> all(all_tasks.begin(), all_tasks.end());
  if (all.size() != all_tasks.size()) {
    return InvalidArgumentF("checkpoint coordinator: duplicate task in all_tasks");
  }
  for (const TaskKey& t : source_tasks) {
    if (!all.contains(t)) {
      return InvalidArgumentF("source task ({}, {}) is not one of the job's tasks", t.vertex,
                              t.subtask);
    }
  }
  if (first_id < 1) return InvalidArgumentF("first checkpoint id must be >= 1, got {}", first_id);
  return absl::OkStatus();
}

}  // namespace

CheckpointCoordinator::CheckpointCoordinator(CheckpointConfig config,
                                             std::vector<TaskKey> all_tasks,
                                             std::vector<TaskKey> source_tasks,
                                             int64_t first_checkpoint_id)
    : config_(config),
      all_tasks_(std::move(all_tasks)),
      source_tasks_(std::move(source_tasks)),
      next_id_(first_checkpoint_id) {
  absl::Status s = config_.Validate();
  SLUICE_CHECK(s.ok(), "invalid CheckpointConfig: {}", s.message());
  s = ValidateTasks(all_tasks_, source_tasks_, first_checkpoint_id);
  SLUICE_CHECK(s.ok(), "invalid CheckpointCoordinator tasks: {}", s.message());
  std::sort(all_tasks_.begin(), all_tasks_.end());
}

absl::StatusOr<CheckpointCoordinator> CheckpointCoordinator::Create(
    CheckpointConfig config, std::vector<TaskKey> all_tasks, std::vector<TaskKey> source_tasks,
    int64_t first_checkpoint_id) {
  RETURN_IF_ERROR(config.Validate());
  RETURN_IF_ERROR(ValidateTasks(all_tasks, source_tasks, first_checkpoint_id));
  return CheckpointCoordinator(config, std::move(all_tasks), std::move(source_tasks),
                               first_checkpoint_id);
}

std::vector<Action> CheckpointCoordinator::Start(int64_t now_ms) {
  running_ = true;
  // The first periodic checkpoint comes one interval after the tasks run (Flink picks a random
  // initial delay in [min pause, interval]; a fixed one keeps the decisions deterministic).
  last_trigger_ms_ = now_ms;
  return {};
}

std::vector<Action> CheckpointCoordinator::Stop() {
  running_ = false;
  std::vector<Action> out;
  std::vector<int64_t> ids;
  for (const auto& [id, p] : pending_) ids.push_back(id);
  for (int64_t id : ids) {
    const int64_t at =
        std::max(pending_[id].stats.trigger_timestamp, pending_[id].stats.latest_ack_timestamp);
    Abort(id, fmt::format("Checkpoint {} aborted: the checkpoint coordinator is suspending", id),
          at, /*counts_as_failure=*/false, out);
  }
  return out;
}

TriggerCheckpoint CheckpointCoordinator::Trigger(int64_t now_ms, bool savepoint) {
  const int64_t id = next_id_++;
  last_trigger_ms_ = now_ms;
  ++num_triggered_;
  Pending& p = pending_[id];
  p.stats.id = id;
  p.stats.status = CheckpointStatus::kInProgress;
  p.stats.trigger_timestamp = now_ms;
  p.stats.num_subtasks = static_cast<int>(all_tasks_.size());
  p.stats.savepoint = savepoint;
  for (const TaskKey& t : all_tasks_) ++p.stats.vertices[t.vertex].num_subtasks;
  history_.push_front(p.stats);
  if (history_.size() > kHistorySize) history_.pop_back();
  return TriggerCheckpoint{id, now_ms};
}

std::vector<Action> CheckpointCoordinator::OnTick(int64_t now_ms) {
  std::vector<Action> out;
  if (!running_) return out;
  std::vector<int64_t> expired;
  for (const auto& [id, p] : pending_) {
    // A checkpoint whose `_metadata` is being written is the caller's until it answers.
    if (!p.persisting && now_ms - p.stats.trigger_timestamp >= config_.timeout_ms) {
      expired.push_back(id);
    }
  }
  for (int64_t id : expired) {
    Abort(id,
          fmt::format("Checkpoint {} expired before completing (timeout {} ms)", id,
                      config_.timeout_ms),
          now_ms, /*counts_as_failure=*/true, out);
  }
  if (config_.interval_ms > 0 && static_cast<int>(pending_.size()) < config_.max_concurrent &&
      now_ms >= last_trigger_ms_ + config_.interval_ms &&
      (!last_completion_ms_ || now_ms >= *last_completion_ms_ + config_.min_pause_ms)) {
    out.push_back(Trigger(now_ms, /*savepoint=*/false));
  }
  return out;
}

absl::StatusOr<TriggerCheckpoint> CheckpointCoordinator::TriggerNow(int64_t now_ms,
                                                                   bool savepoint) {
  if (!running_) {
    return FailedPreconditionF(
        "cannot trigger a checkpoint: the checkpoint coordinator is stopped");
  }
  if (!pending_.empty()) {
    return FailedPreconditionF("cannot trigger a checkpoint: checkpoint {} is still in progress",
                               pending_.begin()->first);
  }
  return Trigger(now_ms, savepoint);
}

std::vector<Action> CheckpointCoordinator::OnAck(int64_t id, Ack ack, int64_t now_ms) {
  std::vector<Action> out;
  auto it = pending_.find(id);
  if (it == pending_.end() || it->second.persisting ||
      !std::binary_search(all_tasks_.begin(), all_tasks_.end(), ack.task) ||
      it->second.acks.contains(ack.task)) {
    ++num_late_;
    return out;
  }
  Pending& p = it->second;
  CheckpointStats& s = p.stats;
  s.latest_ack_timestamp = now_ms;
  s.end_to_end_duration = now_ms - s.trigger_timestamp;
  s.state_size += ack.state_size_bytes;
  s.checkpointed_size +=
      ack.checkpointed_size_bytes < 0 ? ack.state_size_bytes : ack.checkpointed_size_bytes;
  s.alignment_duration = std::max(s.alignment_duration, ack.alignment_ms);
  s.sync_duration = std::max(s.sync_duration, ack.sync_ms);
  s.async_duration = std::max(s.async_duration, ack.async_ms);
  ++s.num_acknowledged_subtasks;
  VertexCheckpointStats& v = s.vertices[ack.task.vertex];
  v.latest_ack_timestamp = now_ms;
  v.state_size += ack.state_size_bytes;
  v.checkpointed_size +=
      ack.checkpointed_size_bytes < 0 ? ack.state_size_bytes : ack.checkpointed_size_bytes;
  ++v.num_acknowledged_subtasks;
  const TaskKey task = ack.task;
  p.acks.emplace(task, std::move(ack));
  UpdateHistory(s);
  if (p.acks.size() == all_tasks_.size()) {
    p.persisting = true;
    CompleteCheckpoint c{id, s.trigger_timestamp, {}};
    c.acks.reserve(p.acks.size());
    for (const auto& [k, a] : p.acks) c.acks.push_back(a);
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<Action> CheckpointCoordinator::OnDecline(int64_t id, TaskKey task,
                                                     const std::string& reason, int64_t now_ms) {
  std::vector<Action> out;
  auto it = pending_.find(id);
  if (it == pending_.end() || it->second.persisting) {
    ++num_late_;
    return out;
  }
  Abort(id,
        fmt::format("Checkpoint {} declined by task (vertex {}, subtask {}): {}", id, task.vertex,
                    task.subtask, reason),
        now_ms, /*counts_as_failure=*/true, out);
  return out;
}

std::vector<Action> CheckpointCoordinator::OnCheckpointPersisted(int64_t id, int64_t now_ms,
                                                                 std::string external_path) {
  std::vector<Action> out;
  auto it = pending_.find(id);
  if (it == pending_.end() || !it->second.persisting) {
    ++num_late_;
    return out;
  }
  if (last_completed_ && id < last_completed_->id) {
    // Only possible with max_concurrent > 1: a newer checkpoint completed first.
    Abort(id,
          fmt::format("Checkpoint {} subsumed by completed checkpoint {}", id, last_completed_->id),
          now_ms, /*counts_as_failure=*/false, out);
    return out;
  }
  CheckpointStats s = std::move(it->second.stats);
  pending_.erase(it);
  s.status = CheckpointStatus::kCompleted;
  s.external_path = std::move(external_path);
  ++num_completed_;
  consecutive_failures_ = 0;
  last_completion_ms_ = now_ms;
  duration_summary_.Add(s.end_to_end_duration);
  size_summary_.Add(s.state_size);
  checkpointed_size_summary_.Add(s.checkpointed_size);
  UpdateHistory(s);
  last_completed_ = s;
  out.push_back(NotifyComplete{id});

  // Subsumption: older pending checkpoints can never be used now (Flink aborts them with
  // CHECKPOINT_SUBSUMED, which does not count against tolerable failures).
  std::vector<int64_t> older;
  for (const auto& [pid, p] : pending_) {
    if (pid < id && !p.persisting) older.push_back(pid);
  }
  for (int64_t pid : older) {
    Abort(pid, fmt::format("Checkpoint {} subsumed by completed checkpoint {}", pid, id), now_ms,
          /*counts_as_failure=*/false, out);
  }

  retained_.push_back(id);
  while (static_cast<int>(retained_.size()) > config_.retained) {
    const int64_t old = retained_.front();
    retained_.pop_front();
    out.push_back(DiscardCheckpoint{old});
    for (CheckpointStats& h : history_) {
      if (h.id == old) h.discarded = true;
    }
  }
  return out;
}

std::vector<Action> CheckpointCoordinator::OnCheckpointPersistFailed(int64_t id,
                                                                     const std::string& reason,
                                                                     int64_t now_ms) {
  std::vector<Action> out;
  auto it = pending_.find(id);
  if (it == pending_.end() || !it->second.persisting) {
    ++num_late_;
    return out;
  }
  Abort(id, fmt::format("Checkpoint {} could not be persisted: {}", id, reason), now_ms,
        /*counts_as_failure=*/true, out);
  return out;
}

void CheckpointCoordinator::Restored(int64_t checkpoint_id, int64_t timestamp_ms,
                                     std::string external_path) {
  next_id_ = std::max(next_id_, checkpoint_id + 1);
  ++num_restored_;
  restored_ = Restore{checkpoint_id, timestamp_ms, std::move(external_path)};
}

void CheckpointCoordinator::Abort(int64_t id, const std::string& reason, int64_t now_ms,
                                  bool counts_as_failure, std::vector<Action>& out) {
  auto it = pending_.find(id);
  SLUICE_CHECK(it != pending_.end(), "aborting checkpoint {} which is not pending", id);
  CheckpointStats s = std::move(it->second.stats);
  pending_.erase(it);
  s.status = CheckpointStatus::kFailed;
  s.failure_timestamp = now_ms;
  s.failure_message = reason;
  ++num_failed_;
  UpdateHistory(s);
  last_failed_ = std::move(s);
  out.push_back(NotifyAborted{id, reason});
  out.push_back(DiscardCheckpoint{id});
  if (!counts_as_failure) return;
  // Flink's CheckpointFailureManager: fail the job when the consecutive failures exceed the
  // tolerable number; counting restarts afterwards (the job restarts or ends).
  if (consecutive_failures_ < CheckpointConfig::kUnlimitedFailures) ++consecutive_failures_;
  if (consecutive_failures_ > config_.tolerable_failed_checkpoints) {
    out.push_back(FailJob{
        fmt::format("Exceeded checkpoint tolerable failure threshold ({} tolerable, {} consecutive "
                    "failures); last: {}",
                    config_.tolerable_failed_checkpoints, consecutive_failures_, reason)});
    consecutive_failures_ = 0;
  }
}

void CheckpointCoordinator::UpdateHistory(const CheckpointStats& s) {
  for (CheckpointStats& h : history_) {
    if (h.id == s.id) {
      h = s;
      return;
    }
  }
}

namespace {

nlohmann::json StatsEntryJson(const CheckpointStats& s, int64_t now_ms,
                              const std::vector<std::string>& vertex_ids) {
  const char* class_name = s.status == CheckpointStatus::kCompleted ? "completed"
                           : s.status == CheckpointStatus::kFailed  ? "failed"
                                                                    : "in_progress";
  const int64_t duration = s.status == CheckpointStatus::kInProgress
                               ? std::max<int64_t>(0, now_ms - s.trigger_timestamp)
                               : s.end_to_end_duration;
  // Flink's TaskCheckpointStatistics per job vertex.
  nlohmann::json tasks = nlohmann::json::object();
  for (const auto& [index, v] : s.vertices) {
    if (index < 0 || static_cast<size_t>(index) >= vertex_ids.size()) continue;
    const bool done = v.num_acknowledged_subtasks == v.num_subtasks;
    tasks[vertex_ids[index]] = {
        {"id", s.id},
        {"status", done ? std::string(Name(CheckpointStatus::kCompleted))
                        : std::string(Name(s.status))},
        {"latest_ack_timestamp", v.latest_ack_timestamp},
        {"checkpointed_size", v.checkpointed_size},
        {"state_size", v.state_size},
        {"end_to_end_duration",
         v.latest_ack_timestamp < 0 ? -1 : v.latest_ack_timestamp - s.trigger_timestamp},
        {"alignment_buffered", 0},
        {"processed_data", 0},
        {"persisted_data", 0},
        {"num_subtasks", v.num_subtasks},
        {"num_acknowledged_subtasks", v.num_acknowledged_subtasks}};
  }
  nlohmann::json j = {
      {"className", class_name},
      {"id", s.id},
      {"status", std::string(Name(s.status))},
      {"is_savepoint", s.savepoint},
      {"savepointFormat", nullptr},
      {"trigger_timestamp", s.trigger_timestamp},
      {"latest_ack_timestamp", s.latest_ack_timestamp},
      {"state_size", s.state_size},
      {"checkpointed_size", s.checkpointed_size},  // incremental: less than state_size
      {"end_to_end_duration", duration},
      {"alignment_buffered", 0},
      {"processed_data", 0},
      {"persisted_data", 0},
      {"num_subtasks", s.num_subtasks},
      {"num_acknowledged_subtasks", s.num_acknowledged_subtasks},
      {"checkpoint_type", s.savepoint ? "SAVEPOINT" : "CHECKPOINT"},
      {"tasks", std::move(tasks)},
      // Sluice additions (Flink shows these per task only): max over the acks.
      {"alignment_duration", s.alignment_duration},
      {"sync_duration", s.sync_duration},
      {"async_duration", s.async_duration},
  };
  if (s.status == CheckpointStatus::kCompleted) {
    j["external_path"] = s.external_path;
    j["discarded"] = s.discarded;
  } else if (s.status == CheckpointStatus::kFailed) {
    j["failure_timestamp"] = s.failure_timestamp;
    j["failure_message"] = s.failure_message;
  }
  return j;
}

}  // namespace

nlohmann::json CheckpointCoordinator::StatsJson(int64_t now_ms) const {
  nlohmann::json history = nlohmann::json::array();
  for (const CheckpointStats& s : history_) history.push_back(StatsEntryJson(s, now_ms, vertex_ids_));
  nlohmann::json restored = nullptr;
  if (restored_) {
    restored = {{"id", restored_->id},
                {"restore_timestamp", restored_->timestamp},
                {"is_savepoint", false},
                {"external_path", restored_->external_path}};
  }
  const nlohmann::json zero = StatsSummary{}.Json();
  return {
      {"counts",
       {{"restored", num_restored_},
        {"total", num_triggered_},
        {"in_progress", static_cast<int64_t>(pending_.size())},
        {"completed", num_completed_},
        {"failed", num_failed_}}},
      {"summary",
       {{"state_size", size_summary_.Json()},
        {"checkpointed_size", checkpointed_size_summary_.Json()},
        {"end_to_end_duration", duration_summary_.Json()},
        {"alignment_buffered", zero},
        {"processed_data", zero},
        {"persisted_data", zero}}},
      {"latest",
       {{"completed", last_completed_ ? StatsEntryJson(*last_completed_, now_ms, vertex_ids_) : nullptr},
        {"savepoint", nullptr},
        {"failed", last_failed_ ? StatsEntryJson(*last_failed_, now_ms, vertex_ids_) : nullptr},
        {"restored", restored}}},
      {"history", history},
  };
}

}  // namespace sluice::checkpoint

#pragma once
// CheckpointCoordinator: the decision logic of Flink's CheckpointCoordinator (flink-runtime
// .../checkpoint/CheckpointCoordinator.java, CheckpointFailureManager.java,
// CheckpointRequestDecider.java), written as pure logic in the manner of Arroyo's
// `crates/arroyo-state-protocol`: facts go in (ticks, acks, declines, persistence results), and
// every input returns the decisions (Actions) the caller must carry out. It does no I/O, owns no
// threads and reads no clock: time is passed in as `now_ms` (milliseconds, any monotonic or
// epoch base, as long as the caller is consistent; the stats JSON shows these values as Flink's
// timestamps, so epoch milliseconds are the natural choice).
//
// Lifecycle: one per job, owned by the JobMaster. Constructed idle; Start() when all tasks are
// RUNNING; Stop() when the job fails, restarts, is cancelled or finishes (pending checkpoints are
// aborted); Start() again after a restart, preceded by Restored(id) when the tasks were restored
// from checkpoint `id`. Checkpoint ids only ever increase over the coordinator's life.
//
// Protocol (ARCHITECTURE.md, "Checkpoints"):
//   OnTick / TriggerNow  -> TriggerCheckpoint{id}: inject barrier `id` at every source task.
//   OnAck from each task -> CompleteCheckpoint{id, acks} once all tasks acked: the caller writes
//                           `_metadata` and answers OnCheckpointPersisted(id) or
//                           OnCheckpointPersistFailed(id). It MUST answer one of them, because a
//                           checkpoint awaiting persistence is not timed out (its files may be
//                           being written).
//   OnCheckpointPersisted -> NotifyComplete{id} (2PC sinks commit), subsumption of older pending
//                           checkpoints, DiscardCheckpoint for completed ones beyond `retained`.
//   Failures (decline, timeout, persist failure) -> NotifyAborted + DiscardCheckpoint, and
//                           FailJob once more than `tolerable_failed_checkpoints` happened in a
//                           row (a completed checkpoint resets the count). Subsumption and Stop()
//                           aborts are not counted as failures (as in Flink).
//
// DiscardCheckpoint for an id whose `_metadata` write is in flight (Stop() during persistence)
// must run after that write ends; run both on the same serial executor.
//
// Thread safety: none; call from the JobMaster's executor thread only.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "runtime/checkpoint/stats_summary.h"

namespace sluice::checkpoint {

// What happens to a job's retained checkpoints when it ends (Flink's
// execution.checkpointing.externalized-checkpoint-retention). A FINISHED job's checkpoints are
// always discarded (its output is complete; a savepoint is how to keep a restorable state), and
// a JobManager shutdown (the job suspended) keeps them all.
enum class CheckpointRetention {
  kRetainOnCancellation,  // RETAIN_ON_CANCELLATION (default): kept when CANCELED or FAILED
  kDeleteOnCancellation,  // DELETE_ON_CANCELLATION: discarded when CANCELED, kept when FAILED
  kNoExternalized,        // NO_EXTERNALIZED_CHECKPOINTS: discarded whenever the job ends
};

// Checkpointing options (Flink's execution.checkpointing.*). All durations in milliseconds.
struct CheckpointConfig {
  // tolerable_failed_checkpoints's default: failed checkpoints never fail the job over.
  static constexpr int kUnlimitedFailures = 2147483647;

  int64_t interval_ms = 0;               // 0 = periodic checkpointing disabled; otherwise >= 10
  int64_t timeout_ms = 600000;           // a pending checkpoint older than this fails (>= 1)
  int64_t min_pause_ms = 0;              // from the last completion to the next trigger (>= 0)
  int max_concurrent = 1;                // pending checkpoints at once (>= 1)
  // Consecutive failed checkpoints (timeouts, declines, failed metadata writes) tolerated before
  // FailJob (>= 0). Flink's default is 0; Sluice's is unlimited, because a failover cannot fix
  // checkpoint storage and a restart loop loses all progress (docs/design-decisions.md).
  int tolerable_failed_checkpoints = kUnlimitedFailures;
  int retained = 1;  // completed checkpoints kept on storage (>= 1)
  CheckpointRetention retention = CheckpointRetention::kRetainOnCancellation;

  // InvalidArgument naming the first bad field and its value.
  absl::Status Validate() const;
};

// One subtask of the job: vertex index and subtask index.
struct TaskKey {
  int vertex = 0;
  int subtask = 0;
  friend bool operator==(const TaskKey&, const TaskKey&) = default;
  friend auto operator<=>(const TaskKey&, const TaskKey&) = default;
};

// A task's acknowledgement of a checkpoint.
struct Ack {
  TaskKey task;
  int64_t state_size_bytes = 0;
  // Bytes this checkpoint uploaded (incremental checkpoints: new files only); -1 = all of
  // state_size_bytes (full snapshots).
  int64_t checkpointed_size_bytes = -1;
  int64_t alignment_ms = 0;  // time between the first and the last barrier of an aligned input
  int64_t sync_ms = 0;       // synchronous part of the snapshot
  int64_t async_ms = 0;      // asynchronous upload
  std::string handle;        // opaque: the caller's serialized state handle
  friend bool operator==(const Ack&, const Ack&) = default;
};

// ---- Actions (decisions the caller carries out, in the order returned) ----

// Trigger barrier `id` at every source task.
struct TriggerCheckpoint {
  int64_t id = 0;
  int64_t timestamp_ms = 0;  // trigger time
  friend bool operator==(const TriggerCheckpoint&, const TriggerCheckpoint&) = default;
};
// All tasks acked: write `_metadata`, then call OnCheckpointPersisted / OnCheckpointPersistFailed.
struct CompleteCheckpoint {
  int64_t id = 0;
  int64_t timestamp_ms = 0;  // trigger time
  std::vector<Ack> acks;     // one per task, ordered by TaskKey
  friend bool operator==(const CompleteCheckpoint&, const CompleteCheckpoint&) = default;
};
// Checkpoint `id` is COMPLETED: notify all tasks (two-phase-commit sinks commit).
struct NotifyComplete {
  int64_t id = 0;
  friend bool operator==(const NotifyComplete&, const NotifyComplete&) = default;
};
// Checkpoint `id` failed or was subsumed: notify all tasks (sinks drop its pending data).
struct NotifyAborted {
  int64_t id = 0;
  std::string reason;
  friend bool operator==(const NotifyAborted&, const NotifyAborted&) = default;
};
// Delete checkpoint `id`'s files (an aborted one, or a completed one beyond `retained`).
struct DiscardCheckpoint {
  int64_t id = 0;
  friend bool operator==(const DiscardCheckpoint&, const DiscardCheckpoint&) = default;
};
// Too many consecutive checkpoint failures: fail the job (its restart strategy decides next).
struct FailJob {
  std::string reason;
  friend bool operator==(const FailJob&, const FailJob&) = default;
};

using Action = std::variant<TriggerCheckpoint, CompleteCheckpoint, NotifyComplete, NotifyAborted,
                            DiscardCheckpoint, FailJob>;

// Flink's CheckpointStatsStatus.
enum class CheckpointStatus { kInProgress, kCompleted, kFailed };
std::string_view Name(CheckpointStatus s);  // "IN_PROGRESS", "COMPLETED", "FAILED"

// Statistics of one checkpoint (Flink's AbstractCheckpointStats). Durations in ms, sizes in
// bytes; -1 where Flink reports "n/a".
// One job vertex's part of a checkpoint (Flink's TaskCheckpointStatistics).
struct VertexCheckpointStats {
  int64_t latest_ack_timestamp = -1;
  int64_t state_size = 0;
  int64_t checkpointed_size = 0;
  int num_subtasks = 0;
  int num_acknowledged_subtasks = 0;
};

struct CheckpointStats {
  int64_t id = 0;
  CheckpointStatus status = CheckpointStatus::kInProgress;
  int64_t trigger_timestamp = 0;
  int64_t latest_ack_timestamp = -1;
  int64_t end_to_end_duration = -1;  // latest ack - trigger (completed/failed)
  int64_t state_size = 0;            // sum over acks
  int64_t checkpointed_size = 0;     // sum over acks: bytes uploaded by this checkpoint
  int64_t alignment_duration = 0;    // max over acks
  int64_t sync_duration = 0;         // max over acks
  int64_t async_duration = 0;        // max over acks
  int num_subtasks = 0;
  int num_acknowledged_subtasks = 0;
  int64_t failure_timestamp = -1;
  std::string failure_message;
  std::string external_path;  // completed: where `_metadata` lives (as given by the caller)
  bool discarded = false;     // completed: deleted since (beyond `retained`)
  bool savepoint = false;     // taken for a savepoint (TriggerNow(now, true))
  std::map<int, VertexCheckpointStats> vertices;  // by vertex index
};

class CheckpointCoordinator {
 public:
  static constexpr size_t kHistorySize = 10;  // Flink's web.checkpoints.history default

  // `config` must be valid (Validate()); `all_tasks` non-empty, `source_tasks` a non-empty
  // subset of it, no duplicates; `first_checkpoint_id` >= 1. Violations are bugs
  // (SLUICE_CHECK); use Create() for inputs that come from users.
  CheckpointCoordinator(CheckpointConfig config, std::vector<TaskKey> all_tasks,
                        std::vector<TaskKey> source_tasks, int64_t first_checkpoint_id = 1);
  // As the constructor, with InvalidArgument instead of a crash.
  static absl::StatusOr<CheckpointCoordinator> Create(CheckpointConfig config,
                                                      std::vector<TaskKey> all_tasks,
                                                      std::vector<TaskKey> source_tasks,
                                                      int64_t first_checkpoint_id = 1);

  // Begins periodic triggering; the first periodic checkpoint comes `interval_ms` after now_ms.
  std::vector<Action> Start(int64_t now_ms);
  // Ends triggering and aborts every pending checkpoint (NotifyAborted + DiscardCheckpoint each,
  // not counted as failures). Late messages for them are ignored. Stop takes no time, so their
  // stats' failure_timestamp is their last activity (latest ack or trigger).
  std::vector<Action> Stop();

  // Times out old pending checkpoints, then triggers one if periodic checkpointing is enabled,
  // the coordinator is running, fewer than max_concurrent are pending, now >= last trigger +
  // interval and now >= last completion + min_pause.
  std::vector<Action> OnTick(int64_t now_ms);
  // Triggers a checkpoint now, regardless of the interval (final checkpoints, savepoints).
  // FailedPrecondition if the coordinator is stopped or a checkpoint is pending. `savepoint`
  // only marks it so in the statistics.
  absl::StatusOr<TriggerCheckpoint> TriggerNow(int64_t now_ms, bool savepoint = false);
  // Job vertex ids by vertex index, for the per-vertex "tasks" of the statistics.
  void set_vertex_ids(std::vector<std::string> ids) { vertex_ids_ = std::move(ids); }

  // A task acknowledged checkpoint `id`. Acks for unknown/finished ids, from unknown tasks, or
  // duplicates are ignored (counted in num_late_messages()).
  std::vector<Action> OnAck(int64_t id, Ack ack, int64_t now_ms);
  // A task declined checkpoint `id`: the checkpoint fails.
  std::vector<Action> OnDecline(int64_t id, TaskKey task, const std::string& reason,
                                int64_t now_ms);
  // The caller wrote checkpoint `id`'s `_metadata` (at `external_path`): it is COMPLETED.
  std::vector<Action> OnCheckpointPersisted(int64_t id, int64_t now_ms,
                                            std::string external_path = "");
  // Writing `_metadata` failed: the checkpoint fails.
  std::vector<Action> OnCheckpointPersistFailed(int64_t id, const std::string& reason,
                                                int64_t now_ms);

  // The job's tasks were restored from checkpoint `checkpoint_id` at `timestamp_ms`: later ids
  // continue after it (ids never go backwards), and stats record it as "latest restored".
  // A checkpoint this coordinator did not complete (e.g. from --from-checkpoint) is never added
  // to retained_ids(), so it is never discarded (Flink's NO_CLAIM restore mode).
  void Restored(int64_t checkpoint_id, int64_t timestamp_ms, std::string external_path = "");

  // Flink's GET /jobs/:jobid/checkpoints body (CheckpointingStatistics) plus Sluice's
  // alignment/sync/async durations per history entry. `now_ms` gives in-progress durations.
  nlohmann::json StatsJson(int64_t now_ms) const;

  const CheckpointConfig& config() const { return config_; }
  bool running() const { return running_; }
  int64_t next_checkpoint_id() const { return next_id_; }
  int num_pending() const { return static_cast<int>(pending_.size()); }
  // Latest checkpoint completed by this coordinator; 0 if none.
  int64_t last_completed_id() const { return last_completed_ ? last_completed_->id : 0; }
  // Latest checkpoint the job was restored from; 0 if none.
  int64_t last_restored_id() const { return restored_ ? restored_->id : 0; }
  // Ids of completed checkpoints still on storage, oldest first (at most `retained`).
  const std::deque<int64_t>& retained_ids() const { return retained_; }
  int64_t num_completed() const { return num_completed_; }
  int64_t num_failed() const { return num_failed_; }
  int64_t num_triggered() const { return num_triggered_; }
  int64_t num_restored() const { return num_restored_; }
  int64_t num_late_messages() const { return num_late_; }
  int consecutive_failures() const { return consecutive_failures_; }
  // Of the latest completed checkpoint; 0 if none.
  int64_t last_duration_ms() const {
    return last_completed_ ? last_completed_->end_to_end_duration : 0;
  }
  int64_t last_size_bytes() const { return last_completed_ ? last_completed_->state_size : 0; }
  const std::deque<CheckpointStats>& history() const { return history_; }

 private:
  struct Pending {
    std::map<TaskKey, Ack> acks;
    bool persisting = false;  // all acked, CompleteCheckpoint emitted, awaiting the caller
    CheckpointStats stats;
  };
  struct Restore {
    int64_t id = 0;
    int64_t timestamp = 0;
    std::string external_path;
  };

  TriggerCheckpoint Trigger(int64_t now_ms, bool savepoint);
  // Removes pending `id` as FAILED; appends NotifyAborted + DiscardCheckpoint; counts a failure
  // (and maybe appends FailJob) when `counts_as_failure`.
  void Abort(int64_t id, const std::string& reason, int64_t now_ms, bool counts_as_failure,
             std::vector<Action>& out);
  void UpdateHistory(const CheckpointStats& s);

  CheckpointConfig config_;
  std::vector<TaskKey> all_tasks_;  // sorted
  std::vector<TaskKey> source_tasks_;
  bool running_ = false;
  int64_t next_id_;
  int64_t last_trigger_ms_ = 0;
  std::optional<int64_t> last_completion_ms_;
  std::map<int64_t, Pending> pending_;
  std::deque<int64_t> retained_;
  int consecutive_failures_ = 0;

  int64_t num_triggered_ = 0, num_completed_ = 0, num_failed_ = 0, num_restored_ = 0;
  int64_t num_late_ = 0;
  std::deque<CheckpointStats> history_;  // newest first, at most kHistorySize
  std::optional<CheckpointStats> last_completed_, last_failed_;
  std::optional<Restore> restored_;
  StatsSummary duration_summary_, size_summary_, checkpointed_size_summary_;
  std::vector<std::string> vertex_ids_;  // for the per-vertex "tasks" of the statistics
};

}  // namespace sluice::checkpoint

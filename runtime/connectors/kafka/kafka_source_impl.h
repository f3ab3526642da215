#pragma once
// KafkaSource's implementation class, shared by kafka_source.cc (lifecycle, checkpoints,
// restore), kafka_source_partitions.cc (splits: discovery, starting offsets, assignment) and
// kafka_source_records.cc (messages, event time, bad records, watermarks, lag). Internal to the
// kafka connector; the public interface is kafka_source.h.

#include "runtime/connectors/kafka/kafka_source.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <optional>
#include <set>
#include <utility>

#include "fmt/format.h"
#include "fmt/ranges.h"
#include "runtime/base/clock.h"
#include "runtime/base/status.h"
#include "runtime/formats/state_codec.h"
#include "runtime/connectors/kafka/kafka_common.h"
#include "runtime/core/key_groups.h"
#include "runtime/core/record_batch.h"
#include "runtime/operators/rate_limiter.h"
#include "runtime/operators/union_state.h"
#include "runtime/operators/watermarks.h"
#include "runtime/operators/source_output.h"
#include "spdlog/spdlog.h"


namespace sluice::connectors::kafka {

inline constexpr std::string_view kStateMagic = "KFKS";
inline constexpr uint32_t kStateVersion = 1;
inline constexpr int64_t kLagRefreshMs = 1000;
inline constexpr int64_t kResolveRetryMs = 500;
inline constexpr int64_t kWarnEveryMs = 10'000;
inline constexpr size_t kMaxPendingCommits = 64;  // snapshots awaiting their completion notice
inline constexpr std::string_view kDefaultGroupId = "sluice-kafka-source";

enum class SplitStatus : uint8_t {
  kPending = 0,   // known, start not resolved or not assigned to the consumer yet
  kAssigned = 1,  // being read
  kFinished = 2,  // reached its stopping offset
};

// One split held by this reader.
struct Partition {
  std::string topic;
  int32_t partition = 0;
  // Next offset to read; while pending possibly a special starting offset.
  int64_t next_offset = kEarliestOffset;
  int64_t starting_timestamp_ms = -1;
  int64_t stopping_offset = kNoStoppingOffset;
  SplitStatus status = SplitStatus::kPending;
  operators::BoundedOutOfOrdernessWatermarks watermarks{0};
  int64_t max_event_time = api::kMinWatermark;  // mirrors watermarks, for snapshots
  int64_t last_active_ms = 0;  // processing time of the last record (or of the assignment)
  bool idle = false;
};

inline std::string Describe(const Partition& p) {
  return fmt::format("topic '{}' partition {}", p.topic, p.partition);
}

// A split as read from a snapshot.
struct RestoredSplit {
  KafkaPartitionSplit split;  // starting_offset = the next offset to read
  bool finished = false;
  int64_t max_event_time = api::kMinWatermark;
};

struct RestoredState {
  uint32_t subtask = 0;
  uint32_t parallelism = 0;
  bool discovered = false;
  std::vector<RestoredSplit> splits;
};

// Reads a snapshot of SnapshotState; DataLoss naming the problem.
absl::StatusOr<RestoredState> DecodeState(std::string_view blob);

inline int64_t RealNowMs() { return MonotonicMillis(); }

// RAII for librdkafka partition lists.
struct PartitionList {
  explicit PartitionList(int size) : list(rd_kafka_topic_partition_list_new(size)) {}
  ~PartitionList() { rd_kafka_topic_partition_list_destroy(list); }
  PartitionList(const PartitionList&) = delete;
  PartitionList& operator=(const PartitionList&) = delete;
  rd_kafka_topic_partition_t* Add(const Partition& p, int64_t offset) {
    rd_kafka_topic_partition_t* tp =
        rd_kafka_topic_partition_list_add(list, p.topic.c_str(), p.partition);
    tp->offset = offset;
    return tp;
  }
  rd_kafka_topic_partition_list_t* list;
};

class KafkaSource::Impl {
 public:
  Impl(KafkaSourceOptions opts, KafkaSourceMetrics* metrics)
      : opts_(std::move(opts)), metrics_(metrics) {}
  ~Impl() { Close(); }

  const KafkaSourceOptions& opts() const { return opts_; }

  absl::Status Open(const api::OperatorContext& ctx) {
    ctx_ = ctx;
    now_ms_ = opts_.now_ms ? opts_.now_ms : RealNowMs;
    RETURN_IF_ERROR(Validate());
    RETURN_IF_ERROR(CreateConsumer());
    batch_.set_schema(opts_.schema);
    const int64_t now = now_ms_();
    opened_ms_ = now;
    if (!ctx.restored_union_states.empty()) {
      RETURN_IF_ERROR(RestoreRescaled(ctx.restored_union_states, now));
    } else if (ctx.restored_state.has_value() && !ctx.restored_state->empty()) {
      RETURN_IF_ERROR(Restore(*ctx.restored_state, now));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<bool> PollNext(api::Output& out);
  bool more_available() const { return more_available_; }

  void Close();

  absl::StatusOr<std::string> SnapshotState(int64_t checkpoint_id);

  absl::Status NotifyCheckpointComplete(int64_t checkpoint_id);

  void AddSplits(std::vector<KafkaPartitionSplit> splits);

  void NotifyNoMoreSplits();

  std::vector<PartitionLag> PartitionLags() const;

  std::vector<KafkaPartitionSplit> CurrentSplits() const;

  int64_t CurrentWatermark() const { return last_watermark_; }

  bool IsIdle() const;

 private:
  bool Bounded() const { return opts_.stop_at_latest; }

  // "<task> (<subtask+1>/<parallelism>)", as Flink names a subtask in logs.
  std::string Where() const;

  // ---- Open -------------------------------------------------------------------------------

  absl::Status Validate();

  absl::Status CreateConsumer();

  static void OnCommit(rd_kafka_t* /*rk*/, rd_kafka_resp_err_t err,
                       rd_kafka_topic_partition_list_t* offsets, void* opaque);

  // ---- restore ----------------------------------------------------------------------------

  void AdoptRestored(const RestoredSplit& r, int64_t now);

  absl::Status Restore(const std::string& blob, int64_t now);

  absl::Status RestoreRescaled(const std::vector<std::string>& blobs, int64_t now);

  // ---- splits -----------------------------------------------------------------------------

  Partition* Find(std::string_view topic, int32_t partition) const;

  // Adds a pending split; null if this reader already holds the partition.
  Partition* AddPartition(const KafkaPartitionSplit& s, int64_t now);

  void DrainAddedSplits(int64_t now);

  // The starting offset of a partition discovered now (see kafka_source.h).
  KafkaPartitionSplit StartFor(const std::string& topic, int32_t partition) const;

  absl::Status MaybeDiscover(int64_t now);

  std::string BootstrapServers() const { return BootstrapServersOf(opts_); }

  // Which of `parts` a result element of librdkafka is for (parts.size() if none): results are
  // matched by topic and partition, not by position.
  static size_t IndexOf(const std::vector<Partition*>& parts,
                        const rd_kafka_topic_partition_t& tp);

  // Offsets for a timestamp-like query per partition (librdkafka's offsets_for_times, which
  // also answers -2 = earliest and -1 = latest). Sets (*out)[i] to the offset or, on a
  // per-partition error, leaves it and appends to *failure.
  absl::Status ListOffsets(const std::vector<Partition*>& parts,
                           const std::vector<int64_t>& queries, std::vector<int64_t>* out,
                           std::string* failure);

  // Resolves the special starting and stopping offsets of pending splits to concrete ones and
  // assigns the resolved splits to the consumer.
  absl::Status ResolveAndAssign(int64_t now);

  bool AllFinished() const;

  absl::StatusOr<bool> End(api::Output& out);

  void FinishPartition(Partition* p);

  void ApplyUnassigns();

  // ---- records ----------------------------------------------------------------------------

  Partition* Lookup(rd_kafka_topic_t* rkt, int32_t partition);

  absl::Status HandleMessage(rd_kafka_message_t* m, int64_t now);

  // Sets the event time of the row just decoded and feeds the partition's watermarks. On a
  // missing Kafka timestamp removes the row and returns the reason.
  absl::Status StampEventTime(Partition* p, const rd_kafka_message_t* m);

  absl::Status BadRecord(const Partition& p, const rd_kafka_message_t* m,
                         const absl::Status& reason);

  absl::Status HandleEvent(const rd_kafka_message_t* m);

  // ---- watermarks and lag -----------------------------------------------------------------

  absl::Status MaybeEmitWatermark(api::Output& out, int64_t now);

  void RefreshLags();

  KafkaSourceOptions opts_;
  KafkaSourceMetrics* metrics_;  // owned by the KafkaSource, outlives this
  api::OperatorContext ctx_;
  std::function<int64_t()> now_ms_;
  std::unique_ptr<RecordDecoder> decoder_;
  std::optional<TopicSelector> selector_;  // set by Validate
  std::optional<operators::EventTimeExtractor> event_time_;  // kField
  bool user_group_ = false;
  rd_kafka_t* rk_ = nullptr;

  // Splits held (never removed; pointers stable) and their index topic -> partition -> split.
  std::vector<std::unique_ptr<Partition>> partitions_;
  std::map<std::string, std::vector<Partition*>, std::less<>> index_;
  rd_kafka_topic_t* cache_rkt_ = nullptr;
  int32_t cache_partition_ = -1;
  Partition* cache_ = nullptr;
  std::string cache_topic_;

  // Splits from AddSplits, not yet taken by the Task thread.
  mutable std::mutex added_mu_;
  std::vector<KafkaPartitionSplit> added_;
  bool no_more_splits_requested_ = false;
  bool no_more_splits_ = false;

  // Discovery: whether this subtask ever completed one (checkpointed), and in this run.
  bool discovered_ = false;
  bool first_discovery_done_ = false;
  int64_t next_discovery_ms_ = 0;
  std::set<std::string> missing_warned_;
  // After a rescaling restore: the old parallelism and which old subtasks had discovered.
  bool rescaled_ = false;
  int32_t old_parallelism_ = 0;
  std::vector<bool> old_discovered_;

  int64_t next_resolve_ms_ = 0;
  int64_t resolve_failing_since_ms_ = -1;
  std::vector<Partition*> to_unassign_;

  core::RecordBatch batch_;
  std::optional<operators::RateLimiter> limiter_;  // with a rate only
  int64_t records_ = 0;  // consumed in the current PollNext
  bool more_available_ = false;  // the last PollNext stopped at its batch limit
  int64_t bytes_ = 0;
  int64_t last_watermark_ = api::kMinWatermark;
  int64_t opened_ms_ = 0;
  bool reported_idle_ = false;  // the last WatermarkStatus emitted was IDLE
  bool done_ = false;

  std::map<int64_t, std::vector<std::tuple<std::string, int32_t, int64_t>>> pending_commits_;

  mutable std::mutex lags_mu_;
  std::vector<PartitionLag> lags_;
  int64_t next_lag_refresh_ms_ = 0;

  int64_t last_warn_ms_ = std::numeric_limits<int64_t>::min() / 2;
  int64_t suppressed_warnings_ = 0;
};

}  // namespace sluice::connectors::kafka

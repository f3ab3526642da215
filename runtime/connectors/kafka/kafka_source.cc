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

std::string KafkaPartitionSplit::SplitId() const { return fmt::format("{}-{}", topic, partition); }

int32_t KafkaSplitOwner(std::string_view topic, int32_t partition, int32_t parallelism) {
  // Java: ((topic.hashCode() * 31) & 0x7FFFFFFF) % numReaders, in 32-bit int arithmetic.
  const uint32_t h = static_cast<uint32_t>(core::JavaStringHash(topic)) * 31u;
  const int64_t start = static_cast<int64_t>(h & 0x7FFFFFFFu) % parallelism;
  return static_cast<int32_t>((start + partition) % parallelism);
}

absl::StatusOr<StartingOffsets> ParseStartingOffsets(std::string_view name) {
  if (name == "earliest") return StartingOffsets::kEarliest;
  if (name == "latest") return StartingOffsets::kLatest;
  if (name == "timestamp") return StartingOffsets::kTimestamp;
  if (name == "group-offsets") return StartingOffsets::kGroupOffsets;
  return InvalidArgumentF(
      "unknown starting offsets '{}'; expected earliest, latest, timestamp or group-offsets", name);
}

absl::StatusOr<BadRecordPolicy> ParseBadRecordPolicy(std::string_view name) {
  if (name == "fail") return BadRecordPolicy::kFail;
  if (name == "skip") return BadRecordPolicy::kSkip;
  if (name == "dead-letter") return BadRecordPolicy::kDeadLetter;
  return InvalidArgumentF("unknown bad-records policy '{}'; expected fail, skip or dead-letter",
                          name);
}

namespace {

constexpr std::string_view kStateMagic = "KFKS";
constexpr uint32_t kStateVersion = 1;
constexpr int64_t kLagRefreshMs = 1000;
constexpr int64_t kResolveRetryMs = 500;
constexpr int64_t kWarnEveryMs = 10'000;
constexpr size_t kMaxPendingCommits = 64;  // snapshots awaiting their completion notice
constexpr std::string_view kDefaultGroupId = "sluice-kafka-source";

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

std::string Describe(const Partition& p) {
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

absl::StatusOr<RestoredState> DecodeState(std::string_view blob) {
  formats::StateReader r(blob, "kafka source");
  RETURN_IF_ERROR(r.Header(kStateMagic, kStateVersion));
  RestoredState st;
  ASSIGN_OR_RETURN(st.subtask, r.U32());
  ASSIGN_OR_RETURN(st.parallelism, r.U32());
  ASSIGN_OR_RETURN(uint8_t discovered, r.U8());
  st.discovered = discovered != 0;
  ASSIGN_OR_RETURN(uint32_t n, r.U32());
  for (uint32_t k = 0; k < n; ++k) {
    RestoredSplit s;
    ASSIGN_OR_RETURN(s.split.topic, r.Str());
    ASSIGN_OR_RETURN(uint32_t partition, r.U32());
    s.split.partition = static_cast<int32_t>(partition);
    ASSIGN_OR_RETURN(s.split.starting_offset, r.I64());
    ASSIGN_OR_RETURN(s.split.starting_timestamp_ms, r.I64());
    ASSIGN_OR_RETURN(s.split.stopping_offset, r.I64());
    ASSIGN_OR_RETURN(uint8_t finished, r.U8());
    s.finished = finished != 0;
    ASSIGN_OR_RETURN(s.max_event_time, r.I64());
    if (s.split.topic.empty() || s.split.partition < 0 ||
        s.split.starting_offset < kTimestampOffset ||
        (s.split.stopping_offset < kLatestOffset && s.split.stopping_offset != kNoStoppingOffset)) {
      return DataLossF(
          "kafka source: restored state is inconsistent at topic '{}' partition {} (offset {}, "
          "stopping offset {})",
          s.split.topic, s.split.partition, s.split.starting_offset, s.split.stopping_offset);
    }
    st.splits.push_back(std::move(s));
  }
  RETURN_IF_ERROR(r.End());
  return st;
}

int64_t RealNowMs() { return MonotonicMillis(); }

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

}  // namespace

// ---------------------------------------------------------------------------------------------

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

  absl::StatusOr<bool> PollNext(api::Output& out) {
    if (done_) return false;
    if (rk_ == nullptr) return FailedPreconditionF("kafka source: PollNext before Open");
    const int64_t now = now_ms_();
    DrainAddedSplits(now);
    if (opts_.split_assignment == SplitAssignment::kBuiltInDiscovery) {
      RETURN_IF_ERROR(MaybeDiscover(now));
    }
    RETURN_IF_ERROR(ResolveAndAssign(now));
    if (AllFinished()) return End(out);

    // Drain the consumer queue: wait for the first message at most poll_timeout_ms, then take
    // only what is already there. `handled` bounds the loop also when records are skipped.
    size_t limit = opts_.batch_size;
    if (limiter_) {
      limit = limiter_->Acquire();
      if (limit == 0) return true;  // out of tokens for now: poll again
    }
    size_t handled = 0;
    records_ = 0;
    bytes_ = 0;
    absl::Status st;
    while (handled < limit && st.ok()) {
      rd_kafka_message_t* m =
          rd_kafka_consumer_poll(rk_, handled == 0 ? static_cast<int>(opts_.poll_timeout_ms) : 0);
      if (m == nullptr) break;
      ++handled;
      st = HandleMessage(m, now);
      rd_kafka_message_destroy(m);
    }
    if (limiter_) limiter_->Consume(handled);
    // Counters once per poll, not per record.
    if (records_ > 0) {
      metrics_->records_in.fetch_add(records_, std::memory_order_relaxed);
      metrics_->bytes_in.fetch_add(bytes_, std::memory_order_relaxed);
      if (ctx_.metrics != nullptr) {
        ctx_.metrics->bytes_in.fetch_add(bytes_, std::memory_order_relaxed);
      }
    }
    RETURN_IF_ERROR(st);
    ApplyUnassigns();
    if (!batch_.empty()) {
      RETURN_IF_ERROR(operators::EmitSourceBatch(&batch_, out, ctx_.metrics));
    }
    const int64_t after = now_ms_();
    RETURN_IF_ERROR(MaybeEmitWatermark(out, after));
    if (after >= next_lag_refresh_ms_) {
      RefreshLags();
      next_lag_refresh_ms_ = after + kLagRefreshMs;
    }
    if (AllFinished()) return End(out);
    return true;
  }

  void Close() {
    if (rk_ == nullptr) return;
    // Nothing to leave (no subscription) and nothing to commit (no auto commit): close serves
    // outstanding commit callbacks and returns.
    rd_kafka_resp_err_t err = rd_kafka_consumer_close(rk_);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      spdlog::warn("kafka source {}: closing the consumer: {}", Where(), rd_kafka_err2str(err));
    }
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
  }

  absl::StatusOr<std::string> SnapshotState(int64_t checkpoint_id) {
    DrainAddedSplits(now_ms_());
    formats::StateWriter w(kStateMagic, kStateVersion);
    w.U32(static_cast<uint32_t>(ctx_.subtask_index));
    w.U32(static_cast<uint32_t>(ctx_.parallelism));
    w.U8(discovered_ ? 1 : 0);
    w.U32(static_cast<uint32_t>(partitions_.size()));
    std::vector<std::tuple<std::string, int32_t, int64_t>> offsets;
    for (const auto& p : partitions_) {
      w.Str(p->topic);
      w.U32(static_cast<uint32_t>(p->partition));
      w.I64(p->next_offset);
      w.I64(p->starting_timestamp_ms);
      w.I64(p->stopping_offset);
      w.U8(p->status == SplitStatus::kFinished ? 1 : 0);
      w.I64(p->max_event_time);
      if (p->next_offset >= 0) offsets.emplace_back(p->topic, p->partition, p->next_offset);
    }
    if (opts_.commit_offsets_on_checkpoint) {
      pending_commits_[checkpoint_id] = std::move(offsets);
      while (pending_commits_.size() > kMaxPendingCommits) {
        pending_commits_.erase(pending_commits_.begin());
      }
    }
    if (opts_.dead_letter_sink != nullptr) RETURN_IF_ERROR(opts_.dead_letter_sink->Flush());
    return std::move(w).Finish();
  }

  absl::Status NotifyCheckpointComplete(int64_t checkpoint_id) {
    if (!opts_.commit_offsets_on_checkpoint || rk_ == nullptr) return absl::OkStatus();
    // Checkpoint n subsumes the earlier ones: commit the newest snapshot <= n, drop the rest.
    auto it = pending_commits_.upper_bound(checkpoint_id);
    if (it == pending_commits_.begin()) return absl::OkStatus();
    const auto& offsets = std::prev(it)->second;
    if (!offsets.empty()) {
      rd_kafka_topic_partition_list_t* list =
          rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size()));
      for (const auto& [topic, partition, offset] : offsets) {
        rd_kafka_topic_partition_list_add(list, topic.c_str(), partition)->offset = offset;
      }
      rd_kafka_resp_err_t err = rd_kafka_commit(rk_, list, /*async=*/1);
      rd_kafka_topic_partition_list_destroy(list);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        metrics_->commits_failed.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn("kafka source {}: committing the offsets of checkpoint {} failed: {}", Where(),
                     checkpoint_id, rd_kafka_err2str(err));
      }
    }
    pending_commits_.erase(pending_commits_.begin(), it);
    return absl::OkStatus();
  }

  void AddSplits(std::vector<KafkaPartitionSplit> splits) {
    std::lock_guard<std::mutex> lock(added_mu_);
    for (KafkaPartitionSplit& s : splits) added_.push_back(std::move(s));
  }

  void NotifyNoMoreSplits() {
    std::lock_guard<std::mutex> lock(added_mu_);
    no_more_splits_requested_ = true;
  }

  std::vector<PartitionLag> PartitionLags() const {
    std::lock_guard<std::mutex> lock(lags_mu_);
    return lags_;
  }

  std::vector<KafkaPartitionSplit> CurrentSplits() const {
    std::vector<KafkaPartitionSplit> out;
    for (const auto& p : partitions_) {
      KafkaPartitionSplit s;
      s.topic = p->topic;
      s.partition = p->partition;
      s.starting_offset = p->next_offset;
      s.starting_timestamp_ms = p->starting_timestamp_ms;
      s.stopping_offset = p->stopping_offset;
      out.push_back(std::move(s));
    }
    return out;
  }

  int64_t CurrentWatermark() const { return last_watermark_; }

  bool IsIdle() const {
    for (const auto& p : partitions_) {
      if (p->status != SplitStatus::kFinished && !p->idle) return false;
    }
    return true;
  }

 private:
  bool Bounded() const { return opts_.stop_at_latest; }

  // "<task> (<subtask+1>/<parallelism>)", as Flink names a subtask in logs.
  std::string Where() const {
    const std::string& name = !ctx_.task_name.empty() ? ctx_.task_name : ctx_.operator_name;
    return fmt::format("{} ({}/{})", name.empty() ? "source" : name, ctx_.subtask_index + 1,
                       ctx_.parallelism);
  }

  // ---- Open -------------------------------------------------------------------------------

  absl::Status Validate() {
    if (ctx_.parallelism < 1 || ctx_.subtask_index < 0 || ctx_.subtask_index >= ctx_.parallelism) {
      return InvalidArgumentF("kafka source: subtask {} of parallelism {} is out of range",
                              ctx_.subtask_index, ctx_.parallelism);
    }
    auto decoder = RecordDecoder::Create(opts_.schema, opts_.format);
    if (!decoder.ok()) {
      return InvalidArgumentF("kafka source: {}", decoder.status().message());
    }
    decoder_ = std::move(*decoder);
    const bool builtin = opts_.split_assignment == SplitAssignment::kBuiltInDiscovery;
    ASSIGN_OR_RETURN(selector_, TopicSelector::Create(opts_.topics, opts_.topic_pattern,
                                                      /*required=*/builtin, "kafka source"));
    RETURN_IF_ERROR(CheckBootstrapServers(opts_, "kafka source"));
    auto prop = [&](const char* key) -> const std::string* {
      auto it = opts_.properties.find(key);
      return it == opts_.properties.end() ? nullptr : &it->second;
    };
    if (const std::string* v = prop("enable.auto.commit"); v != nullptr && *v != "false") {
      return InvalidArgumentF(
          "kafka source: enable.auto.commit must stay false (found '{}'): offsets live in "
          "checkpoints; use commit-offsets-on-checkpoint to commit them to Kafka",
          *v);
    }
    const std::string* group = prop("group.id");
    user_group_ = group != nullptr && !group->empty();
    if (opts_.starting_offsets == StartingOffsets::kGroupOffsets && !user_group_) {
      return InvalidArgumentF(
          "kafka source: starting offsets group-offsets need group.id in properties");
    }
    if (opts_.commit_offsets_on_checkpoint && !user_group_) {
      return InvalidArgumentF(
          "kafka source: commit-offsets-on-checkpoint needs group.id in properties");
    }
    if (opts_.starting_offsets == StartingOffsets::kTimestamp && opts_.starting_timestamp_ms < 0) {
      return InvalidArgumentF(
          "kafka source: starting offsets timestamp need starting-timestamp (epoch ms >= 0), "
          "found {}",
          opts_.starting_timestamp_ms);
    }
    if (opts_.batch_size == 0) return InvalidArgumentF("kafka source: batch-size must be >= 1");
    if (!(opts_.rate_records_per_second >= 0) || std::isinf(opts_.rate_records_per_second)) {
      return InvalidArgumentF("kafka source: rate must be a finite number >= 0 records per "
                              "second, found {}", opts_.rate_records_per_second);
    }
    if (opts_.rate_records_per_second > 0) {
      limiter_.emplace(opts_.rate_records_per_second, opts_.batch_size);
    }
    if (opts_.poll_timeout_ms < 0 || opts_.poll_timeout_ms > 60'000) {
      return InvalidArgumentF("kafka source: poll timeout must be in [0, 60000] ms, found {}",
                              opts_.poll_timeout_ms);
    }
    if (opts_.request_timeout_ms <= 0 || opts_.request_timeout_ms > 3'600'000) {
      return InvalidArgumentF("kafka source: request timeout must be in (0, 3600000] ms, found {}",
                              opts_.request_timeout_ms);
    }
    if (opts_.max_out_of_orderness_ms < 0) {
      return InvalidArgumentF("kafka source: max out-of-orderness must be >= 0 ms, found {}",
                              opts_.max_out_of_orderness_ms);
    }
    if (opts_.idle_timeout_ms < 0) {
      return InvalidArgumentF("kafka source: idle-timeout must be >= 0 ms, found {}",
                              opts_.idle_timeout_ms);
    }
    if (opts_.bad_records == BadRecordPolicy::kDeadLetter && opts_.dead_letter_sink == nullptr) {
      return InvalidArgumentF("kafka source: bad-records dead-letter needs a dead-letter sink");
    }
    if (opts_.event_time == EventTimeSource::kField) {
      event_time_col_ = opts_.schema->FindField(opts_.event_time_field);
      if (event_time_col_ < 0) {
        return InvalidArgumentF("kafka source: event-time field '{}' is not in the schema [{}]",
                                opts_.event_time_field, opts_.schema->ToString());
      }
      core::Type t = opts_.schema->field(event_time_col_).type;
      if (t != core::Type::kTimestamp && t != core::Type::kInt64) {
        return InvalidArgumentF(
            "kafka source: event-time field '{}' has type {}; expected timestamp or int64 (ms)",
            opts_.event_time_field, core::TypeName(t));
      }
    }
    return absl::OkStatus();
  }

  absl::Status CreateConsumer() {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    auto set = [&](const std::string& key, const std::string& value) -> absl::Status {
      if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof(err)) !=
          RD_KAFKA_CONF_OK) {
        return InvalidArgumentF("kafka source: property {}='{}': {}", key, value, err);
      }
      return absl::OkStatus();
    };
    // Sluice's defaults, each unless the user's properties set it (enable.auto.commit is
    // checked in Validate), then the user's properties.
    std::vector<std::pair<std::string, std::string>> settings;
    auto add_default = [&](const char* key, std::string value) {
      if (opts_.properties.count(key) == 0) settings.emplace_back(key, std::move(value));
    };
    if (!opts_.bootstrap_servers.empty()) add_default("bootstrap.servers", opts_.bootstrap_servers);
    add_default("enable.auto.commit", "false");
    add_default("enable.auto.offset.store", "false");
    add_default("auto.offset.reset",
                opts_.starting_offsets == StartingOffsets::kLatest ? "latest" : "earliest");
    if (Bounded()) add_default("enable.partition.eof", "true");
    // librdkafka's default (100000) throttled the reader ~4x below `kcat -C` with 8 partitions
    // (benchmarks/RESULTS.md): fetching pauses while that many messages wait, and all partitions
    // share the reader's queue. Memory stays bounded by queued.max.messages.kbytes (64 MB).
    add_default("queued.min.messages", "1000000");
    if (!user_group_) settings.emplace_back("group.id", std::string(kDefaultGroupId));
    const std::string who = !ctx_.operator_uid.empty()    ? ctx_.operator_uid
                            : !ctx_.operator_name.empty() ? ctx_.operator_name
                                                          : std::string("kafka-source");
    add_default("client.id",
                SanitizeClientId(fmt::format("sluice-{}-{}", who, ctx_.subtask_index)));
    for (const auto& [key, value] : opts_.properties) {
      if (key == "group.id" && value.empty()) continue;  // = not set
      settings.emplace_back(key, value);
    }
    for (const auto& [key, value] : settings) {
      absl::Status st = set(key, value);
      if (!st.ok()) {
        rd_kafka_conf_destroy(conf);
        return st;
      }
    }
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_log_cb(conf, LogFromRdkafka);
    rd_kafka_conf_set_offset_commit_cb(conf, &Impl::OnCommit);
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (rk == nullptr) {
      rd_kafka_conf_destroy(conf);  // rd_kafka_new owns conf only on success
      return InvalidArgumentF("kafka source: cannot create the consumer: {}", err);
    }
    rk_ = rk;
    // Errors, logs and commit results are served by rd_kafka_consumer_poll on the Task thread.
    rd_kafka_poll_set_consumer(rk_);
    return absl::OkStatus();
  }

  static void OnCommit(rd_kafka_t* /*rk*/, rd_kafka_resp_err_t err,
                       rd_kafka_topic_partition_list_t* offsets, void* opaque) {
    auto* self = static_cast<Impl*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;  // nothing to commit
    bool ok = err == RD_KAFKA_RESP_ERR_NO_ERROR;
    std::string failed;
    for (int i = 0; offsets != nullptr && i < offsets->cnt; ++i) {
      if (offsets->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        ok = false;
        failed += fmt::format(" {}-{}: {};", offsets->elems[i].topic, offsets->elems[i].partition,
                              rd_kafka_err2str(offsets->elems[i].err));
      }
    }
    if (ok) {
      self->metrics_->commits_succeeded.fetch_add(1, std::memory_order_relaxed);
    } else {
      self->metrics_->commits_failed.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("kafka source {}: committing offsets failed: {}{}", self->Where(),
                   rd_kafka_err2str(err), failed);
    }
  }

  // ---- restore ----------------------------------------------------------------------------

  void AdoptRestored(const RestoredSplit& r, int64_t now) {
    Partition* p = AddPartition(r.split, now);
    if (p == nullptr) return;
    if (r.finished) {
      p->status = SplitStatus::kFinished;
      p->next_offset = std::max<int64_t>(p->next_offset, p->stopping_offset);
    }
    if (r.max_event_time != api::kMinWatermark) {
      p->watermarks.OnEvent(r.max_event_time);
      p->max_event_time = r.max_event_time;
    }
  }

  absl::Status Restore(const std::string& blob, int64_t now) {
    ASSIGN_OR_RETURN(RestoredState st, DecodeState(blob));
    if (static_cast<int32_t>(st.parallelism) != ctx_.parallelism ||
        static_cast<int32_t>(st.subtask) != ctx_.subtask_index) {
      return FailedPreconditionF(
          "kafka source: restored state of subtask {} of parallelism {} given to subtask {} of "
          "parallelism {}; restoring at another parallelism passes the states of all old "
          "subtasks (union state) instead",
          st.subtask, st.parallelism, ctx_.subtask_index, ctx_.parallelism);
    }
    for (const RestoredSplit& r : st.splits) AdoptRestored(r, now);
    discovered_ = st.discovered;
    return absl::OkStatus();
  }

  absl::Status RestoreRescaled(const std::vector<std::string>& blobs, int64_t now) {
    ASSIGN_OR_RETURN(std::vector<RestoredState> states,
                     operators::DecodeUnionStates(blobs, ctx_.restored_parallelism,
                                                  "kafka source",
                                                  "every old subtask's offsets are needed",
                                                  DecodeState));
    if (states.empty()) return absl::OkStatus();  // no old subtask had a state: fresh start
    const uint32_t old_p = states.front().parallelism;
    std::set<std::pair<std::string, int32_t>> all;
    for (const RestoredState& st : states) {
      for (const RestoredSplit& r : st.splits) {
        if (!all.emplace(r.split.topic, r.split.partition).second) {
          return DataLossF(
              "kafka source: rescaling restore: topic '{}' partition {} appears in two old "
              "subtasks' states",
              r.split.topic, r.split.partition);
        }
        if (KafkaSplitOwner(r.split.topic, r.split.partition, ctx_.parallelism) ==
            ctx_.subtask_index) {
          AdoptRestored(r, now);
        }
      }
    }
    rescaled_ = true;
    old_parallelism_ = static_cast<int32_t>(old_p);
    old_discovered_.assign(old_p, false);
    for (const RestoredState& st : states) old_discovered_[st.subtask] = st.discovered;
    discovered_ = false;
    return absl::OkStatus();
  }

  // ---- splits -----------------------------------------------------------------------------

  Partition* Find(std::string_view topic, int32_t partition) const {
    auto it = index_.find(topic);
    if (it == index_.end() || partition < 0 ||
        static_cast<size_t>(partition) >= it->second.size()) {
      return nullptr;
    }
    return it->second[static_cast<size_t>(partition)];
  }

  // Adds a pending split; null if this reader already holds the partition.
  Partition* AddPartition(const KafkaPartitionSplit& s, int64_t now) {
    if (s.partition < 0 || s.topic.empty() || Find(s.topic, s.partition) != nullptr) {
      return nullptr;
    }
    auto p = std::make_unique<Partition>();
    p->topic = s.topic;
    p->partition = s.partition;
    p->next_offset = s.starting_offset;
    p->starting_timestamp_ms = s.starting_timestamp_ms;
    p->stopping_offset = s.stopping_offset;
    if (p->stopping_offset == kNoStoppingOffset && Bounded()) p->stopping_offset = kLatestOffset;
    p->watermarks = operators::BoundedOutOfOrdernessWatermarks(opts_.max_out_of_orderness_ms);
    p->last_active_ms = now;
    auto& slots = index_[s.topic];
    if (slots.size() <= static_cast<size_t>(s.partition)) slots.resize(s.partition + 1, nullptr);
    slots[s.partition] = p.get();
    partitions_.push_back(std::move(p));
    cache_rkt_ = nullptr;  // a cached miss may now be a hit
    return partitions_.back().get();
  }

  void DrainAddedSplits(int64_t now) {
    std::vector<KafkaPartitionSplit> added;
    {
      std::lock_guard<std::mutex> lock(added_mu_);
      added.swap(added_);
      if (no_more_splits_requested_) no_more_splits_ = true;
    }
    for (const KafkaPartitionSplit& s : added) {
      if (AddPartition(s, now) == nullptr) {
        spdlog::debug("kafka source {}: split {} ignored (already held or invalid)", Where(),
                      s.SplitId());
      }
    }
  }

  // The starting offset of a partition discovered now (see kafka_source.h).
  KafkaPartitionSplit StartFor(const std::string& topic, int32_t partition) const {
    bool is_new = discovered_;
    if (!is_new && rescaled_) {
      is_new = old_discovered_[KafkaSplitOwner(topic, partition, old_parallelism_)];
    }
    return SplitStartingAt(opts_, topic, partition, /*configured_start=*/!is_new);
  }

  absl::Status MaybeDiscover(int64_t now) {
    if (first_discovery_done_) {
      if (Bounded() || opts_.partition_discovery_interval_ms <= 0) return absl::OkStatus();
      if (now < next_discovery_ms_) return absl::OkStatus();
    }
    auto found = DiscoverPartitions(rk_, *selector_, opts_.request_timeout_ms,
                                    fmt::format("kafka source {}", Where()), BootstrapServers());
    if (!found.ok()) {
      if (!first_discovery_done_) return found.status();
      spdlog::warn("{} (partition discovery retries in {} ms)", found.status().message(),
                   opts_.partition_discovery_interval_ms);
      next_discovery_ms_ = now + opts_.partition_discovery_interval_ms;
      return absl::OkStatus();
    }
    const std::set<std::string>& present = found->present;
    size_t added = 0;
    for (const auto& [name, parts] : found->partitions) {
      for (int32_t partition : parts) {
        if (KafkaSplitOwner(name, partition, ctx_.parallelism) != ctx_.subtask_index) continue;
        if (Find(name, partition) != nullptr) continue;
        if (AddPartition(StartFor(name, partition), now) != nullptr) ++added;
      }
    }
    for (const std::string& t : opts_.topics) {
      if (present.count(t) > 0 || missing_warned_.count(t) > 0) continue;
      if (Bounded()) {
        return NotFoundF("kafka source {}: topic '{}' does not exist at '{}'", Where(), t,
                         BootstrapServers());
      }
      missing_warned_.insert(t);
      spdlog::warn("kafka source {}: topic '{}' does not exist (yet); discovery looks again",
                   Where(), t);
    }
    if (added > 0) {
      spdlog::info("kafka source {}: discovered {} new partition(s)", Where(), added);
    }
    if (!first_discovery_done_) {
      first_discovery_done_ = true;
      if (Bounded()) no_more_splits_ = true;
    }
    discovered_ = true;
    next_discovery_ms_ = now + opts_.partition_discovery_interval_ms;
    return absl::OkStatus();
  }

  std::string BootstrapServers() const { return BootstrapServersOf(opts_); }

  // Which of `parts` a result element of librdkafka is for (parts.size() if none): results are
  // matched by topic and partition, not by position.
  static size_t IndexOf(const std::vector<Partition*>& parts,
                        const rd_kafka_topic_partition_t& tp) {
    for (size_t k = 0; k < parts.size(); ++k) {
      if (parts[k]->partition == tp.partition && parts[k]->topic == tp.topic) return k;
    }
    return parts.size();
  }

  // Offsets for a timestamp-like query per partition (librdkafka's offsets_for_times, which
  // also answers -2 = earliest and -1 = latest). Sets (*out)[i] to the offset or, on a
  // per-partition error, leaves it and appends to *failure.
  absl::Status ListOffsets(const std::vector<Partition*>& parts,
                           const std::vector<int64_t>& queries, std::vector<int64_t>* out,
                           std::string* failure) {
    out->assign(parts.size(), kNoStoppingOffset);
    if (parts.empty()) return absl::OkStatus();
    PartitionList list(static_cast<int>(parts.size()));
    for (size_t i = 0; i < parts.size(); ++i) list.Add(*parts[i], queries[i]);
    rd_kafka_resp_err_t err =
        rd_kafka_offsets_for_times(rk_, list.list, static_cast<int>(opts_.request_timeout_ms));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      *failure += fmt::format(" listing offsets: {};", rd_kafka_err2str(err));
      return absl::OkStatus();
    }
    for (int i = 0; i < list.list->cnt; ++i) {
      const rd_kafka_topic_partition_t& tp = list.list->elems[i];
      const size_t k = IndexOf(parts, tp);
      if (k == parts.size()) continue;
      if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        *failure += fmt::format(" {}: {};", Describe(*parts[k]), rd_kafka_err2str(tp.err));
        continue;
      }
      (*out)[k] = tp.offset;
    }
    return absl::OkStatus();
  }

  // Resolves the special starting and stopping offsets of pending splits to concrete ones and
  // assigns the resolved splits to the consumer.
  absl::Status ResolveAndAssign(int64_t now) {
    std::vector<Partition*> pending;
    for (const auto& p : partitions_) {
      if (p->status == SplitStatus::kPending) pending.push_back(p.get());
    }
    if (pending.empty()) return absl::OkStatus();
    if (now < next_resolve_ms_) return absl::OkStatus();
    std::string failure;

    // 1. Committed offsets of group.id; none -> earliest.
    std::vector<Partition*> committed;
    for (Partition* p : pending) {
      if (p->next_offset == kCommittedOffset) committed.push_back(p);
    }
    if (!committed.empty()) {
      PartitionList list(static_cast<int>(committed.size()));
      for (Partition* p : committed) list.Add(*p, RD_KAFKA_OFFSET_INVALID);
      rd_kafka_resp_err_t err =
          rd_kafka_committed(rk_, list.list, static_cast<int>(opts_.request_timeout_ms));
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        failure += fmt::format(" fetching committed offsets: {};", rd_kafka_err2str(err));
      } else {
        for (int i = 0; i < list.list->cnt; ++i) {
          const rd_kafka_topic_partition_t& tp = list.list->elems[i];
          const size_t k = IndexOf(committed, tp);
          if (k == committed.size()) continue;
          if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            failure += fmt::format(" {}: committed offset: {};", Describe(*committed[k]),
                                   rd_kafka_err2str(tp.err));
          } else {
            committed[k]->next_offset = tp.offset >= 0 ? tp.offset : kEarliestOffset;
          }
        }
      }
    }

    // 2. Earliest / latest / timestamp starts, and latest stops, by ListOffsets.
    std::vector<Partition*> starts;
    std::vector<int64_t> queries;
    for (Partition* p : pending) {
      if (p->next_offset == kEarliestOffset || p->next_offset == kLatestOffset) {
        starts.push_back(p);
        queries.push_back(p->next_offset);
      } else if (p->next_offset == kTimestampOffset) {
        starts.push_back(p);
        queries.push_back(p->starting_timestamp_ms);
      }
    }
    std::vector<int64_t> found;
    RETURN_IF_ERROR(ListOffsets(starts, queries, &found, &failure));
    std::vector<Partition*> to_end;  // timestamp after every record: start at the end
    for (size_t i = 0; i < starts.size(); ++i) {
      if (found[i] >= 0) {
        starts[i]->next_offset = found[i];
      } else if (found[i] != kNoStoppingOffset && starts[i]->next_offset == kTimestampOffset) {
        to_end.push_back(starts[i]);
      }
    }
    std::vector<Partition*> stops;
    for (Partition* p : pending) {
      if (p->stopping_offset == kLatestOffset) stops.push_back(p);
    }
    for (Partition* p : to_end) {
      if (std::find(stops.begin(), stops.end(), p) == stops.end()) stops.push_back(p);
    }
    RETURN_IF_ERROR(
        ListOffsets(stops, std::vector<int64_t>(stops.size(), kLatestOffset), &found, &failure));
    for (size_t i = 0; i < stops.size(); ++i) {
      if (found[i] < 0) continue;
      if (stops[i]->next_offset == kTimestampOffset) stops[i]->next_offset = found[i];
      if (stops[i]->stopping_offset == kLatestOffset) stops[i]->stopping_offset = found[i];
    }

    // 3. Assign what is resolved.
    PartitionList assign(static_cast<int>(pending.size()));
    std::vector<Partition*> unresolved;
    for (Partition* p : pending) {
      const bool start_ok = p->next_offset >= 0;
      const bool stop_ok = p->stopping_offset >= 0 || p->stopping_offset == kNoStoppingOffset;
      if (!start_ok || !stop_ok) {
        unresolved.push_back(p);
        continue;
      }
      p->last_active_ms = now;
      p->idle = false;
      if (p->stopping_offset >= 0 && p->next_offset >= p->stopping_offset) {
        p->status = SplitStatus::kFinished;
        continue;
      }
      p->status = SplitStatus::kAssigned;
      assign.Add(*p, p->next_offset);
    }
    if (assign.list->cnt > 0) {
      rd_kafka_error_t* error = rd_kafka_incremental_assign(rk_, assign.list);
      if (error != nullptr) {
        std::string msg = rd_kafka_error_string(error);
        rd_kafka_error_destroy(error);
        return InternalF("kafka source {}: assigning {} partition(s) failed: {}", Where(),
                         assign.list->cnt, msg);
      }
      metrics_->assigned_partitions.fetch_add(assign.list->cnt, std::memory_order_relaxed);
    }
    if (unresolved.empty()) {
      resolve_failing_since_ms_ = -1;
      return absl::OkStatus();
    }
    if (resolve_failing_since_ms_ < 0) resolve_failing_since_ms_ = now;
    std::vector<std::string> names;
    for (Partition* p : unresolved) names.push_back(Describe(*p));
    if (now - resolve_failing_since_ms_ >= opts_.request_timeout_ms) {
      return UnavailableF(
          "kafka source {}: cannot resolve the starting/stopping offsets of {} for {} ms:{}",
          Where(), fmt::join(names, ", "), now - resolve_failing_since_ms_, failure);
    }
    spdlog::warn("kafka source {}: resolving offsets of {} failed, retrying:{}", Where(),
                 fmt::join(names, ", "), failure);
    next_resolve_ms_ = now + kResolveRetryMs;
    return absl::OkStatus();
  }

  bool AllFinished() const {
    if (!no_more_splits_) return false;
    {
      std::lock_guard<std::mutex> lock(added_mu_);
      if (!added_.empty()) return false;
    }
    for (const auto& p : partitions_) {
      if (p->status != SplitStatus::kFinished) return false;
    }
    return true;
  }

  absl::StatusOr<bool> End(api::Output& out) {
    done_ = true;
    last_watermark_ = api::kMaxWatermark;
    RETURN_IF_ERROR(out.EmitWatermark(api::kMaxWatermark));
    return false;
  }

  void FinishPartition(Partition* p) {
    if (p->status != SplitStatus::kAssigned) return;
    p->status = SplitStatus::kFinished;
    p->next_offset = std::max(p->next_offset, p->stopping_offset);
    to_unassign_.push_back(p);
    metrics_->assigned_partitions.fetch_sub(1, std::memory_order_relaxed);
  }

  void ApplyUnassigns() {
    if (to_unassign_.empty()) return;
    PartitionList list(static_cast<int>(to_unassign_.size()));
    for (Partition* p : to_unassign_) list.Add(*p, RD_KAFKA_OFFSET_INVALID);
    to_unassign_.clear();
    rd_kafka_error_t* error = rd_kafka_incremental_unassign(rk_, list.list);
    if (error != nullptr) {
      // Not fatal: records of a finished split that still arrive are dropped.
      spdlog::warn("kafka source {}: unassigning finished partitions: {}", Where(),
                   rd_kafka_error_string(error));
      rd_kafka_error_destroy(error);
    }
  }

  // ---- records ----------------------------------------------------------------------------

  Partition* Lookup(rd_kafka_topic_t* rkt, int32_t partition) {
    const char* name = rd_kafka_topic_name(rkt);
    // The handle pointer is librdkafka's per-topic object: consecutive messages mostly share
    // it. The name comparison guards against a freed handle's address being reused.
    if (rkt == cache_rkt_ && partition == cache_partition_ &&
        (cache_ == nullptr ? cache_topic_ == name : cache_->topic == name)) {
      return cache_;
    }
    cache_rkt_ = rkt;
    cache_partition_ = partition;
    cache_ = Find(std::string_view(name), partition);
    if (cache_ == nullptr) cache_topic_ = name;  // rare: records of a split no longer held
    return cache_;
  }

  absl::Status HandleMessage(rd_kafka_message_t* m, int64_t now) {
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) return HandleEvent(m);
    Partition* p = Lookup(m->rkt, m->partition);
    if (p == nullptr || p->status != SplitStatus::kAssigned) return absl::OkStatus();
    if (m->offset < p->next_offset) return absl::OkStatus();  // already emitted
    if (p->stopping_offset >= 0 && m->offset >= p->stopping_offset) {
      FinishPartition(p);
      return absl::OkStatus();
    }
    ++records_;
    bytes_ += static_cast<int64_t>(m->len + m->key_len);
    p->next_offset = m->offset + 1;
    p->last_active_ms = now;
    p->idle = false;
    if (m->payload == nullptr) {
      metrics_->records_null_skipped.fetch_add(1, std::memory_order_relaxed);
    } else {
      std::string_view value(static_cast<const char*>(m->payload), m->len);
      absl::Status st = decoder_->Decode(value, &batch_);
      if (st.ok()) st = StampEventTime(p, m);
      if (!st.ok()) RETURN_IF_ERROR(BadRecord(*p, m, st));
    }
    if (p->stopping_offset >= 0 && p->next_offset >= p->stopping_offset) FinishPartition(p);
    return absl::OkStatus();
  }

  // Sets the event time of the row just decoded and feeds the partition's watermarks. On a
  // missing Kafka timestamp removes the row and returns the reason.
  absl::Status StampEventTime(Partition* p, const rd_kafka_message_t* m) {
    if (opts_.event_time == EventTimeSource::kNone) return absl::OkStatus();
    const size_t row = batch_.num_rows() - 1;
    int64_t ts = 0;
    if (opts_.event_time == EventTimeSource::kField) {
      ts = batch_.GetInt64(row, static_cast<size_t>(event_time_col_));
    } else {
      rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
      ts = rd_kafka_message_timestamp(m, &type);
      if (type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE) {
        batch_.PopRow();
        return absl::InvalidArgumentError(
            "the message has no timestamp (event time comes from the Kafka record timestamp)");
      }
    }
    batch_.SetTimestamp(row, ts);
    p->watermarks.OnEvent(ts);
    p->max_event_time = std::max(p->max_event_time, ts);
    return absl::OkStatus();
  }

  absl::Status BadRecord(const Partition& p, const rd_kafka_message_t* m,
                         const absl::Status& reason) {
    switch (opts_.bad_records) {
      case BadRecordPolicy::kFail:
        return InvalidArgumentF("kafka source: topic '{}' partition {} offset {}: {}", p.topic,
                                p.partition, m->offset, reason.message());
      case BadRecordPolicy::kSkip:
        if (metrics_->records_skipped.fetch_add(1, std::memory_order_relaxed) == 0) {
          spdlog::warn(
              "kafka source {}: skipping bad records (bad-records: skip); the first: topic '{}' "
              "partition {} offset {}: {}",
              Where(), p.topic, p.partition, m->offset, reason.message());
        }
        return absl::OkStatus();
      case BadRecordPolicy::kDeadLetter: {
        DeadLetterRecord r;
        r.topic = p.topic;
        r.partition = p.partition;
        r.offset = m->offset;
        rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
        r.timestamp_ms = rd_kafka_message_timestamp(m, &type);
        if (type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE) r.timestamp_ms = -1;
        if (m->key != nullptr)
          r.key = std::string_view(static_cast<const char*>(m->key), m->key_len);
        r.value = std::string_view(static_cast<const char*>(m->payload), m->len);
        r.error = std::string_view(reason.message().data(), reason.message().size());
        absl::Status st = opts_.dead_letter_sink->Write(r);
        if (!st.ok()) {
          return Errorf(st.code(),
                        "kafka source: dead-letter sink refused topic '{}' partition {} offset "
                        "{}: {}",
                        p.topic, p.partition, m->offset, st.message());
        }
        metrics_->records_dead_lettered.fetch_add(1, std::memory_order_relaxed);
        return absl::OkStatus();
      }
    }
    return absl::OkStatus();
  }

  absl::Status HandleEvent(const rd_kafka_message_t* m) {
    const std::string where =
        m->rkt != nullptr
            ? fmt::format("topic '{}' partition {}", rd_kafka_topic_name(m->rkt), m->partition)
            : std::string("consumer");
    switch (m->err) {
      case RD_KAFKA_RESP_ERR__PARTITION_EOF: {
        if (m->rkt == nullptr) return absl::OkStatus();
        Partition* p = Lookup(m->rkt, m->partition);
        if (p != nullptr && p->status == SplitStatus::kAssigned && p->stopping_offset >= 0 &&
            m->offset >= p->stopping_offset) {
          FinishPartition(p);
        }
        return absl::OkStatus();
      }
      case RD_KAFKA_RESP_ERR__FATAL: {
        char reason[512] = {0};
        rd_kafka_fatal_error(rk_, reason, sizeof(reason));
        return InternalF("kafka source {}: fatal consumer error: {}", Where(), reason);
      }
      case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
        return InternalF(
            "kafka source {}: {}: {} (the offset to read is no longer in the partition, e.g. "
            "removed by retention, and auto.offset.reset=error)",
            Where(), where, rd_kafka_message_errstr(m));
      // Not GROUP_AUTHORIZATION_FAILED: the group only serves optional commits (counted when
      // they fail) and group-offsets starts (which fail on their own), and the default group
      // id may well lack ACLs.
      case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
      case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
        return FailedPreconditionF("kafka source {}: {}: {}", Where(), where,
                                   rd_kafka_message_errstr(m));
      default:
        break;
    }
    // Transient (broker down, leader moving, ...): librdkafka retries. Log, but not a flood.
    const int64_t now = now_ms_();
    if (now - last_warn_ms_ >= kWarnEveryMs) {
      spdlog::warn("kafka source {}: {}: {} ({} similar warnings suppressed)", Where(), where,
                   rd_kafka_message_errstr(m), suppressed_warnings_);
      last_warn_ms_ = now;
      suppressed_warnings_ = 0;
    } else {
      ++suppressed_warnings_;
    }
    return absl::OkStatus();
  }

  // ---- watermarks and lag -----------------------------------------------------------------

  absl::Status MaybeEmitWatermark(api::Output& out, int64_t now) {
    if (opts_.event_time == EventTimeSource::kNone) return absl::OkStatus();
    bool any = false;
    int64_t min = api::kMaxWatermark;
    for (const auto& p : partitions_) {
      if (p->status == SplitStatus::kFinished) continue;
      if (opts_.idle_timeout_ms > 0 && !p->idle &&
          now - p->last_active_ms >= opts_.idle_timeout_ms) {
        p->idle = true;
      }
      if (p->idle) continue;
      any = true;
      min = std::min(min, p->watermarks.CurrentWatermark());
    }
    // With an idle timeout, a subtask whose partitions are all idle (or that has had none for
    // that long) is IDLE downstream (Flink's WatermarkStatus), so it does not hold back the event
    // time of the operators after it; it is ACTIVE again with its first active partition.
    const bool idle = opts_.idle_timeout_ms > 0 && !any &&
                      (!partitions_.empty() || now - opened_ms_ >= opts_.idle_timeout_ms);
    if (idle != reported_idle_) {
      reported_idle_ = idle;
      RETURN_IF_ERROR(out.EmitWatermarkStatus(idle ? api::WatermarkStatus::kIdle
                                                   : api::WatermarkStatus::kActive));
    }
    if (!any || min <= last_watermark_) return absl::OkStatus();
    last_watermark_ = min;
    return out.EmitWatermark(min);
  }

  void RefreshLags() {
    std::vector<PartitionLag> lags;
    int64_t max_lag = -1;
    for (const auto& p : partitions_) {
      if (p->status != SplitStatus::kAssigned) continue;
      PartitionLag l;
      l.topic = p->topic;
      l.partition = p->partition;
      l.next_offset = p->next_offset;
      int64_t low = -1;
      int64_t high = -1;
      if (rd_kafka_get_watermark_offsets(rk_, p->topic.c_str(), p->partition, &low, &high) ==
              RD_KAFKA_RESP_ERR_NO_ERROR &&
          high >= 0) {
        l.high_watermark = high;
        l.lag = std::max<int64_t>(0, high - p->next_offset);
        max_lag = std::max(max_lag, l.lag);
      }
      lags.push_back(std::move(l));
    }
    metrics_->records_lag_max.store(max_lag, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(lags_mu_);
    lags_ = std::move(lags);
  }

  KafkaSourceOptions opts_;
  KafkaSourceMetrics* metrics_;  // owned by the KafkaSource, outlives this
  api::OperatorContext ctx_;
  std::function<int64_t()> now_ms_;
  std::unique_ptr<RecordDecoder> decoder_;
  std::optional<TopicSelector> selector_;  // set by Validate
  int event_time_col_ = -1;
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

// ---------------------------------------------------------------------------------------------

KafkaSource::KafkaSource(KafkaSourceOptions opts)
    : metrics_(std::make_shared<KafkaSourceMetrics>()) {
  impl_ = std::make_unique<Impl>(std::move(opts), metrics_.get());
}

KafkaSource::~KafkaSource() = default;

core::SchemaPtr KafkaSource::output_schema() const { return impl_->opts().schema; }

absl::Status KafkaSource::Open(const api::OperatorContext& ctx) { return impl_->Open(ctx); }

absl::StatusOr<bool> KafkaSource::PollNext(api::Output& out) { return impl_->PollNext(out); }

void KafkaSource::Close() { impl_->Close(); }

absl::StatusOr<std::string> KafkaSource::SnapshotState(int64_t checkpoint_id) {
  return impl_->SnapshotState(checkpoint_id);
}

absl::Status KafkaSource::NotifyCheckpointComplete(int64_t checkpoint_id) {
  return impl_->NotifyCheckpointComplete(checkpoint_id);
}

void KafkaSource::AddSplits(std::vector<KafkaPartitionSplit> splits) {
  impl_->AddSplits(std::move(splits));
}

void KafkaSource::NotifyNoMoreSplits() { impl_->NotifyNoMoreSplits(); }

absl::Status KafkaSource::HandleOperatorEvent(std::string_view event) {
  ASSIGN_OR_RETURN(KafkaReaderEvent e, DecodeReaderEvent(event));
  if (!e.splits.empty()) impl_->AddSplits(std::move(e.splits));
  if (e.no_more_splits) impl_->NotifyNoMoreSplits();
  return absl::OkStatus();
}

std::vector<PartitionLag> KafkaSource::PartitionLags() const { return impl_->PartitionLags(); }

std::vector<KafkaPartitionSplit> KafkaSource::CurrentSplits() const {
  return impl_->CurrentSplits();
}

int64_t KafkaSource::CurrentWatermark() const { return impl_->CurrentWatermark(); }

bool KafkaSource::IsIdle() const { return impl_->IsIdle(); }

std::map<std::string, int64_t> KafkaSource::Gauges() const {
  const KafkaSourceMetrics& m = *metrics_;
  std::map<std::string, int64_t> g = {
      {"kafka.records-lag-max", m.records_lag_max.load(std::memory_order_relaxed)},
      {"kafka.records-consumed-total", m.records_in.load(std::memory_order_relaxed)},
      {"kafka.bytes-consumed-total", m.bytes_in.load(std::memory_order_relaxed)},
      {"kafka.records-skipped", m.records_skipped.load(std::memory_order_relaxed)},
      {"kafka.records-dead-lettered", m.records_dead_lettered.load(std::memory_order_relaxed)},
      {"kafka.records-null-skipped", m.records_null_skipped.load(std::memory_order_relaxed)},
      {"kafka.assigned-partitions", m.assigned_partitions.load(std::memory_order_relaxed)},
      {"kafka.commits-succeeded", m.commits_succeeded.load(std::memory_order_relaxed)},
      {"kafka.commits-failed", m.commits_failed.load(std::memory_order_relaxed)}};
  for (const PartitionLag& l : PartitionLags()) {
    if (l.lag >= 0) g[fmt::format("kafka.{}.{}.records-lag", l.topic, l.partition)] = l.lag;
  }
  return g;
}

std::unique_ptr<KafkaSource> MakeKafkaSource(KafkaSourceOptions opts) {
  return std::make_unique<KafkaSource>(std::move(opts));
}

}  // namespace sluice::connectors::kafka

#include "runtime/connectors/kafka/kafka_source_impl.h"

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

absl::StatusOr<bool> KafkaSource::Impl::PollNext(api::Output& out) {
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
  more_available_ = !limiter_ && handled == limit;
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

void KafkaSource::Impl::Close() {
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

absl::StatusOr<std::string> KafkaSource::Impl::SnapshotState(int64_t checkpoint_id) {
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

absl::Status KafkaSource::Impl::NotifyCheckpointComplete(int64_t checkpoint_id) {
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

void KafkaSource::Impl::AddSplits(std::vector<KafkaPartitionSplit> splits) {
  std::lock_guard<std::mutex> lock(added_mu_);
  for (KafkaPartitionSplit& s : splits) added_.push_back(std::move(s));
}

void KafkaSource::Impl::NotifyNoMoreSplits() {
  std::lock_guard<std::mutex> lock(added_mu_);
  no_more_splits_requested_ = true;
}

std::vector<PartitionLag> KafkaSource::Impl::PartitionLags() const {
  std::lock_guard<std::mutex> lock(lags_mu_);
  return lags_;
}

std::vector<KafkaPartitionSplit> KafkaSource::Impl::CurrentSplits() const {
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

bool KafkaSource::Impl::IsIdle() const {
  for (const auto& p : partitions_) {
    if (p->status != SplitStatus::kFinished && !p->idle) return false;
  }
  return true;
}

// "<task> (<subtask+1>/<parallelism>)", as Flink names a subtask in logs.
std::string KafkaSource::Impl::Where() const {
  const std::string& name = !ctx_.task_name.empty() ? ctx_.task_name : ctx_.operator_name;
  return fmt::format("{} ({}/{})", name.empty() ? "source" : name, ctx_.subtask_index + 1,
                     ctx_.parallelism);
}

absl::Status KafkaSource::Impl::Validate() {
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
    ASSIGN_OR_RETURN(event_time_, operators::EventTimeExtractor::Create(
                                      *opts_.schema, opts_.event_time_spec, "kafka source"));
  }
  return absl::OkStatus();
}

absl::Status KafkaSource::Impl::CreateConsumer() {
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
  // Fetch requests are small writes that Nagle's algorithm would hold back (issue 15).
  add_default("socket.nagle.disable", "true");
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

void KafkaSource::Impl::OnCommit(rd_kafka_t* /*rk*/, rd_kafka_resp_err_t err,
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

void KafkaSource::Impl::AdoptRestored(const RestoredSplit& r, int64_t now) {
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

absl::Status KafkaSource::Impl::Restore(const std::string& blob, int64_t now) {
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

absl::Status KafkaSource::Impl::RestoreRescaled(const std::vector<std::string>& blobs, int64_t now) {
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

// ---------------------------------------------------------------------------------------------

KafkaSource::KafkaSource(KafkaSourceOptions opts)
    : metrics_(std::make_shared<KafkaSourceMetrics>()) {
  impl_ = std::make_unique<Impl>(std::move(opts), metrics_.get());
}

KafkaSource::~KafkaSource() = default;

core::SchemaPtr KafkaSource::output_schema() const { return impl_->opts().schema; }

absl::Status KafkaSource::Open(const api::OperatorContext& ctx) { return impl_->Open(ctx); }

absl::StatusOr<bool> KafkaSource::PollNext(api::Output& out) { return impl_->PollNext(out); }

bool KafkaSource::MoreAvailable() const { return impl_->more_available(); }

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

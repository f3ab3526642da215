// KafkaSource::Impl: splits (discovery, starting offsets, assignment, end).
#include "runtime/connectors/kafka/kafka_source_impl.h"

namespace sluice::connectors::kafka {

size_t KafkaSource::Impl::IndexOf(const std::vector<Partition*>& parts,
                                  const rd_kafka_topic_partition_t& tp) {
  for (size_t k = 0; k < parts.size(); ++k) {
    if (parts[k]->partition == tp.partition && parts[k]->topic == tp.topic) return k;
  }
  return parts.size();
}

Partition* KafkaSource::Impl::Find(std::string_view topic, int32_t partition) const {
  auto it = index_.find(topic);
  if (it == index_.end() || partition < 0 ||
      static_cast<size_t>(partition) >= it->second.size()) {
    return nullptr;
  }
  return it->second[static_cast<size_t>(partition)];
}

Partition* KafkaSource::Impl::AddPartition(const KafkaPartitionSplit& s, int64_t now) {
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

void KafkaSource::Impl::DrainAddedSplits(int64_t now) {
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

KafkaPartitionSplit KafkaSource::Impl::StartFor(const std::string& topic, int32_t partition) const {
  bool is_new = discovered_;
  if (!is_new && rescaled_) {
    is_new = old_discovered_[KafkaSplitOwner(topic, partition, old_parallelism_)];
  }
  return SplitStartingAt(opts_, topic, partition, /*configured_start=*/!is_new);
}

absl::Status KafkaSource::Impl::MaybeDiscover(int64_t now) {
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

absl::Status KafkaSource::Impl::ListOffsets(const std::vector<Partition*>& parts,
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

absl::Status KafkaSource::Impl::ResolveAndAssign(int64_t now) {
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

bool KafkaSource::Impl::AllFinished() const {
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

absl::StatusOr<bool> KafkaSource::Impl::End(api::Output& out) {
  // Dead letters are delivered before the source reports its end (not only at checkpoints): a
  // bounded job without checkpoints would otherwise finish with letters still in the producer.
  if (opts_.dead_letter_sink != nullptr) RETURN_IF_ERROR(opts_.dead_letter_sink->Flush());
  done_ = true;
  last_watermark_ = api::kMaxWatermark;
  RETURN_IF_ERROR(out.EmitWatermark(api::kMaxWatermark));
  return false;
}

void KafkaSource::Impl::FinishPartition(Partition* p) {
  if (p->status != SplitStatus::kAssigned) return;
  p->status = SplitStatus::kFinished;
  p->next_offset = std::max(p->next_offset, p->stopping_offset);
  to_unassign_.push_back(p);
  metrics_->assigned_partitions.fetch_sub(1, std::memory_order_relaxed);
}

void KafkaSource::Impl::ApplyUnassigns() {
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

Partition* KafkaSource::Impl::Lookup(rd_kafka_topic_t* rkt, int32_t partition) {
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

}  // namespace sluice::connectors::kafka

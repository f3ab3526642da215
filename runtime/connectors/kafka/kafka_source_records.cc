// KafkaSource::Impl: messages (records, event time, bad records, events), watermarks and lag.
#include "runtime/connectors/kafka/kafka_source_impl.h"

namespace sluice::connectors::kafka {

absl::Status KafkaSource::Impl::HandleMessage(rd_kafka_message_t* m, int64_t now) {
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
    if (absl::IsUnavailable(st)) {
      // A schema registry outage is not the record's fault: fail the task (the restart strategy
      // retries from the last checkpoint) rather than skip or dead-letter the record.
      return UnavailableF("kafka source: topic '{}' partition {} offset {}: {}", p->topic,
                          p->partition, m->offset, st.message());
    }
    if (st.ok()) st = StampEventTime(p, m);
    if (!st.ok()) RETURN_IF_ERROR(BadRecord(*p, m, st));
  }
  if (p->stopping_offset >= 0 && p->next_offset >= p->stopping_offset) FinishPartition(p);
  return absl::OkStatus();
}

absl::Status KafkaSource::Impl::StampEventTime(Partition* p, const rd_kafka_message_t* m) {
  if (opts_.event_time == EventTimeSource::kNone) return absl::OkStatus();
  const size_t row = batch_.num_rows() - 1;
  int64_t ts = 0;
  if (opts_.event_time == EventTimeSource::kField) {
    absl::StatusOr<int64_t> t = event_time_->Timestamp(batch_, row);
    if (!t.ok()) {
      batch_.PopRow();
      return t.status();
    }
    ts = *t;
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

absl::Status KafkaSource::Impl::BadRecord(const Partition& p, const rd_kafka_message_t* m,
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

absl::Status KafkaSource::Impl::HandleEvent(const rd_kafka_message_t* m) {
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

absl::Status KafkaSource::Impl::MaybeEmitWatermark(api::Output& out, int64_t now) {
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

void KafkaSource::Impl::RefreshLags() {
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

}  // namespace sluice::connectors::kafka

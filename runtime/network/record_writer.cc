#include "runtime/network/record_writer.h"
#include "runtime/network/task_io_metrics.h"

#include "runtime/base/clock.h"
#include "runtime/core/key_groups.h"

namespace sluice::network {

RecordWriter::RecordWriter(core::SchemaPtr schema, RecordWriterOptions options,
                           std::vector<std::unique_ptr<OutputChannel>> channels,
                           api::OperatorMetrics* metrics)
    : options_(std::move(options)),
      channels_(std::move(channels)),
      sent_watermark_(channels_.size(), api::kMinWatermark),
      metrics_(metrics) {
  pending_.reserve(channels_.size());
  for (size_t i = 0; i < channels_.size(); ++i) pending_.emplace_back(schema);
  round_robin_ = static_cast<size_t>(options_.subtask_index) % std::max<size_t>(1, channels_.size());
  // Flink's POINTWISE distribution for RescalePartitioner.
  const size_t q = channels_.size();
  const size_t p = static_cast<size_t>(std::max(1, options_.num_producers));
  const size_t i = static_cast<size_t>(options_.subtask_index);
  if (q >= p) {
    rescale_first_ = i * q / p;
    rescale_count_ = std::max<size_t>(1, (i + 1) * q / p - rescale_first_);
  } else {
    rescale_first_ = i * q / p;
    rescale_count_ = 1;
  }
  round_robin_ = options_.partitioner == graph::PartitionerKind::kRescale ? 0 : round_robin_;
  if (options_.partitioner == graph::PartitionerKind::kHash) {
    key_group_tag_ = options_.key_selector->KeyGroupTag(options_.max_parallelism);
    key_groups_of_.resize(channels_.size());
  }
  next_flush_ms_ = MonotonicMillis() + options_.buffer_timeout_ms;
}

size_t RecordWriter::NextTarget() {
  const size_t n = channels_.size();
  size_t target;
  switch (options_.partitioner) {
    case graph::PartitionerKind::kForward:
      return n == 1 ? 0 : static_cast<size_t>(options_.subtask_index);
    case graph::PartitionerKind::kRebalance:
      target = round_robin_;
      round_robin_ = round_robin_ + 1 == n ? 0 : round_robin_ + 1;
      return target;
    case graph::PartitionerKind::kRescale:
      target = rescale_first_ + round_robin_;
      round_robin_ = round_robin_ + 1 == rescale_count_ ? 0 : round_robin_ + 1;
      return target;
    case graph::PartitionerKind::kHash:       // PartitionByKeyGroup
    case graph::PartitionerKind::kBroadcast:  // not called for broadcast
      break;
  }
  return 0;
}

void RecordWriter::PartitionByKeyGroup(const core::RecordBatch& batch) {
  const size_t n = channels_.size();
  for (auto& v : key_groups_of_) v.clear();
  for (size_t r = 0, rows = batch.num_rows(); r < rows; ++r) {
    const int32_t kg = options_.key_selector->KeyGroup(batch, r, options_.max_parallelism);
    const auto target = static_cast<size_t>(core::ComputeOperatorIndexForKeyGroup(
        options_.max_parallelism, static_cast<int32_t>(n), kg));
    rows_of_[target].push_back(static_cast<uint32_t>(batch.physical_row(r)));
    key_groups_of_[target].push_back(static_cast<uint16_t>(kg));
  }
}

absl::Status RecordWriter::Emit(const core::RecordBatch& batch) {
  const size_t rows = batch.num_rows();
  const size_t n = channels_.size();
  // Rows per consumer, as physical rows of `batch` in order; then one gather per column.
  if (rows_of_.size() != n) rows_of_.resize(n);
  for (auto& v : rows_of_) v.clear();
  if (options_.partitioner == graph::PartitionerKind::kBroadcast) {
    for (size_t r = 0; r < rows; ++r) {
      const auto p = static_cast<uint32_t>(batch.physical_row(r));
      for (auto& v : rows_of_) v.push_back(p);
    }
  } else if (options_.partitioner == graph::PartitionerKind::kHash) {
    PartitionByKeyGroup(batch);
  } else {
    for (size_t r = 0; r < rows; ++r) {
      rows_of_[NextTarget()].push_back(static_cast<uint32_t>(batch.physical_row(r)));
    }
  }
  for (size_t target = 0; target < n; ++target) {
    const std::vector<uint32_t>& sel = rows_of_[target];
    if (sel.empty()) continue;
    pending_[target].AppendRows(batch, sel.data(), sel.size());
    if (key_group_tag_ != 0) {
      pending_[target].AppendKeyGroups(key_group_tag_, key_groups_of_[target].data(), sel.size());
    }
    if (pending_[target].ByteSize() >= options_.buffer_bytes) {
      if (auto s = FlushChannel(target); !s.ok()) return s;
    }
  }
  if (metrics_) metrics_->records_out.fetch_add(static_cast<int64_t>(rows), std::memory_order_relaxed);
  if (options_.buffer_timeout_ms == 0) return FlushAll();
  return absl::OkStatus();
}

absl::Status RecordWriter::EmitWatermark(int64_t watermark) {
  if (watermark > watermark_) watermark_ = watermark;
  if (TaskIoMetrics* io = ThreadTaskIoMetrics()) {
    io->current_output_watermark.store(watermark_, std::memory_order_relaxed);
  }
  if (options_.buffer_timeout_ms == 0) return FlushAll();
  return absl::OkStatus();
}

absl::Status RecordWriter::EmitWatermarkStatus(api::WatermarkStatus status) {
  if (auto s = FlushAll(); !s.ok()) return s;
  for (auto& ch : channels_) {
    NetworkEvent ev;
    ev.kind = NetworkEvent::Kind::kWatermarkStatus;
    ev.idle = status == api::WatermarkStatus::kIdle;
    if (auto s = ch->Send(std::move(ev)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status RecordWriter::FlushChannel(size_t target) {
  core::RecordBatch& b = pending_[target];
  if (!b.empty()) {
    NetworkEvent ev;
    ev.kind = NetworkEvent::Kind::kBuffer;
    int64_t bytes;
    if (channels_[target]->InProcess()) {
      // Hand the batch over as it is; the next one starts with the same capacity.
      bytes = static_cast<int64_t>(b.ByteSize());
      const size_t rows = b.num_rows();
      ev.batch = std::make_shared<core::RecordBatch>(std::move(b));
      b = core::RecordBatch(ev.batch->schema_ptr());
      b.Reserve(rows, *ev.batch);
    } else {
      b.SerializeTo(&ev.buffer);
      bytes = static_cast<int64_t>(ev.buffer.size());
      b.Clear();
    }
    if (metrics_) metrics_->bytes_out.fetch_add(bytes, std::memory_order_relaxed);
    if (auto s = channels_[target]->Send(std::move(ev)); !s.ok()) return s;
  }
  if (watermark_ > sent_watermark_[target]) {
    NetworkEvent ev;
    ev.kind = NetworkEvent::Kind::kWatermark;
    ev.watermark = watermark_;
    sent_watermark_[target] = watermark_;
    if (auto s = channels_[target]->Send(std::move(ev)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status RecordWriter::FlushAll() {
  for (size_t i = 0; i < channels_.size(); ++i) {
    if (auto s = FlushChannel(i); !s.ok()) return s;
  }
  next_flush_ms_ = MonotonicMillis() + options_.buffer_timeout_ms;
  return absl::OkStatus();
}

absl::Status RecordWriter::BroadcastBarrier(int64_t checkpoint_id, bool savepoint, bool native) {
  if (auto s = FlushAll(); !s.ok()) return s;
  for (auto& ch : channels_) {
    NetworkEvent ev;
    ev.kind = NetworkEvent::Kind::kBarrier;
    ev.checkpoint_id = checkpoint_id;
    ev.savepoint = savepoint;
    ev.native = native;
    if (auto s = ch->Send(std::move(ev)); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status RecordWriter::FlushIfDue(int64_t now_ms) {
  if (now_ms < next_flush_ms_) return absl::OkStatus();
  return FlushAll();
}

bool RecordWriter::HasPending() const {
  for (size_t i = 0; i < channels_.size(); ++i) {
    if (!pending_[i].empty() || watermark_ > sent_watermark_[i]) return true;
  }
  return false;
}

int64_t RecordWriter::MillisUntilFlush(int64_t now_ms) const {
  return std::max<int64_t>(0, next_flush_ms_ - now_ms);
}

absl::Status RecordWriter::Finish(bool drain) {
  if (auto s = FlushAll(); !s.ok()) return s;
  for (auto& ch : channels_) {
    NetworkEvent ev;
    ev.kind = NetworkEvent::Kind::kEndOfPartition;
    ev.drain = drain;
    if (auto s = ch->Send(std::move(ev)); !s.ok()) return s;
  }
  for (auto& ch : channels_) {
    if (auto s = ch->Close(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

void RecordWriter::Cancel() {
  for (auto& ch : channels_) ch->Cancel();
}

}  // namespace sluice::network

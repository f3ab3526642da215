#pragma once
// RecordWriter: writes one job edge leaving a task (Flink's RecordWriter + ChannelSelector +
// OutputFlusher); a task has one per outgoing edge. Partitions the rows of each emitted batch
// into one pending batch per consumer subtask:
//   FORWARD   -> the consumer with this subtask's index,
//   REBALANCE -> round robin over consumers, row by row, starting at this subtask's index,
//   HASH      -> key group of the row's key (Flink's KeyGroupRangeAssignment) -> operator index,
//   BROADCAST -> every consumer,
//   RESCALE   -> round robin over this producer's consumer group (see graph::PartitionerKind).
// Each emitted batch is split column by column: the consumer of every row first, then one gather
// per column and consumer (RecordBatch::AppendRows). A pending batch is serialised and sent once
// it reaches `buffer_bytes` (so it may exceed it by one emitted batch's share), when the buffer timeout
// expires (FlushIfDue; 0 = flush after every emitted batch), and before end of partition.
// Watermarks are sent lazily after the data they follow, at the next flush (never reordered
// before data; delaying a watermark is always safe, and it saves small buffers).
//
// Threading: the owning task's thread only.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtime/core/key_selector.h"
#include "runtime/core/record_batch.h"
#include "runtime/graph/stream_graph.h"
#include "runtime/network/channels.h"
#include "runtime/api/operator.h"

namespace sluice::network {

struct RecordWriterOptions {
  graph::PartitionerKind partitioner = graph::PartitionerKind::kForward;
  std::optional<core::KeySelector> key_selector;  // kHash only
  int max_parallelism = 128;
  int subtask_index = 0;
  int num_producers = 1;  // parallelism of the producing vertex (kRescale groups)
  int64_t buffer_timeout_ms = 5;
  size_t buffer_bytes = 32 * 1024;
};

class RecordWriter : public api::Output {
 public:
  RecordWriter(core::SchemaPtr schema, RecordWriterOptions options,
               std::vector<std::unique_ptr<OutputChannel>> channels,
               api::OperatorMetrics* metrics);

  absl::Status Emit(const core::RecordBatch& batch) override;
  absl::Status EmitWatermark(int64_t watermark) override;
  // Flushes pending data and watermarks, then sends the status on every channel.
  absl::Status EmitWatermarkStatus(api::WatermarkStatus status) override;
  // Flushes everything if the buffer timeout has passed since the last full flush.
  absl::Status FlushIfDue(int64_t now_ms);
  // Rows or a watermark wait in a buffer for the next flush.
  bool HasPending() const;
  // Milliseconds until FlushIfDue would flush (for the task's wait), >= 0.
  int64_t MillisUntilFlush(int64_t now_ms) const;
  absl::Status FlushAll();
  // Flushes all data and watermarks, then sends barrier `checkpoint_id` on every channel, so
  // that each consumer sees exactly the records before the barrier first.
  absl::Status BroadcastBarrier(int64_t checkpoint_id, bool savepoint = false, bool native = false);
  // Flushes and sends end of partition on every channel, then closes them. `drain` false: the
  // producer stopped with a savepoint, consumers must not flush event time.
  absl::Status Finish(bool drain = true);
  void Cancel();

 private:
  // The consumer of the next row for FORWARD, REBALANCE and RESCALE.
  size_t NextTarget();
  // kHash: fills rows_of_ and key_groups_of_ from the key group of every row.
  void PartitionByKeyGroup(const core::RecordBatch& batch);
  absl::Status FlushChannel(size_t target);

  RecordWriterOptions options_;
  std::vector<std::unique_ptr<OutputChannel>> channels_;
  std::vector<core::RecordBatch> pending_;
  std::vector<int64_t> sent_watermark_;
  int64_t watermark_ = api::kMinWatermark;
  size_t round_robin_ = 0;
  // kRescale: this producer's consumers are [rescale_first_, rescale_first_ + rescale_count_).
  size_t rescale_first_ = 0;
  size_t rescale_count_ = 1;
  int64_t next_flush_ms_ = 0;
  std::string scratch_;
  std::vector<std::vector<uint32_t>> rows_of_;  // per consumer, reused per emitted batch
  // kHash: the key groups of rows_of_, attached to the pending batches for the consumer's keyed
  // operator (RecordBatch::AppendKeyGroups) under key_group_tag_.
  std::vector<std::vector<uint16_t>> key_groups_of_;
  uint64_t key_group_tag_ = 0;
  api::OperatorMetrics* metrics_;
};

}  // namespace sluice::network

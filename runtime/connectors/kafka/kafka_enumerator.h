#pragma once
// KafkaSplitEnumerator: the JobMaster side of the Kafka source (Flink's KafkaSourceEnumerator,
// FLIP-27). One per Kafka source vertex of a job; it discovers the partitions of the source's
// topics (a list or a pattern) and assigns each to exactly one reader subtask, which reads it
// with manual assignment (kafka_source.h, SplitAssignment::kEnumerator).
//
// Assignment: partition p of topic t goes to reader KafkaSplitOwner(t, p, parallelism), Flink's
// getSplitOwner, so the same partitions land on the same subtasks as with Flink and as the
// readers' own rescaling restore expects. Assignments are never revoked.
//
// Discovery runs on the enumerator's own thread (never on the JobMaster's threads): one
// Metadata request at Start, then every `partition_discovery_interval_ms` (<= 0: only once).
// Each request waits at most min(request_timeout_ms, 5 s), so Close is prompt.
//   - Starting positions: the partitions of the FIRST discovery of a fresh start get the
//     configured `starting_offsets` (earliest, latest, timestamp, group-offsets); a partition
//     found by a later discovery (a new partition, or a new topic matching the pattern) starts
//     at its earliest offset, so none of its records is lost (Flink 1.18's behaviour). The
//     split carries the position symbolically (kEarliestOffset, kLatestOffset,
//     kTimestampOffset + timestamp, kCommittedOffset); the reader resolves it to a concrete
//     offset before it reads, and from then on its checkpoints hold the concrete offset.
//   - Bounded (`stop_at_latest`): discovery runs once; every split stops at the partition's end
//     as of its assignment (kLatestOffset, resolved by the reader), and every reader is told
//     "no more splits" together with its splits.
//   - Failures: while the first discovery fails (cluster unreachable), it is retried every
//     500 ms; after `request_timeout_ms` of failing, the job is failed through the context
//     (Unavailable, "kafka source '<uid>' enumerator: cannot list the topics of the cluster at
//     '<servers>' within <t> ms: <reason> (first discovery failing for <n> ms, request timeout
//     <t> ms)") and the retries go on (a restarted job gets its splits once the cluster
//     answers; the job is failed again after each further request timeout). In bounded mode a listed topic that does not exist fails the
//     job at once (NotFound). A failing periodic discovery only logs.
//
// Events to readers: kafka_common.h KafkaReaderEvent (splits and/or no-more-splits) through
// SplitEnumeratorContext::SendEventToReader. AddReader(i) re-sends every split assigned to i,
// with its original starting position (Flink's addSplitsBack): a reader ignores splits it
// already holds (restored from a checkpoint, or received before), and receives the ones that
// were assigned after the checkpoint it restored, or whose event was lost with its failed
// attempt.
//
// State (SnapshotState, "KFKN" version 1): whether the first discovery was done and every
// assigned split (topic, partition, starting offset, starting timestamp), independent of the
// parallelism, so a savepoint restores at any parallelism (owners are recomputed).
// RestoredWithoutState (a savepoint without enumerator state, from before the enumerator
// existed): the first discovery counts as done, so partitions the readers did not restore are
// new and start at their earliest offset, while the readers keep the offsets of the partitions
// they restored (AddSplits ignores those). In bounded mode the readers then read only what they
// restored.
//
// Threading: the api::SplitEnumerator methods are called from the JobMaster's executor
// thread and never block on the network; AssignedSplits and FirstDiscoveryDone from any
// thread. The discovery thread calls the context. The destructor stops and joins the thread
// (up to one request timeout, at most 5 s).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/connectors/kafka/kafka_source.h"
#include "runtime/api/split_enumerator.h"

namespace sluice::connectors::kafka {

class KafkaSplitEnumerator final : public api::SplitEnumerator {
 public:
  // Uses of `opts`: bootstrap_servers, topics / topic_pattern, properties (security and
  // connection settings; consumer-only ones are harmless), starting_offsets,
  // starting_timestamp_ms, stop_at_latest, partition_discovery_interval_ms,
  // request_timeout_ms. `uid` names the source in logs and the client id
  // ("sluice-<uid>-enumerator"). InvalidArgument for bad options (topics and pattern, no
  // bootstrap servers, a property librdkafka refuses).
  static absl::StatusOr<std::unique_ptr<KafkaSplitEnumerator>> Create(
      const KafkaSourceOptions& opts, const std::string& uid,
      api::SplitEnumeratorContext* context);
  ~KafkaSplitEnumerator() override;
  KafkaSplitEnumerator(const KafkaSplitEnumerator&) = delete;
  KafkaSplitEnumerator& operator=(const KafkaSplitEnumerator&) = delete;

  absl::Status RestoreState(std::string_view state) override;
  void RestoredWithoutState() override;
  absl::Status Start() override;
  void AddReader(int32_t subtask) override;
  absl::StatusOr<std::string> SnapshotState(int64_t checkpoint_id) override;
  void Close() override;

  // Every split assigned so far, by topic then partition (starting positions as assigned).
  std::vector<KafkaPartitionSplit> AssignedSplits() const;
  bool FirstDiscoveryDone() const;

 private:
  class Impl;
  explicit KafkaSplitEnumerator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The factory a compiled Kafka source vertex carries (graph::JobVertex::enumerator).
api::SplitEnumeratorFactory MakeKafkaSplitEnumeratorFactory(KafkaSourceOptions opts,
                                                                  std::string uid);

}  // namespace sluice::connectors::kafka

#pragma once
// Kafka source: Flink's KafkaSource (FLIP-27) reader for one subtask, on librdkafka.
//
// Split model (FLIP-27): a split is one topic partition with a starting position and an
// optional stopping offset (Flink's KafkaPartitionSplit). A split enumerator decides which
// subtask reads which partition and hands splits to the readers (AddSplits); a reader consumes
// its partitions with MANUAL assignment (rd_kafka_incremental_assign of explicit partitions
// and offsets), never a consumer-group subscription, so no group rebalance ever moves a
// partition and the positions in checkpoints are the only truth. `enable.auto.commit` is
// always false.
//
// Split assignment, two modes (KafkaSourceOptions::split_assignment):
//   - kEnumerator (what compiled jobs use): the JobMaster's KafkaSplitEnumerator
//     (kafka_enumerator.h) discovers partitions and sends each reader its splits as operator
//     events (HandleOperatorEvent -> AddSplits / NotifyNoMoreSplits). The reader reads only the
//     splits it is given and those restored from a checkpoint; NotifyNoMoreSplits ends a
//     bounded read (Flink's SourceReader#notifyNoMoreSplits). A re-sent split it already holds
//     is ignored, so restored offsets win over the enumerator's starting position.
//   - kBuiltInDiscovery (the options' default, for a reader without a JobMaster, e.g. in unit
//     tests): the reader is its own enumerator. It lists the cluster's topics (one Metadata
//     request, kafka_common.h DiscoverPartitions) at the first PollNext and then every
//     `partition_discovery_interval_ms`, and takes the partitions of its topics (or of the
//     topics matching `topic_pattern`) that Flink's KafkaSourceEnumerator would give it:
//         owner(topic, partition) = (startIndex(topic) + partition) % parallelism,
//         startIndex(topic) = ((topic.hashCode() * 31) & 0x7FFFFFFF) % parallelism
//     (Java String.hashCode, see KafkaSplitOwner), so together the subtasks read every
//     partition exactly once, and a new partition goes to exactly one of them. The enumerator
//     assigns with the same function.
//
// Starting positions (`starting_offsets`): kEarliest (default), kLatest, kTimestamp (the first
// record with timestamp >= `starting_timestamp_ms`, by rd_kafka_offsets_for_times; where
// there is none, the end of the partition, as Flink's TimestampOffsetsInitializer), or
// kGroupOffsets (the offsets committed by `group.id`; partitions without one start at the
// earliest offset). They apply to the partitions found by the FIRST discovery of a fresh start
// (by the enumerator, or by the reader itself under kBuiltInDiscovery);
// a partition discovered later (a new partition or a new topic matching the pattern) starts
// at its earliest offset, so none of its records is lost (Flink 1.18's behaviour). Before a
// split is assigned, its start is resolved to a concrete offset (one ListOffsets request per
// batch of new splits, and one OffsetFetch for group offsets), so that a checkpoint taken
// before its first record still pins the position.
//
// Bounded mode (`stop_at_latest`, YAML `stop-at: latest`): each split stops at the partition's
// end offset (high watermark) as of when the split was assigned; discovery runs once. When all
// splits are finished the source emits kMaxWatermark and PollNext returns false, so a test or
// batch job finishes. (Flink's setBounded(OffsetsInitializer.latest()).)
//
// Checkpointing (Flink's KafkaSourceReader#snapshotState): SnapshotState returns, per split of
// this subtask, the next offset to read (a concrete offset once resolved), the stopping offset,
// whether it is finished, and its watermark generator's maximum event time; plus whether this
// subtask's first discovery had been done. Binary, magic "KFKS", version 1. Open with
// ctx.restored_state resumes every split exactly at its offset: restored offsets override the
// starting position. Rescaling (ctx.restored_union_states: the states of all old subtasks):
// each subtask takes the restored splits it owns at the new parallelism (KafkaSplitOwner), so
// every partition continues exactly once. A partition discovered after a restore that no
// restored state names starts at the configured position if its old owner had not done its
// first discovery yet, else at its earliest offset (it is new).
// Optional (`commit_offsets_on_checkpoint`, needs `group.id` in `properties`): when checkpoint
// n completes, the offsets of snapshot n are committed to Kafka (asynchronous
// rd_kafka_commit of explicit offsets), for monitoring tools and `group-offsets` starts; they
// are never used for restores. Failures are logged and counted, never fail the task (Flink's
// behaviour).
//
// Event time and watermarks: records get their event time from a schema field (timestamp or
// int64 ms) or from the Kafka record timestamp. Watermarks are generated PER PARTITION
// (Flink's per-split watermarks, BoundedOutOfOrdernessWatermarks each) and combined per
// subtask as the minimum over the partitions that are not idle and not finished. With
// `idle_timeout_ms` > 0, a partition without records for that long (processing time, also
// counted from its assignment) stops holding the watermark back until its next record
// (Flink's WatermarkStrategy#withIdleness). A watermark is emitted after each poll when the
// combined value advanced. When every partition is idle (or the subtask has none) the
// watermark stays where it is; IsIdle() reports that for the task (Sluice's channels have no
// idle stream status yet). A bounded source ends with kMaxWatermark. Without event time,
// records carry core::kNoTimestamp and the only watermark is that final kMaxWatermark.
//
// Bad records (a value the format cannot decode, or a missing Kafka timestamp when event time
// comes from it), `bad_records`:
//   - kFail (default): PollNext fails with InvalidArgument
//     "kafka source: topic 'flights' partition 2 offset 17: <reason>";
//   - kSkip: the record is dropped and counted (KafkaSourceMetrics::records_skipped); the
//     first one is logged with its reason;
//   - kDeadLetter: the raw record and its error go to `dead_letter_sink` (required), counted in
//     records_dead_lettered; an error from the sink fails the task.
// Tombstones (null message values) are skipped and counted (records_null_skipped), as Flink's
// formats do.
//
// Errors: Open: InvalidArgument for bad options (named), including librdkafka's refusal of a
// property. PollNext: InvalidArgument for a bad record under kFail; Unavailable when the
// cluster's metadata or a new split's offsets cannot be had for `request_timeout_ms` (first
// discovery, new splits; a failing periodic discovery only logs); NotFound when, in bounded
// mode, a listed topic does not exist; Internal for a fatal librdkafka error or a reset
// offset under `auto.offset.reset=error`. Transient broker errors are logged and retried by
// librdkafka.
//
// Hot path: PollNext drains librdkafka's consumer queue (rd_kafka_consumer_poll: waits at most
// `poll_timeout_ms` for the first message, then takes what is already fetched without waiting)
// into one reused RecordBatch of up to `batch_size` rows. Decoders reuse their buffers; the
// partition of each message is found through a cache keyed by librdkafka's topic handle, with
// no allocation. librdkafka's own fetch buffers are its business (`fetch.*`, `queued.*`).
//
// Metrics: ctx.metrics->records_out (rows emitted) and bytes_in (key + value bytes consumed);
// KafkaSourceMetrics (records and bytes in, skipped, dead-lettered, assigned partitions,
// records-lag-max = max over assigned partitions of high watermark - next offset, commits);
// PartitionLags() per partition. The lags come from librdkafka's cached high watermarks (no
// request), refreshed at most once a second.
//
// Threading: the Source methods run on the Task thread. AddSplits, NotifyNoMoreSplits and
// HandleOperatorEvent may be called from any thread (the RPC thread that receives an
// enumerator's event); they queue the splits for the next PollNext. metrics() and PartitionLags() may be read from any thread.
// librdkafka runs its own threads inside the consumer handle.

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/operators/event_time.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/formats/record_format.h"
#include "runtime/core/types.h"
#include "runtime/api/operator.h"

namespace sluice::connectors::kafka {

// The message value formats are the shared row formats (runtime/formats/record_format.h).
using formats::ParseRecordFormat;
using formats::RecordDecoder;
using formats::RecordFormat;
using formats::RecordFormatName;
using formats::RecordFormatOptions;

// Special offsets of a split (Flink's KafkaPartitionSplit constants; earliest and latest are
// librdkafka's RD_KAFKA_OFFSET_BEGINNING / _END).
inline constexpr int64_t kEarliestOffset = -2;
inline constexpr int64_t kLatestOffset = -1;
inline constexpr int64_t kCommittedOffset = -3;  // committed by group.id, else earliest
inline constexpr int64_t kTimestampOffset = -4;  // first record at/after starting_timestamp_ms
inline constexpr int64_t kNoStoppingOffset = std::numeric_limits<int64_t>::min();

// One topic partition to read (Flink's KafkaPartitionSplit).
struct KafkaPartitionSplit {
  std::string topic;
  int32_t partition = 0;
  // The first offset to read (>= 0), or kEarliestOffset, kLatestOffset, kCommittedOffset or
  // kTimestampOffset (with starting_timestamp_ms, epoch ms); resolved when the split is added.
  int64_t starting_offset = kEarliestOffset;
  int64_t starting_timestamp_ms = -1;
  // Offset at which reading stops (exclusive, >= 0); kLatestOffset = the partition's end as of
  // the split's assignment; kNoStoppingOffset = unbounded.
  int64_t stopping_offset = kNoStoppingOffset;

  // "topic-partition", Flink's split id.
  std::string SplitId() const;
};

// Flink's KafkaSourceEnumerator#getSplitOwner: the subtask (0-based) of `parallelism` that
// reads `partition` of `topic`. parallelism must be >= 1.
int32_t KafkaSplitOwner(std::string_view topic, int32_t partition, int32_t parallelism);

enum class StartingOffsets : uint8_t { kEarliest, kLatest, kTimestamp, kGroupOffsets };
enum class BadRecordPolicy : uint8_t { kFail, kSkip, kDeadLetter };
enum class EventTimeSource : uint8_t { kNone, kField, kKafkaTimestamp };
enum class SplitAssignment : uint8_t { kBuiltInDiscovery, kEnumerator };

// Job-spec names: "earliest", "latest", "timestamp", "group-offsets"; "fail", "skip",
// "dead-letter". InvalidArgument naming the accepted values otherwise.
absl::StatusOr<StartingOffsets> ParseStartingOffsets(std::string_view name);
absl::StatusOr<BadRecordPolicy> ParseBadRecordPolicy(std::string_view name);

// A record that could not be decoded, with why. The views are valid during Write only.
struct DeadLetterRecord {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = -1;  // the Kafka record timestamp, -1 if none
  std::string_view key;       // empty if the message has no key
  std::string_view value;     // the undecoded message value
  std::string_view error;     // the reason, as it would fail the task under kFail
};

// Where kDeadLetter sends bad records (the side sink of a job). Called on the source's Task
// thread only. Delivery is as durable as the sink makes it: Flush is called at every
// SnapshotState, so a sink that writes out there gives at-least-once dead letters.
class DeadLetterSink {
 public:
  virtual ~DeadLetterSink() = default;
  // An error fails the task.
  virtual absl::Status Write(const DeadLetterRecord& record) = 0;
  virtual absl::Status Flush() { return absl::OkStatus(); }
};

// Counters of one source subtask, readable from any thread (Flink's KafkaSourceReaderMetrics
// and the consumer's fetch metrics).
struct KafkaSourceMetrics {
  std::atomic<int64_t> records_in{0};       // messages consumed, bad ones included
  std::atomic<int64_t> bytes_in{0};         // key + value bytes of those
  std::atomic<int64_t> records_skipped{0};  // bad records dropped under kSkip
  std::atomic<int64_t> records_dead_lettered{0};
  std::atomic<int64_t> records_null_skipped{0};  // tombstones (null values)
  std::atomic<int64_t> assigned_partitions{0};   // splits being read (not finished)
  // records-lag-max: max over assigned partitions of (high watermark - next offset); -1 until
  // a high watermark is known.
  std::atomic<int64_t> records_lag_max{-1};
  std::atomic<int64_t> commits_succeeded{0};  // commit-offsets-on-checkpoint results
  std::atomic<int64_t> commits_failed{0};
};

// Lag of one partition as last refreshed.
struct PartitionLag {
  std::string topic;
  int32_t partition = 0;
  int64_t next_offset = -1;     // next offset to read
  int64_t high_watermark = -1;  // -1 until known
  int64_t lag = -1;             // high_watermark - next_offset, -1 until known
};

// Every option of the Kafka source, with the job-spec (YAML) key it is meant to map from.
struct KafkaSourceOptions {
  // `bootstrap.servers`: "host:port[,host:port...]". Required (here or in `properties`).
  std::string bootstrap_servers;
  // `topics` (a list; or `topic`): read these topics. Exactly one of topics / topic_pattern.
  std::vector<std::string> topics;
  // `pattern`: read every topic whose whole name matches this regular expression (ECMAScript
  // syntax, std::regex_match; Java's Pattern.matches in Flink), except names starting with
  // "__" (Kafka's internal topics). Topics created later are found by discovery.
  std::string topic_pattern;

  // `schema` and `format` (csv | json | raw | avro | avro-confluent, default csv); for csv
  // `delimiter`; for avro-confluent `schema-registry: {url, basic-auth-user-info}`, where each
  // message's writer schema is fetched by its id (formats/avro_format.h). A registry that cannot
  // be reached fails the task (Unavailable); a record it cannot decode is a bad record.
  core::SchemaPtr schema;
  RecordFormatOptions format;

  // `properties`: librdkafka configuration passed through unchanged (e.g. "group.id",
  // "fetch.min.bytes", "security.protocol", "auto.offset.reset"), applied after Sluice's
  // defaults, so they win. Sluice sets: enable.auto.commit=false (a "true" here is refused),
  // enable.auto.offset.store=false, auto.offset.reset=earliest (latest for kLatest) unless
  // given, enable.partition.eof=true in bounded mode unless given, queued.min.messages=1000000
  // (librdkafka's 100000 throttled fetching, see RESULTS.md), client.id
  // "sluice-<operator uid or name>-<subtask>" unless given, and group.id
  // "sluice-kafka-source" unless given (librdkafka's manual assignment needs one; nothing is
  // committed under it).
  std::map<std::string, std::string> properties;

  // `starting-offsets` (earliest | latest | timestamp | group-offsets; default earliest) and
  // `starting-timestamp` (epoch ms, required for timestamp). kGroupOffsets needs group.id.
  StartingOffsets starting_offsets = StartingOffsets::kEarliest;
  int64_t starting_timestamp_ms = -1;
  // `stop-at: latest`: bounded mode (see the file comment). Default false: unbounded.
  bool stop_at_latest = false;

  // `event-time: {field: NAME | kafka-timestamp}` or `{expression: ...}`: kField with
  // event_time_spec (a field or an expression, operators/event_time.h), or kKafkaTimestamp.
  // Default kNone.
  EventTimeSource event_time = EventTimeSource::kNone;
  operators::EventTimeSpec event_time_spec;
  // `event-time.max-out-of-orderness`, ms >= 0 (Flink's forBoundedOutOfOrderness). Default 0.
  int64_t max_out_of_orderness_ms = 0;
  // `idle-timeout`, ms >= 0; 0 = partitions never count as idle. Default 0.
  int64_t idle_timeout_ms = 0;

  // `bad-records` (fail | skip | dead-letter; default fail) and the dead-letter sink, required
  // for kDeadLetter (wired by the job, not from YAML directly).
  BadRecordPolicy bad_records = BadRecordPolicy::kFail;
  std::shared_ptr<DeadLetterSink> dead_letter_sink;

  // `batch-size`: rows per emitted batch, >= 1. Default 1024.
  size_t batch_size = 1024;
  // `rate`: at most this many records per second per subtask (token bucket of one batch,
  // operators::RateLimiter, as the file source's `rate`); 0 = unlimited (default). For
  // tests, demos and replaying a backlog gently.
  double rate_records_per_second = 0;
  // Longest wait of one PollNext for the first message, ms >= 0 (so the task sees barriers and
  // cancellation promptly). Default 20.
  int64_t poll_timeout_ms = 20;
  // `partition-discovery-interval`, ms; <= 0 = discover once at start. Default 10 s. Flink's
  // KafkaSource defaults to 5 min; the JobMaster's enumerator makes one Metadata request per
  // job per interval (kBuiltInDiscovery: one per subtask), cheap enough to find new topics and
  // partitions within seconds. Used by the enumerator and by kBuiltInDiscovery; ignored in
  // bounded mode (discovery runs once).
  int64_t partition_discovery_interval_ms = 10'000;
  // Timeout of each blocking request (Metadata, ListOffsets, OffsetFetch), ms > 0; also how
  // long resolving a new split may keep failing before PollNext fails. Default 30 s.
  int64_t request_timeout_ms = 30'000;

  // `commit-offsets-on-checkpoint`: commit snapshot offsets to group.id when a checkpoint
  // completes. Default false. Needs group.id in properties.
  bool commit_offsets_on_checkpoint = false;

  // Who assigns partitions (see the file comment). Default kBuiltInDiscovery; the job
  // compiler sets kEnumerator (the JobMaster's KafkaSplitEnumerator assigns).
  SplitAssignment split_assignment = SplitAssignment::kBuiltInDiscovery;

  // Processing-time clock for idleness, discovery and retries (monotonic ms). Null = the real
  // monotonic clock. For tests.
  std::function<int64_t()> now_ms;
};

// The reader of one Kafka source subtask. Lifecycle: construct, Open (validates options,
// creates the librdkafka consumer, restores), PollNext until false (bounded) or cancellation,
// Close (destroys the consumer; also done by the destructor). Owned by its Task.
class KafkaSource final : public api::Source {
 public:
  explicit KafkaSource(KafkaSourceOptions opts);
  ~KafkaSource() override;
  KafkaSource(const KafkaSource&) = delete;
  KafkaSource& operator=(const KafkaSource&) = delete;

  core::SchemaPtr output_schema() const override;
  absl::Status Open(const api::OperatorContext& ctx) override;
  absl::StatusOr<bool> PollNext(api::Output& out) override;
  // The last poll stopped at its batch limit, not because the consumer queue ran dry.
  bool MoreAvailable() const override;
  void Close() override;
  absl::StatusOr<std::string> SnapshotState(int64_t checkpoint_id) override;
  absl::Status NotifyCheckpointComplete(int64_t checkpoint_id) override;

  // Enumerator API (thread-safe): splits to read from the next PollNext on. A split whose
  // partition this reader already has (assigned, finished or restored) is ignored, so
  // re-sending an assignment is harmless. With stop_at_latest, a split without a stopping
  // offset gets kLatestOffset.
  void AddSplits(std::vector<KafkaPartitionSplit> splits);
  // No split will be added any more (thread-safe): once all its splits are finished, a
  // kEnumerator reader ends like a bounded one.
  void NotifyNoMoreSplits();
  // An event of the JobMaster's KafkaSplitEnumerator (kafka_common.h KafkaReaderEvent: splits
  // and/or no-more-splits), applied as AddSplits / NotifyNoMoreSplits (thread-safe). DataLoss
  // or InvalidArgument for bytes that are not such an event.
  absl::Status HandleOperatorEvent(std::string_view event) override;

  // The job metrics of this reader (Task thread): "kafka.records-lag-max" (-1 until known),
  // "kafka.<topic>.<partition>.records-lag" per assigned partition whose lag is known,
  // "kafka.records-consumed-total", "kafka.bytes-consumed-total" (Kafka consumer metric names),
  // "kafka.records-skipped", "kafka.records-dead-lettered", "kafka.records-null-skipped",
  // "kafka.assigned-partitions", "kafka.commits-succeeded", "kafka.commits-failed".
  std::map<std::string, int64_t> Gauges() const override;

  // Readable from any thread, also after Close.
  std::shared_ptr<const KafkaSourceMetrics> metrics() const { return metrics_; }
  std::vector<PartitionLag> PartitionLags() const;

  // Task thread only. The splits this reader holds with their current next offsets (resolved
  // ones >= 0) and stopping offsets; finished splits have starting_offset >= stopping_offset.
  std::vector<KafkaPartitionSplit> CurrentSplits() const;
  // The last emitted watermark (kMinWatermark before the first).
  int64_t CurrentWatermark() const;
  // Whether every split is idle or finished, or there is none: the watermark cannot advance.
  bool IsIdle() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  std::shared_ptr<KafkaSourceMetrics> metrics_;
};

std::unique_ptr<KafkaSource> MakeKafkaSource(KafkaSourceOptions opts);

}  // namespace sluice::connectors::kafka

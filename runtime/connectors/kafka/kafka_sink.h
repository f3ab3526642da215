#pragma once
// Kafka sink: Flink's KafkaSink (KafkaWriter + KafkaCommitter) for one subtask, on librdkafka.
// Each row of an incoming batch becomes one Kafka message: value encoded by `format`
// (record_encoder.h), key = the `key_fields` encoded like csv (no key if none), timestamp = the
// row's event time (core::kNoTimestamp: the producer's clock), partition by `partitioner`.
//
// Delivery guarantees (Flink's DeliveryGuarantee):
//   - kNone: produce asynchronously; nothing waits at checkpoints (rows may be lost on failure).
//   - kAtLeastOnce (default): produce asynchronously; SnapshotState(n) flushes and waits for the
//     delivery report of every message produced before it, so a completed checkpoint implies
//     all earlier rows are in Kafka. After a restore the rows after the checkpoint are written
//     again (duplicates, never loss).
//   - kExactlyOnce: Kafka transactions, one per checkpoint interval, two-phase commit:
//       * write: the first row after a snapshot begins a transaction on the next producer of
//         this subtask's pool (`transactional_id_pool_size` producers with the stable ids
//         "<transactional_id_prefix>-<subtask>-<k>", k = 0..size-1, used round-robin; the
//         simplification of Flink's prefix-subtask-checkpointOffset scheme);
//       * SnapshotState(n) = prepare: adds the commit marker (below) to the transaction, flushes
//         and waits for every delivery report; the transaction stays open. The state lists
//         every prepared, uncommitted transaction: its checkpoint id, transactional.id, and a
//         copy of its messages (write-ahead; see "Recovery");
//       * NotifyCheckpointComplete(n) commits, in order, every prepared transaction of a
//         checkpoint <= n; NotifyCheckpointAborted does nothing (the next completed checkpoint
//         commits it, as in Flink). If all pool producers hold prepared transactions when a
//         new one must begin, the task fails with FailedPrecondition (too many checkpoints
//         pending commit; raise the pool size).
//     Readers see the rows only with isolation.level=read_committed, once the checkpoint is
//     complete. librdkafka exposes no producer id/epoch, so the state does not hold them.
//     Commit marker: every transaction also commits, through send_offsets_to_transaction, the
//     "offset" <checkpoint id> of partition 0 of `topic` for the consumer group
//     "<transactional_id_prefix>-<subtask>". It becomes visible exactly when the transaction
//     commits, so it tells a restore which checkpoints' transactions were committed.
//     Recovery (Open with restored state of checkpoint n): librdkafka cannot resume another
//     producer's transaction (Flink's KafkaCommitter resumes it by producer id and epoch via
//     reflection). So the restore (1) calls init_transactions on every transactional.id of the
//     pool, which on a real broker fences the failed attempt's producers and ABORTS their open
//     transactions (the restored checkpoint's, if it was not committed yet, and the newer one
//     that was being written); (2) reads the commit marker M of the subtask's group; (3)
//     re-produces the saved messages of every restored transaction with checkpoint id > M in
//     one new transaction with marker n, and commits it. Transactions with id <= M were
//     committed before the failure and are not written again. So a row is in Kafka exactly once
//     even when the failure came between checkpoint completion and the commit. Cost: the
//     messages of a checkpoint interval are kept in memory and in the checkpoint until their
//     transaction commits. Rescaling (ctx.restored_union_states): subtask i does (1)-(3) for
//     its own index and every old subtask j >= parallelism with j % parallelism == i.
//     Without checkpointing (ctx.checkpointing_enabled false) the transaction is committed
//     at Finish.
//
// Errors never disappear: a failed delivery (delivery report with an error) is recorded when
// librdkafka reports it, and the next ProcessBatch, SnapshotState or Finish returns it:
// Unavailable "kafka sink: topic 'out': delivery failed: <librdkafka's text, e.g. "Broker:
// Topic authorization failed">" (the first error; later ones are counted). A refused
// produce, a failed transaction call or a fatal producer error: Internal / Unavailable with
// librdkafka's message. Open: InvalidArgument for bad options (named) or a property librdkafka
// refuses; DataLoss for a corrupt restored state.
//
// Metrics: ctx.metrics->records_in (rows), bytes_out (key + value bytes produced).
// Threading: every Operator method runs on the Task thread. librdkafka runs its own threads
// inside each producer; delivery reports are served by rd_kafka_poll/flush on the Task thread.

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/formats/record_encoder.h"
#include "runtime/formats/record_format.h"
#include "runtime/core/types.h"
#include "runtime/api/operator.h"

namespace sluice::connectors::kafka {

// The message value formats are the shared row formats (runtime/formats/record_format.h).
using formats::ParseRecordFormat;
using formats::RecordEncoder;
using formats::RecordDecoder;
using formats::RecordFormat;
using formats::RecordFormatName;
using formats::RecordFormatOptions;

enum class DeliveryGuarantee : uint8_t { kNone, kAtLeastOnce, kExactlyOnce };
// How messages are spread over partitions.
//   kDefault: librdkafka's default partitioner (`consistent_random`: CRC32 of the key, random
//             partition for messages without a key), or whatever `properties` sets.
//   kKey:     Kafka's Java default partitioner, murmur2 of the key (librdkafka
//             `murmur2_random`), so keys land where Java producers and Flink put them.
//   kRoundRobin: partition = (a per-subtask counter) mod partitions, ignoring the key.
//   kFixed:   Flink's FlinkFixedPartitioner: partition = subtask mod partitions.
enum class SinkPartitioner : uint8_t { kDefault, kKey, kRoundRobin, kFixed };

// Job-spec names: "none", "at-least-once", "exactly-once"; "key", "round-robin", "fixed"
// ("default" too). InvalidArgument naming the accepted values otherwise.
absl::StatusOr<DeliveryGuarantee> ParseDeliveryGuarantee(std::string_view name);
absl::StatusOr<SinkPartitioner> ParseSinkPartitioner(std::string_view name);

// One message as handed to a producer. Views are valid during Produce only.
struct ProducerRecord {
  std::string_view topic;
  std::string_view value;
  std::string_view key;
  bool has_key = false;
  int64_t timestamp_ms = 0;  // 0: the producer's clock
  // Kafka record headers (name, value), in order; none by default. The sink writes none; the
  // dead-letter producer (dead_letter.h) describes the failed record in them.
  std::span<const std::pair<std::string_view, std::string_view>> headers = {};
  // A null value (not an empty one): a tombstone, which deletes the key in a compacted topic.
  bool null_value = false;
};

// The producer calls the sink makes (the protocol of Flink's FlinkKafkaInternalProducer), so
// that the exactly-once protocol can be checked against a recording fake. One instance is one
// librdkafka producer, transactional when created with a transactional.id. Used from one
// thread (the Task's).
class KafkaProducerClient {
 public:
  virtual ~KafkaProducerClient() = default;
  // Transactional producers only: registers the transactional.id with its coordinator; on a
  // real broker this fences older producers of the id and aborts their open transaction.
  virtual absl::Status InitTransactions() = 0;
  virtual absl::Status BeginTransaction() = 0;
  // Enqueues asynchronously (waits while librdkafka's queue is full). Errors of the enqueue
  // itself; delivery errors come from Poll/Flush.
  virtual absl::Status Produce(const ProducerRecord& record) = 0;
  // Serves delivery reports without waiting; returns the first delivery error ever seen.
  virtual absl::Status Poll() = 0;
  // Waits until every produced message has its delivery report; returns the first delivery
  // error ever seen.
  virtual absl::Status Flush() = 0;
  // Adds the commit marker: `offset` of `topic` partition 0 for consumer group `group`, committed
  // with the transaction.
  virtual absl::Status SendMarker(std::string_view group, std::string_view topic,
                                  int64_t offset) = 0;
  virtual absl::Status CommitTransaction() = 0;
  virtual absl::Status AbortTransaction() = 0;
};

// Creates producers and reads commit markers. Implemented on librdkafka (the default) and by
// test fakes. Called on the Task thread.
class KafkaClientFactory {
 public:
  virtual ~KafkaClientFactory() = default;
  // `transactional_id` empty: a plain producer.
  virtual absl::StatusOr<std::unique_ptr<KafkaProducerClient>> NewProducer(
      const std::string& transactional_id) = 0;
  // The committed offset of `group` for `topic` partition 0; -1 if there is none.
  virtual absl::StatusOr<int64_t> CommittedMarker(const std::string& group,
                                                  const std::string& topic) = 0;
};

struct KafkaSinkOptions {
  // `bootstrap.servers`: "host:port[,...]". Required (here or in `properties`).
  std::string bootstrap_servers;
  // `topic`: the topic written to. Required.
  std::string topic;
  // `schema`: of the incoming batches. Required.
  core::SchemaPtr schema;
  // `format` (csv | json | raw | avro | avro-confluent, default csv), `delimiter` (csv and keys,
  // default ','), and for avro-confluent `schema-registry: {url, subject (default
  // "<topic>-value"), basic-auth-user-info}`: the row schema is registered under the subject when
  // the sink opens (formats/avro_format.h).
  RecordFormatOptions format;
  // `key`: field names forming the message key, encoded like csv. Default none (no key).
  std::vector<std::string> key_fields;
  // `partitioner`: default | key | round-robin | fixed. Default kDefault.
  SinkPartitioner partitioner = SinkPartitioner::kDefault;
  // `properties`: librdkafka configuration passed through (e.g. "linger.ms",
  // "message.timeout.ms", "transaction.timeout.ms", "compression.type"); wins over Sluice's
  // settings except transactional.id, which the sink owns (setting it is refused).
  std::map<std::string, std::string> properties;
  // `upsert`: the input may be an updating stream, written as Flink's upsert-kafka sink does:
  // +I and +U rows as messages keyed by `key` (required), -D rows as tombstones (the key with
  // a null value), -U rows not at all (the +U after them replaces the key's value).
  bool upsert = false;
  // `delivery`: none | at-least-once | exactly-once. Default at-least-once.
  DeliveryGuarantee delivery = DeliveryGuarantee::kAtLeastOnce;
  // `transactional-id-prefix`: required for exactly-once; must be unique per sink of all jobs
  // writing to the cluster (two sinks with one prefix fence each other).
  std::string transactional_id_prefix;
  // `transactional-id-pool-size`: producers (transactional ids) per subtask, >= 2: at most
  // size - 1 checkpoints may wait for their commit at once. Default 5 (Flink's
  // FlinkKafkaProducer.DEFAULT_KAFKA_PRODUCERS_POOL_SIZE).
  int32_t transactional_id_pool_size = 5;
  // For tests: where producers come from. Default (null): librdkafka.
  std::shared_ptr<KafkaClientFactory> client_factory;
};

// The librdkafka settings of the sink's producers: Sluice's defaults (kafka README, "Settings
// the sink makes"), then `properties`, which win. Among the defaults, for none and at-least-once
// delivery, enable.idempotence=true unless `properties` sets it or a setting idempotence cannot
// have (acks other than all/-1, more than 5 requests in flight, retries 0), as Kafka's Java
// producer does since 3.0/3.2. InvalidArgument: transactional.id set, no bootstrap servers, or
// two different ones.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> RdKafkaSinkSettings(
    const KafkaSinkOptions& opts, std::string client_id);

// The librdkafka client factory the sink uses by default. `subtask` feeds kFixed.
absl::StatusOr<std::shared_ptr<KafkaClientFactory>> MakeRdKafkaClientFactory(
    const KafkaSinkOptions& opts, int32_t subtask, std::string client_id);

std::unique_ptr<api::Operator> MakeKafkaSink(KafkaSinkOptions opts);

}  // namespace sluice::connectors::kafka

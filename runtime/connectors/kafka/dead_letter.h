#pragma once
// Dead-letter queue of the Kafka source: bad records (bad-records: dead-letter) go to a Kafka
// topic, as Kafka Connect's errors.deadletterqueue does (Flink has no built-in dead-letter
// queue; this follows the convention Kafka users know).
//
// Each bad record becomes one message of `topic`: the ORIGINAL key and value bytes, unchanged
// (so it can be replayed once fixed), the original record timestamp when it had one, and
// headers describing it (Kafka Connect's __connect.errors.* context headers, Sluice names):
//     sluice.error.message    why it could not be read, e.g. "csv: field 'delay': ..."
//     sluice.error.topic      the topic it came from
//     sluice.error.partition  its partition, decimal
//     sluice.error.offset     its offset, decimal
// Delivery is at-least-once: Flush (called by the source at every checkpoint) waits for every
// dead letter to be acknowledged, so a completed checkpoint never loses one; records replayed
// after a restore may be dead-lettered again.
//
// Errors: MakeKafkaDeadLetterSink: InvalidArgument for a missing topic or bootstrap servers,
// or a `transactional.id` property. Write/Flush: InvalidArgument when librdkafka refuses a
// property (the producer is created at the first Write), Unavailable with the broker's
// message when a dead letter could not be delivered; the source then fails the task.
//
// Threading: thread-safe. One instance is shared by every source subtask of a job that runs in
// one process (the job compiler creates it once per source); they serialise on one mutex, which
// is fine for records that are the exception. The producer is created lazily, so compiling a
// job (JobManager, CLI) never starts librdkafka threads.

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/connectors/kafka/kafka_source.h"

namespace sluice::connectors::kafka {

struct KafkaDeadLetterOptions {
  // `bootstrap-servers` (defaults to the source's in job specs). Required here or in
  // `properties`.
  std::string bootstrap_servers;
  // `topic`: where dead letters go. Required.
  std::string topic;
  // `properties`: librdkafka producer configuration, passed through (e.g. "acks",
  // "message.timeout.ms").
  std::map<std::string, std::string> properties;
};

absl::StatusOr<std::shared_ptr<DeadLetterSink>> MakeKafkaDeadLetterSink(
    KafkaDeadLetterOptions opts);

}  // namespace sluice::connectors::kafka

#pragma once
// Pieces shared by the Kafka source reader (kafka_source.h, which discovers partitions itself
// under SplitAssignment::kBuiltInDiscovery) and the JobMaster's split enumerator
// (kafka_enumerator.h): which topics a source reads, partition discovery through one Metadata
// request, the operator events the enumerator sends to readers, and librdkafka plumbing.
// Internal to runtime/connectors/kafka.
//
// Threading: plain values and free functions; DiscoverPartitions blocks the calling thread for
// at most `timeout_ms` (never call it on a JobMaster RPC or executor thread).

#include <librdkafka/rdkafka.h>

#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/connectors/kafka/kafka_source.h"

namespace sluice::connectors::kafka {

// The topics of a source: an explicit list, or every topic whose whole name matches an
// ECMAScript regular expression (std::regex_match; Flink's Pattern.matches) except Kafka's
// internal "__*" topics.
class TopicSelector {
 public:
  // InvalidArgument ("<what>: ...") for both or neither of topics / pattern (neither is allowed
  // with `required` false: then nothing matches), an empty topic name or a bad pattern.
  static absl::StatusOr<TopicSelector> Create(const std::vector<std::string>& topics,
                                              const std::string& pattern, bool required,
                                              std::string_view what);
  bool Matches(const std::string& topic) const;
  const std::vector<std::string>& topics() const { return topics_; }

 private:
  std::vector<std::string> topics_;
  std::optional<std::regex> pattern_;
};

// What one discovery found.
struct DiscoveredPartitions {
  // Partitions of matching topics that have a leader (a partition without one cannot have its
  // offsets listed yet; the next discovery sees it), by topic, ascending.
  std::map<std::string, std::vector<int32_t>> partitions;
  // Matching topics the cluster has without a topic-level error.
  std::set<std::string> present;
};

// Lists the cluster's topics with one Metadata request (waits at most timeout_ms) and returns
// the partitions of those `selector` matches. A topic-level error skips that topic (logged,
// prefixed by `who`). Unavailable "<who>: cannot list the topics of the cluster at '<servers>'
// within <t> ms: <librdkafka's reason>" when the request fails.
absl::StatusOr<DiscoveredPartitions> DiscoverPartitions(rd_kafka_t* rk,
                                                        const TopicSelector& selector,
                                                        int64_t timeout_ms, std::string_view who,
                                                        std::string_view bootstrap_servers);

// A split of `topic` `partition` starting where the options say (starting-offsets, and
// starting-timestamp for kTimestamp) if `configured_start`, else at the earliest offset (a
// partition discovered after the first discovery: none of its records may be lost). No
// stopping offset.
KafkaPartitionSplit SplitStartingAt(const KafkaSourceOptions& opts, const std::string& topic,
                                    int32_t partition, bool configured_start);

// bootstrap.servers as given in the options or their properties.
std::string BootstrapServersOf(const KafkaSourceOptions& opts);
// InvalidArgument when neither gives bootstrap servers or they disagree.
absl::Status CheckBootstrapServers(const KafkaSourceOptions& opts, std::string_view what);

// Kafka client ids: printable ASCII without spaces; others become '_'.
std::string SanitizeClientId(std::string_view s);

// librdkafka log callback to spdlog (syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug).
void LogFromRdkafka(const rd_kafka_t* rk, int level, const char* fac, const char* buf);

// An operator event from the split enumerator to one reader subtask: splits to add and/or "no
// more splits" (Flink's AddSplitEvent and NoMoreSplitsEvent in one message). Binary, magic
// "KFKE", version 1: u8 no_more_splits, u32 count, then per split topic (str), partition (u32),
// starting_offset, starting_timestamp_ms, stopping_offset (i64 each).
struct KafkaReaderEvent {
  std::vector<KafkaPartitionSplit> splits;
  bool no_more_splits = false;
};
std::string EncodeReaderEvent(const KafkaReaderEvent& event);
// DataLoss for a truncated or foreign event, InvalidArgument for an impossible split.
absl::StatusOr<KafkaReaderEvent> DecodeReaderEvent(std::string_view bytes);

}  // namespace sluice::connectors::kafka

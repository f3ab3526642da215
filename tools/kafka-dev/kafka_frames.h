// The few pieces of the Kafka wire protocol that sluice-kafka-dev's fetch proxy reads and
// rewrites (https://kafka.apache.org/protocol, the non-flexible versions librdkafka 2.0.2's mock
// cluster serves: Fetch 0-11, Metadata 0-2, FindCoordinator 0-2, Produce 0-7).
//
// A "frame" here is one request or response without its 4-byte big-endian size prefix: a
// request starts with its header (api_key int16, api_version int16, correlation_id int32,
// client_id nullable string), a response with its correlation_id int32. All functions check
// bounds and return InvalidArgument for a frame they cannot read, naming the field; none keeps
// a reference to the frame. Thread-safe (no state).

#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sluice::tools::kafka {

// Kafka's api keys (org.apache.kafka.common.protocol.ApiKeys) that the proxy looks at.
enum class ApiKey : int16_t {
  kProduce = 0,
  kFetch = 1,
  kMetadata = 3,
  kFindCoordinator = 10,
};

// The newest versions whose layout these functions know; newer ones are passed through as-is.
inline constexpr int16_t kMaxFetchVersion = 11;
inline constexpr int16_t kMaxMetadataVersion = 2;
inline constexpr int16_t kMaxFindCoordinatorVersion = 2;
inline constexpr int16_t kMaxProduceVersion = 7;

// Largest frame the proxy accepts (bytes); Kafka's socket.request.max.bytes default is 100 MiB.
inline constexpr int32_t kMaxFrameBytes = 200 * 1024 * 1024;

struct RequestHeader {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  size_t body_offset = 0;  // where the request body starts in the frame
};

absl::StatusOr<RequestHeader> ParseRequestHeader(std::span<const uint8_t> frame);

// Fetch request (v0-11): replaces max_wait_ms (the time a broker may hold a Fetch that finds no
// data) with `max_wait_ms` in place and returns the value it had.
absl::StatusOr<int32_t> ReplaceFetchMaxWait(std::span<uint8_t> frame, const RequestHeader& header,
                                            int32_t max_wait_ms);

// Fetch response (v0-11, frame starting at the correlation id): true when the client should get
// it now, i.e. some partition returns records, or any error code is set.
absl::StatusOr<bool> FetchResponseHasNews(std::span<const uint8_t> frame, int16_t version);

// Produce request (v0-7): false for acks=0, which the broker never answers.
absl::StatusOr<bool> ProduceExpectsResponse(std::span<const uint8_t> frame,
                                            const RequestHeader& header);

// Metadata (v0-2) and FindCoordinator (v0-2) responses name brokers by host and port. Replaces,
// in place, every port that is a key of `ports` with its value (the frame keeps its length).
using PortMap = absl::flat_hash_map<int32_t, int32_t>;
absl::Status RewriteBrokerPorts(std::span<uint8_t> frame, ApiKey api_key, int16_t version,
                                const PortMap& ports);

// ---- Fetch coalescing (fetch_coalescer.h) ----

// Where one partition's fetch_offset sits in a Fetch request (v0-11).
struct FetchRequestPartition {
  std::string topic;
  int32_t partition = 0;
  size_t fetch_offset_at = 0;  // byte offset of the int64 fetch_offset in the frame
};

absl::StatusOr<std::vector<FetchRequestPartition>> ParseFetchRequestPartitions(
    std::span<const uint8_t> frame, const RequestHeader& header);

void SetFetchOffset(std::span<uint8_t> frame, const FetchRequestPartition& partition,
                    int64_t offset);

// A Fetch response (v0-11) taken apart; `records` are copies, so they can grow.
struct FetchResponsePartition {
  int32_t partition = 0;
  int16_t error_code = 0;
  int64_t high_watermark = 0;
  int64_t last_stable_offset = -1;  // v4+
  int64_t log_start_offset = -1;    // v5+
  std::vector<uint8_t> aborted_transactions;  // v4+: the raw array, count included
  int32_t preferred_read_replica = -1;        // v11+
  bool null_records = false;
  std::vector<uint8_t> records;
};
struct FetchResponseTopic {
  std::string topic;
  std::vector<FetchResponsePartition> partitions;
};
struct FetchResponse {
  int16_t version = 0;
  int32_t correlation_id = 0;
  int32_t throttle_time_ms = 0;  // v1+
  int16_t error_code = 0;        // v7+
  int32_t session_id = 0;        // v7+
  std::vector<FetchResponseTopic> topics;
};

absl::StatusOr<FetchResponse> ParseFetchResponse(std::span<const uint8_t> frame,
                                                 int16_t version);
std::vector<uint8_t> SerializeFetchResponse(const FetchResponse& response);

// The offset after the last complete record batch (magic 2) in a partition's records, or
// nullopt when there is none. InvalidArgument for an older message format.
absl::StatusOr<std::optional<int64_t>> NextOffsetAfter(std::span<const uint8_t> records);

}  // namespace sluice::tools::kafka

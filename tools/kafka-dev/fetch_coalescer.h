// CoalesceFetch: answers a Fetch with every record batch the mock holds after the requested
// offsets, not just one.
//
// librdkafka 2.0.2's mock returns at most one record batch (one Produce's worth) per partition
// per Fetch (rdkafka_mock_handlers.c). A producer sending small batches (linger.ms 0) then
// outruns any consumer: each batch costs the consumer a round trip, and at 5,000 records/s a
// consumer fell seconds behind (issue 15). A Kafka broker returns everything up to the fetch's
// byte limits. So once a Fetch brings data, the proxy fetches again from after the last batch
// of each partition that returned some, and appends what comes back, until nothing more comes,
// an error comes, kMaxCoalescedBytes are gathered or kMaxRounds were made.
//
// Thread-safe (no state); `round_trip` sends one request frame and returns the response frame.

#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/kafka-dev/kafka_frames.h"

namespace sluice::tools {

inline constexpr size_t kMaxCoalescedBytes = 1 << 20;
inline constexpr int kMaxRounds = 256;

using RoundTrip = std::function<absl::StatusOr<std::vector<uint8_t>>(std::span<const uint8_t>)>;

// `request` is the Fetch as sent (it is modified: its fetch offsets move on); `response` its
// answer. Returns the merged response, or `response` unchanged when it cannot be read or holds
// an error. Errors: only those of `round_trip` (the connection broke).
absl::StatusOr<std::vector<uint8_t>> CoalesceFetch(std::vector<uint8_t>& request,
                                                   const kafka::RequestHeader& header,
                                                   std::vector<uint8_t> response,
                                                   const RoundTrip& round_trip);

}  // namespace sluice::tools

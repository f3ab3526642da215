#include "tools/kafka-dev/fetch_coalescer.h"

#include <map>
#include <string>
#include <utility>

#include "runtime/base/status.h"

namespace sluice::tools {

absl::StatusOr<std::vector<uint8_t>> CoalesceFetch(std::vector<uint8_t>& request,
                                                   const kafka::RequestHeader& header,
                                                   std::vector<uint8_t> response,
                                                   const RoundTrip& round_trip) {
  auto merged = kafka::ParseFetchResponse(response, header.api_version);
  if (!merged.ok() || merged->error_code != 0) return response;
  auto requested = kafka::ParseFetchRequestPartitions(request, header);
  if (!requested.ok()) return response;
  std::map<std::pair<std::string, int32_t>, kafka::FetchResponsePartition*> by_key;
  size_t total = 0;
  for (kafka::FetchResponseTopic& topic : merged->topics) {
    for (kafka::FetchResponsePartition& p : topic.partitions) {
      if (p.error_code != 0) return response;
      by_key[{topic.topic, p.partition}] = &p;
      total += p.records.size();
    }
  }
  bool grew = false;
  for (int round = 0; round < kMaxRounds && total < kMaxCoalescedBytes; ++round) {
    // Fetch again from after the last batch of every partition that has records.
    bool moved = false;
    for (const kafka::FetchRequestPartition& r : *requested) {
      auto it = by_key.find({r.topic, r.partition});
      if (it == by_key.end() || it->second->records.empty()) continue;
      auto next = kafka::NextOffsetAfter(it->second->records);
      if (!next.ok()) return response;  // an old message format: leave it as the mock gave it
      if (!next->has_value()) continue;
      kafka::SetFetchOffset(request, r, **next);
      moved = true;
    }
    if (!moved) break;
    ASSIGN_OR_RETURN(std::vector<uint8_t> more_frame, round_trip(request));
    auto more = kafka::ParseFetchResponse(more_frame, header.api_version);
    if (!more.ok() || more->error_code != 0) break;
    bool got = false, error = false;
    for (const kafka::FetchResponseTopic& topic : more->topics) {
      for (const kafka::FetchResponsePartition& p : topic.partitions) {
        auto it = by_key.find({topic.topic, p.partition});
        if (it == by_key.end()) continue;
        if (p.error_code != 0) error = true;
        if (error || p.records.empty()) continue;
        kafka::FetchResponsePartition& into = *it->second;
        into.records.insert(into.records.end(), p.records.begin(), p.records.end());
        into.null_records = false;
        into.high_watermark = p.high_watermark;
        into.last_stable_offset = p.last_stable_offset;
        into.log_start_offset = p.log_start_offset;
        total += p.records.size();
        got = true;
      }
    }
    if (error || !got) break;
    grew = true;
  }
  if (!grew) return response;
  return kafka::SerializeFetchResponse(*merged);
}

}  // namespace sluice::tools

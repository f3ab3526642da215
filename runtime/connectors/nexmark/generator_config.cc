#include "runtime/connectors/nexmark/generator_config.h"

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sluice::connectors::nexmark {
namespace {

absl::Status CheckRange(std::string_view field, int64_t value, int64_t min, int64_t max) {
  if (value >= min && value <= max) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("nexmark generator config: ", std::string(field),
                                                 " must be in [", min, ", ", max, "], got ",
                                                 value));
}

}  // namespace

absl::Status NexmarkConfig::Validate() const {
  struct Rule {
    std::string_view field;
    int64_t value;
    int64_t min;
    int64_t max;
  };
  const Rule rules[] = {
      {"max_events (0 = unbounded)", max_events, 0, kMaxEvents},
      {"first_event_rate (events per second)", first_event_rate, 1, kMaxEventRate},
      {"base_time_ms", base_time_ms, 0, kMaxBaseTimeMs},
      {"person_proportion", person_proportion, 1, kMaxProportion},
      {"auction_proportion", auction_proportion, 1, kMaxProportion},
      {"bid_proportion", bid_proportion, 1, kMaxProportion},
      {"avg_person_byte_size", avg_person_byte_size, 0, kMaxAvgByteSize},
      {"avg_auction_byte_size", avg_auction_byte_size, 0, kMaxAvgByteSize},
      {"avg_bid_byte_size", avg_bid_byte_size, 0, kMaxAvgByteSize},
      {"hot_auction_ratio", hot_auction_ratio, 1, kMaxRatio},
      {"hot_sellers_ratio", hot_sellers_ratio, 1, kMaxRatio},
      {"hot_bidders_ratio", hot_bidders_ratio, 1, kMaxRatio},
      {"num_in_flight_auctions", num_in_flight_auctions, 1, kMaxInFlightAuctions},
      {"num_active_people", num_active_people, 1, kMaxActivePeople},
  };
  for (const Rule& r : rules) {
    if (absl::Status s = CheckRange(r.field, r.value, r.min, r.max); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace sluice::connectors::nexmark

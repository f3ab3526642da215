#pragma once
// Configuration and pure per-event-number rules of the Nexmark event generator.
//
// Source of the rules: the Nexmark benchmark's generator as ported to Flink in
// github.com/nexmark/nexmark, nexmark-flink/.../generator/GeneratorConfig.java,
// NexmarkConfiguration.java (defaults) and model/PersonGenerator.java,
// model/AuctionGenerator.java (id rules). Nexmark itself: Tucker, Tufte, Papadimos, Maier,
// "NEXMark - A Benchmark for Queries over Data Streams" (2002), and Apache Beam's
// sdks/java/testing/nexmark, from which the Flink port descends.
//
// Event numbers. The stream is the sequence of events numbered n = 0, 1, 2, ... (the reference's
// "event id"). The number alone decides the kind (see KindOfEvent) and every id rule below; the
// per-event random choices are a pure function of (seed, n) (see generator.h). Differences from
// the reference, all deliberate:
//   - The first event is number 0 (a person with id 1000). The reference's Flink table source
//     starts at event id 2 (firstEventId 1 + firstEventNumber 1), so its first event is an
//     auction.
//   - Timestamps come from the global event number (TimestampOfEvent), not from a per-generator
//     count on "parallel timelines": so an event has the same timestamp at any parallelism and
//     the reference's numEventGenerators has no counterpart here (the split lives in
//     NexmarkSplit, generator.h). The total rate is first_event_rate at any parallelism, as in
//     the reference.
//   - No out-of-order groups (outOfOrderGroupSize is always 1, the reference's default): the
//     timestamps of one split never decrease.
//   - nextEventRate, rateShape, ratePeriodSec, probDelayedEvent and occasionalDelaySec are not
//     read by the reference's generator either, so they are absent.
//
// Thread safety: NexmarkConfig is a plain value; the functions here are pure.

#include <algorithm>
#include <cstdint>

#include "absl/status/status.h"

namespace sluice::connectors::nexmark {

// Ids start at these values so that queries find matches even on small data sets
// (GeneratorConfig.FIRST_PERSON_ID, FIRST_AUCTION_ID, FIRST_CATEGORY_ID).
inline constexpr int64_t kFirstPersonId = 1000;
inline constexpr int64_t kFirstAuctionId = 1000;
inline constexpr int64_t kFirstCategoryId = 10;
// Categories are kFirstCategoryId + [0, kNumCategories) (AuctionGenerator.NUM_CATEGORIES).
inline constexpr int64_t kNumCategories = 5;
// A randomly chosen (not hot) seller, bidder or auction may be up to this many ids beyond the
// last one generated so far, i.e. not generated yet (PERSON_ID_LEAD, AUCTION_ID_LEAD): the
// reference lets new persons and auctions look as if they were swapped in time with their use.
inline constexpr int64_t kPersonIdLead = 10;
inline constexpr int64_t kAuctionIdLead = 10;
// A hot seller / bidder / auction is the first (sellers, auctions) or second (bidders) id of
// the group of this many ids holding the last generated one (HOT_SELLER_RATIO,
// HOT_BIDDER_RATIO, HOT_AUCTION_RATIO of the model classes, which are group sizes, not ratios).
inline constexpr int64_t kHotGroupSize = 100;

// max_events = 0 means this many events: 28 years at 10 M events/s. It keeps
// n * 1000 (TimestampOfEvent) and every id within int64 (the reference caps its unbounded
// stream for the same reason, at Long.MAX_VALUE / (totalProportion * max avg size)).
inline constexpr int64_t kMaxEvents = int64_t{1} << 53;
// Bounds checked by Validate(), chosen so that no computation overflows int64.
inline constexpr int64_t kMaxProportion = 1000;
inline constexpr int64_t kMaxRatio = 1'000'000;
inline constexpr int64_t kMaxEventRate = 1'000'000'000;
inline constexpr int64_t kMaxBaseTimeMs = 100'000'000'000'000;  // year 5138
inline constexpr int64_t kMaxInFlightAuctions = 1'000'000;
inline constexpr int64_t kMaxActivePeople = 1'000'000'000;
// The `extra` padding is a slice of a 1 MiB pool (string_pools.h), so the average sizes are
// bounded well below it (an extra is at most 1.2 x the average).
inline constexpr int64_t kMaxAvgByteSize = 256 * 1024;

// What the generator produces; the defaults are the reference's NexmarkConfiguration defaults
// (the Flink option names are given in brackets), except seed and base_time_ms, which the
// reference takes from an unseeded random and the wall clock.
struct NexmarkConfig {
  // Seed of all random choices: same seed, same events. Any value.
  uint64_t seed = 0;
  // Events in the whole stream (over all splits) [events.num]: 0 = unbounded (kMaxEvents);
  // otherwise [1, kMaxEvents].
  int64_t max_events = 0;
  // Events per second over the whole stream [first-event.rate]: event n has the timestamp
  // base_time_ms + n * 1000 / first_event_rate (TimestampOfEvent). [1, kMaxEventRate].
  int64_t first_event_rate = 10000;
  // Timestamp of event 0, epoch milliseconds. The reference uses the wall clock at job
  // creation; a source should do the same. [0, kMaxBaseTimeMs].
  int64_t base_time_ms = 0;
  // Kinds per total_proportion() consecutive events, in this order: persons, then auctions,
  // then bids [person.proportion, auction.proportion, bid.proportion]. Each [1, kMaxProportion].
  int64_t person_proportion = 1;
  int64_t auction_proportion = 3;
  int64_t bid_proportion = 46;
  // Average sizes in bytes the `extra` field pads events to, counting 8 bytes per number and
  // the string lengths [person.avg-size, auction.avg-size, bid.avg-size]. [0, kMaxAvgByteSize];
  // an event whose other fields are already larger gets an empty extra.
  int64_t avg_person_byte_size = 200;
  int64_t avg_auction_byte_size = 500;
  int64_t avg_bid_byte_size = 100;
  // A bid is for the hot auction with probability 1 - 1/hot_auction_ratio, an auction is sold
  // by the hot seller with probability 1 - 1/hot_sellers_ratio, a bid is made by the hot bidder
  // with probability 1 - 1/hot_bidders_ratio [bid.hot-ratio.auctions, auction.hot-ratio.sellers,
  // bid.hot-ratio.bidders]. 1 = never hot. Each [1, kMaxRatio].
  int64_t hot_auction_ratio = 2;
  int64_t hot_sellers_ratio = 4;
  int64_t hot_bidders_ratio = 4;
  // Other bids are for one of the last num_in_flight_auctions + 1 auctions (or up to
  // kAuctionIdLead newer); auctions expire after about as long as it takes to generate this many
  // auctions. [1, kMaxInFlightAuctions].
  int64_t num_in_flight_auctions = 100;
  // Other sellers and bidders are among the last num_active_people persons (or up to
  // kPersonIdLead newer). [1, kMaxActivePeople].
  int64_t num_active_people = 1000;

  // InvalidArgument naming the first field out of its range, the range and the value found.
  absl::Status Validate() const;

  int64_t total_proportion() const {
    return person_proportion + auction_proportion + bid_proportion;
  }
  // Number of events in the whole stream: max_events, or kMaxEvents when unbounded.
  int64_t event_limit() const { return max_events == 0 ? kMaxEvents : max_events; }
};

enum class EventKind : uint8_t { kPerson, kAuction, kBid };

// The kind of event n: with the default proportions, event 50k is a person, 50k+1..50k+3
// auctions and 50k+4..50k+49 bids.
inline EventKind KindOfEvent(const NexmarkConfig& c, int64_t n) {
  const int64_t offset = n % c.total_proportion();
  if (offset < c.person_proportion) return EventKind::kPerson;
  if (offset < c.person_proportion + c.auction_proportion) return EventKind::kAuction;
  return EventKind::kBid;
}

// Event time of event n in epoch ms: base_time_ms + floor(n * 1000 / first_event_rate). This is
// the reference's baseTime + (long)(n * interEventDelayUs) / 1000 with interEventDelayUs =
// 1e6 / rate, computed exactly in integers (floor(floor(n * 1e6 / r) / 1000) equals
// floor(n * 1000 / r)). Non-decreasing in n. Requires 0 <= n <= kMaxEvents + a few million.
inline int64_t TimestampOfEvent(const NexmarkConfig& c, int64_t n) {
  return c.base_time_ms + n * 1000 / c.first_event_rate;
}

// The id rules below take the event number split into epoch = n / total_proportion() and
// offset = n % total_proportion(), which the generator computes once per event.

// Last person id generated at or before event n, base 0 (add kFirstPersonId): the current
// person's for a person event (PersonGenerator.lastBase0PersonId).
inline int64_t LastBase0PersonId(const NexmarkConfig& c, int64_t epoch, int64_t offset) {
  return epoch * c.person_proportion + std::min(offset, c.person_proportion - 1);
}
inline int64_t LastBase0PersonId(const NexmarkConfig& c, int64_t n) {
  return LastBase0PersonId(c, n / c.total_proportion(), n % c.total_proportion());
}

// Last auction id generated at or before event n, base 0 (add kFirstAuctionId): the current
// auction's for an auction event; -1 for the persons of epoch 0, before any auction
// (AuctionGenerator.lastBase0AuctionId).
inline int64_t LastBase0AuctionId(const NexmarkConfig& c, int64_t epoch, int64_t offset) {
  if (offset < c.person_proportion) return epoch * c.auction_proportion - 1;
  return epoch * c.auction_proportion +
         std::min(offset - c.person_proportion, c.auction_proportion - 1);
}
inline int64_t LastBase0AuctionId(const NexmarkConfig& c, int64_t n) {
  return LastBase0AuctionId(c, n / c.total_proportion(), n % c.total_proportion());
}

}  // namespace sluice::connectors::nexmark

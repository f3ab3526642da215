#pragma once
// NexmarkGenerator: the Nexmark benchmark's event generator (persons, auctions, bids), the
// input of the Nexmark queries. A standalone library: it knows nothing of record batches,
// operators or sources, so a source, a benchmark loop or a test can drive it.
//
// Source: github.com/nexmark/nexmark, nexmark-flink .../generator/NexmarkGenerator.java and
// model/{Person,Auction,Bid,Price,Strings,Long}Generator.java; see generator_config.h for the
// numbering of events and the deliberate differences, string_pools.h for the strings, random.h
// for the per-event randomness. The field rules, per event number n (epoch = n / 50, with the
// default proportions):
//   - Person: id = kFirstPersonId + LastBase0PersonId(n); name "First Last", email, credit card,
//     city, state from the reference's rules; extra pads to avg_person_byte_size.
//   - Auction: id = kFirstAuctionId + LastBase0AuctionId(n); seller = the hot seller (first id
//     of the group of 100 persons holding the last person) with probability
//     1 - 1/hot_sellers_ratio, else a random active person; category 10..14; initial_bid a
//     price; reserve = initial_bid + a price; expires = date_time + 1 + uniform
//     [0, 2 x horizon), horizon = the time to generate num_in_flight_auctions more auctions;
//     item_name and description random strings of up to 19 and 99 characters.
//   - Bid: auction = the hot auction (first id of the group of 100 auctions holding the last
//     auction) with probability 1 - 1/hot_auction_ratio, else one of the last
//     num_in_flight_auctions + 1 auctions or up to kAuctionIdLead newer; bidder = the hot bidder
//     (second id of the group of 100 persons) with probability 1 - 1/hot_bidders_ratio, else a
//     random active person; price = round(100 x 10^(6u)); channel and url: with probability 1/2
//     one of 4 hot channels, else one of 10000 channels.
//   - A random active person is one of the last min(#persons, num_active_people) persons or up
//     to kPersonIdLead newer.
//   The Flink port adds kFirstPersonId twice to a bid's bidder (so bidders are 1000 ids beyond
//   every person); we add it once, as Beam's original does, so bids join with persons.
//
// Determinism: an event is a pure function of (config, n): same config and n, same event, in
// any process, at any parallelism, in any order. A different seed changes every random choice
// (not the kinds, ids or timestamps, which depend on n only).
//
// Splits (parallel subtasks). The stream is cut into blocks of total_proportion() consecutive
// events (50 by default: one person, three auctions, 46 bids); split `index` of `count`
// generates the blocks b with b % count == index, in order: event numbers
// index*50 .. index*50+49, then (index+count)*50 .. and so on, below event_limit(). So the splits
// are disjoint, their union is exactly events 0 .. event_limit()-1 with the same contents as
// one unsplit generator, each split sees the 1:3:46 mix, and as timestamps come from the event
// number, all splits advance through event time together (at most count x 50 events apart): a
// watermark per split stays close to the others. (The reference's split instead gives each
// subtask a contiguous range of event ids and its own timeline from the base time, so the
// events depend on the parallelism.) Each split's timestamps are non-decreasing.
//
// Bounds: max_events events over all splits (EventsInSplit() of them in one split); unbounded
// when max_events = 0 (kMaxEvents, which does not end in practice).
//
// Rate: the generator never waits; events carry their event time (Event::timestamp_ms,
// NextTimestampMs()), from which a source derives when to emit them (events.h).
//
// Checkpointing: the position of a generator is events_generated(); a generator created with
// the same config and split and SeekTo(k) continues with exactly the events a generator that
// had emitted k events would.
//
// Performance: no heap allocation per event. Strings are written to a scratch buffer the
// generator owns or are views into immutable tables; a bid costs about ten random draws and one
// exp(). Next() returns a reference to an Event the generator reuses.
//
// Lifecycle and threads: created by Create(), owned by its user (one source subtask, one
// benchmark loop), used by one thread at a time; movable, not copyable. The returned Event and
// its string views are valid until the next Next()/Generate() on this generator or until it is
// moved or destroyed.

#include <cstdint>

#include "absl/status/statusor.h"
#include "runtime/connectors/nexmark/events.h"
#include "runtime/connectors/nexmark/generator_config.h"
#include "runtime/connectors/nexmark/string_pools.h"

namespace sluice::connectors::nexmark {

// Flink's upper bound for max parallelism; more splits are refused.
inline constexpr int64_t kMaxSplits = 32768;

// Which part of the stream a generator produces: split `index` of `count` (a source's subtask
// index and parallelism). 0 <= index < count <= kMaxSplits. The default is the whole stream.
struct NexmarkSplit {
  int64_t index = 0;
  int64_t count = 1;
};

class NexmarkGenerator {
 public:
  // InvalidArgument for a config that fails NexmarkConfig::Validate(), or a split out of range.
  static absl::StatusOr<NexmarkGenerator> Create(const NexmarkConfig& config,
                                                 NexmarkSplit split = {});

  NexmarkGenerator(NexmarkGenerator&&) = default;
  NexmarkGenerator& operator=(NexmarkGenerator&&) = default;
  NexmarkGenerator(const NexmarkGenerator&) = delete;
  NexmarkGenerator& operator=(const NexmarkGenerator&) = delete;

  // Whether this split has events left.
  bool HasNext() const { return next_event_number_ < limit_; }

  // The split's next event. Requires HasNext().
  const Event& Next();

  // The event number and event time (epoch ms) Next() will return. Meaningful while HasNext().
  int64_t next_event_number() const { return next_event_number_; }
  int64_t NextTimestampMs() const { return TimestampOfEvent(config_, next_event_number_); }

  // Events returned by Next() so far (since Create, or as set by SeekTo).
  int64_t events_generated() const { return events_generated_; }

  // Continues as if `events_generated` events of this split had been returned, for a restore
  // from a checkpoint. Requires 0 <= events_generated <= EventsInSplit(config(), split()).
  void SeekTo(int64_t events_generated);

  // Event n of the whole stream, whichever split owns it; does not move the split's position.
  // Requires 0 <= n < config().event_limit(). For tests and random access.
  const Event& Generate(int64_t event_number);

  const NexmarkConfig& config() const { return config_; }
  NexmarkSplit split() const { return split_; }

  // Number of events split `split` generates in total: over all splits they add up to
  // config.event_limit(). Both arguments must be valid.
  static int64_t EventsInSplit(const NexmarkConfig& config, NexmarkSplit split);

  // The event number of the k-th event (0-based) of split `split`.
  static int64_t EventNumberInSplit(const NexmarkConfig& config, NexmarkSplit split, int64_t k);

 private:
  // Bytes the strings of one event may need: a person writes at most 34 (email, credit card),
  // an auction at most 118 (item name, description).
  static constexpr int64_t kScratchBytes = 256;

  NexmarkGenerator(const NexmarkConfig& config, NexmarkSplit split);

  void GeneratePerson(int64_t epoch, int64_t offset, EventRandom& rng);
  void GenerateAuction(int64_t n, int64_t epoch, int64_t offset, EventRandom& rng);
  void GenerateBid(int64_t epoch, int64_t offset, EventRandom& rng);
  int64_t NextBase0PersonId(int64_t epoch, int64_t offset, EventRandom& rng) const;
  int64_t NextBase0AuctionId(int64_t epoch, int64_t offset, EventRandom& rng) const;

  NexmarkConfig config_;
  NexmarkSplit split_;
  const StringPools* pools_;
  int64_t total_proportion_;
  int64_t limit_;              // config_.event_limit()
  int64_t next_event_number_;  // >= limit_ once the split is exhausted
  int64_t left_in_block_;      // events of the current block still to generate
  int64_t events_generated_ = 0;
  Event event_;
  char scratch_[kScratchBytes];
};

}  // namespace sluice::connectors::nexmark

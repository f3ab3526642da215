#include "runtime/connectors/nexmark/generator.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sluice::connectors::nexmark {
namespace {

using ::testing::HasSubstr;

NexmarkGenerator MakeGenerator(const NexmarkConfig& config, NexmarkSplit split = {}) {
  absl::StatusOr<NexmarkGenerator> g = NexmarkGenerator::Create(config, split);
  EXPECT_TRUE(g.ok()) << g.status();
  return std::move(g).value();
}

// Appends numbers and strings (Debian's Abseil has its own string_view, so StrCat does not take
// std::string_view).
template <typename... Args>
void Append(std::string* out, const Args&... args) {
  auto one = [out](const auto& v) {
    if constexpr (std::is_integral_v<std::decay_t<decltype(v)>>) {
      *out += std::to_string(v);
    } else {
      *out += v;
    }
  };
  (one(args), ...);
}

// Every field of an event as one string: an owned copy to compare events by value.
std::string Describe(const Event& e) {
  std::string s;
  Append(&s, e.event_number, "@", e.timestamp_ms, " ");
  switch (e.kind) {
    case EventKind::kPerson: {
      const Person& p = e.person;
      Append(&s, "P ", p.id, "|", p.name, "|", p.email_address, "|", p.credit_card, "|", p.city,
             "|", p.state, "|", p.date_time_ms, "|", p.extra);
      break;
    }
    case EventKind::kAuction: {
      const Auction& a = e.auction;
      Append(&s, "A ", a.id, "|", a.item_name, "|", a.description, "|", a.initial_bid, "|",
             a.reserve, "|", a.date_time_ms, "|", a.expires_ms, "|", a.seller, "|", a.category, "|",
             a.extra);
      break;
    }
    case EventKind::kBid: {
      const Bid& b = e.bid;
      Append(&s, "B ", b.auction, "|", b.bidder, "|", b.price, "|", b.channel, "|", b.url, "|",
             b.date_time_ms, "|", b.extra);
      break;
    }
  }
  return s;
}

std::vector<std::string> DescribeAll(NexmarkGenerator& g) {
  std::vector<std::string> out;
  while (g.HasNext()) out.push_back(Describe(g.Next()));
  return out;
}

NexmarkConfig Bounded(int64_t max_events, uint64_t seed = 7) {
  NexmarkConfig c;
  c.max_events = max_events;
  c.seed = seed;
  c.base_time_ms = 1'700'000'000'000;
  return c;
}

TEST(NexmarkGeneratorTest, EveryFiftyEventsHoldOnePersonThreeAuctionsFortySixBids) {
  NexmarkGenerator g = MakeGenerator(Bounded(50 * 400));
  for (int64_t block = 0; block < 400; ++block) {
    std::vector<EventKind> kinds;
    for (int i = 0; i < 50; ++i) kinds.push_back(g.Next().kind);
    // The kind is fixed by the position in the block: person, 3 auctions, 46 bids.
    EXPECT_EQ(kinds[0], EventKind::kPerson) << "block " << block;
    for (int i = 1; i < 4; ++i) EXPECT_EQ(kinds[i], EventKind::kAuction) << "block " << block;
    for (int i = 4; i < 50; ++i) EXPECT_EQ(kinds[i], EventKind::kBid) << "block " << block;
  }
  EXPECT_FALSE(g.HasNext());
}

TEST(NexmarkGeneratorTest, IdsAreConsecutiveFromTheFirstIds) {
  NexmarkGenerator g = MakeGenerator(Bounded(5000));
  int64_t next_person = kFirstPersonId;
  int64_t next_auction = kFirstAuctionId;
  while (g.HasNext()) {
    const Event& e = g.Next();
    if (e.kind == EventKind::kPerson) {
      EXPECT_EQ(e.person.id, next_person);
      ++next_person;
    }
    if (e.kind == EventKind::kAuction) {
      EXPECT_EQ(e.auction.id, next_auction);
      ++next_auction;
    }
  }
  EXPECT_EQ(next_person, kFirstPersonId + 100);
  EXPECT_EQ(next_auction, kFirstAuctionId + 300);
}

TEST(NexmarkGeneratorTest, SameSeedSameEventsAndRandomAccessAgrees) {
  NexmarkGenerator a = MakeGenerator(Bounded(3000, 42));
  NexmarkGenerator b = MakeGenerator(Bounded(3000, 42));
  const std::vector<std::string> events = DescribeAll(a);
  EXPECT_EQ(events, DescribeAll(b));
  // Any event can be generated on its own, in any order.
  NexmarkGenerator c = MakeGenerator(Bounded(3000, 42));
  for (int64_t n : {2999, 0, 1234, 1, 4, 1234}) EXPECT_EQ(Describe(c.Generate(n)), events[n]);
}

TEST(NexmarkGeneratorTest, DifferentSeedsGiveDifferentEventsWithTheSameSkeleton) {
  NexmarkGenerator a = MakeGenerator(Bounded(5000, 1));
  NexmarkGenerator b = MakeGenerator(Bounded(5000, 2));
  int64_t bids = 0;
  int64_t different_prices = 0;
  while (a.HasNext()) {
    const Event& x = a.Next();
    const Event& y = b.Next();
    // Kinds, ids and timestamps depend on the event number only.
    ASSERT_EQ(x.kind, y.kind);
    ASSERT_EQ(x.timestamp_ms, y.timestamp_ms);
    if (x.kind == EventKind::kPerson) {
      EXPECT_EQ(x.person.id, y.person.id);
    }
    if (x.kind == EventKind::kBid) {
      ++bids;
      if (x.bid.price != y.bid.price) ++different_prices;
    }
  }
  EXPECT_GT(different_prices, bids * 99 / 100);
}

TEST(NexmarkGeneratorTest, SplitsAreDisjointAndTogetherEqualTheUnsplitStream) {
  for (int64_t max_events : {1, 49, 50, 10'007, 25'000}) {
    NexmarkGenerator whole = MakeGenerator(Bounded(max_events));
    const std::vector<std::string> expected = DescribeAll(whole);
    ASSERT_EQ(static_cast<int64_t>(expected.size()), max_events);
    for (int64_t count : {1, 2, 3, 7, 50, 64}) {
      std::vector<std::string> united(max_events);
      std::vector<int> seen(max_events, 0);
      int64_t total = 0;
      for (int64_t index = 0; index < count; ++index) {
        const NexmarkSplit split{index, count};
        NexmarkGenerator g = MakeGenerator(Bounded(max_events), split);
        int64_t generated = 0;
        int64_t last_number = -1;
        while (g.HasNext()) {
          const Event& e = g.Next();
          ASSERT_GT(e.event_number, last_number) << "split " << index << "/" << count;
          last_number = e.event_number;
          ++seen[e.event_number];
          united[e.event_number] = Describe(e);
          ++generated;
        }
        EXPECT_EQ(generated, NexmarkGenerator::EventsInSplit(Bounded(max_events), split))
            << "split " << index << "/" << count << " of " << max_events;
        total += generated;
      }
      EXPECT_EQ(total, max_events);
      EXPECT_THAT(seen, ::testing::Each(1)) << count << " splits of " << max_events;
      EXPECT_EQ(united, expected) << count << " splits of " << max_events;
    }
  }
}

TEST(NexmarkGeneratorTest, SplitsTakeWholeBlocksOfFiftyInTurn) {
  NexmarkGenerator g = MakeGenerator(Bounded(1000), NexmarkSplit{1, 3});
  std::vector<int64_t> numbers;
  while (g.HasNext()) numbers.push_back(g.Next().event_number);
  // Blocks 1, 4, 7, 10, 13, 16, 19 of 20.
  ASSERT_EQ(numbers.size(), 7u * 50);
  EXPECT_EQ(numbers[0], 50);
  EXPECT_EQ(numbers[49], 99);
  EXPECT_EQ(numbers[50], 200);
  EXPECT_EQ(numbers.back(), 999);
}

TEST(NexmarkGeneratorTest, UnboundedSplitsAddUpToTheEventLimit) {
  NexmarkConfig c;  // max_events = 0
  EXPECT_EQ(c.event_limit(), kMaxEvents);
  int64_t total = 0;
  for (int64_t i = 0; i < 7; ++i) total += NexmarkGenerator::EventsInSplit(c, {i, 7});
  EXPECT_EQ(total, kMaxEvents);
  NexmarkGenerator g = MakeGenerator(c, {6, 7});
  for (int i = 0; i < 100'000; ++i) {
    ASSERT_TRUE(g.HasNext()) << i;
    g.Next();
  }
  // The end of the unbounded stream is reached without overflow.
  g.SeekTo(NexmarkGenerator::EventsInSplit(c, {6, 7}) - 1);
  ASSERT_TRUE(g.HasNext());
  const Event& last = g.Next();
  EXPECT_LT(last.event_number, kMaxEvents);
  EXPECT_GT(last.timestamp_ms, 0);
  EXPECT_FALSE(g.HasNext());
}

TEST(NexmarkGeneratorTest, SeekToContinuesWhereAGeneratorThatEmittedThatManyWould) {
  const NexmarkSplit split{2, 5};
  NexmarkGenerator a = MakeGenerator(Bounded(20'000), split);
  for (int i = 0; i < 777; ++i) a.Next();
  NexmarkGenerator b = MakeGenerator(Bounded(20'000), split);
  b.SeekTo(777);
  EXPECT_EQ(b.events_generated(), 777);
  EXPECT_EQ(b.next_event_number(), a.next_event_number());
  EXPECT_EQ(DescribeAll(a), DescribeAll(b));
}

TEST(NexmarkGeneratorTest, TimestampsFollowTheRateAndNeverDecrease) {
  for (int64_t rate : {10'000, 3, 7'777, 1'000'000}) {
    NexmarkConfig c = Bounded(20'000);
    c.first_event_rate = rate;
    for (NexmarkSplit split : {NexmarkSplit{0, 1}, NexmarkSplit{2, 3}}) {
      NexmarkGenerator g = MakeGenerator(c, split);
      int64_t last = c.base_time_ms;
      while (g.HasNext()) {
        const int64_t expected_ts = c.base_time_ms + g.next_event_number() * 1000 / rate;
        ASSERT_EQ(g.NextTimestampMs(), expected_ts);
        const Event& e = g.Next();
        ASSERT_EQ(e.timestamp_ms, expected_ts) << "rate " << rate << " event " << e.event_number;
        ASSERT_GE(e.timestamp_ms, last);
        last = e.timestamp_ms;
        const int64_t member_ts = e.kind == EventKind::kPerson    ? e.person.date_time_ms
                                  : e.kind == EventKind::kAuction ? e.auction.date_time_ms
                                                                  : e.bid.date_time_ms;
        ASSERT_EQ(member_ts, e.timestamp_ms);
      }
    }
  }
  // 10'000 events per second: event 10'000 is one second after the base time.
  EXPECT_EQ(TimestampOfEvent(Bounded(1), 10'000), Bounded(1).base_time_ms + 1000);
}

TEST(NexmarkGeneratorTest, BidsAndAuctionsReferToPersonsAndAuctionsAlreadyGenerated) {
  NexmarkConfig c = Bounded(500'000);
  NexmarkGenerator g = MakeGenerator(c);
  int64_t last_person = -1;
  int64_t last_auction = -1;
  int64_t auctions = 0, bids = 0;
  // References to ids not generated yet, which only the leads allow.
  int64_t sellers_ahead = 0, auctions_ahead = 0, bidders_ahead = 0;
  while (g.HasNext()) {
    const Event& e = g.Next();
    if (e.kind == EventKind::kPerson) last_person = e.person.id;
    if (e.kind == EventKind::kAuction) {
      ++auctions;
      last_auction = e.auction.id;
      ASSERT_GE(e.auction.seller, std::max(kFirstPersonId, last_person - c.num_active_people));
      ASSERT_LE(e.auction.seller, last_person + kPersonIdLead);
      if (e.auction.seller > last_person) ++sellers_ahead;
    }
    if (e.kind == EventKind::kBid) {
      ++bids;
      // The hot auction is at most kHotGroupSize - 1 back, the others num_in_flight_auctions.
      const int64_t window = std::max(c.num_in_flight_auctions, kHotGroupSize - 1);
      ASSERT_GE(e.bid.auction, std::max(kFirstAuctionId, last_auction - window));
      ASSERT_LE(e.bid.auction, last_auction + kAuctionIdLead);
      ASSERT_GE(e.bid.bidder, std::max(kFirstPersonId, last_person - c.num_active_people));
      ASSERT_LE(e.bid.bidder, last_person + kPersonIdLead);
      if (e.bid.auction > last_auction) ++auctions_ahead;
      if (e.bid.bidder > last_person) ++bidders_ahead;
    }
  }
  // Only random (not hot) choices landing on one of the leads refer ahead: a random auction
  // (probability 1/2) is one of 111 ids, 10 of them ahead; a random person (1/4) one of 1010,
  // 10 ahead. The hot bidder (second of its group of 100) is ahead when the last person is the
  // first of a group: 1 in 100.
  const auto fraction = [](int64_t part, int64_t whole) {
    return static_cast<double>(part) / static_cast<double>(whole);
  };
  EXPECT_NEAR(fraction(auctions_ahead, bids), 0.5 * 10 / 111, 0.003);
  EXPECT_NEAR(fraction(bidders_ahead, bids), 0.75 / 100 + 0.25 * 10 / 1010, 0.002);
  EXPECT_NEAR(fraction(sellers_ahead, auctions), 0.25 * 10 / 1010, 0.002);
}

// Fraction of bids (or auctions) whose id equals the hot id of its position.
struct HotFractions {
  double auctions = 0;  // bids for the hot auction
  double bidders = 0;   // bids by the hot bidder
  double sellers = 0;   // auctions by the hot seller
};

HotFractions MeasureHot(const NexmarkConfig& c) {
  NexmarkGenerator g = MakeGenerator(c);
  int64_t bids = 0, hot_auction = 0, hot_bidder = 0, auctions = 0, hot_seller = 0;
  while (g.HasNext()) {
    const Event& e = g.Next();
    const int64_t n = e.event_number;
    const int64_t person_group = LastBase0PersonId(c, n) / kHotGroupSize * kHotGroupSize;
    if (e.kind == EventKind::kBid) {
      ++bids;
      const int64_t auction_group = LastBase0AuctionId(c, n) / kHotGroupSize * kHotGroupSize;
      if (e.bid.auction == kFirstAuctionId + auction_group) ++hot_auction;
      if (e.bid.bidder == kFirstPersonId + person_group + 1) ++hot_bidder;
    } else if (e.kind == EventKind::kAuction) {
      ++auctions;
      if (e.auction.seller == kFirstPersonId + person_group) ++hot_seller;
    }
  }
  return {static_cast<double>(hot_auction) / bids, static_cast<double>(hot_bidder) / bids,
          static_cast<double>(hot_seller) / auctions};
}

TEST(NexmarkGeneratorTest, HotRatiosHold) {
  // Past the first events, a random auction is one of num_in_flight_auctions + 1 +
  // kAuctionIdLead = 111 ids, and a random person one of 1000 + 10.
  NexmarkConfig c = Bounded(2'000'000);
  HotFractions f = MeasureHot(c);
  EXPECT_NEAR(f.auctions, 0.5 + 0.5 / 111, 0.004);    // hot_auction_ratio 2
  EXPECT_NEAR(f.bidders, 0.75 + 0.25 / 1010, 0.004);  // hot_bidders_ratio 4
  EXPECT_NEAR(f.sellers, 0.75 + 0.25 / 1010, 0.01);   // hot_sellers_ratio 4, 120'000 auctions

  c.hot_auction_ratio = 10;
  c.hot_bidders_ratio = 1;  // never hot
  c.max_events = 500'000;
  f = MeasureHot(c);
  EXPECT_NEAR(f.auctions, 0.9 + 0.1 / 111, 0.005);
  EXPECT_LT(f.bidders, 0.01);
}

TEST(NexmarkGeneratorTest, BoundedGeneratorStopsAtMaxEvents) {
  NexmarkGenerator g = MakeGenerator(Bounded(1234));
  int64_t count = 0;
  int64_t last_number = -1;
  while (g.HasNext()) {
    last_number = g.Next().event_number;
    ++count;
  }
  EXPECT_EQ(count, 1234);
  EXPECT_EQ(last_number, 1233);
  EXPECT_EQ(g.events_generated(), 1234);
  EXPECT_FALSE(g.HasNext());
}

TEST(NexmarkGeneratorTest, ValidateRejectsBadConfigsNamingTheField) {
  EXPECT_TRUE(NexmarkConfig{}.Validate().ok());
  struct Case {
    void (*mutate)(NexmarkConfig&);
    std::string_view field;
  };
  const Case cases[] = {
      {[](NexmarkConfig& c) { c.max_events = -1; }, "max_events"},
      {[](NexmarkConfig& c) { c.max_events = kMaxEvents + 1; }, "max_events"},
      {[](NexmarkConfig& c) { c.first_event_rate = 0; }, "first_event_rate"},
      {[](NexmarkConfig& c) { c.base_time_ms = -5; }, "base_time_ms"},
      {[](NexmarkConfig& c) { c.person_proportion = 0; }, "person_proportion"},
      {[](NexmarkConfig& c) { c.auction_proportion = 0; }, "auction_proportion"},
      {[](NexmarkConfig& c) { c.bid_proportion = 1001; }, "bid_proportion"},
      {[](NexmarkConfig& c) { c.avg_person_byte_size = -1; }, "avg_person_byte_size"},
      {[](NexmarkConfig& c) { c.avg_auction_byte_size = kMaxAvgByteSize + 1; },
       "avg_auction_byte_size"},
      {[](NexmarkConfig& c) { c.avg_bid_byte_size = -100; }, "avg_bid_byte_size"},
      {[](NexmarkConfig& c) { c.hot_auction_ratio = 0; }, "hot_auction_ratio"},
      {[](NexmarkConfig& c) { c.hot_sellers_ratio = -1; }, "hot_sellers_ratio"},
      {[](NexmarkConfig& c) { c.hot_bidders_ratio = 0; }, "hot_bidders_ratio"},
      {[](NexmarkConfig& c) { c.num_in_flight_auctions = 0; }, "num_in_flight_auctions"},
      {[](NexmarkConfig& c) { c.num_active_people = 0; }, "num_active_people"},
  };
  for (const Case& k : cases) {
    NexmarkConfig c;
    k.mutate(c);
    const absl::Status s = c.Validate();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << k.field;
    EXPECT_THAT(s.message(), HasSubstr(k.field));
    EXPECT_EQ(NexmarkGenerator::Create(c).status().code(), absl::StatusCode::kInvalidArgument);
  }
  NexmarkConfig c;
  c.first_event_rate = 0;
  EXPECT_THAT(c.Validate().message(), HasSubstr("must be in [1, 1000000000], got 0"));
}

TEST(NexmarkGeneratorTest, CreateRejectsBadSplits) {
  for (NexmarkSplit split : {NexmarkSplit{0, 0}, NexmarkSplit{3, 3}, NexmarkSplit{-1, 2},
                             NexmarkSplit{0, kMaxSplits + 1}}) {
    const absl::Status s = NexmarkGenerator::Create(NexmarkConfig{}, split).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), HasSubstr("split"));
  }
}

TEST(NexmarkGeneratorTest, StringFieldsHaveTheNexmarkShapes) {
  const std::regex email("[a-z ]*@[a-z ]*\\.com");
  const std::regex card("[0-9]{4} [0-9]{4} [0-9]{4} [0-9]{4}");
  const std::regex name("[A-Z][a-z]+ [A-Z][a-z]+");
  const std::regex text("([a-z][a-z ]*[a-z]|[a-z])?");  // no leading or trailing space
  const std::regex lower("[a-z]*");
  const std::regex url(
      "https://www\\.nexmark\\.com/[a-z_]{3,4}/[a-z_]{3,4}/[a-z_]{3,4}/"
      "item\\.htm\\?query=1(&channel_id=[0-9]+)?");
  const std::regex channel("Google|Facebook|Baidu|Apple|channel-[0-9]{1,4}");
  const std::set<std::string_view> states = {"AZ", "CA", "ID", "OR", "WA", "WY"};
  const std::set<std::string_view> cities = {"Phoenix",  "Los Angeles", "San Francisco", "Boise",
                                             "Portland", "Bend",        "Redmond",       "Seattle",
                                             "Kent",     "Cheyenne"};
  auto matches = [](std::string_view s, const std::regex& re) {
    return std::regex_match(s.begin(), s.end(), re);
  };
  NexmarkGenerator g = MakeGenerator(Bounded(20'000));
  std::set<std::string_view> hot_channels_seen;
  while (g.HasNext()) {
    const Event& e = g.Next();
    if (e.kind == EventKind::kPerson) {
      const Person& p = e.person;
      EXPECT_TRUE(matches(p.email_address, email)) << p.email_address;
      EXPECT_NE(p.email_address.find('@'), std::string_view::npos);
      EXPECT_TRUE(matches(p.credit_card, card)) << p.credit_card;
      EXPECT_TRUE(matches(p.name, name)) << p.name;
      EXPECT_TRUE(states.contains(p.state)) << p.state;
      EXPECT_TRUE(cities.contains(p.city)) << p.city;
      EXPECT_TRUE(matches(p.extra, lower));
    } else if (e.kind == EventKind::kAuction) {
      const Auction& a = e.auction;
      EXPECT_LE(a.item_name.size(), 19u);
      EXPECT_LE(a.description.size(), 99u);
      EXPECT_TRUE(matches(a.item_name, text)) << "[" << a.item_name << "]";
      EXPECT_TRUE(matches(a.description, text)) << "[" << a.description << "]";
      EXPECT_GE(a.category, kFirstCategoryId);
      EXPECT_LT(a.category, kFirstCategoryId + kNumCategories);
      EXPECT_GE(a.initial_bid, 100);
      EXPECT_GT(a.reserve, a.initial_bid);
      EXPECT_GT(a.expires_ms, a.date_time_ms);
      EXPECT_TRUE(matches(a.extra, lower));
    } else {
      const Bid& b = e.bid;
      EXPECT_GE(b.price, 100);
      EXPECT_LE(b.price, 100'000'000);
      EXPECT_TRUE(matches(b.url, url)) << b.url;
      EXPECT_TRUE(matches(b.channel, channel)) << b.channel;
      if (!b.channel.starts_with("channel-")) hot_channels_seen.insert(b.channel);
      EXPECT_TRUE(matches(b.extra, lower));
    }
  }
  EXPECT_EQ(hot_channels_seen.size(), 4u);
}

TEST(NexmarkGeneratorTest, PricesAreLogUniformAndAuctionsLastAboutTheInFlightHorizon) {
  NexmarkGenerator g = MakeGenerator(Bounded(500'000));
  int64_t bids = 0, below_10k = 0, auctions = 0;
  double total_length_ms = 0;
  while (g.HasNext()) {
    const Event& e = g.Next();
    if (e.kind == EventKind::kBid) {
      ++bids;
      if (e.bid.price < 10'000) ++below_10k;  // 10^(6u) * 100 < 10^4 iff u < 1/3
    } else if (e.kind == EventKind::kAuction) {
      ++auctions;
      total_length_ms += static_cast<double>(e.auction.expires_ms - e.auction.date_time_ms);
    }
  }
  EXPECT_NEAR(static_cast<double>(below_10k) / bids, 1.0 / 3, 0.005);
  // Horizon h: 100 auctions in flight = 100 * 50 / 3 = 1666 events, 166 or 167 ms at 10'000
  // events/s (the timestamps are whole ms), 166.4 on average; lengths are 1 + uniform
  // [0, 2h), so h + 0.5 on average.
  EXPECT_NEAR(total_length_ms / auctions, 166.9, 2.0);
}

// Mean event size as the reference counts it (8 bytes per number plus string lengths).
struct MeanSizes {
  double person = 0, auction = 0, bid = 0;
};

MeanSizes MeasureSizes(const NexmarkConfig& c) {
  NexmarkGenerator g = MakeGenerator(c);
  double sums[3] = {0, 0, 0};
  int64_t counts[3] = {0, 0, 0};
  while (g.HasNext()) {
    const Event& e = g.Next();
    const int k = static_cast<int>(e.kind);
    ++counts[k];
    if (e.kind == EventKind::kPerson) {
      const Person& p = e.person;
      sums[k] += 8 + p.name.size() + p.email_address.size() + p.credit_card.size() + p.city.size() +
                 p.state.size() + p.extra.size();
    } else if (e.kind == EventKind::kAuction) {
      const Auction& a = e.auction;
      sums[k] += 8 + a.item_name.size() + a.description.size() + 40 + a.extra.size();
    } else {
      sums[k] += 32 + e.bid.extra.size();
    }
  }
  return {sums[0] / counts[0], sums[1] / counts[1], sums[2] / counts[2]};
}

TEST(NexmarkGeneratorTest, ExtraPadsEventsToTheConfiguredAverageSizes) {
  // The padding is uniform in [d - round(d/5), d + round(d/5)), so the mean is the average
  // size minus half a byte.
  MeanSizes m = MeasureSizes(Bounded(1'000'000));
  EXPECT_NEAR(m.person, 199.5, 1.0);
  EXPECT_NEAR(m.auction, 499.5, 1.5);
  EXPECT_NEAR(m.bid, 99.5, 0.3);

  NexmarkConfig c = Bounded(500'000);
  c.avg_person_byte_size = 1000;
  c.avg_auction_byte_size = 3000;
  c.avg_bid_byte_size = 20;  // smaller than a bid's 32 bytes of numbers: no extra
  m = MeasureSizes(c);
  EXPECT_NEAR(m.person, 999.5, 5.0);
  EXPECT_NEAR(m.auction, 2999.5, 15.0);
  EXPECT_EQ(m.bid, 32.0);
}

}  // namespace
}  // namespace sluice::connectors::nexmark

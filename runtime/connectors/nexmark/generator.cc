#include "runtime/connectors/nexmark/generator.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string_view>

#include "absl/base/macros.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace sluice::connectors::nexmark {
namespace {

// PriceGenerator.nextPrice: round(10^(6u) * 100), u uniform in [0, 1), i.e. log-uniform in
// [100, 10^8). exp(u * 6 ln 10) instead of pow(10, 6u): the same value up to rounding in the
// last bit, at a fraction of the cost.
int64_t NextPrice(EventRandom& rng) {
  constexpr double kSixLn10 = 13.815510557964274;  // 6 * ln(10)
  return static_cast<int64_t>(std::exp(rng.UniformDouble() * kSixLn10) * 100.0 + 0.5);
}

// Writes `v` (0..9999) as four digits.
char* WriteFourDigits(int64_t v, char* out) {
  out[0] = static_cast<char>('0' + v / 1000);
  out[1] = static_cast<char>('0' + v / 100 % 10);
  out[2] = static_cast<char>('0' + v / 10 % 10);
  out[3] = static_cast<char>('0' + v % 10);
  return out + 4;
}

std::string_view View(const char* begin, const char* end) {
  return std::string_view(begin, static_cast<size_t>(end - begin));
}

}  // namespace

absl::StatusOr<NexmarkGenerator> NexmarkGenerator::Create(const NexmarkConfig& config,
                                                          NexmarkSplit split) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  if (split.count < 1 || split.count > kMaxSplits || split.index < 0 ||
      split.index >= split.count) {
    return absl::InvalidArgumentError(
        absl::StrCat("nexmark generator: split must satisfy 0 <= index < count <= ", kMaxSplits,
                     ", got index ", split.index, " of count ", split.count));
  }
  return NexmarkGenerator(config, split);
}

NexmarkGenerator::NexmarkGenerator(const NexmarkConfig& config, NexmarkSplit split)
    : config_(config),
      split_(split),
      pools_(&GetStringPools()),
      total_proportion_(config.total_proportion()),
      limit_(config.event_limit()) {
  SeekTo(0);
}

int64_t NexmarkGenerator::EventNumberInSplit(const NexmarkConfig& config, NexmarkSplit split,
                                             int64_t k) {
  const int64_t block = config.total_proportion();
  return (split.index + (k / block) * split.count) * block + k % block;
}

int64_t NexmarkGenerator::EventsInSplit(const NexmarkConfig& config, NexmarkSplit split) {
  const int64_t block = config.total_proportion();
  const int64_t n = config.event_limit();
  const int64_t full_blocks = n / block;
  // Full blocks b < full_blocks with b % count == index, then the partial last block if ours.
  const int64_t own_full_blocks =
      full_blocks > split.index ? (full_blocks - 1 - split.index) / split.count + 1 : 0;
  const int64_t partial = full_blocks % split.count == split.index ? n % block : 0;
  return own_full_blocks * block + partial;
}

void NexmarkGenerator::SeekTo(int64_t events_generated) {
  ABSL_ASSERT(events_generated >= 0 && events_generated <= EventsInSplit(config_, split_));
  events_generated_ = events_generated;
  next_event_number_ = EventNumberInSplit(config_, split_, events_generated);
  left_in_block_ = total_proportion_ - next_event_number_ % total_proportion_;
}

const Event& NexmarkGenerator::Next() {
  ABSL_ASSERT(HasNext());
  const Event& event = Generate(next_event_number_);
  ++events_generated_;
  ++next_event_number_;
  if (--left_in_block_ == 0) {  // skip the other splits' blocks
    next_event_number_ += (split_.count - 1) * total_proportion_;
    left_in_block_ = total_proportion_;
  }
  return event;
}

const Event& NexmarkGenerator::Generate(int64_t n) {
  ABSL_ASSERT(n >= 0 && n < limit_);
  EventRandom rng(config_.seed, n);
  const int64_t epoch = n / total_proportion_;
  const int64_t offset = n % total_proportion_;
  event_.event_number = n;
  event_.timestamp_ms = TimestampOfEvent(config_, n);
  if (offset < config_.person_proportion) {
    event_.kind = EventKind::kPerson;
    GeneratePerson(epoch, offset, rng);
  } else if (offset < config_.person_proportion + config_.auction_proportion) {
    event_.kind = EventKind::kAuction;
    GenerateAuction(n, epoch, offset, rng);
  } else {
    event_.kind = EventKind::kBid;
    GenerateBid(epoch, offset, rng);
  }
  return event_;
}

// PersonGenerator.nextBase0PersonId: one of the last `active` persons, or up to kPersonIdLead
// persons not generated yet, so that the density of bids and auctions per person does not fall
// over a long run.
int64_t NexmarkGenerator::NextBase0PersonId(int64_t epoch, int64_t offset, EventRandom& rng) const {
  const int64_t num_people = LastBase0PersonId(config_, epoch, offset) + 1;
  const int64_t active = std::min(num_people, config_.num_active_people);
  return num_people - active + rng.Uniform(active + kPersonIdLead);
}

// AuctionGenerator.nextBase0AuctionId: one of the auctions likely still in flight, or up to
// kAuctionIdLead auctions not generated yet.
int64_t NexmarkGenerator::NextBase0AuctionId(int64_t epoch, int64_t offset,
                                             EventRandom& rng) const {
  const int64_t max_auction = LastBase0AuctionId(config_, epoch, offset);
  const int64_t min_auction = std::max<int64_t>(max_auction - config_.num_in_flight_auctions, 0);
  return min_auction + rng.Uniform(max_auction - min_auction + 1 + kAuctionIdLead);
}

void NexmarkGenerator::GeneratePerson(int64_t epoch, int64_t offset, EventRandom& rng) {
  const StringPools& pools = *pools_;
  Person& p = event_.person;
  p.id = LastBase0PersonId(config_, epoch, offset) + kFirstPersonId;
  p.name = pools.full_names[rng.Uniform(pools.full_names.size())];

  char* out = scratch_;
  char* const email = out;
  out = WriteRandomString(rng, 7, ' ', out);
  *out++ = '@';
  out = WriteRandomString(rng, 5, ' ', out);
  for (char c : std::string_view(".com")) *out++ = c;
  p.email_address = View(email, out);

  char* const card = out;
  for (int i = 0; i < 4; ++i) {
    if (i > 0) *out++ = ' ';
    out = WriteFourDigits(rng.Uniform(int64_t{10000}), out);
  }
  p.credit_card = View(card, out);

  p.city = pools.cities[rng.Uniform(pools.cities.size())];
  p.state = pools.states[rng.Uniform(pools.states.size())];
  p.date_time_ms = event_.timestamp_ms;
  const auto current_size =
      static_cast<int64_t>(8 + p.name.size() + p.email_address.size() + p.credit_card.size() +
                           p.city.size() + p.state.size());
  p.extra = NextExtra(rng, pools, current_size, config_.avg_person_byte_size);
}

void NexmarkGenerator::GenerateAuction(int64_t n, int64_t epoch, int64_t offset, EventRandom& rng) {
  Auction& a = event_.auction;
  a.id = LastBase0AuctionId(config_, epoch, offset) + kFirstAuctionId;
  // P(hot seller) = 1 - 1/hot_sellers_ratio.
  if (rng.Uniform(config_.hot_sellers_ratio) > 0) {
    a.seller = (LastBase0PersonId(config_, epoch, offset) / kHotGroupSize) * kHotGroupSize;
  } else {
    a.seller = NextBase0PersonId(epoch, offset, rng);
  }
  a.seller += kFirstPersonId;
  a.category = kFirstCategoryId + rng.Uniform(kNumCategories);
  a.initial_bid = NextPrice(rng);
  a.reserve = a.initial_bid + NextPrice(rng);
  a.date_time_ms = event_.timestamp_ms;

  // AuctionGenerator.nextAuctionLengthMs: on average as long as it takes to generate
  // num_in_flight_auctions more auctions.
  const int64_t events_for_auctions =
      config_.num_in_flight_auctions * total_proportion_ / config_.auction_proportion;
  const int64_t horizon_ms = TimestampOfEvent(config_, n + events_for_auctions) - a.date_time_ms;
  a.expires_ms = a.date_time_ms + 1 + rng.Uniform(std::max<int64_t>(horizon_ms * 2, 1));

  char* out = scratch_;
  char* const name = out;
  out = WriteRandomString(rng, 20, ' ', out);
  a.item_name = View(name, out);
  char* const description = out;
  out = WriteRandomString(rng, 100, ' ', out);
  a.description = View(description, out);

  const auto current_size =
      static_cast<int64_t>(8 + a.item_name.size() + a.description.size() + 8 * 5);
  a.extra = NextExtra(rng, *pools_, current_size, config_.avg_auction_byte_size);
}

void NexmarkGenerator::GenerateBid(int64_t epoch, int64_t offset, EventRandom& rng) {
  const StringPools& pools = *pools_;
  Bid& b = event_.bid;
  // P(hot auction) = 1 - 1/hot_auction_ratio.
  if (rng.Uniform(config_.hot_auction_ratio) > 0) {
    b.auction = (LastBase0AuctionId(config_, epoch, offset) / kHotGroupSize) * kHotGroupSize;
  } else {
    b.auction = NextBase0AuctionId(epoch, offset, rng);
  }
  b.auction += kFirstAuctionId;
  // P(hot bidder) = 1 - 1/hot_bidders_ratio; the second person of the group, so that hot
  // bidders and hot sellers differ.
  if (rng.Uniform(config_.hot_bidders_ratio) > 0) {
    b.bidder = (LastBase0PersonId(config_, epoch, offset) / kHotGroupSize) * kHotGroupSize + 1;
  } else {
    b.bidder = NextBase0PersonId(epoch, offset, rng);
  }
  b.bidder += kFirstPersonId;
  b.price = NextPrice(rng);
  // Half of the bids come through one of the hot channels (BidGenerator.HOT_CHANNELS_RATIO).
  const StringPools::Channel& channel =
      rng.Uniform(int64_t{2}) > 0
          ? pools.hot_channels[rng.Uniform(static_cast<uint64_t>(StringPools::kNumHotChannels))]
          : pools.channels[rng.Uniform(static_cast<uint64_t>(StringPools::kNumChannels))];
  b.channel = channel.name;
  b.url = channel.url;
  b.date_time_ms = event_.timestamp_ms;
  b.extra = NextExtra(rng, pools, 8 * 4, config_.avg_bid_byte_size);
}

}  // namespace sluice::connectors::nexmark

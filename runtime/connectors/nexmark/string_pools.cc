#include "runtime/connectors/nexmark/string_pools.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace sluice::connectors::nexmark {
namespace {

// Fixed seed of the tables, independent of NexmarkConfig::seed (see the header).
constexpr uint64_t kPoolSeed = 0x706F6F6C73ULL;  // "pools"

// The reference's lists (PersonGenerator): few values, so that queries filtering on them find
// results even on small data sets.
constexpr std::string_view kFirstNames[] = {"Peter", "Paul",  "Luke",  "John",   "Saul",  "Vicky",
                                            "Kate",  "Julie", "Sarah", "Deiter", "Walter"};
constexpr std::string_view kLastNames[] = {"Shultz", "Abrams", "Spencer", "White", "Bartels",
                                           "Walton", "Smith",  "Jones",   "Noris"};
constexpr std::string_view kCities[] = {"Phoenix",  "Los Angeles", "San Francisco", "Boise",
                                        "Portland", "Bend",        "Redmond",       "Seattle",
                                        "Kent",     "Cheyenne"};
constexpr std::string_view kStates[] = {"AZ", "CA", "ID", "OR", "WA", "WY"};
constexpr std::string_view kHotChannels[] = {"Google", "Facebook", "Baidu", "Apple"};
static_assert(std::size(kHotChannels) == StringPools::kNumHotChannels);

uint32_t ReverseBits(uint32_t v) {
  uint32_t r = 0;
  for (int i = 0; i < 32; ++i, v >>= 1) r = (r << 1) | (v & 1);
  return r;
}

// BidGenerator.getBaseUrl: three random path segments of 3..4 letters or '_'.
std::string BaseUrl(EventRandom& rng) {
  std::string url = "https://www.nexmark.com/";
  char segment[8];
  for (int i = 0; i < 3; ++i) {
    char* end = WriteRandomString(rng, 5, '_', segment);
    url.append(segment, end);
    url.push_back('/');
  }
  url += "item.htm?query=1";
  return url;
}

// Fills the pools in place: the channel views point into pools.channel_text, which must not
// move afterwards.
void Build(StringPools& pools) {
  // Each table draws from its own stream, so changing one table leaves the others as they are.
  EventRandom extra_rng(kPoolSeed, 0);
  pools.extra_pool.resize(StringPools::kExtraPoolBytes);
  for (char& c : pools.extra_pool) c = static_cast<char>('a' + extra_rng.Uniform(int64_t{26}));

  for (std::string_view first : kFirstNames) {
    for (std::string_view last : kLastNames) {
      pools.full_names.push_back(std::string(first) + " " + std::string(last));
    }
  }
  pools.cities.assign(std::begin(kCities), std::end(kCities));
  pools.states.assign(std::begin(kStates), std::end(kStates));

  // BidGenerator.createChannelUrlCache; the channel id is the bit-reversed channel number as
  // an unsigned 32-bit value (the reference prints Math.abs of it as a Java int). All texts go
  // into one string first; the views are taken once it is complete.
  EventRandom url_rng(kPoolSeed, 1);
  std::vector<std::pair<size_t, size_t>> spans;  // (offset, length) in channel_text
  auto add = [&pools, &spans](std::string_view text) {
    spans.emplace_back(pools.channel_text.size(), text.size());
    pools.channel_text += text;
  };
  for (int64_t i = 0; i < StringPools::kNumHotChannels; ++i) {
    add(kHotChannels[i]);
    add(BaseUrl(url_rng));
  }
  for (int64_t i = 0; i < StringPools::kNumChannels; ++i) {
    add(absl::StrCat("channel-", i));
    std::string url = BaseUrl(url_rng);
    if (url_rng.Uniform(int64_t{10}) > 0) {
      absl::StrAppend(&url, "&channel_id=", ReverseBits(static_cast<uint32_t>(i)));
    }
    add(url);
  }
  const std::string_view text = pools.channel_text;
  auto entry = [&](size_t k) {
    return StringPools::Channel{text.substr(spans[2 * k].first, spans[2 * k].second),
                                text.substr(spans[2 * k + 1].first, spans[2 * k + 1].second)};
  };
  for (size_t k = 0; k < StringPools::kNumHotChannels; ++k) pools.hot_channels[k] = entry(k);
  pools.channels.reserve(StringPools::kNumChannels);
  for (size_t k = 0; k < StringPools::kNumChannels; ++k) {
    pools.channels.push_back(entry(StringPools::kNumHotChannels + k));
  }
}

}  // namespace

const StringPools& GetStringPools() {
  static const StringPools* const pools = [] {
    auto* p = new StringPools;  // never deleted: events may point into it until exit
    Build(*p);
    return p;
  }();
  return *pools;
}

}  // namespace sluice::connectors::nexmark

#pragma once
// String material of the Nexmark generator: process-wide immutable tables (names, cities,
// states, channels and their URLs, a pool of random letters for the `extra` padding) and the
// random-string rules of the reference's StringsGenerator, written to caller memory so that no
// event allocates.
//
// Sources: nexmark-flink .../generator/model/StringsGenerator.java (nextString, nextExactString,
// nextExtra), PersonGenerator.java (name, city and state lists: kept verbatim, queries filter
// on them), BidGenerator.java (channels and URLs).
//
// The tables are built on first use from a fixed seed (not NexmarkConfig::seed), about 2 ms and
// 2 MB once per process, and are the same in every process, so that every subtask of a job
// sees the same channel URLs and extra pool. (The reference builds them from an unseeded
// random, so they differ per JVM.)
//
// Thread safety: GetStringPools() is safe from any thread (a function-local static); the pools
// are immutable afterwards. The free functions are pure apart from drawing from `rng`.

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/connectors/nexmark/random.h"

namespace sluice::connectors::nexmark {

struct StringPools {
  // Extras are slices of this many random lowercase letters (the reference's
  // REUSABLE_EXTRA_STRING, 1 MiB).
  static constexpr int64_t kExtraPoolBytes = int64_t{1} << 20;
  static constexpr int64_t kNumChannels = 10000;  // BidGenerator.CHANNELS_NUMBER
  static constexpr int64_t kNumHotChannels = 4;   // Google, Facebook, Baidu, Apple

  std::string extra_pool;
  std::vector<std::string> full_names;  // "First Last": 11 first x 9 last names
  std::vector<std::string> cities;      // 10
  std::vector<std::string> states;      // 6
  // A bid's channel and url: views into `channel_text`. One 32-byte entry, so that a bid's
  // random channel costs one cache miss into the 320 KB table, not two.
  struct Channel {
    std::string_view name;
    std::string_view url;
  };
  std::array<Channel, kNumHotChannels> hot_channels;  // Google, Facebook, Baidu, Apple
  // "channel-<i>" and a URL, 9 in 10 with "&channel_id=<bits of i>". kNumChannels entries.
  std::vector<Channel> channels;
  std::string channel_text;  // never changed after the views into it are taken
};

// The process-wide pools, built on the first call.
const StringPools& GetStringPools();

// Shortest random string before trimming (StringsGenerator.MIN_STRING_LENGTH).
inline constexpr int64_t kMinRandomStringLength = 3;

// One character of a random string from 32 random bits: `special` with probability 1/13, else
// a lowercase letter, all 26 equally likely (338 = 13 x 26 outcomes; 26 of them special).
inline char RandomStringChar(uint32_t bits, char special) {
  const auto v = static_cast<uint32_t>((uint64_t{bits} * 338) >> 32);
  return v < 26 ? special : static_cast<char>('a' + (v - 26) % 26);
}

// StringsGenerator.nextString: writes a random string of kMinRandomStringLength ..
// max_length - 1 characters (max_length > kMinRandomStringLength) at `out` and returns its end;
// when special is ' ', leading and trailing spaces are trimmed off (as Java's trim), so the
// result may be shorter, even empty. `out` needs max_length - 1 bytes.
inline char* WriteRandomString(EventRandom& rng, int64_t max_length, char special, char* out) {
  const int64_t len = kMinRandomStringLength + rng.Uniform(max_length - kMinRandomStringLength);
  for (int64_t i = 0; i < len; i += 2) {  // two characters per 64-bit draw
    const uint64_t bits = rng.NextU64();
    out[i] = RandomStringChar(static_cast<uint32_t>(bits), special);
    if (i + 1 < len) out[i + 1] = RandomStringChar(static_cast<uint32_t>(bits >> 32), special);
  }
  char* end = out + len;
  if (special != ' ') return end;
  const char* begin = out;
  while (begin < end && *begin == ' ') ++begin;
  while (end > begin && end[-1] == ' ') --end;
  if (begin == out) return end;
  const size_t kept = static_cast<size_t>(end - begin);
  std::memmove(out, begin, kept);
  return out + kept;
}

// StringsGenerator.nextExtra: padding such that current_size + its length is on average
// desired_average_size - 0.5: uniform in [d - delta, d + delta) with d = desired - current and
// delta = round(d / 5); empty when current_size > desired_average_size. A slice of the extra
// pool (nextExactString), so it costs no copy. desired_average_size <= kMaxAvgByteSize.
inline std::string_view NextExtra(EventRandom& rng, const StringPools& pools, int64_t current_size,
                                  int64_t desired_average_size) {
  if (current_size > desired_average_size) return {};
  const int64_t d = desired_average_size - current_size;
  const int64_t delta = (2 * d + 5) / 10;  // Java's Math.round(d * 0.2) for d >= 0
  const int64_t size = d - delta + (delta == 0 ? 0 : rng.Uniform(2 * delta));
  const int64_t offset = rng.Uniform(StringPools::kExtraPoolBytes - size);
  return std::string_view(pools.extra_pool)
      .substr(static_cast<size_t>(offset), static_cast<size_t>(size));
}

}  // namespace sluice::connectors::nexmark

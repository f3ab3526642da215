#pragma once
// EventRandom: the pseudo-random stream of one Nexmark event, a pure function of (seed, event
// number), so that any event can be generated on its own, by any subtask, in any order.
//
// The reference seeds a java.util.Random from the event id in Beam (and draws from one shared
// SplittableRandom in the Flink port, which makes its streams irreproducible); we keep Beam's
// idea with SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number generators",
// OOPSLA 2014): the start state of event n is the n-th output of a SplitMix64 sequence keyed by
// the seed, and the event then draws the SplitMix64 sequence from that start. An event draws a
// few dozen values, so the streams of different events practically never overlap.
//
// Bounded integers use Lemire's multiply-shift ("Fast random integer generation in an
// interval", 2019) without the rejection step: the bias is below bound / 2^64, far below what
// any Nexmark statistic can see. Cost: one multiply and a few shifts per draw.
//
// Thread safety: a value type; use one per thread.

#include <cstdint>

namespace sluice::connectors::nexmark {

class EventRandom {
 public:
  EventRandom(uint64_t seed, int64_t event_number)
      : state_(Mix(Mix(seed ^ kSeedSalt) + static_cast<uint64_t>(event_number) * kGamma)) {}

  uint64_t NextU64() {
    state_ += kGamma;
    return Mix(state_);
  }

  // Uniform in [0, bound); bound >= 1.
  uint64_t Uniform(uint64_t bound) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(NextU64()) * bound) >> 64);
  }
  int64_t Uniform(int64_t bound) {
    return static_cast<int64_t>(Uniform(static_cast<uint64_t>(bound)));
  }

  // Uniform in [0, 1) with 53 random bits.
  double UniformDouble() { return static_cast<double>(NextU64() >> 11) * 0x1.0p-53; }

  // SplitMix64's output function (Stafford's "Mix13" variant of the MurmurHash3 finaliser).
  static uint64_t Mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

 private:
  static constexpr uint64_t kGamma = 0x9E3779B97F4A7C15ULL;  // 2^64 / golden ratio, odd
  // Keeps seed 0 from starting at the all-zero state.
  static constexpr uint64_t kSeedSalt = 0x6E65786D61726B31ULL;  // "nexmark1"
  uint64_t state_;
};

}  // namespace sluice::connectors::nexmark

#include "runtime/core/key_groups.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/str_format.h"

namespace sluice::core {
namespace {
// Java int arithmetic: wrap on overflow, logical (>>>) and arithmetic shifts.
inline int32_t Mul(int32_t a, uint32_t b) {
  return static_cast<int32_t>(static_cast<uint32_t>(a) * b);
}
inline int32_t Ushr(int32_t a, int n) { return static_cast<int32_t>(static_cast<uint32_t>(a) >> n); }
inline int32_t Rotl(int32_t a, int n) {
  return static_cast<int32_t>(std::rotl(static_cast<uint32_t>(a), n));
}
}  // namespace

int32_t BitMix(int32_t in) {
  in ^= Ushr(in, 16);
  in = Mul(in, 0x85ebca6bu);
  in ^= Ushr(in, 13);
  in = Mul(in, 0xc2b2ae35u);
  in ^= Ushr(in, 16);
  return in;
}

int32_t MurmurHash(int32_t code) {
  code = Mul(code, 0xcc9e2d51u);
  code = Rotl(code, 15);
  code = Mul(code, 0x1b873593u);
  code = Rotl(code, 13);
  code = static_cast<int32_t>(static_cast<uint32_t>(Mul(code, 5u)) + 0xe6546b64u);
  code ^= 4;
  code = BitMix(code);
  if (code >= 0) return code;
  if (code != std::numeric_limits<int32_t>::min()) return -code;
  return 0;
}

KeyGroupRange ComputeKeyGroupRangeForOperatorIndex(int32_t max_parallelism, int32_t parallelism,
                                                   int32_t operator_index) {
  // Java computes these in int; max_parallelism <= 2^15 keeps them in range.
  int32_t start = (operator_index * max_parallelism + parallelism - 1) / parallelism;
  int32_t end = ((operator_index + 1) * max_parallelism - 1) / parallelism;
  return KeyGroupRange{start, end};
}

int32_t ComputeDefaultMaxParallelism(int32_t p) {
  int64_t x = int64_t{p} + p / 2;
  // MathUtils.roundUpToPowerOfTwo(int)
  int64_t pow2 = x <= 1 ? 1 : int64_t{1} << (64 - std::countl_zero(static_cast<uint64_t>(x - 1)));
  int64_t v = std::max<int64_t>(pow2, kDefaultLowerBoundMaxParallelism);
  return static_cast<int32_t>(std::min<int64_t>(v, kUpperBoundMaxParallelism));
}

absl::Status CheckParallelism(int32_t parallelism, int32_t max_parallelism) {
  if (max_parallelism <= 0 || max_parallelism > kUpperBoundMaxParallelism) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "max parallelism %d is out of range: it must be in [1, %d]", max_parallelism,
        kUpperBoundMaxParallelism));
  }
  if (parallelism <= 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("parallelism %d must be at least 1", parallelism));
  }
  if (parallelism > max_parallelism) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "parallelism %d is above max parallelism %d (the number of key groups)", parallelism,
        max_parallelism));
  }
  return absl::OkStatus();
}

int32_t JavaStringHash(std::string_view s) {
  // Decode UTF-8 to code points, hash as UTF-16 code units (surrogate pairs above U+FFFF).
  uint32_t h = 0;
  auto add = [&h](uint32_t unit) { h = h * 31u + unit; };
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    uint32_t cp;
    size_t len;
    if (c < 0x80) { cp = c; len = 1; }
    else if ((c >> 5) == 0x6 && i + 1 < s.size()) { cp = c & 0x1f; len = 2; }
    else if ((c >> 4) == 0xe && i + 2 < s.size()) { cp = c & 0x0f; len = 3; }
    else if ((c >> 3) == 0x1e && i + 3 < s.size()) { cp = c & 0x07; len = 4; }
    else { add(0xfffd); ++i; continue; }  // invalid byte: Java's decoder yields U+FFFD
    for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    i += len;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      add(0xd800 + (cp >> 10));
      add(0xdc00 + (cp & 0x3ff));
    } else {
      add(cp);
    }
  }
  return static_cast<int32_t>(h);
}

int32_t JavaDoubleHash(double v) {
  uint64_t bits;
  if (std::isnan(v)) {
    bits = 0x7ff8000000000000ULL;  // Double.doubleToLongBits canonicalises NaN
  } else {
    std::memcpy(&bits, &v, 8);
  }
  return static_cast<int32_t>(bits ^ (bits >> 32));
}

}  // namespace sluice::core

#pragma once
// Key groups: Flink's KeyGroupRangeAssignment and MathUtils.murmurHash, ported exactly
// (flink-runtime/src/main/java/org/apache/flink/runtime/state/KeyGroupRangeAssignment.java,
// flink-core/src/main/java/org/apache/flink/util/MathUtils.java), with Java's int overflow
// semantics. Keyed state is partitioned into max_parallelism key groups; subtask i of p owns a
// contiguous KeyGroupRange, so state can be redistributed when parallelism changes.
//
// Key hashes follow Java's hashCode() of the equivalent Java value (String.hashCode over UTF-16
// code units, Long.hashCode, Double.hashCode, Boolean.hashCode; a composite key hashes as
// Flink's Tuple: h = 31*h + field_hash, starting from 0), so a key lands in the same key group
// as it would in Flink.
//
// All functions are pure and thread-safe.

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"

namespace sluice::core {

inline constexpr int32_t kDefaultLowerBoundMaxParallelism = 1 << 7;  // 128
inline constexpr int32_t kUpperBoundMaxParallelism = 1 << 15;        // 32768

// MathUtils.murmurHash(int): a non-negative, well-mixed int.
int32_t MurmurHash(int32_t code);
// MathUtils.bitMix(int).
int32_t BitMix(int32_t in);

// KeyGroupRangeAssignment.computeKeyGroupForKeyHash.
inline int32_t ComputeKeyGroupForKeyHash(int32_t key_hash, int32_t max_parallelism) {
  return MurmurHash(key_hash) % max_parallelism;
}
// KeyGroupRangeAssignment.computeOperatorIndexForKeyGroup.
inline int32_t ComputeOperatorIndexForKeyGroup(int32_t max_parallelism, int32_t parallelism,
                                               int32_t key_group) {
  return static_cast<int32_t>(int64_t{key_group} * parallelism / max_parallelism);
}
// KeyGroupRangeAssignment.assignKeyToParallelOperator (by key hash).
inline int32_t AssignKeyHashToParallelOperator(int32_t key_hash, int32_t max_parallelism,
                                               int32_t parallelism) {
  return ComputeOperatorIndexForKeyGroup(max_parallelism, parallelism,
                                         ComputeKeyGroupForKeyHash(key_hash, max_parallelism));
}

// Inclusive range of key groups [start, end]; empty when end < start.
struct KeyGroupRange {
  int32_t start;
  int32_t end;
  int32_t size() const { return end >= start ? end - start + 1 : 0; }
  bool Contains(int32_t g) const { return g >= start && g <= end; }
  friend bool operator==(const KeyGroupRange&, const KeyGroupRange&) = default;
};

// KeyGroupRangeAssignment.computeKeyGroupRangeForOperatorIndex.
KeyGroupRange ComputeKeyGroupRangeForOperatorIndex(int32_t max_parallelism, int32_t parallelism,
                                                   int32_t operator_index);

// KeyGroupRangeAssignment.computeDefaultMaxParallelism:
// min(max(roundUpToPowerOfTwo(p + p/2), 128), 32768).
int32_t ComputeDefaultMaxParallelism(int32_t operator_parallelism);

// KeyGroupRangeAssignment.checkParallelismPreconditions plus parallelism <= max parallelism.
// InvalidArgument with the numbers when violated.
absl::Status CheckParallelism(int32_t parallelism, int32_t max_parallelism);

// Java hashCode() equivalents.
int32_t JavaStringHash(std::string_view utf8);  // String.hashCode over UTF-16 code units
inline int32_t JavaLongHash(int64_t v) {
  return static_cast<int32_t>(static_cast<uint64_t>(v) ^ (static_cast<uint64_t>(v) >> 32));
}
int32_t JavaDoubleHash(double v);  // Double.hashCode (canonical NaN)
inline int32_t JavaBooleanHash(bool v) { return v ? 1231 : 1237; }
// Tuple-style combination: h = 31*h + field_hash (Java int arithmetic).
inline int32_t CombineHash(int32_t h, int32_t field_hash) {
  return static_cast<int32_t>(static_cast<uint32_t>(h) * 31u + static_cast<uint32_t>(field_hash));
}

}  // namespace sluice::core

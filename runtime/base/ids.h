#pragma once
// Strong id types. JobId and ExecutionAttemptId are 128-bit random ids printed as 32 lowercase
// hex characters, as Flink's JobID/ExecutionAttemptID are; CheckpointId, KeyGroup etc. are typed
// integers so that they cannot be mixed up with counts or indices.
//
// Thread safety: values are immutable; Random() is thread-safe.

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace sluice {

class Id128 {
 public:
  Id128() = default;
  Id128(uint64_t hi, uint64_t lo) : hi_(hi), lo_(lo) {}

  // A fresh random id (std::random_device seeded generator).
  static Id128 Random();
  // Parses exactly 32 hex characters (either case). InvalidArgument otherwise.
  static absl::StatusOr<Id128> Parse(std::string_view hex);

  std::string ToString() const;  // 32 lowercase hex characters
  uint64_t hi() const { return hi_; }
  uint64_t lo() const { return lo_; }
  bool IsZero() const { return hi_ == 0 && lo_ == 0; }
  friend bool operator==(const Id128& a, const Id128& b) = default;
  friend auto operator<=>(const Id128& a, const Id128& b) = default;
  template <typename H>
  friend H AbslHashValue(H h, const Id128& id) {
    return H::combine(std::move(h), id.hi_, id.lo_);
  }

 private:
  uint64_t hi_ = 0;
  uint64_t lo_ = 0;
};

// Tag-typed wrapper so JobId and ExecutionAttemptId are distinct types.
template <typename Tag>
class TypedId128 : public Id128 {
 public:
  TypedId128() = default;
  explicit TypedId128(const Id128& id) : Id128(id) {}
  static TypedId128 Random() { return TypedId128(Id128::Random()); }
  static absl::StatusOr<TypedId128> Parse(std::string_view hex) {
    auto id = Id128::Parse(hex);
    if (!id.ok()) return id.status();
    return TypedId128(*id);
  }
};

struct JobIdTag {};
struct ExecutionAttemptIdTag {};
struct TaskManagerIdTag {};
using JobId = TypedId128<JobIdTag>;
using ExecutionAttemptId = TypedId128<ExecutionAttemptIdTag>;
using ResourceId = TypedId128<TaskManagerIdTag>;  // a TaskManager's id, as Flink's ResourceID

// Strongly typed integer.
template <typename Tag, typename T>
class StrongInt {
 public:
  constexpr StrongInt() = default;
  constexpr explicit StrongInt(T v) : v_(v) {}
  constexpr T value() const { return v_; }
  friend constexpr auto operator<=>(const StrongInt&, const StrongInt&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const StrongInt& s) {
    return H::combine(std::move(h), s.v_);
  }

 private:
  T v_{};
};

using VertexIndex = StrongInt<struct VertexIndexTag, int32_t>;  // position in the JobGraph
using CheckpointId = StrongInt<struct CheckpointIdTag, int64_t>;
using KeyGroup = StrongInt<struct KeyGroupTag, int32_t>;

}  // namespace sluice

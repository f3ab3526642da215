#pragma once
// Event-time timers of a keyed operator (Flink's InternalTimerService over a
// KeyGroupPartitionedPriorityQueue): timers are (key, namespace, timestamp), deduplicated, kept
// per key group so that snapshots write them with their key group, and fired in timestamp order
// across all key groups.
//
// Layout: one ordered set per key group (by timestamp, then key/namespace bytes) plus a set of
// the groups' heads (earliest timestamp, key group), so the global earliest timer is found in
// O(log groups) and registering an existing timer allocates nothing.
//
// Lifecycle: owned by a KeyedStateBackend, which exposes it through the current key context.
// Thread: the task thread only.

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "runtime/core/key_groups.h"
#include "runtime/state/serialization.h"

namespace sluice::state::internal {

class EventTimeTimerService {
 public:
  explicit EventTimeTimerService(core::KeyGroupRange range);

  // `key_ns` is the timer's key bytes + 8-byte namespace (see keyed_state.h). Returns true if
  // the timer was added, false if it existed already.
  bool Register(int32_t key_group, std::string_view key_ns, int64_t timestamp);
  // Returns true if the timer existed.
  bool Delete(int32_t key_group, std::string_view key_ns, int64_t timestamp);

  // Whether the earliest timer has timestamp <= `watermark`.
  bool HasDue(int64_t watermark) const {
    return !heads_.empty() && heads_.begin()->first <= watermark;
  }
  // Earliest timestamp; requires size() > 0.
  int64_t EarliestTimestamp() const { return heads_.begin()->first; }
  // Removes the earliest timer, moving its key+namespace bytes into `*key_ns`.
  void PopEarliest(int32_t* key_group, std::string* key_ns, int64_t* timestamp);

  size_t size() const { return size_; }
  int64_t ApproximateSizeBytes() const;

  // Snapshot of one key group: varint count, then (fixed64 timestamp, string key_ns) per timer.
  void WriteGroup(int32_t key_group, ByteWriter& out) const;
  absl::Status ReadGroup(int32_t key_group, ByteReader& in);

  // fn(int32_t key_group, std::string_view key_ns, int64_t timestamp), group by group, in
  // timestamp order within a group.
  template <typename F>
  void ForEach(F&& fn) const {
    for (size_t i = 0; i < groups_.size(); ++i) {
      for (const Timer& t : groups_[i]) {
        fn(range_.start + static_cast<int32_t>(i), std::string_view(t.key_ns), t.timestamp);
      }
    }
  }

 private:
  struct Timer {
    int64_t timestamp;
    std::string key_ns;
  };
  struct TimerRef {
    int64_t timestamp;
    std::string_view key_ns;
  };
  struct Less {
    using is_transparent = void;
    static std::pair<int64_t, std::string_view> P(const Timer& t) { return {t.timestamp, t.key_ns}; }
    static std::pair<int64_t, std::string_view> P(const TimerRef& t) {
      return {t.timestamp, t.key_ns};
    }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return P(a) < P(b);
    }
  };
  using Group = std::set<Timer, Less>;

  // Re-indexes group `key_group`'s head after a change; `old_head` is its earliest timestamp
  // before the change (if it had one).
  void UpdateHead(int32_t key_group, bool had_head, int64_t old_head);

  core::KeyGroupRange range_;
  std::vector<Group> groups_;
  std::set<std::pair<int64_t, int32_t>> heads_;  // (earliest timestamp, key group)
  size_t size_ = 0;
};

}  // namespace sluice::state::internal

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
// Storage, two modes (Flink's `state.backend.rocksdb.timer-service.factory`):
//   - heap (the default; Flink's HEAP): the sets above hold every timer.
//   - RocksDB (UseRocksDb; Flink's ROCKSDB, its default with the RocksDB backend): every timer
//     is a key of a RocksDB column family, [key group: 2 bytes BE][timestamp: 8 bytes BE, sign
//     bit flipped so that bytes order like signed values][key + namespace], with an empty
//     value; so timers are part of the SST files of incremental checkpoints and a restore
//     needs no re-insertion. The per-group sets are then caches of each group's smallest
//     timers (at most kRocksCacheSize; Flink's RocksDBCachingPriorityQueueSet), holding every
//     timer not in the cache no smaller than the cache's largest; an emptied cache of a group
//     with more timers is refilled by one seek from its last removed element (which skips the
//     tombstones of fired timers). Register is one Put (no read), a firing one Delete.
//     size() is a full scan in this mode (tests only).
//
// Lifecycle: owned by a KeyedStateBackend, which exposes it through the current key context.
// Thread: the task thread only.

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "runtime/core/key_groups.h"
#include "runtime/state/serialization.h"

namespace sluice::state::internal {

class RocksColumn;

class EventTimeTimerService {
 public:
  // Timers cached per key group in RocksDB mode (Flink's default cache size is 128).
  static constexpr size_t kRocksCacheSize = 128;

  explicit EventTimeTimerService(core::KeyGroupRange range);

  // Switches to RocksDB mode with timers in `column` (owned by the caller's RocksDB instance,
  // must outlive this service or be replaced by another UseRocksDb): the column's existing
  // timers count, heap timers registered so far are moved into it. Calling it again with
  // another column (a restore replaced the database) re-reads that column.
  void UseRocksDb(RocksColumn* column);
  bool on_rocksdb() const { return column_ != nullptr; }
  // RocksDB mode: re-reads the caches after the column's content changed underneath (a restore
  // copied key groups in).
  void ReloadFromRocksDb();

  // `key_ns` is the timer's key bytes + 8-byte namespace (see state_table_base.h). Returns true if
  // the timer was added, false if it existed already (RocksDB mode: also true for an existing
  // timer outside the cache, which is written again without a read).
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

  // Number of timers (RocksDB mode: a full scan).
  size_t size() const;
  bool empty() const { return heads_.empty(); }
  int64_t ApproximateSizeBytes() const;

  // Snapshot of one key group: varint count, then (fixed64 timestamp, string key_ns) per timer.
  // `rocksdb_resident_too` false: in RocksDB mode, writes an empty group (the timers are in the
  // SST files of an incremental checkpoint).
  void WriteGroup(int32_t key_group, ByteWriter& out, bool rocksdb_resident_too = true) const;
  absl::Status ReadGroup(int32_t key_group, ByteReader& in);

  // fn(int32_t key_group, std::string_view key_ns, int64_t timestamp), group by group, in
  // timestamp order within a group.
  template <typename F>
  void ForEach(F&& fn) const {
    for (size_t i = 0; i < groups_.size(); ++i) {
      const int32_t kg = range_.start + static_cast<int32_t>(i);
      if (column_ != nullptr) {
        ForEachInRocksGroup(kg, [&](int64_t ts, std::string_view key_ns) { fn(kg, key_ns, ts); });
        continue;
      }
      for (const Timer& t : groups_[i]) fn(kg, std::string_view(t.key_ns), t.timestamp);
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

  // RocksDB mode.
  void ForEachInRocksGroup(int32_t key_group,
                           absl::FunctionRef<void(int64_t, std::string_view)> fn) const;
  // rocks_key_ = [key group][timestamp][key_ns]: the column key of a timer.
  void EncodeRocksKey(int32_t key_group, int64_t timestamp, std::string_view key_ns);
  // Refills group i's empty cache from the column, from resume_[i] on.
  void Refill(size_t i);
  // An element left group i's cache: refill if that emptied an incomplete cache.
  void AfterCacheErase(size_t i, std::string_view erased_composite);

  core::KeyGroupRange range_;
  std::vector<Group> groups_;  // heap mode: all timers; RocksDB mode: the caches
  std::set<std::pair<int64_t, int32_t>> heads_;  // (earliest timestamp, key group)
  size_t size_ = 0;                              // heap mode
  RocksColumn* column_ = nullptr;                // RocksDB mode
  std::vector<uint8_t> complete_;     // RocksDB mode: the cache holds all of the group's timers
  std::vector<std::string> resume_;   // RocksDB mode: composite key a refill seeks from
  std::string rocks_key_;             // scratch: 2-byte key group + composite
};

}  // namespace sluice::state::internal

#pragma once
// KeyedStateBackend: Flink's HeapKeyedStateBackend and RocksDBKeyedStateBackend in C++ with
// typed state. Holds all keyed state and event-time timers of one keyed operator in one
// subtask, for the key groups of its KeyGroupRange, either in hash maps on the heap
// (BackendOptions::kHeap, the default) or in a RocksDB instance in a local directory
// (kRocksDb; see rocksdb_store.h and the cost model in state_table.h); snapshots them per key
// group with an index (Flink's KeyGroupsStateHandle) in ONE canonical format for both storages
// and restores from one or more snapshots taken at any parallelism (same max parallelism) by
// either storage, reading only the key groups it owns.
//
// Timers: the heap storage keeps event-time timers on the heap; the RocksDB storage keeps them
// in a column family of its instance by default (BackendOptions::rocksdb_timers; Flink's
// `state.backend.rocksdb.timer-service.factory: ROCKSDB`, its default), so they are in the SST
// files of incremental checkpoints and restore without re-insertion (timer_service.h). Full
// snapshots hold every timer either way, in the same format.
//
// Usage, per record (the operator's task thread):
//   backend.SetCurrentKey(key_bytes, key_group);   // key group from core::KeySelector
//   backend.SetCurrentNamespace(window_end);       // optional, default 0
//   acc_state->add(value);                          // states obtained once in Open()
//   backend.RegisterEventTimeTimer(window_end, window_end - 1);
// and on a watermark:
//   backend.AdvanceWatermark(wm, [&](std::string_view key, int32_t kg, int64_t ns, int64_t ts)
//                                    { ... read/clear state, emit ...; return absl::OkStatus(); });
//
// Snapshot format (version 2; all integers little-endian):
//   header:  "SLKS" magic (u32), version (u32), max_parallelism (i32), range start/end (i32),
//            varint state count, per state: name (varint length + bytes), kind (u8),
//            flags (u8; bit 0: the state has a TTL, its entries are in the TTL layout of
//            state_ttl.h; version 1 has no flags byte: no TTL);
//            u64 checksum of the header.
//   then for each key group g of the range, in order, at key_group_offsets[g]:
//            g (i32), body length (u64), body, u64 checksum of (g, length, body)
//   body:    varint block count, per block: varint state index, u64 length, state bytes
//            (varint entry count, per entry: composite key "key bytes + 8-byte namespace" as a
//            length-prefixed string, then Serializer<Entry> bytes);
//            then the group's timers: varint count, per timer: i64 timestamp, composite key.
// Block lengths let a restore keep a state's bytes raw until the operator registers the state
// (only then is its Serializer known). Restore reads versions 1 and 2.
//
// State TTL (Flink's StateTtlConfig, state_ttl.h): Get*State takes an optional StateTtlConfig;
// processing time comes from BackendOptions::clock (default: the system wall clock). Full
// snapshots leave expired entries out; snapshots record which states have TTL, and a restore
// refuses to put TTL state into a state without TTL or the reverse (InvalidArgument naming the
// state), as Flink does.
//
// Lifecycle: created per keyed operator and subtask by the Task; Restore (if restoring) before
// the operator's Open; states registered in Open; Snapshot at each checkpoint barrier.
// Thread: not thread-safe; the task thread only. Snapshot() returns an independent byte buffer
// that may be written to storage on another thread; SnapshotAsync()'s writer runs on one other
// thread while the task goes on using the backend.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <typeindex>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/base/clock.h"
#include "runtime/core/key_groups.h"
#include "runtime/state/keyed_snapshot_writer.h"
#include "runtime/state/keyed_state.h"
#include "runtime/state/rocksdb_store.h"
#include "runtime/state/serialization.h"
#include "runtime/state/timer_service.h"

namespace sluice::state {

// Storage of a KeyedStateBackend (Flink's `state.backend` and its RocksDB options).
struct BackendOptions {
  enum Kind { kHeap, kRocksDb };
  Kind kind = kHeap;
  // kRocksDb: parent of the instance's directory (`state.local-dir`); created if missing; empty
  // means the system temp directory. Each backend uses a unique subdirectory, deleted by the
  // destructor.
  std::string local_dir;
  int64_t block_cache_bytes = int64_t{64} << 20;   // RocksDB LRU block cache, bytes
  int64_t write_buffer_bytes = int64_t{64} << 20;  // RocksDB memtable size per state, bytes
  // kRocksDb: event-time timers in RocksDB (true, the default; Flink's timer-service.factory
  // ROCKSDB) or on the heap (false; HEAP). Ignored by kHeap.
  bool rocksdb_timers = true;
  // Processing time for state TTL (Flink's TtlTimeProvider); null: Clock::System(). Must
  // outlive the backend (RocksDB compaction threads read it). Tests inject a ManualClock.
  const Clock* clock = nullptr;
};

// Result of KeyedStateBackend::SnapshotIncremental.
struct IncrementalSnapshot {
  RocksDbCheckpoint files;  // the local RocksDB checkpoint (delete files.dir when uploaded)
  KeyedStateSnapshot meta;  // canonical snapshot without the RocksDB-resident entries
};

// One old subtask's incremental keyed state, for KeyedStateBackend::RestoreIncremental.
struct IncrementalRestoreSource {
  core::KeyGroupRange range;  // the old backend's key groups
  // File name in the RocksDB checkpoint -> path to copy it from (SSTs and the other files).
  std::vector<std::pair<std::string, std::string>> files;
  std::string meta;  // the meta snapshot's bytes
  std::vector<std::pair<int32_t, uint64_t>> meta_offsets;
};

inline constexpr uint32_t kKeyedSnapshotMagic = 0x534B4C53;  // "SLKS" in little-endian bytes
inline constexpr uint32_t kKeyedSnapshotVersion = 2;
// Oldest snapshot format version Restore reads.
inline constexpr uint32_t kKeyedSnapshotMinVersion = 1;
// Bit of a state's flags byte in the snapshot header (version 2): the state has a TTL.
inline constexpr uint8_t kKeyedSnapshotFlagTtl = 1;

class KeyedStateBackend {
 public:
  // Called for each fired timer with the current key and namespace already set to the
  // timer's; the timer is already removed. A non-OK status stops AdvanceWatermark.
  using TimerCallback = absl::FunctionRef<absl::Status(std::string_view key_bytes,
                                                       int32_t key_group, int64_t ns,
                                                       int64_t timestamp)>;

  // `range` must be non-empty and inside [0, max_parallelism) (SLUICE_CHECK). With kRocksDb,
  // opens the RocksDB instance; if that fails, status() says why and every Get*State,
  // Snapshot and Restore returns that error (use Create() to get it up front).
  KeyedStateBackend(int32_t max_parallelism, core::KeyGroupRange range,
                    BackendOptions options = {});
  // Like the constructor, but returns the RocksDB open error (Internal, naming the directory).
  static absl::StatusOr<std::unique_ptr<KeyedStateBackend>> Create(int32_t max_parallelism,
                                                                   core::KeyGroupRange range,
                                                                   BackendOptions options = {});
  ~KeyedStateBackend();
  KeyedStateBackend(const KeyedStateBackend&) = delete;
  KeyedStateBackend& operator=(const KeyedStateBackend&) = delete;

  int32_t max_parallelism() const { return max_parallelism_; }
  core::KeyGroupRange key_group_range() const { return range_; }
  BackendOptions::Kind kind() const { return options_.kind; }
  // kRocksDb: the instance's directory (empty for the heap or if opening failed).
  std::string rocksdb_dir() const;
  // OK, or the RocksDB open error or first read/write error (sticky: state accessors have no
  // status; a failed RocksDB read behaves as a missing entry). Always OK on the heap.
  absl::Status status() const;

  // --- Key context ---------------------------------------------------------------------
  // Sets the key of subsequent state accesses. `key_group` must be inside the range
  // (SLUICE_CHECK). Copies the bytes into a reused buffer: no allocation in steady state.
  void SetCurrentKey(std::string_view key_bytes, int32_t key_group);
  // Sets the namespace (Flink's namespace, e.g. a window's end timestamp). Default 0; kept
  // across SetCurrentKey calls.
  void SetCurrentNamespace(int64_t ns);
  std::string_view current_key() const {
    return std::string_view(ctx_.composite.data(), ctx_.key_size);
  }
  int32_t current_key_group() const { return ctx_.key_group; }
  int64_t current_namespace() const { return ctx_.ns; }

  // --- States --------------------------------------------------------------------------
  // Return the state named `name`, registering it on first use (then, after a Restore, its
  // restored entries are deserialized into it). Call once (e.g. in Open) and keep the pointer:
  // valid for the backend's lifetime. Registering a name again with the same kind and types
  // returns the same state (a ReducingState/AggregatingState keeps its first function).
  // `ttl`: Flink's StateDescriptor.enableTimeToLive (state_ttl.h); absent: no TTL.
  // InvalidArgument if the name is registered, or was restored, with another kind or types;
  // if it is registered with another TTL config, or was restored with TTL and is registered
  // without (or the reverse); if ttl->ttl_ms <= 0. DataLoss if its restored bytes do not
  // deserialize.
  template <Serializable V>
  absl::StatusOr<ValueState<V>*> GetValueState(std::string_view name,
                                               std::optional<StateTtlConfig> ttl = std::nullopt) {
    return GetOrRegister<ValueState<V>>(name, ttl);
  }
  template <Serializable V>
  absl::StatusOr<ListState<V>*> GetListState(std::string_view name,
                                             std::optional<StateTtlConfig> ttl = std::nullopt) {
    return GetOrRegister<ListState<V>>(name, ttl);
  }
  template <Serializable UK, Serializable UV>
  absl::StatusOr<MapState<UK, UV>*> GetMapState(
      std::string_view name, std::optional<StateTtlConfig> ttl = std::nullopt) {
    return GetOrRegister<MapState<UK, UV>>(name, ttl);
  }
  template <Serializable V>
  absl::StatusOr<ReducingState<V>*> GetReducingState(
      std::string_view name, typename ReducingState<V>::ReduceFn reduce,
      std::optional<StateTtlConfig> ttl = std::nullopt) {
    return GetOrRegister<ReducingState<V>>(name, ttl, std::move(reduce));
  }
  template <typename IN, Serializable ACC, typename OUT>
  absl::StatusOr<AggregatingState<IN, ACC, OUT>*> GetAggregatingState(
      std::string_view name, AggregateFunction<IN, ACC, OUT> fn,
      std::optional<StateTtlConfig> ttl = std::nullopt) {
    return GetOrRegister<AggregatingState<IN, ACC, OUT>>(name, ttl, std::move(fn));
  }

  // Names of registered states and of restored states not registered yet, sorted.
  std::vector<std::string> StateNames() const;

  // --- Event-time timers (Flink's InternalTimerService) --------------------------------------
  // Registers a timer for the current key at (ns, timestamp_ms); no-op if it exists.
  // Requires a current key.
  void RegisterEventTimeTimer(int64_t ns, int64_t timestamp_ms);
  // Deletes the current key's timer at (ns, timestamp_ms) if it exists.
  void DeleteEventTimeTimer(int64_t ns, int64_t timestamp_ms);
  // Fires, in timestamp order (ties: key group, then key/namespace bytes), every timer with
  // timestamp <= watermark, including timers registered by the callback itself; each fires
  // once. Afterwards the current key is the last fired timer's. Returns the callback's first
  // error (remaining due timers stay registered).
  absl::Status AdvanceWatermark(int64_t watermark, TimerCallback on_timer);
  int64_t current_watermark() const { return watermark_; }
  // Number of registered timers (with timers in RocksDB: a full scan; for tests).
  size_t NumEventTimeTimers() const { return timers_.size(); }
  // Earliest registered timer's timestamp, if any.
  std::optional<int64_t> EarliestEventTimeTimer() const;
  // fn(std::string_view key_bytes, int32_t key_group, int64_t ns, int64_t timestamp).
  template <typename F>
  void ForEachEventTimeTimer(F&& fn) const {
    timers_.ForEach([&](int32_t kg, std::string_view key_ns, int64_t ts) {
      fn(CompositeKey(key_ns), kg, CompositeNamespace(key_ns), ts);
    });
  }

  // --- Snapshots -----------------------------------------------------------------------
  // Serializes all state and timers (including restored state not registered yet) into one
  // buffer, per key group with an index. Does not modify the backend's content.
  absl::StatusOr<KeyedStateSnapshot> Snapshot() const;

  // The synchronous part of an asynchronous heap snapshot (Flink's HeapSnapshotStrategy over
  // copy-on-write state tables): pins every state's shards (cow_groups.h), copies the restored
  // bytes of states not registered yet and serializes the timers; no state entry is touched.
  // The writer's Write() then returns the bytes Snapshot() would have returned at this moment,
  // on any thread, while the task goes on using the backend (its first write to a shard the
  // writer has not reached serializes that shard first), even after the backend is destroyed
  // (which serializes what is left). Costs O(shards + timers) here.
  // FailedPrecondition on kRocksDb (its full snapshots read the live database: Snapshot, or
  // SnapshotIncremental for checkpoints).
  absl::StatusOr<std::unique_ptr<KeyedSnapshotWriter>> SnapshotAsync() const;

  // Restores from snapshots of one or more (old) subtasks, taken at any parallelism with the
  // same max parallelism: `offsets[i]` is snapshot i's key_group_offsets. Reads only the key
  // groups inside this backend's range (seeking via the offsets). Entries of states not yet
  // registered are kept as bytes until Get*State. Normally called once on a fresh backend.
  // Errors: InvalidArgument (sizes differ, other max parallelism, kind mismatch with a
  // registered state, unsupported version), DataLoss (bad magic, checksum mismatch,
  // truncated/corrupt bytes). After an error the backend's content is unspecified: discard it.
  absl::Status Restore(const std::vector<std::string_view>& snapshots_bytes,
                       const std::vector<std::vector<std::pair<int32_t, uint64_t>>>& offsets);

  // Approximate footprint of state and timers, in bytes: heap bytes, O(entries); on RocksDB,
  // memtables + SST files of every state and of the timers (RocksDB's estimates).
  int64_t ApproximateSizeBytes() const;

  // --- Incremental checkpoints (kRocksDb; Flink's RocksIncrementalSnapshotStrategy) ---------
  // The synchronous part of an incremental checkpoint: memtables flushed, then a RocksDB
  // checkpoint (hard links to the immutable SST files, plus MANIFEST/CURRENT/OPTIONS copies)
  // in `dir`, which must not exist yet (its parent must), and a small canonical "meta" snapshot
  // (format above) with the names and kinds of all states, the heap timers (if timers are not
  // in RocksDB) and restored state not registered yet, but none of the entries stored in
  // RocksDB. An uploader sends the SST
  // files a previous checkpoint lacked (runtime/checkpoint/incremental_uploader.h); the caller
  // deletes `dir` afterwards. FailedPrecondition on the heap.
  absl::StatusOr<IncrementalSnapshot> SnapshotIncremental(const std::string& dir);

  // Restores from the incremental checkpoints of one or more old subtasks (any parallelism,
  // same max parallelism), on a fresh kRocksDb backend before any state is registered.
  // Approach (Flink's RocksDBIncrementalRestoreOperation without ingestion): the source whose
  // key groups overlap this backend's most is copied in as this backend's database and clipped
  // to this range with range deletions; the key groups this range needs from each other
  // overlapping source are copied in by iteration from a temporary copy of that database;
  // then each source's meta snapshot restores timers and unregistered state of this range.
  // A source identical to this range (a restart at the same parallelism) is just copied and
  // opened: no iteration at all.
  // Errors: FailedPrecondition (heap backend, states already registered), NotFound (a file is
  // missing), InvalidArgument/DataLoss from the meta snapshots (see Restore), Internal from
  // RocksDB. After an error, discard the backend.
  absl::Status RestoreIncremental(const std::vector<IncrementalRestoreSource>& sources);

  // kRocksDb: a full manual compaction of every state (maintenance and tests); drops expired
  // entries of states with TTL (compaction filter). No-op on the heap.
  absl::Status CompactRocksDb();

  // kRocksDb: RocksDB's gauges summed over the states (see RocksDbInstance::Properties);
  // empty on the heap.
  std::vector<std::pair<std::string, int64_t>> RocksDbProperties() const;

 private:
  // Restored bytes of a state not registered yet: (key group, group body) chunks.
  struct PendingState {
    StateKind kind;
    bool ttl = false;  // the entries are in the TTL layout
    std::vector<std::pair<int32_t, std::string>> chunks;
    // After RestoreIncremental: the state's entries are in this column family already.
    internal::RocksColumn* column = nullptr;
  };

  template <typename S, typename... Args>
  absl::StatusOr<S*> GetOrRegister(std::string_view name, const std::optional<StateTtlConfig>& ttl,
                                   Args&&... args) {
    RETURN_IF_ERROR(open_status_);
    auto it = by_name_.find(std::string(name));
    if (it != by_name_.end()) {
      RETURN_IF_ERROR(CheckSameState(*it->second, S::kKind, typeid(S), ttl));
      return static_cast<S*>(it->second);
    }
    RETURN_IF_ERROR(CheckTtlConfig(name, ttl));
    RETURN_IF_ERROR(CheckPendingKind(name, S::kKind, ttl));
    auto state = std::make_unique<S>(std::string(name), S::kKind, std::type_index(typeid(S)),
                                     &ctx_, range_, std::forward<Args>(args)...);
    if (ttl.has_value()) state->EnableTtl(*ttl, clock_);
    S* raw = state.get();
    RETURN_IF_ERROR(Register(std::move(state)));
    return raw;
  }
  absl::Status CheckSameState(const internal::StateTableBase& existing, StateKind kind,
                              std::type_index type,
                              const std::optional<StateTtlConfig>& ttl) const;
  static absl::Status CheckTtlConfig(std::string_view name,
                                     const std::optional<StateTtlConfig>& ttl);
  absl::Status CheckPendingKind(std::string_view name, StateKind kind,
                                const std::optional<StateTtlConfig>& ttl) const;
  // Adds the state and deserializes its pending restored chunks, if any.
  absl::Status Register(std::unique_ptr<internal::StateTableBase> state);
  // The canonical snapshot; without RocksDB-resident entries when `meta_only`.
  absl::StatusOr<KeyedStateSnapshot> WriteSnapshot(bool meta_only) const;
  // A writer of the canonical snapshot. `detached` (heap only): sources independent of the
  // backend (pinned shards, copied bytes); else sources reading the live backend.
  std::unique_ptr<KeyedSnapshotWriter> MakeWriter(bool meta_only, bool detached) const;
  std::string EncodeHeader() const;
  // kRocksDb: points the timer service at the instance's timer column family (RocksDB timers),
  // or moves timers found there onto the heap (heap timers). After opening or replacing rocks_.
  absl::Status AttachTimers();
  // The column family of RocksDB-resident timers ("state:__timers"; no user state has this name).
  static constexpr std::string_view kTimerColumn = "__timers";
  absl::Status RestoreOne(size_t index, std::string_view bytes,
                          const std::vector<std::pair<int32_t, uint64_t>>& offsets);

  int32_t max_parallelism_;
  core::KeyGroupRange range_;
  BackendOptions options_;
  const Clock* clock_;  // options_.clock or Clock::System()
  absl::Status open_status_;
  // Declared before the states so that it is destroyed after them.
  std::unique_ptr<internal::RocksDbInstance> rocks_;
  internal::KeyContext ctx_;
  std::vector<std::unique_ptr<internal::StateTableBase>> states_;  // registration order
  absl::flat_hash_map<std::string, internal::StateTableBase*> by_name_;
  std::map<std::string, PendingState> pending_;
  internal::EventTimeTimerService timers_;
  std::string timer_scratch_;  // key bytes + namespace of the timer being (de)registered
  std::string fired_scratch_;  // key + namespace of the timer being fired
  int64_t watermark_;
  // Size of the last full snapshot, to reserve the next one's buffer (set by the writers).
  std::shared_ptr<std::atomic<size_t>> last_snapshot_size_ =
      std::make_shared<std::atomic<size_t>>(0);
};

}  // namespace sluice::state

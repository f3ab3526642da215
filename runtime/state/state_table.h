#pragma once
// StateTable: the entries of one keyed state, by key group, in one of two storages:
//
// Heap (default): per key group (key_group - range.start), absl::flat_hash_map<std::string,
// Entry> shards keyed by "key bytes + 8-byte little-endian namespace", which asynchronous
// snapshots serialize while the task goes on (cow_groups.h: a shard the snapshot has not
// serialized yet is handed to it as it is, and the task copies the entries it accesses). The
// backend keeps the composite key in a reused scratch string, so reading or updating an
// existing entry allocates nothing outside snapshots; only creating a new (key, namespace)
// entry allocates.
//
// RocksDB (BackendOptions::kRocksDb): a column family per state (see rocksdb_store.h), key =
// 2-byte big-endian key group + composite key, value = Serializer<Entry> bytes. The table keeps
// ONE cached, deserialized entry: that of the (key, namespace) last accessed. Cost model:
//   - first access of a (key, namespace): one RocksDB Get + deserialize (a Get on a missing
//     entry costs a memtable/bloom lookup);
//   - further accesses of the same (key, namespace): served from the cache, no RocksDB call;
//   - every mutation (update/add/put/remove) is a read-modify-write: the cached entry is
//     modified and written through (serialize + Put, no WAL); ValueState::update and
//     ListState::update are blind writes (no Get);
//   - ListState::add and MapState::put rewrite the whole list/map (O(size) per call; Flink uses
//     a merge operator and per-user-key entries, see README "Not yet");
//   - a mutable pointer (ValueState::value(), MapState::get()) may be used to mutate in place
//     as on the heap: when the cache moves to another entry (or before a snapshot/iteration)
//     the entry is re-serialized and written back if its bytes changed (cost: one serialize +
//     compare per entry whose mutable pointer was handed out).
// Pointers returned by accessors stay valid until the state is next accessed after the key
// context changed (KeyContext::epoch: SetCurrentKey/SetCurrentNamespace, even to the same key),
// or visited, sized or snapshotted (also on the heap, where an access during a snapshot works
// on a copy of the entry; cow_groups.h).
//
// State TTL (Flink's StateTtlConfig, see state_ttl.h): a state registered with a TTL keeps a
// last-access timestamp with each entry (list: per element, map: per user key) and treats
// expired entries as absent. Such a state keeps its heap entries in separate maps of
// (entry, timestamps) and stores RocksDB values in the TTL layout (8-byte oldest-timestamp
// prefix); states without TTL are untouched by it (same maps, same bytes, one predictable
// branch per access). TTL costs per access: one clock read; kOnReadAndWrite makes reads writes
// (on RocksDB a Put per read that refreshes a timestamp).
//
// Lifecycle: created and owned by the KeyedStateBackend (GetValueState etc.); pointers stay valid
// for the backend's lifetime. Thread: the task thread only, like the backend.
//
// Entry types must be default-constructible and Serializable (see serialization.h).

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeindex>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "runtime/base/check.h"
#include "runtime/base/status.h"
#include "runtime/core/key_groups.h"
#include "runtime/state/cow_groups.h"
#include "runtime/state/rocksdb_store.h"
#include "runtime/state/serialization.h"
#include "runtime/state/state_table_base.h"
#include "runtime/state/state_table_io.h"
#include "runtime/state/state_ttl.h"

namespace sluice::state::internal {

// Entries of one state, partitioned by key group (heap maps or a RocksDB column family; see the
// file comment). `Traits` is the state's TTL layout (state_ttl.h), used only once EnableTtl
// was called: a state with TTL keeps a TtlSlot (entry + timestamps) per (key, namespace) in
// separate heap maps, so that states without TTL pay nothing for it.
template <typename Entry, typename Traits = ScalarTtl<Entry>>
class StateTable : public StateTableBase {
 public:
  using Map = absl::flat_hash_map<std::string, Entry>;
  using Meta = typename Traits::Meta;
  struct TtlSlot {
    Entry value{};
    Meta meta{};
  };
  using TtlMap = absl::flat_hash_map<std::string, TtlSlot>;

  StateTable(std::string name, StateKind kind, std::type_index type, const KeyContext* ctx,
             core::KeyGroupRange range)
      : StateTableBase(std::move(name), kind, type, ctx, range), groups_(range.size()) {}

  std::unique_ptr<SnapshotBlockSource> PinForSnapshot() override {
    if (column_ != nullptr) return nullptr;
    if (has_ttl()) {
      const int64_t ttl = ttl_->ttl_ms, now = NowMs();
      return std::make_unique<PinnedShards<TtlMap>>(
          ttl_groups_.Pin([ttl, now](const TtlMap& m, std::string* out) {
            return WriteTtlShard<Traits>(m, ttl, now, out);
          }));
    }
    return std::make_unique<PinnedShards<Map>>(groups_.Pin(&WritePlainShard<Entry>));
  }

  TtlValueFilter MakeTtlValueFilter() const override {
    const int64_t ttl = ttl_.has_value() ? ttl_->ttl_ms : std::numeric_limits<int64_t>::max();
    return [ttl](std::string_view value, int64_t now, std::string* rewritten) {
      return FilterStoredTtlValue<Traits>(value, ttl, now, rewritten);
    };
  }

  size_t EntriesInGroup(int32_t index) const override {
    if (column_ != nullptr) {
      FlushCache();
      size_t n = 0;
      column_->ForEachInKeyGroup(range_.start + index, [&](std::string_view, std::string_view) {
        ++n;
        return true;
      });
      return n;
    }
    return has_ttl() ? ttl_groups_.GroupSize(index) : groups_.GroupSize(index);
  }

  bool HasEntriesInGroup(int32_t index) const override {
    if (column_ != nullptr) {
      FlushCache();
      return column_->HasKeyGroup(range_.start + index);
    }
    return has_ttl() ? !ttl_groups_.GroupEmpty(index) : !groups_.GroupEmpty(index);
  }

  void WriteGroup(int32_t index, ByteWriter& out) const override {
    SLUICE_CHECK(column_ != nullptr, "state '{}': heap tables are written through PinForSnapshot",
                 name_);
    FlushCache();
    if (has_ttl()) {
      WriteTtlColumnGroup<Traits>(*column_, range_.start + index, ttl_->ttl_ms, NowMs(), &scratch_,
                                  out);
    } else {
      WriteColumnGroup(*column_, range_.start + index, &scratch_, out);
    }
  }

  absl::Status ReadGroup(int32_t index, ByteReader& in) override {
    uint64_t n = 0;
    RETURN_IF_ERROR(in.ReadLength(&n, in.remaining()));
    if (column_ != nullptr) {
      FlushCache();
      // Each entry is deserialized once to find its end (and validate it); its bytes are
      // stored as they are.
      std::vector<std::pair<std::string_view, std::string_view>> kvs;
      kvs.reserve(n);
      TtlSlot tmp{};
      for (uint64_t i = 0; i < n; ++i) {
        std::string_view k;
        RETURN_IF_ERROR(ReadEntryKey(in, &k));
        const size_t start = in.position();
        RETURN_IF_ERROR(ReadSlot(in, &tmp));
        kvs.emplace_back(k, in.data().substr(start, in.position() - start));
      }
      return column_->PutGroup(range_.start + index, kvs);
    }
    for (uint64_t i = 0; i < n; ++i) {
      std::string_view k;
      RETURN_IF_ERROR(ReadEntryKey(in, &k));
      if (has_ttl()) {
        RETURN_IF_ERROR(ReadSlot(in, &ttl_groups_.Mutable(index, k)[std::string(k)]));
      } else {
        RETURN_IF_ERROR(Serializer<Entry>::Read(in, &groups_.Mutable(index, k)[std::string(k)]));
      }
    }
    return absl::OkStatus();
  }

  size_t size() const override {
    if (column_ != nullptr) {
      FlushCache();
      return column_->Count();
    }
    size_t n = 0;
    ttl_groups_.ForEachShard([&](const TtlMap& m) { n += m.size(); });
    groups_.ForEachShard([&](const Map& m) { n += m.size(); });
    return n;
  }

  int64_t ApproximateSizeBytes() const override {
    if (column_ != nullptr) {
      FlushCache();
      return column_->ApproximateSizeBytes();
    }
    int64_t n = 0;
    ttl_groups_.ForEachShard([&](const TtlMap& m) {
      n += static_cast<int64_t>(m.capacity() * (sizeof(typename TtlMap::value_type) + 1));
      for (const auto& [k, s] : m) n += HeapBytes(k) + HeapBytes(s.value) + HeapBytes(s.meta);
    });
    groups_.ForEachShard([&](const Map& m) { n += HeapBytes(m); });
    return n;
  }

  void FlushCache() const override {
    if (!cache_.valid) return;
    if (cache_.present && cache_.maybe_dirty) {
      SerializeSlot(cache_.slot, &scratch_);
      if (scratch_ != cache_.bytes) column_->Put(cache_.key, scratch_);
    }
    cache_.valid = false;
    cache_.maybe_dirty = false;
  }

  // Visits every entry of key group `key_group` (inside the range):
  // fn(std::string_view key_bytes, int64_t ns, const Entry& entry). The state must not be
  // modified during the visit. With TTL and kNeverReturnExpired, expired entries (and expired
  // list elements / map keys) are left out (not cleaned up: the visit does not modify).
  template <typename F>
  void ForEachInKeyGroup(int32_t key_group, F&& fn) const {
    SLUICE_CHECK(range_.Contains(key_group), "key group {} outside range [{}, {}]", key_group,
                 range_.start, range_.end);
    if (column_ != nullptr) FlushCache();
    VisitGroup(key_group - range_.start, [&](std::string_view composite, const Entry& e) {
      fn(CompositeKey(composite), CompositeNamespace(composite), e);
    });
  }
  // Like ForEachInKeyGroup, but fn returns bool: false stops the visit (e.g. to look at the first
  // entry of a key group without reading the others; on RocksDB one seek).
  template <typename F>
  void ForEachInKeyGroupUntil(int32_t key_group, F&& fn) const {
    SLUICE_CHECK(range_.Contains(key_group), "key group {} outside range [{}, {}]", key_group,
                 range_.start, range_.end);
    if (column_ != nullptr) FlushCache();
    VisitGroup(key_group - range_.start, [&](std::string_view composite, const Entry& e) -> bool {
      return fn(CompositeKey(composite), CompositeNamespace(composite), e);
    });
  }
  // Visits every entry: fn(std::string_view key_bytes, int32_t key_group, int64_t ns,
  // const Entry& entry), key group by key group in ascending order (TTL: as ForEachInKeyGroup).
  template <typename F>
  void ForEach(F&& fn) const {
    if (column_ != nullptr) FlushCache();
    for (int32_t i = 0; i < range_.size(); ++i) {
      const int32_t kg = range_.start + i;
      VisitGroup(i, [&](std::string_view composite, const Entry& e) {
        fn(CompositeKey(composite), kg, CompositeNamespace(composite), e);
      });
    }
  }

 protected:
  // Stored entries checked per write by the heap's incremental TTL cleanup (Flink's default
  // cleanupIncrementally(5, false)).
  static constexpr size_t kCleanupEntriesPerWrite = 5;

  void OnTtlEnabled() override {
    ttl_groups_.Reset(range_.size());
    groups_.Reset(0);
  }

  // Heap: the current (key, namespace)'s entry (TTL: slot) in `g`, or nullptr if absent;
  // HeapEmplace creates it. Safe against snapshots in progress (cow_groups.h).
  template <typename M>
  auto* HeapFind(CowGroups<M>& g) {
    CheckKey();
    return g.FindEntry(ctx_->group_index, ctx_->composite, ctx_->epoch);
  }
  template <typename M>
  auto HeapEmplace(CowGroups<M>& g) {
    CheckKey();
    return g.TryEmplace(ctx_->group_index, ctx_->composite, ctx_->epoch);
  }

  // --- Whole-entry accessors: value, reducing and aggregating states (with or without TTL),
  // list and map states without TTL. With TTL an expired entry is absent (see state_ttl.h).

  // The entry of the current (key, namespace), or nullptr; the caller may mutate it in place.
  // A read (kOnReadAndWrite refreshes the timestamp).
  Entry* Find() {
    if (has_ttl()) [[unlikely]] return ReadTtlEntry(/*mutable_ptr=*/true);
    if (column_ != nullptr) {
      Cache& c = Load();
      if (!c.present) return nullptr;
      c.maybe_dirty = true;
      return &c.slot.value;
    }
    return HeapFind(groups_);
  }
  // Like Find, for reading only (RocksDB: no write-back check on eviction).
  const Entry* FindForRead() {
    if (has_ttl()) [[unlikely]] return ReadTtlEntry(/*mutable_ptr=*/false);
    if (column_ != nullptr) return FindForUpdate();
    return HeapFind(groups_);
  }
  // Like Find, for a mutation the caller persists itself with Commit() or Erase(). Without TTL
  // only (list and map states with TTL use the TtlSlot accessors).
  Entry* FindForUpdate() {
    SLUICE_CHECK(!has_ttl(), "state '{}': FindForUpdate on a state with TTL", name_);
    if (column_ != nullptr) {
      Cache& c = Load();
      return c.present ? &c.slot.value : nullptr;
    }
    return HeapFind(groups_);
  }
  // The entry of the current (key, namespace), created default-constructed if absent (or
  // expired); `second` is true when it was created. The caller mutates it, then calls Commit().
  std::pair<Entry*, bool> FindOrInsert() {
    if (has_ttl()) [[unlikely]] {
      auto [s, inserted] = LoadOrInsertTtl();
      if constexpr (!Traits::kPerElement) {
        if (!inserted && TtlExpired(s->meta, ttl_->ttl_ms, NowMs())) {
          s->value = Entry{};  // expired: as absent (Flink's TtlReduceFunction/AggregateFunction)
          inserted = true;
        }
      }
      return {&s->value, inserted};
    }
    if (column_ != nullptr) {
      Cache& c = Load();
      const bool inserted = !c.present;
      if (inserted) {
        c.slot.value = Entry{};
        c.present = true;
      }
      return {&c.slot.value, inserted};
    }
    return HeapEmplace(groups_);
  }
  // The slot of the current (key, namespace), to be overwritten entirely, then Commit():
  // a blind write on RocksDB (no Get).
  Entry* Overwrite() {
    if (has_ttl()) [[unlikely]] return &OverwriteTtl()->value;
    if (column_ != nullptr) {
      OverwriteCache();
      return &cache_.slot.value;
    }
    return FindOrInsert().first;
  }
  // Persists the entry returned by FindOrInsert/Overwrite/Find after a mutation (RocksDB:
  // serialize + Put; heap: nothing). With TTL, this is a write: the timestamp becomes now.
  void Commit() {
    if (has_ttl()) [[unlikely]] {
      Traits::Touch(current_->value, current_->meta, NowMs());
    } else if (column_ == nullptr) {
      return;
    }
    PersistCurrent();
  }
  void Erase() {
    if (column_ != nullptr) {
      CheckKey();
      if (cache_.valid && cache_.key != ctx_->rocks_key) FlushCache();
      column_->Delete(ctx_->rocks_key);
      cache_.key.assign(ctx_->rocks_key);
      cache_.valid = true;
      cache_.present = false;
      cache_.maybe_dirty = false;
      return;
    }
    CheckKey();
    if (has_ttl()) {
      ttl_groups_.EraseEntry(ctx_->group_index, ctx_->composite, ctx_->epoch);
      return;
    }
    groups_.EraseEntry(ctx_->group_index, ctx_->composite, ctx_->epoch);
  }

  // --- TtlSlot accessors (states with TTL only; list and map states apply per-element TTL
  // themselves). No expiry check: the caller applies the state's semantics.

  // The current (key, namespace)'s slot, or nullptr. `mutable_ptr`: the caller may hand out a
  // pointer into it for in-place mutation (RocksDB: checked for write-back on eviction).
  TtlSlot* LoadTtl(bool mutable_ptr) {
    if (column_ != nullptr) {
      Cache& c = Load();
      if (!c.present) return nullptr;
      if (mutable_ptr) c.maybe_dirty = true;
      current_ = &c.slot;
      return current_;
    }
    TtlSlot* s = HeapFind(ttl_groups_);
    if (s == nullptr) return nullptr;
    current_ = s;
    return current_;
  }
  // The slot, created empty if absent (`second`: created); a write: then PersistCurrent().
  std::pair<TtlSlot*, bool> LoadOrInsertTtl() {
    CleanupIncrementally();
    if (column_ != nullptr) {
      Cache& c = Load();
      const bool inserted = !c.present;
      if (inserted) {
        c.slot = TtlSlot{};
        c.present = true;
      }
      current_ = &c.slot;
      return {current_, inserted};
    }
    auto [slot, inserted] = HeapEmplace(ttl_groups_);
    current_ = slot;
    return {current_, inserted};
  }
  // The slot to overwrite entirely (RocksDB: no Get), then PersistCurrent().
  TtlSlot* OverwriteTtl() {
    CleanupIncrementally();
    if (column_ != nullptr) {
      OverwriteCache();
      current_ = &cache_.slot;
      return current_;
    }
    current_ = HeapEmplace(ttl_groups_).first;
    return current_;
  }
  // RocksDB: writes the current slot through (serialize + Put). Heap: nothing.
  void PersistCurrent() {
    if (column_ == nullptr) return;
    SerializeSlot(cache_.slot, &scratch_);
    column_->Put(cache_.key, scratch_);
    cache_.bytes.swap(scratch_);
  }
  int64_t NowMs() const { return clock_->NowMillis(); }
  const StateTtlConfig& ttl() const { return *ttl_; }
  bool ReturnsExpired() const {
    return ttl_->visibility == StateTtlConfig::kReturnExpiredIfNotCleanedUp;
  }

 private:
  // RocksDB: the cached entry of one (key group, key, namespace).
  struct Cache {
    bool valid = false;        // `key`'s state is cached
    bool present = false;      // the entry exists (else: no entry for `key`)
    bool maybe_dirty = false;  // a mutable pointer was handed out since the last load
    std::string key;           // RocksDB key
    std::string bytes;         // the entry's bytes as stored
    TtlSlot slot{};            // the entry (and, with TTL, its timestamps)
  };

  absl::Status ReadEntryKey(ByteReader& in, std::string_view* k) const {
    RETURN_IF_ERROR(in.ReadStringView(k));
    if (k->size() < kNamespaceBytes) {
      return DataLossF("state '{}': entry key of {} bytes at offset {} is shorter than its "
                       "{}-byte namespace",
                       name_, k->size(), in.position(), kNamespaceBytes);
    }
    return absl::OkStatus();
  }

  void CheckKey() const {
    SLUICE_CHECK(ctx_->key_group >= 0, "state '{}' accessed before SetCurrentKey", name_);
  }

  // The stored bytes of an entry: the TTL layout with TTL, else Serializer<Entry>.
  void SerializeSlot(const TtlSlot& s, std::string* out) const {
    out->clear();
    ByteWriter w(out);
    if (has_ttl()) {
      Traits::Write(s.value, s.meta, w);
    } else {
      Serializer<Entry>::Write(s.value, w);
    }
  }
  absl::Status ReadSlot(ByteReader& in, TtlSlot* s) const {
    return has_ttl() ? Traits::Read(in, &s->value, &s->meta) : Serializer<Entry>::Read(in, &s->value);
  }

  Cache& Load() {
    CheckKey();
    if (cache_.valid && cache_.key == ctx_->rocks_key) return cache_;
    FlushCache();
    cache_.key.assign(ctx_->rocks_key);
    cache_.valid = true;
    cache_.maybe_dirty = false;
    cache_.present = column_->Get(cache_.key, &cache_.bytes);
    if (cache_.present) {
      ByteReader r(cache_.bytes);
      absl::Status st = ReadSlot(r, &cache_.slot);
      if (!st.ok()) {
        column_->RecordError(DataLossF("state '{}': stored entry does not deserialize: {}", name_,
                                       st.message()));
        cache_.present = false;
      }
    }
    return cache_;
  }

  // RocksDB: points the cache at the current key for a blind overwrite.
  void OverwriteCache() {
    CheckKey();
    if (!(cache_.valid && cache_.key == ctx_->rocks_key)) {
      FlushCache();
      cache_.key.assign(ctx_->rocks_key);
      cache_.valid = true;
      cache_.maybe_dirty = false;
    }
    cache_.present = true;
  }

  // A read of a whole entry with TTL (value, reducing, aggregating states): Flink's
  // AbstractTtlDecorator.getWithTtlCheckAndUpdate.
  Entry* ReadTtlEntry(bool mutable_ptr) {
    if constexpr (Traits::kPerElement) {
      SLUICE_CHECK(false, "state '{}': whole-entry read of a per-element TTL state", name_);
      return nullptr;
    } else {
      TtlSlot* s = LoadTtl(mutable_ptr);
      if (s == nullptr) return nullptr;
      const int64_t now = NowMs();
      if (TtlExpired(s->meta, ttl_->ttl_ms, now)) {
        Entry* out = nullptr;
        if (ReturnsExpired()) {
          expired_value_ = std::move(s->value);
          out = &expired_value_;
        }
        Erase();  // cleanup on access
        return out;
      }
      if (ttl_->update_type == StateTtlConfig::kOnReadAndWrite && s->meta != now) {
        s->meta = now;
        PersistCurrent();
      }
      return &s->value;
    }
  }

  // Heap, TTL: Flink's incremental cleanup on writes. Each write earns kCleanupEntriesPerWrite
  // credits; once they cover the next key group's stored entries, that group's expired
  // entries and elements are removed and the cursor moves on (amortised ~5 entries per
  // write). Only on writes: a ForEach visitor may read the state, never write it.
  void CleanupIncrementally() {
    // Not while a snapshot is being written (the task freezes shards then, cow_groups.h);
    // expired entries stay invisible meanwhile and snapshots leave them out.
    if (column_ != nullptr || ttl_groups_.SnapshotPinned()) return;
    cleanup_credit_ += kCleanupEntriesPerWrite;
    // The group's size is counted (over its shards) only when the credit reaches the last count.
    if (cleanup_credit_ < cleanup_stored_) return;
    const int32_t group = static_cast<int32_t>(cleanup_group_);
    cleanup_stored_ = ttl_groups_.GroupSize(group);
    if (cleanup_credit_ < cleanup_stored_) return;
    cleanup_credit_ -= cleanup_stored_;
    cleanup_stored_ = 0;
    const int64_t now = NowMs();
    const auto shards = ttl_groups_.Group(group);
    for (size_t i = 0; i < shards.size(); ++i) {
      // Only shards with something to remove are written (settled for snapshots first).
      if (!HasExpired(shards[i], now)) continue;
      TtlMap& m = ttl_groups_.MutableShard(group, i);
      for (auto it = m.begin(); it != m.end();) {
        if (Traits::RemoveExpired(it->second.value, it->second.meta, ttl_->ttl_ms, now)) {
          ++it;
        } else {
          m.erase(it++);
        }
      }
    }
    cleanup_group_ = (cleanup_group_ + 1) % static_cast<size_t>(ttl_groups_.groups());
  }
  bool HasExpired(const TtlMap& m, int64_t now) const {
    for (const auto& [k, s] : m) {
      if (TtlExpired(Traits::Oldest(s.value, s.meta), ttl_->ttl_ms, now)) return true;
    }
    return false;
  }

  // Visits group `index`: fn(std::string_view composite, const Entry&), leaving out expired
  // entries/elements of a TTL state with kNeverReturnExpired.
  // fn may return bool: false stops the visit.
  template <typename F>
  void VisitGroup(int32_t index, F&& fn_in) const {
    auto fn = [&fn_in](std::string_view composite, const Entry& e) -> bool {
      if constexpr (std::is_same_v<std::invoke_result_t<F&, std::string_view, const Entry&>,
                                   bool>) {
        return fn_in(composite, e);
      } else {
        fn_in(composite, e);
        return true;
      }
    };
    const int32_t kg = range_.start + index;
    const bool hide_expired = has_ttl() && !ReturnsExpired();
    const int64_t now = has_ttl() ? NowMs() : 0;
    if (column_ != nullptr) {
      TtlSlot s{};
      column_->ForEachInKeyGroup(kg, [&](std::string_view composite, std::string_view value) {
        ByteReader r(value);
        absl::Status st = ReadSlot(r, &s);
        if (!st.ok()) {
          column_->RecordError(DataLossF("state '{}', key group {}: stored entry does not "
                                         "deserialize: {}",
                                         name_, kg, st.message()));
          return true;
        }
        if (hide_expired && !Traits::RemoveExpired(s.value, s.meta, ttl_->ttl_ms, now)) {
          return true;
        }
        return fn(composite, s.value);
      });
      return;
    }
    if (!has_ttl()) {
      for (const Map& m : groups_.Group(index)) {
        for (const auto& [k, v] : m) {
          if (!fn(k, v)) return;
        }
      }
      return;
    }
    TtlSlot copy{};
    for (const TtlMap& m : ttl_groups_.Group(index)) {
      for (const auto& [k, s] : m) {
        if (hide_expired && TtlExpired(Traits::Oldest(s.value, s.meta), ttl_->ttl_ms, now)) {
          copy = s;
          if (!Traits::RemoveExpired(copy.value, copy.meta, ttl_->ttl_ms, now)) continue;
          if (!fn(k, copy.value)) return;
          continue;
        }
        if (!fn(k, s.value)) return;
      }
    }
  }

  CowGroups<Map> groups_;         // heap storage without TTL (no groups with TTL)
  CowGroups<TtlMap> ttl_groups_;  // heap storage with TTL (no groups without)
  mutable Cache cache_;             // RocksDB only
  mutable std::string scratch_;
  TtlSlot* current_ = nullptr;  // TTL: the slot of the last access (for Commit)
  Entry expired_value_{};       // TTL, kReturnExpiredIfNotCleanedUp: the value returned once
  size_t cleanup_group_ = 0;    // heap TTL: next group of the incremental cleanup
  size_t cleanup_credit_ = 0;
  size_t cleanup_stored_ = 0;   // entries of cleanup_group_ when last counted (0: count now)
};

}  // namespace sluice::state::internal

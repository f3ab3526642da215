#pragma once
// Typed keyed state primitives (Flink's ValueState, ListState, MapState, ReducingState,
// AggregatingState) over a per-key-group StateTable with two storages:
//
// Heap (default): `std::vector<absl::flat_hash_map<std::string, Entry>>` indexed by
// key_group - range.start, keyed by "key bytes + 8-byte little-endian namespace". The backend
// keeps that composite key in a reused scratch string, so reading or updating an existing entry
// allocates nothing; only creating a new (key, namespace) entry allocates.
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
// Pointers returned by accessors stay valid until the state is accessed for another
// (key, namespace) (heap: until it is modified for another entry).
//
// Lifecycle: created and owned by the KeyedStateBackend (GetValueState etc.); pointers stay valid
// for the backend's lifetime. Thread: the task thread only, like the backend.
//
// Entry types must be default-constructible and Serializable (see serialization.h).
// Accessing a state before SetCurrentKey is a bug (SLUICE_CHECK).

#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <typeindex>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "runtime/base/check.h"
#include "runtime/base/status.h"
#include "runtime/core/key_groups.h"
#include "runtime/state/rocksdb_store.h"
#include "runtime/state/serialization.h"

namespace sluice::state {

// Kind of a state, recorded in snapshots so that a restore refuses a kind mismatch.
enum class StateKind : uint8_t {
  kValue = 1,
  kList = 2,
  kMap = 3,
  kReducing = 4,
  kAggregating = 5,
};
std::string_view StateKindName(StateKind kind);  // "VALUE", "LIST", ...
bool IsValidStateKind(uint8_t kind);

// Size in bytes of the encoded namespace appended to the key bytes.
inline constexpr size_t kNamespaceBytes = 8;

// Splits a composite "key bytes + namespace" key. `composite` must be >= kNamespaceBytes long.
inline std::string_view CompositeKey(std::string_view composite) {
  return composite.substr(0, composite.size() - kNamespaceBytes);
}
inline int64_t CompositeNamespace(std::string_view composite) {
  int64_t ns;
  std::memcpy(&ns, composite.data() + composite.size() - kNamespaceBytes, sizeof(ns));
  return ns;
}

namespace internal {

// The current key context, owned by the backend and read by every state.
struct KeyContext {
  std::string composite;  // key bytes + 8-byte namespace (reused, never shrinks)
  size_t key_size = 0;
  int32_t key_group = -1;    // -1: no key set yet
  int32_t group_index = -1;  // key_group - range.start
  int64_t ns = 0;
  // RocksDB backend only: 2-byte big-endian key group + composite (maintained by the backend).
  std::string rocks_key;
};

// Approximate heap bytes owned by a value (beyond sizeof), for ApproximateSizeBytes.
template <typename T>
int64_t HeapBytes(const T& v);

template <typename T>
struct HeapBytesOf {
  static int64_t Of(const T&) { return 0; }
};
template <>
struct HeapBytesOf<std::string> {
  static int64_t Of(const std::string& s) {
    return s.capacity() > 15 ? static_cast<int64_t>(s.capacity()) + 1 : 0;
  }
};
template <typename T>
struct HeapBytesOf<std::vector<T>> {
  static int64_t Of(const std::vector<T>& v) {
    int64_t n = static_cast<int64_t>(v.capacity() * sizeof(T));
    for (const T& e : v) n += HeapBytes(e);
    return n;
  }
};
template <typename K, typename V>
struct HeapBytesOf<absl::flat_hash_map<K, V>> {
  static int64_t Of(const absl::flat_hash_map<K, V>& m) {
    int64_t n = static_cast<int64_t>(m.capacity() * (sizeof(std::pair<const K, V>) + 1));
    for (const auto& [k, v] : m) n += HeapBytes(k) + HeapBytes(v);
    return n;
  }
};
template <typename T>
int64_t HeapBytes(const T& v) {
  return HeapBytesOf<T>::Of(v);
}

// Writes key group `key_group` of a RocksDB column family in the canonical group format
// (varint count, then per entry the length-prefixed composite key and the stored value, which
// is already Serializer<Entry> bytes, copied as it is). `scratch` is a reused buffer.
inline void WriteColumnGroup(const RocksColumn& column, int32_t key_group, std::string* scratch,
                             ByteWriter& out) {
  scratch->clear();
  ByteWriter w(scratch);
  uint64_t n = 0;
  column.ForEachInKeyGroup(key_group, [&](std::string_view composite, std::string_view value) {
    w.WriteString(composite);
    w.WriteRaw(value);
    ++n;
    return true;
  });
  out.WriteVarint64(n);
  out.WriteRaw(*scratch);
}

// Untyped view of a state table, used by the backend for registration, snapshots and restore.
class StateTableBase {
 public:
  StateTableBase(std::string name, StateKind kind, std::type_index type, const KeyContext* ctx,
                 core::KeyGroupRange range)
      : name_(std::move(name)), kind_(kind), type_(type), ctx_(ctx), range_(range) {}
  virtual ~StateTableBase() = default;
  StateTableBase(const StateTableBase&) = delete;
  StateTableBase& operator=(const StateTableBase&) = delete;

  const std::string& name() const { return name_; }
  StateKind kind() const { return kind_; }
  std::type_index type() const { return type_; }

  // RocksDB backend: stores the table in `column` (set by the backend at registration, before
  // any entry exists). Heap tables have none.
  void AttachColumn(RocksColumn* column) { column_ = column; }
  bool on_rocksdb() const { return column_ != nullptr; }

  // Number of (key, namespace) entries in group `index` (= key_group - range.start).
  virtual size_t EntriesInGroup(int32_t index) const = 0;
  virtual bool HasEntriesInGroup(int32_t index) const = 0;
  // Writes group `index` as: varint count, then per entry the composite key (length-prefixed)
  // and the serialized entry.
  virtual void WriteGroup(int32_t index, ByteWriter& out) const = 0;
  // Reads one group body written by WriteGroup into group `index` (entries are inserted or
  // overwritten). DataLoss on corrupt bytes.
  virtual absl::Status ReadGroup(int32_t index, ByteReader& in) = 0;
  // Total entries over all key groups.
  virtual size_t size() const = 0;
  virtual int64_t ApproximateSizeBytes() const = 0;
  // RocksDB: writes back the cached entry if it was mutated in place, and drops the cache.
  // No-op on the heap.
  virtual void FlushCache() const = 0;

 protected:
  std::string name_;
  StateKind kind_;
  std::type_index type_;
  const KeyContext* ctx_;
  core::KeyGroupRange range_;
  RocksColumn* column_ = nullptr;  // RocksDB storage, or null for the heap
};

// Entries of one state, partitioned by key group (heap maps or a RocksDB column family; see the
// file comment).
template <typename Entry>
class StateTable : public StateTableBase {
 public:
  using Map = absl::flat_hash_map<std::string, Entry>;

  StateTable(std::string name, StateKind kind, std::type_index type, const KeyContext* ctx,
             core::KeyGroupRange range)
      : StateTableBase(std::move(name), kind, type, ctx, range), groups_(range.size()) {}

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
    return groups_[index].size();
  }

  bool HasEntriesInGroup(int32_t index) const override {
    if (column_ != nullptr) {
      FlushCache();
      return column_->HasKeyGroup(range_.start + index);
    }
    return !groups_[index].empty();
  }

  void WriteGroup(int32_t index, ByteWriter& out) const override {
    if (column_ != nullptr) {
      FlushCache();
      WriteColumnGroup(*column_, range_.start + index, &scratch_, out);
      return;
    }
    const Map& m = groups_[index];
    out.WriteVarint64(m.size());
    for (const auto& [k, v] : m) {
      out.WriteString(k);
      Serializer<Entry>::Write(v, out);
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
      Entry tmp{};
      for (uint64_t i = 0; i < n; ++i) {
        std::string_view k;
        RETURN_IF_ERROR(ReadEntryKey(in, &k));
        const size_t start = in.position();
        RETURN_IF_ERROR(Serializer<Entry>::Read(in, &tmp));
        kvs.emplace_back(k, in.data().substr(start, in.position() - start));
      }
      return column_->PutGroup(range_.start + index, kvs);
    }
    Map& m = groups_[index];
    m.reserve(m.size() + n);
    for (uint64_t i = 0; i < n; ++i) {
      std::string_view k;
      RETURN_IF_ERROR(ReadEntryKey(in, &k));
      Entry& e = m[std::string(k)];
      RETURN_IF_ERROR(Serializer<Entry>::Read(in, &e));
    }
    return absl::OkStatus();
  }

  size_t size() const override {
    if (column_ != nullptr) {
      FlushCache();
      return column_->Count();
    }
    size_t n = 0;
    for (const Map& m : groups_) n += m.size();
    return n;
  }

  int64_t ApproximateSizeBytes() const override {
    if (column_ != nullptr) {
      FlushCache();
      return column_->ApproximateSizeBytes();
    }
    int64_t n = 0;
    for (const Map& m : groups_) {
      n += static_cast<int64_t>(m.capacity() * (sizeof(typename Map::value_type) + 1));
      for (const auto& [k, v] : m) n += HeapBytes(k) + HeapBytes(v);
    }
    return n;
  }

  void FlushCache() const override {
    if (!cache_.valid) return;
    if (cache_.present && cache_.maybe_dirty) {
      scratch_.clear();
      ByteWriter w(&scratch_);
      Serializer<Entry>::Write(cache_.entry, w);
      if (scratch_ != cache_.bytes) column_->Put(cache_.key, scratch_);
    }
    cache_.valid = false;
    cache_.maybe_dirty = false;
  }

  // Visits every entry of key group `key_group` (inside the range):
  // fn(std::string_view key_bytes, int64_t ns, const Entry& entry). The state must not be
  // modified during the visit.
  template <typename F>
  void ForEachInKeyGroup(int32_t key_group, F&& fn) const {
    SLUICE_CHECK(range_.Contains(key_group), "key group {} outside range [{}, {}]", key_group,
                 range_.start, range_.end);
    if (column_ != nullptr) {
      FlushCache();
      VisitColumnGroup(key_group, [&](std::string_view composite, const Entry& e) {
        fn(CompositeKey(composite), CompositeNamespace(composite), e);
      });
      return;
    }
    for (const auto& [k, v] : groups_[key_group - range_.start]) {
      fn(CompositeKey(k), CompositeNamespace(k), v);
    }
  }
  // Visits every entry: fn(std::string_view key_bytes, int32_t key_group, int64_t ns,
  // const Entry& entry), key group by key group in ascending order.
  template <typename F>
  void ForEach(F&& fn) const {
    if (column_ != nullptr) FlushCache();
    for (int32_t i = 0; i < static_cast<int32_t>(groups_.size()); ++i) {
      const int32_t kg = range_.start + i;
      if (column_ != nullptr) {
        VisitColumnGroup(kg, [&](std::string_view composite, const Entry& e) {
          fn(CompositeKey(composite), kg, CompositeNamespace(composite), e);
        });
        continue;
      }
      for (const auto& [k, v] : groups_[i]) {
        fn(CompositeKey(k), kg, CompositeNamespace(k), v);
      }
    }
  }

 protected:
  Map& CurrentGroup() {
    SLUICE_CHECK(ctx_->key_group >= 0, "state '{}' accessed before SetCurrentKey", name_);
    return groups_[ctx_->group_index];
  }
  // The entry of the current (key, namespace), or nullptr; the caller may mutate it in place.
  Entry* Find() {
    if (column_ != nullptr) {
      Cache& c = Load();
      if (!c.present) return nullptr;
      c.maybe_dirty = true;
      return &c.entry;
    }
    Map& m = CurrentGroup();
    auto it = m.find(ctx_->composite);
    return it == m.end() ? nullptr : &it->second;
  }
  // Like Find, for reading only (RocksDB: no write-back check on eviction).
  const Entry* FindForRead() { return FindForUpdate(); }
  // Like Find, for a mutation the caller persists itself with Commit() or Erase().
  Entry* FindForUpdate() {
    if (column_ != nullptr) {
      Cache& c = Load();
      return c.present ? &c.entry : nullptr;
    }
    Map& m = CurrentGroup();
    auto it = m.find(ctx_->composite);
    return it == m.end() ? nullptr : &it->second;
  }
  // The entry of the current (key, namespace), created default-constructed if absent;
  // `second` is true when it was created. The caller mutates it, then calls Commit().
  std::pair<Entry*, bool> FindOrInsert() {
    if (column_ != nullptr) {
      Cache& c = Load();
      const bool inserted = !c.present;
      if (inserted) {
        c.entry = Entry{};
        c.present = true;
      }
      return {&c.entry, inserted};
    }
    auto [it, inserted] = CurrentGroup().try_emplace(ctx_->composite);
    return {&it->second, inserted};
  }
  // The slot of the current (key, namespace), to be overwritten entirely, then Commit():
  // a blind write on RocksDB (no Get).
  Entry* Overwrite() {
    if (column_ != nullptr) {
      CheckKey();
      if (!(cache_.valid && cache_.key == ctx_->rocks_key)) {
        FlushCache();
        cache_.key.assign(ctx_->rocks_key);
        cache_.valid = true;
        cache_.maybe_dirty = false;
      }
      cache_.present = true;
      return &cache_.entry;
    }
    return FindOrInsert().first;
  }
  // Persists the entry returned by FindOrInsert/Overwrite/Find after a mutation (RocksDB:
  // serialize + Put; heap: nothing).
  void Commit() {
    if (column_ == nullptr) return;
    scratch_.clear();
    ByteWriter w(&scratch_);
    Serializer<Entry>::Write(cache_.entry, w);
    column_->Put(cache_.key, scratch_);
    cache_.bytes.swap(scratch_);
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
    CurrentGroup().erase(ctx_->composite);
  }

 private:
  // RocksDB: the cached entry of one (key group, key, namespace).
  struct Cache {
    bool valid = false;        // `key`'s state is cached
    bool present = false;      // the entry exists (else: no entry for `key`)
    bool maybe_dirty = false;  // a mutable pointer was handed out since the last load
    std::string key;           // RocksDB key
    std::string bytes;         // the entry's bytes as stored
    Entry entry{};
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
      absl::Status st = Serializer<Entry>::Read(r, &cache_.entry);
      if (!st.ok()) {
        column_->RecordError(DataLossF("state '{}': stored entry does not deserialize: {}", name_,
                                       st.message()));
        cache_.present = false;
      }
    }
    return cache_;
  }

  template <typename F>
  void VisitColumnGroup(int32_t kg, F&& fn) const {
    Entry e{};
    column_->ForEachInKeyGroup(kg, [&](std::string_view composite, std::string_view value) {
      ByteReader r(value);
      absl::Status st = Serializer<Entry>::Read(r, &e);
      if (!st.ok()) {
        column_->RecordError(DataLossF("state '{}', key group {}: stored entry does not "
                                       "deserialize: {}",
                                       name_, kg, st.message()));
        return true;
      }
      fn(composite, e);
      return true;
    });
  }

  std::vector<Map> groups_;  // heap storage (empty maps on RocksDB)
  mutable Cache cache_;      // RocksDB only
  mutable std::string scratch_;
};

}  // namespace internal

// Flink's ValueState: one value per (key, namespace).
template <Serializable V>
class ValueState final : public internal::StateTable<V> {
 public:
  static constexpr StateKind kKind = StateKind::kValue;
  using internal::StateTable<V>::StateTable;

  // The value of the current (key, namespace), or nullptr if none. Valid until the state is
  // modified for another entry.
  V* value() { return this->Find(); }
  template <typename U>
  void update(U&& v) {
    *this->Overwrite() = std::forward<U>(v);
    this->Commit();
  }
  void clear() { this->Erase(); }
};

// Flink's ListState: a list of values per (key, namespace). An empty list is no entry.
template <Serializable V>
class ListState final : public internal::StateTable<std::vector<V>> {
 public:
  static constexpr StateKind kKind = StateKind::kList;
  using internal::StateTable<std::vector<V>>::StateTable;

  template <typename U>
  void add(U&& v) {
    this->FindOrInsert().first->push_back(std::forward<U>(v));
    this->Commit();
  }
  // The list of the current (key, namespace), or nullptr if empty.
  const std::vector<V>* get() { return this->FindForRead(); }
  // Replaces the list (an empty list clears).
  void update(std::vector<V> values) {
    if (values.empty()) {
      this->Erase();
    } else {
      *this->Overwrite() = std::move(values);
      this->Commit();
    }
  }
  void clear() { this->Erase(); }
};

// Flink's MapState: a map UK -> UV per (key, namespace). An empty map is no entry.
template <Serializable UK, Serializable UV>
class MapState final : public internal::StateTable<absl::flat_hash_map<UK, UV>> {
 public:
  using UserMap = absl::flat_hash_map<UK, UV>;
  static constexpr StateKind kKind = StateKind::kMap;
  using internal::StateTable<UserMap>::StateTable;

  // The value mapped to `k`, or nullptr.
  UV* get(const UK& k) {
    UserMap* m = this->Find();
    if (m == nullptr) return nullptr;
    auto it = m->find(k);
    return it == m->end() ? nullptr : &it->second;
  }
  bool contains(const UK& k) {
    const UserMap* m = this->FindForRead();
    return m != nullptr && m->contains(k);
  }
  template <typename K, typename V>
  void put(K&& k, V&& v) {
    this->FindOrInsert().first->insert_or_assign(std::forward<K>(k), std::forward<V>(v));
    this->Commit();
  }
  void remove(const UK& k) {
    UserMap* m = this->FindForUpdate();
    if (m == nullptr) return;
    if (m->erase(k) == 0) return;
    if (m->empty()) {
      this->Erase();
    } else {
      this->Commit();
    }
  }
  // All mappings of the current (key, namespace), or nullptr if none.
  const UserMap* entries() { return this->FindForRead(); }
  bool is_empty() { return this->FindForRead() == nullptr; }
  void clear() { this->Erase(); }
};

// Flink's ReducingState: add() folds the value into the stored one with `reduce`.
template <Serializable V>
class ReducingState final : public internal::StateTable<V> {
 public:
  static constexpr StateKind kKind = StateKind::kReducing;
  using ReduceFn = std::function<V(const V&, const V&)>;

  ReducingState(std::string name, StateKind kind, std::type_index type,
                const internal::KeyContext* ctx, core::KeyGroupRange range, ReduceFn reduce)
      : internal::StateTable<V>(std::move(name), kind, type, ctx, range),
        reduce_(std::move(reduce)) {}

  void add(const V& v) {
    auto [e, inserted] = this->FindOrInsert();
    if (inserted) {
      *e = v;
    } else {
      *e = reduce_(*e, v);
    }
    this->Commit();
  }
  // The reduced value, or nullptr if nothing was added.
  const V* get() { return this->FindForRead(); }
  void clear() { this->Erase(); }

 private:
  ReduceFn reduce_;
};

// Flink's AggregateFunction, as three callables.
template <typename IN, typename ACC, typename OUT>
struct AggregateFunction {
  std::function<ACC()> create_accumulator;
  std::function<void(ACC&, const IN&)> add;
  std::function<OUT(const ACC&)> get_result;
};

// Flink's AggregatingState: an accumulator per (key, namespace).
template <typename IN, Serializable ACC, typename OUT>
class AggregatingState final : public internal::StateTable<ACC> {
 public:
  static constexpr StateKind kKind = StateKind::kAggregating;
  using Function = AggregateFunction<IN, ACC, OUT>;

  AggregatingState(std::string name, StateKind kind, std::type_index type,
                   const internal::KeyContext* ctx, core::KeyGroupRange range, Function fn)
      : internal::StateTable<ACC>(std::move(name), kind, type, ctx, range), fn_(std::move(fn)) {}

  void add(const IN& in) {
    auto [acc, inserted] = this->FindOrInsert();
    if (inserted) *acc = fn_.create_accumulator();
    fn_.add(*acc, in);
    this->Commit();
  }
  // get_result of the accumulator, or nullopt if nothing was added.
  std::optional<OUT> get() {
    const ACC* acc = this->FindForRead();
    if (acc == nullptr) return std::nullopt;
    return fn_.get_result(*acc);
  }
  const ACC* accumulator() { return this->FindForRead(); }
  void clear() { this->Erase(); }

 private:
  Function fn_;
};

}  // namespace sluice::state

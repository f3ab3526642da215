#pragma once
// Typed keyed state primitives (Flink's ValueState, ListState, MapState, ReducingState,
// AggregatingState), each a StateTable (state_table.h: heap or RocksDB storage, TTL, snapshots)
// with the operations Flink's interface of the same name offers.
//
// Lifecycle: created and owned by the KeyedStateBackend (GetValueState etc.); pointers stay valid
// for the backend's lifetime. Thread: the task thread only, like the backend.
//
// Entry types must be default-constructible and Serializable (see serialization.h).
// Accessing a state before SetCurrentKey is a bug (SLUICE_CHECK). Pointers returned by
// accessors stay valid until the state is next accessed after a SetCurrentKey or
// SetCurrentNamespace (even to the same key), or visited, sized or snapshotted; never across a
// checkpoint barrier (heap: an access during a snapshot works on a copy, state_table.h).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <typeindex>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "runtime/base/check.h"
#include "runtime/state/serialization.h"
#include "runtime/state/state_table.h"
#include "runtime/state/state_ttl.h"

namespace sluice::state {

// Flink's ValueState: one value per (key, namespace).
// TTL: update() sets the timestamp; value() is a read. A value mutated in place through the
// value() pointer keeps its timestamp (use update() to refresh it); under
// kReturnExpiredIfNotCleanedUp an expired value is returned as a copy (already cleared).
template <Serializable V>
class ValueState final : public internal::StateTable<V> {
 public:
  static constexpr StateKind kKind = StateKind::kValue;
  using internal::StateTable<V>::StateTable;

  // The value of the current (key, namespace), or nullptr if none. Valid as the file comment
  // says.
  V* value() { return this->Find(); }
  template <typename U>
  void update(U&& v) {
    *this->Overwrite() = std::forward<U>(v);
    this->Commit();
  }
  void clear() { this->Erase(); }
};

// Flink's ListState: a list of values per (key, namespace). An empty list is no entry.
// TTL (Flink's TtlListState): a timestamp per element, set by add/update; get() leaves out
// (and cleans up) expired elements, and with kOnReadAndWrite refreshes the returned ones.
template <Serializable V>
class ListState final : public internal::StateTable<std::vector<V>, internal::ListTtl<V>> {
  using Base = internal::StateTable<std::vector<V>, internal::ListTtl<V>>;

 public:
  static constexpr StateKind kKind = StateKind::kList;
  using Base::Base;

  template <typename U>
  void add(U&& v) {
    if (this->has_ttl()) [[unlikely]] {
      auto* s = this->LoadOrInsertTtl().first;
      s->value.push_back(std::forward<U>(v));
      s->meta.push_back(this->NowMs());
      this->PersistCurrent();
      return;
    }
    this->FindOrInsert().first->push_back(std::forward<U>(v));
    this->Commit();
  }
  // The list of the current (key, namespace), or nullptr if empty.
  const std::vector<V>* get() {
    if (this->has_ttl()) [[unlikely]] return GetWithTtl();
    return this->FindForRead();
  }
  // Replaces the list (an empty list clears).
  void update(std::vector<V> values) {
    if (values.empty()) {
      this->Erase();
    } else if (this->has_ttl()) [[unlikely]] {
      auto* s = this->OverwriteTtl();
      s->meta.assign(values.size(), this->NowMs());
      s->value = std::move(values);
      this->PersistCurrent();
    } else {
      *this->Overwrite() = std::move(values);
      this->Commit();
    }
  }
  void clear() { this->Erase(); }

 private:
  const std::vector<V>* GetWithTtl() {
    auto* s = this->LoadTtl(/*mutable_ptr=*/false);
    if (s == nullptr) return nullptr;
    const int64_t now = this->NowMs();
    const int64_t ttl = this->ttl().ttl_ms;
    const bool refresh = this->ttl().update_type == StateTtlConfig::kOnReadAndWrite;
    bool any_expired = false, any_stale = false;
    for (int64_t ts : s->meta) {
      any_expired |= TtlExpired(ts, ttl, now);
      any_stale |= ts != now;
    }
    if (!any_expired) {
      if (refresh && any_stale) {
        internal::ListTtl<V>::Touch(s->value, s->meta, now);
        this->PersistCurrent();
      }
      return &s->value;
    }
    const bool give_expired = this->ReturnsExpired();
    if (give_expired) returned_ = s->value;
    if (!internal::ListTtl<V>::RemoveExpired(s->value, s->meta, ttl, now)) {
      this->Erase();
      return give_expired ? &returned_ : nullptr;
    }
    if (refresh) internal::ListTtl<V>::Touch(s->value, s->meta, now);
    this->PersistCurrent();
    return give_expired ? &returned_ : &s->value;
  }

  std::vector<V> returned_;  // kReturnExpiredIfNotCleanedUp: the list as it was before cleanup
};

// Flink's MapState: a map UK -> UV per (key, namespace). An empty map is no entry.
// TTL (Flink's TtlMapState): a timestamp per user key, set by put; get/contains/entries leave
// out (and clean up) expired user keys, and with kOnReadAndWrite refresh the ones they return.
template <Serializable UK, Serializable UV>
class MapState final
    : public internal::StateTable<absl::flat_hash_map<UK, UV>, internal::MapTtl<UK, UV>> {
  using Base = internal::StateTable<absl::flat_hash_map<UK, UV>, internal::MapTtl<UK, UV>>;

 public:
  using UserMap = absl::flat_hash_map<UK, UV>;
  static constexpr StateKind kKind = StateKind::kMap;
  using Base::Base;

  // The value mapped to `k`, or nullptr.
  UV* get(const UK& k) {
    if (this->has_ttl()) [[unlikely]] return LookupWithTtl(k, /*mutable_ptr=*/true);
    UserMap* m = this->Find();
    if (m == nullptr) return nullptr;
    auto it = m->find(k);
    return it == m->end() ? nullptr : &it->second;
  }
  bool contains(const UK& k) {
    if (this->has_ttl()) [[unlikely]] return LookupWithTtl(k, /*mutable_ptr=*/false) != nullptr;
    const UserMap* m = this->FindForRead();
    return m != nullptr && m->contains(k);
  }
  template <typename K, typename V>
  void put(K&& k, V&& v) {
    if (this->has_ttl()) [[unlikely]] {
      auto* s = this->LoadOrInsertTtl().first;
      auto it = s->value.insert_or_assign(std::forward<K>(k), std::forward<V>(v)).first;
      s->meta.insert_or_assign(it->first, this->NowMs());
      this->PersistCurrent();
      return;
    }
    this->FindOrInsert().first->insert_or_assign(std::forward<K>(k), std::forward<V>(v));
    this->Commit();
  }
  void remove(const UK& k) {
    if (this->has_ttl()) [[unlikely]] {
      auto* s = this->LoadTtl(/*mutable_ptr=*/false);
      if (s == nullptr || s->value.erase(k) == 0) return;
      s->meta.erase(k);
      if (s->value.empty()) {
        this->Erase();
      } else {
        this->PersistCurrent();
      }
      return;
    }
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
  const UserMap* entries() {
    if (this->has_ttl()) [[unlikely]] return EntriesWithTtl();
    return this->FindForRead();
  }
  bool is_empty() { return entries() == nullptr; }
  void clear() { this->Erase(); }

 private:
  using Ttl = internal::MapTtl<UK, UV>;

  UV* LookupWithTtl(const UK& k, bool mutable_ptr) {
    auto* s = this->LoadTtl(mutable_ptr);
    if (s == nullptr) return nullptr;
    auto it = s->value.find(k);
    if (it == s->value.end()) return nullptr;
    auto ts = s->meta.find(k);
    const int64_t now = this->NowMs();
    if (ts == s->meta.end() || TtlExpired(ts->second, this->ttl().ttl_ms, now)) {
      UV* out = nullptr;
      if (this->ReturnsExpired()) {
        returned_value_ = std::move(it->second);
        out = &returned_value_;
      }
      s->value.erase(it);
      if (ts != s->meta.end()) s->meta.erase(ts);
      if (s->value.empty()) {
        this->Erase();
      } else {
        this->PersistCurrent();
      }
      return out;
    }
    if (this->ttl().update_type == StateTtlConfig::kOnReadAndWrite && ts->second != now) {
      ts->second = now;
      this->PersistCurrent();
    }
    return &it->second;
  }

  const UserMap* EntriesWithTtl() {
    auto* s = this->LoadTtl(/*mutable_ptr=*/false);
    if (s == nullptr) return nullptr;
    const int64_t now = this->NowMs();
    const int64_t ttl = this->ttl().ttl_ms;
    const bool refresh = this->ttl().update_type == StateTtlConfig::kOnReadAndWrite;
    bool any_expired = s->meta.size() != s->value.size(), any_stale = false;
    for (const auto& [k, ts] : s->meta) {
      any_expired |= TtlExpired(ts, ttl, now);
      any_stale |= ts != now;
    }
    if (!any_expired) {
      if (refresh && any_stale) {
        Ttl::Touch(s->value, s->meta, now);
        this->PersistCurrent();
      }
      return &s->value;
    }
    const bool give_expired = this->ReturnsExpired();
    if (give_expired) returned_map_ = s->value;
    if (!Ttl::RemoveExpired(s->value, s->meta, ttl, now)) {
      this->Erase();
      return give_expired ? &returned_map_ : nullptr;
    }
    if (refresh) Ttl::Touch(s->value, s->meta, now);
    this->PersistCurrent();
    return give_expired ? &returned_map_ : &s->value;
  }

  UV returned_value_{};  // kReturnExpiredIfNotCleanedUp: an expired value returned once
  UserMap returned_map_;
};

// Flink's ReducingState: add() folds the value into the stored one with `reduce`.
// TTL: add() is a write (an expired stored value is replaced, not folded); get() a read.
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
// TTL: add() is a write (an expired accumulator starts over from create_accumulator); get()
// and accumulator() are reads.
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
  // Replaces the accumulator (e.g. with merged ones: Flink's mergeNamespaces).
  void update(ACC acc) {
    *this->Overwrite() = std::move(acc);
    this->Commit();
  }
  void clear() { this->Erase(); }

 private:
  Function fn_;
};

}  // namespace sluice::state

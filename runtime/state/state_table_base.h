#pragma once
// The untyped side of keyed state: state kinds, composite "key bytes + namespace" keys, the key
// context the KeyedStateBackend shares with every state, and StateTableBase, through which the
// backend registers, snapshots and restores states without knowing their entry types (Flink's
// StateTable / RegisteredKeyValueStateBackendMetaInfo play these parts). The typed table is
// state_table.h; the primitives operators use are keyed_state.h.
//
// Thread: the task thread only, like the backend (PinForSnapshot's source is the exception: it
// may be written on another thread, see cow_groups.h).

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <typeindex>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "runtime/base/clock.h"
#include "runtime/core/key_groups.h"
#include "runtime/state/keyed_snapshot_writer.h"
#include "runtime/state/rocksdb_store.h"
#include "runtime/state/serialization.h"
#include "runtime/state/state_ttl.h"

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
  // Changes whenever the current (key, namespace) may have (SetCurrentKey/SetCurrentNamespace):
  // entry pointers of the previous one may be invalidated from then on (cow_groups.h).
  uint64_t epoch = 0;
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

  // Gives the state a time-to-live (state_ttl.h), reading processing time from `clock` (which
  // must outlive the table). Set by the backend at registration, before any entry exists and
  // before restored entries are read (they are then in the TTL layout).
  void EnableTtl(const StateTtlConfig& config, const Clock* clock) {
    ttl_ = config;
    clock_ = clock;
    OnTtlEnabled();
  }
  const std::optional<StateTtlConfig>& ttl_config() const { return ttl_; }
  bool has_ttl() const { return ttl_.has_value(); }
  // For a state with TTL: decides on stored values in its layout (the RocksDB compaction filter).
  virtual TtlValueFilter MakeTtlValueFilter() const = 0;

  // Number of stored (key, namespace) entries in group `index` (= key_group - range.start),
  // expired ones not cleaned up yet included.
  virtual size_t EntriesInGroup(int32_t index) const = 0;
  virtual bool HasEntriesInGroup(int32_t index) const = 0;
  // RocksDB: writes group `index` as: varint count, then per entry the composite key
  // (length-prefixed) and the serialized entry (in the TTL layout for states with TTL, without
  // expired entries and elements: Flink's cleanupFullSnapshot). Heap tables are written through
  // PinForSnapshot, in the same format.
  virtual void WriteGroup(int32_t index, ByteWriter& out) const = 0;
  // Reads one group body written by WriteGroup into group `index` (entries are inserted or
  // overwritten). DataLoss on corrupt bytes.
  virtual absl::Status ReadGroup(int32_t index, ByteReader& in) = 0;
  // Total stored entries over all key groups (expired ones not cleaned up yet included).
  virtual size_t size() const = 0;
  virtual int64_t ApproximateSizeBytes() const = 0;
  // RocksDB: writes back the cached entry if it was mutated in place, and drops the cache.
  // No-op on the heap.
  virtual void FlushCache() const = 0;
  // Heap: the entries as they are now, as a snapshot source that may be written on another
  // thread while this table is modified (cow_groups.h: each shard is serialized before its
  // first write after the pin); TTL expiry is judged at the current time. Null on RocksDB.
  virtual std::unique_ptr<SnapshotBlockSource> PinForSnapshot() = 0;

 protected:
  virtual void OnTtlEnabled() = 0;

  std::string name_;
  StateKind kind_;
  std::type_index type_;
  const KeyContext* ctx_;
  core::KeyGroupRange range_;
  RocksColumn* column_ = nullptr;  // RocksDB storage, or null for the heap
  std::optional<StateTtlConfig> ttl_;
  const Clock* clock_ = nullptr;  // set with ttl_
};

}  // namespace internal
}  // namespace sluice::state

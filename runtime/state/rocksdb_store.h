#pragma once
// RocksDB storage of the keyed state backend (Flink's RocksDBKeyedStateBackend storage layer).
//
// RocksDbInstance owns one RocksDB database in a unique directory under the backend's
// `state.local-dir`: one instance per KeyedStateBackend (= per keyed operator per subtask), a
// column family per registered state (named "state:<name>"), a block cache shared by its
// column families. The directory is deleted when the instance is destroyed.
//
// Keys: 2-byte big-endian key group, then the heap backend's composite key (serialised key
// bytes + 8-byte little-endian namespace), so each key group, and each key-group range, is one
// contiguous key range, and the bytes after the key group are exactly the composite keys of the
// canonical snapshot format. Values: Serializer<Entry> bytes of the whole entry (a MapState's
// whole user map is one value).
//
// Writes go without a write-ahead log: the state is recoverable only from checkpoints, as in
// Flink, so the WAL would be pure cost.
//
// State TTL (Flink's cleanupInRocksdbCompactFilter): a compaction filter factory shared by all
// column families of an instance; a state with TTL registers a TtlValueFilter for its column
// family (EnableTtlCompactionFilter), and compactions drop (or rewrite, for lists and maps with
// some expired elements) the values it says are expired at the processing time read from the
// state's clock when the compaction starts. Column families without a filter are not filtered.
//
// Errors: state accessors have no status (their API is the heap backend's), so a failed RocksDB
// read or write is recorded as the instance's sticky first error (`status()`), which the
// backend returns from Snapshot(), AdvanceWatermark() and status(); a failed read behaves as a
// missing entry.
//
// This header does not include RocksDB's headers (rocksdb types are forward-declared).
// Thread: the owning backend's task thread only.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace sluice {
class Clock;
}  // namespace sluice

namespace sluice::state {

// Decision of a TtlValueFilter on one stored value.
enum class TtlFilterDecision { kKeep, kRemove, kRewrite };

// Decides, for one stored value of a state with TTL and the processing time `now_ms`, whether
// it is kept as it is, removed (expired entirely), or replaced by `*rewritten` (a list or map
// with some expired elements). Called on RocksDB compaction threads: must be thread-safe and
// must not touch the state's table. A value that does not parse is kept (reads report it).
using TtlValueFilter = std::function<TtlFilterDecision(std::string_view value, int64_t now_ms,
                                                       std::string* rewritten)>;

// Result of KeyedStateBackend::CheckpointIncremental: a RocksDB checkpoint (hard links to the
// live SST files plus MANIFEST/OPTIONS/CURRENT) in `dir`. An uploader copies only the
// `sst_files` that a previous checkpoint did not have (SST files are immutable and their names
// are unique within one instance).
struct RocksDbCheckpoint {
  std::string dir;
  std::vector<std::string> sst_files;    // file names (not paths), sorted
  std::vector<std::string> other_files;  // MANIFEST-*, OPTIONS-*, CURRENT, ... sorted
  int64_t total_bytes = 0;               // size of all files
};

namespace internal {

class RocksDbInstance;

// One column family (one state) of a RocksDbInstance. Keys passed in are full keys (2-byte key
// group + composite); visitors receive the composite part. Owned by the instance.
class RocksColumn {
 public:
  RocksColumn(RocksDbInstance* db, rocksdb::ColumnFamilyHandle* handle)
      : db_(db), handle_(handle) {}

  // Reads the value of `key` into `*value` (reusing its capacity). False if absent (or on an
  // error, which is recorded).
  bool Get(std::string_view key, std::string* value) const;
  void Put(std::string_view key, std::string_view value);
  void Delete(std::string_view key);
  // Writes (composite key, value) pairs of key group `key_group` in one write batch.
  absl::Status PutGroup(int32_t key_group,
                        const std::vector<std::pair<std::string_view, std::string_view>>& kvs);
  // Visits the entries of `key_group` in key order: fn(composite, value); fn returns false to
  // stop. With `from`, starts at the first composite key >= from.
  void ForEachInKeyGroup(int32_t key_group,
                         absl::FunctionRef<bool(std::string_view, std::string_view)> fn,
                         std::string_view from = {}) const;
  // Deletes every entry (range tombstones).
  absl::Status DeleteAll();
  bool HasKeyGroup(int32_t key_group) const;
  // Number of entries (a full scan).
  size_t Count() const;
  // Memtables + SST files of this column family, in bytes (RocksDB's estimates).
  int64_t ApproximateSizeBytes() const;
  // Records a non-OK status as the instance's sticky error (first one wins).
  void RecordError(absl::Status status) const;
  // Filters this column family's values with `filter` in every later compaction, at the time
  // `clock` gives when the compaction starts (`clock` must outlive the instance). Replaces a
  // previous filter.
  void EnableTtlCompactionFilter(TtlValueFilter filter, const Clock* clock);

  rocksdb::ColumnFamilyHandle* handle() const { return handle_; }

 private:
  RocksDbInstance* db_;
  rocksdb::ColumnFamilyHandle* handle_;
};

// Options of an instance (see BackendOptions in keyed_state_backend.h).
struct RocksDbInstanceOptions {
  std::string local_dir;  // parent directory; empty: the system temp directory
  int64_t block_cache_bytes = 64 << 20;
  int64_t write_buffer_bytes = 64 << 20;
};

// Owns the database, its column families and its directory (see the file comment).
class RocksDbInstance {
 public:
  // Creates a unique directory under options.local_dir (created if missing) and opens a fresh
  // database in it. Errors: Internal/Unavailable naming the directory.
  static absl::StatusOr<std::unique_ptr<RocksDbInstance>> Open(
      const RocksDbInstanceOptions& options);
  // Closes the database and deletes its directory.
  ~RocksDbInstance();
  RocksDbInstance(const RocksDbInstance&) = delete;
  RocksDbInstance& operator=(const RocksDbInstance&) = delete;

  // The column family of state `name`, created on first use.
  absl::StatusOr<RocksColumn*> GetOrCreateColumn(std::string_view name);

  // Opens the database formed by `files` (file name in the database directory -> path to copy
  // it from: the SST, MANIFEST, CURRENT and OPTIONS files of a RocksDbCheckpoint), copied into
  // a new unique directory, with all its column families. SST files are hard-linked instead
  // when the source is on the same file system (they are immutable); the others are copied. Errors: NotFound naming a missing
  // source file, Internal/Unavailable for copy or open failures.
  static absl::StatusOr<std::unique_ptr<RocksDbInstance>> OpenFromFiles(
      const RocksDbInstanceOptions& options,
      const std::vector<std::pair<std::string, std::string>>& files);

  // Flushes memtables and creates a RocksDB checkpoint (hard links) in `dir`, which must not
  // exist yet (its parent must).
  absl::StatusOr<RocksDbCheckpoint> Checkpoint(const std::string& dir);

  // Full manual compaction of every column family (to the bottommost level).
  absl::Status CompactAll();
  // Names of the states that have a column family, in creation order.
  std::vector<std::string> ColumnNames() const;
  // The column family of state `name`, or null if it has none.
  RocksColumn* FindColumn(std::string_view name) const;
  // Deletes (range tombstones; compaction reclaims the space later) every key outside key
  // groups [lo, hi] in every column family (a restore that owns fewer key groups than the
  // instance it started from).
  absl::Status DeleteKeyGroupsOutside(int32_t lo, int32_t hi);
  // Copies the entries of key groups [lo, hi] of every column family of `other` into this
  // instance (creating column families as needed), in write batches of about 4 MiB.
  absl::Status CopyKeyGroupsFrom(const RocksDbInstance& other, int32_t lo, int32_t hi);

  // RocksDB's own gauges for metrics, summed over the column families: name -> value
  // (estimate-num-keys, total-sst-files-size bytes, cur-size-all-mem-tables bytes,
  // estimate-pending-compaction-bytes, num-running-compactions, num-running-flushes,
  // block-cache-usage bytes, ...).
  std::vector<std::pair<std::string, int64_t>> Properties() const;

  const std::string& dir() const { return dir_; }
  // The first RocksDB error of any column family, or OK.
  const absl::Status& status() const { return status_; }
  void RecordError(absl::Status status);

  rocksdb::DB* db() const { return db_; }

 private:
  struct Shared;  // rocksdb options, write/read options, block cache, TTL filter factory
  RocksDbInstance() = default;
  // Creates the unique directory and the options; the database is not open yet.
  static absl::StatusOr<std::unique_ptr<RocksDbInstance>> Prepare(
      const RocksDbInstanceOptions& options);
  // Opens the database in dir_ with its existing column families (or a fresh one).
  absl::Status OpenDb(bool existing);

  std::string dir_;
  rocksdb::DB* db_ = nullptr;
  rocksdb::ColumnFamilyHandle* default_cf_ = nullptr;  // opened with existing column families
  std::unique_ptr<Shared> shared_;
  std::vector<std::pair<std::string, std::unique_ptr<RocksColumn>>> columns_;
  absl::Status status_;

  friend class RocksColumn;
};

}  // namespace internal
}  // namespace sluice::state

#include "runtime/state/rocksdb_store.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <system_error>

#include "fmt/format.h"
#include "absl/container/flat_hash_map.h"
#include "rocksdb/cache.h"
#include "rocksdb/compaction_filter.h"
#include "rocksdb/convenience.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"
#include "runtime/base/clock.h"
#include "runtime/base/status.h"

namespace sluice::state::internal {

namespace {

rocksdb::Slice S(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what, std::string_view dir) {
  if (s.ok()) return absl::OkStatus();
  return InternalF("RocksDB {} in '{}' failed: {}", what, dir, s.ToString());
}

inline void PutKeyGroup(char* out, int32_t kg) {
  out[0] = static_cast<char>((kg >> 8) & 0xff);
  out[1] = static_cast<char>(kg & 0xff);
}

// The TTL filter of one column family and the clock it reads.
struct TtlColumnFilter {
  TtlValueFilter filter;
  const Clock* clock;
};

// Flink's FlinkCompactionFilter: applies a state's TtlValueFilter to every value a compaction
// reads, at one processing time taken when the compaction starts. Runs on a compaction thread.
class TtlCompactionFilter final : public rocksdb::CompactionFilter {
 public:
  TtlCompactionFilter(std::shared_ptr<const TtlColumnFilter> filter, int64_t now_ms)
      : filter_(std::move(filter)), now_ms_(now_ms) {}

  bool Filter(int /*level*/, const rocksdb::Slice& /*key*/, const rocksdb::Slice& value,
              std::string* new_value, bool* value_changed) const override {
    switch (filter_->filter(std::string_view(value.data(), value.size()), now_ms_, new_value)) {
      case TtlFilterDecision::kKeep:
        return false;
      case TtlFilterDecision::kRemove:
        return true;
      case TtlFilterDecision::kRewrite:
        *value_changed = true;
        return false;
    }
    return false;
  }
  const char* Name() const override { return "SluiceTtlCompactionFilter"; }

 private:
  std::shared_ptr<const TtlColumnFilter> filter_;
  int64_t now_ms_;
};

// One per instance, in the options of every column family; creates a TtlCompactionFilter for
// the column families of states with TTL and none (no filtering cost) for the others. The
// registry is written by the task thread and read by compaction threads, hence the mutex.
class TtlCompactionFilterFactory final : public rocksdb::CompactionFilterFactory {
 public:
  void Set(uint32_t column_family_id, std::shared_ptr<const TtlColumnFilter> filter) {
    std::lock_guard lock(mu_);
    filters_[column_family_id] = std::move(filter);
  }
  std::unique_ptr<rocksdb::CompactionFilter> CreateCompactionFilter(
      const rocksdb::CompactionFilter::Context& context) override {
    std::shared_ptr<const TtlColumnFilter> filter;
    {
      std::lock_guard lock(mu_);
      auto it = filters_.find(context.column_family_id);
      if (it == filters_.end()) return nullptr;
      filter = it->second;
    }
    const int64_t now = filter->clock->NowMillis();
    return std::make_unique<TtlCompactionFilter>(std::move(filter), now);
  }
  const char* Name() const override { return "SluiceTtlCompactionFilterFactory"; }

 private:
  std::mutex mu_;
  absl::flat_hash_map<uint32_t, std::shared_ptr<const TtlColumnFilter>> filters_;
};

}  // namespace

struct RocksDbInstance::Shared {
  rocksdb::Options db_options;
  rocksdb::ColumnFamilyOptions cf_options;
  rocksdb::WriteOptions write;
  rocksdb::ReadOptions read;
  std::shared_ptr<rocksdb::Cache> block_cache;
  std::shared_ptr<TtlCompactionFilterFactory> ttl_filters;
};

absl::StatusOr<std::unique_ptr<RocksDbInstance>> RocksDbInstance::Prepare(
    const RocksDbInstanceOptions& options) {
  std::error_code ec;
  std::filesystem::path parent = options.local_dir.empty()
                                     ? std::filesystem::temp_directory_path(ec)
                                     : std::filesystem::path(options.local_dir);
  std::filesystem::create_directories(parent, ec);
  if (ec) {
    return InternalF("RocksDB state backend: cannot create state.local-dir '{}': {}",
                     parent.string(), ec.message());
  }
  std::string templ = (parent / fmt::format("sluice-rocksdb-{}-XXXXXX", ::getpid())).string();
  if (::mkdtemp(templ.data()) == nullptr) {
    return InternalF("RocksDB state backend: cannot create a directory under '{}': {}",
                     parent.string(), std::generic_category().message(errno));
  }
  std::unique_ptr<RocksDbInstance> inst(new RocksDbInstance());
  inst->dir_ = templ;
  inst->shared_ = std::make_unique<Shared>();
  Shared& sh = *inst->shared_;
  sh.block_cache = rocksdb::NewLRUCache(static_cast<size_t>(std::max<int64_t>(
      options.block_cache_bytes, 1 << 20)));
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = sh.block_cache;
  table.cache_index_and_filter_blocks = true;
  // Bloom filters (10 bits per key, ~1% false positives): a keyed operator's read-modify-write
  // of a key that is not stored yet (every new key or window) would otherwise read an index and
  // data block in every SST level. Flink's state.backend.rocksdb.use-bloom-filter (off by
  // default there). Partitioned (Flink's partitioned-index-filters): with whole-file filters of
  // several MB in a 64 MB block cache, each lookup evicted and re-read (and re-checksummed) a
  // filter, which made ingestion ~20x slower; partitions of 4 KB cache well, and the small
  // top-level index of each file stays pinned.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.partition_filters = true;
  table.index_type = rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
  table.metadata_block_size = 4096;
  table.pin_top_level_index_and_filter = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  sh.cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  sh.cf_options.write_buffer_size =
      static_cast<size_t>(std::max<int64_t>(options.write_buffer_bytes, 1 << 20));
  sh.ttl_filters = std::make_shared<TtlCompactionFilterFactory>();
  sh.cf_options.compaction_filter_factory = sh.ttl_filters;
  sh.db_options = rocksdb::Options(rocksdb::DBOptions(), sh.cf_options);
  sh.db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  sh.db_options.keep_log_file_num = 2;
  sh.write.disableWAL = true;
  return inst;
}

absl::Status RocksDbInstance::OpenDb(bool existing) {
  Shared& sh = *shared_;
  if (!existing) {
    sh.db_options.create_if_missing = true;
    sh.db_options.error_if_exists = true;
    return FromRocks(rocksdb::DB::Open(sh.db_options, dir_, &db_), "open", dir_);
  }
  std::vector<std::string> names;
  RETURN_IF_ERROR(FromRocks(rocksdb::DB::ListColumnFamilies(sh.db_options, dir_, &names),
                            "list column families", dir_));
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& n : names) descriptors.emplace_back(n, sh.cf_options);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(sh.db_options, dir_, descriptors, &handles, &db_),
                            "open restored database", dir_));
  constexpr std::string_view kPrefix = "state:";
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i].compare(0, kPrefix.size(), kPrefix) == 0) {
      columns_.emplace_back(names[i].substr(kPrefix.size()),
                            std::make_unique<RocksColumn>(this, handles[i]));
    } else if (names[i] == rocksdb::kDefaultColumnFamilyName) {
      default_cf_ = handles[i];
    } else {
      (void)db_->DestroyColumnFamilyHandle(handles[i]);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<RocksDbInstance>> RocksDbInstance::Open(
    const RocksDbInstanceOptions& options) {
  ASSIGN_OR_RETURN(auto inst, Prepare(options));
  RETURN_IF_ERROR(inst->OpenDb(/*existing=*/false));  // the destructor removes the directory
  return inst;
}

absl::StatusOr<std::unique_ptr<RocksDbInstance>> RocksDbInstance::OpenFromFiles(
    const RocksDbInstanceOptions& options,
    const std::vector<std::pair<std::string, std::string>>& files) {
  ASSIGN_OR_RETURN(auto inst, Prepare(options));
  for (const auto& [name, from] : files) {
    if (name.empty() || name.find('/') != std::string::npos) {
      return InvalidArgumentF("restoring RocksDB state: bad file name '{}' for '{}'", name, from);
    }
    std::error_code ec;
    const std::string to = inst->dir_ + "/" + name;
    // SST files are immutable (RocksDB only ever creates and unlinks them): a hard link is as
    // good as a copy and costs nothing when the checkpoint storage shares the file system with
    // state.local-dir (Flink's local recovery has the same effect). MANIFEST, CURRENT and
    // OPTIONS are written to after opening, so they are always copied.
    const bool sst = name.size() > 4 && name.compare(name.size() - 4, 4, ".sst") == 0;
    if (sst && ::link(from.c_str(), to.c_str()) == 0) continue;
    std::filesystem::copy_file(from, to, ec);
    if (ec) {
      if (!std::filesystem::exists(from)) {
        return NotFoundF("restoring RocksDB state: file '{}' is missing", from);
      }
      return UnavailableF("restoring RocksDB state: cannot copy '{}' to '{}': {}", from, to,
                          ec.message());
    }
  }
  RETURN_IF_ERROR(inst->OpenDb(/*existing=*/true));
  return inst;
}

RocksDbInstance::~RocksDbInstance() {
  if (db_ != nullptr) {
    for (auto& [name, col] : columns_) {
      (void)db_->DestroyColumnFamilyHandle(col->handle());
    }
    columns_.clear();
    if (default_cf_ != nullptr) (void)db_->DestroyColumnFamilyHandle(default_cf_);
    // Stop running compactions instead of waiting for them: the directory is deleted next.
    rocksdb::CancelAllBackgroundWork(db_, /*wait=*/true);
    (void)db_->Close();
    delete db_;
    db_ = nullptr;
  }
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

absl::StatusOr<RocksColumn*> RocksDbInstance::GetOrCreateColumn(std::string_view name) {
  for (auto& [n, col] : columns_) {
    if (n == name) return col.get();
  }
  rocksdb::ColumnFamilyHandle* handle = nullptr;
  const std::string cf_name = fmt::format("state:{}", name);
  RETURN_IF_ERROR(FromRocks(db_->CreateColumnFamily(shared_->cf_options, cf_name, &handle),
                            fmt::format("create column family '{}'", cf_name), dir_));
  columns_.emplace_back(std::string(name), std::make_unique<RocksColumn>(this, handle));
  return columns_.back().second.get();
}

void RocksDbInstance::RecordError(absl::Status status) {
  if (status_.ok() && !status.ok()) status_ = std::move(status);
}

absl::StatusOr<RocksDbCheckpoint> RocksDbInstance::Checkpoint(const std::string& dir) {
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  for (auto& [n, col] : columns_) handles.push_back(col->handle());
  if (!handles.empty()) {
    RETURN_IF_ERROR(
        FromRocks(db_->Flush(rocksdb::FlushOptions(), handles), "flush before checkpoint", dir_));
  }
  rocksdb::Checkpoint* raw = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_, &raw), "checkpoint", dir_));
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  RETURN_IF_ERROR(FromRocks(cp->CreateCheckpoint(dir), fmt::format("checkpoint into '{}'", dir),
                            dir_));
  RocksDbCheckpoint out;
  out.dir = dir;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (!e.is_regular_file()) continue;
    std::string file = e.path().filename().string();
    out.total_bytes += static_cast<int64_t>(e.file_size(ec));
    if (file.size() > 4 && file.compare(file.size() - 4, 4, ".sst") == 0) {
      out.sst_files.push_back(std::move(file));
    } else {
      out.other_files.push_back(std::move(file));
    }
  }
  if (ec) return InternalF("listing RocksDB checkpoint '{}': {}", dir, ec.message());
  std::sort(out.sst_files.begin(), out.sst_files.end());
  std::sort(out.other_files.begin(), out.other_files.end());
  return out;
}

absl::Status RocksDbInstance::CompactAll() {
  for (auto& [n, col] : columns_) {
    rocksdb::CompactRangeOptions co;
    co.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    RETURN_IF_ERROR(FromRocks(db_->CompactRange(co, col->handle(), nullptr, nullptr),
                              fmt::format("compact state '{}'", n), dir_));
  }
  return absl::OkStatus();
}

std::vector<std::string> RocksDbInstance::ColumnNames() const {
  std::vector<std::string> out;
  for (const auto& [n, col] : columns_) out.push_back(n);
  return out;
}

RocksColumn* RocksDbInstance::FindColumn(std::string_view name) const {
  for (const auto& [n, col] : columns_) {
    if (n == name) return col.get();
  }
  return nullptr;
}

absl::Status RocksDbInstance::DeleteKeyGroupsOutside(int32_t lo, int32_t hi) {
  // Key groups are < 32768, so 2-byte big-endian prefixes bound every key; "\xff\xff" is above
  // all of them.
  char a[2], b[2], c[2];
  PutKeyGroup(a, 0);
  PutKeyGroup(b, lo);
  PutKeyGroup(c, hi + 1);
  const char top[2] = {static_cast<char>(0xff), static_cast<char>(0xff)};
  std::vector<std::pair<rocksdb::Slice, rocksdb::Slice>> ranges;
  if (lo > 0) ranges.emplace_back(rocksdb::Slice(a, 2), rocksdb::Slice(b, 2));
  ranges.emplace_back(rocksdb::Slice(c, 2), rocksdb::Slice(top, 2));
  for (auto& [n, col] : columns_) {
    for (const auto& [from, to] : ranges) {
      // Range tombstones only: background compaction drops the data later (as Flink's
      // deleteRange restore); compacting here would put a rewrite on the restore path.
      RETURN_IF_ERROR(FromRocks(db_->DeleteRange(shared_->write, col->handle(), from, to),
                                fmt::format("delete range of state '{}'", n), dir_));
    }
  }
  return absl::OkStatus();
}

absl::Status RocksDbInstance::CopyKeyGroupsFrom(const RocksDbInstance& other, int32_t lo,
                                                int32_t hi) {
  constexpr size_t kBatchBytes = size_t{4} << 20;
  char from[2], to[2];
  PutKeyGroup(from, lo);
  PutKeyGroup(to, hi + 1);
  for (const auto& [name, src] : other.columns_) {
    ASSIGN_OR_RETURN(RocksColumn * dst, GetOrCreateColumn(name));
    rocksdb::Slice upper(to, 2);
    rocksdb::ReadOptions ro = other.shared_->read;
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(other.db_->NewIterator(ro, src->handle()));
    rocksdb::WriteBatch batch;
    for (it->Seek(rocksdb::Slice(from, 2)); it->Valid(); it->Next()) {
      RETURN_IF_ERROR(FromRocks(batch.Put(dst->handle(), it->key(), it->value()), "batch put", dir_));
      if (batch.GetDataSize() >= kBatchBytes) {
        RETURN_IF_ERROR(FromRocks(db_->Write(shared_->write, &batch), "restore write", dir_));
        batch.Clear();
      }
    }
    RETURN_IF_ERROR(FromRocks(it->status(), fmt::format("iterate state '{}'", name), other.dir_));
    RETURN_IF_ERROR(FromRocks(db_->Write(shared_->write, &batch), "restore write", dir_));
  }
  return absl::OkStatus();
}

std::vector<std::pair<std::string, int64_t>> RocksDbInstance::Properties() const {
  static constexpr const char* kSummed[] = {
      "rocksdb.estimate-num-keys",         "rocksdb.total-sst-files-size",
      "rocksdb.cur-size-all-mem-tables",   "rocksdb.estimate-pending-compaction-bytes",
      "rocksdb.num-running-compactions",   "rocksdb.num-running-flushes",
      "rocksdb.estimate-live-data-size",   "rocksdb.num-live-versions",
  };
  std::vector<std::pair<std::string, int64_t>> out;
  for (const char* p : kSummed) {
    uint64_t total = 0;
    for (const auto& [n, col] : columns_) {
      uint64_t v = 0;
      if (db_->GetIntProperty(col->handle(), p, &v)) total += v;
    }
    out.emplace_back(std::string(p).substr(8), static_cast<int64_t>(total));
  }
  out.emplace_back("block-cache-usage", static_cast<int64_t>(shared_->block_cache->GetUsage()));
  out.emplace_back("block-cache-capacity",
                   static_cast<int64_t>(shared_->block_cache->GetCapacity()));
  return out;
}

// --- RocksColumn ------------------------------------------------------------------------

void RocksColumn::RecordError(absl::Status status) const { db_->RecordError(std::move(status)); }

void RocksColumn::EnableTtlCompactionFilter(TtlValueFilter filter, const Clock* clock) {
  db_->shared_->ttl_filters->Set(
      handle_->GetID(), std::make_shared<const TtlColumnFilter>(TtlColumnFilter{std::move(filter), clock}));
}

bool RocksColumn::Get(std::string_view key, std::string* value) const {
  rocksdb::Status s = db_->db_->Get(db_->shared_->read, handle_, S(key), value);
  if (s.ok()) return true;
  if (!s.IsNotFound()) RecordError(FromRocks(s, "get", db_->dir_));
  return false;
}

void RocksColumn::Put(std::string_view key, std::string_view value) {
  rocksdb::Status s = db_->db_->Put(db_->shared_->write, handle_, S(key), S(value));
  if (!s.ok()) RecordError(FromRocks(s, "put", db_->dir_));
}

void RocksColumn::Delete(std::string_view key) {
  rocksdb::Status s = db_->db_->Delete(db_->shared_->write, handle_, S(key));
  if (!s.ok()) RecordError(FromRocks(s, "delete", db_->dir_));
}

absl::Status RocksColumn::PutGroup(
    int32_t key_group, const std::vector<std::pair<std::string_view, std::string_view>>& kvs) {
  rocksdb::WriteBatch batch;
  std::string key;
  for (const auto& [composite, value] : kvs) {
    key.resize(2 + composite.size());
    PutKeyGroup(key.data(), key_group);
    std::memcpy(key.data() + 2, composite.data(), composite.size());
    RETURN_IF_ERROR(FromRocks(batch.Put(handle_, S(key), S(value)), "batch put", db_->dir_));
  }
  return FromRocks(db_->db_->Write(db_->shared_->write, &batch), "restore write", db_->dir_);
}

void RocksColumn::ForEachInKeyGroup(
    int32_t key_group, absl::FunctionRef<bool(std::string_view, std::string_view)> fn,
    std::string_view from) const {
  std::string lo(2 + from.size(), '\0');
  char hi[2];
  PutKeyGroup(lo.data(), key_group);
  std::memcpy(lo.data() + 2, from.data(), from.size());
  PutKeyGroup(hi, key_group + 1);  // kg <= 32767, so kg + 1 fits in 2 bytes
  rocksdb::Slice upper(hi, 2);
  rocksdb::ReadOptions ro = db_->shared_->read;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->db_->NewIterator(ro, handle_));
  for (it->Seek(S(lo)); it->Valid(); it->Next()) {
    rocksdb::Slice k = it->key();
    rocksdb::Slice v = it->value();
    if (!fn(std::string_view(k.data() + 2, k.size() - 2), std::string_view(v.data(), v.size()))) {
      break;
    }
  }
  if (!it->status().ok()) RecordError(FromRocks(it->status(), "iterate", db_->dir_));
}

absl::Status RocksColumn::DeleteAll() {
  const char lo[2] = {0, 0};
  const char top[2] = {static_cast<char>(0xff), static_cast<char>(0xff)};
  return FromRocks(db_->db_->DeleteRange(db_->shared_->write, handle_, rocksdb::Slice(lo, 2),
                                         rocksdb::Slice(top, 2)),
                   "delete all", db_->dir_);
}

bool RocksColumn::HasKeyGroup(int32_t key_group) const {
  bool any = false;
  ForEachInKeyGroup(key_group, [&](std::string_view, std::string_view) {
    any = true;
    return false;
  });
  return any;
}

size_t RocksColumn::Count() const {
  size_t n = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->db_->NewIterator(db_->shared_->read, handle_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
  if (!it->status().ok()) RecordError(FromRocks(it->status(), "iterate", db_->dir_));
  return n;
}

int64_t RocksColumn::ApproximateSizeBytes() const {
  uint64_t mem = 0, sst = 0;
  db_->db_->GetIntProperty(handle_, "rocksdb.cur-size-all-mem-tables", &mem);
  db_->db_->GetIntProperty(handle_, "rocksdb.total-sst-files-size", &sst);
  return static_cast<int64_t>(mem + sst);
}

}  // namespace sluice::state::internal

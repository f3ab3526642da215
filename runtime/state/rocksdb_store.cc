#include "runtime/state/rocksdb_store.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "fmt/format.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"
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

}  // namespace

struct RocksDbInstance::Shared {
  rocksdb::Options db_options;
  rocksdb::ColumnFamilyOptions cf_options;
  rocksdb::WriteOptions write;
  rocksdb::ReadOptions read;
  std::shared_ptr<rocksdb::Cache> block_cache;
};

absl::StatusOr<std::unique_ptr<RocksDbInstance>> RocksDbInstance::Open(
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
  sh.cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  sh.cf_options.write_buffer_size =
      static_cast<size_t>(std::max<int64_t>(options.write_buffer_bytes, 1 << 20));
  sh.db_options = rocksdb::Options(rocksdb::DBOptions(), sh.cf_options);
  sh.db_options.create_if_missing = true;
  sh.db_options.error_if_exists = true;
  sh.db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  sh.db_options.keep_log_file_num = 2;
  sh.write.disableWAL = true;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(sh.db_options, inst->dir_, &db);
  if (!s.ok()) {
    std::filesystem::remove_all(inst->dir_, ec);
    return FromRocks(s, "open", inst->dir_);
  }
  inst->db_ = db;
  return inst;
}

RocksDbInstance::~RocksDbInstance() {
  if (db_ != nullptr) {
    for (auto& [name, col] : columns_) {
      (void)db_->DestroyColumnFamilyHandle(col->handle());
    }
    columns_.clear();
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

// --- RocksColumn ------------------------------------------------------------------------

void RocksColumn::RecordError(absl::Status status) const { db_->RecordError(std::move(status)); }

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
    int32_t key_group, absl::FunctionRef<bool(std::string_view, std::string_view)> fn) const {
  char lo[2], hi[2];
  PutKeyGroup(lo, key_group);
  PutKeyGroup(hi, key_group + 1);  // kg <= 32767, so kg + 1 fits in 2 bytes
  rocksdb::Slice upper(hi, 2);
  rocksdb::ReadOptions ro = db_->shared_->read;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->db_->NewIterator(ro, handle_));
  for (it->Seek(rocksdb::Slice(lo, 2)); it->Valid(); it->Next()) {
    rocksdb::Slice k = it->key();
    rocksdb::Slice v = it->value();
    if (!fn(std::string_view(k.data() + 2, k.size() - 2), std::string_view(v.data(), v.size()))) {
      break;
    }
  }
  if (!it->status().ok()) RecordError(FromRocks(it->status(), "iterate", db_->dir_));
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

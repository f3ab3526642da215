#pragma once
// Helpers shared by the RocksDB-specific state tests (rocksdb_backend_test.cc,
// state_ttl_test.cc): key groups of string keys, per-test directories, backend options and
// construction, and restores from canonical and incremental snapshots.

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/base/clock.h"
#include "runtime/core/key_groups.h"
#include "runtime/state/keyed_state_backend.h"

namespace sluice::state::test {

inline constexpr int32_t kMaxP = 128;

inline int32_t KeyGroupOf(const std::string& key) {
  return core::ComputeKeyGroupForKeyHash(core::JavaStringHash(key), kMaxP);
}

// <gtest temp dir>/<prefix><name>.
inline std::string TestDir(std::string_view prefix, const std::string& name) {
  return (std::filesystem::path(::testing::TempDir()) / (std::string(prefix) + name)).string();
}

// RocksDB with a small cache and 1 MiB memtables (SST files appear quickly).
inline BackendOptions Rocks(const std::string& dir, const Clock* clock = nullptr) {
  BackendOptions o;
  o.kind = BackendOptions::kRocksDb;
  o.local_dir = dir;
  o.block_cache_bytes = 8 << 20;
  o.write_buffer_bytes = 1 << 20;
  o.clock = clock;
  return o;
}

inline std::unique_ptr<KeyedStateBackend> Make(BackendOptions o,
                                               core::KeyGroupRange range = {0, kMaxP - 1}) {
  auto b = KeyedStateBackend::Create(kMaxP, range, std::move(o));
  EXPECT_TRUE(b.ok()) << b.status();
  return b.ok() ? *std::move(b) : nullptr;
}

inline absl::Status RestoreFrom(KeyedStateBackend& b,
                                const std::vector<KeyedStateSnapshot>& snaps) {
  std::vector<std::string_view> bytes;
  std::vector<std::vector<std::pair<int32_t, uint64_t>>> offsets;
  for (const auto& s : snaps) {
    bytes.push_back(s.bytes);
    offsets.push_back(s.key_group_offsets);
  }
  return b.Restore(bytes, offsets);
}

// The files of an incremental snapshot, in place, as a restore source.
inline IncrementalRestoreSource SourceOf(const IncrementalSnapshot& snap,
                                         core::KeyGroupRange range) {
  IncrementalRestoreSource src;
  src.range = range;
  for (const auto* list : {&snap.files.sst_files, &snap.files.other_files}) {
    for (const auto& f : *list) src.files.emplace_back(f, snap.files.dir + "/" + f);
  }
  src.meta = snap.meta.bytes;
  src.meta_offsets = snap.meta.key_group_offsets;
  return src;
}

}  // namespace sluice::state::test

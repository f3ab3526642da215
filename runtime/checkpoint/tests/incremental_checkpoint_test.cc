// Incremental RocksDB checkpoints end to end below the RPC layer: a RocksDB keyed state backend
// with 10 million keys, its snapshots uploaded by IncrementalUploader into a real checkpoint
// directory, shared files reference-counted by SharedStateRegistry as the JobMaster does, and
// restores from the uploaded files.
//
// Asserted: (1) a checkpoint after a small update uploads a small fraction of the full state
// (the sizes the task reports: checkpointed_size vs keyed_state_size); (2) shared files that
// no retained checkpoint references are deleted (after the one-checkpoint grace period), and
// only those; (3) the uploaded files restore the state; (4) an aborted checkpoint's new files
// are deleted; (5) after an in-job restore the next checkpoint is incremental again.

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/checkpoint/checkpoint_storage.h"
#include "runtime/checkpoint/incremental_uploader.h"
#include "runtime/checkpoint/shared_state_registry.h"
#include "runtime/core/key_groups.h"
#include "runtime/state/keyed_state_backend.h"

namespace sluice::checkpoint {
namespace {

namespace fs = std::filesystem;

constexpr int32_t kMaxP = 128;
constexpr int64_t kNumKeys = 10'000'000;
constexpr char kJob[] = "00000000000000000000000000000abc";

class IncrementalCheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / fmt::format("sluice-inc-test-{}", ::getpid());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  state::BackendOptions Options() const {
    state::BackendOptions o;
    o.kind = state::BackendOptions::kRocksDb;
    o.local_dir = (root_ / "local").string();
    o.block_cache_bytes = 64 << 20;
    o.write_buffer_bytes = 64 << 20;
    return o;
  }

  static std::string KeyBytes(int64_t k) { return std::string(reinterpret_cast<const char*>(&k), 8); }
  static int32_t KeyGroupOf(int64_t k) {
    return core::ComputeKeyGroupForKeyHash(static_cast<int32_t>(k * 0x9E3779B1), kMaxP);
  }
  static void Put(state::KeyedStateBackend& b, state::ValueState<int64_t>* v, int64_t k,
                  int64_t value) {
    const std::string key = KeyBytes(k);
    b.SetCurrentKey(key, KeyGroupOf(k));
    v->update(value);
  }
  static std::optional<int64_t> Get(state::KeyedStateBackend& b, state::ValueState<int64_t>* v,
                                    int64_t k) {
    const std::string key = KeyBytes(k);
    b.SetCurrentKey(key, KeyGroupOf(k));
    const int64_t* p = v->value();
    return p ? std::optional<int64_t>(*p) : std::nullopt;
  }

  // Takes checkpoint `id` the way a Task does (sync part, then upload) and returns its handle.
  OperatorStateHandle Checkpoint(state::KeyedStateBackend& b, IncrementalUploader& up, int64_t id) {
    auto snap = b.SnapshotIncremental(b.rocksdb_dir() + fmt::format(".chk-{}", id));
    EXPECT_TRUE(snap.ok()) << snap.status();
    OperatorStateHandle h;
    h.operator_uid = "window";
    absl::Status s = up.Upload(id, *snap, b.key_group_range(), &h);
    EXPECT_TRUE(s.ok()) << s;
    EXPECT_FALSE(fs::exists(snap->files.dir)) << "the local checkpoint is removed";
    return h;
  }

  // The JobMaster's view: absolute paths of a handle's shared files (only those reused from
  // earlier checkpoints with `reused_only`).
  std::vector<std::string> SharedPaths(const CheckpointStorage& storage, int64_t id,
                                       const OperatorStateHandle& h, bool reused_only = false) {
    std::vector<std::string> out;
    for (const auto& f : h.incremental->shared_files) {
      if (reused_only && f.uploaded_by == id) continue;
      out.push_back(ResolveStatePath(storage.CheckpointDir(id), f.path));
    }
    return out;
  }

  std::set<std::string> FilesIn(const std::string& dir) {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().string());
    return out;
  }

  // A restore source from an uploaded handle, as the JobMaster sends it to a task.
  state::IncrementalRestoreSource SourceOf(const CheckpointStorage& storage, int64_t id,
                                           const OperatorStateHandle& h) {
    state::IncrementalRestoreSource src;
    src.range = {h.incremental->key_group_start, h.incremental->key_group_end};
    const std::string dir = storage.CheckpointDir(id);
    for (const auto* list : {&h.incremental->shared_files, &h.incremental->private_files}) {
      for (const auto& f : *list) src.files.emplace_back(f.name, ResolveStatePath(dir, f.path));
    }
    auto meta = CheckpointStorage::ReadStateFile(dir, h.keyed_state_file);
    EXPECT_TRUE(meta.ok()) << meta.status();
    src.meta = *meta;
    src.meta_offsets = h.key_group_offsets;
    return src;
  }

  fs::path root_;
};

TEST_F(IncrementalCheckpointTest, SmallUpdateUploadsSmallFractionAndUnreferencedFilesAreDeleted) {
  CheckpointStorage storage((root_ / "checkpoints").string(), kJob);
  SharedStateRegistry registry;
  auto backend = state::KeyedStateBackend::Create(kMaxP, {0, kMaxP - 1}, Options());
  ASSERT_TRUE(backend.ok()) << backend.status();
  state::KeyedStateBackend& b = **backend;
  auto* v = *b.GetValueState<int64_t>("count");
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t k = 0; k < kNumKeys; ++k) Put(b, v, k, k);
  auto since = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  };
  std::cout << "filled " << kNumKeys << " keys in " << since() << " ms\n";
  IncrementalUploader up(storage, "window-0-0");

  // Checkpoint 1: everything is new.
  OperatorStateHandle h1 = Checkpoint(b, up, 1);
  std::cout << "checkpoint 1 done at " << since() << " ms\n";
  ASSERT_TRUE(h1.incremental.has_value());
  EXPECT_GT(h1.keyed_state_size, 10'000'000) << "10M keys are more than 10 MB on disk";
  EXPECT_EQ(h1.incremental->checkpointed_size, h1.keyed_state_size);
  registry.Register(1, SharedPaths(storage, 1, h1));
  up.NotifyComplete(1);

  // Checkpoint 2 after updating 1,000 keys: the new SST holds only those.
  for (int64_t k = 0; k < 1000; ++k) Put(b, v, k * 7919 % kNumKeys, -k);
  OperatorStateHandle h2 = Checkpoint(b, up, 2);
  const double fraction = static_cast<double>(h2.incremental->checkpointed_size) /
                          static_cast<double>(h2.keyed_state_size);
  RecordProperty("full_bytes", std::to_string(h2.keyed_state_size));
  RecordProperty("checkpointed_bytes", std::to_string(h2.incremental->checkpointed_size));
  std::cout << fmt::format("state {} bytes, checkpoint 2 uploaded {} bytes ({:.3f}%)\n",
                           h2.keyed_state_size, h2.incremental->checkpointed_size,
                           100 * fraction);
  EXPECT_LT(fraction, 0.01) << "a small update uploads a small fraction";
  EXPECT_GT(h2.incremental->checkpointed_size, 0);
  ASSERT_EQ(SharedPaths(storage, 2, h2, true).size(), h1.incremental->shared_files.size());
  ASSERT_TRUE(registry.Missing(SharedPaths(storage, 2, h2, true)).empty());
  registry.Register(2, SharedPaths(storage, 2, h2));
  up.NotifyComplete(2);
  registry.Release(1);  // retained = 1
  EXPECT_TRUE(registry.CollectGarbage().empty()) << "checkpoint 2 still uses all of 1's files";

  // An aborted checkpoint's new files are deleted by the task.
  Put(b, v, 5, 5);
  OperatorStateHandle aborted = Checkpoint(b, up, 3);
  std::vector<std::string> aborted_new;
  for (const auto& f : aborted.incremental->shared_files) {
    if (f.uploaded_by == 3) aborted_new.push_back(ResolveStatePath(storage.CheckpointDir(3), f.path));
  }
  ASSERT_FALSE(aborted_new.empty());
  for (const auto& p : aborted_new) ASSERT_TRUE(fs::exists(p)) << p;
  up.NotifyAborted(3);
  for (const auto& p : aborted_new) EXPECT_FALSE(fs::exists(p)) << p;

  // A full compaction rewrites every SST: checkpoint 4 shares nothing with 2, so once 2 is
  // released (and the grace period passed) all of 2's files are deleted.
  std::cout << "checkpoint 3 done at " << since() << " ms\n";
  ASSERT_TRUE(b.CompactRocksDb().ok());
  std::cout << "compaction done at " << since() << " ms\n";
  OperatorStateHandle h4 = Checkpoint(b, up, 4);
  std::set<std::string> old_files;
  for (const auto& p : SharedPaths(storage, 2, h2)) old_files.insert(p);
  for (const auto& p : SharedPaths(storage, 4, h4)) EXPECT_FALSE(old_files.contains(p)) << p;
  registry.Register(4, SharedPaths(storage, 4, h4));
  up.NotifyComplete(4);
  registry.Release(2);
  EXPECT_TRUE(registry.CollectGarbage().empty()) << "one completed checkpoint of grace";
  for (const auto& p : old_files) EXPECT_TRUE(fs::exists(p)) << p;

  Put(b, v, 6, 6);
  OperatorStateHandle h5 = Checkpoint(b, up, 5);
  registry.Register(5, SharedPaths(storage, 5, h5));
  up.NotifyComplete(5);
  registry.Release(4);
  std::vector<std::string> garbage = registry.CollectGarbage();
  EXPECT_EQ(std::set<std::string>(garbage.begin(), garbage.end()), old_files);
  for (const auto& p : garbage) ASSERT_TRUE(CheckpointStorage::DeleteFile(p).ok());
  // The shared directory holds exactly what checkpoint 5 references.
  std::vector<std::string> live = SharedPaths(storage, 5, h5);
  EXPECT_EQ(FilesIn(storage.SharedDir()), std::set<std::string>(live.begin(), live.end()));

  std::cout << "checkpoint 5 done at " << since() << " ms\n";
  // Restore from checkpoint 5 (an identical database) and read the state back.
  auto restored = state::KeyedStateBackend::Create(kMaxP, {0, kMaxP - 1}, Options());
  ASSERT_TRUE(restored.ok());
  state::KeyedStateBackend& r = **restored;
  ASSERT_TRUE(r.RestoreIncremental({SourceOf(storage, 5, h5)}).ok());
  auto* rv = *r.GetValueState<int64_t>("count");
  for (int64_t k : {int64_t{0}, int64_t{5}, int64_t{6}, int64_t{123456}, kNumKeys - 1}) {
    EXPECT_EQ(Get(r, rv, k), Get(b, v, k)) << k;
  }
  EXPECT_EQ(Get(r, rv, 7919), -1);
  // After an in-job restore the uploader starts from the restored files: incremental again.
  IncrementalUploader up2(storage, "window-0-1");
  up2.Seed(h5.incremental->shared_files);
  Put(r, rv, 42, 42);
  OperatorStateHandle h6 = Checkpoint(r, up2, 6);
  EXPECT_LT(h6.incremental->checkpointed_size * 100, h6.keyed_state_size);
}

TEST(SharedStateRegistryTest, CountsReferencesAndDefersDeletionByOneCheckpoint) {
  SharedStateRegistry r;
  r.Register(1, {"a", "b"});
  r.Register(2, {"b", "c"});
  EXPECT_THAT(r.Missing({"a", "x"}), ::testing::ElementsAre("x"));
  r.Release(1);  // "a" unreferenced
  EXPECT_TRUE(r.CollectGarbage().empty());
  EXPECT_TRUE(r.Missing({"a"}).empty()) << "still there during the grace period";
  r.Register(3, {"a", "c"});  // a late reuse revives it
  r.Release(2);               // "b" unreferenced
  EXPECT_TRUE(r.CollectGarbage().empty());
  r.Register(4, {"c"});
  EXPECT_THAT(r.CollectGarbage(), ::testing::ElementsAre("b"));
  r.Release(3);  // "a" unreferenced; "c" still in 4
  EXPECT_THAT(r.TakeAll(), ::testing::ElementsAre("a"));
  EXPECT_EQ(r.num_referenced(), 1u);
  EXPECT_THAT(r.Missing({"b"}), ::testing::ElementsAre("b"));
}

}  // namespace
}  // namespace sluice::checkpoint

// Tests specific to the RocksDB storage of KeyedStateBackend (the shared primitive, timer,
// snapshot and rescale tests run for both storages in keyed_state_backend_test.cc): snapshots
// are canonical across storages (heap -> RocksDB -> heap, also at another parallelism), state
// lives on disk in the backend's own directory and is removed with it, in-place mutation
// through value() pointers is persisted, incremental checkpoints, and open errors.

#include <algorithm>
#include <filesystem>
#include <limits>
#include <fstream>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/core/key_groups.h"
#include "runtime/state/keyed_state_backend.h"
#include "runtime/state/tests/test_util.h"

namespace sluice::state {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using test::KeyGroupOf;
using test::kMaxP;
using test::Make;
using test::RestoreFrom;
using test::Rocks;
using test::SourceOf;

std::string TestDir(const std::string& name) { return test::TestDir("sluice-rocks-", name); }

std::vector<std::string> Keys(int n) {
  std::vector<std::string> keys;
  for (int i = 0; i < n; ++i) keys.push_back("key-" + std::to_string(i));
  return keys;
}

// Writes a value, a list, a map and a reducing state in two namespaces per key, plus a timer.
void Fill(KeyedStateBackend& b, const std::vector<std::string>& keys) {
  auto* v = *b.GetValueState<std::string>("value");
  auto* l = *b.GetListState<int64_t>("list");
  auto* m = *b.GetMapState<std::string, int64_t>("map");
  auto* r = *b.GetReducingState<int64_t>("sum",
                                         [](const int64_t& x, const int64_t& y) { return x + y; });
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string& k = keys[i];
    if (!b.key_group_range().Contains(KeyGroupOf(k))) continue;  // another subtask's key
    b.SetCurrentKey(k, KeyGroupOf(k));
    for (int64_t ns : {0, 7}) {
      b.SetCurrentNamespace(ns);
      v->update(k + "/" + std::to_string(ns));
      l->add(static_cast<int64_t>(i));
      l->add(ns);
      m->put(std::string("a"), static_cast<int64_t>(i));
      m->put(k, ns);
      r->add(static_cast<int64_t>(i));
      r->add(ns);
      b.RegisterEventTimeTimer(ns, ns + static_cast<int64_t>(i));
    }
  }
}

void Verify(KeyedStateBackend& b, const std::vector<std::string>& all_keys) {
  auto* v = *b.GetValueState<std::string>("value");
  auto* l = *b.GetListState<int64_t>("list");
  auto* m = *b.GetMapState<std::string, int64_t>("map");
  auto* r = *b.GetReducingState<int64_t>("sum",
                                         [](const int64_t& x, const int64_t& y) { return x + y; });
  size_t mine = 0;
  std::set<std::tuple<std::string, int64_t, int64_t>> timers, expected;
  for (size_t i = 0; i < all_keys.size(); ++i) {
    const std::string& k = all_keys[i];
    if (!b.key_group_range().Contains(KeyGroupOf(k))) continue;
    ++mine;
    b.SetCurrentKey(k, KeyGroupOf(k));
    for (int64_t ns : {0, 7}) {
      b.SetCurrentNamespace(ns);
      ASSERT_NE(v->value(), nullptr) << k;
      EXPECT_EQ(*v->value(), k + "/" + std::to_string(ns));
      ASSERT_NE(l->get(), nullptr);
      EXPECT_THAT(*l->get(), ElementsAre(static_cast<int64_t>(i), ns));
      ASSERT_NE(m->get("a"), nullptr);
      EXPECT_EQ(*m->get("a"), static_cast<int64_t>(i));
      EXPECT_EQ(*m->get(k), ns);
      EXPECT_EQ(*r->get(), static_cast<int64_t>(i) + ns);
      expected.emplace(k, ns, ns + static_cast<int64_t>(i));
    }
  }
  EXPECT_EQ(v->size(), mine * 2);
  EXPECT_EQ(m->size(), mine * 2);
  b.ForEachEventTimeTimer([&](std::string_view k, int32_t, int64_t ns, int64_t ts) {
    timers.emplace(std::string(k), ns, ts);
  });
  EXPECT_EQ(timers, expected);
}

TEST(RocksDbBackendTest, HeapSnapshotRestoresIntoRocksDbAndBack) {
  const auto keys = Keys(300);
  KeyedStateBackend heap(kMaxP, {0, kMaxP - 1});
  Fill(heap, keys);
  auto heap_snap = heap.Snapshot();
  ASSERT_TRUE(heap_snap.ok()) << heap_snap.status();

  auto rocks = Make(Rocks(TestDir("cross")));
  ASSERT_NE(rocks, nullptr);
  ASSERT_TRUE(RestoreFrom(*rocks, {*heap_snap}).ok());
  Verify(*rocks, keys);
  auto rocks_snap = rocks->Snapshot();
  ASSERT_TRUE(rocks_snap.ok()) << rocks_snap.status();
  EXPECT_EQ(rocks_snap->key_group_offsets.size(), heap_snap->key_group_offsets.size());

  KeyedStateBackend heap2(kMaxP, {0, kMaxP - 1});
  ASSERT_TRUE(RestoreFrom(heap2, {*rocks_snap}).ok());
  Verify(heap2, keys);
  // Same content: a heap snapshot of the restored heap backend restores into RocksDB again and
  // yields a RocksDB snapshot of the same layout (RocksDB iterates in key order; only the order
  // of a user map's mappings inside a value may differ: flat_hash_map iteration order).
  auto rocks2 = Make(Rocks(TestDir("cross")));
  ASSERT_TRUE(RestoreFrom(*rocks2, {*heap2.Snapshot()}).ok());
  Verify(*rocks2, keys);  // registers the states in the same order as `rocks`
  auto rocks_snap2 = rocks2->Snapshot();
  ASSERT_TRUE(rocks_snap2.ok());
  EXPECT_EQ(rocks_snap2->bytes.size(), rocks_snap->bytes.size());
  EXPECT_EQ(rocks_snap2->key_group_offsets, rocks_snap->key_group_offsets);
}

TEST(RocksDbBackendTest, RescaleAcrossStoragesReadsOnlyOwnKeyGroups) {
  const auto keys = Keys(600);
  // Old job: parallelism 2, one heap and one RocksDB subtask.
  std::vector<KeyedStateSnapshot> snaps;
  for (int32_t i = 0; i < 2; ++i) {
    auto range = core::ComputeKeyGroupRangeForOperatorIndex(kMaxP, 2, i);
    std::unique_ptr<KeyedStateBackend> b =
        i == 0 ? std::make_unique<KeyedStateBackend>(kMaxP, range)
               : Make(Rocks(TestDir("rescale")), range);
    Fill(*b, keys);  // note: Fill's indexes are positions in `mine`, so verify per subtask
    snaps.push_back(*b->Snapshot());
  }
  // New job: parallelism 3 on RocksDB. Every entry of the new range comes from exactly one old
  // snapshot; the total over the three subtasks is everything.
  size_t total = 0;
  for (int32_t i = 0; i < 3; ++i) {
    auto range = core::ComputeKeyGroupRangeForOperatorIndex(kMaxP, 3, i);
    auto b = Make(Rocks(TestDir("rescale")), range);
    ASSERT_TRUE(RestoreFrom(*b, snaps).ok());
    auto* v = *b->GetValueState<std::string>("value");
    v->ForEach([&](std::string_view k, int32_t kg, int64_t ns, const std::string& val) {
      EXPECT_TRUE(range.Contains(kg));
      EXPECT_EQ(kg, KeyGroupOf(std::string(k)));
      EXPECT_EQ(val, std::string(k) + "/" + std::to_string(ns));
    });
    total += v->size();
  }
  EXPECT_EQ(total, keys.size() * 2);
}

TEST(RocksDbBackendTest, StateLivesOnDiskInItsOwnDirectoryRemovedByTheDestructor) {
  const std::string parent = TestDir("disk");
  std::string dir1, dir2;
  {
    auto b1 = Make(Rocks(parent));
    auto b2 = Make(Rocks(parent));
    ASSERT_NE(b1, nullptr);
    ASSERT_NE(b2, nullptr);
    dir1 = b1->rocksdb_dir();
    dir2 = b2->rocksdb_dir();
    EXPECT_NE(dir1, dir2) << "one RocksDB instance per backend";
    EXPECT_EQ(fs::path(dir1).parent_path(), fs::path(parent));
    EXPECT_TRUE(fs::exists(fs::path(dir1) / "CURRENT"));

    // ~8 MB of values with 1 MB memtables: flushed to SST files in the directory.
    auto* v = *b1->GetValueState<std::string>("big");
    const std::string payload(800, 'x');
    for (int i = 0; i < 10000; ++i) {
      std::string k = "k" + std::to_string(i);
      b1->SetCurrentKey(k, KeyGroupOf(k));
      v->update(payload);
    }
    ASSERT_TRUE(b1->status().ok());
    auto cp = b1->SnapshotIncremental(dir1 + "-cp");  // also forces a flush
    ASSERT_TRUE(cp.ok()) << cp.status();
    size_t sst = 0;
    uintmax_t bytes = 0;
    for (const auto& e : fs::directory_iterator(dir1)) {
      if (e.path().extension() == ".sst") {
        ++sst;
        bytes += e.file_size();
      }
    }
    EXPECT_GT(sst, 0u);
    EXPECT_GT(bytes, 100000u) << "values compress, but not to nothing";
    EXPECT_GT(b1->ApproximateSizeBytes(), 100000);
    // Reads come back from disk.
    std::string k = "k1234";
    b1->SetCurrentKey(k, KeyGroupOf(k));
    ASSERT_NE(v->value(), nullptr);
    EXPECT_EQ(*v->value(), payload);
    fs::remove_all(dir1 + "-cp");
  }
  EXPECT_FALSE(fs::exists(dir1)) << "the destructor deletes the instance's directory";
  EXPECT_FALSE(fs::exists(dir2));
}

TEST(RocksDbBackendTest, InPlaceMutationThroughValuePointerIsPersisted) {
  auto b = Make(Rocks(TestDir("inplace")));
  auto* v = *b->GetValueState<int64_t>("v");
  auto* m = *b->GetMapState<std::string, int64_t>("m");
  b->SetCurrentKey("a", KeyGroupOf("a"));
  v->update(int64_t{1});
  m->put(std::string("x"), int64_t{1});
  *v->value() += 41;  // mutate through the pointer, as the heap backend allows
  *m->get("x") = 5;
  b->SetCurrentKey("b", KeyGroupOf("b"));  // the cache moves on: written back
  EXPECT_EQ(v->value(), nullptr);
  EXPECT_EQ(m->get("x"), nullptr);
  b->SetCurrentKey("a", KeyGroupOf("a"));
  EXPECT_EQ(*v->value(), 42);
  EXPECT_EQ(*m->get("x"), 5);
  *v->value() = 43;  // still cached: the snapshot must see it
  auto snap = b->Snapshot();
  ASSERT_TRUE(snap.ok());
  KeyedStateBackend heap(kMaxP, {0, kMaxP - 1});
  ASSERT_TRUE(RestoreFrom(heap, {*snap}).ok());
  heap.SetCurrentKey("a", KeyGroupOf("a"));
  EXPECT_EQ(*(*heap.GetValueState<int64_t>("v"))->value(), 43);
}

TEST(RocksDbBackendTest, IncrementalCheckpointsShareSstFiles) {
  const std::string parent = TestDir("incremental");
  BackendOptions o = Rocks(parent);
  o.write_buffer_bytes = 32 << 20;  // one SST per flush, below the L0 compaction trigger
  auto b = Make(o);
  auto* v = *b->GetValueState<std::string>("v");
  const std::string payload(200, 'p');
  for (int i = 0; i < 20000; ++i) {
    std::string k = "k" + std::to_string(i);
    b->SetCurrentKey(k, KeyGroupOf(k));
    v->update(payload + std::to_string(i));
  }
  const std::string cp1_dir = parent + "/cp-1", cp2_dir = parent + "/cp-2";
  fs::remove_all(cp1_dir);
  fs::remove_all(cp2_dir);
  auto inc1 = b->SnapshotIncremental(cp1_dir);
  ASSERT_TRUE(inc1.ok()) << inc1.status();
  const RocksDbCheckpoint* cp1 = &inc1->files;
  ASSERT_FALSE(cp1->sst_files.empty());
  EXPECT_TRUE(fs::exists(fs::path(cp1_dir) / "CURRENT"));
  // A small update, then the next checkpoint: the old SST files are shared (same names) and
  // the new ones are small.
  for (int i = 0; i < 10; ++i) {
    std::string k = "k" + std::to_string(i);
    b->SetCurrentKey(k, KeyGroupOf(k));
    v->update(std::string("changed"));
  }
  auto inc2 = b->SnapshotIncremental(cp2_dir);
  ASSERT_TRUE(inc2.ok()) << inc2.status();
  const RocksDbCheckpoint* cp2 = &inc2->files;
  std::set<std::string> old(cp1->sst_files.begin(), cp1->sst_files.end());
  int64_t new_bytes = 0;
  size_t shared = 0;
  for (const auto& f : cp2->sst_files) {
    if (old.contains(f)) {
      ++shared;
    } else {
      new_bytes += static_cast<int64_t>(fs::file_size(fs::path(cp2_dir) / f));
    }
  }
  EXPECT_EQ(shared, cp1->sst_files.size());
  EXPECT_GT(new_bytes, 0);
  EXPECT_LT(new_bytes * 10, cp1->total_bytes) << "only a small fraction is new";
  // Existing target directory: an error, not an overwrite.
  EXPECT_FALSE(b->SnapshotIncremental(cp2_dir).ok());
  // The heap has no incremental checkpoints.
  KeyedStateBackend heap(kMaxP, {0, kMaxP - 1});
  EXPECT_EQ(heap.SnapshotIncremental(parent + "/cp-heap").status().code(),
            absl::StatusCode::kFailedPrecondition);
  fs::remove_all(cp1_dir);
  fs::remove_all(cp2_dir);
}

TEST(RocksDbBackendTest, UnusableLocalDirIsAnErrorNamingIt) {
  const std::string file = TestDir("not-a-dir");
  { std::ofstream(file) << "x"; }
  BackendOptions o = Rocks(file + "/sub");
  auto b = KeyedStateBackend::Create(kMaxP, {0, kMaxP - 1}, o);
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.status().message(), HasSubstr("not-a-dir"));
  KeyedStateBackend direct(kMaxP, {0, kMaxP - 1}, o);
  EXPECT_FALSE(direct.status().ok());
  EXPECT_FALSE(direct.GetValueState<int64_t>("v").ok());
  EXPECT_FALSE(direct.Snapshot().ok());
  fs::remove(file);
}


TEST(RocksDbBackendTest, IncrementalSnapshotRestoresAtSameParallelism) {
  const std::string parent = TestDir("inc-restore");
  fs::remove_all(parent);
  const auto keys = Keys(500);
  auto b = Make(Rocks(parent));
  Fill(*b, keys);
  // A restored, never registered state is carried through the meta snapshot.
  KeyedStateBackend heap(kMaxP, {0, kMaxP - 1});
  auto* extra = *heap.GetValueState<int64_t>("extra");
  heap.SetCurrentKey("x", KeyGroupOf("x"));
  extra->update(99);
  auto heap_snap = heap.Snapshot();
  ASSERT_TRUE(heap_snap.ok());
  auto b0 = Make(Rocks(parent));
  ASSERT_TRUE(RestoreFrom(*b0, {*heap_snap}).ok());
  Fill(*b0, keys);
  auto inc = b0->SnapshotIncremental(parent + "/cp");
  ASSERT_TRUE(inc.ok()) << inc.status();
  EXPECT_LT(inc->meta.bytes.size(), 64u * 1024) << "entries stay out of the meta snapshot";
  b0.reset();  // the restore must not depend on the old instance

  auto r = Make(Rocks(parent));
  ASSERT_TRUE(r->RestoreIncremental({SourceOf(*inc, {0, kMaxP - 1})}).ok());
  // Same file system: the immutable SST files were hard-linked, not copied; the restored
  // database does not depend on the source files staying (the registry may delete them).
  ASSERT_FALSE(inc->files.sst_files.empty());
  const fs::path restored_sst = fs::path(r->rocksdb_dir()) / inc->files.sst_files[0];
  EXPECT_EQ(fs::hard_link_count(restored_sst), 2u);
  fs::remove_all(inc->files.dir);
  EXPECT_EQ(fs::hard_link_count(restored_sst), 1u);
  Verify(*r, keys);
  EXPECT_THAT(r->StateNames(), ElementsAre("extra", "list", "map", "sum", "value"));
  auto* restored_extra = *r->GetValueState<int64_t>("extra");
  EXPECT_EQ(restored_extra->size(), 1u);
  r->SetCurrentKey("x", KeyGroupOf("x"));
  r->SetCurrentNamespace(0);  // Verify left it at 7
  ASSERT_NE(restored_extra->value(), nullptr);
  EXPECT_EQ(*restored_extra->value(), 99);
  // Writes after the restore go into new SST files; the restored ones keep their names.
  auto inc2 = r->SnapshotIncremental(parent + "/cp2");
  ASSERT_TRUE(inc2.ok()) << inc2.status();
  std::set<std::string> after(inc2->files.sst_files.begin(), inc2->files.sst_files.end());
  for (const auto& f : inc->files.sst_files) EXPECT_TRUE(after.contains(f)) << f;
  EXPECT_GT(after.size(), inc->files.sst_files.size()) << "'extra' was written after the restore";
  // Restore into the heap is refused with the way out named.
  KeyedStateBackend h2(kMaxP, {0, kMaxP - 1});
  absl::Status refused = h2.RestoreIncremental({SourceOf(*inc, {0, kMaxP - 1})});
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.message(), HasSubstr("savepoint"));
  fs::remove_all(parent);
}

TEST(RocksDbBackendTest, IncrementalSnapshotsRescaleByKeyGroups) {
  const std::string parent = TestDir("inc-rescale");
  fs::remove_all(parent);
  const auto keys = Keys(800);
  // Old parallelism 2, each with a state that only one of them has, too.
  std::vector<IncrementalSnapshot> snaps;
  std::vector<core::KeyGroupRange> ranges;
  for (int i = 0; i < 2; ++i) {
    auto range = core::ComputeKeyGroupRangeForOperatorIndex(kMaxP, 2, i);
    auto b = Make(Rocks(parent), range);
    Fill(*b, keys);
    auto inc = b->SnapshotIncremental(parent + "/old-" + std::to_string(i));
    ASSERT_TRUE(inc.ok()) << inc.status();
    snaps.push_back(*std::move(inc));
    ranges.push_back(range);
  }
  // New parallelism 3 and 1: each subtask takes its key groups from every overlapping source.
  for (int p : {3, 1}) {
    for (int i = 0; i < p; ++i) {
      auto range = core::ComputeKeyGroupRangeForOperatorIndex(kMaxP, p, i);
      auto r = Make(Rocks(parent), range);
      std::vector<IncrementalRestoreSource> sources;
      for (size_t s = 0; s < snaps.size(); ++s) sources.push_back(SourceOf(snaps[s], ranges[s]));
      absl::Status st = r->RestoreIncremental(sources);
      ASSERT_TRUE(st.ok()) << st;
      Verify(*r, keys);  // also checks no foreign key groups remain (sizes)
    }
  }
  // A missing file is NotFound naming it.
  auto broken = SourceOf(snaps[0], ranges[0]);
  broken.files[0].second += ".gone";
  auto r = Make(Rocks(parent));
  absl::Status st = r->RestoreIncremental({broken});
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound) << st;
  EXPECT_THAT(st.message(), HasSubstr(".gone"));
  fs::remove_all(parent);
}

// --- Timers in RocksDB (timer_service.h, RocksDB mode) ---------------------------------------

// Fires every due timer; returns (key, ns, timestamp) in firing order.
std::vector<std::tuple<std::string, int64_t, int64_t>> FireUpTo(KeyedStateBackend& b,
                                                                int64_t watermark) {
  std::vector<std::tuple<std::string, int64_t, int64_t>> fired;
  absl::Status st = b.AdvanceWatermark(
      watermark, [&](std::string_view key, int32_t, int64_t ns, int64_t ts) {
        fired.emplace_back(std::string(key), ns, ts);
        return absl::OkStatus();
      });
  EXPECT_TRUE(st.ok()) << st;
  return fired;
}

// One key group holds thousands of timers, far more than the 128 cached: registrations above
// and below the cached ones, late timers below the last fired one, deletions of cached and
// uncached timers, and negative timestamps fire exactly as on the heap, in the same order.
TEST(RocksDbTimersTest, ManyTimersInOneKeyGroupFireLikeTheHeapAcrossCacheRefills) {
  const std::string dir = TestDir("timers-one-group");
  BackendOptions heap_opts;
  auto heap = Make(heap_opts, {5, 5});
  auto rocks = Make(Rocks(dir), {5, 5});
  ASSERT_NE(heap, nullptr);
  ASSERT_NE(rocks, nullptr);
  auto both = [&](auto&& fn) {
    fn(*heap);
    fn(*rocks);
  };
  uint64_t x = 88172645463325252ull;  // xorshift: the same pseudo-random sequence for both
  auto next = [&] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  std::vector<std::tuple<std::string, int64_t, int64_t>> registered;
  for (int i = 0; i < 3000; ++i) {
    const std::string key = "k" + std::to_string(next() % 500);
    const int64_t ns = static_cast<int64_t>(next() % 3);
    const int64_t ts = static_cast<int64_t>(next() % 10000) - 2000;
    registered.emplace_back(key, ns, ts);
    both([&](KeyedStateBackend& b) {
      b.SetCurrentKey(key, 5);
      b.RegisterEventTimeTimer(ns, ts);
    });
  }
  EXPECT_EQ(rocks->NumEventTimeTimers(), heap->NumEventTimeTimers());
  // Delete every 7th registration: most of them are not cached.
  for (size_t i = 0; i < registered.size(); i += 7) {
    const auto& [key, ns, ts] = registered[i];
    both([&](KeyedStateBackend& b) {
      b.SetCurrentKey(key, 5);
      b.DeleteEventTimeTimer(ns, ts);
    });
  }
  ASSERT_EQ(rocks->EarliestEventTimeTimer(), heap->EarliestEventTimeTimer());
  for (int64_t wm = -2500; wm <= 9000; wm += 700) {
    auto h = FireUpTo(*heap, wm);
    auto r = FireUpTo(*rocks, wm);
    ASSERT_EQ(r, h) << "watermark " << wm;
    // Late timers (at or below the watermark) and new ones far ahead.
    for (int i = 0; i < 40; ++i) {
      const std::string key = "late" + std::to_string(next() % 50);
      const int64_t ts = wm - static_cast<int64_t>(next() % 300) + (i % 2 == 0 ? 0 : 5000);
      both([&](KeyedStateBackend& b) {
        b.SetCurrentKey(key, 5);
        b.RegisterEventTimeTimer(0, ts);
      });
    }
  }
  EXPECT_EQ(FireUpTo(*rocks, std::numeric_limits<int64_t>::max()),
            FireUpTo(*heap, std::numeric_limits<int64_t>::max()));
  EXPECT_EQ(rocks->NumEventTimeTimers(), 0u);
  EXPECT_FALSE(rocks->EarliestEventTimeTimer().has_value());
  EXPECT_TRUE(rocks->status().ok()) << rocks->status();
}

// Timers of an incremental checkpoint are in its SST files, not in the meta snapshot, and a
// restore at another parallelism (2 -> 1) and into heap timers brings each back exactly once.
TEST(RocksDbTimersTest, TimersTravelInSstFilesAndRestoreAtAnotherParallelism) {
  const std::string dir = TestDir("timers-incremental");
  fs::remove_all(dir);
  const std::vector<std::string> keys = Keys(2000);
  const core::KeyGroupRange halves[2] = {{0, 63}, {64, 127}};
  std::vector<IncrementalSnapshot> snaps;
  std::set<std::tuple<std::string, int64_t, int64_t>> expected;
  for (int s = 0; s < 2; ++s) {
    auto b = Make(Rocks(dir), halves[s]);
    ASSERT_NE(b, nullptr);
    for (size_t i = 0; i < keys.size(); ++i) {
      if (!halves[s].Contains(KeyGroupOf(keys[i]))) continue;
      b->SetCurrentKey(keys[i], KeyGroupOf(keys[i]));
      b->RegisterEventTimeTimer(3, static_cast<int64_t>(i % 97));
      expected.emplace(keys[i], 3, static_cast<int64_t>(i % 97));
    }
    auto snap = b->SnapshotIncremental(dir + "/chk-" + std::to_string(s));
    ASSERT_TRUE(snap.ok()) << snap.status();
    snaps.push_back(*std::move(snap));
  }
  // The metas hold no timer: one 8-byte key-group header + 1-byte block and timer counts each.
  for (const auto& snap : snaps) EXPECT_LT(snap.meta.bytes.size(), 64u * 20 + 200);

  for (bool rocksdb_timers : {true, false}) {
    BackendOptions o = Rocks(dir);
    o.rocksdb_timers = rocksdb_timers;
    auto restored = Make(o, {0, 127});
    ASSERT_NE(restored, nullptr);
    ASSERT_TRUE(restored->RestoreIncremental({SourceOf(snaps[0], halves[0]),
                                              SourceOf(snaps[1], halves[1])})
                    .ok());
    EXPECT_EQ(restored->NumEventTimeTimers(), expected.size()) << rocksdb_timers;
    auto fired = FireUpTo(*restored, 1000);
    std::set<std::tuple<std::string, int64_t, int64_t>> got(fired.begin(), fired.end());
    EXPECT_EQ(got.size(), fired.size()) << "a timer fired twice";
    EXPECT_EQ(got, expected) << rocksdb_timers;
    EXPECT_TRUE(std::is_sorted(fired.begin(), fired.end(), [](const auto& a, const auto& b) {
      return std::get<2>(a) < std::get<2>(b);
    }));
  }
}

// A checkpoint taken with heap timers (timers in the meta snapshot) restores into RocksDB
// timers, and a canonical snapshot of RocksDB timers holds them all.
TEST(RocksDbTimersTest, HeapTimerCheckpointsRestoreIntoRocksDbTimersAndSnapshotsHoldThem) {
  const std::string dir = TestDir("timers-heap-to-rocks");
  fs::remove_all(dir);
  BackendOptions heap_timers = Rocks(dir);
  heap_timers.rocksdb_timers = false;
  auto old = Make(heap_timers);
  ASSERT_NE(old, nullptr);
  for (int i = 0; i < 300; ++i) {
    const std::string k = "key-" + std::to_string(i);
    old->SetCurrentKey(k, KeyGroupOf(k));
    old->RegisterEventTimeTimer(0, i);
  }
  auto snap = old->SnapshotIncremental(dir + "/chk");
  ASSERT_TRUE(snap.ok()) << snap.status();
  auto now = Make(Rocks(dir));
  ASSERT_NE(now, nullptr);
  ASSERT_TRUE(now->RestoreIncremental({SourceOf(*snap, {0, kMaxP - 1})}).ok());
  EXPECT_EQ(now->NumEventTimeTimers(), 300u);
  auto full = now->Snapshot();
  ASSERT_TRUE(full.ok()) << full.status();
  auto heap = Make(BackendOptions{});
  ASSERT_TRUE(RestoreFrom(*heap, {*full}).ok());
  EXPECT_EQ(heap->NumEventTimeTimers(), 300u);
  auto fired = FireUpTo(*heap, 299);
  ASSERT_EQ(fired.size(), 300u);
  for (int i = 0; i < 300; ++i) EXPECT_EQ(std::get<2>(fired[static_cast<size_t>(i)]), i);
}

}  // namespace
}  // namespace sluice::state

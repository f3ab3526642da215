// State TTL beyond the shared suite (keyed_state_backend_test.cc runs the per-primitive TTL
// semantics for both storages): cleanup in the background (RocksDB compaction filter, heap
// incremental cleanup), TTL state restored across storages, parallelism and incremental
// snapshots with its expiry times, and version-1 snapshots (before TTL) still restoring.

#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/base/clock.h"
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

constexpr int64_t kTtl = 60'000;
constexpr int64_t kT0 = 1'700'000'000'000;  // epoch ms

std::string TestDir(const std::string& name) { return test::TestDir("sluice-ttl-", name); }

BackendOptions Heap(const Clock* clock) {
  BackendOptions o;
  o.clock = clock;
  return o;
}

std::string Key(int i) { return "key-" + std::to_string(i); }

TEST(StateTtlTest, RocksDbCompactionFilterPhysicallyRemovesExpiredEntries) {
  const std::string dir = TestDir("compaction");
  fs::remove_all(dir);
  ManualClock clock(kT0);
  auto b = Make(Rocks(dir, &clock));
  auto* v = *b->GetValueState<int64_t>("v", StateTtlConfig{.ttl_ms = kTtl});
  auto* l = *b->GetListState<int64_t>("l", StateTtlConfig{.ttl_ms = kTtl});
  auto* m = *b->GetMapState<std::string, int64_t>("m", StateTtlConfig{.ttl_ms = kTtl});
  auto* plain = *b->GetValueState<int64_t>("plain");
  constexpr int kKeys = 2000;
  for (int i = 0; i < kKeys; ++i) {
    b->SetCurrentKey(Key(i), KeyGroupOf(Key(i)));
    v->update(i);
    l->add(i);
    m->put(std::string("first"), int64_t{i});
    plain->update(i);
  }
  // Odd keys are written again half a TTL later: their value is fresh, and their list and map
  // get a fresh element next to the old one.
  clock.Set(kT0 + kTtl / 2);
  for (int i = 1; i < kKeys; i += 2) {
    b->SetCurrentKey(Key(i), KeyGroupOf(Key(i)));
    v->update(i);
    l->add(-i);
    m->put(std::string("second"), int64_t{-i});
  }
  clock.Set(kT0 + kTtl);  // the first writes are expired, not accessed since
  ASSERT_TRUE(b->CompactRocksDb().ok());  // flushes the memtables first
  ASSERT_TRUE(b->status().ok()) << b->status();
  // size() counts the entries stored in the column family (a full scan).
  EXPECT_EQ(v->size(), static_cast<size_t>(kKeys / 2)) << "expired values dropped";
  EXPECT_EQ(l->size(), static_cast<size_t>(kKeys / 2)) << "lists with only expired elements dropped";
  EXPECT_EQ(m->size(), static_cast<size_t>(kKeys / 2)) << "maps with only expired keys dropped";
  EXPECT_EQ(plain->size(), static_cast<size_t>(kKeys)) << "a state without TTL is not filtered";

  // Turning the clock back shows what compaction physically removed: the expired elements of
  // the remaining lists and maps were rewritten away, not just hidden.
  clock.Set(kT0);
  for (int i = 0; i < kKeys; ++i) {
    b->SetCurrentKey(Key(i), KeyGroupOf(Key(i)));
    if (i % 2 == 0) {
      ASSERT_EQ(v->value(), nullptr) << Key(i);
      ASSERT_EQ(l->get(), nullptr);
      ASSERT_TRUE(m->is_empty());
    } else {
      ASSERT_NE(v->value(), nullptr);
      EXPECT_EQ(*v->value(), i);
      ASSERT_NE(l->get(), nullptr);
      EXPECT_THAT(*l->get(), ElementsAre(-i));
      EXPECT_FALSE(m->contains("first"));
      ASSERT_NE(m->get("second"), nullptr);
      EXPECT_EQ(*m->get("second"), -i);
    }
  }
  // A later compaction after everything expired leaves nothing.
  clock.Set(kT0 + kTtl / 2 + kTtl);
  ASSERT_TRUE(b->CompactRocksDb().ok());
  EXPECT_EQ(v->size(), 0u);
  EXPECT_EQ(l->size(), 0u);
  EXPECT_EQ(m->size(), 0u);
  EXPECT_EQ(plain->size(), static_cast<size_t>(kKeys));
  b.reset();
  fs::remove_all(dir);
}

TEST(StateTtlTest, HeapIncrementalCleanupRemovesExpiredEntriesNobodyTouches) {
  ManualClock clock(kT0);
  KeyedStateBackend b(kMaxP, {0, kMaxP - 1}, Heap(&clock));
  auto* v = *b.GetValueState<int64_t>("v", StateTtlConfig{.ttl_ms = kTtl});
  constexpr int kKeys = 1000;
  for (int i = 0; i < kKeys; ++i) {
    b.SetCurrentKey(Key(i), KeyGroupOf(Key(i)));
    v->update(i);
  }
  EXPECT_EQ(v->size(), static_cast<size_t>(kKeys));
  clock.Advance(kTtl);
  // Writes of one hot key; each checks about 5 stored entries of the state, group by group.
  b.SetCurrentKey("hot", KeyGroupOf("hot"));
  int writes = 0;
  while (v->size() > 1 && writes < 10 * kKeys) {
    v->update(writes++);
  }
  EXPECT_EQ(v->size(), 1u);
  EXPECT_LE(writes, kKeys / 5 + kMaxP + 1) << "about 5 entries per write, plus one per group";
  ASSERT_NE(v->value(), nullptr);
}

// Fills value and list states with TTL for the keys of `b`'s range (written at `clock`'s time).
void FillTtl(KeyedStateBackend& b, int keys) {
  auto* v = *b.GetValueState<int64_t>("v", StateTtlConfig{.ttl_ms = kTtl});
  auto* l = *b.GetListState<int64_t>("l", StateTtlConfig{.ttl_ms = kTtl});
  for (int i = 0; i < keys; ++i) {
    if (!b.key_group_range().Contains(KeyGroupOf(Key(i)))) continue;
    b.SetCurrentKey(Key(i), KeyGroupOf(Key(i)));
    v->update(i);
    l->add(i);
  }
}

// Checks `b` holds exactly its keys, alive, and returns how many.
size_t VerifyAlive(KeyedStateBackend& b, int keys) {
  auto* v = *b.GetValueState<int64_t>("v", StateTtlConfig{.ttl_ms = kTtl});
  auto* l = *b.GetListState<int64_t>("l", StateTtlConfig{.ttl_ms = kTtl});
  size_t mine = 0;
  for (int i = 0; i < keys; ++i) {
    if (!b.key_group_range().Contains(KeyGroupOf(Key(i)))) continue;
    ++mine;
    b.SetCurrentKey(Key(i), KeyGroupOf(Key(i)));
    const int64_t* value = v->value();
    EXPECT_NE(value, nullptr) << Key(i);
    if (value != nullptr) {
      EXPECT_EQ(*value, i);
    }
    EXPECT_NE(l->get(), nullptr);
  }
  EXPECT_EQ(v->size(), mine);
  EXPECT_EQ(l->size(), mine);
  return mine;
}

size_t CountAlive(KeyedStateBackend& b, int keys) {
  auto* v = *b.GetValueState<int64_t>("v", StateTtlConfig{.ttl_ms = kTtl});
  auto* l = *b.GetListState<int64_t>("l", StateTtlConfig{.ttl_ms = kTtl});
  size_t alive = 0;
  for (int i = 0; i < keys; ++i) {
    if (!b.key_group_range().Contains(KeyGroupOf(Key(i)))) continue;
    b.SetCurrentKey(Key(i), KeyGroupOf(Key(i)));
    alive += v->value() != nullptr ? 1 : 0;
    alive += l->get() != nullptr ? 1 : 0;
  }
  return alive;
}

TEST(StateTtlTest, TtlStateRestoresIntoEitherStorageAtAnyParallelismWithItsExpiryTimes) {
  const std::string dir = TestDir("rescale");
  fs::remove_all(dir);
  constexpr int kKeys = 600;
  for (bool from_rocks : {false, true}) {
    SCOPED_TRACE(from_rocks ? "from RocksDB" : "from heap");
    ManualClock clock(kT0);
    // Old parallelism 2.
    std::vector<KeyedStateSnapshot> snaps;
    for (int i = 0; i < 2; ++i) {
      auto range = core::ComputeKeyGroupRangeForOperatorIndex(kMaxP, 2, i);
      auto b = Make(from_rocks ? Rocks(dir, &clock) : Heap(&clock), range);
      FillTtl(*b, kKeys);
      auto s = b->Snapshot();
      ASSERT_TRUE(s.ok()) << s.status();
      snaps.push_back(*std::move(s));
    }
    // New parallelism 3 and 1, into both storages, restored half a TTL later.
    for (bool to_rocks : {false, true}) {
      for (int p : {3, 1}) {
        SCOPED_TRACE(::testing::Message() << (to_rocks ? "into RocksDB" : "into heap") << " p=" << p);
        size_t total = 0;
        for (int i = 0; i < p; ++i) {
          clock.Set(kT0 + kTtl / 2);
          auto range = core::ComputeKeyGroupRangeForOperatorIndex(kMaxP, p, i);
          auto b = Make(to_rocks ? Rocks(dir, &clock) : Heap(&clock), range);
          ASSERT_TRUE(RestoreFrom(*b, snaps).ok());
          clock.Set(kT0 + kTtl - 1);  // the restore did not reset the timestamps...
          const size_t mine = VerifyAlive(*b, kKeys);
          total += mine;
          clock.Set(kT0 + kTtl);  // ...so everything expires at the original time
          EXPECT_EQ(CountAlive(*b, kKeys), 0u);
        }
        EXPECT_EQ(total, static_cast<size_t>(kKeys));
      }
    }
  }
  fs::remove_all(dir);
}

TEST(StateTtlTest, IncrementalSnapshotKeepsTtlAndTheCompactionFilterAfterRestore) {
  const std::string dir = TestDir("incremental");
  fs::remove_all(dir);
  constexpr int kKeys = 500;
  ManualClock clock(kT0);
  auto b = Make(Rocks(dir, &clock));
  FillTtl(*b, kKeys);
  auto inc = b->SnapshotIncremental(dir + "/cp");
  ASSERT_TRUE(inc.ok()) << inc.status();
  b.reset();

  // Registering without TTL what was checkpointed with TTL is refused.
  {
    auto r = Make(Rocks(dir, &clock));
    ASSERT_TRUE(r->RestoreIncremental({SourceOf(*inc, {0, kMaxP - 1})}).ok());
    auto off = r->GetValueState<int64_t>("v");
    EXPECT_EQ(off.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(off.status().message(), HasSubstr("'v'"));
  }
  auto r = Make(Rocks(dir, &clock));
  ASSERT_TRUE(r->RestoreIncremental({SourceOf(*inc, {0, kMaxP - 1})}).ok());
  clock.Set(kT0 + kTtl - 1);
  EXPECT_EQ(VerifyAlive(*r, kKeys), static_cast<size_t>(kKeys));
  // The restored column families got the compaction filter when the states registered.
  clock.Set(kT0 + kTtl);
  ASSERT_TRUE(r->CompactRocksDb().ok());
  EXPECT_EQ((*r->GetValueState<int64_t>("v", StateTtlConfig{.ttl_ms = kTtl}))->size(), 0u);
  EXPECT_EQ((*r->GetListState<int64_t>("l", StateTtlConfig{.ttl_ms = kTtl}))->size(), 0u);
  r.reset();
  fs::remove_all(dir);
}

// Rewrites a version-2 snapshot of states without TTL into the version-1 format (the header
// without the per-state flags byte; key group sections unchanged, shifted by the shorter
// header), as a build before state TTL wrote it.
KeyedStateSnapshot ToVersion1(const KeyedStateSnapshot& v2) {
  ByteReader r(v2.bytes);
  uint32_t magic = 0, version = 0;
  int32_t max_p = 0, start = 0, end = 0;
  uint64_t n = 0;
  EXPECT_TRUE(r.ReadFixed32(&magic).ok());
  EXPECT_TRUE(r.ReadFixed32(&version).ok());
  EXPECT_EQ(version, 2u);
  EXPECT_TRUE(r.ReadI32(&max_p).ok() && r.ReadI32(&start).ok() && r.ReadI32(&end).ok());
  EXPECT_TRUE(r.ReadVarint64(&n).ok());
  KeyedStateSnapshot v1;
  ByteWriter w(&v1.bytes);
  w.WriteFixed32(magic);
  w.WriteFixed32(1);
  w.WriteI32(max_p);
  w.WriteI32(start);
  w.WriteI32(end);
  w.WriteVarint64(n);
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view name;
    uint8_t kind = 0, flags = 0;
    EXPECT_TRUE(r.ReadStringView(&name).ok() && r.ReadU8(&kind).ok() && r.ReadU8(&flags).ok());
    EXPECT_EQ(flags, 0) << "version 1 has no TTL states";
    w.WriteString(name);
    w.WriteU8(kind);
  }
  w.WriteFixed64(Checksum64(v1.bytes));
  const size_t v2_header_end = r.position() + 8;
  const int64_t shift = static_cast<int64_t>(v1.bytes.size()) - static_cast<int64_t>(v2_header_end);
  w.WriteRaw(std::string_view(v2.bytes).substr(v2_header_end));
  for (const auto& [kg, off] : v2.key_group_offsets) {
    v1.key_group_offsets.emplace_back(kg, static_cast<uint64_t>(static_cast<int64_t>(off) + shift));
  }
  return v1;
}

TEST(StateTtlTest, Version1SnapshotsStillRestoreIntoBothStorages) {
  const std::string dir = TestDir("v1");
  fs::remove_all(dir);
  ManualClock clock(kT0);
  KeyedStateBackend src(kMaxP, {0, kMaxP - 1}, Heap(&clock));
  auto* v = *src.GetValueState<std::string>("value");
  auto* l = *src.GetListState<int64_t>("list");
  auto* m = *src.GetMapState<std::string, double>("map");
  for (int i = 0; i < 300; ++i) {
    src.SetCurrentKey(Key(i), KeyGroupOf(Key(i)));
    src.SetCurrentNamespace(i % 2);
    v->update(Key(i));
    l->add(i);
    l->add(-i);
    m->put(std::string("x"), i + 0.5);
    src.RegisterEventTimeTimer(i % 2, 1000 + i);
  }
  auto v2 = src.Snapshot();
  ASSERT_TRUE(v2.ok());
  const KeyedStateSnapshot v1 = ToVersion1(*v2);
  uint32_t version = 0;
  std::memcpy(&version, v1.bytes.data() + 4, sizeof(version));
  ASSERT_EQ(version, 1u);
  for (bool rocks : {false, true}) {
    SCOPED_TRACE(rocks ? "RocksDB" : "heap");
    auto b = Make(rocks ? Rocks(dir, &clock) : Heap(&clock));
    absl::Status st = RestoreFrom(*b, {v1});
    ASSERT_TRUE(st.ok()) << st;
    auto* rv = *b->GetValueState<std::string>("value");
    auto* rl = *b->GetListState<int64_t>("list");
    auto* rm = *b->GetMapState<std::string, double>("map");
    EXPECT_EQ(rv->size(), 300u);
    EXPECT_EQ(b->NumEventTimeTimers(), 300u);
    for (int i = 0; i < 300; ++i) {
      b->SetCurrentKey(Key(i), KeyGroupOf(Key(i)));
      b->SetCurrentNamespace(i % 2);
      ASSERT_NE(rv->value(), nullptr);
      EXPECT_EQ(*rv->value(), Key(i));
      EXPECT_THAT(*rl->get(), ElementsAre(i, -i));
      EXPECT_EQ(*rm->get("x"), i + 0.5);
    }
    // A version-1 state has no TTL: registering it with one is refused like any TTL change.
    auto b2 = Make(rocks ? Rocks(dir, &clock) : Heap(&clock));
    ASSERT_TRUE(RestoreFrom(*b2, {v1}).ok());
    auto with_ttl = b2->GetListState<int64_t>("list", StateTtlConfig{.ttl_ms = kTtl});
    EXPECT_EQ(with_ttl.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(with_ttl.status().message(), HasSubstr("'list'"));
  }
  // A version from the future is refused, naming the versions this build reads.
  KeyedStateSnapshot v3 = *v2;
  const uint32_t three = 3;
  std::memcpy(v3.bytes.data() + 4, &three, sizeof(three));
  KeyedStateBackend b3(kMaxP, {0, kMaxP - 1}, Heap(&clock));
  absl::Status st = RestoreFrom(b3, {v3});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("version 3"));
  fs::remove_all(dir);
}

TEST(StateTtlTest, TimestampsNearTheInt64LimitDoNotOverflow) {
  // Flink's TtlUtils: last access + ttl saturates instead of wrapping.
  const int64_t max = std::numeric_limits<int64_t>::max();
  EXPECT_FALSE(TtlExpired(max - 10, 100, max - 1));
  EXPECT_TRUE(TtlExpired(max - 10, 100, max));
  EXPECT_FALSE(TtlExpired(1000, max, max - 1));
  EXPECT_TRUE(TtlExpired(1000, 100, 1100));
  EXPECT_FALSE(TtlExpired(1000, 100, 1099));
  EXPECT_TRUE(TtlExpired(-50, 100, 50));
}

}  // namespace
}  // namespace sluice::state

// Asynchronous heap snapshots: CowGroups copy-on-write and KeyedStateBackend::SnapshotAsync,
// whose writer must produce the state as it was at the pin, whatever the task does afterwards
// (on this thread or concurrently with the writer).

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "runtime/base/clock.h"
#include "runtime/state/cow_groups.h"
#include "runtime/state/keyed_state_backend.h"

namespace sluice::state {
namespace {

constexpr int32_t kMaxP = 128;
const core::KeyGroupRange kAll{0, kMaxP - 1};

using Map = absl::flat_hash_map<std::string, int64_t>;

// A ShardPin serializer for the tests: "key=value;" per entry, sorted; counts its calls.
struct Printer {
  std::shared_ptr<int> calls = std::make_shared<int>(0);
  internal::ShardPin<Map>::Serializer Fn() const {
    return [calls = calls](const Map& m, std::string* out) {
      ++*calls;
      std::map<std::string, int64_t> sorted(m.begin(), m.end());
      for (const auto& [k, v] : sorted) *out += k + "=" + std::to_string(v) + ";";
      return static_cast<uint64_t>(m.size());
    };
  }
};
std::string GroupBytes(internal::ShardPin<Map>& pin, int32_t group) {
  pin.SettleGroup(group);
  std::string out;
  pin.ForEachGroupBytes(group, [&](std::string_view b) { out += b; });
  return out;
}

// GroupBytes' "k=v;" entries in key order (a group's shards come in hash order).
std::string Sorted(const std::string& bytes) {
  std::vector<std::string> entries = absl::StrSplit(bytes, ';', absl::SkipEmpty());
  std::sort(entries.begin(), entries.end());
  std::string out;
  for (const std::string& e : entries) out += e + ";";
  return out;
}

TEST(CowGroups, AWriteAfterThePinSerializesTheShardFirst) {
  internal::CowGroups<Map> groups(4);
  groups.Mutable(1, "k")["k"] = 1;
  Printer printer;
  auto pin = groups.Pin(printer.Fn());
  EXPECT_EQ(*printer.calls, 0);  // the pin itself touches no entry

  groups.Mutable(1, "k")["k"] = 2;
  EXPECT_EQ(*printer.calls, 1);  // the shard, before the write
  groups.Mutable(1, "k")["other"] = 3;
  EXPECT_EQ(*printer.calls, 1);  // once per shard and pin
  EXPECT_EQ(GroupBytes(*pin, 1), "k=1;");
  EXPECT_EQ(pin->SettleGroup(1), 1u);
  EXPECT_EQ(groups.Find(1, "k").at("k"), 2);
}

TEST(CowGroups, AShardTheWriterSerializedFirstIsWrittenWithoutMore) {
  internal::CowGroups<Map> groups(4);
  groups.Mutable(2, "k")["k"] = 1;
  Printer printer;
  auto pin = groups.Pin(printer.Fn());
  EXPECT_EQ(GroupBytes(*pin, 2), "k=1;");
  const int after_writer = *printer.calls;
  groups.Mutable(2, "k")["k"] = 5;
  EXPECT_EQ(*printer.calls, after_writer);
  EXPECT_EQ(GroupBytes(*pin, 2), "k=1;");
}

TEST(CowGroups, AFinishedPinCostsNothingAndTheDestructorSettlesTheRest) {
  Printer printer;
  std::shared_ptr<internal::ShardPin<Map>> pin;
  {
    internal::CowGroups<Map> groups(4);
    groups.Mutable(3, "k")["k"] = 1;
    auto finished = groups.Pin(printer.Fn());
    finished->Finish();
    groups.Mutable(3, "k")["k"] = 2;
    EXPECT_EQ(*printer.calls, 0);
    pin = groups.Pin(printer.Fn());
  }  // the shards are gone: the pin got them first
  EXPECT_EQ(GroupBytes(*pin, 3), "k=2;");
}

TEST(CowGroups, SplitsGroupsIntoShardsAndCountsEveryEntry) {
  internal::CowGroups<Map> groups(64);
  EXPECT_EQ(groups.shards_per_group() * 64, internal::CowGroups<Map>::kTargetShards);
  for (int i = 0; i < 1000; ++i) {
    const std::string k = "key-" + std::to_string(i);
    groups.Mutable(3, k)[k] = i;
  }
  EXPECT_EQ(groups.GroupSize(3), 1000u);
  EXPECT_TRUE(groups.GroupEmpty(4));
  size_t used = 0;
  for (const Map& m : groups.Group(3)) used += m.empty() ? 0 : 1;
  EXPECT_GT(used, groups.shards_per_group() / 2);  // spread over the shards
  internal::CowGroups<Map> many(32768);
  EXPECT_EQ(many.shards_per_group(), 1u);  // no more shards than groups when groups are many
}

// The task's entry accesses during a snapshot: the shard goes to the pin as it is (frozen, not
// serialized by the task), the task works on copies, and they are merged back afterwards.
TEST(CowGroups, EntryAccessDuringASnapshotFreezesTheShardInsteadOfSerializingIt) {
  internal::CowGroups<Map> groups(4);
  const std::string a = "a", b = "b", c = "c";
  *groups.TryEmplace(1, a, 1).first = 1;
  *groups.TryEmplace(1, b, 2).first = 2;
  Printer printer;
  auto pin = groups.Pin(printer.Fn());

  *groups.FindEntry(1, a, 3) += 10;          // copied, then changed
  groups.EraseEntry(1, b, 4);                // a tombstone over the frozen entry
  EXPECT_EQ(groups.FindEntry(1, b, 5), nullptr);
  auto [cv, created] = groups.TryEmplace(1, c, 6);
  EXPECT_TRUE(created);
  *cv = 3;
  EXPECT_EQ(*printer.calls, 0);  // nothing serialized by the task
  EXPECT_EQ(*groups.FindEntry(1, a, 7), 11);
  EXPECT_TRUE(groups.snapshot_in_progress());

  // The writer serializes the shards as they were at the pin.
  EXPECT_EQ(Sorted(GroupBytes(*pin, 1)), "a=1;b=2;");
  pin->Finish();
  // A whole-shard read merges: the live content.
  EXPECT_EQ(groups.GroupSize(1), 2u);
  EXPECT_EQ(groups.Find(1, a).at("a"), 11);
  EXPECT_EQ(groups.Find(1, c).at("c"), 3);
  EXPECT_FALSE(groups.Find(1, b).contains("b"));
  EXPECT_EQ(groups.FindEntry(1, a, 8), groups.FindEntry(1, a, 9));
  EXPECT_FALSE(groups.snapshot_in_progress());
}

TEST(CowGroups, AFrozenShardIsMergedOnTheNextAccessForAnotherKeyOnly) {
  internal::CowGroups<Map> groups(1);  // 64 shards in one group
  const std::string k = "k";
  *groups.TryEmplace(0, k, 1).first = 1;
  Printer printer;
  auto pin = groups.Pin(printer.Fn());
  int64_t* p = groups.FindEntry(0, k, 2);  // the copy
  *p = 5;
  EXPECT_EQ(*printer.calls, 0);
  EXPECT_EQ(GroupBytes(*pin, 0), "k=1;");  // the writer is done with the frozen shard
  // Same access (epoch): the pointer stays valid, no merge.
  EXPECT_EQ(groups.FindEntry(0, k, 2), p);
  EXPECT_TRUE(groups.snapshot_in_progress());
  // Another access: merged (the pin is still open, but this shard is settled).
  EXPECT_EQ(*groups.FindEntry(0, k, 3), 5);
  pin->Finish();
  EXPECT_EQ(*groups.TryEmplace(0, k, 4).first, 5);
  EXPECT_FALSE(groups.snapshot_in_progress());
  EXPECT_EQ(*printer.calls, static_cast<int>(groups.shards_per_group()));  // all by the writer
}

TEST(CowGroups, ASecondPinMergesTheFirstOnesFrozenShards) {
  internal::CowGroups<Map> groups(4);
  const std::string k = "k";
  *groups.TryEmplace(2, k, 1).first = 1;
  Printer printer;
  auto first = groups.Pin(printer.Fn());
  *groups.FindEntry(2, k, 2) = 2;   // frozen for the first pin
  auto second = groups.Pin(printer.Fn());  // the first's shard is serialized and merged first
  EXPECT_EQ(*printer.calls, 1);
  *groups.FindEntry(2, k, 3) = 3;   // two pins: serialized for the second first
  EXPECT_EQ(*printer.calls, 2);
  EXPECT_EQ(GroupBytes(*first, 2), "k=1;");
  EXPECT_EQ(GroupBytes(*second, 2), "k=2;");
  EXPECT_EQ(groups.Find(2, k).at("k"), 3);
}

TEST(CowGroups, AVisitDuringASnapshotSeesEveryEntryWhenTheVisitorReadsTheState) {
  internal::CowGroups<Map> groups(1);  // one group of 64 shards
  uint64_t epoch = 0;
  for (int i = 0; i < 1000; ++i) *groups.TryEmplace(0, "k" + std::to_string(i), ++epoch).first = i;
  Printer printer;
  auto pin = groups.Pin(printer.Fn());  // the writer has not started
  size_t visited = 0;
  for (const Map& m : groups.Group(0)) {
    for (const auto& entry : m) {
      ++visited;
      // Reading other entries must not freeze a shard the visit has yet to reach.
      EXPECT_NE(groups.FindEntry(0, "k" + std::to_string(entry.second % 7 * 100), ++epoch),
                nullptr);
    }
  }
  EXPECT_EQ(visited, 1000u);
  pin->Finish();
}

BackendOptions WithClock(const Clock* clock) {
  BackendOptions options;
  options.clock = clock;
  return options;
}

// Value, list and map state, one entry per key, in a fresh heap backend.
struct Fixture {
  explicit Fixture(const Clock* clock = nullptr)
      : backend(kMaxP, kAll, WithClock(clock)) {
    value = *backend.GetValueState<int64_t>("value");
    list = *backend.GetListState<int64_t>("list");
    map = *backend.GetMapState<int64_t, std::string>("map");
    ttl = *backend.GetValueState<int64_t>("ttl", StateTtlConfig{.ttl_ms = 1000});
  }
  void Key(int i) {
    key = "key-" + std::to_string(i);
    backend.SetCurrentKey(key, i % kMaxP);
  }
  // Every entry of every state as "state/key/ns" -> printed value.
  std::map<std::string, std::string> Content() {
    std::map<std::string, std::string> out;
    auto name = [](const char* s, std::string_view k, int64_t ns) {
      return std::string(s) + "/" + std::string(k) + "/" + std::to_string(ns);
    };
    value->ForEach([&](std::string_view k, int32_t, int64_t ns, const int64_t& v) {
      out[name("value", k, ns)] = std::to_string(v);
    });
    ttl->ForEach([&](std::string_view k, int32_t, int64_t ns, const int64_t& v) {
      out[name("ttl", k, ns)] = std::to_string(v);
    });
    list->ForEach([&](std::string_view k, int32_t, int64_t ns, const std::vector<int64_t>& v) {
      std::string s;
      for (int64_t e : v) s += std::to_string(e) + ",";
      out[name("list", k, ns)] = s;
    });
    map->ForEach([&](std::string_view k, int32_t, int64_t ns,
                     const absl::flat_hash_map<int64_t, std::string>& m) {
      std::map<int64_t, std::string> sorted(m.begin(), m.end());
      std::string s;
      for (const auto& [uk, uv] : sorted) s += std::to_string(uk) + "=" + uv + ",";
      out[name("map", k, ns)] = s;
    });
    backend.ForEachEventTimeTimer([&](std::string_view k, int32_t, int64_t ns, int64_t ts) {
      out[name("timer", k, ns) + "@" + std::to_string(ts)] = "";
    });
    return out;
  }
  void Fill(int keys, int64_t version) {
    for (int i = 0; i < keys; ++i) {
      Key(i);
      value->update(version * 1000000 + i);
      ttl->update(i);
      list->add(version);
      map->put(version, "v" + std::to_string(i));
      backend.RegisterEventTimeTimer(0, version * 100 + i);
    }
  }
  // Writes to every key: new values, removals, new keys, new timers.
  void Mutate(int keys, int64_t version) {
    for (int i = 0; i < keys; ++i) {
      Key(i);
      if (i % 3 == 0) {
        value->clear();
        list->clear();
        map->remove(1);
      } else {
        *value->value() += 7;  // in place, through the mutable pointer
        list->add(version);
        map->put(version, "w");
      }
    }
    for (int i = keys; i < keys + 100; ++i) {
      Key(i);
      value->update(-i);
    }
    Key(0);
    backend.DeleteEventTimeTimer(0, 100);
    backend.RegisterEventTimeTimer(0, 999999);
  }

  KeyedStateBackend backend;
  ValueState<int64_t>* value;
  ListState<int64_t>* list;
  MapState<int64_t, std::string>* map;
  ValueState<int64_t>* ttl;
  std::string key;
};

std::map<std::string, std::string> Restored(const KeyedStateSnapshot& snap,
                                            const Clock* clock = nullptr) {
  Fixture f(clock);
  absl::Status st = f.backend.Restore({snap.bytes}, {snap.key_group_offsets});
  EXPECT_TRUE(st.ok()) << st;
  return f.Content();
}

TEST(AsyncHeapSnapshot, WritesTheStateAsItWasWhenPinned) {
  ManualClock clock(1000);
  Fixture f(&clock);
  f.Fill(5000, 1);
  const auto at_pin = f.Content();
  auto writer = f.backend.SnapshotAsync();
  ASSERT_TRUE(writer.ok()) << writer.status();
  f.Mutate(5000, 2);
  ASSERT_NE(f.Content(), at_pin);

  KeyedStateSnapshot snap = (*writer)->Write();
  EXPECT_EQ(Restored(snap, &clock), at_pin);
  // The live state is the mutated one, and a new snapshot has it.
  const auto now = f.Content();
  EXPECT_EQ(Restored(*f.backend.Snapshot(), &clock), now);
}

TEST(AsyncHeapSnapshot, TheWriterReadsFrozenShardsAndTheTaskKeepsItsWrites) {
  ManualClock clock(1000);
  Fixture f(&clock), reference(&clock);
  f.Fill(5000, 1);
  reference.Fill(5000, 1);
  const auto at_pin = f.Content();
  auto writer = f.backend.SnapshotAsync();
  ASSERT_TRUE(writer.ok()) << writer.status();
  f.Mutate(5000, 2);  // no visit in between: the writer finds the shards frozen
  reference.Mutate(5000, 2);
  KeyedStateSnapshot snap = (*writer)->Write();
  EXPECT_EQ(Restored(snap, &clock), at_pin);
  // More writes merge the copies back; the live state is what it would be without a snapshot.
  f.Mutate(5000, 3);
  reference.Mutate(5000, 3);
  EXPECT_EQ(f.Content(), reference.Content());
  EXPECT_EQ(Restored(*f.backend.Snapshot(), &clock), reference.Content());
}

TEST(AsyncHeapSnapshot, TtlCleanupResumesOnceTheSnapshotIsWritten) {
  // 5,000 keys expire; one is written during a snapshot (its shard freezes and is not accessed
  // again); afterwards only a few other keys are written. Incremental cleanup must remove the
  // expired entries as without a snapshot.
  auto stored_after = [](bool with_snapshot) {
    ManualClock clock(1000);
    KeyedStateBackend backend(kMaxP, kAll, WithClock(&clock));
    auto* v = *backend.GetValueState<int64_t>("t", StateTtlConfig{.ttl_ms = 1000});
    auto key = [&](const std::string& k, int i) { backend.SetCurrentKey(k, i % kMaxP); };
    for (int i = 0; i < 5000; ++i) {
      key("cold-" + std::to_string(i), i);
      v->update(i);
    }
    clock.Set(10'000);
    if (with_snapshot) {
      auto writer = backend.SnapshotAsync();
      EXPECT_TRUE(writer.ok());
      key("cold-0", 0);
      v->update(1);
      (*writer)->Write();
      writer->reset();  // done: the pin is finished
    }
    for (int n = 0; n < 20'000; ++n) {
      key("hot-" + std::to_string(n % 8), n % 8 * 17);
      v->update(n);
    }
    return v->size();
  };
  const size_t without = stored_after(false);
  EXPECT_LT(without, 100u);
  EXPECT_LE(stored_after(true), without + 1);
}

TEST(AsyncHeapSnapshot, TtlExpiryIsJudgedAtThePin) {
  ManualClock clock(1000);
  Fixture f(&clock);
  f.Fill(100, 1);
  auto writer = f.backend.SnapshotAsync();
  ASSERT_TRUE(writer.ok());
  clock.Advance(5000);  // every TTL entry expires after the pin
  KeyedStateSnapshot snap = (*writer)->Write();
  ManualClock restore_clock(1000);
  const auto restored = Restored(snap, &restore_clock);
  EXPECT_EQ(restored.count("ttl/key-7/0"), 1u);
  // A snapshot pinned after the expiry leaves them out (Flink's cleanupFullSnapshot).
  const auto later = Restored(*f.backend.Snapshot(), &restore_clock);
  EXPECT_EQ(later.count("ttl/key-7/0"), 0u);
  EXPECT_EQ(later.count("value/key-7/0"), 1u);
}

TEST(AsyncHeapSnapshot, WriterOnAnotherThreadWhileTheTaskWrites) {
  ManualClock clock(1000);  // TTL entries must not expire while the test runs
  Fixture f(&clock);
  f.Fill(50000, 1);
  const auto at_pin = f.Content();
  auto writer = f.backend.SnapshotAsync();
  ASSERT_TRUE(writer.ok());
  std::atomic<bool> done{false};
  KeyedStateSnapshot snap;
  std::thread uploader([&] {
    snap = (*writer)->Write();
    done = true;
  });
  // Keep writing every key until the writer has finished (at least one full round).
  int rounds = 0;
  do {
    f.Mutate(50000, 2 + rounds);
    ++rounds;
  } while (!done.load());
  uploader.join();
  EXPECT_EQ(Restored(snap, &clock), at_pin) << rounds << " rounds of writes";
}

TEST(AsyncHeapSnapshot, TheWriterOutlivesTheBackend) {
  std::unique_ptr<KeyedSnapshotWriter> writer;
  std::map<std::string, std::string> at_pin;
  ManualClock clock(1000);
  {
    Fixture f(&clock);
    f.Fill(1000, 1);
    at_pin = f.Content();
    writer = *f.backend.SnapshotAsync();
    f.Mutate(1000, 2);
  }
  EXPECT_EQ(Restored(writer->Write(), &clock), at_pin);
}

TEST(AsyncHeapSnapshot, CarriesRestoredStateNotRegisteredYet) {
  ManualClock clock(1000);
  KeyedStateSnapshot first;
  std::map<std::string, std::string> content;
  {
    Fixture f(&clock);
    f.Fill(300, 1);
    content = f.Content();
    first = *f.backend.Snapshot();
  }
  std::unique_ptr<KeyedSnapshotWriter> writer;
  {
    // Restored, but no state registered: everything is pending restored bytes.
    KeyedStateBackend backend(kMaxP, kAll);
    ASSERT_TRUE(backend.Restore({first.bytes}, {first.key_group_offsets}).ok());
    writer = *backend.SnapshotAsync();
  }
  EXPECT_EQ(Restored(writer->Write(), &clock), content);
}

TEST(AsyncHeapSnapshot, RefusedOnRocksDb) {
  BackendOptions options;
  options.kind = BackendOptions::kRocksDb;
  KeyedStateBackend backend(kMaxP, kAll, options);
  ASSERT_TRUE(backend.status().ok()) << backend.status();
  auto writer = backend.SnapshotAsync();
  EXPECT_EQ(writer.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace sluice::state

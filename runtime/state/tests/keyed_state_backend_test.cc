// Shared test suite of keyed state backends, typed over the storage (typed_backend_test.h):
// the primitives, iteration, timers, snapshots and restores, allocation. State TTL is
// keyed_state_ttl_test.cc.

#include "runtime/state/keyed_state_backend.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <new>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/base/check.h"
#include "runtime/base/clock.h"
#include "runtime/core/key_groups.h"
#include "runtime/state/tests/typed_backend_test.h"

// --- Allocation counting (global operator new replacement for this test binary) ---------
// GCC flags malloc/free in replaced global operators once they are inlined into callers.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
namespace {
std::atomic<bool> g_count_allocs{false};
std::atomic<int64_t> g_allocs{0};
}  // namespace

void* operator new(std::size_t n) {
  if (g_count_allocs.load(std::memory_order_relaxed)) g_allocs.fetch_add(1);
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new[](std::size_t n) {
  if (g_count_allocs.load(std::memory_order_relaxed)) g_allocs.fetch_add(1);
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace sluice::state {
namespace {

using namespace typed_test;  // NOLINT: the shared fixture
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

TYPED_TEST_SUITE(KeyedStateBackendTest, Backends, BackendNames);

TYPED_TEST(KeyedStateBackendTest, ValueStateIsPerKeyAndNamespace) {
  auto b = this->Make();
  auto s = b->template GetValueState<int64_t>("v");
  ASSERT_TRUE(s.ok()) << s.status();
  ValueState<int64_t>* v = *s;
  this->Key(*b, "JFK");
  EXPECT_EQ(v->value(), nullptr);
  v->update(7);
  ASSERT_NE(v->value(), nullptr);
  EXPECT_EQ(*v->value(), 7);
  b->SetCurrentNamespace(100);
  EXPECT_EQ(v->value(), nullptr) << "another namespace has its own value";
  v->update(8);
  this->Key(*b, "LAX");  // namespace 100 is kept across keys
  EXPECT_EQ(v->value(), nullptr);
  v->update(9);
  this->Key(*b, "JFK");
  EXPECT_EQ(*v->value(), 8);
  b->SetCurrentNamespace(0);
  EXPECT_EQ(*v->value(), 7);
  *v->value() = 70;  // in-place mutation through the pointer
  EXPECT_EQ(*v->value(), 70);
  v->clear();
  EXPECT_EQ(v->value(), nullptr);
  b->SetCurrentNamespace(100);
  EXPECT_EQ(*v->value(), 8) << "clear affects only the current (key, namespace)";
  EXPECT_EQ(v->size(), 2u);
}

TYPED_TEST(KeyedStateBackendTest, ValueStateOfStringsAndDoublesAndBools) {
  auto b = this->Make();
  auto* s = *b->template GetValueState<std::string>("s");
  auto* d = *b->template GetValueState<double>("d");
  auto* f = *b->template GetValueState<bool>("f");
  this->Key(*b, "k");
  s->update(std::string("hello"));
  d->update(2.5);
  f->update(true);
  EXPECT_EQ(*s->value(), "hello");
  EXPECT_EQ(*d->value(), 2.5);
  EXPECT_TRUE(*f->value());
}

TYPED_TEST(KeyedStateBackendTest, ListStateAddGetClear) {
  auto b = this->Make();
  auto* l = *b->template GetListState<std::string>("l");
  this->Key(*b, "a");
  EXPECT_EQ(l->get(), nullptr);
  l->add(std::string("x"));
  l->add(std::string("y"));
  b->SetCurrentNamespace(5);
  l->add(std::string("z"));
  b->SetCurrentNamespace(0);
  ASSERT_NE(l->get(), nullptr);
  EXPECT_THAT(*l->get(), ElementsAre("x", "y"));
  l->clear();
  EXPECT_EQ(l->get(), nullptr);
  b->SetCurrentNamespace(5);
  EXPECT_THAT(*l->get(), ElementsAre("z"));
  l->update({});
  EXPECT_EQ(l->get(), nullptr) << "updating with an empty list clears";
  l->update({"p", "q"});
  EXPECT_THAT(*l->get(), ElementsAre("p", "q"));
}

TYPED_TEST(KeyedStateBackendTest, MapStatePutGetRemoveEntries) {
  auto b = this->Make();
  auto* m = *b->template GetMapState<std::string, int64_t>("m");
  this->Key(*b, "a");
  EXPECT_TRUE(m->is_empty());
  EXPECT_EQ(m->get("u"), nullptr);
  m->put(std::string("u"), int64_t{1});
  m->put(std::string("w"), int64_t{2});
  m->put(std::string("u"), int64_t{3});  // overwrite
  EXPECT_TRUE(m->contains("u"));
  EXPECT_FALSE(m->contains("zz"));
  EXPECT_EQ(*m->get("u"), 3);
  ASSERT_NE(m->entries(), nullptr);
  std::map<std::string, int64_t> seen(m->entries()->begin(), m->entries()->end());
  EXPECT_EQ(seen, (std::map<std::string, int64_t>{{"u", 3}, {"w", 2}}));
  b->SetCurrentNamespace(1);
  EXPECT_TRUE(m->is_empty());
  b->SetCurrentNamespace(0);
  m->remove("u");
  EXPECT_FALSE(m->contains("u"));
  m->remove("w");
  EXPECT_TRUE(m->is_empty()) << "removing the last mapping leaves no entry";
  EXPECT_EQ(m->size(), 0u);
  m->put(std::string("a"), int64_t{1});
  m->clear();
  EXPECT_EQ(m->entries(), nullptr);
}

TYPED_TEST(KeyedStateBackendTest, ReducingStateFolds) {
  auto b = this->Make();
  auto* r = *b->template GetReducingState<int64_t>(
      "max", [](const int64_t& a, const int64_t& c) { return std::max(a, c); });
  this->Key(*b, "a");
  EXPECT_EQ(r->get(), nullptr);
  r->add(3);
  r->add(9);
  r->add(4);
  EXPECT_EQ(*r->get(), 9);
  b->SetCurrentNamespace(2);
  r->add(-1);
  EXPECT_EQ(*r->get(), -1);
  r->clear();
  EXPECT_EQ(r->get(), nullptr);
  b->SetCurrentNamespace(0);
  EXPECT_EQ(*r->get(), 9);
}

TYPED_TEST(KeyedStateBackendTest, AggregatingStateWithUserStruct) {
  auto b = this->Make();
  auto* a = *b->template GetAggregatingState<int64_t, AvgAcc, double>("avg", AvgFn());
  this->Key(*b, "a");
  EXPECT_FALSE(a->get().has_value());
  a->add(1);
  a->add(2);
  a->add(6);
  EXPECT_DOUBLE_EQ(*a->get(), 3.0);
  EXPECT_EQ(*a->accumulator(), (AvgAcc{9, 3}));
  this->Key(*b, "b");
  EXPECT_FALSE(a->get().has_value());
  this->Key(*b, "a");
  a->clear();
  EXPECT_FALSE(a->get().has_value());
}

TYPED_TEST(KeyedStateBackendTest, RegistrationIsIdempotentAndRefusesOtherKindsOrTypes) {
  auto b = this->Make();
  auto v1 = b->template GetValueState<int64_t>("s");
  auto v2 = b->template GetValueState<int64_t>("s");
  ASSERT_TRUE(v1.ok() && v2.ok());
  EXPECT_EQ(*v1, *v2);
  auto l = b->template GetListState<int64_t>("s");
  EXPECT_EQ(l.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(l.status().message(), HasSubstr("'s'"));
  EXPECT_THAT(l.status().message(), HasSubstr("VALUE"));
  auto v3 = b->template GetValueState<std::string>("s");
  EXPECT_EQ(v3.status().code(), absl::StatusCode::kInvalidArgument);
}

TYPED_TEST(KeyedStateBackendTest, IterationOverKeysAndKeyGroups) {
  auto b = this->Make();
  auto* v = *b->template GetValueState<int64_t>("v");
  std::set<std::tuple<std::string, int32_t, int64_t, int64_t>> expected;
  for (int i = 0; i < 50; ++i) {
    std::string key = "key" + std::to_string(i);
    this->Key(*b, key);
    b->SetCurrentNamespace(i % 3);
    v->update(i);
    expected.emplace(key, KeyGroupOf(key), i % 3, i);
  }
  std::set<std::tuple<std::string, int32_t, int64_t, int64_t>> seen;
  int32_t last_kg = -1;
  v->ForEach([&](std::string_view k, int32_t kg, int64_t ns, const int64_t& val) {
    EXPECT_GE(kg, last_kg) << "key groups ascend";
    last_kg = kg;
    seen.emplace(std::string(k), kg, ns, val);
  });
  EXPECT_EQ(seen, expected);
  const int32_t kg = KeyGroupOf("key7");
  size_t in_group = 0;
  v->ForEachInKeyGroup(kg, [&](std::string_view k, int64_t, const int64_t&) {
    EXPECT_EQ(KeyGroupOf(std::string(k)), kg);
    ++in_group;
  });
  EXPECT_GE(in_group, 1u);
}

TYPED_TEST(KeyedStateBackendTest, TimersFireInTimestampOrderOnlyOnce) {
  auto b = this->Make();
  auto* v = *b->template GetValueState<int64_t>("v");
  // Register out of order over several keys (and key groups) and namespaces, with duplicates.
  const std::vector<std::tuple<std::string, int64_t, int64_t>> timers = {
      {"a", 10, 30}, {"b", 10, 10}, {"c", 20, 20}, {"a", 0, 5}, {"b", 10, 10}, {"d", 1, 40}};
  for (const auto& [k, ns, ts] : timers) {
    this->Key(*b, k);
    b->SetCurrentNamespace(ns);
    v->update(ts);
    b->RegisterEventTimeTimer(ns, ts);
  }
  EXPECT_EQ(b->NumEventTimeTimers(), 5u) << "(b, 10, 10) is deduplicated";
  EXPECT_EQ(b->EarliestEventTimeTimer(), 5);
  this->Key(*b, "d");
  b->DeleteEventTimeTimer(1, 40);
  EXPECT_EQ(b->NumEventTimeTimers(), 4u);

  std::vector<std::tuple<std::string, int64_t, int64_t>> fired;
  auto on_timer = [&](std::string_view key, int32_t kg, int64_t ns, int64_t ts) {
    EXPECT_EQ(kg, KeyGroupOf(std::string(key)));
    EXPECT_EQ(b->current_key(), key);
    EXPECT_EQ(b->current_namespace(), ns);
    // The callback reads and clears the state of the timer's key and namespace.
    EXPECT_NE(v->value(), nullptr);
    if (v->value() != nullptr) {
      EXPECT_EQ(*v->value(), ts);
    }
    v->clear();
    fired.emplace_back(std::string(key), ns, ts);
    if (key == "b" && ts == 10) {  // a timer registered while firing, already due: fires in this pass
      v->update(int64_t{15});
      b->RegisterEventTimeTimer(ns, 15);
      b->RegisterEventTimeTimer(ns, 15);
    }
    return absl::OkStatus();
  };
  ASSERT_TRUE(b->AdvanceWatermark(20, on_timer).ok());
  EXPECT_THAT(fired, ElementsAre(std::make_tuple("a", 0, 5), std::make_tuple("b", 10, 10),
                                 std::make_tuple("b", 10, 15), std::make_tuple("c", 20, 20)));
  fired.clear();
  ASSERT_TRUE(b->AdvanceWatermark(20, on_timer).ok());
  EXPECT_TRUE(fired.empty()) << "fired timers are removed";
  ASSERT_TRUE(b->AdvanceWatermark(1000, on_timer).ok());
  EXPECT_THAT(fired, ElementsAre(std::make_tuple("a", 10, 30)));
  EXPECT_EQ(b->NumEventTimeTimers(), 0u);
  EXPECT_EQ(b->EarliestEventTimeTimer(), std::nullopt);
}

TYPED_TEST(KeyedStateBackendTest, TimerCallbackErrorStopsFiring) {
  auto b = this->Make();
  for (int64_t ts : {1, 2, 3}) {
    this->Key(*b, "k");
    b->RegisterEventTimeTimer(0, ts);
  }
  int calls = 0;
  absl::Status st = b->AdvanceWatermark(10, [&](std::string_view, int32_t, int64_t, int64_t) {
    ++calls;
    return absl::InternalError("boom");
  });
  EXPECT_EQ(st.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(b->NumEventTimeTimers(), 2u);
}

int64_t KeyIndex(const std::string& key);

// Fills every primitive with a few entries in two namespaces, plus timers.
template <typename B>
void Fill(B& b, const std::vector<std::string>& keys) {
  auto* v = *b.template GetValueState<std::string>("value");
  auto* l = *b.template GetListState<int64_t>("list");
  auto* m = *b.template GetMapState<std::string, double>("map");
  auto* r = *b.template GetReducingState<int64_t>(
      "sum", [](const int64_t& x, const int64_t& y) { return x + y; });
  auto* a = *b.template GetAggregatingState<int64_t, AvgAcc, double>("avg", AvgFn());
  for (const std::string& k : keys) {
    const int64_t i = KeyIndex(k);
    b.SetCurrentKey(k, KeyGroupOf(k));
    for (int64_t ns : {0, 1000}) {
      b.SetCurrentNamespace(ns);
      v->update(k + "@" + std::to_string(ns));
      l->add(i);
      l->add(ns);
      m->put(k, static_cast<double>(i) + 0.5);
      m->put(std::string("ns"), static_cast<double>(ns));
      r->add(i);
      r->add(ns);
      a->add(i);
      a->add(i + 2);
      b.RegisterEventTimeTimer(ns, ns + i);
    }
  }
}

// Checks every primitive holds exactly what Fill wrote for `keys`.
template <typename B>
void Verify(B& b, const std::vector<std::string>& keys) {
  auto* v = *b.template GetValueState<std::string>("value");
  auto* l = *b.template GetListState<int64_t>("list");
  auto* m = *b.template GetMapState<std::string, double>("map");
  auto* r = *b.template GetReducingState<int64_t>(
      "sum", [](const int64_t& x, const int64_t& y) { return x + y; });
  auto s = b.template GetAggregatingState<int64_t, AvgAcc, double>("avg", AvgFn());
  ASSERT_TRUE(s.ok()) << s.status();
  auto* a = *s;
  EXPECT_EQ(v->size(), keys.size() * 2);
  EXPECT_EQ(l->size(), keys.size() * 2);
  EXPECT_EQ(m->size(), keys.size() * 2);
  EXPECT_EQ(r->size(), keys.size() * 2);
  EXPECT_EQ(a->size(), keys.size() * 2);
  for (const std::string& k : keys) {
    const int64_t i = KeyIndex(k);
    b.SetCurrentKey(k, KeyGroupOf(k));
    for (int64_t ns : {0, 1000}) {
      b.SetCurrentNamespace(ns);
      ASSERT_NE(v->value(), nullptr) << k;
      EXPECT_EQ(*v->value(), k + "@" + std::to_string(ns));
      ASSERT_NE(l->get(), nullptr);
      EXPECT_THAT(*l->get(), ElementsAre(i, ns));
      ASSERT_NE(m->get(k), nullptr);
      EXPECT_EQ(*m->get(k), static_cast<double>(i) + 0.5);
      EXPECT_EQ(*m->get("ns"), static_cast<double>(ns));
      EXPECT_EQ(*r->get(), i + ns);
      EXPECT_EQ(*a->accumulator(), (AvgAcc{2 * i + 2, 2}));
    }
  }
  std::set<std::tuple<std::string, int64_t, int64_t>> timers, expected;
  b.ForEachEventTimeTimer([&](std::string_view k, int32_t kg, int64_t ns, int64_t ts) {
    EXPECT_EQ(kg, KeyGroupOf(std::string(k)));
    timers.emplace(std::string(k), ns, ts);
  });
  for (const std::string& k : keys) {
    for (int64_t ns : {0, 1000}) expected.emplace(k, ns, ns + KeyIndex(k));
  }
  EXPECT_EQ(timers, expected);
}

// Index encoded in a key made by Keys().
int64_t KeyIndex(const std::string& key) { return std::stoll(key.substr(4)); }

std::vector<std::string> Keys(int n) {
  std::vector<std::string> keys;
  for (int i = 0; i < n; ++i) keys.push_back("key-" + std::to_string(i));
  return keys;
}

TYPED_TEST(KeyedStateBackendTest, SnapshotRestoreRoundTripOfEveryPrimitiveAndTimers) {
  const auto keys = Keys(200);
  auto src = this->Make();
  Fill(*src, keys);
  auto snap = src->Snapshot();
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_EQ(snap->key_group_offsets.size(), static_cast<size_t>(kMaxP));

  // States registered after Restore see the restored entries.
  auto dst = this->Make();
  ASSERT_TRUE(this->RestoreFrom(*dst, {*snap}).ok());
  EXPECT_THAT(dst->StateNames(), ElementsAre("avg", "list", "map", "sum", "value"));
  Verify(*dst, keys);

  // States registered before Restore are filled directly.
  auto dst2 = this->Make();
  (void)*dst2->template GetValueState<std::string>("value");
  (void)*dst2->template GetListState<int64_t>("list");
  ASSERT_TRUE(this->RestoreFrom(*dst2, {*snap}).ok());
  Verify(*dst2, keys);
}

TYPED_TEST(KeyedStateBackendTest, UnregisteredRestoredStateSurvivesTheNextSnapshot) {
  const auto keys = Keys(50);
  auto src = this->Make();
  Fill(*src, keys);
  auto snap1 = *src->Snapshot();
  auto mid = this->Make();
  ASSERT_TRUE(this->RestoreFrom(*mid, {snap1}).ok());
  (void)*mid->template GetValueState<std::string>("value");  // only one state registered
  auto snap2 = mid->Snapshot();
  ASSERT_TRUE(snap2.ok());
  auto dst = this->Make();
  ASSERT_TRUE(this->RestoreFrom(*dst, {*snap2}).ok());
  Verify(*dst, keys);
}

TYPED_TEST(KeyedStateBackendTest, RestoreAtAnotherParallelismReadsOnlyOwnKeyGroups) {
  const auto keys = Keys(1000);
  // Two old subtasks (p=2), each filled with the keys of its range.
  std::vector<KeyedStateSnapshot> snaps;
  for (int32_t i = 0; i < 2; ++i) {
    auto range = core::ComputeKeyGroupRangeForOperatorIndex(kMaxP, 2, i);
    auto b = this->Make(range);
    std::vector<std::string> mine;
    for (const auto& k : keys) {
      if (range.Contains(KeyGroupOf(k))) mine.push_back(k);
    }
    Fill(*b, mine);
    auto s = b->Snapshot();
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->key_group_offsets.size(), static_cast<size_t>(range.size()));
    snaps.push_back(*std::move(s));
  }
  // Three new subtasks (p=3) restore from both snapshots.
  size_t total = 0;
  for (int32_t i = 0; i < 3; ++i) {
    auto range = core::ComputeKeyGroupRangeForOperatorIndex(kMaxP, 3, i);
    auto b = this->Make(range);
    ASSERT_TRUE(this->RestoreFrom(*b, snaps).ok());
    std::vector<std::string> mine;
    for (const auto& k : keys) {
      if (range.Contains(KeyGroupOf(k))) mine.push_back(k);
    }
    ASSERT_FALSE(mine.empty());
    Verify(*b, mine);  // exactly its keys: sizes and timers match
    total += mine.size();
    auto* v = *b->template GetValueState<std::string>("value");
    v->ForEach([&](std::string_view, int32_t kg, int64_t, const std::string&) {
      EXPECT_TRUE(range.Contains(kg));
    });
  }
  EXPECT_EQ(total, keys.size());
}

TYPED_TEST(KeyedStateBackendTest, CorruptBytesAreDataLoss) {
  auto src = this->Make();
  Fill(*src, Keys(100));
  auto snap = *src->Snapshot();
  // A flipped byte inside a key group's section.
  {
    KeyedStateSnapshot bad = snap;
    size_t at = bad.key_group_offsets[kMaxP / 2].second + 20;
    bad.bytes[at] = static_cast<char>(bad.bytes[at] ^ 0x5a);
    auto b = this->Make();
    absl::Status st = this->RestoreFrom(*b, {bad});
    EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
  }
  // Truncated.
  {
    KeyedStateSnapshot bad = snap;
    bad.bytes.resize(bad.bytes.size() - 30);
    auto b = this->Make();
    EXPECT_EQ(this->RestoreFrom(*b, {bad}).code(), absl::StatusCode::kDataLoss);
  }
  // Bad magic.
  {
    KeyedStateSnapshot bad = snap;
    bad.bytes[0] = 'X';
    auto b = this->Make();
    absl::Status st = this->RestoreFrom(*b, {bad});
    EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(st.message(), HasSubstr("magic"));
  }
  // Corrupt header (a state name).
  {
    KeyedStateSnapshot bad = snap;
    bad.bytes[22] = static_cast<char>(bad.bytes[22] ^ 1);
    auto b = this->Make();
    EXPECT_EQ(this->RestoreFrom(*b, {bad}).code(), absl::StatusCode::kDataLoss);
  }
  // An offset that points elsewhere.
  {
    KeyedStateSnapshot bad = snap;
    bad.key_group_offsets[3].second += 1;
    auto b = this->Make();
    EXPECT_EQ(this->RestoreFrom(*b, {bad}).code(), absl::StatusCode::kDataLoss);
  }
  // Garbage.
  {
    auto b = this->Make();
    std::string junk(3, 'j');
    EXPECT_EQ(b->Restore({junk}, {{}}).code(), absl::StatusCode::kDataLoss);
  }
}

TYPED_TEST(KeyedStateBackendTest, KindMismatchOnRestoreIsAClearError) {
  auto src = this->Make();
  Fill(*src, Keys(10));
  auto snap = *src->Snapshot();
  // Registered after restore with another kind.
  {
    auto b = this->Make();
    ASSERT_TRUE(this->RestoreFrom(*b, {snap}).ok());
    auto l = b->template GetListState<std::string>("value");
    EXPECT_EQ(l.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(l.status().message(), HasSubstr("'value'"));
    EXPECT_THAT(l.status().message(), HasSubstr("restored"));
    EXPECT_THAT(l.status().message(), HasSubstr("VALUE"));
    EXPECT_THAT(l.status().message(), HasSubstr("LIST"));
  }
  // Registered before restore with another kind.
  {
    auto b = this->Make();
    (void)*b->template GetMapState<std::string, double>("sum");
    absl::Status st = this->RestoreFrom(*b, {snap});
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(st.message(), HasSubstr("'sum'"));
    EXPECT_THAT(st.message(), HasSubstr("REDUCING"));
  }
  // Same kind, incompatible serializer: bytes do not parse.
  {
    auto b = this->Make();
    ASSERT_TRUE(this->RestoreFrom(*b, {snap}).ok());
    auto v = b->template GetValueState<int64_t>("value");
    EXPECT_EQ(v.status().code(), absl::StatusCode::kDataLoss);
  }
}

TYPED_TEST(KeyedStateBackendTest, OtherMaxParallelismIsRefused) {
  auto src = BackendFactory<TypeParam>::Make(256, {0, 255});
  auto snap = *src->Snapshot();
  auto b = this->Make();
  absl::Status st = this->RestoreFrom(*b, {snap});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("max parallelism 256"));
}

TYPED_TEST(KeyedStateBackendTest, AccessingExistingStateDoesNotAllocate) {
  if (!BackendFactory<TypeParam>::kHeap) {
    GTEST_SKIP() << "heap-specific: RocksDB reads allocate inside RocksDB (block cache, "
                    "iterators); its cost model is in keyed_state.h";
  }
  auto b = this->Make();
  auto* v = *b->template GetValueState<int64_t>("v");
  auto* s = *b->template GetValueState<std::string>("s");
  auto* r = *b->template GetReducingState<int64_t>(
      "r", [](const int64_t& x, const int64_t& y) { return x + y; });
  auto* a = *b->template GetAggregatingState<int64_t, AvgAcc, double>("a", AvgFn());
  auto* m = *b->template GetMapState<std::string, int64_t>("m");
  // Keys longer than the small-string buffer, so that a temporary key string would allocate.
  std::vector<std::string> keys;
  for (int i = 0; i < 100; ++i) keys.push_back("a-key-longer-than-sso-" + std::to_string(i));
  const std::string value(40, 'v');  // longer than SSO
  for (const auto& k : keys) {
    this->Key(*b, k);
    b->SetCurrentNamespace(7);
    v->update(int64_t{1});
    s->update(value);
    r->add(1);
    a->add(1);
    m->put(std::string("mk-long-enough-to-skip-sso"), int64_t{1});
    b->RegisterEventTimeTimer(7, 100);
  }
  std::vector<int32_t> kgs;
  for (const auto& k : keys) kgs.push_back(KeyGroupOf(k));
  const std::string mk = "mk-long-enough-to-skip-sso";
  int64_t sum = 0;
  g_allocs = 0;
  g_count_allocs = true;
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < keys.size(); ++i) {
      b->SetCurrentKey(keys[i], kgs[i]);
      b->SetCurrentNamespace(7);
      sum += *v->value();
      v->update(sum);
      s->update(value);
      r->add(2);
      a->add(3);
      sum += *m->get(mk);
      b->RegisterEventTimeTimer(7, 100);  // existing timer: deduplicated
    }
  }
  g_count_allocs = false;
  EXPECT_EQ(g_allocs.load(), 0);
  EXPECT_GT(sum, 0);
}

TYPED_TEST(KeyedStateBackendTest, SnapshotOfManyEntriesIsFast) {
  // Not a timing assertion (benchmarks measure); prints the figure and checks the result.
  auto b = this->Make();
  auto* v = *b->template GetValueState<int64_t>("v");
  std::string key;
  for (int i = 0; i < 100000; ++i) {
    char buf[32];
    int n = std::snprintf(buf, sizeof(buf), "k%d", i);
    key.assign(buf, static_cast<size_t>(n));
    b->SetCurrentKey(key, KeyGroupOf(key));
    v->update(int64_t{i});
  }
  auto t0 = std::chrono::steady_clock::now();
  auto snap = b->Snapshot();
  auto t1 = std::chrono::steady_clock::now();
  ASSERT_TRUE(snap.ok());
  auto snap2 = b->Snapshot();  // second one reserves its buffer up front
  auto t2 = std::chrono::steady_clock::now();
  std::printf("snapshot of 100k entries: %zu bytes, %.2f ms (then %.2f ms)\n",
              snap->bytes.size(),
              std::chrono::duration<double, std::milli>(t1 - t0).count(),
              std::chrono::duration<double, std::milli>(t2 - t1).count());
  EXPECT_EQ(snap->bytes, snap2->bytes);
  EXPECT_GT(b->ApproximateSizeBytes(), 100000 * 16);
}

}  // namespace
}  // namespace sluice::state

// State TTL (Flink's StateTtlConfig) of the keyed state backend, for both storages (the
// typed fixture of typed_backend_test.h): expiry per primitive, update types, visibility,
// iteration, snapshots and restores.

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/state/tests/typed_backend_test.h"

namespace sluice::state {
namespace {

using namespace typed_test;  // NOLINT: the shared fixture
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

template <typename Tag>
class KeyedStateTtlTest : public KeyedStateBackendTest<Tag> {};
TYPED_TEST_SUITE(KeyedStateTtlTest, Backends, BackendNames);

constexpr int64_t kTtl = 100;
StateTtlConfig Ttl(StateTtlConfig::UpdateType update = StateTtlConfig::kOnCreateAndWrite,
                   StateTtlConfig::StateVisibility visibility = StateTtlConfig::kNeverReturnExpired) {
  return StateTtlConfig{kTtl, update, visibility};
}

TYPED_TEST(KeyedStateTtlTest, TtlValueExpiresTtlAfterTheLastWrite) {
  auto b = this->Make();
  auto* v = *b->template GetValueState<int64_t>("v", Ttl());
  auto* plain = *b->template GetValueState<int64_t>("plain");
  const int64_t t0 = this->clock_.NowMillis();
  this->Key(*b, "a");
  v->update(1);
  plain->update(1);
  this->clock_.Set(t0 + kTtl - 1);
  ASSERT_NE(v->value(), nullptr) << "alive until last write + ttl";
  EXPECT_EQ(*v->value(), 1);
  this->clock_.Set(t0 + kTtl);
  EXPECT_EQ(v->value(), nullptr) << "OnCreateAndWrite: reads do not extend the TTL";
  EXPECT_EQ(v->size(), 0u) << "the expired entry was removed when accessed";
  ASSERT_NE(plain->value(), nullptr) << "a state without TTL never expires";
  // A write restarts the TTL.
  v->update(2);
  this->clock_.Advance(kTtl / 2);
  v->update(3);
  this->clock_.Advance(kTtl - 1);
  ASSERT_NE(v->value(), nullptr);
  EXPECT_EQ(*v->value(), 3);
  this->clock_.Advance(1);
  EXPECT_EQ(v->value(), nullptr);
  // Namespaces and keys expire independently.
  this->Key(*b, "b");
  b->SetCurrentNamespace(1);
  v->update(10);
  this->clock_.Advance(kTtl / 2);
  b->SetCurrentNamespace(2);
  v->update(20);
  this->clock_.Advance(kTtl / 2);
  b->SetCurrentNamespace(1);
  EXPECT_EQ(v->value(), nullptr);
  b->SetCurrentNamespace(2);
  EXPECT_NE(v->value(), nullptr);
}

TYPED_TEST(KeyedStateTtlTest, TtlOnReadAndWriteExtendsOnEveryRead) {
  auto b = this->Make();
  auto* v = *b->template GetValueState<std::string>("v", Ttl(StateTtlConfig::kOnReadAndWrite));
  this->Key(*b, "a");
  v->update(std::string("x"));
  for (int i = 0; i < 5; ++i) {
    this->clock_.Advance(kTtl - 1);
    ASSERT_NE(v->value(), nullptr) << "read " << i << " refreshed the timestamp";
  }
  this->clock_.Advance(kTtl);
  EXPECT_EQ(v->value(), nullptr);
}

TYPED_TEST(KeyedStateTtlTest, TtlReturnExpiredIfNotCleanedUpReturnsItOnce) {
  auto b = this->Make();
  auto* v = *b->template GetValueState<int64_t>(
      "v", Ttl(StateTtlConfig::kOnCreateAndWrite, StateTtlConfig::kReturnExpiredIfNotCleanedUp));
  this->Key(*b, "a");
  v->update(7);
  this->clock_.Advance(kTtl);
  const int64_t* expired = v->value();
  ASSERT_NE(expired, nullptr) << "expired but not cleaned up yet: returned";
  EXPECT_EQ(*expired, 7);
  EXPECT_EQ(v->value(), nullptr) << "the read cleaned it up";
  EXPECT_EQ(v->size(), 0u);
}

TYPED_TEST(KeyedStateTtlTest, TtlListStateExpiresPerElement) {
  auto b = this->Make();
  auto* l = *b->template GetListState<std::string>("l", Ttl());
  this->Key(*b, "a");
  l->add(std::string("old"));
  this->clock_.Advance(kTtl / 2);
  l->add(std::string("new"));
  ASSERT_NE(l->get(), nullptr);
  EXPECT_THAT(*l->get(), ElementsAre("old", "new"));
  this->clock_.Advance(kTtl / 2);
  ASSERT_NE(l->get(), nullptr);
  EXPECT_THAT(*l->get(), ElementsAre("new")) << "each element has its own timestamp";
  this->clock_.Advance(kTtl / 2);
  EXPECT_EQ(l->get(), nullptr);
  EXPECT_EQ(l->size(), 0u);
  // update() stamps every element.
  l->update({"p", "q"});
  this->clock_.Advance(kTtl - 1);
  EXPECT_THAT(*l->get(), ElementsAre("p", "q"));
  // OnReadAndWrite refreshes the returned elements.
  auto* r = *b->template GetListState<int64_t>("r", Ttl(StateTtlConfig::kOnReadAndWrite));
  r->add(1);
  this->clock_.Advance(kTtl - 1);
  EXPECT_THAT(*r->get(), ElementsAre(1));
  this->clock_.Advance(kTtl - 1);
  ASSERT_NE(r->get(), nullptr);
  EXPECT_THAT(*r->get(), ElementsAre(1));
}

TYPED_TEST(KeyedStateTtlTest, TtlMapStateExpiresPerUserKey) {
  auto b = this->Make();
  auto* m = *b->template GetMapState<std::string, int64_t>("m", Ttl());
  this->Key(*b, "a");
  m->put(std::string("u"), int64_t{1});
  this->clock_.Advance(kTtl / 2);
  m->put(std::string("w"), int64_t{2});
  this->clock_.Advance(kTtl / 2);
  EXPECT_FALSE(m->contains("u"));
  EXPECT_EQ(m->get("u"), nullptr);
  ASSERT_NE(m->get("w"), nullptr);
  EXPECT_EQ(*m->get("w"), 2);
  ASSERT_NE(m->entries(), nullptr);
  std::map<std::string, int64_t> seen(m->entries()->begin(), m->entries()->end());
  EXPECT_EQ(seen, (std::map<std::string, int64_t>{{"w", 2}}));
  m->put(std::string("u"), int64_t{3});  // a new write of an expired user key
  EXPECT_EQ(*m->get("u"), 3);
  this->clock_.Advance(kTtl / 2);
  EXPECT_FALSE(m->contains("w"));
  EXPECT_TRUE(m->contains("u"));
  this->clock_.Advance(kTtl / 2);
  EXPECT_TRUE(m->is_empty());
  EXPECT_EQ(m->size(), 0u) << "the map's last user key expired: the entry is gone";
}

TYPED_TEST(KeyedStateTtlTest, TtlReducingAndAggregatingStartOverAfterExpiry) {
  auto b = this->Make();
  auto* r = *b->template GetReducingState<int64_t>(
      "sum", [](const int64_t& x, const int64_t& y) { return x + y; }, Ttl());
  auto* a = *b->template GetAggregatingState<int64_t, AvgAcc, double>("avg", AvgFn(), Ttl());
  this->Key(*b, "a");
  r->add(3);
  a->add(10);
  this->clock_.Advance(kTtl - 1);
  r->add(4);
  a->add(20);
  EXPECT_EQ(*r->get(), 7);
  EXPECT_EQ(*a->accumulator(), (AvgAcc{30, 2}));
  this->clock_.Advance(kTtl - 1);  // the adds above refreshed the timestamp
  EXPECT_EQ(*r->get(), 7);
  this->clock_.Advance(1);
  r->add(5);
  a->add(1);
  EXPECT_EQ(*r->get(), 5) << "an expired value is not folded into";
  EXPECT_EQ(*a->accumulator(), (AvgAcc{1, 1})) << "an expired accumulator starts over";
  this->clock_.Advance(kTtl);
  EXPECT_EQ(r->get(), nullptr);
  EXPECT_FALSE(a->get().has_value());
}

TYPED_TEST(KeyedStateTtlTest, TtlIterationLeavesOutExpiredEntriesAndElements) {
  auto b = this->Make();
  auto* v = *b->template GetValueState<int64_t>("v", Ttl());
  auto* l = *b->template GetListState<int64_t>("l", Ttl());
  std::set<std::string> fresh;
  for (int i = 0; i < 40; ++i) {
    const std::string key = "key" + std::to_string(i);
    this->Key(*b, key);
    v->update(i);
    l->add(i);
    if (i == 19) this->clock_.Advance(kTtl / 2);  // keys 20..39 are written later
    if (i >= 20) fresh.insert(key);
  }
  this->Key(*b, "key0");
  l->add(int64_t{1000});  // key0's list: one expired and one fresh element
  this->clock_.Advance(kTtl / 2);
  std::set<std::string> seen;
  v->ForEach([&](std::string_view k, int32_t, int64_t, const int64_t&) {
    seen.insert(std::string(k));
  });
  EXPECT_EQ(seen, fresh);
  std::map<std::string, std::vector<int64_t>> lists;
  l->ForEach([&](std::string_view k, int32_t, int64_t, const std::vector<int64_t>& e) {
    lists[std::string(k)] = e;
  });
  EXPECT_EQ(lists.size(), fresh.size() + 1);
  EXPECT_THAT(lists["key0"], ElementsAre(1000));
  size_t in_group = 0;
  v->ForEachInKeyGroup(KeyGroupOf("key3"), [&](std::string_view k, int64_t, const int64_t&) {
    EXPECT_TRUE(fresh.contains(std::string(k)));
    ++in_group;
  });
  EXPECT_EQ(in_group, static_cast<size_t>(std::count_if(fresh.begin(), fresh.end(), [](auto& k) {
              return KeyGroupOf(k) == KeyGroupOf("key3");
            })));
}

TYPED_TEST(KeyedStateTtlTest, TtlSnapshotLeavesOutExpiredAndKeepsExpiryTimes) {
  auto src = this->Make();
  auto* v = *src->template GetValueState<int64_t>("v", Ttl());
  auto* m = *src->template GetMapState<std::string, int64_t>("m", Ttl());
  auto* plain = *src->template GetValueState<int64_t>("plain");
  const int64_t t0 = this->clock_.NowMillis();
  for (int i = 0; i < 20; ++i) {
    this->Key(*src, "old" + std::to_string(i));
    v->update(i);
    m->put(std::string("k"), int64_t{i});
    plain->update(i);
  }
  this->clock_.Set(t0 + kTtl / 2);
  for (int i = 0; i < 10; ++i) {
    this->Key(*src, "new" + std::to_string(i));
    v->update(i);
    m->put(std::string("k"), int64_t{i});
    plain->update(i);
  }
  this->Key(*src, "old0");
  m->put(std::string("late"), int64_t{99});  // a map with one expired and one fresh user key
  this->clock_.Set(t0 + kTtl);  // the "old" entries are expired, not cleaned up
  EXPECT_EQ(v->size(), 30u);
  auto snap = src->Snapshot();
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_EQ(v->size(), 30u) << "a snapshot does not modify the live state";

  auto dst = this->Make();
  ASSERT_TRUE(this->RestoreFrom(*dst, {*snap}).ok());
  auto* rv = *dst->template GetValueState<int64_t>("v", Ttl());
  auto* rm = *dst->template GetMapState<std::string, int64_t>("m", Ttl());
  auto* rplain = *dst->template GetValueState<int64_t>("plain");
  EXPECT_EQ(rv->size(), 10u) << "expired entries are not in the snapshot (cleanupFullSnapshot)";
  EXPECT_EQ(rm->size(), 11u);
  EXPECT_EQ(rplain->size(), 30u);
  this->Key(*dst, "old0");
  ASSERT_NE(rm->entries(), nullptr);
  EXPECT_EQ(rm->entries()->size(), 1u);
  EXPECT_EQ(*rm->get("late"), 99);
  EXPECT_FALSE(rm->contains("k"));
  // Restored entries keep their timestamps: they expire when they would have without restore.
  this->clock_.Set(t0 + kTtl / 2 + kTtl - 1);
  this->Key(*dst, "new3");
  ASSERT_NE(rv->value(), nullptr);
  EXPECT_EQ(*rv->value(), 3);
  this->clock_.Set(t0 + kTtl / 2 + kTtl);
  EXPECT_EQ(rv->value(), nullptr);
  EXPECT_EQ(rm->get("k"), nullptr);
}

TYPED_TEST(KeyedStateTtlTest, TtlConfigErrorsNameTheState) {
  auto b = this->Make();
  auto bad = b->template GetValueState<int64_t>("v", StateTtlConfig{.ttl_ms = 0});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("'v'"));
  ASSERT_TRUE(b->template GetValueState<int64_t>("v", Ttl()).ok());
  EXPECT_TRUE(b->template GetValueState<int64_t>("v", Ttl()).ok()) << "same config: same state";
  auto other = b->template GetValueState<int64_t>("v", StateTtlConfig{.ttl_ms = 5});
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(other.status().message(), HasSubstr("ttl 100 ms"));
  auto none = b->template GetValueState<int64_t>("v");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(none.status().message(), HasSubstr("no TTL"));
}

TYPED_TEST(KeyedStateTtlTest, TtlEnablingOrDisablingOnRestoreIsRefused) {
  auto src = this->Make();
  auto* with = *src->template GetValueState<int64_t>("with", Ttl());
  auto* without = *src->template GetListState<int64_t>("without");
  this->Key(*src, "a");
  with->update(1);
  without->add(1);
  auto snap = *src->Snapshot();
  // Registered after the restore.
  {
    auto b = this->Make();
    ASSERT_TRUE(this->RestoreFrom(*b, {snap}).ok());
    auto off = b->template GetValueState<int64_t>("with");
    EXPECT_EQ(off.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(off.status().message(), HasSubstr("'with'"));
    EXPECT_THAT(off.status().message(), HasSubstr("with TTL but is registered without TTL"));
    auto on = b->template GetListState<int64_t>("without", Ttl());
    EXPECT_EQ(on.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(on.status().message(), HasSubstr("'without'"));
    EXPECT_THAT(on.status().message(), HasSubstr("without TTL but is registered with TTL"));
    // With the settings of the snapshot, both restore.
    auto* w = *b->template GetValueState<int64_t>("with", Ttl());
    auto* wo = *b->template GetListState<int64_t>("without");
    this->Key(*b, "a");
    EXPECT_EQ(*w->value(), 1);
    EXPECT_THAT(*wo->get(), ElementsAre(1));
  }
  // Registered before the restore.
  {
    auto b = this->Make();
    (void)*b->template GetListState<int64_t>("without", Ttl());
    absl::Status st = this->RestoreFrom(*b, {snap});
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(st.message(), HasSubstr("'without'"));
  }
  // Another ttl_ms is compatible: the stored timestamps get the new TTL.
  {
    auto b = this->Make();
    ASSERT_TRUE(this->RestoreFrom(*b, {snap}).ok());
    auto* w = *b->template GetValueState<int64_t>("with", StateTtlConfig{.ttl_ms = 10 * kTtl});
    this->clock_.Advance(5 * kTtl);
    this->Key(*b, "a");
    ASSERT_NE(w->value(), nullptr);
    this->clock_.Advance(5 * kTtl);
    EXPECT_EQ(w->value(), nullptr);
  }
}

}  // namespace
}  // namespace sluice::state

// The user-function operator against the public C++ API: each function kind, keyed state,
// event- and processing-time timers (firing once, across a restore), broadcast state (read-only
// on the keyed side, restored at another parallelism), side outputs, and user exceptions.

#include "runtime/udf/function_operator.h"

#include <map>
#include <stdexcept>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/base/status.h"
#include "runtime/core/key_selector.h"
#include "runtime/core/record_batch.h"
#include "runtime/state/keyed_state_backend.h"
#include "sluice/datastream.h"

namespace sluice::udf {
namespace {

using core::Field;
using core::RecordBatch;
using core::SchemaPtr;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

SchemaPtr Payments() {
  return std::make_shared<const core::Schema>(std::vector<Field>{
      {"card", core::Type::kString}, {"amount", core::Type::kInt64}});
}
SchemaPtr Rules() {
  return std::make_shared<const core::Schema>(std::vector<Field>{{"limit", core::Type::kInt64}});
}
SchemaPtr Schema(std::vector<Field> fields) {
  return std::make_shared<const core::Schema>(std::move(fields));
}

void Add(RecordBatch* b, int64_t ts, const std::string& card, std::optional<int64_t> amount) {
  const size_t r = b->AppendRow(ts);
  b->SetString(r, 0, card);
  if (amount) b->SetInt64(r, 1, *amount); else b->SetNull(r, 1);
}
RecordBatch Batch(std::vector<std::tuple<int64_t, std::string, int64_t>> rows) {
  RecordBatch b(Payments());
  for (const auto& [ts, card, amount] : rows) Add(&b, ts, card, amount);
  return b;
}

struct Out : api::Output {
  absl::Status Emit(const RecordBatch& b) override {
    for (size_t r = 0; r < b.num_rows(); ++r) {
      rows.push_back(b.RowToString(r) + "@" + std::to_string(b.timestamp(r)));
    }
    return absl::OkStatus();
  }
  absl::Status EmitSideOutput(int side, const RecordBatch& b) override {
    for (size_t r = 0; r < b.num_rows(); ++r) side_rows.push_back(std::to_string(side) + ":" + b.RowToString(r));
    return absl::OkStatus();
  }
  absl::Status EmitWatermark(int64_t wm) override {
    watermarks.push_back(wm);
    return absl::OkStatus();
  }
  std::vector<std::string> rows, side_rows;
  std::vector<int64_t> watermarks;
};

template <typename F>
FunctionFactory Factory(FunctionKind kind, F fn) {
  return FunctionFactory{kind, [fn]() -> std::unique_ptr<Function> { return std::make_unique<F>(fn); }};
}

std::unique_ptr<api::Operator> MakeOrDie(FunctionOperatorSpec spec) {
  auto op = MakeFunctionOperator(std::move(spec));
  EXPECT_TRUE(op.ok()) << op.status();
  return std::move(*op);
}

api::OperatorContext Ctx(state::KeyedStateBackend* backend = nullptr) {
  api::OperatorContext ctx;
  ctx.operator_name = "fn";
  ctx.keyed_state = backend;
  return ctx;
}

// --- stateless kinds ----------------------------------------------------------------------

struct ToCents : MapFunction {
  void Map(const Row& in, RowWriter& out) override {
    out.Copy(0, in, 0);
    if (!in.IsNull(1)) out.SetInt64(1, in.GetInt64(1) * 100);
  }
};

TEST(FunctionOperator, MapWritesItsRowsKeepingTimestampsAndNulls) {
  auto op = MakeOrDie({"f1", Factory(FunctionKind::kMap, ToCents{}), {Payments()}, {},
                       Schema({{"card", core::Type::kString}, {"cents", core::Type::kInt64}}), nullptr});
  ASSERT_TRUE(op->Open(Ctx()).ok());
  RecordBatch in(Payments());
  Add(&in, 5, "a", 3);
  Add(&in, 6, "b", std::nullopt);
  Out out;
  ASSERT_TRUE(op->ProcessBatch(in, out).ok());
  EXPECT_THAT(out.rows, ElementsAre("a,300@5", "b,@6"));
}

TEST(FunctionOperator, FilterKeepsTheRowsItAccepts) {
  auto big = [](const Row& r) { return r.GetInt64(1) >= 10; };
  auto op = MakeOrDie({"f1", Factory(FunctionKind::kFilter, detail::LambdaFilter<decltype(big)>(big)),
                       {Payments()}, {}, nullptr, nullptr});
  ASSERT_TRUE(op->Open(Ctx()).ok());
  Out out;
  ASSERT_TRUE(op->ProcessBatch(Batch({{1, "a", 5}, {2, "b", 10}, {3, "c", 20}}), out).ok());
  EXPECT_THAT(out.rows, ElementsAre("b,10@2", "c,20@3"));
}

struct Repeat : FlatMapFunction {
  void FlatMap(const Row& in, Collector& out) override {
    for (int64_t i = 0; i < in.GetInt64(1); ++i) {
      RowWriter& w = out.Emit();
      w.SetString(0, in.GetString(0));
      w.SetString(0, std::string(in.GetString(0)) + std::to_string(i));  // a second set replaces
    }
  }
};

TEST(FunctionOperator, FlatMapEmitsAnyNumberOfRowsAndUnsetFieldsAreNull) {
  auto op = MakeOrDie({"f1", Factory(FunctionKind::kFlatMap, Repeat{}), {Payments()}, {}, Payments(), nullptr});
  ASSERT_TRUE(op->Open(Ctx()).ok());
  Out out;
  ASSERT_TRUE(op->ProcessBatch(Batch({{1, "a", 2}, {2, "b", 0}, {3, "c", 1}}), out).ok());
  EXPECT_THAT(out.rows, ElementsAre("a0,@1", "a1,@1", "c0,@3"));
}

struct Throws : MapFunction {
  void Map(const Row& in, RowWriter&) override {
    if (in.GetString(0) == "bad") throw std::runtime_error("card 'bad' is blocked");
  }
};

TEST(FunctionOperator, AnExceptionFromUserCodeFailsTheTaskWithItsMessage) {
  auto op = MakeOrDie({"f1", Factory(FunctionKind::kMap, Throws{}), {Payments()}, {}, Payments(), nullptr});
  ASSERT_TRUE(op->Open(Ctx()).ok());
  Out out;
  absl::Status s = op->ProcessBatch(Batch({{1, "ok", 1}, {2, "bad", 1}}), out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(s.message(), HasSubstr("map function 'fn' threw: card 'bad' is blocked"));
}

// A user struct with its serializer, carried in a bytes field.
struct Payment {
  std::string card;
  int64_t cents = 0;
  std::vector<std::string> tags;
};
}  // namespace
}  // namespace sluice::udf

template <>
struct sluice::TypeSerializer<sluice::udf::Payment> {
  static void Write(const sluice::udf::Payment& p, std::string* out) {
    sluice::Write(p.card, out);
    sluice::Write(p.cents, out);
    sluice::Write(p.tags, out);
  }
  static bool Read(std::string_view* in, sluice::udf::Payment* p) {
    return sluice::Read(in, &p->card) && sluice::Read(in, &p->cents) && sluice::Read(in, &p->tags);
  }
};

namespace sluice::udf {
namespace {

struct ToStruct : MapFunction {
  void Map(const Row& in, RowWriter& out) override {
    out.SetValue(0, Payment{std::string(in.GetString(0)), in.GetInt64(1) * 100, {"a", "b"}});
  }
};
struct FromStruct : MapFunction {
  void Map(const Row& in, RowWriter& out) override {
    const Payment p = in.GetValue<Payment>(0);
    out.SetString(0, p.card + "/" + p.tags[1]);
    out.SetInt64(1, p.cents);
  }
};

TEST(FunctionOperator, UserStructsTravelInBytesFieldsThroughTheirSerializer) {
  SchemaPtr bytes = Schema({{"payment", core::Type::kBytes}});
  auto encode = MakeOrDie({"f1", Factory(FunctionKind::kMap, ToStruct{}), {Payments()}, {}, bytes, nullptr});
  auto decode = MakeOrDie({"f2", Factory(FunctionKind::kMap, FromStruct{}), {bytes}, {}, Payments(), nullptr});
  ASSERT_TRUE(encode->Open(Ctx()).ok());
  ASSERT_TRUE(decode->Open(Ctx()).ok());
  struct Forward : api::Output {
    api::Operator* next;
    Out* out;
    absl::Status Emit(const RecordBatch& b) override {
      // Through the wire format, as between TaskManagers.
      std::string wire;
      b.SerializeTo(&wire);
      RecordBatch copy(b.schema_ptr());
      RETURN_IF_ERROR(copy.DeserializeFrom(wire));
      return next->ProcessBatch(copy, *out);
    }
    absl::Status EmitWatermark(int64_t) override { return absl::OkStatus(); }
  };
  Out out;
  Forward forward;
  forward.next = decode.get();
  forward.out = &out;
  ASSERT_TRUE(encode->ProcessBatch(Batch({{1, "a", 3}, {2, "b", 4}}), forward).ok());
  EXPECT_THAT(out.rows, ElementsAre("a/b,300@1", "b/b,400@2"));
  // Bytes that are not a Payment fail the task with the field named.
  RecordBatch junk(bytes);
  junk.SetString(junk.AppendRow(5), 0, "xx");
  EXPECT_THAT(decode->ProcessBatch(junk, out).message(), HasSubstr("field 0: bytes do not decode"));
}

// --- keyed process functions ---------------------------------------------------------------

// Counts rows per card; 10 ms after a card's first row (event time) emits card and count.
struct CountThenReport : ProcessFunction {
  void Open(RuntimeContext& ctx) override {
    count_ = ctx.GetValueState<int64_t>("count");
    amounts_ = ctx.GetListState<int64_t>("amounts");
    seen_ = ctx.GetMapState<int64_t, std::string>("seen");
  }
  void ProcessElement(const Row& in, Context& ctx, Collector&) override {
    const int64_t n = count_.ValueOr(0);
    if (n == 0) ctx.Timers().RegisterEventTimeTimer(in.timestamp() + 10);
    count_.Update(n + 1);
    amounts_.Add(in.GetInt64(1));
    seen_.Put(in.GetInt64(1), "x");
  }
  void OnTimer(int64_t time, Context& ctx, Collector& out) override {
    int64_t sum = 0;
    amounts_.ForEach([&](int64_t a) { sum += a; });
    int64_t distinct = 0;
    seen_.ForEach([&](int64_t, const std::string&) { ++distinct; });
    RowWriter& w = out.Emit();
    w.SetString(0, ctx.CurrentKey().GetString(0));
    w.SetInt64(1, count_.ValueOr(-1));
    w.SetInt64(2, sum * 1000 + distinct);
    EXPECT_EQ(ctx.Timestamp(), time);
    EXPECT_EQ(ctx.Domain(), TimeDomain::kEventTime);
    count_.Clear();
    amounts_.Clear();
    seen_.Clear();
  }
  ValueState<int64_t> count_;
  ListState<int64_t> amounts_;
  MapState<int64_t, std::string> seen_;
};

SchemaPtr Report() {
  return Schema({{"card", core::Type::kString}, {"n", core::Type::kInt64}, {"x", core::Type::kInt64}});
}

FunctionOperatorSpec CountSpec() {
  return {"f1", Factory(FunctionKind::kProcess, CountThenReport{}), {Payments()}, {{"card"}},
          Report(), nullptr};
}

TEST(FunctionOperator, KeyedStateAndEventTimersFireOncePerKeyOnTheWatermark) {
  auto op = MakeOrDie(CountSpec());
  ASSERT_TRUE(op->Open(Ctx()).ok());
  Out out;
  ASSERT_TRUE(op->ProcessBatch(Batch({{100, "a", 1}, {101, "b", 5}, {103, "a", 2}, {104, "a", 2}}), out).ok());
  ASSERT_TRUE(op->ProcessWatermark(109, out).ok());
  EXPECT_TRUE(out.rows.empty());
  ASSERT_TRUE(op->ProcessWatermark(110, out).ok());
  EXPECT_THAT(out.rows, ElementsAre("a,3,5002@110"));
  ASSERT_TRUE(op->ProcessWatermark(200, out).ok());
  ASSERT_TRUE(op->ProcessWatermark(300, out).ok());
  EXPECT_THAT(out.rows, ElementsAre("a,3,5002@110", "b,1,5001@111"));
  EXPECT_THAT(out.watermarks, ElementsAre(109, 110, 200, 300));
}

TEST(FunctionOperator, KeyedStateAndTimersContinueAfterARestoreAtAnotherParallelism) {
  state::KeyedStateBackend before(128, {0, 127});
  auto op = MakeOrDie(CountSpec());
  ASSERT_TRUE(op->Open(Ctx(&before)).ok());
  Out out;
  ASSERT_TRUE(op->ProcessBatch(Batch({{100, "a", 1}, {101, "b", 5}}), out).ok());
  auto snap = before.Snapshot();
  ASSERT_TRUE(snap.ok());
  op->Close();
  // Two new subtasks split the key groups; each restores its half and fires its keys' timers.
  std::vector<std::string> all;
  for (core::KeyGroupRange range : {core::KeyGroupRange{0, 63}, core::KeyGroupRange{64, 127}}) {
    state::KeyedStateBackend after(128, range);
    ASSERT_TRUE(after.Restore({snap->bytes}, {snap->key_group_offsets}).ok());
    auto restored = MakeOrDie(CountSpec());
    ASSERT_TRUE(restored->Open(Ctx(&after)).ok());
    RecordBatch more(Payments());
    for (auto [card, amount] : {std::pair{"a", 2}, std::pair{"b", 3}}) {
      core::KeySelector keys = *core::KeySelector::Create(*Payments(), {"card"});
      RecordBatch one = Batch({{105, card, amount}});
      if (range.Contains(keys.KeyGroup(one, 0, 128))) Add(&more, 105, card, amount);
    }
    Out o;
    ASSERT_TRUE(restored->ProcessBatch(more, o).ok());
    ASSERT_TRUE(restored->ProcessWatermark(1000, o).ok());
    all.insert(all.end(), o.rows.begin(), o.rows.end());
  }
  EXPECT_THAT(all, UnorderedElementsAre("a,2,3002@110", "b,2,8002@111"));
}

// Emits the card 50 ms (processing time) after each row.
struct Delay : ProcessFunction {
  void ProcessElement(const Row&, Context& ctx, Collector&) override {
    ctx.Timers().RegisterProcessingTimeTimer(ctx.Timers().CurrentProcessingTime() + 50);
  }
  void OnTimer(int64_t, Context& ctx, Collector& out) override {
    EXPECT_EQ(ctx.Domain(), TimeDomain::kProcessingTime);
    out.Emit().SetString(0, ctx.CurrentKey().GetString(0));
  }
};

TEST(FunctionOperator, ProcessingTimersFireByTheClockAndSurviveACheckpoint) {
  ManualClock clock(1000);
  FunctionOperatorSpec spec{"f1", Factory(FunctionKind::kProcess, Delay{}), {Payments()}, {{"card"}},
                            Schema({{"card", core::Type::kString}}), nullptr, &clock};
  state::KeyedStateBackend backend(128, {0, 127});
  auto op = MakeOrDie(spec);
  ASSERT_TRUE(op->Open(Ctx(&backend)).ok());
  Out out;
  ASSERT_TRUE(op->ProcessBatch(Batch({{1, "a", 1}}), out).ok());
  clock.Set(1020);
  ASSERT_TRUE(op->ProcessBatch(Batch({{2, "b", 1}}), out).ok());
  EXPECT_EQ(op->NextProcessingTime(), 1050);
  auto state = op->SnapshotState(1);
  ASSERT_TRUE(state.ok());
  clock.Set(1060);
  ASSERT_TRUE(op->OnProcessingTime(1060, out).ok());
  EXPECT_THAT(out.rows, ElementsAre("a@" + std::to_string(core::kNoTimestamp)));
  EXPECT_EQ(op->NextProcessingTime(), 1070);

  // A restore from the checkpoint fires both again (they were pending in it), each once.
  auto restored = MakeOrDie(spec);
  api::OperatorContext ctx = Ctx(&backend);
  ctx.restored_state = *state;
  ASSERT_TRUE(restored->Open(ctx).ok());
  Out again;
  ASSERT_TRUE(restored->OnProcessingTime(1100, again).ok());
  ASSERT_TRUE(restored->OnProcessingTime(1200, again).ok());
  EXPECT_EQ(again.rows.size(), 2u);
  EXPECT_EQ(restored->NextProcessingTime(), std::nullopt);
}

// --- broadcast state ------------------------------------------------------------------------

// Rules set the limit; payments above the current limit are reported, and to a side output.
struct LimitCheck : BroadcastProcessFunction {
  void Open(RuntimeContext& ctx) override { rules_ = ctx.GetBroadcastState<std::string, int64_t>("rules"); }
  void ProcessElement(const Row& in, Context&, Collector& out) override {
    const int64_t limit = rules_.Get("limit").value_or(100);
    if (in.GetInt64(1) > limit) {
      out.Emit().Copy(0, in, 0);
      out.EmitTo(0).SetInt64(0, in.GetInt64(1));
    }
    if (in.GetString(0) == "cheat") rules_.Put("limit", 0);
  }
  void ProcessBroadcastElement(const Row& in, Context&, Collector&) override {
    rules_.Put("limit", in.GetInt64(0));
  }
  MapState<std::string, int64_t> rules_;
};

FunctionOperatorSpec LimitSpec(bool keyed) {
  FunctionOperatorSpec spec{"f1", Factory(FunctionKind::kBroadcastProcess, LimitCheck{}), {Payments(), Rules()},
                            {}, Schema({{"card", core::Type::kString}}), Rules()};
  if (keyed) spec.keys = {{"card"}, {}};
  return spec;
}

RecordBatch Rule(int64_t limit) {
  RecordBatch b(Rules());
  b.SetInt64(b.AppendRow(0), 0, limit);
  return b;
}

TEST(FunctionOperator, BroadcastStateSetByTheBroadcastSideDecidesOnTheOther) {
  auto op = MakeOrDie(LimitSpec(true));
  ASSERT_TRUE(op->Open(Ctx()).ok());
  Out out;
  ASSERT_TRUE(op->ProcessInput(0, Batch({{1, "a", 150}, {2, "b", 50}}), out).ok());
  ASSERT_TRUE(op->ProcessInput(1, Rule(20), out).ok());
  ASSERT_TRUE(op->ProcessInput(0, Batch({{3, "c", 30}, {4, "d", 10}}), out).ok());
  EXPECT_THAT(out.rows, ElementsAre("a@1", "c@3"));
  EXPECT_THAT(out.side_rows, ElementsAre("1:150", "1:30"));
}

TEST(FunctionOperator, BroadcastStateIsReadOnlyOnTheNonBroadcastSide) {
  auto op = MakeOrDie(LimitSpec(true));
  ASSERT_TRUE(op->Open(Ctx()).ok());
  Out out;
  absl::Status s = op->ProcessInput(0, Batch({{1, "cheat", 1}}), out);
  EXPECT_THAT(s.message(), HasSubstr("ReadOnlyBroadcastState"));
}

TEST(FunctionOperator, BroadcastStateIsRestoredIntoEveryNewSubtask) {
  auto op = MakeOrDie(LimitSpec(false));
  ASSERT_TRUE(op->Open(Ctx()).ok());
  Out out;
  ASSERT_TRUE(op->ProcessInput(1, Rule(7), out).ok());
  auto bytes = op->SnapshotState(1);
  ASSERT_TRUE(bytes.ok());
  for (int subtask = 0; subtask < 3; ++subtask) {
    auto restored = MakeOrDie(LimitSpec(false));
    api::OperatorContext ctx = Ctx();
    ctx.restored_union_states = {*bytes, *bytes};
    ctx.restored_parallelism = 2;
    ctx.subtask_index = subtask;
    ASSERT_TRUE(restored->Open(ctx).ok());
    Out o;
    ASSERT_TRUE(restored->ProcessInput(0, Batch({{1, "x", 8}, {2, "y", 6}}), o).ok());
    EXPECT_THAT(o.rows, ElementsAre("x@1")) << subtask;
  }
}

TEST(FunctionOperator, NonKeyedFunctionsHaveNoKeyedStateOrTimers) {
  struct WantsState : ProcessFunction {
    void Open(RuntimeContext& ctx) override { ctx.GetValueState<int64_t>("x"); }
    void ProcessElement(const Row&, Context&, Collector&) override {}
  };
  auto op = MakeOrDie({"f1", Factory(FunctionKind::kProcess, WantsState{}), {Payments()}, {},
                       Payments(), nullptr});
  absl::Status s = op->Open(Ctx());
  EXPECT_THAT(s.message(), HasSubstr("keyed state needs a keyed input"));
}

TEST(FunctionOperator, RefusesSpecsThatDoNotFitTheKind) {
  auto co = MakeFunctionOperator({"f9", Factory(FunctionKind::kCoProcess, LimitCheck{}), {Payments()}, {},
                                  Payments(), nullptr});
  EXPECT_THAT(co.status().message(), HasSubstr("reads 2 input(s), the step gives 1"));
  auto keyed_map = MakeFunctionOperator({"f9", Factory(FunctionKind::kMap, ToCents{}), {Payments()},
                                         {{"card"}}, Payments(), nullptr});
  EXPECT_THAT(keyed_map.status().message(), HasSubstr("not keyed"));
  auto bad_key = MakeFunctionOperator({"f9", Factory(FunctionKind::kProcess, Delay{}), {Payments()},
                                       {{"nope"}}, Payments(), nullptr});
  EXPECT_THAT(bad_key.status().message(), HasSubstr("nope"));
}

}  // namespace
}  // namespace sluice::udf

// Lookup join: each row is enriched with the matching table rows (inner: unmatched rows are
// dropped, left: kept with nulls; several matches give several rows; a null key matches
// nothing); the table is reloaded on schedule and only then; a failed reload keeps the old
// table; bad specs are refused naming the field.

#include "runtime/operators/lookup_join.h"

#include "gtest/gtest.h"
#include "runtime/base/clock.h"
#include "runtime/operators/tests/window_test_util.h"

namespace sluice::operators {
namespace {

using core::Field;
using core::RecordBatch;
using core::Type;
using testing::AddRow;
using testing::CollectingOutput;
using testing::InputSchema;

core::SchemaPtr TableSchema() {
  return std::make_shared<const core::Schema>(
      std::vector<Field>{{"iata", Type::kString}, {"state", Type::kString}});
}

// A table the test changes between loads (stands in for the file; the file source has its own
// test in runtime/connectors/file).
struct TableData {
  std::vector<std::pair<std::string, std::string>> rows;
  int version = 0;         // bumped by the test when rows change
  int loads = 0;           // how often LoadIfChanged read the rows
  bool fail_next = false;  // the next load fails
};

class FakeTable final : public LookupTableSource {
 public:
  explicit FakeTable(TableData* d) : d_(d) {}
  core::SchemaPtr schema() const override { return TableSchema(); }
  std::string Describe() const override { return "fake table"; }
  absl::StatusOr<std::optional<RecordBatch>> LoadIfChanged() override {
    if (d_->fail_next) {
      d_->fail_next = false;
      return absl::DataLossError("fake table: torn file");
    }
    if (d_->version == seen_) return std::nullopt;
    seen_ = d_->version;
    ++d_->loads;
    RecordBatch b(TableSchema());
    for (const auto& [k, v] : d_->rows) {
      const size_t r = b.AppendRow();
      if (k == "<null>") b.SetNull(r, 0); else b.SetString(r, 0, k);
      b.SetString(r, 1, v);
    }
    return b;
  }

 private:
  TableData* d_;
  int seen_ = -1;
};

class LookupJoinTest : public ::testing::Test {
 protected:
  std::unique_ptr<api::Operator> Open(bool left, int64_t reload_ms = 0) {
    LookupJoinSpec spec{{"origin"}, {"iata"}, {{"origin_state", "state"}}, left, reload_ms};
    auto op = MakeLookupJoin(InputSchema(), spec,
                             [this] { return std::make_unique<FakeTable>(&data_); }, &clock_);
    EXPECT_TRUE(op.ok()) << op.status();
    api::OperatorContext ctx;
    ctx.operator_name = "enrich";
    EXPECT_TRUE((*op)->Open(ctx).ok());
    return *std::move(op);
  }
  // "origin:state" of each output row (a null state prints empty).
  std::vector<std::string> Run(api::Operator* op, std::vector<std::string> origins) {
    RecordBatch in(InputSchema());
    int64_t ts = 0;
    for (const std::string& o : origins) AddRow(&in, ts++, o, 1, 0);
    CollectingOutput out;
    EXPECT_TRUE(op->ProcessBatch(in, out).ok());
    std::vector<std::string> v;
    for (const std::string& row : out.rows) {
      const size_t a = row.find(','), b = row.find(',', a + 1), c = row.find(',', b + 1);
      v.push_back(row.substr(b + 1, c - b - 1) + ":" + row.substr(row.rfind(',') + 1));
    }
    return v;
  }

  TableData data_{{{"ATL", "GA"}, {"ORD", "IL"}, {"DUP", "X"}, {"DUP", "Y"}, {"<null>", "N"}}};
  ManualClock clock_{1'000'000};
};

TEST_F(LookupJoinTest, InnerJoinDropsRowsWithoutAMatchAndRepeatsForEachMatch) {
  auto op = Open(/*left=*/false);
  EXPECT_EQ(Run(op.get(), {"ATL", "SFO", "DUP", "ORD"}),
            (std::vector<std::string>{"ATL:GA", "DUP:X", "DUP:Y", "ORD:IL"}));
  EXPECT_EQ(op->output_schema()->FieldNames(), "date, delay, origin, distance, origin_state");
}

TEST_F(LookupJoinTest, LeftJoinKeepsRowsWithoutAMatchWithNulls) {
  auto op = Open(/*left=*/true);
  RecordBatch in(InputSchema());
  AddRow(&in, 5, "SFO", 1, 0);
  AddRow(&in, 6, "", 1, 0);
  in.SetNull(1, 2);  // a null key matches nothing, not even the table's null key
  CollectingOutput out;
  ASSERT_TRUE(op->ProcessBatch(in, out).ok());
  ASSERT_EQ(out.rows.size(), 2u);
  EXPECT_EQ(out.rows[0], "1970-01-01T00:00:00.005Z,1,SFO,0,");
  EXPECT_EQ(out.timestamps[0], 5);
  EXPECT_EQ(out.rows[1], "1970-01-01T00:00:00.006Z,1,,0,"  /* nulls print empty */);
}

TEST_F(LookupJoinTest, ReloadsOnScheduleOnlyAndKeepsTheOldTableOnFailure) {
  auto op = Open(/*left=*/true, /*reload_ms=*/60'000);
  EXPECT_EQ(data_.loads, 1);
  data_.rows = {{"ATL", "Georgia"}};
  ++data_.version;
  EXPECT_EQ(Run(op.get(), {"ATL"}), (std::vector<std::string>{"ATL:GA"})) << "not due yet";
  clock_.Advance(60'000);
  EXPECT_EQ(Run(op.get(), {"ATL", "ORD"}), (std::vector<std::string>{"ATL:Georgia", "ORD:"}));
  EXPECT_EQ(data_.loads, 2);
  clock_.Advance(60'000);
  data_.fail_next = true;
  EXPECT_EQ(Run(op.get(), {"ATL"}), (std::vector<std::string>{"ATL:Georgia"}));
  clock_.Advance(60'000);
  EXPECT_EQ(Run(op.get(), {"ATL"}), (std::vector<std::string>{"ATL:Georgia"}));
  EXPECT_EQ(data_.loads, 2) << "an unchanged table is not read again";
}

TEST_F(LookupJoinTest, BadSpecsNameTheField) {
  auto make = [this](LookupJoinSpec spec) -> std::string {
    auto op = MakeLookupJoin(InputSchema(), spec,
                             [this] { return std::make_unique<FakeTable>(&data_); }, &clock_);
    return std::string(op.status().message());
  };
  EXPECT_EQ(make({{"origin"}, {"iata"}, {{"s", "statee"}}, false, 0}),
            "lookup join: unknown table field 'statee' (table fields: iata, state)");
  EXPECT_EQ(make({{"delay"}, {"iata"}, {{"s", "state"}}, false, 0}),
            "lookup join: stream field 'delay' is int64 but table field 'iata' is string; key "
            "fields must have the same type");
  EXPECT_EQ(make({{"origin"}, {"iata"}, {{"delay", "state"}}, false, 0}),
            "lookup join: output field 'delay' already exists (input fields: date, delay, "
            "origin, distance); rename it");
  EXPECT_EQ(make({{"origin"}, {}, {}, false, 0}),
            "lookup join: needs as many stream key fields as table key fields, at least one (got "
            "1 and 0)");
}

TEST_F(LookupJoinTest, AFailedFirstLoadFailsOpen) {
  data_.fail_next = true;
  auto op = MakeLookupJoin(InputSchema(), {{"origin"}, {"iata"}, {{"s", "state"}}, false, 0},
                           [this] { return std::make_unique<FakeTable>(&data_); }, &clock_);
  ASSERT_TRUE(op.ok());
  api::OperatorContext ctx;
  EXPECT_EQ((*op)->Open(ctx).message(), "fake table: torn file");
}

}  // namespace
}  // namespace sluice::operators

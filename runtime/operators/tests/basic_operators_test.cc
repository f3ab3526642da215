#include "runtime/operators/basic_operators.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/core/time_format.h"

namespace sluice::operators {
namespace {

using core::RecordBatch;
using core::Schema;
using core::SchemaPtr;
using core::Type;

SchemaPtr FlightsSchema() {
  return std::make_shared<Schema>(std::vector<core::Field>{{"date", Type::kTimestamp},
                                                           {"delay", Type::kInt64},
                                                           {"distance", Type::kInt64},
                                                           {"origin", Type::kString},
                                                           {"destination", Type::kString}});
}

// Records what an operator emits: each batch's rows as text with their timestamps.
class CollectingOutput : public api::Output {
 public:
  absl::Status Emit(const RecordBatch& batch) override {
    ++batches;
    schema = batch.schema_ptr();
    for (size_t r = 0; r < batch.num_rows(); ++r) {
      rows.push_back(batch.RowToString(r));
      timestamps.push_back(batch.timestamp(r));
    }
    return absl::OkStatus();
  }
  absl::Status EmitWatermark(int64_t watermark) override {
    watermarks.push_back(watermark);
    return absl::OkStatus();
  }
  int batches = 0;
  SchemaPtr schema;
  std::vector<std::string> rows;
  std::vector<int64_t> timestamps;
  std::vector<int64_t> watermarks;
};

RecordBatch Flights() {
  RecordBatch b(FlightsSchema());
  struct Row {
    const char* date;
    int64_t delay, distance;
    const char* origin;
    const char* destination;
  };
  const Row rows[] = {{"2001-01-01T00:01:00Z", 14, 2586, "ATL", "LAX"},
                      {"2001-01-01T00:02:00Z", -3, 500, "JFK", "BOS"},
                      {"2001-01-01T00:03:00Z", 30, 1200, "ATL", "ORD"},
                      {"2001-01-01T00:04:00Z", 0, 300, "SFO", "LAX"}};
  for (const Row& x : rows) {
    int64_t ts = *core::ParseTimestamp(x.date);
    size_t r = b.AppendRow(ts);
    b.SetInt64(r, 0, ts);
    b.SetInt64(r, 1, x.delay);
    b.SetInt64(r, 2, x.distance);
    b.SetString(r, 3, x.origin);
    b.SetString(r, 4, x.destination);
  }
  return b;
}

TEST(FilterOperator, EmitsMatchingRowsWithTimestampsAndCounts) {
  auto op = MakeFilter(FlightsSchema(), "delay > 10 and origin = 'ATL'");
  ASSERT_TRUE(op.ok()) << op.status();
  api::OperatorMetrics metrics;
  api::OperatorContext ctx;
  ctx.metrics = &metrics;
  ASSERT_TRUE((*op)->Open(ctx).ok());
  CollectingOutput out;
  RecordBatch in = Flights();
  ASSERT_TRUE((*op)->ProcessBatch(in, out).ok());
  EXPECT_EQ(out.rows, (std::vector<std::string>{"2001-01-01T00:01:00Z,14,2586,ATL,LAX",
                                                "2001-01-01T00:03:00Z,30,1200,ATL,ORD"}));
  EXPECT_EQ(out.timestamps, (std::vector<int64_t>{in.timestamp(0), in.timestamp(2)}));
  EXPECT_EQ(*out.schema, *FlightsSchema());
  EXPECT_EQ(metrics.records_in.load(), 4);
  EXPECT_EQ(metrics.records_out.load(), 2);

  // The reused output batch does not keep rows of the previous batch.
  ASSERT_TRUE((*op)->ProcessBatch(in, out).ok());
  EXPECT_EQ(out.rows.size(), 4u);
  EXPECT_EQ(out.rows[2], out.rows[0]);
}

TEST(FilterOperator, EmitsNothingWhenNoRowMatchesAndAllWhenAllMatch) {
  auto none = MakeFilter(FlightsSchema(), "delay > 1000");
  auto all = MakeFilter(FlightsSchema(), "distance > 0");
  ASSERT_TRUE(none.ok() && all.ok());
  CollectingOutput out_none, out_all;
  RecordBatch in = Flights();
  ASSERT_TRUE((*none)->ProcessBatch(in, out_none).ok());
  ASSERT_TRUE((*all)->ProcessBatch(in, out_all).ok());
  EXPECT_EQ(out_none.batches, 0);
  EXPECT_EQ(out_all.batches, 1);
  EXPECT_EQ(out_all.rows.size(), 4u);
}

TEST(FilterOperator, ForwardsWatermarks) {
  auto op = MakeFilter(FlightsSchema(), "delay > 0");
  ASSERT_TRUE(op.ok());
  CollectingOutput out;
  ASSERT_TRUE((*op)->ProcessWatermark(1234, out).ok());
  ASSERT_TRUE((*op)->ProcessWatermark(api::kMaxWatermark, out).ok());
  ASSERT_TRUE((*op)->Finish(out).ok());
  EXPECT_EQ(out.watermarks, (std::vector<int64_t>{1234, api::kMaxWatermark}));
  EXPECT_EQ(out.batches, 0);
}

TEST(FilterOperator, RuntimeErrorNamesOperatorAndExpression) {
  auto op = MakeFilter(FlightsSchema(), "distance / delay > 1");
  ASSERT_TRUE(op.ok());
  api::OperatorContext ctx;
  ctx.operator_name = "Filter";
  ASSERT_TRUE((*op)->Open(ctx).ok());
  CollectingOutput out;
  absl::Status s = (*op)->ProcessBatch(Flights(), out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "operator 'Filter': error evaluating 'distance / delay > 1': division by zero "
            "(300 / 0)");
}

TEST(MakeFilter, RejectsNonBoolAndBadPredicates) {
  int offset = -1;
  auto op = MakeFilter(FlightsSchema(), "delay + 1", &offset);
  ASSERT_FALSE(op.ok());
  EXPECT_EQ(op.status().message(), "filter predicate must be bool but 'delay + 1' is int64");
  EXPECT_EQ(offset, 0);
  auto bad = MakeFilter(FlightsSchema(), "delay > 'x'", &offset);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "type mismatch: cannot compare int64 'delay' with string literal 'x'");
  EXPECT_EQ(offset, 6);
}

TEST(MapOperator, ComputesOutputsPerRowWithTimestamps) {
  SchemaPtr in_schema = FlightsSchema();
  MapOperator::Outputs outs;
  auto add = [&](const char* name, const char* text) {
    auto e = expr::Expression::Compile(text, *in_schema);
    ASSERT_TRUE(e.ok()) << e.status();
    outs.emplace_back(name, *std::move(e));
  };
  add("route", "concat(origin, '-', destination)");
  add("late", "delay > 15");
  add("hours", "distance / 500.0");
  add("origin", "origin");
  add("hour", "hour(date + INTERVAL '2' HOUR)");
  auto op = MakeMap(in_schema, std::move(outs));
  ASSERT_TRUE(op.ok()) << op.status();
  EXPECT_EQ((*op)->output_schema()->ToString(),
            "route:string, late:bool, hours:double, origin:string, hour:int64");
  api::OperatorMetrics metrics;
  api::OperatorContext ctx;
  ctx.metrics = &metrics;
  ASSERT_TRUE((*op)->Open(ctx).ok());
  CollectingOutput out;
  RecordBatch in = Flights();
  ASSERT_TRUE((*op)->ProcessBatch(in, out).ok());
  EXPECT_EQ(out.rows, (std::vector<std::string>{"ATL-LAX,false,5.172,ATL,2",
                                                "JFK-BOS,false,1,JFK,2",
                                                "ATL-ORD,true,2.4,ATL,2",
                                                "SFO-LAX,false,0.6,SFO,2"}));
  for (size_t r = 0; r < in.num_rows(); ++r) EXPECT_EQ(out.timestamps[r], in.timestamp(r));
  EXPECT_EQ(metrics.records_in.load(), 4);
  EXPECT_EQ(metrics.records_out.load(), 4);
}

TEST(MakeMap, RejectsDuplicateOutputNames) {
  SchemaPtr in_schema = FlightsSchema();
  MapOperator::Outputs outs;
  outs.emplace_back("x", *expr::Expression::Compile("delay", *in_schema));
  outs.emplace_back("x", *expr::Expression::Compile("distance", *in_schema));
  auto op = MakeMap(in_schema, std::move(outs));
  ASSERT_FALSE(op.ok());
  EXPECT_EQ(op.status().message(), "duplicate output field 'x'");
}

TEST(MakeProject, ReordersAndDropsFields) {
  auto op = MakeProject(FlightsSchema(), {"destination", "delay"});
  ASSERT_TRUE(op.ok()) << op.status();
  EXPECT_EQ((*op)->output_schema()->ToString(), "destination:string, delay:int64");
  CollectingOutput out;
  ASSERT_TRUE((*op)->ProcessBatch(Flights(), out).ok());
  EXPECT_EQ(out.rows,
            (std::vector<std::string>{"LAX,14", "BOS,-3", "ORD,30", "LAX,0"}));
}

TEST(MakeProject, UnknownFieldListsFields) {
  auto op = MakeProject(FlightsSchema(), {"origin", "delays"});
  ASSERT_FALSE(op.ok());
  EXPECT_EQ(op.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(op.status().message(),
            "unknown field 'delays' (fields: date, delay, distance, origin, destination)");
}

}  // namespace
}  // namespace sluice::operators

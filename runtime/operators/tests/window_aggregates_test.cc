// The window aggregate functions on their own: first/last in arrival order skipping nulls,
// population and sample variance and standard deviation against a two-pass computation
// (int64 and double inputs), nulls for empty and one-row samples, the slot layout (stddev takes
// two slots after the others, so older window state still lines up), and resolution errors.

#include "runtime/operators/window_aggregates.h"

#include <cmath>

#include "gtest/gtest.h"

namespace sluice::operators {
namespace {

using core::Field;
using core::RecordBatch;
using core::Type;

core::SchemaPtr Schema() {
  return std::make_shared<const core::Schema>(std::vector<Field>{
      {"n", Type::kInt64}, {"x", Type::kDouble}, {"t", Type::kTimestamp}, {"s", Type::kString}});
}

std::vector<AggregateSpec> All() {
  return {{"c", AggregateKind::kCount, ""},        {"first_n", AggregateKind::kFirst, "n"},
          {"last_x", AggregateKind::kLast, "x"},    {"first_t", AggregateKind::kFirst, "t"},
          {"sd_pop", AggregateKind::kStddevPop, "n"}, {"sd_samp", AggregateKind::kStddevSamp, "x"},
          {"var_pop", AggregateKind::kVarPop, "x"},   {"var_samp", AggregateKind::kVarSamp, "n"}};
}

// Feeds rows (n, x; nullopt = null) and returns the results row.
RecordBatch Aggregate(const std::vector<std::pair<std::optional<int64_t>, std::optional<double>>>& rows,
                std::vector<Field>* fields) {
  auto aggs = WindowAggregates::Resolve(*Schema(), All(), fields);
  EXPECT_TRUE(aggs.ok()) << aggs.status();
  WindowContents w = aggs->Fresh();
  RecordBatch in(Schema());
  int64_t ts = 1000;
  for (const auto& [n, x] : rows) {
    const size_t r = in.AppendRow(ts);
    n ? in.SetInt64(r, 0, *n) : in.SetNull(r, 0);
    x ? in.SetDouble(r, 1, *x) : in.SetNull(r, 1);
    in.SetInt64(r, 2, ts++);
    in.SetString(r, 3, "a");
  }
  for (size_t r = 0; r < in.num_rows(); ++r) aggs->Accumulate(w, in, r);
  RecordBatch out(std::make_shared<const core::Schema>(*fields));
  const size_t r = out.AppendRow(0);
  aggs->WriteResults(w, &out, r, 0);
  return out;
}

double Variance(const std::vector<double>& v, bool sample) {
  double mean = 0;
  for (double d : v) mean += d;
  mean /= static_cast<double>(v.size());
  double m2 = 0;
  for (double d : v) m2 += (d - mean) * (d - mean);
  return m2 / static_cast<double>(sample ? v.size() - 1 : v.size());
}

TEST(WindowAggregates, FirstLastAndDeviationsSkipNulls) {
  std::vector<Field> fields;
  RecordBatch out = Aggregate({{std::nullopt, 2.5}, {7, std::nullopt}, {3, 1.0}, {11, 4.0},
                         {std::nullopt, std::nullopt}},
                        &fields);
  ASSERT_EQ(fields.size(), 8u);
  EXPECT_EQ(fields[1].type, Type::kInt64);   // first of int64
  EXPECT_EQ(fields[3].type, Type::kTimestamp);
  EXPECT_EQ(fields[4].type, Type::kDouble);  // stddev of int64
  EXPECT_EQ(out.GetInt64(0, 0), 5);          // count() counts every row
  EXPECT_EQ(out.GetInt64(0, 1), 7);          // the first non-null n
  EXPECT_EQ(out.GetDouble(0, 2), 4.0);       // the last non-null x
  EXPECT_EQ(out.GetInt64(0, 3), 1000);
  const std::vector<double> ns = {7, 3, 11}, xs = {2.5, 1.0, 4.0};
  EXPECT_NEAR(out.GetDouble(0, 4), std::sqrt(Variance(ns, false)), 1e-12);
  EXPECT_NEAR(out.GetDouble(0, 5), std::sqrt(Variance(xs, true)), 1e-12);
  EXPECT_NEAR(out.GetDouble(0, 6), Variance(xs, false), 1e-12);
  EXPECT_NEAR(out.GetDouble(0, 7), Variance(ns, true), 1e-12);
}

TEST(WindowAggregates, NoInputIsNullAndOneInputHasNoSampleVariance) {
  std::vector<Field> fields;
  RecordBatch none = Aggregate({{std::nullopt, std::nullopt}}, &fields);
  for (size_t c : {1, 2, 4, 5, 6, 7}) EXPECT_TRUE(none.IsNull(0, c)) << fields[c].name;
  EXPECT_EQ(none.GetInt64(0, 3), 1000);  // t is never null here
  fields.clear();
  RecordBatch one = Aggregate({{4, 2.0}}, &fields);
  EXPECT_EQ(one.GetDouble(0, 4), 0.0);  // population: 0
  EXPECT_TRUE(one.IsNull(0, 5));        // sample: undefined for one input
  EXPECT_EQ(one.GetDouble(0, 6), 0.0);
  EXPECT_TRUE(one.IsNull(0, 7));
}

TEST(WindowAggregates, DeviationsTakeTwoSlotsAfterTheEarlierAggregates) {
  std::vector<Field> fields;
  auto aggs = WindowAggregates::Resolve(*Schema(), All(), &fields);
  ASSERT_TRUE(aggs.ok());
  EXPECT_EQ(aggs->num_aggregates(), 8u);
  EXPECT_EQ(aggs->num_slots(), 12u);  // 4 single slots + 4 deviations x 2
}

TEST(WindowAggregates, ResolutionErrorsNameTheAggregate) {
  std::vector<Field> fields;
  auto bad = WindowAggregates::Resolve(*Schema(), {{"sd", AggregateKind::kStddevPop, "s"}},
                                       &fields);
  EXPECT_EQ(bad.status().message(),
            "aggregate 'sd': stddev_pop needs an int64 or double field, 's' is string");
  bad = WindowAggregates::Resolve(*Schema(), {{"f", AggregateKind::kFirst, "s"}}, &fields);
  EXPECT_EQ(bad.status().message(),
            "aggregate 'f': first needs an int64, double or timestamp field, 's' is string");
  EXPECT_EQ(ParseAggregateKind("stddev"), AggregateKind::kStddevSamp);
  EXPECT_EQ(ParseAggregateKind("variance"), AggregateKind::kVarSamp);
  for (AggregateKind k : {AggregateKind::kFirst, AggregateKind::kVarPop}) {
    EXPECT_EQ(ParseAggregateKind(AggregateKindName(k)), k);
  }
}

}  // namespace
}  // namespace sluice::operators

namespace sluice::operators {
namespace {

// count_distinct counts distinct non-null values of any type; collect_list joins the values in
// arrival order as CSV text (quoting one with a comma) and is null over none; both merge
// (distinct: a union; list: later after earlier) and survive the snapshot encoding.
TEST(WindowAggregates, CountDistinctAndCollectListKeepTheirValues) {
  std::vector<Field> fields;
  auto aggs = WindowAggregates::Resolve(
      *Schema(),
      {{"d", AggregateKind::kCountDistinct, "s"}, {"l", AggregateKind::kCollectList, "s"},
       {"dn", AggregateKind::kCountDistinct, "n"}},
      &fields);
  ASSERT_TRUE(aggs.ok()) << aggs.status();
  EXPECT_EQ(fields[0].type, Type::kInt64);
  EXPECT_EQ(fields[1].type, Type::kString);
  EXPECT_EQ(aggs->num_value_lists(), 3u);
  RecordBatch in(Schema());
  const std::vector<std::pair<std::string, int64_t>> rows = {
      {"b", 1}, {"a,x", 2}, {"b", 1}, {"", 3}};
  for (const auto& [s, n] : rows) {
    const size_t r = in.AppendRow(0);
    in.SetInt64(r, 0, n);
    in.SetDouble(r, 1, 0);
    in.SetInt64(r, 2, 0);
    in.SetString(r, 3, s);
  }
  in.SetNull(3, 3);  // the last s is null: skipped
  WindowContents early = aggs->Fresh(), late = aggs->Fresh(), none = aggs->Fresh();
  for (size_t r = 0; r < 2; ++r) aggs->Accumulate(early, in, r);
  for (size_t r = 2; r < 4; ++r) aggs->Accumulate(late, in, r);
  aggs->Merge(early, late);

  // Round trip through the snapshot encoding.
  std::string bytes;
  state::ByteWriter w(&bytes);
  state::Serializer<WindowContents>::Write(early, w);
  WindowContents back;
  state::ByteReader rd(bytes);
  ASSERT_TRUE(state::Serializer<WindowContents>::Read(rd, &back).ok());

  RecordBatch out(std::make_shared<core::Schema>(fields));
  out.AppendRow(0);  // strings are written into the last row
  aggs->WriteResults(back, &out, 0, 0);
  out.AppendRow(0);
  aggs->WriteResults(none, &out, 1, 0);
  EXPECT_EQ(out.RowToString(0), "2,\"b,\"\"a,x\"\",b\",3");
  EXPECT_EQ(out.GetString(0, 1), "b,\"a,x\",b");
  EXPECT_EQ(out.RowToString(1), "0,,0") << "no values: a count of 0 and a null list";
  EXPECT_TRUE(out.IsNull(1, 1));
}

}  // namespace
}  // namespace sluice::operators

namespace sluice::operators {
namespace {

// count(f) counts the non-null f (SQL's COUNT(f)); min/max of strings compare bytewise, merge,
// and are null over no values.
TEST(WindowAggregates, CountOfAFieldAndStringMinMax) {
  std::vector<Field> fields;
  auto aggs = WindowAggregates::Resolve(
      *Schema(),
      {{"rows", AggregateKind::kCount, ""}, {"non_null", AggregateKind::kCount, "s"},
       {"lo", AggregateKind::kMin, "s"}, {"hi", AggregateKind::kMax, "s"}},
      &fields);
  ASSERT_TRUE(aggs.ok()) << aggs.status();
  EXPECT_EQ(fields[2].type, Type::kString);
  RecordBatch in(Schema());
  for (const char* s : {"pear", "apple", "", "zebra"}) {
    const size_t r = in.AppendRow(0);
    in.SetInt64(r, 0, 0);
    in.SetDouble(r, 1, 0);
    in.SetInt64(r, 2, 0);
    in.SetString(r, 3, s);
  }
  in.SetNull(2, 3);
  WindowContents early = aggs->Fresh(), late = aggs->Fresh(), none = aggs->Fresh();
  for (size_t r = 0; r < 2; ++r) aggs->Accumulate(early, in, r);
  for (size_t r = 2; r < 4; ++r) aggs->Accumulate(late, in, r);
  aggs->Merge(early, late);
  RecordBatch out(std::make_shared<core::Schema>(fields));
  out.AppendRow(0);
  aggs->WriteResults(early, &out, 0, 0);
  out.AppendRow(0);
  aggs->WriteResults(none, &out, 1, 0);
  EXPECT_EQ(out.RowToString(0), "4,3,apple,zebra");
  EXPECT_EQ(out.RowToString(1), "0,0,,");
}

}  // namespace
}  // namespace sluice::operators

// Vectorized evaluation (EvalBatchBool, EvalBatchInto) gives exactly the row-at-a-time results,
// nulls and views included, and keeps SQL's short-circuit where an operand can fail.
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "runtime/expr/expression.h"

namespace sluice::expr {
namespace {

using core::RecordBatch;
using core::Type;

core::SchemaPtr Schema() {
  return std::make_shared<core::Schema>(std::vector<core::Field>{{"n", Type::kInt64},
                                                                 {"x", Type::kDouble},
                                                                 {"s", Type::kString},
                                                                 {"ok", Type::kBool},
                                                                 {"t", Type::kTimestamp},
                                                                 {"i", Type::kInt32},
                                                                 {"d", Type::kInt64}});
}

// 40 rows; every field is null on some rows (different ones per field), d is 0 on some rows.
RecordBatch Rows() {
  RecordBatch b(Schema());
  for (int64_t r = 0; r < 40; ++r) {
    size_t row = b.AppendRow(r);
    b.SetInt64(row, 0, r - 20);
    b.SetDouble(row, 1, static_cast<double>(r) / 3);
    b.SetString(row, 2, std::string(static_cast<size_t>(r % 4), 'a' + r % 3));
    b.SetBool(row, 3, r % 3 == 0);
    b.SetInt64(row, 4, 1'000'000 * r);
    b.SetInt32(row, 5, static_cast<int32_t>(r * 7));
    b.SetInt64(row, 6, r % 5);
    for (size_t c = 0; c < 6; ++c) {
      if ((r + static_cast<int64_t>(c)) % 7 == 0) b.SetNull(row, c);
    }
  }
  return b;
}

// The row-at-a-time result of row r as text: "null" or the value.
std::string RowResult(Expression& e, const RecordBatch& b, size_t r) {
  auto d = e.Eval(b, r);
  if (!d.ok()) return "error: " + std::string(d.status().message());
  if (d->null) return "null";
  switch (d->type) {
    case Type::kBool: return d->b ? "true" : "false";
    case Type::kDouble: return std::to_string(d->f64);
    case Type::kString: return std::string(d->s);
    default: return std::to_string(d->i64);
  }
}

// Evaluates `text` on `b` both ways and compares every row.
void ExpectSameResults(const std::string& text, const RecordBatch& b) {
  auto e = Expression::Compile(text, *Schema());
  ASSERT_TRUE(e.ok()) << text << ": " << e.status();
  Expression& ex = **e;
  if (ex.type() == Type::kBool) {
    std::vector<uint8_t> keep;
    ASSERT_TRUE(ex.EvalBatchBool(b, &keep).ok()) << text;
    ASSERT_EQ(keep.size(), b.num_rows());
    for (size_t r = 0; r < b.num_rows(); ++r) {
      EXPECT_EQ(keep[r] != 0, RowResult(ex, b, r) == "true") << text << " row " << r;
    }
  }
  core::Column col(ex.type() == Type::kBool     ? Type::kBool
                   : ex.type() == Type::kDouble ? Type::kDouble
                   : ex.type() == Type::kString ? Type::kString
                                                : ex.type());
  ASSERT_TRUE(ex.EvalBatchInto(b, &col).ok()) << text;
  ASSERT_EQ(col.length(), b.num_rows());
  for (size_t r = 0; r < b.num_rows(); ++r) {
    const std::string want = RowResult(ex, b, r);
    std::string got;
    if (col.IsNull(r)) {
      got = "null";
    } else {
      switch (col.type()) {
        case Type::kBool: got = col.GetBool(r) ? "true" : "false"; break;
        case Type::kDouble: got = std::to_string(col.values<double>()[r]); break;
        case Type::kString: got = std::string(col.GetString(r)); break;
        case Type::kInt32: got = std::to_string(col.values<int32_t>()[r]); break;
        default: got = std::to_string(col.values<int64_t>()[r]); break;
      }
    }
    EXPECT_EQ(got, want) << text << " row " << r;
  }
}

const char* const kExpressions[] = {
    "n > 3",
    "n + i * 2 - 1",
    "-n % 7",
    "x * 2.5 + n",
    "n / 3",
    "x / 0.0 > 1",
    "s = 'aa' or ok",
    "not ok and n < 0",
    "n > 0 and x > 2 or s <> ''",
    "s is null",
    "x is not null and i is null",
    "coalesce(n, i, 99) > 5",
    "if(ok, n, -n)",
    "upper(s)",
    "concat(s, '-', to_string(n))",
    "t + 1000 > TIMESTAMP '1970-01-01T00:00:10Z'",
    "length(s) = 2 and starts_with(s, 'b')",
    "i",
    "s",
    "case when n > 3 then s when ok then 'ok' else 'other' end",
    "case s when 'aa' then 1 when 'b' then 2.5 end",
    "case when d <> 0 then n / d end",
    "cast(n as double) / 4",
    "cast(x as bigint) + cast(ok as int)",
    "concat(cast(t as string), cast(i as varchar(10)))",
};

TEST(BatchEval, EqualsRowByRowOnEveryRowWithNulls) {
  RecordBatch b = Rows();
  for (const char* text : kExpressions) ExpectSameResults(text, b);
}

TEST(BatchEval, EqualsRowByRowOnAView) {
  RecordBatch b = Rows();
  RecordBatch view;
  view.ResetAsView(b);
  for (size_t r = 0; r < b.num_rows(); r += 3) view.SelectRowOf(b, r);
  for (const char* text : kExpressions) ExpectSameResults(text, view);
}

TEST(BatchEval, ShortCircuitKeepsADivisionByZeroFromFailing) {
  RecordBatch b = Rows();
  // d is 0 on rows 0, 5, 10, ...: the left operand protects them.
  ExpectSameResults("d <> 0 and n / d > 1", b);
  ExpectSameResults("d = 0 or n % d = 1", b);
  auto e = *Expression::Compile("n / d > 1", *Schema());
  std::vector<uint8_t> keep;
  absl::Status s = e->EvalBatchBool(b, &keep);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("division by zero"), std::string::npos) << s;
  EXPECT_NE(s.message().find("'n / d > 1'"), std::string::npos) << s;
}

TEST(BatchEval, IntoAColumnOfAnotherTypeIsRefused) {
  RecordBatch b = Rows();
  auto e = *Expression::Compile("s", *Schema());
  core::Column col(Type::kDouble);
  absl::Status s = e->EvalBatchInto(b, &col);
  EXPECT_EQ(s.message(), "cannot store the string result of 's' into a double column");
}

}  // namespace
}  // namespace sluice::expr

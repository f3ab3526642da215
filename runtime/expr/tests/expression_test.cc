#include "runtime/expr/expression.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"
#include "runtime/core/time_format.h"

namespace sluice::expr {
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

// One row of every type, plus a field whose name needs backquotes.
SchemaPtr MixedSchema() {
  return std::make_shared<Schema>(std::vector<core::Field>{{"n", Type::kInt64},
                                                           {"x", Type::kDouble},
                                                           {"s", Type::kString},
                                                           {"ok", Type::kBool},
                                                           {"t", Type::kTimestamp},
                                                           {"weird name", Type::kInt64},
                                                           {"zero", Type::kInt64}});
}

class ExpressionTest : public ::testing::Test {
 protected:
  ExpressionTest() : batch_(MixedSchema()) {
    size_t r = batch_.AppendRow(5);
    batch_.SetInt64(r, 0, 7);
    batch_.SetDouble(r, 1, 2.5);
    batch_.SetString(r, 2, "Hello, World");
    batch_.SetBool(r, 3, true);
    batch_.SetInt64(r, 4, *core::ParseTimestamp("2001-01-02T03:04:05Z"));  // a Tuesday
    batch_.SetInt64(r, 5, 11);
    batch_.SetInt64(r, 6, 0);
  }

  std::unique_ptr<Expression> MustCompile(std::string_view text) {
    auto e = Expression::Compile(text, *MixedSchema());
    EXPECT_TRUE(e.ok()) << text << ": " << e.status();
    return e.ok() ? *std::move(e) : nullptr;
  }
  Datum EvalOk(std::string_view text, Type expected_type) {
    auto owned = MustCompile(text);
    if (!owned) return Datum();
    Expression* e = owned.get();
    alive_.push_back(std::move(owned));  // string results point into the expression's scratch
    EXPECT_EQ(e->type(), expected_type) << text;
    auto d = e->Eval(batch_, 0);
    EXPECT_TRUE(d.ok()) << text << ": " << d.status();
    return d.ok() ? *d : Datum();
  }
  int64_t Int(std::string_view text) { return EvalOk(text, Type::kInt64).i64; }
  double Dbl(std::string_view text) { return EvalOk(text, Type::kDouble).f64; }
  bool Bool(std::string_view text) { return EvalOk(text, Type::kBool).b; }
  std::string Str(std::string_view text) { return std::string(EvalOk(text, Type::kString).s); }
  int64_t Ts(std::string_view text) { return EvalOk(text, Type::kTimestamp).i64; }

  RecordBatch batch_;
  std::vector<std::unique_ptr<Expression>> alive_;
};

TEST_F(ExpressionTest, ReadsFieldsOfEveryType) {
  EXPECT_EQ(Int("n"), 7);
  EXPECT_EQ(Dbl("x"), 2.5);
  EXPECT_EQ(Str("s"), "Hello, World");
  EXPECT_TRUE(Bool("ok"));
  EXPECT_EQ(Ts("t"), *core::ParseTimestamp("2001-01-02T03:04:05Z"));
  EXPECT_EQ(Int("`weird name`"), 11);
}

TEST_F(ExpressionTest, Literals) {
  EXPECT_EQ(Int("42"), 42);
  EXPECT_EQ(Int("-9223372036854775808"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(Dbl("1.5"), 1.5);
  EXPECT_EQ(Dbl("1e3"), 1000.0);
  EXPECT_EQ(Dbl(".25"), 0.25);
  EXPECT_EQ(Str("'it''s'"), "it's");
  EXPECT_EQ(Str("\"double\""), "double");
  EXPECT_TRUE(Bool("TRUE"));
  EXPECT_FALSE(Bool("false"));
  EXPECT_EQ(Ts("TIMESTAMP '2001-01-01T00:00:00Z'"), 978307200000);
  EXPECT_EQ(Int("INTERVAL '2' HOUR"), 2 * 3600 * 1000);
  EXPECT_EQ(Int("interval '5 min'"), 5 * 60 * 1000);
}

TEST_F(ExpressionTest, PrecedenceAndAssociativity) {
  EXPECT_EQ(Int("1 + 2 * 3"), 7);
  EXPECT_EQ(Int("(1 + 2) * 3"), 9);
  EXPECT_EQ(Int("10 - 4 - 3"), 3);
  EXPECT_EQ(Int("20 / 5 / 2"), 2);
  EXPECT_EQ(Int("-n * 2"), -14);
  EXPECT_EQ(Int("7 % 4 + 1"), 4);
  EXPECT_TRUE(Bool("n + 1 > 7 and x < 3"));
  EXPECT_TRUE(Bool("false and false or true"));     // (f and f) or t
  EXPECT_FALSE(Bool("false and (false or true)"));
  EXPECT_TRUE(Bool("true or true and false"));      // t or (t and f)
  EXPECT_TRUE(Bool("not n = 8"));                   // SQL: not (n = 8)
  EXPECT_FALSE(Bool("!ok || n <> 7"));
  EXPECT_TRUE(Bool("ok && n == 7"));
  EXPECT_TRUE(Bool("NOT NOT ok"));
}

TEST_F(ExpressionTest, ArithmeticFollowsJava) {
  EXPECT_EQ(Int("-7 / 2"), -3);  // truncation
  EXPECT_EQ(Int("-7 % 2"), -1);
  EXPECT_EQ(Int("9223372036854775807 + 1"), std::numeric_limits<int64_t>::min());  // wraps
  EXPECT_EQ(Int("-9223372036854775808 / -1"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(Dbl("n / 2.0"), 3.5);
  EXPECT_EQ(Dbl("n + x"), 9.5);
  EXPECT_EQ(Dbl("x % 1"), 0.5);
  EXPECT_TRUE(std::isinf(Dbl("x / 0")));
}

TEST_F(ExpressionTest, TimestampArithmetic) {
  const int64_t t = *core::ParseTimestamp("2001-01-02T03:04:05Z");
  EXPECT_EQ(Ts("t + 1000"), t + 1000);
  EXPECT_EQ(Ts("1000 + t"), t + 1000);
  EXPECT_EQ(Ts("t - INTERVAL '1' DAY"), t - 86400000);
  EXPECT_EQ(Int("t - TIMESTAMP '2001-01-02T03:04:00Z'"), 5000);
  EXPECT_TRUE(Bool("t > TIMESTAMP '2001-01-01T00:00:00Z'"));
  EXPECT_TRUE(Bool("t >= '2001-01-02'"));  // string literal read as a timestamp
  EXPECT_FALSE(Bool("'2001-01-03' <= t"));
}

TEST_F(ExpressionTest, Comparisons) {
  EXPECT_TRUE(Bool("n = 7"));
  EXPECT_TRUE(Bool("n < 7.5"));   // mixed int/double
  EXPECT_TRUE(Bool("x >= 2.5"));
  EXPECT_TRUE(Bool("s = 'Hello, World'"));
  EXPECT_TRUE(Bool("s < 'Z'"));    // bytewise: 'H' < 'Z'
  EXPECT_FALSE(Bool("s < 'A'"));
  EXPECT_TRUE(Bool("s > 'HELLO'"));  // 'e' (0x65) > 'E' (0x45)
  EXPECT_TRUE(Bool("ok != false"));
}

TEST_F(ExpressionTest, Functions) {
  EXPECT_EQ(Int("abs(-n)"), 7);
  EXPECT_EQ(Dbl("abs(-x)"), 2.5);
  EXPECT_EQ(Int("round(2.5)"), 3);
  EXPECT_EQ(Int("round(-2.5)"), -2);  // Java Math.round: ties to +infinity
  EXPECT_EQ(Int("round(n)"), 7);
  EXPECT_EQ(Dbl("floor(-x)"), -3.0);
  EXPECT_EQ(Dbl("CEIL(x)"), 3.0);
  EXPECT_EQ(Dbl("sqrt(16)"), 4.0);
  EXPECT_EQ(Str("lower(s)"), "hello, world");
  EXPECT_EQ(Str("Upper(s)"), "HELLO, WORLD");
  EXPECT_EQ(Int("length(s)"), 12);
  EXPECT_EQ(Int("length('héllo')"), 5);  // code points
  EXPECT_EQ(Str("concat(s, '!', n, ' ', x, ' ', ok)"), "Hello, World!7 2.5 true");
  EXPECT_EQ(Str("substr(s, 8)"), "World");
  EXPECT_EQ(Str("substr(s, 1, 5)"), "Hello");
  EXPECT_EQ(Str("substr(s, 11, 10)"), "ld");
  EXPECT_EQ(Int("if(ok, n, 0)"), 7);
  EXPECT_EQ(Dbl("if(not ok, n, x)"), 2.5);
  EXPECT_EQ(Str("to_string(t)"), "2001-01-02T03:04:05Z");
  EXPECT_EQ(Str("to_string(x)"), "2.5");
  EXPECT_EQ(Int("to_int('-123')"), -123);
  EXPECT_EQ(Int("to_int(x)"), 2);
  EXPECT_EQ(Dbl("to_double('1.25')"), 1.25);
  EXPECT_EQ(Dbl("to_double(n)"), 7.0);
  EXPECT_EQ(Ts("to_timestamp('2001-01-01')"), 978307200000);
  // Flink's TO_TIMESTAMP(string, pattern): Java SimpleDateFormat letters, UTC unless the
  // pattern has an offset.
  EXPECT_EQ(Ts("to_timestamp('01/02/2001 03:04', 'MM/dd/yyyy HH:mm')"), 978404640000);
  EXPECT_EQ(Ts("to_timestamp('20010102 030405.250', 'yyyyMMdd HHmmss.SSS')"), 978404645250);
  EXPECT_EQ(Ts("to_timestamp('2001-01-02T03:04:05+01:00', \"yyyy-MM-dd'T'HH:mm:ssXXX\")"),
            978404645000 - 3600000);
  EXPECT_EQ(Int("year(t)"), 2001);
  EXPECT_EQ(Int("month(t)"), 1);
  EXPECT_EQ(Int("day(t)"), 2);
  EXPECT_EQ(Int("hour(t)"), 3);
  EXPECT_EQ(Int("minute(t)"), 4);
  EXPECT_EQ(Int("second(t)"), 5);
  EXPECT_EQ(Int("day_of_week(t)"), 3);  // Tuesday, Sunday = 1
  EXPECT_TRUE(Bool("starts_with(s, 'Hell')"));
  EXPECT_FALSE(Bool("starts_with(s, 'World')"));
  EXPECT_TRUE(Bool("ends_with(s, 'World')"));
  EXPECT_TRUE(Bool("contains(s, ', ')"));
  EXPECT_FALSE(Bool("contains(s, 'xyz')"));
}

TEST_F(ExpressionTest, StringScratchIsReusedAcrossRows) {
  RecordBatch b(MixedSchema());
  for (std::string_view s : {"abc", "DEFGH", "i"}) {
    size_t r = b.AppendRow();
    b.SetString(r, 2, s);
  }
  auto e = MustCompile("upper(concat(s, '-', s))");
  ASSERT_NE(e, nullptr);
  const std::string_view want[] = {"ABC-ABC", "DEFGH-DEFGH", "I-I"};
  for (size_t r = 0; r < 3; ++r) {
    auto d = e->Eval(b, r);
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->s, want[r]);
  }
}

TEST_F(ExpressionTest, EvalIntoStoresAndWidens) {
  auto out_schema = std::make_shared<Schema>(std::vector<core::Field>{
      {"a", Type::kDouble}, {"b", Type::kString}, {"c", Type::kBool}, {"d", Type::kTimestamp}});
  RecordBatch out(out_schema);
  size_t r = out.AppendRow();
  ASSERT_TRUE(MustCompile("n * 2")->EvalInto(batch_, 0, &out, r, 0).ok());  // int64 -> double
  ASSERT_TRUE(MustCompile("lower(s)")->EvalInto(batch_, 0, &out, r, 1).ok());
  ASSERT_TRUE(MustCompile("n > 1")->EvalInto(batch_, 0, &out, r, 2).ok());
  ASSERT_TRUE(MustCompile("t + 1")->EvalInto(batch_, 0, &out, r, 3).ok());
  EXPECT_EQ(out.GetDouble(r, 0), 14.0);
  EXPECT_EQ(out.GetString(r, 1), "hello, world");
  EXPECT_TRUE(out.GetBool(r, 2));
  EXPECT_EQ(out.GetInt64(r, 3), *core::ParseTimestamp("2001-01-02T03:04:05.001Z"));

  absl::Status s = MustCompile("s")->EvalInto(batch_, 0, &out, r, 0);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "cannot store the string result of 's' into double field 'a'");
}

// Rows: (n=null, b=true, s=null, day=2000-03-01, i=3), (n=4, b=null, s="x", day=null, i=null).
class NullTest : public ::testing::Test {
 protected:
  NullTest()
      : schema_(std::make_shared<Schema>(std::vector<core::Field>{{"n", Type::kInt64},
                                                                   {"b", Type::kBool},
                                                                   {"s", Type::kString},
                                                                   {"day", Type::kDate},
                                                                   {"i", Type::kInt32}})),
        batch_(schema_) {
    size_t r = batch_.AppendRow();
    batch_.SetNull(r, 0);
    batch_.SetBool(r, 1, true);
    batch_.SetNull(r, 2);
    batch_.SetInt32(r, 3, 11017);
    batch_.SetInt32(r, 4, 3);
    r = batch_.AppendRow();
    batch_.SetInt64(r, 0, 4);
    batch_.SetNull(r, 1);
    batch_.SetString(r, 2, "x");
    batch_.SetNull(r, 3);
    batch_.SetNull(r, 4);
  }
  // "null", "true" or "false" for a bool expression on row `row`.
  std::string Logic(std::string_view text, size_t row) {
    auto e = Expression::Compile(text, *schema_);
    EXPECT_TRUE(e.ok()) << text << ": " << e.status();
    if (!e.ok()) return "error";
    auto d = (*e)->Eval(batch_, row);
    EXPECT_TRUE(d.ok()) << d.status();
    if (!d.ok()) return "error";
    return d->null ? "null" : d->b ? "true" : "false";
  }
  SchemaPtr schema_;
  RecordBatch batch_;
};

TEST_F(NullTest, ThreeValuedLogic) {
  EXPECT_EQ(Logic("n > 1", 0), "null");  // comparisons with null are null
  EXPECT_EQ(Logic("n > 1", 1), "true");
  EXPECT_EQ(Logic("n > 1 and false", 0), "false");  // null and false = false
  EXPECT_EQ(Logic("false and n > 1", 0), "false");
  EXPECT_EQ(Logic("n > 1 and true", 0), "null");
  EXPECT_EQ(Logic("n > 1 or true", 0), "true");  // null or true = true
  EXPECT_EQ(Logic("n > 1 or false", 0), "null");
  EXPECT_EQ(Logic("not (n > 1)", 0), "null");
  EXPECT_EQ(Logic("b and n > 1", 1), "null");
  EXPECT_EQ(Logic("n is null", 0), "true");
  EXPECT_EQ(Logic("n is not null", 0), "false");
  EXPECT_EQ(Logic("n + 1 is null", 0), "true");  // arithmetic with null is null
  EXPECT_EQ(Logic("length(s) > 0", 0), "null");  // so are functions of null
  EXPECT_EQ(Logic("coalesce(n, 9) = 9", 0), "true");
  EXPECT_EQ(Logic("coalesce(n, 9) = 4", 1), "true");
  EXPECT_EQ(Logic("if(b, true, false)", 1), "false");  // a null condition takes the else branch
  // A filter (EvalBool) drops null.
  auto e = *Expression::Compile("n > 1", *schema_);
  EXPECT_FALSE(*e->EvalBool(batch_, 0));
  EXPECT_TRUE(*e->EvalBool(batch_, 1));
  // n / 0 on a null n is null, not a division by zero.
  EXPECT_EQ(Logic("n / 0 > 1", 0), "null");
}

TEST_F(NullTest, Int32AndDateFieldsReadAsInt64AndTimestamp) {
  EXPECT_EQ(Logic("i + 1 = 4", 0), "true");
  EXPECT_EQ(Logic("day = '2000-03-01'", 0), "true");
  EXPECT_EQ(Logic("year(day) = 2000 and month(day) = 3", 0), "true");
  EXPECT_EQ(Logic("day is null", 1), "true");
  // A plain reference keeps its type; EvalInto copies it, nulls included.
  auto ref = *Expression::Compile("day", *schema_);
  EXPECT_EQ(ref->type(), Type::kDate);
  auto out_schema = std::make_shared<Schema>(
      std::vector<core::Field>{{"day", Type::kDate}, {"plus", Type::kInt64}});
  RecordBatch out(out_schema);
  auto plus = *Expression::Compile("i + n", *schema_);
  for (size_t r = 0; r < 2; ++r) {
    size_t o = out.AppendRow();
    ASSERT_TRUE(ref->EvalInto(batch_, r, &out, o, 0).ok());
    ASSERT_TRUE(plus->EvalInto(batch_, r, &out, o, 1).ok());
  }
  EXPECT_EQ(out.RowToString(0), "2000-03-01,");
  EXPECT_EQ(out.RowToString(1), ",");
  EXPECT_TRUE(out.IsNull(1, 0));
  EXPECT_TRUE(out.IsNull(0, 1));
}

TEST_F(NullTest, IsNullAndCoalesceAreTypeChecked) {
  int offset = -1;
  auto e = Expression::Compile("n is nul", *schema_, &offset);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "expected 'null' after 'is' but found 'nul'");
  EXPECT_EQ(offset, 5);
  e = Expression::Compile("coalesce(n, s)", *schema_, &offset);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(),
            "type mismatch: function 'coalesce' needs arguments of one type but found int64 'n' "
            "and string 's'");
  EXPECT_EQ(offset, 12);
}

TEST_F(ExpressionTest, CaseTakesTheFirstMatchingBranch) {
  EXPECT_EQ(Str("case when n > 10 then 'big' when n > 5 then 'medium' else 'small' end"),
            "medium");
  EXPECT_EQ(Str("CASE WHEN n > 10 THEN 'big' ELSE 'small' END"), "small");
  EXPECT_EQ(Int("case n when 1 then 10 when 7 then 70 end"), 70);
  EXPECT_EQ(Dbl("case n when 7 then 1 else 0.5 end"), 1.0);  // int64 and double -> double
  EXPECT_EQ(Int("case s when 'x' then 1 when 'Hello, World' then 2 end"), 2);
  EXPECT_EQ(Int("case t when '2001-01-02T03:04:05Z' then 1 else 0 end"), 1);
  // No branch matches and no ELSE: null.
  EXPECT_TRUE(EvalOk("case when n < 0 then 1 end", Type::kInt64).null);
  // Only the chosen branch is evaluated: no division by zero.
  EXPECT_EQ(Int("case when zero = 0 then -1 else n / zero end"), -1);
  // Nested, and as an operand.
  EXPECT_EQ(Int("1 + case when ok then case when x > 2 then 10 end else 0 end"), 11);
}

TEST_F(NullTest, CaseTreatsANullConditionAsNotTrue) {
  EXPECT_EQ(Logic("case when b then true else false end", 1), "false");  // b is null
  EXPECT_EQ(Logic("case when b then true else false end", 0), "true");
  EXPECT_EQ(Logic("case n when 4 then true end", 1), "true");
  EXPECT_EQ(Logic("case n when 4 then true else false end", 0), "false");  // null operand
  EXPECT_EQ(Logic("case when s is null then n is null end", 0), "true");
}

TEST_F(ExpressionTest, CastConvertsBetweenTypes) {
  EXPECT_EQ(Int("cast(x as bigint)"), 2);
  EXPECT_EQ(Int("CAST('42' AS INT)"), 42);
  EXPECT_EQ(Dbl("cast(n as double) / 2"), 3.5);
  EXPECT_EQ(Str("cast(n as varchar(10))"), "7");
  EXPECT_EQ(Str("cast(t as string)"), "2001-01-02T03:04:05Z");
  EXPECT_TRUE(Bool("cast('TRUE' as boolean)"));
  EXPECT_FALSE(Bool("cast(zero as boolean)"));
  EXPECT_EQ(Ts("cast('2001-01-02T03:04:05Z' as timestamp(3))"), Ts("t"));
  EXPECT_EQ(Ts("cast(1000 as timestamp)"), 1000);
  auto bad = MustCompile("cast(s as boolean)");
  auto d = bad->Eval(batch_, 0);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(),
            "error evaluating 'cast(s as boolean)': to_bool: cannot parse 'Hello, World' as "
            "bool (expected true or false)");
}

TEST_F(ExpressionTest, EvalBool) {
  auto e = MustCompile("n > 5");
  auto b = e->EvalBool(batch_, 0);
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(*b);
  EXPECT_FALSE(MustCompile("n")->EvalBool(batch_, 0).ok());
}

TEST_F(ExpressionTest, RuntimeErrorsNameTheExpression) {
  auto e = MustCompile("n / zero");
  auto d = e->Eval(batch_, 0);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(d.status().message(), "error evaluating 'n / zero': division by zero (7 / 0)");

  auto m = MustCompile("n % zero > 1");
  auto b = m->EvalBool(batch_, 0);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().message(), "error evaluating 'n % zero > 1': division by zero (7 % 0)");

  auto p = MustCompile("to_int(s)");
  auto pd = p->Eval(batch_, 0);
  ASSERT_FALSE(pd.ok());
  EXPECT_EQ(pd.status().message(),
            "error evaluating 'to_int(s)': to_int: cannot parse 'Hello, World' as int64");

  auto q = MustCompile("to_timestamp(s, 'yyyy-MM-dd')");
  auto qd = q->Eval(batch_, 0);
  ASSERT_FALSE(qd.ok());
  EXPECT_EQ(qd.status().message(),
            "error evaluating 'to_timestamp(s, 'yyyy-MM-dd')': to_timestamp: cannot parse "
            "'Hello, World' with pattern 'yyyy-MM-dd'");

  // Short-circuit: the division is never evaluated.
  EXPECT_FALSE(Bool("zero != 0 and n / zero > 1"));
}

TEST(ExpressionReferencedFields, InOrderOfFirstUse) {
  auto e = Expression::Compile("delay > 5 and origin = 'ATL' or delay < 0 and distance > 1",
                               *FlightsSchema());
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)->ReferencedFields(),
            (std::vector<std::string>{"delay", "origin", "distance"}));
  EXPECT_FALSE((*e)->AsFieldReference().has_value());
  auto f = Expression::Compile("origin", *FlightsSchema());
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->AsFieldReference(), std::optional<size_t>(3));
}

// ---- compile errors: exact message and offset ----------------------------------------------

struct ErrorCase {
  std::string text;
  std::string message;
  int offset;
};

class CompileErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(CompileErrorTest, ReportsMessageAndOffset) {
  const ErrorCase& c = GetParam();
  int offset = -1;
  auto e = Expression::Compile(c.text, *FlightsSchema(), &offset);
  ASSERT_FALSE(e.ok()) << c.text;
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(e.status().message(), c.message) << c.text;
  EXPECT_EQ(offset, c.offset) << c.text;
}

INSTANTIATE_TEST_SUITE_P(
    Errors, CompileErrorTest,
    ::testing::Values(
        ErrorCase{"delays > 5",
                  "unknown field 'delays' (fields: date, delay, distance, origin, destination)",
                  0},
        ErrorCase{"delay > 5 and origin = 5",
                  "type mismatch: cannot compare string 'origin' with int64 literal 5", 21},
        ErrorCase{"delay + 1 = 'x'",
                  "type mismatch: cannot compare int64 expression 'delay + 1' with string "
                  "literal 'x'",
                  10},
        ErrorCase{"origin + destination",
                  "type mismatch: operator '+' cannot apply to string 'origin' and string "
                  "'destination' (use concat() to join strings)",
                  7},
        ErrorCase{"to_timestamp(origin, 'yyyy-ww')",
                  "pattern 'yyyy-ww': unsupported letter 'w' (supported: y M d H h m s S a X Z "
                  "and 'literal')",
                  21},
        ErrorCase{"to_timestamp(origin, origin)",
                  "function 'to_timestamp' expects a string literal pattern like "
                  "'yyyy-MM-dd HH:mm:ss' as argument 2",
                  21},
        ErrorCase{"delay and true",
                  "type mismatch: operator 'and' needs bool operands but found int64 'delay'", 6},
        ErrorCase{"(delay > 5", "expected ')' but found end of expression", 10},
        ErrorCase{"delay > ", "expected an expression but found end of expression", 8},
        ErrorCase{"", "expected an expression but found end of expression", 0},
        ErrorCase{"delay > 5 5", "expected an operator or end of expression but found '5'", 10},
        ErrorCase{"origin = 'ATL", "unterminated string literal starting with '", 9},
        ErrorCase{"delay # 5", "unexpected character '#'", 6},
        ErrorCase{"delay > 99999999999999999999",
                  "integer literal 99999999999999999999 is out of the int64 range (write "
                  "99999999999999999999.0 for a double)",
                  8},
        ErrorCase{"frobnicate(delay)",
                  "unknown function 'frobnicate' (functions: abs, ceil, coalesce, concat, contains, "
                  "date_format, day, day_of_week, ends_with, floor, hour, if, length, like, lower, "
                  "minute, month, regexp_extract, round, second, split_index, sqrt, starts_with, "
                  "substr, to_bool, to_double, to_int, to_string, to_timestamp, upper, year)",
                  0},
        ErrorCase{"origin = substr(origin)",
                  "function 'substr' expects 2 or 3 arguments but got 1", 9},
        ErrorCase{"lower(origin, 1) = 'a'", "function 'lower' expects 1 argument but got 2", 0},
        ErrorCase{"concat() = 'a'", "function 'concat' expects at least 1 argument but got 0",
                  0},
        ErrorCase{"lower(delay) = 'a'",
                  "type mismatch: function 'lower' expects a string as argument 1 but found "
                  "int64 'delay'",
                  6},
        ErrorCase{"if(true, origin, delay) = 'a'",
                  "type mismatch: function 'if' needs branches of one type but found string "
                  "'origin' and int64 'delay'",
                  17},
        ErrorCase{"lower(origin, = 'a'", "expected an expression but found '='", 14},
        ErrorCase{"case when delay then 1 end = 1",
                  "type mismatch: CASE WHEN needs a bool condition but found int64 'delay'", 10},
        ErrorCase{"case when delay > 1 then 'a' else 2 end = 'a'",
                  "type mismatch: CASE needs THEN and ELSE values of one type but found string "
                  "literal 'a' and int64 literal 2",
                  34},
        ErrorCase{"case origin when 5 then 1 end = 1",
                  "type mismatch: CASE cannot compare string 'origin' with int64 literal 5", 17},
        ErrorCase{"case when delay > 1 then 1",
                  "expected WHEN, ELSE or END in CASE but found end of expression", 26},
        ErrorCase{"case delay > 1 end", "expected WHEN in CASE but found 'end'", 15},
        ErrorCase{"case when delay > 1 1 end", "expected THEN but found '1'", 20},
        ErrorCase{"cast(delay as date) > date",
                  "cannot CAST to 'date' (types: BIGINT, INT, DOUBLE, FLOAT, STRING, VARCHAR, "
                  "BOOLEAN, TIMESTAMP; DATE is not supported yet: dates are timestamps at "
                  "midnight UTC in expressions)",
                  14},
        ErrorCase{"cast(delay, double) > 1", "expected AS in CAST but found ','", 10},
        ErrorCase{"cast(1.5 as timestamp) > date",
                  "type mismatch: function 'to_timestamp' expects a string or int64 (ms) as "
                  "argument 1 but found double literal 1.5",
                  5},
        ErrorCase{"date > 'yesterday'",
                  "type mismatch: cannot compare timestamp 'date' with string literal "
                  "'yesterday': not a timestamp (expected ISO-8601 like 2001-01-01T00:00:00Z)",
                  7},
        ErrorCase{"true < false",
                  "type mismatch: operator '<' cannot order bool values (bool supports only = "
                  "and !=)",
                  5},
        ErrorCase{"-origin", "type mismatch: operator '-' cannot apply to string 'origin'", 0},
        ErrorCase{"not delay", "type mismatch: operator 'not' needs a bool operand but found "
                               "int64 'delay'",
                  0}));

}  // namespace
}  // namespace sluice::expr

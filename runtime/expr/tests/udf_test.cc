// User-defined scalar functions in expressions (include/sluice/scalar_function.h): typing
// through ResultType, evaluation row by row and per batch, null handling, exceptions, and the
// errors a bad call gets.

#include <gtest/gtest.h>

#include <stdexcept>

#include "runtime/expr/expression.h"

namespace sluice::expr {
namespace {

using core::Type;

// Nexmark q14's count_char: how often a character occurs in a string.
class CountChar : public sluice::ScalarFunction {
 public:
  sluice::Type ResultType(const std::vector<sluice::Type>& args) const override {
    if (args.size() != 2 || args[0] != sluice::Type::kString || args[1] != sluice::Type::kString) {
      throw std::invalid_argument("expects (string, string)");
    }
    return sluice::Type::kInt64;
  }
  void Eval(const sluice::ScalarArgs& args, sluice::ScalarResult& result) override {
    const std::string_view s = args.GetString(0), c = args.GetString(1);
    if (c.size() != 1) throw std::invalid_argument("the second argument must be one character");
    int64_t n = 0;
    for (char ch : s) n += ch == c[0];
    result.SetInt64(n);
  }
};

// Returns its string argument reversed; keeps nulls away only when asked to.
class Reverse : public sluice::ScalarFunction {
 public:
  explicit Reverse(bool null_on_null) : null_on_null_(null_on_null) {}
  sluice::Type ResultType(const std::vector<sluice::Type>&) const override {
    return sluice::Type::kString;
  }
  void Eval(const sluice::ScalarArgs& args, sluice::ScalarResult& result) override {
    if (args.IsNull(0)) return result.SetString("<null>");
    std::string s(args.GetString(0));
    result.SetString(std::string(s.rbegin(), s.rend()));
  }
  bool NullOnNullInput() const override { return null_on_null_; }

 private:
  bool null_on_null_;
};

class UdfTest : public ::testing::Test {
 protected:
  UdfTest()
      : schema_(std::make_shared<core::Schema>(
            std::vector<core::Field>{{"extra", Type::kString}, {"n", Type::kInt64}})),
        batch_(schema_) {
    functions_["CountChar"] = [] { return std::make_unique<CountChar>(); };
    functions_["rev"] = [] { return std::make_unique<Reverse>(true); };
    functions_["rev_all"] = [] { return std::make_unique<Reverse>(false); };
    for (const char* s : {"accbc", "xyz"}) {
      const size_t r = batch_.AppendRow(0);
      batch_.SetString(r, 0, s);
      batch_.SetInt64(r, 1, 1);
    }
    const size_t r = batch_.AppendRow(0);
    batch_.SetNull(r, 0);
    batch_.SetInt64(r, 1, 2);
  }

  std::unique_ptr<Expression> Compile(std::string_view text) {
    auto e = Expression::Compile(text, *schema_, nullptr, &functions_);
    EXPECT_TRUE(e.ok()) << text << ": " << e.status();
    return e.ok() ? std::move(*e) : nullptr;
  }
  std::string Error(std::string_view text, int* offset = nullptr) {
    auto e = Expression::Compile(text, *schema_, offset, &functions_);
    return e.ok() ? "compiled" : std::string(e.status().message());
  }

  core::SchemaPtr schema_;
  core::RecordBatch batch_;
  ScalarFunctions functions_;
};

TEST_F(UdfTest, CallsAreTypedByResultTypeAndEvaluatedPerRowAndPerBatch) {
  auto e = Compile("countchar(extra, 'c') + n * 10");  // names match case-insensitively
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->type(), Type::kInt64);
  EXPECT_EQ(e->Eval(batch_, 0)->i64, 13);
  EXPECT_EQ(e->Eval(batch_, 1)->i64, 10);
  EXPECT_TRUE(e->Eval(batch_, 2)->null);  // a null argument: null, Eval not called
  core::Column out(Type::kInt64);
  ASSERT_TRUE(e->EvalBatchInto(batch_, &out).ok());
  ASSERT_EQ(out.length(), 3u);
  EXPECT_EQ(out.values<int64_t>()[0], 13);
  EXPECT_TRUE(out.IsNull(2));

  auto s = Compile("upper(rev(extra))");
  EXPECT_EQ(s->Eval(batch_, 0)->s, "CBCCA");
  auto all = Compile("rev_all(extra)");
  EXPECT_EQ(all->Eval(batch_, 2)->s, "<null>");  // NullOnNullInput false: Eval sees the null
}

TEST_F(UdfTest, RefusedArgumentsUnknownNamesAndThrowingCalls) {
  int offset = -1;
  EXPECT_EQ(Error("n + CountChar(n, 'c')", &offset),
            "function 'CountChar' refuses (int64, string): expects (string, string)");
  EXPECT_EQ(offset, 4);
  EXPECT_NE(Error("nope(n)").find("unknown function 'nope' (functions: abs,"), std::string::npos);
  EXPECT_NE(Error("nope(n)").find(", CountChar, rev, rev_all)"), std::string::npos);
  EXPECT_FALSE(Expression::Compile("CountChar(extra, 'c')", *schema_).ok());  // no functions

  auto e = Compile("CountChar(extra, 'cc')");
  auto d = e->Eval(batch_, 0);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(), "error evaluating 'CountChar(extra, 'cc')': function "
                                  "'CountChar' threw: the second argument must be one character");
  EXPECT_TRUE(IsBuiltinFunction("UPPER"));
  EXPECT_TRUE(IsBuiltinFunction("substring"));
  EXPECT_FALSE(IsBuiltinFunction("CountChar"));
}

}  // namespace
}  // namespace sluice::expr

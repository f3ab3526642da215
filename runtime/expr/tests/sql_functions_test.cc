// The SQL string and time functions of the expression language: LIKE, DATE_FORMAT,
// REGEXP_EXTRACT and SPLIT_INDEX, their null results and their compile-time checks.

#include <gtest/gtest.h>

#include "runtime/core/time_format.h"
#include "runtime/expr/expression.h"

namespace sluice::expr {
namespace {

using core::Type;

class SqlFunctionsTest : public ::testing::Test {
 protected:
  SqlFunctionsTest()
      : schema_(std::make_shared<core::Schema>(std::vector<core::Field>{
            {"url", Type::kString}, {"t", Type::kTimestamp}})),
        batch_(schema_) {
    const size_t r = batch_.AppendRow(0);
    batch_.SetString(r, 0, "https://www.nexmark.com/abc/item.htm?query=1&channel_id=42&x=y");
    batch_.SetInt64(r, 1, *core::ParseTimestamp("2015-07-15T09:05:03.250Z"));
  }

  // The value as text ("null" for null).
  std::string Eval(std::string_view text) {
    auto e = Expression::Compile(text, *schema_);
    EXPECT_TRUE(e.ok()) << text << ": " << e.status();
    if (!e.ok()) return "";
    auto d = (*e)->Eval(batch_, 0);
    EXPECT_TRUE(d.ok()) << d.status();
    if (d->null) return "null";
    if ((*e)->type() == Type::kBool) return d->b ? "true" : "false";
    return std::string(d->s);
  }
  std::string CompileError(std::string_view text) {
    auto e = Expression::Compile(text, *schema_);
    return e.ok() ? "compiled" : std::string(e.status().message());
  }

  core::SchemaPtr schema_;
  core::RecordBatch batch_;
};

TEST_F(SqlFunctionsTest, Like) {
  EXPECT_EQ(Eval("like(url, 'https://%')"), "true");
  EXPECT_EQ(Eval("like(url, '%channel_id=__&%')"), "true");
  EXPECT_EQ(Eval("like(url, '%channel_id=_&%')"), "false");
  EXPECT_EQ(Eval("like('a%b', 'a\\%b')"), "true");   // an escaped %
  EXPECT_EQ(Eval("like('axb', 'a\\%b')"), "false");
  EXPECT_EQ(Eval("like('', '%')"), "true");
  EXPECT_EQ(Eval("like('abc', 'ab')"), "false");
}

TEST_F(SqlFunctionsTest, DateFormat) {
  EXPECT_EQ(Eval("date_format(t, 'yyyy-MM-dd')"), "2015-07-15");
  EXPECT_EQ(Eval("date_format(t, 'HH:mm')"), "09:05");
  EXPECT_EQ(Eval("date_format(t, 'yyyy-MM-dd HH:mm:ss.SSS')"), "2015-07-15 09:05:03.250");
  EXPECT_NE(CompileError("date_format(url, 'yyyy')").find("expects a timestamp"), std::string::npos);
}

TEST_F(SqlFunctionsTest, RegexpExtract) {
  EXPECT_EQ(Eval("regexp_extract(url, '(&|^)channel_id=([^&]*)', 2)"), "42");
  EXPECT_EQ(Eval("regexp_extract(url, 'item\\.htm')"), "item.htm");  // group 0: the match
  EXPECT_EQ(Eval("regexp_extract(url, 'nomatch=([0-9]+)', 1)"), "null");
  EXPECT_EQ(Eval("regexp_extract(url, '(a)', 5)"), "null");  // no such group
  EXPECT_NE(CompileError("regexp_extract(url, '(unclosed', 1)").find("bad regular expression"),
            std::string::npos);
}

TEST_F(SqlFunctionsTest, SplitIndex) {
  EXPECT_EQ(Eval("split_index(url, '/', 2)"), "www.nexmark.com");
  EXPECT_EQ(Eval("split_index(url, '/', 0)"), "https:");
  EXPECT_EQ(Eval("split_index(url, '/', 1)"), "");
  EXPECT_EQ(Eval("split_index(url, '/', 9)"), "null");
  EXPECT_EQ(Eval("split_index(url, '', 0)"), "null");
  EXPECT_EQ(Eval("split_index('a::b::c', '::', 2)"), "c");
}

}  // namespace
}  // namespace sluice::expr

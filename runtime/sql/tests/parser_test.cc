// The SQL parser: Flink's dialect (backquotes, case-preserving names, connector options, window
// table functions, computed columns, watermarks, lookup joins, statement sets) into the ast,
// with positions into the original text, and positioned errors that do not hide the next
// statements' errors.

#include "runtime/sql/parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice::sql {
namespace {

using ::testing::HasSubstr;

std::vector<ast::Statement> ParseOk(const std::string& text) {
  SourceText src("t.sql", text);
  std::vector<ast::Statement> out;
  for (auto& r : ParseScript(src)) {
    EXPECT_TRUE(r.ok()) << src.Format(r.status());
    if (r.ok()) out.push_back(std::move(*r));
  }
  return out;
}

std::string FirstError(const std::string& text) {
  SourceText src("t.sql", text);
  for (auto& r : ParseScript(src)) {
    if (!r.ok()) return src.Format(r.status());
  }
  return "no error";
}

TEST(SqlParser, CreateTableWithFlinkExtensions) {
  auto st = ParseOk(R"(CREATE TABLE bid (
    auction BIGINT,
    `dateTime` TIMESTAMP(3),
    itemName STRING,
    price DOUBLE,
    euros AS 0.908 * price,
    WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '4' SECOND,
    PRIMARY KEY (auction) NOT ENFORCED
) WITH (
    'connector' = 'nexmark',
    'events.num' = '1000'
);)");
  ASSERT_EQ(st.size(), 1u);
  const auto& ct = std::get<ast::CreateTable>(st[0].node);
  EXPECT_EQ(ct.name, "bid");
  ASSERT_EQ(ct.columns.size(), 5u);
  EXPECT_EQ(ct.columns[1].name, "dateTime");
  EXPECT_EQ(ct.columns[1].type->type, core::Type::kTimestamp);
  EXPECT_EQ(ct.columns[2].name, "itemName");  // case kept
  EXPECT_EQ(ct.columns[2].type->type, core::Type::kString);
  EXPECT_EQ(ct.columns[3].type->type, core::Type::kDouble);
  EXPECT_EQ(ct.columns[4].name, "euros");
  ASSERT_NE(ct.columns[4].computed, nullptr);
  EXPECT_EQ(ct.columns[4].computed->name, "*");
  ASSERT_TRUE(ct.watermark.has_value());
  EXPECT_EQ(ct.watermark->first, "dateTime");
  EXPECT_EQ(ct.watermark->second->args[1]->interval_ms, 4000);
  EXPECT_EQ(ct.primary_key, std::vector<std::string>{"auction"});
  ASSERT_EQ(ct.options.size(), 2u);
  EXPECT_EQ(ct.options[0].key, "connector");
  EXPECT_EQ(ct.options[0].value, "nexmark");
  EXPECT_EQ(ct.options[1].key, "events.num");
}

TEST(SqlParser, WindowTableFunctionAndNames) {
  auto st = ParseOk(
      "INSERT INTO out SELECT auction, count(*) filter (where price < 10) AS n, window_start\n"
      "FROM TABLE(HOP(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '2' SECOND, "
      "INTERVAL '10' SECOND))\n"
      "GROUP BY auction, window_start, window_end;");
  ASSERT_EQ(st.size(), 1u);
  const auto& ins = std::get<ast::Insert>(st[0].node);
  EXPECT_EQ(ins.table, "out");
  const ast::Query& q = *ins.query;
  ASSERT_EQ(q.from.size(), 1u);
  const ast::TableRef& f = *q.from[0];
  EXPECT_EQ(f.kind, ast::TableRefKind::kFunction);
  EXPECT_EQ(f.name, "hop");
  ASSERT_EQ(f.args.size(), 4u);
  EXPECT_EQ(f.args[0]->name, "bid");
  EXPECT_EQ(f.args[1]->name, "dateTime");
  EXPECT_EQ(f.args[2]->interval_ms, 2000);
  EXPECT_EQ(f.args[3]->interval_ms, 10000);
  ASSERT_EQ(q.select.size(), 3u);
  EXPECT_EQ(q.select[1].alias, "n");
  EXPECT_TRUE(q.select[1].expr->star);
  ASSERT_NE(q.select[1].expr->filter, nullptr);
  EXPECT_EQ(q.group_by.size(), 3u);
}

TEST(SqlParser, LookupJoinSetAndStatementSet) {
  auto st = ParseOk(
      "SET 'parallelism.default' = '2';\n"
      "BEGIN STATEMENT SET;\n"
      "INSERT INTO o SELECT B.a, S.`value` FROM bid AS B\n"
      "  JOIN side FOR SYSTEM_TIME AS OF B.p_time AS S ON B.a = S.`key`;\n"
      "INSERT INTO o2 SELECT * FROM bid;\n"
      "END;");
  ASSERT_EQ(st.size(), 3u);
  const auto& set = std::get<ast::Set>(st[0].node);
  EXPECT_EQ(set.key, "parallelism.default");
  EXPECT_EQ(set.value, "2");
  const auto& ins = std::get<ast::Insert>(st[1].node);
  const ast::TableRef& j = *ins.query->from[0];
  ASSERT_EQ(j.kind, ast::TableRefKind::kJoin);
  ASSERT_NE(j.right->system_time, nullptr);
  EXPECT_EQ(j.right->name, "side");
  EXPECT_EQ(j.right->alias, "S");
  EXPECT_EQ(j.right->system_time->qualifier, "B");
  EXPECT_EQ(j.right->system_time->name, "p_time");
  EXPECT_TRUE(std::get<ast::Insert>(st[2].node).query->select[0].star);
}

TEST(SqlParser, ErrorsArePositionedAndDoNotHideLaterStatements) {
  EXPECT_EQ(FirstError("SELECT a FROM t WHERE;"), "t.sql:1:22: syntax error at end of input");
  // Positions count the original text, also after rewritten backquotes and names, and the
  // message names the token as written ("b FORM" reads as "b AS FORM").
  EXPECT_EQ(FirstError("SELECT `a`,\n  b FORM t;"), "t.sql:2:10: syntax error at or near \"t\"");
  EXPECT_THAT(FirstError("CREATE TABLE t (p ROW<a INT>) WITH ('connector' = 'print');"),
              HasSubstr("t.sql:1:19: type ROW<...> is not supported"));
  EXPECT_THAT(FirstError("SELECT 'abc FROM t;"), HasSubstr("t.sql:1:8: unterminated string"));
  EXPECT_THAT(FirstError("SELECT a FROM t WHERE x > INTERVAL '1' MONTH;"),
              HasSubstr("t.sql:1:27: INTERVAL in months"));
  EXPECT_EQ(FirstError("SELECT 'caf\xc3' FROM t;"),
            "t.sql:1:12: the script is not valid UTF-8 text (or holds a NUL byte) here");
  SourceText src("t.sql", "SELECT FROM FROM;\nSELECT 1;\nINSERT INTO x SELEC 1;");
  auto results = ParseScript(src);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_FALSE(results[0].ok());
  EXPECT_TRUE(results[1].ok());
  ASSERT_FALSE(results[2].ok());
  EXPECT_EQ(src.Line(*SqlErrorOffset(results[2].status())), 3);
}

TEST(SqlParser, WithAppliesToAUnion) {
  auto st = ParseOk("SELECT a FROM w UNION ALL SELECT a FROM w2;\n"
                    "WITH w AS (SELECT a FROM t) SELECT a FROM w UNION ALL SELECT b FROM t;");
  ASSERT_EQ(st.size(), 2u);
  const auto& q = *std::get<ast::Select>(st[1].node).query;
  EXPECT_EQ(q.union_all.size(), 2u);
  ASSERT_EQ(q.with.size(), 1u);
  EXPECT_EQ(q.with[0].first, "w");
}

TEST(SqlParser, ExpressionForms) {
  auto st = ParseOk(
      "SELECT CASE WHEN a BETWEEN 1 AND 2 THEN 'x' ELSE 'y' END, b IN (1, 2), c IS NOT NULL,\n"
      "  CAST(d AS DOUBLE), TIMESTAMP '2001-01-01 00:00:00', MOD(e, 123), f LIKE 'a%',\n"
      "  COALESCE(g, 0), count(DISTINCT h) FROM t;");
  const auto& sel = *std::get<ast::Select>(st[0].node).query;
  ASSERT_EQ(sel.select.size(), 9u);
  EXPECT_EQ(sel.select[0].expr->kind, ast::ExprKind::kCase);
  EXPECT_EQ(sel.select[0].expr->args[0]->kind, ast::ExprKind::kBetween);
  EXPECT_EQ(sel.select[1].expr->kind, ast::ExprKind::kIn);
  EXPECT_EQ(sel.select[1].expr->args.size(), 3u);
  EXPECT_TRUE(sel.select[2].expr->negated);
  EXPECT_EQ(sel.select[3].expr->cast_type->type, core::Type::kDouble);
  EXPECT_EQ(sel.select[4].expr->literal_type, core::Type::kTimestamp);
  EXPECT_EQ(sel.select[5].expr->name, "mod");
  EXPECT_EQ(sel.select[6].expr->kind, ast::ExprKind::kLike);
  EXPECT_EQ(sel.select[7].expr->name, "coalesce");
  EXPECT_TRUE(sel.select[8].expr->distinct);
  // Offsets point into the original text: 'MOD' is on line 2.
  SourceText src("t.sql", "");
  EXPECT_EQ(sel.select[5].expr->offset,
            static_cast<int>(std::string("SELECT CASE WHEN a BETWEEN 1 AND 2 THEN 'x' ELSE 'y' "
                                         "END, b IN (1, 2), c IS NOT NULL,\n  CAST(d AS DOUBLE), "
                                         "TIMESTAMP '2001-01-01 00:00:00', ").size()));
}

}  // namespace
}  // namespace sluice::sql

// The SQL compiler end to end (no cluster): what a script plans into, and the positioned error
// of every kind of bad SQL, each reported without stopping the other statements.

#include "runtime/sql/sql_compiler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "yaml-cpp/yaml.h"

namespace sluice::sql {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kDdl[] = R"(CREATE TABLE bid (
  auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING,
  `dateTime` TIMESTAMP(3), extra STRING,
  WATERMARK FOR `dateTime` AS `dateTime` - INTERVAL '4' SECOND
) WITH ('connector' = 'nexmark', 'table' = 'bid', 'events.num' = '1000');
CREATE TABLE flights (origin STRING, delay BIGINT, ts TIMESTAMP(3))
  WITH ('connector' = 'filesystem', 'path' = 'f.csv', 'format' = 'csv');
CREATE TABLE out1 (a BIGINT, b BIGINT) WITH ('connector' = 'filesystem', 'path' = 'o', 'format' = 'csv');
CREATE TABLE updates (a BIGINT, b BIGINT)
  WITH ('connector' = 'filesystem', 'path' = 'u', 'format' = 'changelog-csv');
)";

CompiledSql Compile(const std::string& body) {
  SourceText src("t.sql", std::string(kDdl) + body);
  return CompileSql(src, "/tmp");
}

// The line of `body`'s first line in the script.
int BodyLine(int line_in_body) {
  int lines = 0;
  for (char c : std::string(kDdl)) lines += c == '\n';
  return lines + line_in_body;
}

std::string OnlyError(const std::string& body) {
  CompiledSql c = Compile(body);
  EXPECT_EQ(c.errors.size(), 1u) << ::testing::PrintToString(c.errors);
  return c.errors.empty() ? "" : c.errors[0];
}

YAML::Node Steps(const CompiledSql& c) { return YAML::Load(c.spec_yaml)["pipeline"]; }

// The operator keys of the pipeline's steps, in order.
std::vector<std::string> Ops(const CompiledSql& c) {
  std::vector<std::string> out;
  for (const auto& step : Steps(c)) {
    for (const auto& kv : step) {
      const std::string k = kv.first.as<std::string>();
      if (k != "name" && k != "uid" && k != "input") out.push_back(k);
    }
  }
  return out;
}

TEST(SqlCompiler, WindowTvfBecomesKeyByAndWindow) {
  CompiledSql c = Compile(
      "INSERT INTO out1 SELECT auction, count(*) FROM TABLE(TUMBLE(TABLE bid, "
      "DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND)) GROUP BY auction, window_start, window_end;");
  ASSERT_TRUE(c.ok()) << ::testing::PrintToString(c.errors);
  EXPECT_THAT(Ops(c), ElementsAre("key-by", "window", "map"));
  YAML::Node w = Steps(c)[1]["window"];
  EXPECT_EQ(w["type"].as<std::string>(), "tumbling");
  EXPECT_EQ(w["size"].as<std::string>(), "10000 ms");
  EXPECT_EQ(w["aggregates"].begin()->second.as<std::string>(), "count()");
  EXPECT_THAT(c.job_plan, HasSubstr("keyed"));
}

TEST(SqlCompiler, WindowKindsAndGroupWindows) {
  CompiledSql c = Compile(
      "INSERT INTO out1 SELECT auction, count(*) FROM TABLE(CUMULATE(TABLE bid, "
      "DESCRIPTOR(`dateTime`), INTERVAL '2' SECOND, INTERVAL '10' SECOND)) "
      "GROUP BY auction, window_start, window_end;\n"
      "INSERT INTO out1 SELECT bidder, count(*) FROM bid "
      "GROUP BY bidder, SESSION(`dateTime`, INTERVAL '5' SECOND);");
  ASSERT_TRUE(c.ok()) << ::testing::PrintToString(c.errors);
  YAML::Node steps = Steps(c);
  EXPECT_EQ(steps[1]["window"]["type"].as<std::string>(), "cumulate");
  EXPECT_EQ(steps[1]["window"]["step"].as<std::string>(), "2000 ms");
  EXPECT_EQ(steps[4]["window"]["type"].as<std::string>(), "session");
  EXPECT_EQ(steps[4]["window"]["gap"].as<std::string>(), "5000 ms");
}

TEST(SqlCompiler, GroupByIsAnUpdatingAggregateThatOnlyChangelogSinksTake) {
  CompiledSql ok = Compile("INSERT INTO updates SELECT auction, sum(price) FROM bid GROUP BY auction;");
  ASSERT_TRUE(ok.ok()) << ::testing::PrintToString(ok.errors);
  EXPECT_THAT(Ops(ok), ElementsAre("key-by", "aggregate", "map"));
  EXPECT_TRUE(Steps(ok)[1]["aggregate"]["changelog"].as<bool>());
  EXPECT_EQ(YAML::Load(ok.spec_yaml)["sinks"]["updates"]["changelog"].as<bool>(), true);
  EXPECT_EQ(OnlyError("INSERT INTO out1 SELECT auction, sum(price) FROM bid GROUP BY auction;"),
            fmt::format("t.sql:{}:13: table 'out1' cannot take this query's updates (it is "
                        "updating because of a GROUP BY without a window): a filesystem sink "
                        "needs 'format' = 'changelog-csv' or 'changelog-json'; upsert-kafka and print "
                        "also take updates", BodyLine(1)));
}

TEST(SqlCompiler, StateTtlBoundsTheKeyedStateOfUpdatingOperators) {
  CompiledSql c = Compile(
      "SET 'table.exec.state.ttl' = '1 h';\n"
      "INSERT INTO updates SELECT auction, count(*) FROM bid GROUP BY auction;\n"
      "INSERT INTO out1 SELECT a.auction, b.price FROM bid a JOIN bid b ON a.auction = b.bidder;");
  ASSERT_TRUE(c.ok()) << ::testing::PrintToString(c.errors);
  EXPECT_EQ(Steps(c)[1]["aggregate"]["ttl"].as<std::string>(), "3600000 ms");
  EXPECT_EQ(Steps(c)[3]["join"]["ttl"].as<std::string>(), "3600000 ms");
  EXPECT_EQ(YAML::Load(c.spec_yaml)["state"]["ttl"].as<std::string>(), "3600000 ms");
}

TEST(SqlCompiler, UpsertKafkaTakesUpdatesKeyedByThePrimaryKey) {
  CompiledSql c = Compile(
      "CREATE TABLE totals (auction BIGINT, total BIGINT, PRIMARY KEY (auction) NOT ENFORCED) "
      "WITH ('connector' = 'upsert-kafka', 'topic' = 'totals', 'properties.bootstrap.servers' = "
      "'127.0.0.1:9092', 'key.format' = 'csv', 'value.format' = 'json');\n"
      "INSERT INTO totals SELECT auction, sum(price) FROM bid GROUP BY auction;");
  ASSERT_TRUE(c.ok()) << ::testing::PrintToString(c.errors);
  YAML::Node sink = YAML::Load(c.spec_yaml)["sinks"]["totals"];
  EXPECT_EQ(sink["type"].as<std::string>(), "kafka");
  EXPECT_TRUE(sink["upsert"].as<bool>());
  EXPECT_EQ(sink["key"][0].as<std::string>(), "auction");
  EXPECT_EQ(sink["format"].as<std::string>(), "json");
  EXPECT_THAT(OnlyError("CREATE TABLE t (a BIGINT) WITH ('connector' = 'upsert-kafka', 'topic' = "
                        "'t', 'properties.bootstrap.servers' = 'x:1', 'key.format' = 'csv', "
                        "'value.format' = 'json');"),
              HasSubstr("connector 'upsert-kafka' needs a PRIMARY KEY"));
  EXPECT_THAT(OnlyError("CREATE TABLE k (a BIGINT, b BIGINT) WITH ('connector' = 'kafka', 'topic' "
                        "= 'k', 'properties.bootstrap.servers' = 'x:1', 'format' = 'csv');\n"
                        "INSERT INTO k SELECT auction, count(*) FROM bid GROUP BY auction;"),
              HasSubstr("table 'k' cannot take this query's updates"));
}

TEST(SqlCompiler, JoinsAndUnion) {
  CompiledSql c = Compile(
      "INSERT INTO out1 SELECT a.auction, b.price FROM bid a JOIN bid b ON a.auction = b.bidder "
      "AND b.`dateTime` BETWEEN a.`dateTime` - INTERVAL '5' SECOND AND a.`dateTime`;\n"
      "INSERT INTO out1 SELECT auction, price FROM bid WHERE price > 10 UNION ALL "
      "SELECT bidder, price FROM bid;");
  ASSERT_TRUE(c.ok()) << ::testing::PrintToString(c.errors);
  YAML::Node between = Steps(c)[0]["interval-join"]["between"];
  ASSERT_TRUE(between) << c.spec_yaml;
  EXPECT_EQ(between["lower"].as<std::string>(), "-5000 ms");
  EXPECT_EQ(between["upper"].as<std::string>(), "0 ms");
  EXPECT_THAT(Ops(c), ::testing::Contains("union"));
}

TEST(SqlCompiler, UidsAreStableAndExplainPrintsBothPlans) {
  const std::string q = "INSERT INTO out1 SELECT auction, price FROM bid WHERE price > 10;";
  EXPECT_EQ(Compile(q).spec_yaml, Compile(q).spec_yaml);
  EXPECT_THAT(Compile(q).spec_yaml, HasSubstr("uid: out1.filter-1"));
  CompiledSql e = Compile("EXPLAIN " + q);
  ASSERT_TRUE(e.ok()) << ::testing::PrintToString(e.errors);
  ASSERT_EQ(e.explains.size(), 1u);
  EXPECT_THAT(e.explains[0], HasSubstr("== Logical plan =="));
  EXPECT_THAT(e.explains[0], HasSubstr("Filter(WHERE: (`price` > 10))"));
  EXPECT_THAT(e.explains[0], HasSubstr("== Job graph =="));
  EXPECT_TRUE(e.spec_yaml.empty());  // EXPLAIN runs nothing
}

TEST(SqlCompiler, ComputedJoinKeysStayHidden) {
  CompiledSql c = Compile(
      "INSERT INTO out1 SELECT * FROM (SELECT a.auction FROM bid a JOIN bid b "
      "ON MOD(a.auction, 10) = b.bidder) t, (SELECT 1 AS one FROM bid) u WHERE t.auction = u.one;");
  // The star expands to auction (and one), not the join's computed key.
  ASSERT_TRUE(c.ok()) << ::testing::PrintToString(c.errors);
}

TEST(SqlCompiler, WindowJoinOfTwoWindowTableFunctions) {
  const std::string tvf = "TABLE(TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '{}' SECOND))";
  auto query = [&](int right_size, const char* extra) {
    return fmt::format(
        "INSERT INTO out1 SELECT L.auction, R.price FROM {} L JOIN {} R ON L.auction = R.bidder "
        "AND L.window_start = R.window_start{};",
        fmt::format(fmt::runtime(tvf), 10), fmt::format(fmt::runtime(tvf), right_size), extra);
  };
  CompiledSql c = Compile(query(10, " AND L.window_end = R.window_end"));
  ASSERT_TRUE(c.ok()) << ::testing::PrintToString(c.errors);
  YAML::Node w = Steps(c)[0]["window-join"]["window"];
  ASSERT_TRUE(w) << c.spec_yaml;
  EXPECT_EQ(w["type"].as<std::string>(), "tumbling");
  EXPECT_EQ(w["size"].as<std::string>(), "10000 ms");
  EXPECT_THAT(OnlyError(query(10, "")), HasSubstr("a window join needs L.window_start = "
                                                  "R.window_start AND L.window_end = "
                                                  "R.window_end"));
  EXPECT_THAT(OnlyError(query(5, " AND L.window_end = R.window_end")),
              HasSubstr("the same TUMBLE or HOP windows"));
}

// window_time of a window aggregation is a time attribute: windows over windows.
TEST(SqlCompiler, WindowTimeIsATimeAttributeForFurtherWindows) {
  CompiledSql c = Compile(
      "CREATE VIEW per_minute AS SELECT auction, window_time, count(*) AS n FROM TABLE("
      "TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '1' MINUTE)) "
      "GROUP BY auction, window_start, window_end, window_time;\n"
      "INSERT INTO out1 SELECT auction, sum(n) FROM TABLE(TUMBLE(TABLE per_minute, "
      "DESCRIPTOR(window_time), INTERVAL '1' HOUR)) GROUP BY auction, window_start, window_end;");
  ASSERT_TRUE(c.ok()) << ::testing::PrintToString(c.errors);
  std::vector<std::string> sizes;
  for (const auto& step : Steps(c)) {
    if (step["window"]) sizes.push_back(step["window"]["size"].as<std::string>());
  }
  EXPECT_THAT(sizes, ElementsAre("60000 ms", "3600000 ms"));
  EXPECT_THAT(c.spec_yaml, HasSubstr("(`window_end` - 1)"));
}

TEST(SqlCompiler, TypedNulls) {
  CompiledSql c = Compile(
      "INSERT INTO out1 SELECT CASE WHEN price > 5 THEN NULL ELSE auction END, "
      "COALESCE(CAST(NULL AS BIGINT), bidder) FROM bid;");
  ASSERT_TRUE(c.ok()) << ::testing::PrintToString(c.errors);
  EXPECT_THAT(c.spec_yaml, HasSubstr("THEN CASE WHEN false THEN 0 END ELSE `auction`"));
  EXPECT_THAT(OnlyError("INSERT INTO out1 SELECT CASE WHEN price > 5 THEN NULL END, 1 FROM bid;"),
              HasSubstr("every branch of this CASE is NULL"));
}

TEST(SqlCompiler, NameErrors) {
  EXPECT_EQ(OnlyError("INSERT INTO out1 SELECT auction, price FROM bids;"),
            fmt::format("t.sql:{}:45: unknown table 'bids' (tables and views: bid, flights, out1, "
                        "updates)", BodyLine(1)));
  EXPECT_EQ(OnlyError("INSERT INTO out1 SELECT auction, prise FROM bid;"),
            fmt::format("t.sql:{}:34: unknown column 'prise' (columns: bid.auction, bid.bidder, "
                        "bid.price, bid.channel, bid.url, bid.dateTime, bid.extra)", BodyLine(1)));
  EXPECT_THAT(OnlyError("INSERT INTO out1 SELECT auction, price FROM bid a JOIN bid b "
                        "ON a.auction = b.auction;"),
              HasSubstr(":25: column 'auction' is ambiguous"));
  EXPECT_THAT(OnlyError("INSERT INTO out1 SELECT auction, frobnicate(price) FROM bid;"),
              HasSubstr(":34: unknown function 'frobnicate' (known: abs, "));
  EXPECT_THAT(OnlyError("INSERT INTO nowhere SELECT auction, price FROM bid;"),
              HasSubstr(":13: unknown table 'nowhere'"));
}

TEST(SqlCompiler, TypeErrors) {
  EXPECT_THAT(OnlyError("INSERT INTO out1 SELECT auction, price FROM bid WHERE price;"),
              HasSubstr(":55: WHERE must be a BOOLEAN condition, is int64"));
  EXPECT_THAT(OnlyError("INSERT INTO out1 SELECT auction, price + channel FROM bid;"),
              HasSubstr(":40: type mismatch: operator '+' cannot apply to int64 'price' and "
                        "string 'channel'"));
  EXPECT_THAT(OnlyError("INSERT INTO out1 SELECT auction, SUBSTRING(price, 1) FROM bid;"),
              HasSubstr("function 'substr' expects a string as argument 1"));
  EXPECT_THAT(OnlyError("INSERT INTO out1 SELECT auction, channel FROM bid;"),
              HasSubstr("INSERT INTO out1: column 2 ('channel') is string, but the table's 'b' "
                        "is int64"));
  EXPECT_THAT(OnlyError("INSERT INTO out1 SELECT auction FROM bid;"),
              HasSubstr("the query has 1 columns, the table 2"));
  EXPECT_THAT(OnlyError("INSERT INTO out1 SELECT auction, price FROM bid WHERE count(*) > 1;"),
              HasSubstr("aggregate function count() is not allowed here"));
  EXPECT_THAT(OnlyError("INSERT INTO updates SELECT auction, price FROM bid GROUP BY auction;"),
              HasSubstr(":37: column 'price' must be in GROUP BY or inside an aggregate function"));
}

TEST(SqlCompiler, WindowNeedsATimeAttribute) {
  EXPECT_THAT(OnlyError("INSERT INTO out1 SELECT 1, count(*) FROM TABLE(TUMBLE(TABLE flights, "
                        "DESCRIPTOR(ts), INTERVAL '1' HOUR)) GROUP BY window_start, window_end;"),
              HasSubstr("TUMBLE(): 'ts' is not a time attribute (declare WATERMARK FOR ts in "
                        "its table, or use a PROCTIME() column)"));
  EXPECT_THAT(OnlyError("INSERT INTO out1 SELECT auction, count(*) FROM TABLE(TUMBLE(TABLE bid, "
                        "DESCRIPTOR(`dateTime`), INTERVAL '1' HOUR)) GROUP BY auction;"),
              HasSubstr("a window table function needs GROUP BY window_start, window_end"));
}

TEST(SqlCompiler, DdlAndSetErrors) {
  EXPECT_THAT(OnlyError("CREATE TABLE t (a INT) WITH ('connector' = 'kafkaa');"),
              HasSubstr(":30: unknown connector 'kafkaa' (expected filesystem, datagen"));
  EXPECT_THAT(OnlyError("CREATE TABLE t (a INT) WITH ('connector' = 'filesystem', 'pth' = 'x', "
                        "'format' = 'csv');"),
              HasSubstr("connector 'filesystem': unknown option 'pth' (known: connector, path"));
  EXPECT_THAT(OnlyError("CREATE TABLE t (a INT) WITH ('connector' = 'filesystem', 'format' = 'csv');"),
              HasSubstr("connector 'filesystem' needs option 'path'"));
  EXPECT_THAT(OnlyError("CREATE TABLE t (a INT, WATERMARK FOR a AS a) WITH ('connector' = 'print');"),
              HasSubstr("WATERMARK FOR 'a': the column must be a TIMESTAMP(3)"));
  EXPECT_THAT(OnlyError("CREATE TABLE t (a FOO) WITH ('connector' = 'print');"),
              HasSubstr("unknown type 'foo'"));
  EXPECT_THAT(OnlyError("SET 'parallelism.default' = 'two';"),
              HasSubstr("SET 'parallelism.default': expected an integer, got 'two'"));
  EXPECT_THAT(OnlyError("SET 'no.such.key' = '1';"), HasSubstr("SET: unknown key 'no.such.key'"));
  EXPECT_THAT(OnlyError("CREATE TABLE bid (a INT) WITH ('connector' = 'print');"),
              HasSubstr("table 'bid' already exists"));
}

TEST(SqlCompiler, EveryBadStatementIsReported) {
  CompiledSql c = Compile(
      "INSERT INTO out1 SELECT nope, price FROM bid;\n"
      "INSERT INTO out1 SELECT auction, price FROM bid;\n"
      "INSERT INTO out1 SELEC auction FROM bid;\n"
      "SET 'parallelism.default' = 'x';\n");
  ASSERT_EQ(c.errors.size(), 3u) << ::testing::PrintToString(c.errors);
  EXPECT_THAT(c.errors[0], HasSubstr(fmt::format("t.sql:{}:", BodyLine(1))));
  EXPECT_THAT(c.errors[1], HasSubstr(fmt::format("t.sql:{}:", BodyLine(3))));
  EXPECT_THAT(c.errors[2], HasSubstr(fmt::format("t.sql:{}:", BodyLine(4))));
  EXPECT_TRUE(c.spec_yaml.empty());
}

TEST(SqlCompiler, TopNAndDeduplication) {
  CompiledSql c = Compile(
      "INSERT INTO updates SELECT auction, price FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY "
      "auction ORDER BY price DESC) AS rn FROM bid) WHERE rn <= 3;");
  ASSERT_TRUE(c.ok()) << ::testing::PrintToString(c.errors);
  YAML::Node top = Steps(c)[1]["top-n"];
  ASSERT_TRUE(top) << c.spec_yaml;
  EXPECT_EQ(top["n"].as<int>(), 3);
  EXPECT_EQ(top["order-by"].as<std::string>(), "price");
  EXPECT_FALSE(top["rank-field"]);  // rn is not selected
  EXPECT_THAT(OnlyError("INSERT INTO updates SELECT auction, price FROM (SELECT *, ROW_NUMBER() "
                        "OVER (PARTITION BY auction ORDER BY price) AS rn FROM bid) WHERE rn > 3;"),
              HasSubstr("ROW_NUMBER() needs a filter rn <= N"));
  // Found by the fuzz target: the ranked subquery without FROM.
  EXPECT_THAT(OnlyError("INSERT INTO updates SELECT auction, price FROM (SELECT ROW_NUMBER() "
                        "OVER (PARTITION BY auction ORDER BY price) AS rn) WHERE rn <= 3;"),
              HasSubstr("a query needs FROM"));
}

}  // namespace
}  // namespace sluice::sql

namespace sluice::sql {
namespace {

TEST(SqlCompiler, OverAggregationsBecomeAnOverStep) {
  CompiledSql c = Compile(
      "INSERT INTO out1 SELECT auction, sum(price) OVER (PARTITION BY auction ORDER BY "
      "`dateTime` RANGE BETWEEN INTERVAL '10' SECOND PRECEDING AND CURRENT ROW) FROM bid;");
  ASSERT_TRUE(c.ok()) << ::testing::PrintToString(c.errors);
  EXPECT_EQ(Ops(c), (std::vector<std::string>{"key-by", "over", "map"}));
  YAML::Node over = Steps(c)[1]["over"];
  EXPECT_EQ(over["range"].as<std::string>(), "10000 ms");
  EXPECT_EQ(over["aggregates"]["over_sum"].as<std::string>(), "sum(price)");
  const std::string w = " OVER (PARTITION BY auction ORDER BY `dateTime` ";
  const std::string base = "INSERT INTO out1 SELECT auction, ";
  EXPECT_THAT(OnlyError(base + "sum(price)" + w + "ROWS 2 PRECEDING), count(*)" + w +
                        "ROWS 3 PRECEDING) FROM bid;"),
              HasSubstr("all OVER aggregations of a query must use the same window"));
  EXPECT_THAT(OnlyError(base + "sum(price) OVER (ORDER BY `dateTime`) FROM bid;"),
              HasSubstr("OVER without PARTITION BY is not supported"));
  EXPECT_THAT(OnlyError(base + "sum(price) OVER (PARTITION BY auction ORDER BY price) FROM bid;"),
              HasSubstr("OVER ... ORDER BY 'price': must be the event-time attribute"));
  EXPECT_THAT(OnlyError(base + "sum(price)" + w + "ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) "
                        "FROM bid;"),
              HasSubstr("an OVER frame must end at the current row"));
  EXPECT_THAT(OnlyError(base + "sum(price)" + w + "RANGE BETWEEN 5 PRECEDING AND CURRENT ROW) "
                        "FROM bid;"),
              HasSubstr("RANGE BETWEEN ... PRECEDING over event time takes an INTERVAL"));
  EXPECT_THAT(OnlyError(base + "sum(price + 1)" + w + "ROWS 2 PRECEDING) FROM bid;"),
              HasSubstr("the argument of an OVER aggregate must be a column"));
  EXPECT_THAT(OnlyError(base + "sum(price)" + w + "ROWS 2 PRECEDING) FROM bid GROUP BY auction;"),
              HasSubstr("OVER aggregations in a query with GROUP BY are not supported"));
}

}  // namespace
}  // namespace sluice::sql

// SQL and what lies outside the script: avro-confluent tables and the schema registry (columns
// from the subject's latest schema, declared columns checked against it with positioned errors,
// the generated spec's `schema-registry`; the registry is the in-process stand-in of
// runtime/formats/tests), and CREATE FUNCTION naming a C++ plugin's scalar functions.

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/formats/tests/registry_stand_in.h"
#include "runtime/sql/sql_compiler.h"
#include "yaml-cpp/yaml.h"

namespace sluice::sql {
namespace {

using ::testing::HasSubstr;

constexpr char kBidSchema[] = R"({"type":"record","name":"Bid","fields":[
  {"name":"auction","type":"long"},{"name":"price","type":["null","int"]},
  {"name":"ts","type":{"type":"long","logicalType":"timestamp-millis"}}]})";

std::string Table(const std::string& url, const std::string& columns,
                  const std::string& topic = "bids") {
  return "CREATE TABLE bids " + columns + " WITH ('connector' = 'kafka', 'topic' = '" + topic +
         "',\n"
         "  'format' = 'avro-confluent', 'avro-confluent.url' = '" + url + "',\n"
         "  'properties.bootstrap.servers' = 'localhost:9092');\n";
}

constexpr char kInsert[] = R"(
CREATE TABLE out1 (auction BIGINT, price BIGINT) WITH ('connector' = 'kafka', 'topic' = 'out',
  'format' = 'avro-confluent', 'avro-confluent.url' = 'http://127.0.0.1:1',
  'properties.bootstrap.servers' = 'localhost:9092');
INSERT INTO out1 SELECT auction, price FROM bids WHERE price > 10;
)";

CompiledSql Compile(const std::string& text, bool lookups = true) {
  return CompileSql(SourceText("t.sql", text), "/tmp",
                    SqlOptions{.select_result_dir = "", .schema_registry_lookups = lookups});
}

TEST(SqlRegistry, ColumnsComeFromTheSubjectsLatestSchema) {
  formats::testing::RegistryStandIn registry;
  registry.Register("bids-value", kBidSchema);
  // The sink's subject does not exist yet: fine, its columns are declared.
  std::string insert = kInsert;
  insert.replace(insert.find("http://127.0.0.1:1"), 18, registry.url());
  CompiledSql c = Compile(Table(registry.url(), "") + insert);
  ASSERT_TRUE(c.errors.empty()) << ::testing::PrintToString(c.errors);
  YAML::Node spec = YAML::Load(c.spec_yaml);
  YAML::Node src = spec["sources"]["bids"];
  EXPECT_EQ(src["schema"]["auction"].as<std::string>(), "int64");
  EXPECT_EQ(src["schema"]["price"].as<std::string>(), "int32");
  EXPECT_EQ(src["schema"]["ts"].as<std::string>(), "timestamp");
  EXPECT_EQ(src["schema-registry"]["url"].as<std::string>(), registry.url());
  YAML::Node sink = spec["sinks"]["out1"];
  EXPECT_EQ(sink["format"].as<std::string>(), "avro-confluent");
  EXPECT_EQ(sink["schema-registry"]["subject"].as<std::string>(), "out-value");
}

TEST(SqlRegistry, DeclaredColumnsAreCheckedAgainstTheRegistry) {
  formats::testing::RegistryStandIn registry;
  registry.Register("bids-value", kBidSchema);
  CompiledSql ok = Compile(Table(registry.url(), "(auction BIGINT, price DOUBLE)"));
  EXPECT_TRUE(ok.errors.empty()) << ::testing::PrintToString(ok.errors);

  CompiledSql bad = Compile(Table(registry.url(), "(auction BIGINT, price STRING)"));
  ASSERT_EQ(bad.errors.size(), 1u) << ::testing::PrintToString(bad.errors);
  EXPECT_EQ(bad.errors[0], "t.sql:1:36: table 'bids', subject 'bids-value' version 1 (id 1): "
                           "field 'price': the schema's type \"int\" cannot be read as string "
                           "(readable: string, enum)");
  CompiledSql missing = Compile(Table(registry.url(), "(auction BIGINT, seller BIGINT)"));
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_THAT(missing.errors[0], HasSubstr("t.sql:1:36: table 'bids', subject 'bids-value' "
                                           "version 1 (id 1): column 'seller' is not a field of "
                                           "the Avro schema (fields: auction, price, ts)"));
  // An unknown subject: fine for declared columns (a sink creates it), an error without.
  EXPECT_TRUE(Compile(Table(registry.url(), "(a BIGINT)", "none")).errors.empty());
  CompiledSql none = Compile(Table(registry.url(), "", "none"));
  ASSERT_EQ(none.errors.size(), 1u);
  EXPECT_THAT(none.errors[0], HasSubstr("cannot get the schema of subject 'none-value'"));
  EXPECT_THAT(none.errors[0], HasSubstr("Subject not found."));
}

TEST(SqlRegistry, OptionErrorsAndLookupsOff) {
  CompiledSql no_url = Compile(
      "CREATE TABLE t (a BIGINT) WITH ('connector' = 'kafka', 'topic' = 'x', 'format' = "
      "'avro-confluent', 'properties.bootstrap.servers' = 'h:1');");
  ASSERT_EQ(no_url.errors.size(), 1u);
  EXPECT_THAT(no_url.errors[0], HasSubstr("t.sql:1:71: format 'avro-confluent' needs option "
                                          "'avro-confluent.url'"));
  CompiledSql bad_format = Compile(
      "CREATE TABLE t (a BIGINT) WITH ('connector' = 'filesystem', 'path' = 'x', 'format' = "
      "'avro');");
  ASSERT_EQ(bad_format.errors.size(), 1u);
  EXPECT_THAT(bad_format.errors[0], HasSubstr("connector 'filesystem': unknown format 'avro'"));
  // Without lookups, declared columns are taken as they are; none is an error.
  EXPECT_TRUE(Compile(Table("http://127.0.0.1:1", "(a BIGINT)"), false).errors.empty());
  CompiledSql none = Compile(Table("http://127.0.0.1:1", ""), false);
  ASSERT_EQ(none.errors.size(), 1u);
  EXPECT_THAT(none.errors[0], HasSubstr("table 'bids' declares no columns"));
}

}  // namespace
}  // namespace sluice::sql

namespace sluice::sql {
namespace {

// CREATE FUNCTION without a plugin, with LANGUAGE, and against a plugin's functions.
TEST(SqlFunctions, CreateFunctionNamesAPluginFunction) {
  const std::string create = "CREATE FUNCTION count_char AS 'com.x.CountChar';\n";
  CompiledSql none = CompileSql(SourceText("t.sql", create), "/tmp");
  ASSERT_EQ(none.errors.size(), 1u);
  EXPECT_THAT(none.errors[0], ::testing::HasSubstr("CREATE FUNCTION count_char: no function "
                                                   "library is loaded"));
  CompiledSql lang = CompileSql(
      SourceText("t.sql", "CREATE TEMPORARY FUNCTION f AS 'F' LANGUAGE JAVA;\n"), "/tmp");
  ASSERT_EQ(lang.errors.size(), 1u);
  EXPECT_THAT(lang.errors[0], ::testing::HasSubstr("LANGUAGE JAVA: Sluice's functions are C++"));

  class Twice : public sluice::ScalarFunction {
   public:
    sluice::Type ResultType(const std::vector<sluice::Type>& args) const override {
      if (args.size() != 1 || args[0] != sluice::Type::kInt64) throw std::invalid_argument("(BIGINT)");
      return sluice::Type::kInt64;
    }
    void Eval(const sluice::ScalarArgs& a, sluice::ScalarResult& r) override {
      r.SetInt64(2 * a.GetInt64(0));
    }
  };
  auto plugin = std::make_shared<sluice::JobDefinition>();
  plugin->scalar_functions["Twice"] = [] { return std::make_unique<Twice>(); };
  SqlOptions opts;
  opts.plugin = plugin;
  const std::string tables =
      "CREATE TABLE src (a BIGINT, s STRING) WITH ('connector' = 'datagen');\n"
      "CREATE TABLE out1 (a BIGINT) WITH ('connector' = 'print');\n";
  CompiledSql ok = CompileSql(SourceText("t.sql", "CREATE FUNCTION tw AS 'org.Twice';\n" + tables +
                                                      "INSERT INTO out1 SELECT TW(a) + 1 FROM src;\n"),
                              "/tmp", opts);
  ASSERT_TRUE(ok.errors.empty()) << ::testing::PrintToString(ok.errors);
  EXPECT_THAT(ok.spec_yaml, ::testing::HasSubstr("Twice(`a`)"));
  CompiledSql bad = CompileSql(SourceText("t.sql", "CREATE FUNCTION tw AS 'Twice';\n" + tables +
                                                       "INSERT INTO out1 SELECT tw(s) FROM src;\n"),
                               "/tmp", opts);
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_THAT(bad.errors[0], ::testing::HasSubstr("t.sql:4:25: function 'Twice' refuses (string): "
                                                  "(BIGINT)"));
  CompiledSql unknown = CompileSql(SourceText("t.sql", "CREATE FUNCTION f AS 'Nope';\n"), "/tmp", opts);
  ASSERT_EQ(unknown.errors.size(), 1u);
  EXPECT_THAT(unknown.errors[0], ::testing::HasSubstr("the plugin has no function 'Nope' (it "
                                                      "registers: Twice)"));
}

}  // namespace
}  // namespace sluice::sql

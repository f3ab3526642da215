#include "runtime/formats/record_format.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/core/time_format.h"

namespace sluice::formats {
namespace {

using ::testing::HasSubstr;

core::SchemaPtr AllTypes() {
  return std::make_shared<core::Schema>(std::vector<core::Field>{{"s", core::Type::kString},
                                                                 {"i", core::Type::kInt64},
                                                                 {"d", core::Type::kDouble},
                                                                 {"b", core::Type::kBool},
                                                                 {"t", core::Type::kTimestamp}});
}

std::unique_ptr<RecordDecoder> Make(core::SchemaPtr schema, RecordFormat format,
                                    char delimiter = ',') {
  RecordFormatOptions opts;
  opts.format = format;
  opts.csv_delimiter = delimiter;
  auto d = RecordDecoder::Create(std::move(schema), opts);
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? std::move(*d) : nullptr;
}

int64_t Ts(const char* iso) { return *core::ParseTimestamp(iso); }

TEST(RecordFormatTest, ParsesFormatNames) {
  EXPECT_EQ(*ParseRecordFormat("csv"), RecordFormat::kCsv);
  EXPECT_EQ(*ParseRecordFormat("json"), RecordFormat::kJson);
  EXPECT_EQ(*ParseRecordFormat("raw"), RecordFormat::kRaw);
  EXPECT_EQ(*ParseRecordFormat("avro"), RecordFormat::kAvro);
  EXPECT_EQ(*ParseRecordFormat("avro-confluent"), RecordFormat::kAvroConfluent);
  absl::StatusOr<RecordFormat> bad = ParseRecordFormat("protobuf");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("'protobuf'"));
  EXPECT_THAT(bad.status().message(), HasSubstr("csv, json, raw, avro or avro-confluent"));
  EXPECT_EQ(RecordFormatName(RecordFormat::kJson), "json");
}

TEST(RecordFormatTest, CsvDecodesEveryTypeLikeTheFileSource) {
  auto schema = AllTypes();
  auto d = Make(schema, RecordFormat::kCsv);
  core::RecordBatch batch(schema);
  ASSERT_TRUE(d->Decode("\"a,\"\"b\"\"\",-7,2.5e1,TRUE,2001-01-01T00:01:00Z", &batch).ok());
  ASSERT_TRUE(d->Decode("plain,+3,nan,0,2001-01-01\r\n", &batch).ok());  // trailing CRLF
  ASSERT_EQ(batch.num_rows(), 2u);
  EXPECT_EQ(batch.GetString(0, 0), "a,\"b\"");
  EXPECT_EQ(batch.GetInt64(0, 1), -7);
  EXPECT_DOUBLE_EQ(batch.GetDouble(0, 2), 25.0);
  EXPECT_TRUE(batch.GetBool(0, 3));
  EXPECT_EQ(batch.GetInt64(0, 4), Ts("2001-01-01T00:01:00Z"));
  EXPECT_EQ(batch.timestamp(0), core::kNoTimestamp);
  EXPECT_EQ(batch.GetString(1, 0), "plain");
  EXPECT_EQ(batch.GetInt64(1, 1), 3);
  EXPECT_FALSE(batch.GetBool(1, 3));
}

TEST(RecordFormatTest, CsvHonoursTheDelimiter) {
  auto schema = std::make_shared<core::Schema>(
      std::vector<core::Field>{{"a", core::Type::kString}, {"n", core::Type::kInt64}});
  auto d = Make(schema, RecordFormat::kCsv, ';');
  core::RecordBatch batch(schema);
  ASSERT_TRUE(d->Decode("x,y;42", &batch).ok());
  EXPECT_EQ(batch.GetString(0, 0), "x,y");
  EXPECT_EQ(batch.GetInt64(0, 1), 42);
}

TEST(RecordFormatTest, CsvErrorsNameTheFieldAndLeaveTheBatchAlone) {
  auto schema = AllTypes();
  auto d = Make(schema, RecordFormat::kCsv);
  core::RecordBatch batch(schema);
  ASSERT_TRUE(d->Decode("ok,1,1,true,2001-01-01", &batch).ok());

  absl::Status st = d->Decode("x,abc,1,true,2001-01-01", &batch);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "field 'i' (column 2): 'abc' is not a valid int64");

  st = d->Decode("x,1,1,true", &batch);
  EXPECT_EQ(st.message(), "expected 5 fields, found 4");

  st = d->Decode("x,1,1,true,yesterday", &batch);
  EXPECT_THAT(st.message(), HasSubstr("field 't' (column 5): 'yesterday' is not a valid "
                                      "timestamp (expected ISO-8601"));

  st = d->Decode("\"open,1,1,true,2001-01-01", &batch);
  EXPECT_THAT(st.message(), HasSubstr("quoted field has no closing quote"));

  EXPECT_EQ(batch.num_rows(), 1u);
  EXPECT_EQ(batch.GetString(0, 0), "ok");
}

TEST(RecordFormatTest, JsonReadsFieldsByNameInAnyOrder) {
  auto schema = AllTypes();
  auto d = Make(schema, RecordFormat::kJson);
  core::RecordBatch batch(schema);
  ASSERT_TRUE(d->Decode(R"({"s":"h\u00e9llo \"q\"","i":-9223372036854775808,"d":1,"b":true,)"
                        R"("t":"2001-01-01T00:01:00.250Z"})",
                        &batch)
                  .ok());
  // Other order, unknown members (nested too) ignored, timestamp as epoch ms, whitespace.
  ASSERT_TRUE(d->Decode(R"(  {"extra":{"x":[1,2,{"y":null}]},"t":978307260000,"b":false,)"
                        R"("d":-2.5e-1,"i":7,"s":""}  )",
                        &batch)
                  .ok());
  ASSERT_EQ(batch.num_rows(), 2u);
  EXPECT_EQ(batch.GetString(0, 0), "h\xC3\xA9llo \"q\"");
  EXPECT_EQ(batch.GetInt64(0, 1), INT64_MIN);
  EXPECT_DOUBLE_EQ(batch.GetDouble(0, 2), 1.0);
  EXPECT_TRUE(batch.GetBool(0, 3));
  EXPECT_EQ(batch.GetInt64(0, 4), Ts("2001-01-01T00:01:00.250Z"));
  EXPECT_EQ(batch.GetString(1, 0), "");
  EXPECT_EQ(batch.GetInt64(1, 1), 7);
  EXPECT_DOUBLE_EQ(batch.GetDouble(1, 2), -0.25);
  EXPECT_FALSE(batch.GetBool(1, 3));
  EXPECT_EQ(batch.GetInt64(1, 4), 978307260000);
}

TEST(RecordFormatTest, JsonErrorsAreNamedPrecisely) {
  auto schema = AllTypes();
  auto d = Make(schema, RecordFormat::kJson);
  core::RecordBatch batch(schema);
  const std::string good = R"("s":"x","d":1.5,"b":true,"t":"2001-01-01")";
  ASSERT_TRUE(d->Decode("{\"i\":1," + good + "}", &batch).ok());

  struct Case {
    std::string value;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"{\"i\":\"abc\"," + good + "}", "field 'i': expected int64, found string \"abc\""},
      {"{\"i\":1.5," + good + "}", "field 'i': expected int64, found number 1.5"},
      {"{\"i\":99999999999999999999," + good + "}",
       "field 'i': 99999999999999999999 is out of the int64 range"},
      {"{\"i\":[1]," + good + "}", "field 'i': expected int64, found array"},
      {"{\"i\":1,\"i\":2," + good + "}", "field 'i' appears twice"},
      {R"({"i":1,"s":7,"d":1.5,"b":true,"t":"2001-01-01"})",
       "field 's': expected string, found number 7"},
      {R"({"i":1,"s":"x","d":"1.5","b":true,"t":"2001-01-01"})",
       "field 'd': expected double, found string \"1.5\""},
      {R"({"i":1,"s":"x","d":1.5,"b":"true","t":"2001-01-01"})",
       "field 'b': expected bool, found string \"true\""},
      {R"({"i":1,"s":"x","d":1.5,"b":true,"t":"soon"})",
       "field 't': \"soon\" is not a valid timestamp (expected ISO-8601, e.g. "
       "2001-01-01T00:01:00Z, or an integer of epoch milliseconds)"},
      {R"({"i":1,"s":"x","d":1.5,"b":true,"t":true})",
       "field 't': expected timestamp, found boolean true"},
      {"[1,2]", "expected a JSON object, found array"},
      {"\"text\"", "expected a JSON object, found string"},
      {"{\"i\":1," + good + "} {}", "unexpected content after the JSON object"},
  };
  for (const Case& c : cases) {
    absl::Status st = d->Decode(c.value, &batch);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << c.value;
    EXPECT_EQ(st.message(), c.message) << c.value;
  }
  for (const std::string bad : {"", "{", "{\"i\":1,", "{\"i\" 1}", "not json"}) {
    absl::Status st = d->Decode(bad, &batch);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(st.message(),
                ::testing::AnyOf(HasSubstr("invalid JSON"), HasSubstr("expected a JSON object")))
        << bad;
  }
  // Nothing of the bad values reached the batch.
  ASSERT_EQ(batch.num_rows(), 1u);
  EXPECT_EQ(batch.GetInt64(0, 1), 1);
  ASSERT_TRUE(d->Decode("{\"i\":2," + good + "}", &batch).ok());
  EXPECT_EQ(batch.GetInt64(1, 1), 2);
}

TEST(RecordFormatTest, JsonHandlesValuesOfManySizesWithOneBuffer) {
  auto schema = std::make_shared<core::Schema>(
      std::vector<core::Field>{{"s", core::Type::kString}, {"n", core::Type::kInt64}});
  auto d = Make(schema, RecordFormat::kJson);
  core::RecordBatch batch(schema);
  for (size_t len : {0u, 10u, 100'000u, 3u}) {
    std::string s(len, 'x');
    ASSERT_TRUE(d->Decode("{\"s\":\"" + s + "\",\"n\":" + std::to_string(len) + "}", &batch).ok());
  }
  ASSERT_EQ(batch.num_rows(), 4u);
  EXPECT_EQ(batch.GetString(2, 0).size(), 100'000u);
  EXPECT_EQ(batch.GetString(3, 0), "xxx");
  EXPECT_EQ(batch.GetInt64(3, 1), 3);
}

TEST(RecordFormatTest, RawTakesTheBytes) {
  auto schema =
      std::make_shared<core::Schema>(std::vector<core::Field>{{"line", core::Type::kString}});
  auto d = Make(schema, RecordFormat::kRaw);
  core::RecordBatch batch(schema);
  const std::string bytes("a\0b,\"c\n", 7);
  ASSERT_TRUE(d->Decode(bytes, &batch).ok());
  ASSERT_TRUE(d->Decode("", &batch).ok());
  EXPECT_EQ(batch.GetString(0, 0), bytes);
  EXPECT_EQ(batch.GetString(1, 0), "");
}

TEST(RecordFormatTest, CreateRefusesSchemasTheFormatCannotFill) {
  RecordFormatOptions raw;
  raw.format = RecordFormat::kRaw;
  absl::StatusOr<std::unique_ptr<RecordDecoder>> d = RecordDecoder::Create(AllTypes(), raw);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("format raw: the schema must be exactly one "
                                              "string field"));
  d = RecordDecoder::Create(
      std::make_shared<core::Schema>(std::vector<core::Field>{{"n", core::Type::kInt64}}), raw);
  EXPECT_FALSE(d.ok());

  RecordFormatOptions json;
  json.format = RecordFormat::kJson;
  d = RecordDecoder::Create(std::make_shared<core::Schema>(std::vector<core::Field>{
                                {"a", core::Type::kInt64}, {"a", core::Type::kString}}),
                            json);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("names field 'a' twice"));

  d = RecordDecoder::Create(nullptr, json);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("no schema"));

  RecordFormatOptions csv;
  csv.csv_delimiter = '"';
  d = RecordDecoder::Create(AllTypes(), csv);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.status().message(), HasSubstr("delimiter"));
}

}  // namespace
TEST(RecordFormatTest, JsonNullAndMissingMembersAreNullFields) {
  auto schema = std::make_shared<core::Schema>(std::vector<core::Field>{
      {"i", core::Type::kInt64}, {"s", core::Type::kString}, {"n", core::Type::kInt32},
      {"day", core::Type::kDate}, {"raw", core::Type::kBytes}});
  auto d = Make(schema, RecordFormat::kJson);
  core::RecordBatch batch(schema);
  ASSERT_TRUE(d->Decode(R"({"i":null,"s":"x","n":-5,"day":"2000-03-01","raw":"AP8="})", &batch).ok());
  ASSERT_TRUE(d->Decode(R"({"s":null})", &batch).ok());
  ASSERT_EQ(batch.num_rows(), 2u);
  EXPECT_TRUE(batch.IsNull(0, 0));
  EXPECT_EQ(batch.GetString(0, 1), "x");
  EXPECT_EQ(batch.GetInt32(0, 2), -5);
  EXPECT_EQ(batch.GetInt32(0, 3), 11017);
  EXPECT_EQ(batch.GetString(0, 4), std::string("\0\xff", 2));
  for (size_t c = 0; c < 5; ++c) EXPECT_TRUE(batch.IsNull(1, c)) << c;
  absl::Status st = d->Decode(R"({"n":3000000000})", &batch);
  EXPECT_EQ(st.message(), "field 'n': 3000000000 is out of the int32 range");
  st = d->Decode(R"({"day":"2000-02-30"})", &batch);
  EXPECT_EQ(st.message(), "field 'day': \"2000-02-30\" is not a valid date (expected YYYY-MM-DD)");
}

}  // namespace sluice::formats

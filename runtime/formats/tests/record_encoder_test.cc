// RecordEncoder: each format's bytes, keys, errors, and round trips through the source's
// RecordDecoder (what the sink writes, the source reads back).

#include "runtime/formats/record_encoder.h"

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/formats/record_format.h"
#include "runtime/core/record_batch.h"

namespace sluice::formats {
namespace {

using ::testing::HasSubstr;

core::SchemaPtr AllTypes() {
  return std::make_shared<core::Schema>(std::vector<core::Field>{{"id", core::Type::kInt64},
                                                                 {"x", core::Type::kDouble},
                                                                 {"name", core::Type::kString},
                                                                 {"ok", core::Type::kBool},
                                                                 {"at", core::Type::kTimestamp}});
}

core::RecordBatch OneRow(std::string_view name, double x = 1.5) {
  core::RecordBatch b(AllTypes());
  size_t r = b.AppendRow();
  b.SetInt64(r, 0, -42);
  b.SetDouble(r, 1, x);
  b.SetString(r, 2, name);
  b.SetBool(r, 3, true);
  b.SetInt64(r, 4, 1'700'000'000'123);  // 2023-11-14T22:13:20.123Z
  return b;
}

std::unique_ptr<RecordEncoder> Make(RecordFormat f, std::vector<std::string> keys = {},
                                    char delimiter = ',') {
  auto e = RecordEncoder::Create(AllTypes(), {f, delimiter, "", "", "", ""}, keys);
  EXPECT_TRUE(e.ok()) << e.status();
  return std::move(e).value();
}

TEST(RecordEncoderTest, CsvIsTheFileSinkLineWithoutNewline) {
  core::RecordBatch b = OneRow("a,\"b\"");
  std::string out;
  ASSERT_TRUE(Make(RecordFormat::kCsv)->EncodeValue(b, 0, &out).ok());
  EXPECT_EQ(out, "-42,1.5,\"a,\"\"b\"\"\",true,2023-11-14T22:13:20.123Z");
  std::string line;
  b.AppendCsvLine(0, &line);
  EXPECT_EQ(out + "\n", line);
}

TEST(RecordEncoderTest, CsvDelimiterQuotesOnlyWhatItMust) {
  core::RecordBatch b = OneRow("a,b;c");
  std::string out;
  ASSERT_TRUE(Make(RecordFormat::kCsv, {}, ';')->EncodeValue(b, 0, &out).ok());
  EXPECT_EQ(out, "-42;1.5;\"a,b;c\";true;2023-11-14T22:13:20.123Z");
}

TEST(RecordEncoderTest, JsonObjectWithEscapes) {
  core::RecordBatch b = OneRow("q\"\\\n\x01z");
  std::string out;
  ASSERT_TRUE(Make(RecordFormat::kJson)->EncodeValue(b, 0, &out).ok());
  EXPECT_EQ(out,
            "{\"id\":-42,\"x\":1.5,\"name\":\"q\\\"\\\\\\n\\u0001z\",\"ok\":true,"
            "\"at\":\"2023-11-14T22:13:20.123Z\"}");
}

TEST(RecordEncoderTest, JsonRejectsNaNNamingTheField) {
  core::RecordBatch b = OneRow("n", std::numeric_limits<double>::quiet_NaN());
  std::string out;
  absl::Status st = Make(RecordFormat::kJson)->EncodeValue(b, 0, &out);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("field 'x': NaN"));
}

TEST(RecordEncoderTest, RawIsTheBytesOfTheOneStringField) {
  auto schema = std::make_shared<core::Schema>(
      std::vector<core::Field>{{"line", core::Type::kString}});
  auto e = RecordEncoder::Create(schema, {RecordFormat::kRaw, ',', "", "", "", ""});
  ASSERT_TRUE(e.ok());
  core::RecordBatch b(schema);
  b.SetString(b.AppendRow(), 0, std::string("a,\"\0b", 5));
  std::string out;
  ASSERT_TRUE((*e)->EncodeValue(b, 0, &out).ok());
  EXPECT_EQ(out, std::string("a,\"\0b", 5));
  EXPECT_THAT(RecordEncoder::Create(AllTypes(), {RecordFormat::kRaw, ',', "", "", "", ""}).status().message(),
              HasSubstr("exactly one string field"));
}

TEST(RecordEncoderTest, KeyIsTheKeyFieldsAsCsv) {
  core::RecordBatch b = OneRow("x,y");
  std::string key;
  EXPECT_FALSE(Make(RecordFormat::kJson)->EncodeKey(b, 0, &key));
  auto e = Make(RecordFormat::kJson, {"name", "id"});
  EXPECT_TRUE(e->has_key());
  ASSERT_TRUE(e->EncodeKey(b, 0, &key));
  EXPECT_EQ(key, "\"x,y\",-42");
  auto bad = RecordEncoder::Create(AllTypes(), {RecordFormat::kCsv, ',', "", "", "", ""}, {"nope"});
  EXPECT_THAT(bad.status().message(), HasSubstr("key field 'nope' is not in the schema"));
}

TEST(RecordEncoderTest, SourceDecodesWhatTheSinkEncodes) {
  for (RecordFormat f : {RecordFormat::kCsv, RecordFormat::kJson}) {
    core::RecordBatch b = OneRow("he said \"hi\",\nbye", -0.1);
    std::string out;
    ASSERT_TRUE(Make(f)->EncodeValue(b, 0, &out).ok());
    auto dec = RecordDecoder::Create(AllTypes(), {f, ',', "", "", "", ""});
    ASSERT_TRUE(dec.ok());
    core::RecordBatch back(AllTypes());
    ASSERT_TRUE((*dec)->Decode(out, &back).ok()) << RecordFormatName(f) << ": " << out;
    ASSERT_EQ(back.num_rows(), 1u);
    EXPECT_EQ(back.RowToString(0), b.RowToString(0)) << RecordFormatName(f);
  }
}

}  // namespace
}  // namespace sluice::formats

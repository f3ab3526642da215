#include "runtime/formats/csv_fields.h"

#include "gtest/gtest.h"

namespace sluice::formats::csv {
namespace {

core::SchemaPtr Schema() {
  return std::make_shared<core::Schema>(std::vector<core::Field>{{"s", core::Type::kString},
                                                                 {"n", core::Type::kInt64},
                                                                 {"i", core::Type::kInt32},
                                                                 {"day", core::Type::kDate},
                                                                 {"raw", core::Type::kBytes},
                                                                 {"ok", core::Type::kBool}});
}

struct Reader {
  std::vector<RawField> fields;
  std::string scratch, reason;
  bool Append(std::string_view line, core::RecordBatch* b,
              const std::optional<std::string>& null_literal = std::string()) {
    return AppendCsvRow(line, ',', b, &fields, &scratch, &reason, null_literal);
  }
};

TEST(CsvFields, EmptyUnquotedFieldsAreNullAndQuotedEmptyIsAnEmptyString) {
  core::RecordBatch b(Schema());
  Reader r;
  ASSERT_TRUE(r.Append("\"\",,,,,", &b)) << r.reason;
  ASSERT_TRUE(r.Append(",5,-7,2000-03-01,AP8=,true", &b)) << r.reason;
  EXPECT_FALSE(b.IsNull(0, 0));
  EXPECT_EQ(b.GetString(0, 0), "");
  for (size_t c = 1; c < 6; ++c) EXPECT_TRUE(b.IsNull(0, c)) << c;
  EXPECT_TRUE(b.IsNull(1, 0));
  EXPECT_EQ(b.GetInt64(1, 1), 5);
  EXPECT_EQ(b.GetInt32(1, 2), -7);
  EXPECT_EQ(b.GetInt32(1, 3), 11017);
  EXPECT_EQ(b.GetString(1, 4), std::string("\0\xff", 2));
  // Written back: nulls as empty fields, the empty string quoted, bytes base64.
  EXPECT_EQ(b.RowToString(0), "\"\",,,,,");
  EXPECT_EQ(b.RowToString(1), ",5,-7,2000-03-01,AP8=,true");
}

TEST(CsvFields, ANullLiteralReplacesTheEmptyField) {
  core::RecordBatch b(Schema());
  Reader r;
  ASSERT_TRUE(r.Append(",\\N,\\N,\\N,\\N,\\N", &b, std::string("\\N"))) << r.reason;
  EXPECT_FALSE(b.IsNull(0, 0));  // an empty string now
  for (size_t c = 1; c < 6; ++c) EXPECT_TRUE(b.IsNull(0, c)) << c;
  // "\N" quoted is text, and an empty int64 is a bad value again.
  ASSERT_TRUE(r.Append("\"\\N\",1,1,2000-01-01,,1", &b, std::string("\\N"))) << r.reason;
  EXPECT_EQ(b.GetString(1, 0), "\\N");
  EXPECT_FALSE(r.Append("x,,1,2000-01-01,,1", &b, std::string("\\N")));
  EXPECT_EQ(r.reason, "field 'n' (column 2): '' is not a valid int64");
  // Without a null literal nothing is null.
  EXPECT_FALSE(r.Append("x,,1,2000-01-01,,1", &b, std::nullopt));
  EXPECT_EQ(b.num_rows(), 2u);
}

TEST(CsvFields, NewTypesNameTheirExpectedForm) {
  core::RecordBatch b(Schema());
  Reader r;
  EXPECT_FALSE(r.Append("x,1,3000000000,2000-01-01,,1", &b));
  EXPECT_EQ(r.reason, "field 'i' (column 3): '3000000000' is not a valid int32");
  EXPECT_FALSE(r.Append("x,1,1,2000-13-01,,1", &b));
  EXPECT_EQ(r.reason,
            "field 'day' (column 4): '2000-13-01' is not a valid date (expected YYYY-MM-DD)");
  EXPECT_FALSE(r.Append("x,1,1,2000-01-01,@@,1", &b));
  EXPECT_EQ(r.reason, "field 'raw' (column 5): '@@' is not a valid bytes (expected base64)");
  EXPECT_EQ(b.num_rows(), 0u);
}

}  // namespace
}  // namespace sluice::formats::csv

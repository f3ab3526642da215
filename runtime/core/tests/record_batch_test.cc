#include "runtime/core/record_batch.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/core/time_format.h"

namespace sluice::core {
namespace {

SchemaPtr TestSchema() {
  return std::make_shared<Schema>(std::vector<Field>{{"name", Type::kString},
                                                     {"n", Type::kInt64},
                                                     {"x", Type::kDouble},
                                                     {"ok", Type::kBool},
                                                     {"t", Type::kTimestamp}});
}

void Fill(RecordBatch& b) {
  size_t r = b.AppendRow(1000);
  b.SetString(r, 0, "ATL");
  b.SetInt64(r, 1, -7);
  b.SetDouble(r, 2, 2.5);
  b.SetBool(r, 3, true);
  b.SetInt64(r, 4, 978307260000LL);
  r = b.AppendRow(2000);
  b.SetString(r, 0, "a,\"b\"");
  b.SetInt64(r, 1, 42);
  b.SetDouble(r, 2, 0.1);
  b.SetBool(r, 3, false);
  b.SetInt64(r, 4, 0);
}

TEST(RecordBatch, StoresAndFormatsRows) {
  RecordBatch b(TestSchema());
  Fill(b);
  ASSERT_EQ(b.num_rows(), 2u);
  EXPECT_EQ(b.GetString(0, 0), "ATL");
  EXPECT_EQ(b.timestamp(1), 2000);
  EXPECT_EQ(b.RowToString(0), "ATL,-7,2.5,true,2001-01-01T00:01:00Z");
  EXPECT_EQ(b.RowToString(1), "\"a,\"\"b\"\"\",42,0.1,false,1970-01-01T00:00:00Z");
}

TEST(RecordBatch, SerialisationRoundTrips) {
  RecordBatch b(TestSchema());
  Fill(b);
  std::string bytes;
  b.SerializeTo(&bytes);
  RecordBatch c(TestSchema());
  ASSERT_TRUE(c.DeserializeFrom(bytes).ok());
  ASSERT_EQ(c.num_rows(), 2u);
  for (size_t r = 0; r < 2; ++r) {
    EXPECT_EQ(c.RowToString(r), b.RowToString(r));
    EXPECT_EQ(c.timestamp(r), b.timestamp(r));
  }
}

TEST(RecordBatch, RejectsCorruptBuffers) {
  RecordBatch b(TestSchema());
  Fill(b);
  std::string bytes;
  b.SerializeTo(&bytes);
  RecordBatch c(TestSchema());
  EXPECT_FALSE(c.DeserializeFrom(bytes.substr(0, bytes.size() - 1)).ok());
  EXPECT_FALSE(c.DeserializeFrom("abc").ok());
  RecordBatch other(std::make_shared<Schema>(std::vector<Field>{{"n", Type::kInt64}}));
  absl::Status s = other.DeserializeFrom(bytes);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("has 5 columns"), std::string::npos) << s;
}

TEST(RecordBatch, ClearKeepsCapacityAndAppendRowFromCopiesStrings) {
  RecordBatch a(TestSchema());
  Fill(a);
  RecordBatch b(TestSchema());
  b.AppendRowFrom(a, 1);
  a.Clear();
  EXPECT_EQ(a.num_rows(), 0u);
  EXPECT_EQ(b.GetString(0, 0), "a,\"b\"");
}

SchemaPtr AllTypesSchema() {
  return std::make_shared<Schema>(std::vector<Field>{{"b", Type::kBool},
                                                     {"i", Type::kInt32},
                                                     {"l", Type::kInt64},
                                                     {"d", Type::kDouble},
                                                     {"t", Type::kTimestamp},
                                                     {"day", Type::kDate},
                                                     {"s", Type::kString},
                                                     {"raw", Type::kBytes}});
}

// Row r of an all-types batch: every field null when r % 3 == 1, values otherwise.
void FillAllTypes(RecordBatch& b, size_t rows) {
  for (size_t r = 0; r < rows; ++r) {
    size_t row = b.AppendRow(static_cast<int64_t>(r) * 10);
    if (r % 3 == 1) {
      for (size_t c = 0; c < b.num_fields(); ++c) b.SetNull(row, c);
      continue;
    }
    b.SetBool(row, 0, r % 2 == 0);
    b.SetInt32(row, 1, -static_cast<int32_t>(r));
    b.SetInt64(row, 2, static_cast<int64_t>(r) << 40);
    b.SetDouble(row, 3, static_cast<double>(r) / 4);
    b.SetInt64(row, 4, 1'000'000 + static_cast<int64_t>(r));
    b.SetInt32(row, 5, 19'000 + static_cast<int32_t>(r));
    b.SetString(row, 6, std::string(r % 5, 'x'));
    b.SetString(row, 7, std::string("\0\xff", 2));
  }
}

TEST(RecordBatch, ColumnsAreArrowLayout) {
  RecordBatch b(AllTypesSchema());
  FillAllTypes(b, 10);
  const Column& i32 = b.column(1);
  EXPECT_EQ(i32.values_buffer().size(), 10u * 4);
  EXPECT_EQ(i32.values<int32_t>()[2], -2);
  EXPECT_EQ(b.column(0).values_buffer().size(), 2u);  // bools are bits
  EXPECT_EQ(b.column(2).values_buffer().size(), 10u * 8);
  // Strings: 11 int32 offsets, value 3 is "xxx", the null value 1 is empty.
  const Column& s = b.column(6);
  ASSERT_EQ(s.values_buffer().size(), 11u * 4);
  EXPECT_EQ(s.offsets()[0], 0);
  EXPECT_EQ(s.GetString(3), "xxx");
  EXPECT_EQ(s.offsets()[2] - s.offsets()[1], 0);
  EXPECT_EQ(static_cast<size_t>(s.offsets()[10]), s.data_buffer().size());
  // Validity: rows 1, 4, 7 are null -> bits 1, 4, 7 clear in the first byte.
  EXPECT_EQ(i32.validity_buffer().data()[0], 0b01101101);
  EXPECT_EQ(i32.null_count(), 3u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(i32.values_buffer().data()) % 64, 0u);
}

TEST(RecordBatch, NullsAreNullInEveryTypeAndWrittenAsEmptyCsvFields) {
  RecordBatch b(AllTypesSchema());
  FillAllTypes(b, 3);
  for (size_t c = 0; c < b.num_fields(); ++c) {
    EXPECT_FALSE(b.IsNull(0, c)) << c;
    EXPECT_TRUE(b.IsNull(1, c)) << c;
  }
  EXPECT_EQ(b.RowToString(1), ",,,,,,,");
  EXPECT_EQ(b.RowToString(0),
            "true,0,0,0,1970-01-01T00:16:40Z,2022-01-08,\"\",AP8=");
  // Setting a value on a null slot makes it valid again.
  b.SetInt32(1, 1, 5);
  EXPECT_FALSE(b.IsNull(1, 1));
  EXPECT_EQ(b.GetInt32(1, 1), 5);
  EXPECT_EQ(b.column(1).null_count(), 0u + 0);
}

TEST(RecordBatch, WireFormatRoundTripsEveryTypeWithNulls) {
  RecordBatch b(AllTypesSchema());
  FillAllTypes(b, 21);
  std::string bytes;
  b.SerializeTo(&bytes);
  EXPECT_EQ(bytes.substr(0, 3), "SLB");
  RecordBatch c(AllTypesSchema());
  ASSERT_TRUE(c.DeserializeFrom(bytes).ok());
  ASSERT_EQ(c.num_rows(), 21u);
  for (size_t r = 0; r < 21; ++r) {
    EXPECT_EQ(c.RowToString(r), b.RowToString(r)) << r;
    EXPECT_EQ(c.timestamp(r), static_cast<int64_t>(r) * 10);
    for (size_t col = 0; col < c.num_fields(); ++col) {
      EXPECT_EQ(c.IsNull(r, col), r % 3 == 1) << r << "," << col;
    }
  }
  EXPECT_EQ(c.column(6).null_count(), 7u);
}

TEST(RecordBatch, CorruptOrTruncatedWireBuffersAreDataLossNeverACrash) {
  RecordBatch b(AllTypesSchema());
  FillAllTypes(b, 9);
  const std::vector<uint16_t> groups = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  b.AppendKeyGroups(42, groups.data(), groups.size());  // the optional section is covered too
  std::string bytes;
  b.SerializeTo(&bytes);
  RecordBatch c(AllTypesSchema());
  // Every truncation is refused.
  for (size_t n = 0; n < bytes.size(); ++n) {
    absl::Status s = c.DeserializeFrom(std::string_view(bytes).substr(0, n));
    ASSERT_EQ(s.code(), absl::StatusCode::kDataLoss) << n;
    EXPECT_EQ(c.num_rows(), 0u);
  }
  // Every single-byte corruption either decodes into a readable batch or is refused.
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    absl::Status s = c.DeserializeFrom(bad);
    if (s.ok()) {
      for (size_t r = 0; r < c.num_rows(); ++r) c.RowToString(r);
    } else {
      EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << i;
    }
  }
  std::string wrong_version = bytes;
  wrong_version[4] = 1;
  absl::Status s = c.DeserializeFrom(wrong_version);
  EXPECT_NE(s.message().find("wire format version 1"), std::string::npos) << s;
  std::string not_a_batch = "hello, world, this is not a batch";
  s = c.DeserializeFrom(not_a_batch);
  EXPECT_NE(s.message().find("magic"), std::string::npos) << s;
  // A type that differs from the schema is named.
  RecordBatch d(std::make_shared<Schema>(std::vector<Field>{{"b", Type::kBool},
                                                            {"i", Type::kInt64},
                                                            {"l", Type::kInt64},
                                                            {"d", Type::kDouble},
                                                            {"t", Type::kTimestamp},
                                                            {"day", Type::kDate},
                                                            {"s", Type::kString},
                                                            {"raw", Type::kBytes}}));
  s = d.DeserializeFrom(bytes);
  EXPECT_NE(s.message().find("column 1 ('i')"), std::string::npos) << s;
}

TEST(RecordBatch, KeyGroupsTravelWithTheRowsAndDropWhenRowsComeWithoutThem) {
  RecordBatch b(AllTypesSchema());
  EXPECT_EQ(b.key_group_tag(), 0u);
  FillAllTypes(b, 4);
  const std::vector<uint16_t> groups = {7, 0, 127, 31};
  b.AppendKeyGroups(99, groups.data(), groups.size());
  ASSERT_EQ(b.key_group_tag(), 99u);
  EXPECT_EQ(b.key_group(2), 127);

  // Over the wire.
  std::string bytes;
  b.SerializeTo(&bytes);
  RecordBatch c(AllTypesSchema());
  ASSERT_TRUE(c.DeserializeFrom(bytes).ok());
  ASSERT_EQ(c.key_group_tag(), 99u);
  for (size_t r = 0; r < 4; ++r) EXPECT_EQ(c.key_group(r), groups[r]) << r;
  // A batch without them sends none.
  RecordBatch plain(AllTypesSchema());
  FillAllTypes(plain, 4);
  plain.SerializeTo(&bytes);
  ASSERT_TRUE(c.DeserializeFrom(bytes).ok());
  EXPECT_EQ(c.key_group_tag(), 0u);
  // Unknown flags are refused (bit 0: key groups, bit 1: row kinds).
  bytes[6] = 4;
  EXPECT_THAT(c.DeserializeFrom(bytes).message(), ::testing::HasSubstr("unknown flags"));

  // A view (a filter's output) reads its base's key groups through the selection.
  RecordBatch view;
  view.ResetAsView(b);
  view.SelectRowOf(b, 2);
  view.SelectRowOf(b, 3);
  EXPECT_EQ(view.key_group_tag(), 99u);
  EXPECT_EQ(view.key_group(0), 127);
  EXPECT_EQ(view.key_group(1), 31);

  // Moving keeps them; rows appended without key groups drop them, as does Clear.
  RecordBatch moved = std::move(b);
  EXPECT_EQ(moved.key_group_tag(), 99u);
  moved.AppendRowFrom(plain, 0);
  moved.AppendRowFrom(plain, 1);
  EXPECT_EQ(moved.key_group_tag(), 0u);
  moved.AppendKeyGroups(99, groups.data(), 1);  // one group for two new rows: all dropped
  EXPECT_EQ(moved.key_group_tag(), 0u);
  RecordBatch e(AllTypesSchema());
  FillAllTypes(e, 1);
  e.AppendKeyGroups(5, groups.data(), 1);
  FillAllTypes(e, 1);
  e.AppendKeyGroups(6, groups.data(), 1);  // another key: dropped
  EXPECT_EQ(e.key_group_tag(), 0u);
  e.Clear();
  FillAllTypes(e, 1);
  EXPECT_EQ(e.key_group_tag(), 0u);
}

TEST(RecordBatch, AViewSelectsRowsWithoutCopyingAndSerialisesOnlyThem) {
  RecordBatch b(AllTypesSchema());
  FillAllTypes(b, 12);
  RecordBatch view;
  view.ResetAsView(b);
  for (size_t r = 0; r < b.num_rows(); ++r) {
    if (r % 3 == 0) view.SelectRowOf(b, r);
  }
  ASSERT_EQ(view.num_rows(), 4u);
  EXPECT_EQ(&view.column(6), &b.column(6));  // the same column, not a copy
  EXPECT_EQ(view.GetInt32(1, 1), -3);
  EXPECT_EQ(view.timestamp(2), 60);
  // A view of a view selects from the base.
  RecordBatch view2;
  view2.ResetAsView(view);
  view2.SelectRowOf(view, 2);
  EXPECT_EQ(view2.GetInt32(0, 1), -6);
  std::string bytes;
  view.SerializeTo(&bytes);
  RecordBatch c(AllTypesSchema());
  ASSERT_TRUE(c.DeserializeFrom(bytes).ok());
  ASSERT_EQ(c.num_rows(), 4u);
  for (size_t r = 0; r < 4; ++r) EXPECT_EQ(c.RowToString(r), view.RowToString(r));
  RecordBatch copy;
  copy.AssignFrom(view);
  EXPECT_FALSE(copy.has_selection());
  EXPECT_EQ(copy.RowToString(2), b.RowToString(6));
  RecordBatch appended(AllTypesSchema());
  appended.AppendRowFrom(view, 1);
  EXPECT_EQ(appended.RowToString(0), b.RowToString(3));
}

TEST(RecordBatch, PopRowRemovesTheRowUnderConstruction) {
  RecordBatch b(AllTypesSchema());
  FillAllTypes(b, 3);
  size_t r = b.AppendRow(5);
  b.SetString(r, 6, "half");
  b.SetNull(r, 1);
  b.PopRow();
  ASSERT_EQ(b.num_rows(), 3u);
  EXPECT_EQ(b.column(1).null_count(), 1u);
  r = b.AppendRow(6);
  b.SetString(r, 6, "next");
  EXPECT_EQ(b.GetString(3, 6), "next");
  EXPECT_EQ(b.GetString(2, 6), "xx");
  EXPECT_FALSE(b.IsNull(3, 1));
}

TEST(TimeFormat, DatesRoundTrip) {
  EXPECT_EQ(ParseDate("1970-01-01"), 0);
  EXPECT_EQ(ParseDate("1969-12-31"), -1);
  EXPECT_EQ(ParseDate("2000-03-01"), 11017);
  EXPECT_FALSE(ParseDate("2001-02-29").has_value());
  EXPECT_FALSE(ParseDate("2001-02-01T00:00").has_value());
  std::string s;
  AppendDate(-1, &s);
  AppendDate(11017, &s);
  EXPECT_EQ(s, "1969-12-312000-03-01");
}

}  // namespace
}  // namespace sluice::core

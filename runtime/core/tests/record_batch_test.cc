#include "runtime/core/record_batch.h"

#include "gtest/gtest.h"

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
  std::string bad = bytes;
  bad[bad.size() - 12] = '\x7f';  // damage: still the right length, so it is the content check
  RecordBatch other(std::make_shared<Schema>(std::vector<Field>{{"n", Type::kInt64}}));
  EXPECT_FALSE(other.DeserializeFrom(bytes).ok());
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

}  // namespace
}  // namespace sluice::core

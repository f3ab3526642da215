#include "runtime/core/key_selector.h"

#include <memory>

#include "gtest/gtest.h"
#include "runtime/core/key_groups.h"

namespace sluice::core {
namespace {

SchemaPtr FlightSchema() {
  return std::make_shared<const Schema>(std::vector<Field>{{"date", Type::kTimestamp},
                                                           {"delay", Type::kInt64},
                                                           {"origin", Type::kString},
                                                           {"ratio", Type::kDouble},
                                                           {"late", Type::kBool}});
}

RecordBatch OneRow(const std::string& origin, int64_t delay) {
  RecordBatch b(FlightSchema());
  size_t r = b.AppendRow(1000);
  b.SetInt64(r, 0, 978307260000);
  b.SetInt64(r, 1, delay);
  b.SetString(r, 2, origin);
  b.SetDouble(r, 3, 0.25);
  b.SetBool(r, 4, true);
  return b;
}

TEST(KeySelector, SingleStringKeyHashesAsJavaString) {
  auto ks = KeySelector::Create(*FlightSchema(), {"origin"});
  ASSERT_TRUE(ks.ok()) << ks.status();
  RecordBatch b = OneRow("ATL", 7);
  EXPECT_EQ(ks->HashCode(b, 0), JavaStringHash("ATL"));
  EXPECT_EQ(ks->HashCode(b, 0), 65145);
  // Flink: "ATL" lands in key group 39 of 128 (see key_groups_test.cc).
  EXPECT_EQ(ks->KeyGroup(b, 0, 128), 39);
  EXPECT_EQ(ks->columns(), std::vector<int>{2});
}

TEST(KeySelector, SingleLongDoubleBoolTimestampKeysHashAsJava) {
  RecordBatch b = OneRow("ATL", -5);
  auto delay = KeySelector::Create(*FlightSchema(), {"delay"});
  auto date = KeySelector::Create(*FlightSchema(), {"date"});
  auto ratio = KeySelector::Create(*FlightSchema(), {"ratio"});
  auto late = KeySelector::Create(*FlightSchema(), {"late"});
  ASSERT_TRUE(delay.ok() && date.ok() && ratio.ok() && late.ok());
  EXPECT_EQ(delay->HashCode(b, 0), JavaLongHash(-5));
  EXPECT_EQ(date->HashCode(b, 0), JavaLongHash(978307260000));
  EXPECT_EQ(ratio->HashCode(b, 0), JavaDoubleHash(0.25));
  EXPECT_EQ(late->HashCode(b, 0), 1231);
}

TEST(KeySelector, CompositeKeyHashesAsFlinkTuple) {
  auto ks = KeySelector::Create(*FlightSchema(), {"origin", "delay"});
  ASSERT_TRUE(ks.ok()) << ks.status();
  RecordBatch b = OneRow("ATL", 7);
  // Java: Tuple2.of("ATL", 7L).hashCode() == 2019502.
  EXPECT_EQ(ks->HashCode(b, 0), 2019502);
  EXPECT_EQ(ks->KeyGroup(b, 0, 128), ComputeKeyGroupForKeyHash(2019502, 128));
}

TEST(KeySelector, KeyBytesRoundTripAllTypes) {
  auto ks = KeySelector::Create(*FlightSchema(), {"origin", "delay", "ratio", "late", "date"});
  ASSERT_TRUE(ks.ok()) << ks.status();
  RecordBatch b = OneRow("Zürich", -42);
  std::string key;
  ks->AppendKeyBytes(b, 0, &key);
  EXPECT_EQ(key.size(), 4 + 7 + 8 + 8 + 1 + 8);  // "Zürich" is 7 UTF-8 bytes

  auto out_schema = std::make_shared<const Schema>(ks->key_fields());
  RecordBatch out(out_schema);
  size_t r = out.AppendRow();
  ks->DecodeKeyInto(key, &out, r, 0);
  EXPECT_EQ(out.GetString(r, 0), "Zürich");
  EXPECT_EQ(out.GetInt64(r, 1), -42);
  EXPECT_EQ(out.GetDouble(r, 2), 0.25);
  EXPECT_TRUE(out.GetBool(r, 3));
  EXPECT_EQ(out.GetInt64(r, 4), 978307260000);
}

TEST(KeySelector, KeyBytesAreUnambiguous) {
  // ("ab", "c") and ("a", "bc") must differ: the length prefix separates them.
  auto schema = std::make_shared<const Schema>(
      std::vector<Field>{{"x", Type::kString}, {"y", Type::kString}});
  RecordBatch b(schema);
  b.AppendRow();
  b.SetString(0, 0, "ab");
  b.SetString(0, 1, "c");
  b.AppendRow();
  b.SetString(1, 0, "a");
  b.SetString(1, 1, "bc");
  b.AppendRow();
  b.SetString(2, 0, "ab");
  b.SetString(2, 1, "c");
  auto ks = KeySelector::Create(*schema, {"x", "y"});
  ASSERT_TRUE(ks.ok());
  std::string k0, k1, k2;
  ks->AppendKeyBytes(b, 0, &k0);
  ks->AppendKeyBytes(b, 1, &k1);
  ks->AppendKeyBytes(b, 2, &k2);
  EXPECT_NE(k0, k1);
  EXPECT_EQ(k0, k2);
}

TEST(KeySelector, KeyFieldsKeepNamesAndTypesInKeyOrder) {
  auto ks = KeySelector::Create(*FlightSchema(), {"delay", "origin"});
  ASSERT_TRUE(ks.ok());
  std::vector<Field> expected{{"delay", Type::kInt64}, {"origin", Type::kString}};
  EXPECT_EQ(ks->key_fields(), expected);
  EXPECT_EQ(ks->columns(), (std::vector<int>{1, 2}));
}

TEST(KeySelector, UnknownFieldAndEmptyListAreRejected) {
  auto schema =
      std::make_shared<const Schema>(std::vector<Field>{{"a", Type::kInt64}, {"b", Type::kString}});
  auto bad = KeySelector::Create(*schema, {"a", "x"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "unknown key field 'x' (fields: a, b)");

  auto empty = KeySelector::Create(*schema, {});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(empty.status().message(), "key_by needs at least one field");
}

TEST(KeySelector, NullKeyFieldsAreDistinctFromZeroAndRoundTrip) {
  auto schema = std::make_shared<const Schema>(std::vector<Field>{
      {"s", Type::kString}, {"i", Type::kInt32}, {"day", Type::kDate}, {"raw", Type::kBytes}});
  auto ks = KeySelector::Create(*schema, {"s", "i", "day", "raw"});
  ASSERT_TRUE(ks.ok()) << ks.status();
  RecordBatch b(schema);
  size_t r = b.AppendRow();  // row 0: "", 0, 0, "" (all valid)
  b.SetString(r, 0, "");
  b.SetString(r, 3, "");
  r = b.AppendRow();  // row 1: null, 0, null, ""
  b.SetNull(r, 0);
  b.SetNull(r, 2);
  b.SetString(r, 3, "");
  r = b.AppendRow();  // row 2: "k", 7, 19000, "\x01\x02"
  b.SetString(r, 0, "k");
  b.SetInt32(r, 1, 7);
  b.SetInt32(r, 2, 19000);
  b.SetString(r, 3, "\x01\x80");
  std::string k0, k1, k2;
  ks->AppendKeyBytes(b, 0, &k0);
  ks->AppendKeyBytes(b, 1, &k1);
  ks->AppendKeyBytes(b, 2, &k2);
  EXPECT_NE(k0, k1);
  EXPECT_EQ(k1.size(), k0.size() + 1);  // the null trailer
  // Hashes: null fields count 0; int32 as Integer, bytes as Arrays.hashCode(byte[]).
  const int32_t bytes_hash = 31 * (31 * 1 + 1) + (-128);
  EXPECT_EQ(ks->HashCode(b, 2),
            CombineHash(CombineHash(CombineHash(CombineHash(0, JavaStringHash("k")), 7), 19000),
                        bytes_hash));
  // Decoding restores values and nulls.
  RecordBatch out(schema);
  for (const std::string* k : {&k0, &k1, &k2}) {
    size_t row = out.AppendRow();
    ks->DecodeKeyInto(*k, &out, row, 0);
  }
  for (size_t row = 0; row < 3; ++row) {
    EXPECT_EQ(out.RowToString(row), b.RowToString(row)) << row;
    for (size_t c = 0; c < 4; ++c) EXPECT_EQ(out.IsNull(row, c), b.IsNull(row, c));
  }
}

}  // namespace
}  // namespace sluice::core

// Row kinds (Flink's RowKind) in record batches: insert-only batches carry none, kinds follow
// their rows through every copy, view and the wire format, and a corrupt kind byte is DataLoss.

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "runtime/core/record_batch.h"

namespace sluice::core {
namespace {

SchemaPtr KeyValue() {
  return std::make_shared<Schema>(std::vector<Field>{{"k", Type::kString}, {"v", Type::kInt64}});
}

void Add(RecordBatch* b, const std::string& k, int64_t v, RowKind kind = RowKind::kInsert) {
  const size_t r = b->AppendRow(v, kind);
  b->SetString(r, 0, k);
  b->SetInt64(r, 1, v);
}

std::vector<std::string> Changelog(const RecordBatch& b) {
  std::vector<std::string> out;
  for (size_t r = 0; r < b.num_rows(); ++r) {
    out.push_back(std::string(ShortString(b.row_kind(r))) + b.RowToString(r));
  }
  return out;
}

RecordBatch Updates() {
  RecordBatch b(KeyValue());
  Add(&b, "a", 1);
  Add(&b, "a", 1, RowKind::kUpdateBefore);
  Add(&b, "a", 2, RowKind::kUpdateAfter);
  Add(&b, "b", 5);
  Add(&b, "b", 5, RowKind::kDelete);
  return b;
}

TEST(RowKind, FlinkShortStrings) {
  EXPECT_EQ(ShortString(RowKind::kInsert), "+I");
  EXPECT_EQ(ShortString(RowKind::kUpdateBefore), "-U");
  EXPECT_EQ(ShortString(RowKind::kUpdateAfter), "+U");
  EXPECT_EQ(ShortString(RowKind::kDelete), "-D");
  EXPECT_TRUE(IsAccumulate(RowKind::kUpdateAfter));
  EXPECT_FALSE(IsAccumulate(RowKind::kDelete));
}

TEST(RowKind, InsertOnlyBatchesCarryNoKinds) {
  RecordBatch b(KeyValue());
  Add(&b, "a", 1);
  b.SetRowKind(0, RowKind::kInsert);
  EXPECT_FALSE(b.has_row_kinds());
  std::string wire;
  b.SerializeTo(&wire);
  RecordBatch plain(KeyValue());
  Add(&plain, "a", 1);
  std::string plain_wire;
  plain.SerializeTo(&plain_wire);
  EXPECT_EQ(wire, plain_wire);  // not one byte more than before row kinds existed
}

TEST(RowKind, KindsFollowTheirRowsThroughCopiesViewsAndTheWire) {
  const RecordBatch b = Updates();
  ASSERT_TRUE(b.has_row_kinds());
  const std::vector<std::string> all = {"+Ia,1", "-Ua,1", "+Ua,2", "+Ib,5", "-Db,5"};
  EXPECT_EQ(Changelog(b), all);

  RecordBatch copy(b);
  EXPECT_EQ(Changelog(copy), all);

  RecordBatch view;
  view.ResetAsView(b);
  view.SelectRowOf(b, 2);
  view.SelectRowOf(b, 4);
  EXPECT_EQ(Changelog(view), (std::vector<std::string>{"+Ua,2", "-Db,5"}));

  std::string wire;
  view.SerializeTo(&wire);
  RecordBatch received(KeyValue());
  ASSERT_TRUE(received.DeserializeFrom(wire).ok());
  EXPECT_EQ(Changelog(received), (std::vector<std::string>{"+Ua,2", "-Db,5"}));

  // Appending kinded rows to an insert-only batch, and insert rows after them.
  RecordBatch mixed(KeyValue());
  Add(&mixed, "x", 9);
  mixed.AppendRowFrom(b, 1);
  const uint32_t rows[] = {4, 0};
  mixed.AppendRows(b, rows, 2);
  mixed.AppendTimestamp(7);
  mixed.mutable_column(0).AppendString("y");
  mixed.mutable_column(1).Append<int64_t>(7);
  EXPECT_EQ(Changelog(mixed),
            (std::vector<std::string>{"+Ix,9", "-Ua,1", "-Db,5", "+Ia,1", "+Iy,7"}));
  mixed.PopRow();
  mixed.Clear();
  Add(&mixed, "z", 0);
  EXPECT_FALSE(mixed.has_row_kinds());
}

TEST(RowKind, ACorruptKindOnTheWireIsDataLoss) {
  const RecordBatch b = Updates();
  std::string wire;
  b.SerializeTo(&wire);
  // The kind bytes follow the 16-byte header, 2 column headers of 12 bytes and 5 timestamps.
  const size_t first_kind = 16 + 2 * 12 + 5 * 8;
  ASSERT_EQ(static_cast<uint8_t>(wire[first_kind + 1]), 1);  // -U
  wire[first_kind + 1] = 9;
  RecordBatch r(KeyValue());
  absl::Status s = r.DeserializeFrom(wire);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), ::testing::HasSubstr("row kind 9"));
  EXPECT_EQ(r.num_rows(), 0u);
}

}  // namespace
}  // namespace sluice::core

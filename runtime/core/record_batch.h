#pragma once
// RecordBatch: the unit in which records move through Sluice (Flink's network buffer of
// serialised records, in the columnar form of Apache Arrow's RecordBatch). One Column per schema
// field (Arrow layout: validity bitmap + values, strings as offsets + data; column.h) plus the
// event-time column: one int64 timestamp (ms) per row, kNoTimestamp when a record has none.
//
// Selection: a batch may carry a selection vector, the physical rows that are logically in the
// batch, in order (a filter emits its input with a selection instead of copying the surviving
// rows; the idea is the selection vector of vectorized engines, e.g. Velox, DuckDB). A view
// (ResetAsView) reads the columns of another batch through its own selection; the viewed batch
// must outlive the view and stay unchanged while the view is read (within one operator call).
//
// Row indexes: every reader (Get*, IsNull, timestamp, RowToString) takes a *logical* row,
// 0 <= row < num_rows(), and goes through the selection; the setters take a *physical* row of
// an owned batch being built (the row AppendRow returned). Building a view is an error.
// Vectorized code reads column(c) and the selection directly.
//
// Wire format (record_batch_wire.cc), little-endian (the host must be; checked at compile
// time), buffers as they lie in memory (no per-value encoding):
//   u32 magic "SLB\x02" | u16 version (2) | u16 flags | u32 num_rows | u32 num_columns
//   per column: u8 type | u8 has_validity | u16 0 | u32 values_bytes | u32 data_bytes
//   timestamps: num_rows * i64
//   if flags bit 0 (key groups): u64 key group tag | num_rows * u16 key group
//   if flags bit 1 (row kinds): num_rows * u8 RowKind (absent: every row +I)
//   per column: validity ((num_rows+7)/8 bytes, only if has_validity), values, data
// Both sides know the schema from the JobGraph; the types are sent to check it. A view is
// serialised as its selected rows. The v1 format of earlier releases (row-major, no magic) is
// only ever on the wire between tasks of one job, never in checkpoints, so no v1 reader exists.
//
// Row kinds (Flink's RowKind, changelog streams): a batch of an updating stream carries one
// RowKind per row; an insert-only batch carries none (every row is +I) and costs nothing. Every
// way of adding rows keeps the kinds aligned with the rows: copies take the source rows' kinds,
// AppendRow and AppendTimestamp add +I unless given one.
//
// Clear() keeps the capacity of every buffer, so a batch reused by an operator or channel
// allocates nothing in steady state: no per-record heap allocation on the hot path.
// Thread safety: none; a batch is owned by one thread at a time and handed over through queues.

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "runtime/core/column.h"
#include "runtime/core/types.h"

namespace sluice::core {

// Event timestamp of a record that has none (Flink's Long.MIN_VALUE "no timestamp").
inline constexpr int64_t kNoTimestamp = std::numeric_limits<int64_t>::min();

class RecordBatch {
 public:
  RecordBatch() = default;
  explicit RecordBatch(SchemaPtr schema) { set_schema(std::move(schema)); }
  // Copies (and moves from a view) materialise the logical rows, so a stored copy never
  // refers to another batch's columns.
  RecordBatch(const RecordBatch& o) { AssignFrom(o); }
  RecordBatch& operator=(const RecordBatch& o) {
    if (this != &o) AssignFrom(o);
    return *this;
  }
  RecordBatch(RecordBatch&& o) noexcept { *this = std::move(o); }
  RecordBatch& operator=(RecordBatch&& o) noexcept;

  const SchemaPtr& schema_ptr() const { return schema_; }
  const Schema& schema() const { return *schema_; }
  // Sets the schema and empties the batch (also ends being a view).
  void set_schema(SchemaPtr s);
  // Logical rows: the selected rows when there is a selection.
  size_t num_rows() const { return has_selection_ ? selection_.size() : timestamps_.size(); }
  size_t num_fields() const { return schema_->num_fields(); }
  bool empty() const { return num_rows() == 0; }

  // --- columnar access --------------------------------------------------------------------
  const Column& column(size_t col) const { return columns()[col]; }
  // Physical event timestamps, one per physical row.
  const int64_t* timestamps() const { return base_ ? base_->timestamps_.data() : timestamps_.data(); }
  size_t num_physical_rows() const { return base_ ? base_->timestamps_.size() : timestamps_.size(); }
  bool has_selection() const { return has_selection_; }
  // The selected physical rows (valid only when has_selection()).
  const std::vector<uint32_t>& selection() const { return selection_; }
  size_t physical_row(size_t row) const { return has_selection_ ? selection_[row] : row; }

  // --- reading (logical rows) -------------------------------------------------------------
  bool IsNull(size_t row, size_t col) const { return column(col).IsNull(physical_row(row)); }
  // int64 and timestamp fields.
  int64_t GetInt64(size_t row, size_t col) const { return Fixed<int64_t>(row, col); }
  // int32 and date (days since epoch) fields.
  int32_t GetInt32(size_t row, size_t col) const { return Fixed<int32_t>(row, col); }
  double GetDouble(size_t row, size_t col) const { return Fixed<double>(row, col); }
  bool GetBool(size_t row, size_t col) const { return column(col).GetBool(physical_row(row)); }
  // string and bytes fields.
  std::string_view GetString(size_t row, size_t col) const {
    return column(col).GetString(physical_row(row));
  }
  int64_t timestamp(size_t row) const { return timestamps()[physical_row(row)]; }
  // The row's RowKind (+I unless the batch carries kinds).
  RowKind row_kind(size_t row) const {
    const std::vector<uint8_t>& k = base_ ? base_->kinds_ : kinds_;
    return k.empty() ? RowKind::kInsert : static_cast<RowKind>(k[physical_row(row)]);
  }
  // The kind of physical row `p` (vectorized code that walks the selection itself).
  RowKind physical_row_kind(size_t p) const {
    const std::vector<uint8_t>& k = base_ ? base_->kinds_ : kinds_;
    return k.empty() ? RowKind::kInsert : static_cast<RowKind>(k[p]);
  }
  // Whether the batch carries row kinds (some may still all be +I).
  bool has_row_kinds() const { return !(base_ ? base_->kinds_ : kinds_).empty(); }

  // --- writing (physical rows of an owned batch) ------------------------------------------
  // Appends a row with every field valid and zero/false/empty; returns its index.
  size_t AppendRow(int64_t timestamp = kNoTimestamp, RowKind kind = RowKind::kInsert) {
    timestamps_.push_back(timestamp);
    PushKind(kind);
    for (Column& c : columns_) c.AppendDefault();
    return timestamps_.size() - 1;
  }
  void SetInt64(size_t row, size_t col, int64_t v) { columns_[col].Set<int64_t>(row, v); }
  void SetInt32(size_t row, size_t col, int32_t v) { columns_[col].Set<int32_t>(row, v); }
  void SetDouble(size_t row, size_t col, double v) { columns_[col].Set<double>(row, v); }
  void SetBool(size_t row, size_t col, bool v) { columns_[col].SetBool(row, v); }
  // string and bytes fields; `row` must be the last row. Copies `s` into the column.
  void SetString(size_t row, size_t col, std::string_view s) {
    (void)row;
    columns_[col].SetLastString(s);
  }
  void SetNull(size_t row, size_t col) { columns_[col].SetNull(row); }
  void SetTimestamp(size_t row, int64_t ts) { timestamps_[row] = ts; }
  // Sets the kind of physical row `row` of an owned batch.
  void SetRowKind(size_t row, RowKind kind) {
    if (kinds_.empty()) {
      if (kind == RowKind::kInsert) return;
      kinds_.assign(timestamps_.size(), static_cast<uint8_t>(RowKind::kInsert));
    }
    kinds_[row] = static_cast<uint8_t>(kind);
  }
  // Copies field `src_col` of `src` logical row `src_row` into field `col` of row `row` here
  // (same type; string/bytes only into the last row), null or not.
  void CopyField(size_t row, size_t col, const RecordBatch& src, size_t src_row, size_t src_col);
  // Appends a copy of `src`'s logical row `row`; both batches must have equal schemas.
  void AppendRowFrom(const RecordBatch& src, size_t row);
  // Appends copies of `src`'s PHYSICAL rows rows[0..n), in that order (equal schemas):
  // column by column, so a partitioner moves a batch's rows with one gather per column.
  void AppendRows(const RecordBatch& src, const uint32_t* rows, size_t n);
  // Replaces the content with a copy of `src`'s logical rows (equal schemas); no selection.
  void AssignFrom(const RecordBatch& src);
  // Drops the last row (used when a row under construction turns out to be bad).
  void PopRow();
  // Removes all rows and the selection; keeps allocated capacity. A view becomes owned.
  void Clear();

  // --- selection and views ----------------------------------------------------------------
  // Makes this batch a view of `base`'s columns with an empty selection; add rows with
  // Select(). Viewing a view views its base.
  void ResetAsView(const RecordBatch& base);
  // Adds `base` logical row `row` of the viewed batch to the selection (views only).
  void SelectRowOf(const RecordBatch& base, size_t row) {
    selection_.push_back(static_cast<uint32_t>(base.physical_row(row)));
  }
  // True if this view selects every row of its base in order (nothing was filtered out).
  bool SelectsAll() const { return selection_.size() == num_physical_rows(); }

  // --- bulk building (owned batches) ----------------------------------------------------
  // Append values straight to each column (Column::Append, AppendString, AppendNull) and one
  // timestamp per row; every column and the timestamps must reach the same length before the
  // batch is read or emitted.
  Column& mutable_column(size_t col) { return columns_[col]; }
  void AppendTimestamp(int64_t ts, RowKind kind = RowKind::kInsert) {
    timestamps_.push_back(ts);
    PushKind(kind);
  }

  // Reserves room for `rows` rows with as many string bytes per column as `like` holds (a
  // batch that replaces `like` fills up without regrowing).
  void Reserve(size_t rows, const RecordBatch& like);

  // Approximate payload size in bytes (column buffers + timestamps), physical.
  size_t ByteSize() const;

  // --- key groups -------------------------------------------------------------------------
  // The key group of every physical row as the hash partitioner of the edge the batch came
  // through computed it, so that the keyed operator behind the edge does not hash every key a
  // second time (Flink recomputes it; carrying it costs 2 bytes per row). `tag` identifies key
  // and max parallelism (KeySelector::KeyGroupTag); readers use the groups only when the tag
  // equals theirs. They exist only while there is one per physical row: appending rows without
  // key groups drops them, as do Clear and copies.
  // The tag of the carried key groups; 0 when there are none.
  uint64_t key_group_tag() const {
    const RecordBatch& b = base_ ? *base_ : *this;
    return b.key_groups_.size() == b.timestamps_.size() ? b.key_group_tag_ : 0;
  }
  // Key group of logical row `row` (only when key_group_tag() != 0).
  int32_t key_group(size_t row) const {
    return (base_ ? base_->key_groups_ : key_groups_)[physical_row(row)];
  }
  // Adds the key groups of the last `n` rows (owned batches; append the rows first). A tag that
  // differs from the earlier rows' drops all key groups.
  void AppendKeyGroups(uint64_t tag, const uint16_t* groups, size_t n);

  // --- serialisation (record_batch_wire.cc) -------------------------------------------------
  void SerializeTo(std::string* out) const;
  // Replaces this batch's rows with the serialised ones. DataLoss naming the problem on a
  // wrong magic or version, a column count or type that differs from the schema, or any
  // buffer size or string offset inconsistent with the header; the batch is then empty.
  absl::Status DeserializeFrom(std::string_view bytes);

  // Human-readable row, "a,b,c" with CSV quoting as needed (used by print sink and tests).
  std::string RowToString(size_t row) const;
  // Appends the row as one CSV line (RFC 4180 quoting, timestamps ISO-8601, nulls as empty
  // fields, '\n' terminated).
  void AppendCsvLine(size_t row, std::string* out) const;

 private:
  const std::vector<Column>& columns() const { return base_ ? base_->columns_ : columns_; }
  template <typename T>
  T Fixed(size_t row, size_t col) const {
    return column(col).values<T>()[physical_row(row)];
  }

  SchemaPtr schema_;
  std::vector<Column> columns_;
  std::vector<int64_t> timestamps_;
  // Per physical row while the batch carries kinds (size == timestamps_.size()); empty: all +I.
  std::vector<uint8_t> kinds_;
  // Adds the kind of a row just appended (timestamps_ already has it).
  void PushKind(RowKind kind) {
    if (kinds_.empty() && kind == RowKind::kInsert) return;
    if (kinds_.empty()) kinds_.assign(timestamps_.size() - 1, static_cast<uint8_t>(RowKind::kInsert));
    kinds_.push_back(static_cast<uint8_t>(kind));
  }
  // Copies the kinds of `src`'s physical rows `rows[0..n)` after `old` existing rows.
  void AppendKindsOf(const RecordBatch& src, const uint32_t* rows, size_t n, size_t old);
  const RecordBatch* base_ = nullptr;  // set for a view
  bool has_selection_ = false;
  std::vector<uint32_t> selection_;
  uint64_t key_group_tag_ = 0;
  std::vector<uint16_t> key_groups_;  // per physical row while size == timestamps_.size()
};

// Appends field `col` of logical row `row` as CSV text: int32/int64 and double in shortest
// round-trip form, bools true/false, timestamps ISO-8601 UTC, dates YYYY-MM-DD, bytes base64,
// strings quoted (RFC 4180, '"' doubled) only when they contain `delimiter`, '"', '\n' or '\r'
// (or are empty, so that an empty string differs from a null); a null appends nothing. The file
// sink's and the Kafka csv format's encoding.
void AppendCsvValue(const RecordBatch& b, size_t row, size_t col, std::string* out,
                    char delimiter = ',');

}  // namespace sluice::core

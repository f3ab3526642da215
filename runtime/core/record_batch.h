#pragma once
// RecordBatch: the unit in which records move through Sluice (Flink's network buffer of
// serialised records). Row-major array of 8-byte Values plus one string arena plus one event
// timestamp per row. Clear() keeps capacity, so a batch reused by an operator or channel
// allocates nothing in steady state: no per-record heap allocation on the hot path.
//
// Serialised form (little-endian, for the network and spill): u32 num_rows, u32 num_fields,
// u32 arena_bytes, then num_rows*i64 timestamps, num_rows*num_fields*8 value bytes, arena bytes.
// Both sides know the schema from the JobGraph; it is not serialised.
//
// Thread safety: none; a batch is owned by one thread at a time and handed over through queues.

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "runtime/core/types.h"

namespace sluice::core {

// Event timestamp of a record that has none (Flink's Long.MIN_VALUE "no timestamp").
inline constexpr int64_t kNoTimestamp = std::numeric_limits<int64_t>::min();

class RecordBatch {
 public:
  RecordBatch() = default;
  explicit RecordBatch(SchemaPtr schema) : schema_(std::move(schema)) {}

  const SchemaPtr& schema_ptr() const { return schema_; }
  const Schema& schema() const { return *schema_; }
  void set_schema(SchemaPtr s) {
    schema_ = std::move(s);
    Clear();
  }
  size_t num_rows() const { return timestamps_.size(); }
  size_t num_fields() const { return schema_->num_fields(); }
  bool empty() const { return timestamps_.empty(); }

  // --- reading --------------------------------------------------------------------------
  Value value(size_t row, size_t col) const { return values_[row * num_fields() + col]; }
  int64_t GetInt64(size_t row, size_t col) const { return value(row, col).i64; }
  double GetDouble(size_t row, size_t col) const { return value(row, col).f64; }
  bool GetBool(size_t row, size_t col) const { return value(row, col).b; }
  std::string_view GetString(size_t row, size_t col) const {
    StringRef r = value(row, col).str;
    return std::string_view(arena_.data() + r.offset, r.length);
  }
  int64_t timestamp(size_t row) const { return timestamps_[row]; }

  // --- writing --------------------------------------------------------------------------
  // Appends a row with all fields zero; returns its index. Set fields with the setters.
  size_t AppendRow(int64_t timestamp = kNoTimestamp) {
    timestamps_.push_back(timestamp);
    values_.resize(values_.size() + num_fields(), Value{.i64 = 0});
    return timestamps_.size() - 1;
  }
  void SetInt64(size_t row, size_t col, int64_t v) { mut(row, col).i64 = v; }
  void SetDouble(size_t row, size_t col, double v) { mut(row, col).f64 = v; }
  void SetBool(size_t row, size_t col, bool v) {
    mut(row, col).i64 = 0;
    mut(row, col).b = v;
  }
  // Copies `s` into this batch's arena.
  void SetString(size_t row, size_t col, std::string_view s) {
    mut(row, col).str = StringRef{static_cast<uint32_t>(arena_.size()),
                                  static_cast<uint32_t>(s.size())};
    arena_.append(s);
  }
  void SetTimestamp(size_t row, int64_t ts) { timestamps_[row] = ts; }
  // Copies field `src_col` of `src` row `src_row` into field `col` of row `row` here (same type).
  void CopyField(size_t row, size_t col, const RecordBatch& src, size_t src_row, size_t src_col);
  // Appends a copy of `src`'s row `row`; both batches must have equal schemas.
  void AppendRowFrom(const RecordBatch& src, size_t row);
  // Drops the last row (used when a row under construction turns out to be bad).
  void PopRow();

  // Removes all rows; keeps allocated capacity.
  void Clear() {
    values_.clear();
    timestamps_.clear();
    arena_.clear();
  }
  // Approximate payload size in bytes (values + timestamps + strings).
  size_t ByteSize() const {
    return values_.size() * sizeof(Value) + timestamps_.size() * 8 + arena_.size();
  }

  // --- serialisation --------------------------------------------------------------------
  void SerializeTo(std::string* out) const;
  // Replaces this batch's rows with the serialised ones. DataLoss on a malformed buffer.
  absl::Status DeserializeFrom(std::string_view bytes);

  // Human-readable row, "a,b,c" with CSV quoting as needed (used by print sink and tests).
  std::string RowToString(size_t row) const;
  // Appends the row as one CSV line (RFC 4180 quoting, timestamps ISO-8601, '\n' terminated).
  void AppendCsvLine(size_t row, std::string* out) const;

 private:
  Value& mut(size_t row, size_t col) { return values_[row * num_fields() + col]; }

  SchemaPtr schema_;
  std::vector<Value> values_;
  std::vector<int64_t> timestamps_;
  std::string arena_;
};

// Appends field `col` of `row` as CSV text: int64 and double in shortest round-trip form, bools
// true/false, timestamps ISO-8601 UTC, strings quoted (RFC 4180, '"' doubled) only when they
// contain `delimiter`, '"', '\n' or '\r'. The file sink's and the Kafka csv format's encoding.
void AppendCsvValue(const RecordBatch& b, size_t row, size_t col, std::string* out,
                    char delimiter = ',');

}  // namespace sluice::core

#pragma once
// Sluice C++ DataStream API: reading and writing rows.
//
// Rows move through the engine in columnar batches (Apache Arrow's layout). A user function sees
// one row at a time through `Row`, a view into the batch: reading a field is an inline load from
// the column's buffers, with no copy, allocation or virtual call. A Row (and every string_view
// it returns) is valid only during the call that received it.
//
// User structs travel in bytes fields: RowWriter::SetValue encodes one with its TypeSerializer
// (serializer.h), Row::GetValue decodes it (the same bytes go over the network, into state and
// savepoints, and into sinks).
//
// Results are written through a `RowWriter` the engine hands out (Collector::Emit): the engine
// appends the row to its output batch. Fields not set are null. Setting a field twice keeps the
// last value. The writer is valid until the next Emit or the end of the call.
//
// Field indexes are positions in the stream's Schema (look them up once with Schema::IndexOf,
// e.g. in Open). Reading a field with the getter of another type, or an index out of range, is
// undefined behaviour (as with std::vector's operator[]); `type(i)` tells the type.
//
// Thread safety: none needed; the engine calls a function instance from one thread only.

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

#include "sluice/serializer.h"
#include "sluice/types.h"

namespace sluice {

// One column of a batch as the engine lays it out (Arrow): a validity bitmap (bit i set = row i
// valid; null pointer = no nulls), a values buffer (fixed-width values; bools one bit each;
// string/bytes: int32 offsets, length + 1) and, for string/bytes, a data buffer.
struct ColumnView {
  Type type = Type::kInt64;
  const uint8_t* validity = nullptr;
  const uint8_t* values = nullptr;
  const char* data = nullptr;
};

// A read-only view of row `index` of a batch.
class Row {
 public:
  Row(const ColumnView* columns, size_t num_fields, size_t index, int64_t timestamp)
      : columns_(columns), num_fields_(num_fields), index_(index), timestamp_(timestamp) {}

  size_t num_fields() const { return num_fields_; }
  Type type(size_t f) const { return columns_[f].type; }
  // The row's event timestamp (ms since the epoch), or kNoTimestamp.
  int64_t timestamp() const { return timestamp_; }

  bool IsNull(size_t f) const {
    const uint8_t* v = columns_[f].validity;
    return v != nullptr && ((v[index_ >> 3] >> (index_ & 7)) & 1) == 0;
  }
  // int64 and timestamp fields (0 when null).
  int64_t GetInt64(size_t f) const { return Fixed<int64_t>(f); }
  // int32 and date fields.
  int32_t GetInt32(size_t f) const { return Fixed<int32_t>(f); }
  double GetDouble(size_t f) const { return Fixed<double>(f); }
  bool GetBool(size_t f) const {
    return ((columns_[f].values[index_ >> 3] >> (index_ & 7)) & 1) != 0;
  }
  // A user struct in a bytes field, written by RowWriter::SetValue (its TypeSerializer).
  // Throws std::invalid_argument when the bytes do not decode.
  template <Serializable T>
  T GetValue(size_t f) const {
    T v{};
    if (!Decode(GetString(f), &v)) {
      throw std::invalid_argument("field " + std::to_string(f) + ": bytes do not decode with the "
                                  "type's TypeSerializer");
    }
    return v;
  }
  // string and bytes fields (empty when null).
  std::string_view GetString(size_t f) const {
    int32_t begin, end;
    std::memcpy(&begin, columns_[f].values + 4 * index_, 4);
    std::memcpy(&end, columns_[f].values + 4 * (index_ + 1), 4);
    return std::string_view(columns_[f].data + begin, static_cast<size_t>(end - begin));
  }

 private:
  template <typename T>
  T Fixed(size_t f) const {
    T v;
    std::memcpy(&v, columns_[f].values + sizeof(T) * index_, sizeof(T));
    return v;
  }

  const ColumnView* columns_;
  size_t num_fields_;
  size_t index_;
  int64_t timestamp_;
};

// Fills one output row. Implemented by the engine.
class RowWriter {
 public:
  virtual ~RowWriter() = default;
  // int64 and timestamp fields.
  virtual void SetInt64(size_t f, int64_t v) = 0;
  // int32 and date fields.
  virtual void SetInt32(size_t f, int32_t v) = 0;
  virtual void SetDouble(size_t f, double v) = 0;
  virtual void SetBool(size_t f, bool v) = 0;
  // string and bytes fields; the bytes are copied.
  virtual void SetString(size_t f, std::string_view v) = 0;
  virtual void SetNull(size_t f) = 0;
  // The row's event timestamp (ms). Default: the input row's, or the timer's in OnTimer
  // (Flink's TimestampedCollector).
  virtual void SetTimestamp(int64_t timestamp_ms) = 0;

  // A user struct into a bytes field, encoded by its TypeSerializer (Row::GetValue reads it):
  // how structs travel between operators and into sinks.
  template <Serializable T>
  void SetValue(size_t f, const T& v) {
    scratch_.clear();
    TypeSerializer<T>::Write(v, &scratch_);
    SetString(f, scratch_);
  }

  // Copies field `from` of `row` (same type) into field `f`, null or not.
  void Copy(size_t f, const Row& row, size_t from) {
    if (row.IsNull(from)) {
      SetNull(f);
      return;
    }
    switch (row.type(from)) {
      case Type::kInt64:
      case Type::kTimestamp: SetInt64(f, row.GetInt64(from)); break;
      case Type::kInt32:
      case Type::kDate: SetInt32(f, row.GetInt32(from)); break;
      case Type::kDouble: SetDouble(f, row.GetDouble(from)); break;
      case Type::kBool: SetBool(f, row.GetBool(from)); break;
      case Type::kString:
      case Type::kBytes: SetString(f, row.GetString(from)); break;
    }
  }

 private:
  std::string scratch_;
};

// A side output of a process function (Flink's OutputTag): its name is the stream's name in the
// job, and its rows have `schema`. Declared on the operator (DataStream::Process(..., tags)).
struct OutputTag {
  std::string name;
  Schema schema;
};

// Where a function sends its results (Flink's Collector and Context#output).
class Collector {
 public:
  virtual ~Collector() = default;
  // Starts a row on the main output.
  virtual RowWriter& Emit() = 0;
  // Starts a row on side output `tag_index`: the position of its tag in the list the operator
  // declared (0 = the first).
  virtual RowWriter& EmitTo(size_t tag_index) = 0;
};

}  // namespace sluice

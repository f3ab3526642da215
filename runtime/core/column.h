#pragma once
// Column: one field of a RecordBatch, in Apache Arrow's columnar memory layout
// (https://arrow.apache.org/docs/format/Columnar.html):
//   validity  bitmap, bit i (LSB first within each byte) set <=> value i is not null;
//   values    fixed width: length * core::ValueWidth(type) bytes (int32/date as int32_t,
//             int64/timestamp as int64_t, double as IEEE float64); bool: a bitmap, one bit per
//             value; string/bytes: length + 1 int32 offsets, value i is data[offsets[i],
//             offsets[i+1]);
//   data      string/bytes only: the concatenated value bytes.
// A null value's slot holds zero (or an empty string), as Arrow allows any content there.
//
// Columns are built by appending: AppendDefault() adds a valid zero/empty value, the setters
// then overwrite the value of a row. A string/bytes value can only be set on the last row (its
// bytes go at the end of the data buffer). Clear() keeps the capacity of all buffers.
//
// Thread safety: none; owned by one batch.

#include <cstdint>
#include <string_view>

#include "runtime/core/buffer.h"
#include "runtime/core/types.h"

namespace sluice::core {

class Column {
 public:
  explicit Column(Type type = Type::kInt64);

  Type type() const { return type_; }
  size_t length() const { return length_; }
  size_t null_count() const { return null_count_; }

  // --- reading (i < length()) -----------------------------------------------------------
  bool IsNull(size_t i) const { return null_count_ != 0 && !GetBit(validity_.data(), i); }
  bool IsValid(size_t i) const { return !IsNull(i); }
  // The values buffer as T (int32_t for int32/date, int64_t for int64/timestamp, double).
  template <typename T>
  const T* values() const { return values_.as<T>(); }
  template <typename T>
  T* mutable_values() { return values_.as<T>(); }
  bool GetBool(size_t i) const { return GetBit(values_.data(), i); }
  // string/bytes value i.
  std::string_view GetString(size_t i) const {
    const int32_t* o = values_.as<int32_t>();
    return std::string_view(reinterpret_cast<const char*>(data_.data()) + o[i],
                            static_cast<size_t>(o[i + 1] - o[i]));
  }
  const int32_t* offsets() const { return values_.as<int32_t>(); }
  const Buffer& validity_buffer() const { return validity_; }
  const Buffer& values_buffer() const { return values_; }
  const Buffer& data_buffer() const { return data_; }

  // --- building ---------------------------------------------------------------------------
  // Appends a valid value: zero, false or the empty string.
  void AppendDefault() {
    if ((length_ & 7) == 0) validity_.append("\0", 1);
    SetBit(validity_.data(), length_);
    if (type_ == Type::kBool) {
      if ((length_ & 7) == 0) values_.append("\0", 1);
    } else if (core::IsVariableWidth(type_)) {
      const int32_t end = static_cast<int32_t>(data_.size());
      values_.append(&end, 4);
    } else {
      values_.resize(values_.size() + width_);
    }
    ++length_;
  }
  // Appends a valid value directly (bulk building: no default then overwrite). T as values().
  template <typename T>
  void Append(T v) {
    AppendValidBit();
    values_.append(&v, sizeof(T));
    ++length_;
  }
  // Appends a valid string/bytes value.
  void AppendString(std::string_view s) {
    CheckDataEnd(data_.size() + s.size());
    AppendValidBit();
    data_.append(s.data(), s.size());
    const int32_t end = static_cast<int32_t>(data_.size());
    values_.append(&end, 4);
    ++length_;
  }
  void AppendNull() {
    AppendDefault();
    SetNull(length_ - 1);
  }
  // Sets value i and marks it valid.
  template <typename T>
  void Set(size_t i, T v) {
    values_.as<T>()[i] = v;
    MarkValid(i);
  }
  void SetBool(size_t i, bool v) {
    if (v) {
      SetBit(values_.data(), i);
    } else {
      ClearBit(values_.data(), i);
    }
    MarkValid(i);
  }
  // Sets the string/bytes value of the last row (i == length() - 1) and marks it valid.
  void SetLastString(std::string_view s);
  // Marks value i null; its slot is reset to zero/empty (for string/bytes: i must be the last).
  void SetNull(size_t i);
  // Appends value i of `src` (same type), null or not.
  void AppendFrom(const Column& src, size_t i);
  // Appends the values `rows[0..n)` of `src` (same type), in that order.
  void AppendSelected(const Column& src, const uint32_t* rows, size_t n);
  // Removes the last value.
  void PopBack();
  void Clear();
  void Reserve(size_t rows, size_t data_bytes = 0);

  // --- wire (record_batch_wire.cc) ----------------------------------------------------------
  // Replaces the content with `length` values from raw buffers (validity may be empty: all
  // valid). The caller has validated the sizes and offsets.
  void AssignBuffers(size_t length, std::string_view validity, std::string_view values,
                     std::string_view data);
  // Number of values-buffer bytes for `length` values of `type`.
  static size_t ValuesBytes(Type type, size_t length);

  static bool GetBit(const uint8_t* bits, size_t i) { return (bits[i >> 3] >> (i & 7)) & 1; }
  static void SetBit(uint8_t* bits, size_t i) { bits[i >> 3] |= uint8_t(1u << (i & 7)); }
  static void ClearBit(uint8_t* bits, size_t i) { bits[i >> 3] &= uint8_t(~(1u << (i & 7))); }

 private:
  // Aborts if the data buffer would end at `end` bytes, past Arrow's int32 offsets (2 GiB in one
  // batch: a single value of gigabytes, since batches flush long before).
  static void CheckDataEnd(size_t end);
  void AppendValidBit() {
    if ((length_ & 7) == 0) validity_.append("\0", 1);
    SetBit(validity_.data(), length_);
  }
  void MarkValid(size_t i) {
    if (null_count_ != 0 && !GetBit(validity_.data(), i)) {
      SetBit(validity_.data(), i);
      --null_count_;
    }
  }

  Type type_;
  size_t width_;
  size_t length_ = 0;
  size_t null_count_ = 0;
  Buffer validity_;
  Buffer values_;
  Buffer data_;
};

}  // namespace sluice::core

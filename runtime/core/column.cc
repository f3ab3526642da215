#include "runtime/core/column.h"

#include <cstdlib>
#include <limits>

#include "spdlog/spdlog.h"

namespace sluice::core {

Column::Column(Type type) : type_(type), width_(core::ValueWidth(type)) { Clear(); }

void Column::Clear() {
  length_ = 0;
  null_count_ = 0;
  validity_.clear();
  values_.clear();
  data_.clear();
  if (core::IsVariableWidth(type_)) {
    const int32_t zero = 0;
    values_.append(&zero, 4);
  }
}

void Column::Reserve(size_t rows, size_t data_bytes) {
  validity_.reserve((rows + 7) / 8);
  values_.reserve(ValuesBytes(type_, rows));
  if (data_bytes) data_.reserve(data_bytes);
}

size_t Column::ValuesBytes(Type type, size_t length) {
  if (type == Type::kBool) return (length + 7) / 8;
  if (core::IsVariableWidth(type)) return (length + 1) * 4;
  return length * core::ValueWidth(type);
}

void Column::CheckDataEnd(size_t end) {
  if (end > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    spdlog::critical("string column data exceeds 2 GiB in one batch");
    std::abort();
  }
}

void Column::SetLastString(std::string_view s) {
  int32_t* o = values_.as<int32_t>();
  const size_t i = length_ - 1;
  CheckDataEnd(static_cast<size_t>(o[i]) + s.size());
  data_.resize_uninitialized(static_cast<size_t>(o[i]));
  data_.append(s.data(), s.size());
  o = values_.as<int32_t>();
  o[i + 1] = static_cast<int32_t>(data_.size());
  MarkValid(i);
}

void Column::SetNull(size_t i) {
  if (IsNull(i)) return;
  ClearBit(validity_.data(), i);
  ++null_count_;
  if (type_ == Type::kBool) {
    ClearBit(values_.data(), i);
  } else if (core::IsVariableWidth(type_)) {
    int32_t* o = values_.as<int32_t>();
    data_.resize_uninitialized(static_cast<size_t>(o[i]));
    o[i + 1] = o[i];
  } else {
    std::memset(values_.data() + i * width_, 0, width_);
  }
}

void Column::AppendFrom(const Column& src, size_t i) {
  AppendDefault();
  const size_t r = length_ - 1;
  if (src.IsNull(i)) {
    SetNull(r);
    return;
  }
  switch (type_) {
    case Type::kBool:
      if (src.GetBool(i)) SetBit(values_.data(), r);
      break;
    case Type::kString:
    case Type::kBytes: SetLastString(src.GetString(i)); break;
    default: std::memcpy(values_.data() + r * width_, src.values_.data() + i * width_, width_);
  }
}

void Column::AppendSelected(const Column& src, const uint32_t* rows, size_t n) {
  if (core::IsVariableWidth(type_) && src.null_count_ == 0) {
    for (size_t k = 0; k < n; ++k) AppendString(src.GetString(rows[k]));
    return;
  }
  if (type_ == Type::kBool || core::IsVariableWidth(type_) || src.null_count_ != 0) {
    for (size_t k = 0; k < n; ++k) AppendFrom(src, rows[k]);
    return;
  }
  // Fixed width, no nulls: gather the values, set validity bits in bulk.
  const size_t old = length_;
  const size_t total = old + n;
  validity_.resize((total + 7) / 8);
  for (size_t r = old; r < total; ++r) SetBit(validity_.data(), r);
  values_.resize_uninitialized(total * width_);
  if (width_ == 8) {
    const uint64_t* s = src.values_.as<uint64_t>();
    uint64_t* d = values_.as<uint64_t>() + old;
    for (size_t k = 0; k < n; ++k) d[k] = s[rows[k]];
  } else {
    const uint32_t* s = src.values_.as<uint32_t>();
    uint32_t* d = values_.as<uint32_t>() + old;
    for (size_t k = 0; k < n; ++k) d[k] = s[rows[k]];
  }
  length_ = total;
}

void Column::PopBack() {
  if (length_ == 0) return;
  const size_t i = length_ - 1;
  if (IsNull(i)) --null_count_;
  ClearBit(validity_.data(), i);
  if (type_ == Type::kBool) {
    ClearBit(values_.data(), i);
    values_.resize((i + 7) / 8);
  } else if (core::IsVariableWidth(type_)) {
    data_.resize_uninitialized(static_cast<size_t>(values_.as<int32_t>()[i]));
    values_.resize_uninitialized((i + 1) * 4);
  } else {
    values_.resize_uninitialized(i * width_);
  }
  validity_.resize((i + 7) / 8);
  length_ = i;
}

void Column::AssignBuffers(size_t length, std::string_view validity, std::string_view values,
                           std::string_view data) {
  length_ = length;
  null_count_ = 0;
  const size_t vbytes = (length + 7) / 8;
  if (validity.empty()) {
    validity_.resize_uninitialized(vbytes);
    if (vbytes) std::memset(validity_.data(), 0xff, vbytes);
  } else {
    validity_.Assign(validity.data(), vbytes);
    for (size_t i = 0; i < length; ++i) null_count_ += !GetBit(validity_.data(), i);
  }
  values_.Assign(values.data(), values.size());
  data_.Assign(data.data(), data.size());
}

}  // namespace sluice::core

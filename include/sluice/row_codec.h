#pragma once
// Sluice C++ DataStream API: rows kept in state by windows with a ProcessWindowFunction or a
// ReduceFunction (windows.h). Internal to the API.
//
// Encoding of one row: i64 event timestamp, then per field in schema order a u8 (1 = null,
// 0 = valid) and, when valid, the value: int64/timestamp/double 8 bytes, int32/date 4 bytes,
// bool 1 byte, string/bytes a u32 length and the bytes (all little-endian). It is part of the
// window state in checkpoints and savepoints.
//
// Thread safety: value types, one thread.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/row.h"
#include "sluice/types.h"

namespace sluice {

// The rows of a window, as ProcessWindowFunction::Process sees them: views valid during the call.
class WindowRows {
 public:
  size_t size() const { return timestamps_.size(); }
  Row operator[](size_t i) const { return Row(views_.data(), views_.size(), i, timestamps_[i]); }

  // --- building (the API's window functions) ---
  void Reset(const Schema& schema) {
    schema_ = &schema;
    columns_.resize(schema.size());
    for (Column& c : columns_) {
      c.validity.clear();
      c.values.clear();
      c.data.clear();
      c.offsets.assign(1, 0);
    }
    timestamps_.clear();
  }
  // Decodes one encoded row; false when the bytes do not fit the schema.
  bool Add(std::string_view in) {
    int64_t ts = 0;
    if (!Take(&in, &ts, 8)) return false;
    const size_t row = timestamps_.size();
    for (size_t f = 0; f < columns_.size(); ++f) {
      Column& c = columns_[f];
      if (row % 8 == 0) c.validity.push_back(0);
      uint8_t null = 0;
      if (!Take(&in, &null, 1)) return false;
      const Type type = schema_->field(f).type;
      if (null == 0) c.validity[row / 8] |= static_cast<uint8_t>(1u << (row % 8));
      switch (type) {
        case Type::kInt64:
        case Type::kTimestamp:
        case Type::kDouble: {
          char v[8] = {};
          if (null == 0 && !Take(&in, v, 8)) return false;
          c.values.insert(c.values.end(), v, v + 8);
          break;
        }
        case Type::kInt32:
        case Type::kDate: {
          char v[4] = {};
          if (null == 0 && !Take(&in, v, 4)) return false;
          c.values.insert(c.values.end(), v, v + 4);
          break;
        }
        case Type::kBool: {
          uint8_t v = 0;
          if (null == 0 && !Take(&in, &v, 1)) return false;
          if (row % 8 == 0) c.values.push_back(0);
          if (v != 0) c.values[row / 8] |= static_cast<uint8_t>(1u << (row % 8));
          break;
        }
        case Type::kString:
        case Type::kBytes: {
          uint32_t n = 0;
          if (null == 0) {
            if (!Take(&in, &n, 4) || in.size() < n) return false;
            c.data.append(in.data(), n);
            in.remove_prefix(n);
          }
          c.offsets.push_back(static_cast<int32_t>(c.data.size()));
          break;
        }
      }
    }
    timestamps_.push_back(ts);
    return in.empty();
  }
  // Makes the rows readable (after the last Add).
  void Finish() {
    views_.resize(columns_.size());
    for (size_t f = 0; f < columns_.size(); ++f) {
      Column& c = columns_[f];
      const Type type = schema_->field(f).type;
      const bool variable = type == Type::kString || type == Type::kBytes;
      views_[f] = ColumnView{type, c.validity.data(),
                             variable ? reinterpret_cast<const uint8_t*>(c.offsets.data())
                                      : c.values.data(),
                             c.data.data()};
    }
  }

 private:
  struct Column {
    std::vector<uint8_t> validity;
    std::vector<uint8_t> values;
    std::vector<int32_t> offsets;
    std::string data;
  };
  static bool Take(std::string_view* in, void* out, size_t n) {
    if (in->size() < n) return false;
    std::memcpy(out, in->data(), n);
    in->remove_prefix(n);
    return true;
  }

  const Schema* schema_ = nullptr;
  std::vector<Column> columns_;
  std::vector<int64_t> timestamps_;
  std::vector<ColumnView> views_;
};

namespace detail {

inline void PutBytes(std::string* out, const void* p, size_t n) {
  out->append(static_cast<const char*>(p), n);
}

// Encodes `row` (fields in schema order) with event timestamp `timestamp`.
inline void EncodeRow(const Row& row, int64_t timestamp, std::string* out) {
  PutBytes(out, &timestamp, 8);
  for (size_t f = 0; f < row.num_fields(); ++f) {
    const uint8_t null = row.IsNull(f) ? 1 : 0;
    out->push_back(static_cast<char>(null));
    if (null != 0) continue;
    switch (row.type(f)) {
      case Type::kInt64:
      case Type::kTimestamp: {
        const int64_t v = row.GetInt64(f);
        PutBytes(out, &v, 8);
        break;
      }
      case Type::kDouble: {
        const double v = row.GetDouble(f);
        PutBytes(out, &v, 8);
        break;
      }
      case Type::kInt32:
      case Type::kDate: {
        const int32_t v = row.GetInt32(f);
        PutBytes(out, &v, 4);
        break;
      }
      case Type::kBool: out->push_back(row.GetBool(f) ? 1 : 0); break;
      case Type::kString:
      case Type::kBytes: {
        const std::string_view s = row.GetString(f);
        const uint32_t n = static_cast<uint32_t>(s.size());
        PutBytes(out, &n, 4);
        out->append(s);
        break;
      }
    }
  }
}

// A RowWriter that keeps the row it is given, then encodes it (a ReduceFunction's result).
class EncodingRowWriter final : public RowWriter {
 public:
  void Reset(const Schema& schema, int64_t timestamp) {
    schema_ = &schema;
    timestamp_ = timestamp;
    fields_.assign(schema.size(), Value{});
  }
  void SetInt64(size_t f, int64_t v) override { fields_.at(f) = Value{false, v, 0, {}}; }
  void SetInt32(size_t f, int32_t v) override { fields_.at(f) = Value{false, v, 0, {}}; }
  void SetDouble(size_t f, double v) override { fields_.at(f) = Value{false, 0, v, {}}; }
  void SetBool(size_t f, bool v) override { fields_.at(f) = Value{false, v ? 1 : 0, 0, {}}; }
  void SetString(size_t f, std::string_view v) override {
    fields_.at(f) = Value{false, 0, 0, std::string(v)};
  }
  void SetNull(size_t f) override { fields_.at(f) = Value{}; }
  void SetTimestamp(int64_t timestamp_ms) override { timestamp_ = timestamp_ms; }

  // The row in the encoding above.
  void Encode(std::string* out) const {
    out->clear();
    PutBytes(out, &timestamp_, 8);
    for (size_t f = 0; f < fields_.size(); ++f) {
      const Value& v = fields_[f];
      out->push_back(static_cast<char>(v.null ? 1 : 0));
      if (v.null) continue;
      switch (schema_->field(f).type) {
        case Type::kInt64:
        case Type::kTimestamp: PutBytes(out, &v.i, 8); break;
        case Type::kDouble: PutBytes(out, &v.d, 8); break;
        case Type::kInt32:
        case Type::kDate: {
          const int32_t i = static_cast<int32_t>(v.i);
          PutBytes(out, &i, 4);
          break;
        }
        case Type::kBool: out->push_back(v.i != 0 ? 1 : 0); break;
        case Type::kString:
        case Type::kBytes: {
          const uint32_t n = static_cast<uint32_t>(v.s.size());
          PutBytes(out, &n, 4);
          out->append(v.s);
          break;
        }
      }
    }
  }

 private:
  struct Value {
    bool null = true;
    int64_t i = 0;
    double d = 0;
    std::string s;
  };
  const Schema* schema_ = nullptr;
  int64_t timestamp_ = kNoTimestamp;
  std::vector<Value> fields_;
};

}  // namespace detail
}  // namespace sluice

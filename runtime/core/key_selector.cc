#include "runtime/core/key_selector.h"

#include <cstring>

#include "runtime/base/check.h"
#include "runtime/base/status.h"
#include "runtime/core/key_groups.h"

namespace sluice::core {
namespace {

int32_t FieldHash(const RecordBatch& batch, size_t row, int col, Type type) {
  switch (type) {
    case Type::kInt64:
    case Type::kTimestamp:
      return JavaLongHash(batch.GetInt64(row, col));
    case Type::kDouble:
      return JavaDoubleHash(batch.GetDouble(row, col));
    case Type::kBool:
      return JavaBooleanHash(batch.GetBool(row, col));
    case Type::kString:
      return JavaStringHash(batch.GetString(row, col));
  }
  return 0;
}

std::string FieldNames(const Schema& schema) {
  std::string s;
  for (size_t i = 0; i < schema.num_fields(); ++i) {
    if (i > 0) s += ", ";
    s += schema.field(i).name;
  }
  return s;
}

void AppendFixed8(uint64_t bits, std::string* out) {
  char buf[8];
  std::memcpy(buf, &bits, 8);
  out->append(buf, 8);
}

}  // namespace

absl::StatusOr<KeySelector> KeySelector::Create(const Schema& schema,
                                                const std::vector<std::string>& fields) {
  if (fields.empty()) return InvalidArgumentF("key_by needs at least one field");
  std::vector<int> columns;
  std::vector<Field> key_fields;
  columns.reserve(fields.size());
  for (const std::string& name : fields) {
    int col = schema.FindField(name);
    if (col < 0) {
      return InvalidArgumentF("unknown key field '{}' (fields: {})", name, FieldNames(schema));
    }
    columns.push_back(col);
    key_fields.push_back(schema.field(col));
  }
  return KeySelector(std::move(columns), std::move(key_fields));
}

int32_t KeySelector::HashCode(const RecordBatch& batch, size_t row) const {
  if (columns_.size() == 1) return FieldHash(batch, row, columns_[0], fields_[0].type);
  int32_t h = 0;
  for (size_t i = 0; i < columns_.size(); ++i) {
    h = CombineHash(h, FieldHash(batch, row, columns_[i], fields_[i].type));
  }
  return h;
}

int32_t KeySelector::KeyGroup(const RecordBatch& batch, size_t row, int32_t max_parallelism) const {
  return ComputeKeyGroupForKeyHash(HashCode(batch, row), max_parallelism);
}

void KeySelector::AppendKeyBytes(const RecordBatch& batch, size_t row, std::string* out) const {
  for (size_t i = 0; i < columns_.size(); ++i) {
    const int col = columns_[i];
    switch (fields_[i].type) {
      case Type::kInt64:
      case Type::kTimestamp:
        AppendFixed8(static_cast<uint64_t>(batch.GetInt64(row, col)), out);
        break;
      case Type::kDouble: {
        uint64_t bits;
        double d = batch.GetDouble(row, col);
        std::memcpy(&bits, &d, 8);
        AppendFixed8(bits, out);
        break;
      }
      case Type::kBool:
        out->push_back(batch.GetBool(row, col) ? 1 : 0);
        break;
      case Type::kString: {
        std::string_view s = batch.GetString(row, col);
        uint32_t len = static_cast<uint32_t>(s.size());
        char buf[4];
        std::memcpy(buf, &len, 4);
        out->append(buf, 4);
        out->append(s);
        break;
      }
    }
  }
}

void KeySelector::DecodeKeyInto(std::string_view key_bytes, RecordBatch* out, size_t out_row,
                                size_t first_out_col) const {
  size_t pos = 0;
  for (size_t i = 0; i < fields_.size(); ++i) {
    const size_t col = first_out_col + i;
    switch (fields_[i].type) {
      case Type::kInt64:
      case Type::kTimestamp: {
        SLUICE_CHECK(pos + 8 <= key_bytes.size(), "truncated key bytes at field {}", i);
        int64_t v;
        std::memcpy(&v, key_bytes.data() + pos, 8);
        out->SetInt64(out_row, col, v);
        pos += 8;
        break;
      }
      case Type::kDouble: {
        SLUICE_CHECK(pos + 8 <= key_bytes.size(), "truncated key bytes at field {}", i);
        double v;
        std::memcpy(&v, key_bytes.data() + pos, 8);
        out->SetDouble(out_row, col, v);
        pos += 8;
        break;
      }
      case Type::kBool:
        SLUICE_CHECK(pos + 1 <= key_bytes.size(), "truncated key bytes at field {}", i);
        out->SetBool(out_row, col, key_bytes[pos] != 0);
        pos += 1;
        break;
      case Type::kString: {
        SLUICE_CHECK(pos + 4 <= key_bytes.size(), "truncated key bytes at field {}", i);
        uint32_t len;
        std::memcpy(&len, key_bytes.data() + pos, 4);
        pos += 4;
        SLUICE_CHECK(pos + len <= key_bytes.size(), "truncated key string at field {}", i);
        out->SetString(out_row, col, key_bytes.substr(pos, len));
        pos += len;
        break;
      }
    }
  }
  SLUICE_CHECK(pos == key_bytes.size(), "key bytes have {} trailing bytes", key_bytes.size() - pos);
}

std::vector<Field> KeySelector::key_fields() const { return fields_; }

}  // namespace sluice::core

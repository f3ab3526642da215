#include "runtime/core/key_selector.h"

#include <cstring>

#include "runtime/base/check.h"
#include "runtime/base/status.h"
#include "runtime/core/key_groups.h"

namespace sluice::core {
namespace {

int32_t JavaBytesHash(std::string_view b) {  // java.util.Arrays.hashCode(byte[])
  uint32_t h = 1;
  for (char c : b) h = 31 * h + static_cast<uint32_t>(static_cast<int32_t>(static_cast<signed char>(c)));
  return static_cast<int32_t>(h);
}

int32_t FieldHash(const RecordBatch& batch, size_t row, int col, Type type) {
  if (batch.IsNull(row, col)) return 0;  // Flink's Tuple: a null field hashes as 0
  switch (type) {
    case Type::kInt32:
    case Type::kDate:
      return batch.GetInt32(row, col);  // Integer.hashCode; Flink's DATE is an int of days
    case Type::kBytes:
      return JavaBytesHash(batch.GetString(row, col));
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

// The fixed-width value of key field `field` at *pos, advancing *pos.
template <typename T>
T ReadKeyField(std::string_view key_bytes, size_t* pos, size_t field) {
  SLUICE_CHECK(*pos + sizeof(T) <= key_bytes.size(), "truncated key bytes at field {}", field);
  T v;
  std::memcpy(&v, key_bytes.data() + *pos, sizeof(T));
  *pos += sizeof(T);
  return v;
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
      return InvalidArgumentF("unknown key field '{}' (fields: {})", name, schema.FieldNames());
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

uint64_t KeySelector::KeyGroupTag(int32_t max_parallelism) const {
  // FNV-1a over (column, type) pairs and the max parallelism; never 0 ("no key groups").
  uint64_t h = 14695981039346656037ull;
  auto mix = [&h](uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xff;
      h *= 1099511628211ull;
    }
  };
  for (size_t i = 0; i < columns_.size(); ++i) {
    mix(static_cast<uint64_t>(columns_[i]));
    mix(static_cast<uint64_t>(fields_[i].type));
  }
  mix(static_cast<uint64_t>(max_parallelism));
  return h | 1;
}

void KeySelector::AppendKeyBytes(const RecordBatch& batch, size_t row, std::string* out) const {
  bool any_null = false;
  for (size_t i = 0; i < columns_.size(); ++i) {
    const int col = columns_[i];
    if (batch.IsNull(row, col)) {
      // A null field is written as zero bytes of its width (an empty string), and a trailer
      // after the fields marks it null (see the header).
      any_null = true;
      const Type t = fields_[i].type;
      out->append(t == Type::kBool ? 1 : core::ValueWidth(t), '\0');
      continue;
    }
    switch (fields_[i].type) {
      case Type::kInt32:
      case Type::kDate: {
        int32_t v = batch.GetInt32(row, col);
        char buf[4];
        std::memcpy(buf, &v, 4);
        out->append(buf, 4);
        break;
      }
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
      case Type::kBytes:
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
  if (any_null) {
    const size_t at = out->size();
    out->append((columns_.size() + 7) / 8, '\0');
    for (size_t i = 0; i < columns_.size(); ++i) {
      if (batch.IsNull(row, columns_[i])) (*out)[at + i / 8] |= static_cast<char>(1 << (i % 8));
    }
  }
}

void KeySelector::DecodeKeyInto(std::string_view key_bytes, RecordBatch* out, size_t out_row,
                                size_t first_out_col) const {
  size_t pos = 0;
  for (size_t i = 0; i < fields_.size(); ++i) {
    const size_t col = first_out_col + i;
    switch (fields_[i].type) {
      case Type::kInt32:
      case Type::kDate:
        out->SetInt32(out_row, col, ReadKeyField<int32_t>(key_bytes, &pos, i));
        break;
      case Type::kInt64:
      case Type::kTimestamp:
        out->SetInt64(out_row, col, ReadKeyField<int64_t>(key_bytes, &pos, i));
        break;
      case Type::kDouble:
        out->SetDouble(out_row, col, ReadKeyField<double>(key_bytes, &pos, i));
        break;
      case Type::kBool:
        out->SetBool(out_row, col, ReadKeyField<uint8_t>(key_bytes, &pos, i) != 0);
        break;
      case Type::kBytes:
      case Type::kString: {
        const uint32_t len = ReadKeyField<uint32_t>(key_bytes, &pos, i);
        SLUICE_CHECK(pos + len <= key_bytes.size(), "truncated key string at field {}", i);
        out->SetString(out_row, col, key_bytes.substr(pos, len));
        pos += len;
        break;
      }
    }
  }
  if (pos == key_bytes.size()) return;
  // The null trailer: one bit per key field.
  const size_t n = fields_.size();
  SLUICE_CHECK(key_bytes.size() - pos == (n + 7) / 8, "key bytes have {} trailing bytes",
               key_bytes.size() - pos);
  for (size_t i = 0; i < n; ++i) {
    if ((static_cast<uint8_t>(key_bytes[pos + i / 8]) >> (i % 8)) & 1) {
      out->SetNull(out_row, first_out_col + i);
    }
  }
}

std::vector<Field> KeySelector::key_fields() const { return fields_; }

}  // namespace sluice::core

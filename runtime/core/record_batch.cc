#include "runtime/core/record_batch.h"

#include <charconv>

#include "absl/strings/str_format.h"
#include "runtime/core/time_format.h"

namespace sluice::core {

void RecordBatch::CopyField(size_t row, size_t col, const RecordBatch& src, size_t src_row,
                            size_t src_col) {
  if (schema_->field(col).type == Type::kString) {
    SetString(row, col, src.GetString(src_row, src_col));
  } else {
    mut(row, col) = src.value(src_row, src_col);
  }
}

void RecordBatch::AppendRowFrom(const RecordBatch& src, size_t row) {
  size_t r = AppendRow(src.timestamp(row));
  const size_t n = num_fields();
  for (size_t c = 0; c < n; ++c) CopyField(r, c, src, row, c);
}

void RecordBatch::PopRow() {
  if (timestamps_.empty()) return;
  timestamps_.pop_back();
  values_.resize(values_.size() - num_fields());
}

namespace {
void PutU32(std::string* out, uint32_t v) { out->append(reinterpret_cast<const char*>(&v), 4); }
uint32_t GetU32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
}  // namespace

void RecordBatch::SerializeTo(std::string* out) const {
  out->clear();
  out->reserve(12 + ByteSize());
  PutU32(out, static_cast<uint32_t>(num_rows()));
  PutU32(out, static_cast<uint32_t>(num_fields()));
  PutU32(out, static_cast<uint32_t>(arena_.size()));
  out->append(reinterpret_cast<const char*>(timestamps_.data()), timestamps_.size() * 8);
  out->append(reinterpret_cast<const char*>(values_.data()), values_.size() * sizeof(Value));
  out->append(arena_);
}

absl::Status RecordBatch::DeserializeFrom(std::string_view bytes) {
  Clear();
  if (bytes.size() < 12) return absl::DataLossError("record batch shorter than its header");
  uint32_t rows = GetU32(bytes.data());
  uint32_t fields = GetU32(bytes.data() + 4);
  uint32_t arena = GetU32(bytes.data() + 8);
  if (fields != num_fields()) {
    return absl::DataLossError(absl::StrFormat(
        "record batch has %d fields, schema (%s) has %d", fields, schema_->ToString(),
        num_fields()));
  }
  size_t need = 12 + size_t{rows} * 8 + size_t{rows} * fields * sizeof(Value) + arena;
  if (bytes.size() != need) {
    return absl::DataLossError(
        absl::StrFormat("record batch is %d bytes, header says %d", bytes.size(), need));
  }
  const char* p = bytes.data() + 12;
  timestamps_.resize(rows);
  std::memcpy(timestamps_.data(), p, size_t{rows} * 8);
  p += size_t{rows} * 8;
  values_.resize(size_t{rows} * fields);
  std::memcpy(values_.data(), p, values_.size() * sizeof(Value));
  p += values_.size() * sizeof(Value);
  arena_.assign(p, arena);
  // Validate string references so a corrupt buffer cannot read out of bounds.
  for (size_t c = 0; c < fields; ++c) {
    if (schema_->field(c).type != Type::kString) continue;
    for (size_t r = 0; r < rows; ++r) {
      StringRef s = value(r, c).str;
      if (size_t{s.offset} + s.length > arena_.size()) {
        Clear();
        return absl::DataLossError("record batch string reference out of bounds");
      }
    }
  }
  return absl::OkStatus();
}

namespace {
void AppendCsvString(std::string_view s, char delimiter, std::string* out) {
  bool quote = false;
  for (char c : s) {
    if (c == delimiter || c == '"' || c == '\n' || c == '\r') {
      quote = true;
      break;
    }
  }
  if (!quote) {
    out->append(s);
    return;
  }
  out->push_back('"');
  for (char c : s) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}
}  // namespace

void AppendCsvValue(const RecordBatch& b, size_t row, size_t col, std::string* out,
                    char delimiter) {
  char buf[64];
  switch (b.schema().field(col).type) {
    case Type::kInt64: {
      auto r = std::to_chars(buf, buf + sizeof buf, b.GetInt64(row, col));
      out->append(buf, r.ptr);
      break;
    }
    case Type::kDouble: {
      auto r = std::to_chars(buf, buf + sizeof buf, b.GetDouble(row, col));
      out->append(buf, r.ptr);
      break;
    }
    case Type::kBool: out->append(b.GetBool(row, col) ? "true" : "false"); break;
    case Type::kTimestamp: AppendTimestamp(b.GetInt64(row, col), out); break;
    case Type::kString: AppendCsvString(b.GetString(row, col), delimiter, out); break;
  }
}

void RecordBatch::AppendCsvLine(size_t row, std::string* out) const {
  for (size_t c = 0; c < num_fields(); ++c) {
    if (c) out->push_back(',');
    AppendCsvValue(*this, row, c, out);
  }
  out->push_back('\n');
}

std::string RecordBatch::RowToString(size_t row) const {
  std::string s;
  AppendCsvLine(row, &s);
  s.pop_back();
  return s;
}

}  // namespace sluice::core

#include "runtime/core/record_batch.h"

#include <charconv>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "runtime/core/time_format.h"

namespace sluice::core {

void RecordBatch::set_schema(SchemaPtr s) {
  schema_ = std::move(s);
  columns_.clear();
  if (schema_) {
    columns_.reserve(schema_->num_fields());
    for (const Field& f : schema_->fields()) columns_.emplace_back(f.type);
  }
  base_ = nullptr;
  has_selection_ = false;
  selection_.clear();
  timestamps_.clear();
  kinds_.clear();
  key_groups_.clear();
  key_group_tag_ = 0;
}

void RecordBatch::Clear() {
  if (base_ != nullptr) {
    base_ = nullptr;
    set_schema(schema_);
    return;
  }
  for (Column& c : columns_) c.Clear();
  timestamps_.clear();
  kinds_.clear();
  has_selection_ = false;
  selection_.clear();
  key_groups_.clear();
  key_group_tag_ = 0;
}

void RecordBatch::AppendKeyGroups(uint64_t tag, const uint16_t* groups, size_t n) {
  const bool consistent = key_groups_.size() + n == timestamps_.size() &&
                          (key_groups_.empty() || key_group_tag_ == tag);
  if (!consistent || tag == 0) {
    key_groups_.clear();
    key_group_tag_ = 0;
    return;
  }
  key_group_tag_ = tag;
  key_groups_.insert(key_groups_.end(), groups, groups + n);
}

void RecordBatch::CopyField(size_t row, size_t col, const RecordBatch& src, size_t src_row,
                            size_t src_col) {
  const Column& from = src.column(src_col);
  const size_t p = src.physical_row(src_row);
  Column& to = columns_[col];
  if (from.IsNull(p)) {
    to.SetNull(row);
    return;
  }
  switch (from.type()) {
    case Type::kBool: to.SetBool(row, from.GetBool(p)); break;
    case Type::kString:
    case Type::kBytes: to.SetLastString(from.GetString(p)); break;
    case Type::kInt32:
    case Type::kDate: to.Set<int32_t>(row, from.values<int32_t>()[p]); break;
    case Type::kInt64:
    case Type::kTimestamp:
    case Type::kDouble: to.Set<int64_t>(row, from.values<int64_t>()[p]); break;
  }
}

void RecordBatch::AppendKindsOf(const RecordBatch& src, const uint32_t* rows, size_t n,
                                size_t old) {
  const std::vector<uint8_t>& from = src.base_ ? src.base_->kinds_ : src.kinds_;
  if (from.empty()) {
    if (!kinds_.empty()) kinds_.resize(old + n, static_cast<uint8_t>(RowKind::kInsert));
    return;
  }
  if (kinds_.empty()) kinds_.assign(old, static_cast<uint8_t>(RowKind::kInsert));
  kinds_.resize(old + n);
  for (size_t k = 0; k < n; ++k) kinds_[old + k] = from[rows == nullptr ? k : rows[k]];
}

void RecordBatch::AppendRowFrom(const RecordBatch& src, size_t row) {
  const size_t p = src.physical_row(row);
  timestamps_.push_back(src.timestamps()[p]);
  PushKind(src.row_kind(row));
  const std::vector<Column>& from = src.columns();
  for (size_t c = 0; c < columns_.size(); ++c) columns_[c].AppendFrom(from[c], p);
}

RecordBatch& RecordBatch::operator=(RecordBatch&& o) noexcept {
  if (this == &o) return *this;
  if (o.base_ != nullptr || o.has_selection_) {
    AssignFrom(o);
    return *this;
  }
  schema_ = std::move(o.schema_);
  columns_ = std::move(o.columns_);
  timestamps_ = std::move(o.timestamps_);
  kinds_ = std::move(o.kinds_);
  o.kinds_.clear();
  key_groups_ = std::move(o.key_groups_);
  key_group_tag_ = o.key_group_tag_;
  o.key_groups_.clear();
  o.key_group_tag_ = 0;
  base_ = nullptr;
  has_selection_ = false;
  selection_.clear();
  return *this;
}

void RecordBatch::AssignFrom(const RecordBatch& src) {
  if (src.schema_ == nullptr) {
    *this = RecordBatch();
    return;
  }
  if (src.schema_ != schema_ || base_ != nullptr) set_schema(src.schema_);
  Clear();
  if (!src.has_selection_) {
    const std::vector<Column>& from = src.columns();
    for (size_t c = 0; c < columns_.size(); ++c) columns_[c] = from[c];
    timestamps_.assign(src.timestamps(), src.timestamps() + src.num_physical_rows());
    AppendKindsOf(src, nullptr, src.num_physical_rows(), 0);
    return;
  }
  const size_t n = src.selection_.size();
  const uint32_t* rows = src.selection_.data();
  const std::vector<Column>& from = src.columns();
  for (size_t c = 0; c < columns_.size(); ++c) columns_[c].AppendSelected(from[c], rows, n);
  timestamps_.resize(n);
  const int64_t* ts = src.timestamps();
  for (size_t k = 0; k < n; ++k) timestamps_[k] = ts[rows[k]];
  AppendKindsOf(src, rows, n, 0);
}

void RecordBatch::AppendRows(const RecordBatch& src, const uint32_t* rows, size_t n) {
  const std::vector<Column>& from = src.columns();
  for (size_t c = 0; c < columns_.size(); ++c) columns_[c].AppendSelected(from[c], rows, n);
  const int64_t* ts = src.timestamps();
  const size_t old = timestamps_.size();
  timestamps_.resize(old + n);
  for (size_t k = 0; k < n; ++k) timestamps_[old + k] = ts[rows[k]];
  AppendKindsOf(src, rows, n, old);
}

void RecordBatch::PopRow() {
  if (timestamps_.empty()) return;
  timestamps_.pop_back();
  if (!kinds_.empty()) kinds_.pop_back();
  for (Column& c : columns_) c.PopBack();
  if (key_groups_.size() > timestamps_.size()) key_groups_.pop_back();
}

void RecordBatch::ResetAsView(const RecordBatch& base) {
  const RecordBatch* root = base.base_ ? base.base_ : &base;
  if (schema_ != root->schema_) {
    schema_ = root->schema_;
    columns_.clear();
  }
  timestamps_.clear();
  kinds_.clear();
  key_groups_.clear();
  key_group_tag_ = 0;
  base_ = root;
  has_selection_ = true;
  selection_.clear();
}

void RecordBatch::Reserve(size_t rows, const RecordBatch& like) {
  timestamps_.reserve(rows);
  const std::vector<Column>& other = like.columns();
  for (size_t c = 0; c < columns_.size(); ++c) {
    columns_[c].Reserve(rows, c < other.size() ? other[c].data_buffer().size() : 0);
  }
}

size_t RecordBatch::ByteSize() const {
  size_t n = num_physical_rows() * 8 + (base_ ? base_->kinds_ : kinds_).size();
  for (const Column& c : columns()) {
    n += c.validity_buffer().size() + c.values_buffer().size() + c.data_buffer().size();
  }
  return n;
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
  if (!quote && !s.empty()) {
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
  if (b.IsNull(row, col)) return;
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
    case Type::kInt32: {
      auto r = std::to_chars(buf, buf + sizeof buf, b.GetInt32(row, col));
      out->append(buf, r.ptr);
      break;
    }
    case Type::kDate: AppendDate(b.GetInt32(row, col), out); break;
    case Type::kBytes: {
      std::string_view v = b.GetString(row, col);
      if (v.empty()) {
        out->append("\"\"");
      } else {
        out->append(absl::Base64Escape(absl::string_view(v.data(), v.size())));
      }
      break;
    }
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

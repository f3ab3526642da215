#include "runtime/formats/csv_fields.h"

#include <charconv>
#include <cstring>
#include <optional>
#include <system_error>

#include "absl/strings/escaping.h"
#include "fmt/format.h"
#include "runtime/core/time_format.h"

namespace sluice::formats::csv {
namespace {

std::string_view StripPlus(std::string_view s) {
  if (s.size() > 1 && s[0] == '+' && s[1] != '-' && s[1] != '+') s.remove_prefix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

}  // namespace

bool SplitFields(std::string_view line, char delim, std::vector<RawField>* out,
                 std::string* reason) {
  out->clear();
  const char* data = line.data();
  const size_t n = line.size();
  size_t i = 0;
  for (;;) {
    if (i < n && data[i] == '"') {
      size_t j = i + 1;
      bool escaped = false;
      for (;;) {
        const void* q = j < n ? std::memchr(data + j, '"', n - j) : nullptr;
        if (q == nullptr) {
          *reason = fmt::format("column {}: quoted field has no closing quote", out->size() + 1);
          return false;
        }
        size_t k = static_cast<const char*>(q) - data;
        if (k + 1 < n && data[k + 1] == '"') {
          escaped = true;
          j = k + 2;
          continue;
        }
        out->push_back({line.substr(i + 1, k - i - 1), escaped, true});
        i = k + 1;
        break;
      }
      if (i == n) return true;
      if (data[i] != delim) {
        *reason = fmt::format(
            "column {}: expected '{}' or end of line after the closing quote, "
            "found '{}'",
            out->size(), delim, data[i]);
        return false;
      }
      ++i;
      continue;
    }
    const void* d = i < n ? std::memchr(data + i, delim, n - i) : nullptr;
    if (d == nullptr) {
      out->push_back({line.substr(i), false, false});
      return true;
    }
    size_t k = static_cast<const char*>(d) - data;
    out->push_back({line.substr(i, k - i), false, false});
    i = k + 1;
  }
}

std::string_view Unescape(const RawField& f, std::string* scratch) {
  if (!f.escaped) return f.text;
  scratch->clear();
  for (size_t i = 0; i < f.text.size(); ++i) {
    scratch->push_back(f.text[i]);
    if (f.text[i] == '"') ++i;  // the second quote of a "" pair
  }
  return *scratch;
}

bool ParseInt64(std::string_view s, int64_t* v) {
  s = StripPlus(s);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

bool ParseInt32(std::string_view s, int32_t* v) {
  s = StripPlus(s);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

bool ParseDouble(std::string_view s, double* v) {
  s = StripPlus(s);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

bool ParseBool(std::string_view s, bool* v) {
  if (s == "1" || EqualsIgnoreCase(s, "true")) {
    *v = true;
    return true;
  }
  if (s == "0" || EqualsIgnoreCase(s, "false")) {
    *v = false;
    return true;
  }
  return false;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view Clip(std::string_view s) { return s.size() > 64 ? s.substr(0, 64) : s; }
const char* ClipSuffix(std::string_view s) { return s.size() > 64 ? "..." : ""; }

std::string BadFieldReason(const core::Field& field, size_t col, std::string_view text) {
  return fmt::format("field '{}' (column {}): '{}{}' is not a valid {}{}", field.name, col + 1,
                     Clip(text), ClipSuffix(text), core::TypeName(field.type),
                     field.type == core::Type::kTimestamp
                         ? " (expected ISO-8601, e.g. 2001-01-01T00:01:00Z)"
                     : field.type == core::Type::kDate  ? " (expected YYYY-MM-DD)"
                     : field.type == core::Type::kBytes ? " (expected base64)"
                                                        : "");
}

namespace {

// Appends `text` parsed as `type` to column *c; false (nothing appended) if it is not valid.
bool AppendValue(core::Column* c, core::Type type, std::string_view text) {
  switch (type) {
    case core::Type::kInt64: {
      int64_t v = 0;
      if (!ParseInt64(text, &v)) return false;
      c->Append<int64_t>(v);
      return true;
    }
    case core::Type::kDouble: {
      double v = 0;
      if (!ParseDouble(text, &v)) return false;
      c->Append<double>(v);
      return true;
    }
    case core::Type::kString: c->AppendString(text); return true;
    case core::Type::kTimestamp: {
      std::optional<int64_t> v = core::ParseTimestamp(text);
      if (!v.has_value()) return false;
      c->Append<int64_t>(*v);
      return true;
    }
    case core::Type::kInt32: {
      int32_t v = 0;
      if (!ParseInt32(text, &v)) return false;
      c->Append<int32_t>(v);
      return true;
    }
    case core::Type::kDate: {
      std::optional<int32_t> v = core::ParseDate(text);
      if (!v.has_value()) return false;
      c->Append<int32_t>(*v);
      return true;
    }
    case core::Type::kBool:
    case core::Type::kBytes: {
      // Rare types: through a row slot.
      c->AppendDefault();
      if (type == core::Type::kBool) {
        bool v = false;
        if (!ParseBool(text, &v)) {
          c->PopBack();
          return false;
        }
        c->SetBool(c->length() - 1, v);
        return true;
      }
      std::string decoded;
      if (!absl::Base64Unescape(absl::string_view(text.data(), text.size()), &decoded)) {
        c->PopBack();
        return false;
      }
      c->SetLastString(decoded);
      return true;
    }
  }
  return false;
}

}  // namespace

namespace {

// Appends the split fields as a row of *batch's schema: schema field c from fields[columns[c]]
// (columns null: fields[c]).
bool AppendFields(const std::vector<RawField>& fields, const size_t* columns,
                  core::RecordBatch* batch, std::string* scratch, std::string* reason,
                  const std::optional<std::string>& null_literal) {
  const core::Schema& schema = batch->schema();
  // Column by column straight into the columns; a bad field takes back what was appended.
  for (size_t c = 0; c < schema.num_fields(); ++c) {
    const RawField& raw = fields[columns != nullptr ? columns[c] : c];
    core::Column& column = batch->mutable_column(c);
    if (null_literal.has_value() && !raw.quoted && raw.text == *null_literal) {
      column.AppendNull();
      continue;
    }
    std::string_view text = Unescape(raw, scratch);
    const core::Field& field = schema.field(c);
    if (!AppendValue(&column, field.type, text)) {
      for (size_t k = 0; k < c; ++k) batch->mutable_column(k).PopBack();
      *reason = BadFieldReason(field, columns != nullptr ? columns[c] : c, text);
      return false;
    }
  }
  batch->AppendTimestamp(core::kNoTimestamp);
  return true;
}

}  // namespace

bool AppendCsvRow(std::string_view line, char delim, core::RecordBatch* batch,
                  std::vector<RawField>* fields, std::string* scratch, std::string* reason,
                  const std::optional<std::string>& null_literal) {
  if (!SplitFields(line, delim, fields, reason)) return false;
  const core::Schema& schema = batch->schema();
  if (fields->size() != schema.num_fields()) {
    *reason = fmt::format("expected {} fields, found {}", schema.num_fields(), fields->size());
    return false;
  }
  return AppendFields(*fields, nullptr, batch, scratch, reason, null_literal);
}

bool AppendCsvRowProjected(std::string_view line, char delim,
                           const std::vector<size_t>& columns, size_t num_line_fields,
                           core::RecordBatch* batch, std::vector<RawField>* fields,
                           std::string* scratch, std::string* reason,
                           const std::optional<std::string>& null_literal) {
  if (!SplitFields(line, delim, fields, reason)) return false;
  if (fields->size() != num_line_fields) {
    *reason = fmt::format("expected {} fields, found {}", num_line_fields, fields->size());
    return false;
  }
  return AppendFields(*fields, columns.data(), batch, scratch, reason, null_literal);
}

}  // namespace sluice::formats::csv

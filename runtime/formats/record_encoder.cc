#include "runtime/formats/record_encoder.h"

#include <charconv>
#include <cmath>
#include <string>

#include "absl/strings/escaping.h"
#include "runtime/base/status.h"
#include "runtime/core/time_format.h"

namespace sluice::formats {
namespace {

void AppendNumber(int64_t v, std::string* out) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

void AppendNumber(double v, std::string* out) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default:
        if (c < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xf]);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

}  // namespace

absl::StatusOr<std::unique_ptr<RecordEncoder>> RecordEncoder::Create(
    core::SchemaPtr schema, const RecordFormatOptions& opts,
    const std::vector<std::string>& key_fields) {
  if (schema == nullptr || schema->num_fields() == 0) {
    return InvalidArgumentF("kafka sink: the {} format needs a schema with at least one field",
                            RecordFormatName(opts.format));
  }
  if (opts.format == RecordFormat::kRaw &&
      (schema->num_fields() != 1 || schema->field(0).type != core::Type::kString)) {
    return InvalidArgumentF(
        "kafka sink: the raw format needs a schema of exactly one string field, got ({})",
        schema->ToString());
  }
  const char d = opts.csv_delimiter;
  if (d == '"' || d == '\n' || d == '\r' || d == '\0') {
    return InvalidArgumentF("kafka sink: csv delimiter must not be '\"', a newline or NUL");
  }
  std::vector<size_t> key_columns;
  for (const std::string& name : key_fields) {
    int c = schema->FindField(name);
    if (c < 0) {
      return InvalidArgumentF("kafka sink: key field '{}' is not in the schema ({})", name,
                              schema->ToString());
    }
    key_columns.push_back(static_cast<size_t>(c));
  }
  std::unique_ptr<AvroRowWriter> avro;
  if (opts.format == RecordFormat::kAvro || opts.format == RecordFormat::kAvroConfluent) {
    ASSIGN_OR_RETURN(avro, AvroRowWriter::Create(schema, opts));
  }
  return std::unique_ptr<RecordEncoder>(
      new RecordEncoder(std::move(schema), opts, std::move(key_columns), std::move(avro)));
}

absl::Status RecordEncoder::EncodeValue(const core::RecordBatch& batch, size_t row,
                                        std::string* out) {
  out->clear();
  const size_t n = schema_->num_fields();
  switch (opts_.format) {
    case RecordFormat::kRaw: out->append(batch.GetString(row, 0)); return absl::OkStatus();
    case RecordFormat::kAvro:
    case RecordFormat::kAvroConfluent: return avro_->Encode(batch, row, out);
    case RecordFormat::kCsv:
      for (size_t c = 0; c < n; ++c) {
        if (c) out->push_back(opts_.csv_delimiter);
        core::AppendCsvValue(batch, row, c, out, opts_.csv_delimiter);
      }
      return absl::OkStatus();
    case RecordFormat::kJson:
      out->push_back('{');
      for (size_t c = 0; c < n; ++c) {
        const core::Field& f = schema_->field(c);
        if (c) out->push_back(',');
        AppendJsonString(f.name, out);
        out->push_back(':');
        if (batch.IsNull(row, c)) {
          out->append("null");
          continue;
        }
        switch (f.type) {
          case core::Type::kInt32: AppendNumber(int64_t{batch.GetInt32(row, c)}, out); break;
          case core::Type::kDate:
            out->push_back('"');
            core::AppendDate(batch.GetInt32(row, c), out);
            out->push_back('"');
            break;
          case core::Type::kBytes: {
            std::string_view v = batch.GetString(row, c);
            AppendJsonString(absl::Base64Escape(absl::string_view(v.data(), v.size())), out);
            break;
          }
          case core::Type::kInt64: AppendNumber(batch.GetInt64(row, c), out); break;
          case core::Type::kDouble: {
            const double v = batch.GetDouble(row, c);
            if (!std::isfinite(v)) {
              return InvalidArgumentF("field '{}': {} has no JSON representation", f.name,
                                      std::isnan(v) ? "NaN" : "an infinite value");
            }
            AppendNumber(v, out);
            break;
          }
          case core::Type::kBool: out->append(batch.GetBool(row, c) ? "true" : "false"); break;
          case core::Type::kTimestamp:
            out->push_back('"');
            core::AppendTimestamp(batch.GetInt64(row, c), out);
            out->push_back('"');
            break;
          case core::Type::kString: AppendJsonString(batch.GetString(row, c), out); break;
        }
      }
      out->push_back('}');
      return absl::OkStatus();
  }
  return InternalF("kafka sink: unknown format {}", static_cast<int>(opts_.format));
}

bool RecordEncoder::EncodeKey(const core::RecordBatch& batch, size_t row, std::string* out) const {
  out->clear();
  if (key_columns_.empty()) return false;
  for (size_t i = 0; i < key_columns_.size(); ++i) {
    if (i) out->push_back(opts_.csv_delimiter);
    core::AppendCsvValue(batch, row, key_columns_[i], out, opts_.csv_delimiter);
  }
  return true;
}

}  // namespace sluice::formats

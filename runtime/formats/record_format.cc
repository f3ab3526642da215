#include "runtime/formats/record_format.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "runtime/base/status.h"
#include "runtime/formats/avro_format.h"
#include "runtime/formats/csv_fields.h"
#include "runtime/core/time_format.h"

namespace sluice::formats {
namespace {

namespace ondemand = simdjson::ondemand;

// ---- csv ------------------------------------------------------------------------------------

class CsvDecoder final : public RecordDecoder {
 public:
  CsvDecoder(char delimiter, std::string null_literal)
      : RecordDecoder(RecordFormat::kCsv), delim_(delimiter), null_literal_(std::move(null_literal)) {}

  absl::Status Decode(std::string_view value, core::RecordBatch* batch) override {
    if (!value.empty() && value.back() == '\n') {
      value.remove_suffix(1);
      if (!value.empty() && value.back() == '\r') value.remove_suffix(1);
    }
    if (!formats::csv::AppendCsvRow(value, delim_, batch, &fields_, &scratch_, &reason_,
                                      null_literal_)) {
      return absl::InvalidArgumentError(reason_);
    }
    return absl::OkStatus();
  }

 private:
  char delim_;
  std::optional<std::string> null_literal_;
  std::vector<formats::csv::RawField> fields_;  // reused per message
  std::string scratch_;                // reused for "" escapes
  std::string reason_;
};

// ---- raw ------------------------------------------------------------------------------------

class RawDecoder final : public RecordDecoder {
 public:
  RawDecoder() : RecordDecoder(RecordFormat::kRaw) {}
  absl::Status Decode(std::string_view value, core::RecordBatch* batch) override {
    size_t row = batch->AppendRow();
    batch->SetString(row, 0, value);
    return absl::OkStatus();
  }
};

// ---- json -----------------------------------------------------------------------------------

std::string_view JsonTypeName(ondemand::json_type t) {
  switch (t) {
    case ondemand::json_type::array:
      return "array";
    case ondemand::json_type::object:
      return "object";
    case ondemand::json_type::number:
      return "number";
    case ondemand::json_type::string:
      return "string";
    case ondemand::json_type::boolean:
      return "boolean";
    case ondemand::json_type::null:
      return "null";
  }
  return "value";
}

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool IsIntegerLiteral(std::string_view s) {
  if (!s.empty() && s.front() == '-') s.remove_prefix(1);
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

absl::Status InvalidJson(simdjson::error_code err) {
  return InvalidArgumentF("invalid JSON: {}", simdjson::error_message(err));
}

class JsonDecoder final : public RecordDecoder {
 public:
  explicit JsonDecoder(core::SchemaPtr schema)
      : RecordDecoder(RecordFormat::kJson),
        schema_(std::move(schema)),
        seen_(schema_->num_fields(), 0) {}

  absl::Status Decode(std::string_view value, core::RecordBatch* batch) override {
    const size_t row = batch->AppendRow();
    absl::Status st = DecodeInto(value, batch, row);
    if (!st.ok()) batch->PopRow();
    return st;
  }

 private:
  absl::Status DecodeInto(std::string_view value, core::RecordBatch* batch, size_t row) {
    // simdjson reads up to SIMDJSON_PADDING bytes past the input: copy into a buffer that has
    // them (grown, never shrunk).
    const size_t need = value.size() + simdjson::SIMDJSON_PADDING;
    if (padded_.size() < need) padded_.resize(std::max(need, 2 * padded_.size()), '\0');
    if (!value.empty()) std::memcpy(padded_.data(), value.data(), value.size());
    ondemand::document doc;
    simdjson::error_code err =
        parser_.iterate(padded_.data(), value.size(), padded_.size()).get(doc);
    if (err) return InvalidJson(err);
    ondemand::object obj;
    err = doc.get_object().get(obj);
    if (err) {
      ondemand::json_type t;
      if (err == simdjson::INCORRECT_TYPE && !doc.type().get(t)) {
        return InvalidArgumentF("expected a JSON object, found {}", JsonTypeName(t));
      }
      return InvalidJson(err);
    }
    std::fill(seen_.begin(), seen_.end(), 0);
    size_t hint = 0;
    for (auto member : obj) {
      ondemand::field field;
      if ((err = std::move(member).get(field))) return InvalidJson(err);
      std::string_view key;
      if ((err = field.unescaped_key().get(key))) return InvalidJson(err);
      int col = Lookup(key, &hint);
      if (col < 0) continue;  // not in the schema: the iterator skips the value
      if (seen_[col]) {
        return InvalidArgumentF("field '{}' appears twice", schema_->field(col).name);
      }
      seen_[col] = 1;
      RETURN_IF_ERROR(SetField(field.value(), static_cast<size_t>(col), batch, row));
    }
    // After the root object, only whitespace may follow; current_location() answers
    // OUT_OF_BOUNDS at the end of the input and points at the next token otherwise.
    const char* rest = nullptr;
    if (!doc.current_location().get(rest)) {
      return InvalidArgumentF("unexpected content after the JSON object");
    }
    for (size_t c = 0; c < seen_.size(); ++c) {
      if (!seen_[c]) batch->SetNull(row, c);  // a missing member is null
    }
    return absl::OkStatus();
  }

  // The schema column named `key`, or -1. Members usually arrive in schema order: try the
  // column after the previous match first.
  int Lookup(std::string_view key, size_t* hint) const {
    const size_t n = schema_->num_fields();
    if (*hint < n && schema_->field(*hint).name == key) return static_cast<int>((*hint)++);
    for (size_t c = 0; c < n; ++c) {
      if (schema_->field(c).name == key) {
        *hint = c + 1;
        return static_cast<int>(c);
      }
    }
    return -1;
  }

  absl::Status Mismatch(const core::Field& field, ondemand::value& v, ondemand::json_type t) {
    if (t == ondemand::json_type::object || t == ondemand::json_type::array) {
      return InvalidArgumentF("field '{}': expected {}, found {}", field.name,
                              core::TypeName(field.type), JsonTypeName(t));
    }
    std::string_view token = TrimRight(v.raw_json_token());
    return InvalidArgumentF("field '{}': expected {}, found {} {}{}", field.name,
                            core::TypeName(field.type), JsonTypeName(t), formats::csv::Clip(token),
                            formats::csv::ClipSuffix(token));
  }

  absl::Status SetField(ondemand::value& v, size_t col, core::RecordBatch* batch, size_t row) {
    const core::Field& field = schema_->field(col);
    simdjson::error_code err = simdjson::SUCCESS;
    ondemand::json_type t;
    if ((err = v.type().get(t))) return InvalidJson(err);
    if (t == ondemand::json_type::null) {
      batch->SetNull(row, col);
      return absl::OkStatus();
    }
    switch (field.type) {
      case core::Type::kInt32: {
        if (t != ondemand::json_type::number) return Mismatch(field, v, t);
        int64_t x = 0;
        if (v.get_int64().get(x) || x < INT32_MIN || x > INT32_MAX) {
          std::string_view token = TrimRight(v.raw_json_token());
          if (IsIntegerLiteral(token)) {
            return InvalidArgumentF("field '{}': {}{} is out of the int32 range", field.name,
                                    formats::csv::Clip(token), formats::csv::ClipSuffix(token));
          }
          return Mismatch(field, v, t);
        }
        batch->SetInt32(row, col, static_cast<int32_t>(x));
        return absl::OkStatus();
      }
      case core::Type::kDate: {
        if (t != ondemand::json_type::string) return Mismatch(field, v, t);
        std::string_view s;
        if ((err = v.get_string().get(s))) return InvalidJson(err);
        std::optional<int32_t> days = core::ParseDate(s);
        if (!days.has_value()) {
          return InvalidArgumentF("field '{}': \"{}{}\" is not a valid date (expected YYYY-MM-DD)",
                                  field.name, formats::csv::Clip(s), formats::csv::ClipSuffix(s));
        }
        batch->SetInt32(row, col, *days);
        return absl::OkStatus();
      }
      case core::Type::kBytes: {
        if (t != ondemand::json_type::string) return Mismatch(field, v, t);
        std::string_view s;
        if ((err = v.get_string().get(s))) return InvalidJson(err);
        if (!absl::Base64Unescape(absl::string_view(s.data(), s.size()), &bytes_scratch_)) {
          return InvalidArgumentF("field '{}': \"{}{}\" is not valid base64", field.name,
                                  formats::csv::Clip(s), formats::csv::ClipSuffix(s));
        }
        batch->SetString(row, col, bytes_scratch_);
        return absl::OkStatus();
      }
      case core::Type::kInt64: {
        if (t != ondemand::json_type::number) return Mismatch(field, v, t);
        int64_t x = 0;
        if (v.get_int64().get(x)) {
          // An integer literal that does not fit, or a fraction/exponent (a mismatch).
          std::string_view token = TrimRight(v.raw_json_token());
          if (IsIntegerLiteral(token)) {
            return InvalidArgumentF("field '{}': {}{} is out of the int64 range", field.name,
                                    formats::csv::Clip(token), formats::csv::ClipSuffix(token));
          }
          return Mismatch(field, v, t);
        }
        batch->SetInt64(row, col, x);
        return absl::OkStatus();
      }
      case core::Type::kDouble: {
        if (t != ondemand::json_type::number) return Mismatch(field, v, t);
        double x = 0;
        if ((err = v.get_double().get(x))) return InvalidJson(err);
        batch->SetDouble(row, col, x);
        return absl::OkStatus();
      }
      case core::Type::kString: {
        if (t != ondemand::json_type::string) return Mismatch(field, v, t);
        std::string_view s;
        if ((err = v.get_string().get(s))) return InvalidJson(err);
        batch->SetString(row, col, s);
        return absl::OkStatus();
      }
      case core::Type::kBool: {
        if (t != ondemand::json_type::boolean) return Mismatch(field, v, t);
        bool b = false;
        if ((err = v.get_bool().get(b))) return InvalidJson(err);
        batch->SetBool(row, col, b);
        return absl::OkStatus();
      }
      case core::Type::kTimestamp: {
        if (t == ondemand::json_type::string) {
          std::string_view s;
          if ((err = v.get_string().get(s))) return InvalidJson(err);
          std::optional<int64_t> ms = core::ParseTimestamp(s);
          if (!ms.has_value()) {
            return InvalidArgumentF(
                "field '{}': \"{}{}\" is not a valid timestamp (expected ISO-8601, e.g. "
                "2001-01-01T00:01:00Z, or an integer of epoch milliseconds)",
                field.name, formats::csv::Clip(s), formats::csv::ClipSuffix(s));
          }
          batch->SetInt64(row, col, *ms);
          return absl::OkStatus();
        }
        if (t == ondemand::json_type::number) {
          int64_t x = 0;
          if (!v.get_int64().get(x)) {
            batch->SetInt64(row, col, x);
            return absl::OkStatus();
          }
        }
        return Mismatch(field, v, t);
      }
    }
    return InternalF("field '{}': unknown type", field.name);
  }

  core::SchemaPtr schema_;
  ondemand::parser parser_;
  std::string padded_;         // the value plus SIMDJSON_PADDING bytes, reused
  std::vector<uint8_t> seen_;  // per schema field: member seen in this object
  std::string bytes_scratch_;  // a decoded base64 value
};

}  // namespace

std::string_view RecordFormatName(RecordFormat format) {
  switch (format) {
    case RecordFormat::kCsv:
      return "csv";
    case RecordFormat::kJson:
      return "json";
    case RecordFormat::kRaw:
      return "raw";
    case RecordFormat::kAvro:
      return "avro";
    case RecordFormat::kAvroConfluent:
      return "avro-confluent";
  }
  return "unknown";
}

absl::StatusOr<RecordFormat> ParseRecordFormat(std::string_view name) {
  if (name == "csv") return RecordFormat::kCsv;
  if (name == "json") return RecordFormat::kJson;
  if (name == "raw") return RecordFormat::kRaw;
  if (name == "avro") return RecordFormat::kAvro;
  if (name == "avro-confluent") return RecordFormat::kAvroConfluent;
  return InvalidArgumentF("unknown format '{}'; expected csv, json, raw, avro or avro-confluent",
                          name);
}

absl::StatusOr<std::unique_ptr<RecordDecoder>> RecordDecoder::Create(
    core::SchemaPtr schema, const RecordFormatOptions& opts) {
  const std::string_view name = RecordFormatName(opts.format);
  if (schema == nullptr || schema->num_fields() == 0) {
    return InvalidArgumentF("format {}: no schema (at least one field is required)", name);
  }
  switch (opts.format) {
    case RecordFormat::kCsv:
      if (opts.csv_delimiter == '"' || opts.csv_delimiter == '\n' || opts.csv_delimiter == '\r') {
        return InvalidArgumentF("format csv: delimiter cannot be a quote or line break");
      }
      return std::unique_ptr<RecordDecoder>(new CsvDecoder(opts.csv_delimiter, opts.csv_null_literal));
    case RecordFormat::kJson:
      for (size_t a = 0; a < schema->num_fields(); ++a) {
        for (size_t b = a + 1; b < schema->num_fields(); ++b) {
          if (schema->field(a).name == schema->field(b).name) {
            return InvalidArgumentF("format json: the schema names field '{}' twice",
                                    schema->field(a).name);
          }
        }
      }
      return std::unique_ptr<RecordDecoder>(new JsonDecoder(std::move(schema)));
    case RecordFormat::kRaw:
      if (schema->num_fields() != 1 || schema->field(0).type != core::Type::kString) {
        return InvalidArgumentF(
            "format raw: the schema must be exactly one string field (it gets the message "
            "bytes), found [{}]",
            schema->ToString());
      }
      return std::unique_ptr<RecordDecoder>(new RawDecoder());
    case RecordFormat::kAvro:
    case RecordFormat::kAvroConfluent:
      return CreateAvroDecoder(std::move(schema), opts);
  }
  return InvalidArgumentF("unknown format {}", static_cast<int>(opts.format));
}

}  // namespace sluice::formats

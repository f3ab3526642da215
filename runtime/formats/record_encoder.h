#pragma once
// Value formats of the Kafka sink: encoding one row of a core::RecordBatch into one Kafka
// message value or key (Flink's SerializationSchema of the `csv`, `json` and `raw` formats).
// The inverse of record_format.h: what the encoder writes, the source's decoder reads back.
//
// Formats:
//   - `csv`: the row's fields in schema order, as one line of the CSV file sink
//     (RecordBatch::AppendCsvLine: RFC 4180 quoting of strings that contain the delimiter, '"',
//     '\n' or '\r'; numbers in shortest round-trip form; bools true/false; timestamps ISO-8601
//     UTC with milliseconds), separated by `csv_delimiter`, WITHOUT the trailing newline (one
//     message is one line; Flink's csv format writes no line separator either).
//   - `json`: one JSON object (RFC 8259) with a member per field, named like the field, in
//     schema order: int64 -> integer, double -> number (shortest round-trip), string -> string
//     (escaped: '"', '\\' and control characters), bool -> true/false, timestamp -> ISO-8601
//     string (the source reads it back). NaN and infinities have no JSON form: InvalidArgument.
//   - `raw`: the schema must be exactly one string field; the value is its bytes unchanged.
//   - `avro`, `avro-confluent`: avro_format.h (AvroRowWriter); Create registers the schema with
//     the registry for avro-confluent (network I/O, once).
//
// Keys (`KafkaSinkOptions::key_fields`): the selected fields encoded like `csv` (same
// delimiter), whatever the value format; see EncodeKey.
//
// Errors: Create returns InvalidArgument for a schema that does not suit the format (none,
// empty, raw not one string field, bad delimiter, unknown key field). Encode returns
// InvalidArgument "field 'x': <reason>" (json NaN/inf only); the caller adds topic and row.
//
// Performance: appends into a caller-owned reused string; no allocation per row in steady state.
// Threading: one encoder per sink subtask, used by its Task thread (the Avro writer keeps a
// reused value).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/formats/avro_format.h"
#include "runtime/formats/record_format.h"
#include "runtime/core/record_batch.h"
#include "runtime/core/types.h"

namespace sluice::formats {

class RecordEncoder {
 public:
  // `key_fields`: names of the fields that form the message key (may be empty: no key).
  static absl::StatusOr<std::unique_ptr<RecordEncoder>> Create(
      core::SchemaPtr schema, const RecordFormatOptions& opts,
      const std::vector<std::string>& key_fields = {});

  // Replaces *out with the value of `row` of `batch` (whose schema must be the encoder's).
  absl::Status EncodeValue(const core::RecordBatch& batch, size_t row, std::string* out);
  // Replaces *out with the key of `row`: the key fields as a csv line. False when there are no
  // key fields (the message has no key).
  bool EncodeKey(const core::RecordBatch& batch, size_t row, std::string* out) const;

  RecordFormat format() const { return opts_.format; }
  bool has_key() const { return !key_columns_.empty(); }

 private:
  RecordEncoder(core::SchemaPtr schema, RecordFormatOptions opts, std::vector<size_t> key_columns,
                std::unique_ptr<AvroRowWriter> avro)
      : schema_(std::move(schema)), opts_(std::move(opts)), key_columns_(std::move(key_columns)),
        avro_(std::move(avro)) {}

  core::SchemaPtr schema_;
  RecordFormatOptions opts_;
  std::vector<size_t> key_columns_;
  std::unique_ptr<AvroRowWriter> avro_;  // avro and avro-confluent only
};

}  // namespace sluice::formats

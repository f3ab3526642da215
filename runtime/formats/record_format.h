#pragma once
// Value formats of the Kafka source: decoding one Kafka message value into one row of a
// core::RecordBatch (Flink's DeserializationSchema of the `csv`, `json` and `raw` formats).
//
// Formats:
//   - `csv`: the value is one CSV line of the schema's fields, in schema order, parsed exactly
//     as a line of the CSV file source (runtime/formats/csv_fields.h: RFC 4180 quoting,
//     `delimiter`, the same value syntax per type, timestamps ISO-8601). One trailing "\n" or
//     "\r\n" is ignored (producers such as `kcat -P` strip it already). No header.
//   - `json`: the value is one JSON object (RFC 8259); each schema field is read from the member
//     of the same name (case-sensitive). Members the schema does not name are ignored (and not
//     validated beyond what skipping them needs). Values by field type, strictly:
//       int64      a JSON integer in [-2^63, 2^63)
//       double     any JSON number
//       string     a JSON string (escapes resolved)
//       bool       true or false
//       timestamp  a JSON string in ISO-8601 (runtime/core/time_format.h), or a JSON integer
//                  of milliseconds since the epoch
//       int32      a JSON integer in [-2^31, 2^31)
//       date       a JSON string YYYY-MM-DD
//       bytes      a JSON string in base64
//     A JSON null or a missing member is a null field, for every type. Anything else is a type
//     mismatch.
//   - `raw`: the schema must be exactly one string field; it gets the value's bytes unchanged
//     (Flink's `raw` format).
//   - `avro`, `avro-confluent`: Avro's binary encoding, without or with Confluent's schema
//     registry header (avro_format.h).
//
// Errors: Decode returns InvalidArgument whose message is only the reason, for the caller to
// prefix with topic, partition and offset, e.g.
//   csv:  "field 'delay' (column 2): 'abc' is not a valid int64", "expected 5 fields, found 4"
//   json: "field 'delay': expected int64, found string \"abc\"", "field 'delay' appears twice",
//         "invalid JSON: <simdjson's reason>", "expected a JSON object, found array",
//         "unexpected content after the JSON object"
// On error the batch is left with the rows it had (its string arena may keep a few unused
// bytes until the next Clear()).
//
// Performance: no per-record heap allocation in steady state. CSV splits into reused views;
// JSON copies the value into one reused padded buffer (simdjson needs SIMDJSON_PADDING
// readable bytes after the input) and walks it with simdjson's On-Demand API, once, looking
// fields up by name with a positional hint (members usually come in schema order).
//
// Threading: a decoder keeps parse buffers; one per source subtask, used by its Task thread.

#include <cstdint>
#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/core/record_batch.h"
#include "runtime/core/types.h"

namespace sluice::formats {

enum class RecordFormat : uint8_t { kCsv = 0, kJson = 1, kRaw = 2, kAvro = 3, kAvroConfluent = 4 };

// "csv", "json", "raw", "avro", "avro-confluent" (the job-spec names).
std::string_view RecordFormatName(RecordFormat format);
// Parses a job-spec format name; InvalidArgument naming the accepted ones otherwise.
absl::StatusOr<RecordFormat> ParseRecordFormat(std::string_view name);

struct RecordFormatOptions {
  RecordFormat format = RecordFormat::kCsv;
  // `csv` only: the field delimiter (one byte; not '"', '\n' or '\r'). Default ','.
  char csv_delimiter = ',';
  // `csv` only: the unquoted field text read as null (YAML `null-literal`); default the empty
  // field (formats/csv_fields.h).
  std::string csv_null_literal;
  // `avro-confluent` only: the schema registry's URL ("http://host:8081"; required) and HTTP
  // basic auth "user:password" (optional); formats/schema_registry.h.
  std::string schema_registry_url;
  std::string schema_registry_user_info;
  // `avro-confluent` sinks only: the subject the row schema is registered under (Confluent's
  // TopicNameStrategy: "<topic>-value"; the Kafka sink fills that in when empty).
  std::string schema_registry_subject;
};

// Decodes message values into rows of one schema. Create one per source subtask.
class RecordDecoder {
 public:
  virtual ~RecordDecoder() = default;

  // Checks that `schema` suits the format: InvalidArgument for no schema, an empty schema, a
  // schema with a field name twice (json), a `raw` schema that is not one string field, or a
  // bad CSV delimiter.
  static absl::StatusOr<std::unique_ptr<RecordDecoder>> Create(core::SchemaPtr schema,
                                                               const RecordFormatOptions& opts);

  // Appends the row decoded from `value` to *batch, whose schema must be the decoder's, with
  // timestamp core::kNoTimestamp. On a bad value returns InvalidArgument (reason only, see the
  // file comment) and leaves *batch's rows as they were.
  virtual absl::Status Decode(std::string_view value, core::RecordBatch* batch) = 0;

  RecordFormat format() const { return format_; }

 protected:
  explicit RecordDecoder(RecordFormat format) : format_(format) {}

 private:
  RecordFormat format_;
};

}  // namespace sluice::formats

#pragma once
// Avro schemas of rows: the schema Sluice writes for a row type, the columns an Avro record
// schema (e.g. one from a schema registry) describes, and whether a writer's schema can be read
// as a row type. Used by the `avro` and `avro-confluent` formats (avro_format.h) and by the SQL
// catalog (columns from a registry subject, field-level checks before deployment).
//
// Type mapping (Flink's AvroSchemaConverter, org.apache.flink.formats.avro.typeutils):
//   core type   Avro (written)                             Avro read into it
//   int32       int                                        int
//   int64       long                                       int, long
//   double      double                                     int, long, float, double
//   string      string                                     string, enum (its symbol)
//   bool        boolean                                    boolean
//   bytes       bytes                                      bytes, fixed
//   date        {"type":"int","logicalType":"date"}        int with logicalType date
//   timestamp   {"type":"long","logicalType":"timestamp-millis"}
//                                                          long with logicalType timestamp-millis
//                                                          or local-timestamp-millis
// Every written field is nullable, `["null", T]` with `"default": null` (a core::Schema carries
// no NOT NULL), in a record named `record` of namespace `org.apache.flink.avro.generated`, as
// Flink writes it. A written field `T` or `["null", T]` (either order) reads as the column type
// above; any other union, and arrays, maps, nested records and other logical types (decimal,
// uuid, *-micros, time-*) have no column type: they are errors naming the field when a column
// reads them, and ignored otherwise (a reader skips fields it does not name).
//
// Errors: InvalidArgument naming the field and both types, e.g.
//   "field 'price': the schema's type \"string\" cannot be read as int64 (readable: int, long)".
// Thread safety: pure functions.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "runtime/core/types.h"

namespace sluice::formats {

// One field of an Avro record schema, as far as a row needs it.
struct AvroField {
  std::string name;
  // The field's type with any null branch removed, as written in the schema (for messages),
  // e.g. "long", "{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}".
  std::string type_json;
  // The column type it reads as, or nullopt when there is none (see the file comment).
  std::optional<core::Type> type;
  bool nullable = false;  // a union with "null"
  // Which Avro types it may be read into: the primitive name ("int", "long", "float", ...,
  // "enum", "fixed") or "date" / "timestamp-millis" for those logical types.
  std::string avro_kind;
};

struct AvroRecordSchema {
  std::string name;        // the record's name
  std::string namespace_;  // its namespace, "" if none
  std::vector<AvroField> fields;
};

// Parses an Avro schema (JSON text) that must be a record. InvalidArgument for invalid JSON, a
// schema that is not a record, or a field without name or type.
absl::StatusOr<AvroRecordSchema> ParseAvroRecordSchema(std::string_view schema_json);

// The schema Sluice writes for rows of `schema` (see the file comment), as compact JSON.
// `name`/`namespace_`: the record's name (default Flink's `record` in
// `org.apache.flink.avro.generated`).
std::string AvroSchemaJson(const core::Schema& schema, std::string_view name = "record",
                           std::string_view namespace_ = "org.apache.flink.avro.generated");

// The row columns a record schema describes, in its field order; InvalidArgument naming the
// first field without a column type.
absl::StatusOr<std::vector<core::Field>> AvroColumns(const AvroRecordSchema& record);

// Checks that records written with `writer` can be read as rows of `reader`: every reader
// column the writer has must be readable as the column's type (table above). Columns the writer
// lacks read as null (Flink's reader schema gives every nullable field a null default), unless
// `columns_must_exist` (the SQL catalog's check against a registry subject's latest schema:
// a declared column the schema lacks is then an error). Returns the InvalidArgument of the
// first mismatch.
absl::Status CheckAvroReadable(const AvroRecordSchema& writer, const core::Schema& reader,
                               bool columns_must_exist = false);

// Whether an Avro kind (AvroField::avro_kind) reads as a column type.
bool AvroReadsAs(std::string_view avro_kind, core::Type type);

}  // namespace sluice::formats

#pragma once
// The `avro` and `avro-confluent` formats of Kafka messages (Flink's flink-avro and
// flink-avro-confluent-registry formats), on Apache Avro's C library (avro-c, libavro-dev).
//
//   - `avro`: the message value is one record in Avro's binary encoding, written with the schema
//     derived from the row type (avro_schema.h: AvroSchemaJson), nothing before or after it.
//     Reader and writer must agree on that schema, as in Flink's `avro` format.
//   - `avro-confluent`: Confluent's wire format: byte 0x00 (magic), the writer schema's id in a
//     schema registry (4 bytes, big-endian), then the record in Avro's binary encoding.
//     Decoding fetches each new id's schema from the registry once (SchemaRegistryClient caches
//     it), checks that it can be read as the row type (CheckAvroReadable) and resolves it
//     against the row's reader schema (Avro schema resolution: field order, type promotion
//     int->long->double, fields the row does not name are skipped, columns the writer lacks are
//     null). Encoding registers the row type's schema under the sink's subject once, at Create,
//     and writes that id.
//
// Errors (Decode: the reason only, for the Kafka source to prefix; bad-records policy applies):
//   InvalidArgument  "not in the Confluent wire format (5-byte header, magic byte 0x00): ...",
//                    "schema id 7: field 'price': ... cannot be read as int64 ...",
//                    "invalid Avro data: <avro-c's reason>", a schema id the registry does not
//                    know (NotFound from the registry becomes InvalidArgument: the record is bad)
//   Unavailable      the registry cannot be reached: not the record's fault, so the source fails
//                    its task (the restart strategy retries) instead of dropping the record.
// Performance: per message, one avro-c read into a reused value (its strings reuse their
// buffers) and one pass over the fields; no allocation in steady state. Schemas are resolved
// once per writer schema id.
// Threading: a decoder or writer is used by one Task thread (one per subtask).

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/core/record_batch.h"
#include "runtime/core/types.h"
#include "runtime/formats/record_format.h"

namespace sluice::formats {

// A decoder of `opts.format` kAvro or kAvroConfluent (RecordDecoder::Create calls this).
absl::StatusOr<std::unique_ptr<RecordDecoder>> CreateAvroDecoder(core::SchemaPtr schema,
                                                                 const RecordFormatOptions& opts);

// Encodes rows as Avro records (plus the Confluent header for kAvroConfluent).
class AvroRowWriter {
 public:
  // kAvroConfluent: registers the schema under `opts.schema_registry_subject` (Unavailable or
  // InvalidArgument from the registry as SchemaRegistryClient documents them).
  static absl::StatusOr<std::unique_ptr<AvroRowWriter>> Create(core::SchemaPtr schema,
                                                               const RecordFormatOptions& opts);
  virtual ~AvroRowWriter() = default;
  // Replaces *out with the encoded row. InvalidArgument only for avro-c errors.
  virtual absl::Status Encode(const core::RecordBatch& batch, size_t row, std::string* out) = 0;
  // The registry id written in every message (kAvroConfluent), else -1.
  virtual int32_t schema_id() const = 0;
};

}  // namespace sluice::formats

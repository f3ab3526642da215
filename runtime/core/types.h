#pragma once
// Record data model. A record is a row of typed fields described by a Schema; rows travel in
// RecordBatch buffers (record_batch.h), never one by one.
//
// Types (the physical layout of each in a batch column is Arrow's, see column.h):
//   bool, int32, int64, double (IEEE float64), timestamp (int64 ms since the Unix epoch, UTC,
//   Arrow timestamp[ms]), date (int32 days since 1970-01-01, Arrow date32), string (UTF-8
//   bytes, Arrow utf8), bytes (arbitrary bytes, Arrow binary).
// Every type is nullable: each column has a validity bitmap (see column.h).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "sluice/types.h"

namespace sluice::core {

// The types are the public API's (include/sluice/types.h): one enum, whose numeric values are
// part of the wire format (record_batch.h); never renumber.
using Type = ::sluice::Type;
inline constexpr uint8_t kMaxTypeValue = 7;

// "int64", "double", "string", "bool", "timestamp", "int32", "date", "bytes": the names used in
// job specs.
using ::sluice::TypeName;

// Flink's RowKind (+I, -U, +U, -D), the public API's enum.
using RowKind = ::sluice::RowKind;
using ::sluice::IsAccumulate;
using ::sluice::ShortString;
// Parses a type name as written in a job spec. Aliases: long, bigint, int (int64: "int" meant
// int64 before int32 existed, so it keeps that meaning); integer (int32); float, float64
// (double); str, varchar (string); boolean (bool); binary, varbinary (bytes).
std::optional<Type> ParseTypeName(std::string_view name);
inline bool IsNumeric(Type t) { return t == Type::kInt64 || t == Type::kDouble; }
// string and bytes: offsets + data buffers. All others are fixed width.
inline bool IsVariableWidth(Type t) { return t == Type::kString || t == Type::kBytes; }
// Bytes per value in a column's values buffer: 4 (int32, date), 8 (int64, timestamp, double),
// 0 for bool (one bit per value) and 4 for string/bytes (an int32 offset per value, plus one).
inline size_t ValueWidth(Type t) {
  switch (t) {
    case Type::kInt32:
    case Type::kDate:
    case Type::kString:
    case Type::kBytes: return 4;
    case Type::kInt64:
    case Type::kTimestamp:
    case Type::kDouble: return 8;
    case Type::kBool: return 0;
  }
  return 8;
}

struct Field {
  std::string name;
  Type type;
};

class Schema {
 public:
  Schema() = default;
  explicit Schema(std::vector<Field> fields) : fields_(std::move(fields)) {}

  size_t num_fields() const { return fields_.size(); }
  const Field& field(size_t i) const { return fields_[i]; }
  const std::vector<Field>& fields() const { return fields_; }
  // Index of the field called `name`, or -1.
  int FindField(std::string_view name) const;
  // "name:type, name:type" for messages.
  std::string ToString() const;
  // Comma-separated field names (a CSV header line without newline).
  std::string HeaderLine() const;
  // "a, b, c": the field names for messages ("unknown field 'x' (fields: a, b, c)").
  std::string FieldNames() const;
  friend bool operator==(const Schema& a, const Schema& b);

 private:
  std::vector<Field> fields_;
};
using SchemaPtr = std::shared_ptr<const Schema>;

inline bool operator==(const Field& a, const Field& b) {
  return a.name == b.name && a.type == b.type;
}
inline bool operator==(const Schema& a, const Schema& b) { return a.fields_ == b.fields_; }

}  // namespace sluice::core

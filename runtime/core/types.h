#pragma once
// Record data model. A record is a row of typed fields described by a Schema; rows travel in
// RecordBatch buffers (record_batch.h), never one by one.
//
// Types: int64, double, string (UTF-8 bytes), bool, timestamp (ms since the Unix epoch, UTC).
// There are no nulls in v1: a CSV field that does not parse as its type is a bad record.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace sluice::core {

enum class Type : uint8_t { kInt64 = 0, kDouble = 1, kString = 2, kBool = 3, kTimestamp = 4 };

// "int64", "double", "string", "bool", "timestamp": the names used in job specs.
std::string_view TypeName(Type t);
// Parses a type name as written in a job spec (also accepts "long", "int", "float", "boolean").
std::optional<Type> ParseTypeName(std::string_view name);
inline bool IsNumeric(Type t) { return t == Type::kInt64 || t == Type::kDouble; }

// A string inside a RecordBatch's arena: byte offset and length.
struct StringRef {
  uint32_t offset;
  uint32_t length;
};

// One field value as stored in a batch: 8 bytes, interpreted through the schema's type.
// POD so a batch's value array can be copied and serialised with memcpy.
union Value {
  int64_t i64;  // kInt64 and kTimestamp
  double f64;   // kDouble
  bool b;       // kBool
  StringRef str;  // kString, relative to the owning batch's arena
};
static_assert(sizeof(Value) == 8);

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

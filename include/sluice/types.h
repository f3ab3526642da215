#pragma once
// Sluice C++ DataStream API: field types, schemas and the API/ABI version.
//
// A stream carries rows of a Schema (named, typed fields; every field nullable). The types are
// the engine's (docs/job-spec.md "Types"); in a batch each column is laid out as Apache Arrow's:
//   kInt64 (int64_t), kDouble (IEEE float64), kString (UTF-8), kBool, kTimestamp (int64_t ms
//   since the Unix epoch, UTC), kInt32 (int32_t), kDate (int32_t days since 1970-01-01),
//   kBytes (arbitrary bytes).
// User structs travel as kBytes fields written by a TypeSerializer (serializer.h).
//
// This header, like all of include/sluice/, is header-only: a job plugin compiles against it and
// calls into the engine only through the virtual interfaces the engine passes in. Thread safety:
// the value types here are not synchronised; share them read-only.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice {

// Bumped whenever a header of include/sluice changes incompatibly. The engine refuses a plugin
// built against another version (plugin.h).
inline constexpr int kApiVersion = 2;  // 2: scalar functions (scalar_function.h)

// Event timestamp of a row that has none (the engine's kNoTimestamp).
inline constexpr int64_t kNoTimestamp = INT64_MIN;

// The numeric values are the engine's wire values; never renumber.
enum class Type : uint8_t {
  kInt64 = 0,
  kDouble = 1,
  kString = 2,
  kBool = 3,
  kTimestamp = 4,
  kInt32 = 5,
  kDate = 6,
  kBytes = 7,
};

// The job spec's name of a type ("int64", "timestamp", ...).
inline std::string_view TypeName(Type t) {
  switch (t) {
    case Type::kInt64: return "int64";
    case Type::kDouble: return "double";
    case Type::kString: return "string";
    case Type::kBool: return "bool";
    case Type::kTimestamp: return "timestamp";
    case Type::kInt32: return "int32";
    case Type::kDate: return "date";
    case Type::kBytes: return "bytes";
  }
  return "?";
}

// The change a row describes in a changelog stream (Flink's RowKind): an insert-only stream has
// only kInsert rows; an updating one (deduplicate keep-last, top-N, SQL's GROUP BY and outer
// joins) retracts earlier results with kUpdateBefore/kDelete. Numeric values are wire values.
enum class RowKind : uint8_t {
  kInsert = 0,        // +I
  kUpdateBefore = 1,  // -U: the previous version of an updated row
  kUpdateAfter = 2,   // +U: the new version of an updated row
  kDelete = 3,        // -D
};
inline constexpr uint8_t kMaxRowKindValue = 3;

// Flink's short strings: "+I", "-U", "+U", "-D".
inline std::string_view ShortString(RowKind k) {
  switch (k) {
    case RowKind::kInsert: return "+I";
    case RowKind::kUpdateBefore: return "-U";
    case RowKind::kUpdateAfter: return "+U";
    case RowKind::kDelete: return "-D";
  }
  return "?";
}
// Whether the row adds to the result (+I, +U) rather than retracting from it (-U, -D).
inline bool IsAccumulate(RowKind k) { return k == RowKind::kInsert || k == RowKind::kUpdateAfter; }

namespace detail {
// `text` as a double-quoted YAML scalar (the engine reads the job a plugin builds as a job spec).
inline std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}
}  // namespace detail

struct Field {
  std::string name;
  Type type = Type::kInt64;
};

// The fields of a stream's rows, in order. Field names are unique (the engine refuses a schema
// with a repeated name when the job is compiled).
class Schema {
 public:
  Schema() = default;
  Schema(std::initializer_list<Field> fields) : fields_(fields) {}
  explicit Schema(std::vector<Field> fields) : fields_(std::move(fields)) {}

  const std::vector<Field>& fields() const { return fields_; }
  size_t size() const { return fields_.size(); }
  const Field& field(size_t i) const { return fields_[i]; }
  // Index of the field called `name`, or -1.
  int IndexOf(std::string_view name) const {
    for (size_t i = 0; i < fields_.size(); ++i) {
      if (fields_[i].name == name) return static_cast<int>(i);
    }
    return -1;
  }
  // The job spec's form: "{a: int64, b: string}".
  std::string ToSpec() const {
    std::string out = "{";
    for (size_t i = 0; i < fields_.size(); ++i) {
      if (i > 0) out += ", ";
      out += detail::Quote(fields_[i].name);
      out += ": ";
      out += TypeName(fields_[i].type);
    }
    return out + "}";
  }

 private:
  std::vector<Field> fields_;
};

}  // namespace sluice

#include "runtime/core/types.h"

#include "fmt/format.h"

namespace sluice::core {

std::optional<Type> ParseTypeName(std::string_view n) {
  if (n == "int64" || n == "long" || n == "int" || n == "bigint") return Type::kInt64;
  if (n == "double" || n == "float" || n == "float64") return Type::kDouble;
  if (n == "string" || n == "str" || n == "varchar") return Type::kString;
  if (n == "bool" || n == "boolean") return Type::kBool;
  if (n == "timestamp") return Type::kTimestamp;
  if (n == "int32" || n == "integer") return Type::kInt32;
  if (n == "date") return Type::kDate;
  if (n == "bytes" || n == "binary" || n == "varbinary") return Type::kBytes;
  return std::nullopt;
}

int Schema::FindField(std::string_view name) const {
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (fields_[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

std::string Schema::ToString() const {
  std::string out;
  for (size_t i = 0; i < fields_.size(); ++i) {
    fmt::format_to(std::back_inserter(out), "{}{}:{}", i ? ", " : "", fields_[i].name,
                   TypeName(fields_[i].type));
  }
  return out;
}

std::string Schema::FieldNames() const {
  std::string out;
  for (size_t i = 0; i < fields_.size(); ++i) out += (i ? ", " : "") + fields_[i].name;
  return out;
}

std::string Schema::HeaderLine() const {
  std::string out;
  for (size_t i = 0; i < fields_.size(); ++i) out += (i ? "," : "") + fields_[i].name;
  return out;
}

}  // namespace sluice::core

#include "runtime/formats/avro_schema.h"

#include <nlohmann/json.hpp>

#include "runtime/base/status.h"

namespace sluice::formats {
namespace {

using nlohmann::json;

// The Avro type written for a column type (without the null branch).
json WrittenType(core::Type type) {
  switch (type) {
    case core::Type::kInt32: return "int";
    case core::Type::kInt64: return "long";
    case core::Type::kDouble: return "double";
    case core::Type::kString: return "string";
    case core::Type::kBool: return "boolean";
    case core::Type::kBytes: return "bytes";
    case core::Type::kDate: return json{{"type", "int"}, {"logicalType", "date"}};
    case core::Type::kTimestamp:
      return json{{"type", "long"}, {"logicalType", "timestamp-millis"}};
  }
  return "null";
}

// The kind of a non-union type: the primitive or complex type's name, or a logical type this
// mapping knows ("date", "timestamp-millis"); other logical types get "<logical>" so that no
// column reads them.
std::string KindOf(const json& t) {
  if (t.is_string()) return t.get<std::string>();
  if (!t.is_object() || !t.contains("type") || !t["type"].is_string()) return "?";
  const std::string base = t["type"].get<std::string>();
  if (t.contains("logicalType") && t["logicalType"].is_string()) {
    const std::string logical = t["logicalType"].get<std::string>();
    if (logical == "date" && base == "int") return "date";
    if ((logical == "timestamp-millis" || logical == "local-timestamp-millis") && base == "long") {
      return "timestamp-millis";
    }
    return "<" + logical + ">";
  }
  return base;
}

std::optional<core::Type> ColumnTypeOf(std::string_view kind) {
  if (kind == "int") return core::Type::kInt32;
  if (kind == "long") return core::Type::kInt64;
  if (kind == "float" || kind == "double") return core::Type::kDouble;
  if (kind == "string" || kind == "enum") return core::Type::kString;
  if (kind == "boolean") return core::Type::kBool;
  if (kind == "bytes" || kind == "fixed") return core::Type::kBytes;
  if (kind == "date") return core::Type::kDate;
  if (kind == "timestamp-millis") return core::Type::kTimestamp;
  return std::nullopt;
}

std::string_view Readable(core::Type type) {
  switch (type) {
    case core::Type::kInt32: return "int";
    case core::Type::kInt64: return "int, long";
    case core::Type::kDouble: return "int, long, float, double";
    case core::Type::kString: return "string, enum";
    case core::Type::kBool: return "boolean";
    case core::Type::kBytes: return "bytes, fixed";
    case core::Type::kDate: return "int with logicalType date";
    case core::Type::kTimestamp:
      return "long with logicalType timestamp-millis or local-timestamp-millis";
  }
  return "";
}

}  // namespace

bool AvroReadsAs(std::string_view kind, core::Type type) {
  switch (type) {
    case core::Type::kInt32: return kind == "int";
    case core::Type::kInt64: return kind == "int" || kind == "long";
    case core::Type::kDouble:
      return kind == "int" || kind == "long" || kind == "float" || kind == "double";
    case core::Type::kString: return kind == "string" || kind == "enum";
    case core::Type::kBool: return kind == "boolean";
    case core::Type::kBytes: return kind == "bytes" || kind == "fixed";
    case core::Type::kDate: return kind == "date";
    case core::Type::kTimestamp: return kind == "timestamp-millis";
  }
  return false;
}

absl::StatusOr<AvroRecordSchema> ParseAvroRecordSchema(std::string_view schema_json) {
  json root = json::parse(schema_json.begin(), schema_json.end(), nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return InvalidArgumentF("the Avro schema is not valid JSON");
  if (!root.is_object() || root.value("type", json()) != "record") {
    return InvalidArgumentF("the Avro schema is not a record (rows are read from records): {}",
                            schema_json.substr(0, 200));
  }
  AvroRecordSchema out;
  out.name = root.value("name", std::string());
  out.namespace_ = root.value("namespace", std::string());
  const json fields = root.value("fields", json::array());
  if (!fields.is_array()) return InvalidArgumentF("the Avro record's 'fields' is not an array");
  for (const json& f : fields) {
    if (!f.is_object() || !f.contains("name") || !f["name"].is_string() || !f.contains("type")) {
      return InvalidArgumentF("the Avro record has a field without a name or type: {}", f.dump());
    }
    AvroField field;
    field.name = f["name"].get<std::string>();
    json type = f["type"];
    if (type.is_array()) {
      // ["null", T] or [T, "null"]: nullable T. Other unions have no column type.
      json other;
      int non_null = 0;
      for (const json& branch : type) {
        if (branch == "null") {
          field.nullable = true;
        } else {
          other = branch;
          ++non_null;
        }
      }
      if (non_null == 1 && field.nullable) {
        type = other;
      } else {
        field.type_json = f["type"].dump();
        field.avro_kind = "union";
        out.fields.push_back(std::move(field));
        continue;
      }
    }
    field.type_json = type.dump();
    field.avro_kind = KindOf(type);
    field.type = ColumnTypeOf(field.avro_kind);
    out.fields.push_back(std::move(field));
  }
  if (out.fields.empty()) return InvalidArgumentF("the Avro record has no fields");
  return out;
}

std::string AvroSchemaJson(const core::Schema& schema, std::string_view name,
                           std::string_view namespace_) {
  json fields = json::array();
  for (const core::Field& f : schema.fields()) {
    fields.push_back(json{{"name", f.name},
                          {"type", json::array({"null", WrittenType(f.type)})},
                          {"default", nullptr}});
  }
  json root{{"type", "record"}, {"name", name}};
  if (!namespace_.empty()) root["namespace"] = namespace_;
  root["fields"] = std::move(fields);
  return root.dump();
}

absl::StatusOr<std::vector<core::Field>> AvroColumns(const AvroRecordSchema& record) {
  std::vector<core::Field> out;
  for (const AvroField& f : record.fields) {
    if (!f.type.has_value()) {
      return InvalidArgumentF("field '{}': the Avro type {} has no column type (supported: int, "
                              "long, float, double, string, enum, boolean, bytes, fixed, date, "
                              "timestamp-millis, and their unions with null)",
                              f.name, f.type_json);
    }
    out.push_back(core::Field{f.name, *f.type});
  }
  return out;
}

absl::Status CheckAvroReadable(const AvroRecordSchema& writer, const core::Schema& reader,
                               bool columns_must_exist) {
  for (const core::Field& col : reader.fields()) {
    bool found = false;
    for (const AvroField& f : writer.fields) {
      if (f.name != col.name) continue;
      found = true;
      if (!AvroReadsAs(f.avro_kind, col.type)) {
        return InvalidArgumentF("field '{}': the schema's type {} cannot be read as {} "
                                "(readable: {})",
                                col.name, f.type_json, core::TypeName(col.type),
                                Readable(col.type));
      }
      break;
    }
    if (!found && columns_must_exist) {
      std::string names;
      for (const AvroField& f : writer.fields) names += (names.empty() ? "" : ", ") + f.name;
      return InvalidArgumentF("column '{}' is not a field of the Avro schema (fields: {})",
                              col.name, names);
    }
  }
  return absl::OkStatus();
}

}  // namespace sluice::formats

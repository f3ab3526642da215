#include "runtime/job/spec_reader.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "runtime/base/durations.h"
#include "runtime/base/status.h"
#include "runtime/core/key_groups.h"
#include "runtime/core/time_format.h"

namespace sluice::job {

absl::StatusOr<YAML::Node> SpecReader::Load(const std::string& yaml) const {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(fmt::format("{}:{}:{}: YAML syntax error: {}", spec_path_,
                                                  e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  RETURN_IF_ERROR(CheckDuplicateKeys(root));
  return root;
}

absl::Status SpecReader::CheckDuplicateKeys(const YAML::Node& node) const {
  if (node.IsSequence()) {
    for (const auto& item : node) RETURN_IF_ERROR(CheckDuplicateKeys(item));
  } else if (node.IsMap()) {
    std::map<std::string, YAML::Mark> seen;
    for (const auto& kv : node) {
      if (kv.first.IsScalar()) {
        auto [it, fresh] = seen.emplace(kv.first.Scalar(), kv.first.Mark());
        if (!fresh) {
          return Error(kv.first, "key '{}' is given twice in one mapping (first at line {}, "
                       "again at line {}); remove one",
                       kv.first.Scalar(), it->second.line + 1, kv.first.Mark().line + 1);
        }
      }
      RETURN_IF_ERROR(CheckDuplicateKeys(kv.second));
    }
  }
  return absl::OkStatus();
}

std::string SpecReader::Where(const YAML::Node& n) const {
  const YAML::Mark m = n.Mark();
  if (m.is_null()) return spec_path_;
  return fmt::format("{}:{}:{}", spec_path_, m.line + 1, m.column + 1);
}

absl::Status SpecReader::SpecError(const std::string& what) const {
  return absl::InvalidArgumentError(fmt::format("{}: {}", spec_path_, what));
}

absl::Status SpecReader::CheckKeys(const YAML::Node& map, std::string_view what,
                                   const std::set<std::string>& allowed) const {
  if (!map.IsMap()) return Error(map, "{} must be a mapping", what);
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>();
    if (!allowed.count(key)) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return Error(kv.first, "{}: unknown key '{}' (expected one of: {})", what, key, list);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SpecReader::GetString(const YAML::Node& map, std::string_view what,
                                                  const std::string& key, bool required,
                                                  const std::string& def) const {
  YAML::Node n = map[key];
  if (!n) {
    if (required) return Error(map, "{}: missing required key '{}'", what, key);
    return def;
  }
  if (!n.IsScalar()) return Error(n, "{}: '{}' must be a scalar", what, key);
  return n.Scalar();
}

absl::StatusOr<int> SpecReader::GetInt(const YAML::Node& map, std::string_view what,
                                       const std::string& key, int def) const {
  YAML::Node n = map[key];
  if (!n) return def;
  int v;
  if (!n.IsScalar() || !YAML::convert<int>::decode(n, v)) {
    return Error(n, "{}: '{}' must be an integer, found '{}'", what, key,
                 n.IsScalar() ? n.Scalar() : std::string("a collection"));
  }
  return v;
}

absl::StatusOr<int64_t> SpecReader::GetInt64(const YAML::Node& map, std::string_view what,
                                             const std::string& key, core::Type type) const {
  YAML::Node n = map[key];
  if (!n) return Error(map, "{}: missing required key '{}'", what, key);
  int64_t v = 0;
  if (n.IsScalar() && YAML::convert<int64_t>::decode(n, v)) return v;
  if (type == core::Type::kTimestamp && n.IsScalar()) {
    if (std::optional<int64_t> ts = core::ParseTimestamp(n.Scalar())) return *ts;
    return Error(n,
                 "{}: '{}' must be a timestamp like 2024-01-01T00:00:00Z or epoch ms, found '{}'",
                 what, key, n.Scalar());
  }
  return Error(n, "{}: '{}' must be an integer, found '{}'", what, key,
               n.IsScalar() ? n.Scalar() : std::string("a collection"));
}

absl::StatusOr<bool> SpecReader::GetBool(const YAML::Node& map, std::string_view what,
                                         const std::string& key, bool def) const {
  YAML::Node n = map[key];
  if (!n) return def;
  bool v;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
    return Error(n, "{}: '{}' must be true or false", what, key);
  }
  return v;
}

absl::StatusOr<int64_t> SpecReader::GetDuration(const YAML::Node& map, std::string_view what,
                                                const std::string& key) const {
  YAML::Node n = map[key];
  if (!n) return Error(map, "{}: missing required key '{}'", what, key);
  if (!n.IsScalar()) return Error(n, "{}: '{}' must be a duration like '1 h'", what, key);
  auto d = ParseDurationMs(n.Scalar());
  if (!d.ok()) return Error(n, "{}: {}", what, d.status().message());
  return *d;
}

absl::StatusOr<int> SpecReader::OperatorParallelism(const YAML::Node& map, std::string_view what,
                                                    int def, int max_parallelism) const {
  YAML::Node n = map["parallelism"];
  if (!n) return def;
  int v;
  if (!n.IsScalar() || !YAML::convert<int>::decode(n, v)) {
    return Error(n, "{}: 'parallelism' must be an integer, found '{}'", what,
                 n.IsScalar() ? n.Scalar() : std::string(n.IsNull() ? "nothing" : "a collection"));
  }
  if (absl::Status s = core::CheckParallelism(v, max_parallelism); !s.ok()) {
    return Error(n, "{}: {}", what, s.message());
  }
  return v;
}

absl::StatusOr<double> SpecReader::GetRate(const YAML::Node& node) const {
  YAML::Node rate = node["rate"];
  if (!rate) return 0.0;
  double r;
  if (!rate.IsScalar() || !YAML::convert<double>::decode(rate, r) || !(r >= 0) || r > 1e12) {
    return Error(rate, "source: 'rate' must be a number of records per second per subtask "
                 "(0 = unlimited), found '{}'", rate.IsScalar() ? rate.Scalar() : "a collection");
  }
  return r;
}

absl::Status SpecReader::GetKafkaProperties(const YAML::Node& map, std::string_view what,
                                            std::map<std::string, std::string>* out) const {
  YAML::Node props = map["properties"];
  if (!props) return absl::OkStatus();
  if (!props.IsMap()) {
    return Error(props, "{}: 'properties' must be a mapping of librdkafka properties", what);
  }
  for (const auto& kv : props) {
    if (!kv.second.IsScalar()) {
      return Error(kv.second, "{}: property '{}' must be a scalar", what,
                   kv.first.as<std::string>());
    }
    (*out)[kv.first.as<std::string>()] = kv.second.Scalar();
  }
  return absl::OkStatus();
}

absl::Status SpecReader::GetSchemaRegistry(const YAML::Node& map, std::string_view what,
                                           bool sink, formats::RecordFormatOptions* format) const {
  YAML::Node reg = map["schema-registry"];
  if (format->format != formats::RecordFormat::kAvroConfluent) {
    if (reg) return Error(reg, "{}: 'schema-registry' is only used with format: avro-confluent", what);
    return absl::OkStatus();
  }
  if (!reg) {
    return Error(map, "{}: format avro-confluent needs 'schema-registry: {{url: http://...}}'", what);
  }
  if (!reg.IsMap()) return Error(reg, "{}: 'schema-registry' must be a mapping", what);
  const std::string where = fmt::format("{}.schema-registry", what);
  if (sink) {
    RETURN_IF_ERROR(CheckKeys(reg, where, {"url", "subject", "basic-auth-user-info"}));
    ASSIGN_OR_RETURN(format->schema_registry_subject, GetString(reg, where, "subject", false, ""));
  } else {
    RETURN_IF_ERROR(CheckKeys(reg, where, {"url", "basic-auth-user-info"}));
  }
  ASSIGN_OR_RETURN(format->schema_registry_url, GetString(reg, where, "url", true));
  if (format->schema_registry_url.rfind("http://", 0) != 0 &&
      format->schema_registry_url.rfind("https://", 0) != 0) {
    return Error(reg["url"], "{}: 'url' must start with http:// or https://, found '{}'", where,
                 format->schema_registry_url);
  }
  ASSIGN_OR_RETURN(format->schema_registry_user_info,
                   GetString(reg, where, "basic-auth-user-info", false, ""));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<expr::Expression>> SpecReader::CompileExpr(
    const YAML::Node& scalar, std::string_view what, const core::Schema& schema) const {
  if (!scalar.IsScalar()) return Error(scalar, "{}: expected an expression string", what);
  int offset = 0;
  auto e = expr::Expression::Compile(scalar.Scalar(), schema, &offset, functions_.get());
  if (e.ok()) return e;
  const YAML::Mark m = scalar.Mark();
  // Quoted scalars (tag "!") start one character after the mark.
  int quote = scalar.Tag() == "!" ? 1 : 0;
  return absl::InvalidArgumentError(fmt::format("{}:{}:{}: {} '{}': {}", spec_path_, m.line + 1,
                                                m.column + 1 + quote + offset, what,
                                                scalar.Scalar(), e.status().message()));
}

std::string SpecReader::ResolvePath(const std::string& p) const {
  std::filesystem::path path(p);
  if (path.is_relative() && !base_dir_.empty()) path = std::filesystem::path(base_dir_) / path;
  return path.lexically_normal().string();
}

absl::StatusOr<core::SchemaPtr> SpecReader::GetSchema(const YAML::Node& map,
                                                      std::string_view what) const {
  YAML::Node schema = map["schema"];
  if (!schema) return Error(map, "{}: missing required key 'schema'", what);
  if (!schema.IsMap() || schema.size() == 0) {
    return Error(schema, "{}: 'schema' must be a mapping of field name to type", what);
  }
  std::vector<core::Field> fields;
  for (const auto& kv : schema) {
    std::string fname = kv.first.as<std::string>();
    if (!kv.second.IsScalar()) {
      return Error(kv.second, "{}: schema field '{}' needs a type", what, fname);
    }
    auto t = core::ParseTypeName(kv.second.Scalar());
    if (!t) {
      return Error(kv.second,
                   "{}: field '{}' has unknown type '{}' (expected int64, double, string, bool or "
                   "timestamp)",
                   what, fname, kv.second.Scalar());
    }
    for (const auto& f : fields) {
      if (f.name == fname) return Error(kv.first, "{}: duplicate field '{}'", what, fname);
    }
    fields.push_back({fname, *t});
  }
  return std::make_shared<core::Schema>(std::move(fields));
}

}  // namespace sluice::job

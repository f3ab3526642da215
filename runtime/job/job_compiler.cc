#include "runtime/job/job_compiler.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <regex>
#include <set>

#include "fmt/format.h"
#include "runtime/base/durations.h"
#include "runtime/base/status.h"
#include "runtime/connectors/datagen/datagen_source.h"
#include "runtime/connectors/kafka/dead_letter.h"
#include "runtime/connectors/kafka/kafka_enumerator.h"
#include "runtime/connectors/kafka/kafka_sink.h"
#include "runtime/connectors/kafka/kafka_source.h"
#include "runtime/connectors/file/csv_source.h"
#include "runtime/connectors/file/file_sink.h"
#include "runtime/connectors/file/print_sink.h"
#include "runtime/core/key_groups.h"
#include "runtime/core/key_selector.h"
#include "runtime/core/time_format.h"
#include "runtime/expr/expression.h"
#include "runtime/operators/basic_operators.h"
#include "runtime/operators/window_operator.h"
#include "yaml-cpp/yaml.h"

namespace sluice::job {
namespace {

using core::SchemaPtr;
using graph::ChainedOperator;
using graph::JobGraph;
using graph::JobVertex;
using graph::PartitionerKind;

// "64 mb", "1gb", "512 kb", "1048576" -> bytes.
std::optional<int64_t> ParseMemorySize(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0) return std::nullopt;
  int64_t n = std::stoll(text.substr(0, i));
  std::string unit = text.substr(i);
  unit.erase(std::remove(unit.begin(), unit.end(), ' '), unit.end());
  if (unit.empty() || unit == "b") return n;
  if (unit == "kb" || unit == "k") return n << 10;
  if (unit == "mb" || unit == "m") return n << 20;
  if (unit == "gb" || unit == "g") return n << 30;
  return std::nullopt;
}


// Compilation context: the spec path for messages and helpers to read YAML with locations.
class Compiler {
 public:
  explicit Compiler(const JobSubmission& sub) : sub_(sub) {}
  absl::StatusOr<JobGraph> Compile();

 private:
  std::string Where(const YAML::Node& n) const {
    const YAML::Mark m = n.Mark();
    if (m.is_null()) return sub_.spec_path;
    return fmt::format("{}:{}:{}", sub_.spec_path, m.line + 1, m.column + 1);
  }
  template <typename... Args>
  absl::Status Error(const YAML::Node& at, fmt::format_string<Args...> f, Args&&... args) const {
    return absl::InvalidArgumentError(
        fmt::format("{}: {}", Where(at), fmt::format(f, std::forward<Args>(args)...)));
  }
  absl::Status CheckKeys(const YAML::Node& map, std::string_view what,
                         const std::set<std::string>& allowed) const;
  absl::StatusOr<std::string> GetString(const YAML::Node& map, std::string_view what,
                                        const std::string& key, bool required,
                                        const std::string& def = "") const;
  absl::StatusOr<int> GetInt(const YAML::Node& map, std::string_view what, const std::string& key,
                             int def) const;
  absl::StatusOr<bool> GetBool(const YAML::Node& map, std::string_view what,
                               const std::string& key, bool def) const;
  // `parallelism:` of the mapping `map` (a source, a pipeline step or the sink): the explicit
  // parallelism of that operator (Flink's setParallelism), which wins over the job's default
  // parallelism and the CLI's --parallelism; `def` when absent. Refuses anything but an integer
  // in [1, max_parallelism], naming `what` (e.g. "window (uid 'window-3')") and the location.
  absl::StatusOr<int> OperatorParallelism(const YAML::Node& map, std::string_view what, int def,
                                          int max_parallelism) const;
  absl::StatusOr<int64_t> GetDuration(const YAML::Node& map, std::string_view what,
                                      const std::string& key) const;
  // Compiles an expression scalar, mapping an error offset to the YAML line/column.
  absl::StatusOr<std::unique_ptr<expr::Expression>> CompileExpr(const YAML::Node& scalar,
                                                                std::string_view what,
                                                                const core::Schema& schema) const;
  std::string ResolvePath(const std::string& p) const {
    std::filesystem::path path(p);
    if (path.is_relative() && !sub_.base_dir.empty()) path = std::filesystem::path(sub_.base_dir) / path;
    return path.lexically_normal().string();
  }

  absl::Status CompileSource(const YAML::Node& node, JobVertex* v);
  // Helpers of CompileSource.
  absl::StatusOr<SchemaPtr> CompileSourceSchema(const YAML::Node& node) const;
  absl::Status CompileSourceEventTime(const YAML::Node& node, const core::Schema& schema,
                                      std::string* field, int64_t* max_out_of_orderness_ms) const;
  absl::Status CompileDatagenSource(const YAML::Node& node, JobVertex* v);
  absl::Status CompileKafkaSource(const YAML::Node& node, JobVertex* v);
  absl::StatusOr<double> GetRate(const YAML::Node& node) const;
  absl::StatusOr<connectors::DatagenField> CompileDatagenField(const YAML::Node& spec,
                                                               const std::string& fname,
                                                               core::Type type) const;
  absl::StatusOr<int64_t> DatagenInt64(const YAML::Node& map, std::string_view what,
                                       const std::string& key, core::Type type) const;
  absl::Status CompileSettings(const YAML::Node& root, std::map<std::string, std::string>* out);
  // The sink operator; *parallelism gets its `parallelism:` (default_parallelism if absent).
  absl::StatusOr<ChainedOperator> CompileSink(const YAML::Node& node, SchemaPtr schema,
                                              int default_parallelism, int max_parallelism,
                                              int* parallelism);
  absl::StatusOr<graph::OperatorFactory> CompileKafkaSink(const YAML::Node& node, SchemaPtr schema);
  // `properties:` of a Kafka source, sink or dead-letter queue: librdkafka's flat key/value
  // configuration, scalars only.
  absl::Status GetKafkaProperties(const YAML::Node& map, std::string_view what,
                                  std::map<std::string, std::string>* out) const;

  const JobSubmission& sub_;
};

absl::Status Compiler::CheckKeys(const YAML::Node& map, std::string_view what,
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

absl::StatusOr<std::string> Compiler::GetString(const YAML::Node& map, std::string_view what,
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

absl::StatusOr<int> Compiler::GetInt(const YAML::Node& map, std::string_view what,
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

absl::StatusOr<bool> Compiler::GetBool(const YAML::Node& map, std::string_view what,
                                       const std::string& key, bool def) const {
  YAML::Node n = map[key];
  if (!n) return def;
  bool v;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
    return Error(n, "{}: '{}' must be true or false", what, key);
  }
  return v;
}

absl::StatusOr<int> Compiler::OperatorParallelism(const YAML::Node& map, std::string_view what,
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

absl::StatusOr<int64_t> Compiler::GetDuration(const YAML::Node& map, std::string_view what,
                                              const std::string& key) const {
  YAML::Node n = map[key];
  if (!n) return Error(map, "{}: missing required key '{}'", what, key);
  if (!n.IsScalar()) return Error(n, "{}: '{}' must be a duration like '1 h'", what, key);
  auto d = ParseDurationMs(n.Scalar());
  if (!d.ok()) return Error(n, "{}: {}", what, d.status().message());
  return *d;
}

absl::StatusOr<std::unique_ptr<expr::Expression>> Compiler::CompileExpr(
    const YAML::Node& scalar, std::string_view what, const core::Schema& schema) const {
  if (!scalar.IsScalar()) return Error(scalar, "{}: expected an expression string", what);
  int offset = 0;
  auto e = expr::Expression::Compile(scalar.Scalar(), schema, &offset);
  if (e.ok()) return e;
  const YAML::Mark m = scalar.Mark();
  // Quoted scalars (tag "!") start one character after the mark.
  int quote = scalar.Tag() == "!" ? 1 : 0;
  return absl::InvalidArgumentError(fmt::format("{}:{}:{}: {} '{}': {}", sub_.spec_path,
                                                m.line + 1, m.column + 1 + quote + offset, what,
                                                scalar.Scalar(), e.status().message()));
}

// `schema:` of a source: an ordered mapping of field name to type.
absl::StatusOr<SchemaPtr> Compiler::CompileSourceSchema(const YAML::Node& node) const {
  YAML::Node schema = node["schema"];
  if (!schema) return Error(node, "source: missing required key 'schema'");
  if (!schema.IsMap() || schema.size() == 0) {
    return Error(schema, "source: 'schema' must be a mapping of field name to type");
  }
  std::vector<core::Field> fields;
  for (const auto& kv : schema) {
    std::string fname = kv.first.as<std::string>();
    if (!kv.second.IsScalar()) return Error(kv.second, "source: schema field '{}' needs a type", fname);
    auto t = core::ParseTypeName(kv.second.Scalar());
    if (!t) {
      return Error(kv.second,
                   "source: field '{}' has unknown type '{}' (expected int64, double, string, "
                   "bool or timestamp)",
                   fname, kv.second.Scalar());
    }
    for (const auto& f : fields) {
      if (f.name == fname) return Error(kv.first, "source: duplicate field '{}'", fname);
    }
    fields.push_back({fname, *t});
  }
  return std::make_shared<core::Schema>(std::move(fields));
}

// `event-time:` of a source; leaves *field empty when there is none.
absl::Status Compiler::CompileSourceEventTime(const YAML::Node& node, const core::Schema& schema,
                                              std::string* field,
                                              int64_t* max_out_of_orderness_ms) const {
  YAML::Node et = node["event-time"];
  if (!et) return absl::OkStatus();
  RETURN_IF_ERROR(CheckKeys(et, "source.event-time", {"field", "max-out-of-orderness"}));
  ASSIGN_OR_RETURN(*field, GetString(et, "source.event-time", "field", true));
  int idx = schema.FindField(*field);
  if (idx < 0) {
    return Error(et["field"], "source.event-time: unknown field '{}' (fields: {})", *field,
                 schema.HeaderLine());
  }
  core::Type ft = schema.field(static_cast<size_t>(idx)).type;
  if (ft != core::Type::kTimestamp && ft != core::Type::kInt64) {
    return Error(et["field"],
                 "source.event-time: field '{}' is {}, expected timestamp or int64 (epoch ms)",
                 *field, core::TypeName(ft));
  }
  if (et["max-out-of-orderness"]) {
    ASSIGN_OR_RETURN(*max_out_of_orderness_ms,
                     GetDuration(et, "source.event-time", "max-out-of-orderness"));
  }
  return absl::OkStatus();
}

// An int64 option of the datagen source (`map[key]`, which must exist); for a timestamp field
// (`type` kTimestamp) also an ISO-8601 timestamp, as epoch ms.
absl::StatusOr<int64_t> Compiler::DatagenInt64(const YAML::Node& map, std::string_view what,
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

// One entry of the datagen source's `fields:` (the generator of field `fname` of `type`). Only
// the keys that apply to the kind and type are accepted.
absl::StatusOr<connectors::DatagenField> Compiler::CompileDatagenField(
    const YAML::Node& spec, const std::string& fname, core::Type type) const {
  const std::string what = "source.fields." + fname;
  if (!spec.IsMap()) {
    return Error(spec, "{}: expected a generator mapping like {{kind: random}}", what);
  }
  ASSIGN_OR_RETURN(std::string kind, GetString(spec, what, "kind", false, "random"));
  YAML::Node at_kind = spec["kind"] ? spec["kind"] : spec;
  const std::string_view type_name = core::TypeName(type);
  connectors::DatagenField f;
  if (kind == "sequence") {
    if (type == core::Type::kBool) {
      return Error(at_kind, "{}: kind sequence does not apply to a bool field", what);
    }
    RETURN_IF_ERROR(CheckKeys(spec, what, {"kind", "start", "end"}));
    f.kind = connectors::DatagenKind::kSequence;
    ASSIGN_OR_RETURN(f.start, DatagenInt64(spec, what, "start", type));
    ASSIGN_OR_RETURN(f.end, DatagenInt64(spec, what, "end", type));
    if (f.end < f.start) {
      return Error(spec["end"], "{}: sequence end {} is below start {}", what, f.end, f.start);
    }
    return f;
  }
  if (kind == "now") {
    if (type != core::Type::kTimestamp && type != core::Type::kInt64) {
      return Error(at_kind, "{}: kind now needs a timestamp or int64 field, '{}' is {}", what,
                   fname, type_name);
    }
    RETURN_IF_ERROR(CheckKeys(spec, what, {"kind"}));
    f.kind = connectors::DatagenKind::kNow;
    return f;
  }
  if (kind != "random") {
    return Error(at_kind, "{}: unknown kind '{}' (expected: random, sequence, now)", what, kind);
  }
  switch (type) {
    case core::Type::kInt64:
    case core::Type::kTimestamp: {
      if (type == core::Type::kInt64) {
        RETURN_IF_ERROR(CheckKeys(spec, what, {"kind", "min", "max"}));
      } else {
        RETURN_IF_ERROR(CheckKeys(spec, what, {"kind", "min", "max", "max-past"}));
        if (spec["max-past"]) {
          if (spec["min"] || spec["max"]) {
            return Error(spec["max-past"],
                         "{}: 'max-past' and 'min'/'max' exclude each other", what);
          }
          ASSIGN_OR_RETURN(f.max_past_ms, GetDuration(spec, what, "max-past"));
          if (f.max_past_ms < 0) {
            return Error(spec["max-past"], "{}: 'max-past' must be >= 0", what);
          }
          return f;
        }
        if (static_cast<bool>(spec["min"]) != static_cast<bool>(spec["max"])) {
          return Error(spec, "{}: a random timestamp needs both 'min' and 'max' (or 'max-past')",
                       what);
        }
        f.has_range = static_cast<bool>(spec["min"]);
      }
      if (spec["min"]) {
        ASSIGN_OR_RETURN(f.min, DatagenInt64(spec, what, "min", type));
      }
      if (spec["max"]) {
        ASSIGN_OR_RETURN(f.max, DatagenInt64(spec, what, "max", type));
      }
      if (f.min > f.max) {
        return Error(spec["min"] ? spec["min"] : spec["max"], "{}: min {} is above max {}", what,
                     f.min, f.max);
      }
      return f;
    }
    case core::Type::kDouble: {
      RETURN_IF_ERROR(CheckKeys(spec, what, {"kind", "min", "max"}));
      for (const char* key : {"min", "max"}) {
        YAML::Node n = spec[key];
        if (!n) continue;
        double d;
        if (!n.IsScalar() || !YAML::convert<double>::decode(n, d) || !std::isfinite(d)) {
          return Error(n, "{}: '{}' must be a finite number, found '{}'", what, key,
                       n.IsScalar() ? n.Scalar() : std::string("a collection"));
        }
        (std::string_view(key) == "min" ? f.min_double : f.max_double) = d;
      }
      if (f.min_double > f.max_double || !std::isfinite(f.max_double - f.min_double)) {
        return Error(spec["min"] ? spec["min"] : spec["max"],
                     "{}: min {} and max {} need min <= max (and a finite max - min)", what,
                     f.min_double, f.max_double);
      }
      return f;
    }
    case core::Type::kString: {
      RETURN_IF_ERROR(CheckKeys(spec, what, {"kind", "length"}));
      if (YAML::Node n = spec["length"]) {
        ASSIGN_OR_RETURN(f.length, DatagenInt64(spec, what, "length", type));
        if (f.length < 0 || f.length > connectors::kMaxDatagenStringLength) {
          return Error(n, "{}: 'length' must be in 0..{}, found {}", what,
                       connectors::kMaxDatagenStringLength, f.length);
        }
      }
      return f;
    }
    case core::Type::kBool:
      RETURN_IF_ERROR(CheckKeys(spec, what, {"kind"}));
      return f;
  }
  return f;
}

// `source: {type: datagen}`: Flink's DataGen connector (runtime/connectors/datagen); the keys
// are documented in docs/job-spec.md.
absl::Status Compiler::CompileDatagenSource(const YAML::Node& node, JobVertex* v) {
  RETURN_IF_ERROR(CheckKeys(node, "source",
                            {"name", "uid", "type", "schema", "fields", "rows-per-second",
                             "number-of-rows", "batch-size", "seed", "event-time",
                             "parallelism"}));
  ASSIGN_OR_RETURN(std::string name, GetString(node, "source", "name", false, "datagen"));
  ASSIGN_OR_RETURN(std::string uid, GetString(node, "source", "uid", false, "source"));
  connectors::DatagenSourceOptions opts;
  if (YAML::Node rate = node["rows-per-second"]) {
    double r;
    if (!rate.IsScalar() || !YAML::convert<double>::decode(rate, r) || !(r >= 0) ||
        r > 1e12) {
      return Error(rate,
                   "source: 'rows-per-second' must be a number of rows per second over all "
                   "subtasks (0 = unlimited), found '{}'",
                   rate.IsScalar() ? rate.Scalar() : "a collection");
    }
    opts.rows_per_second = r;
  }
  if (YAML::Node n = node["number-of-rows"]) {
    ASSIGN_OR_RETURN(int64_t rows,
                     DatagenInt64(node, "source", "number-of-rows", core::Type::kInt64));
    if (rows < 0) return Error(n, "source: 'number-of-rows' must be at least 0, found {}", rows);
    opts.number_of_rows = rows;
  }
  ASSIGN_OR_RETURN(int batch, GetInt(node, "source", "batch-size", 1024));
  if (batch < 1) return Error(node["batch-size"], "source: 'batch-size' must be at least 1");
  opts.batch_size = static_cast<size_t>(batch);
  if (node["seed"]) {
    ASSIGN_OR_RETURN(int64_t seed, DatagenInt64(node, "source", "seed", core::Type::kInt64));
    opts.seed = static_cast<uint64_t>(seed);
  }
  ASSIGN_OR_RETURN(opts.schema, CompileSourceSchema(node));
  opts.fields.resize(opts.schema->num_fields());
  if (YAML::Node fields = node["fields"]) {
    if (!fields.IsMap()) {
      return Error(fields,
                   "source: 'fields' must map field names to generators like "
                   "{{kind: sequence, start: 0, end: 99}}");
    }
    std::set<std::string> seen;
    for (const auto& kv : fields) {
      std::string fname = kv.first.as<std::string>();
      int idx = opts.schema->FindField(fname);
      if (idx < 0) {
        return Error(kv.first, "source.fields: unknown field '{}' (fields: {})", fname,
                     opts.schema->HeaderLine());
      }
      if (!seen.insert(fname).second) {
        return Error(kv.first, "source.fields: field '{}' is given twice", fname);
      }
      ASSIGN_OR_RETURN(opts.fields[static_cast<size_t>(idx)],
                       CompileDatagenField(kv.second, fname,
                                           opts.schema->field(static_cast<size_t>(idx)).type));
    }
  }
  RETURN_IF_ERROR(CompileSourceEventTime(node, *opts.schema, &opts.event_time_field,
                                         &opts.max_out_of_orderness_ms));
  ASSIGN_OR_RETURN(v->parallelism, OperatorParallelism(node, "source", v->parallelism,
                                                       v->max_parallelism));
  // Everything above was checked with its location; this catches what the connector adds.
  if (absl::Status s = connectors::ValidateDatagenOptions(opts); !s.ok()) {
    return Error(node, "{}", s.message());
  }
  v->source_name = "Source: " + name;
  v->source_uid = uid;
  v->output_schema = opts.schema;
  v->source = [opts]() -> absl::StatusOr<std::unique_ptr<operators::Source>> {
    return connectors::MakeDatagenSource(opts);
  };
  return absl::OkStatus();
}

// `source: {type: kafka, ...}`: runtime/connectors/kafka/kafka_source.h (KafkaSourceOptions
// documents every key). Partitions are found by the readers' built-in discovery for now.
absl::Status Compiler::CompileKafkaSource(const YAML::Node& node, JobVertex* v) {
  const char* what = "source";
  RETURN_IF_ERROR(CheckKeys(node, what,
                            {"name", "uid", "type", "bootstrap-servers", "topic", "topics",
                             "pattern", "format", "delimiter", "schema", "event-time",
                             "idle-timeout", "starting-offsets", "starting-timestamp", "stop-at",
                             "bad-records", "batch-size", "partition-discovery-interval",
                             "commit-offsets-on-checkpoint", "properties", "parallelism",
                             "dead-letter", "rate"}));
  connectors::kafka::KafkaSourceOptions opts;
  ASSIGN_OR_RETURN(std::string name, GetString(node, what, "name", false, "kafka"));
  ASSIGN_OR_RETURN(std::string uid, GetString(node, what, "uid", false, "source"));
  ASSIGN_OR_RETURN(opts.bootstrap_servers, GetString(node, what, "bootstrap-servers", false, ""));
  RETURN_IF_ERROR(GetKafkaProperties(node, what, &opts.properties));
  if (opts.bootstrap_servers.empty() && !opts.properties.contains("bootstrap.servers")) {
    return Error(node, "source: missing required key 'bootstrap-servers'");
  }
  const int topic_keys = (node["topic"] ? 1 : 0) + (node["topics"] ? 1 : 0) + (node["pattern"] ? 1 : 0);
  if (topic_keys != 1) {
    return Error(node, "source: give exactly one of 'topic', 'topics' (a list) or 'pattern'");
  }
  if (YAML::Node t = node["topic"]) {
    ASSIGN_OR_RETURN(std::string topic, GetString(node, what, "topic", true));
    opts.topics.push_back(topic);
  } else if (YAML::Node ts = node["topics"]) {
    if (!ts.IsSequence() || ts.size() == 0) return Error(ts, "source: 'topics' must be a non-empty list");
    for (const auto& t : ts) opts.topics.push_back(t.as<std::string>());
  } else {
    ASSIGN_OR_RETURN(opts.topic_pattern, GetString(node, what, "pattern", true));
    try {
      std::regex re(opts.topic_pattern);
    } catch (const std::regex_error& e) {
      return Error(node["pattern"], "source: 'pattern' is not a valid regular expression: {}", e.what());
    }
  }
  ASSIGN_OR_RETURN(std::string format, GetString(node, what, "format", false, "csv"));
  auto fmt_kind = connectors::kafka::ParseRecordFormat(format);
  if (!fmt_kind.ok()) return Error(node["format"], "source: {}", fmt_kind.status().message());
  opts.format.format = *fmt_kind;
  ASSIGN_OR_RETURN(std::string delim, GetString(node, what, "delimiter", false, ","));
  if (delim.size() != 1) return Error(node["delimiter"], "source: 'delimiter' must be one character");
  opts.format.csv_delimiter = delim[0];
  ASSIGN_OR_RETURN(opts.schema, CompileSourceSchema(node));
  if (YAML::Node et = node["event-time"]) {
    if (et.IsMap() && et["field"] && et["field"].IsScalar() && et["field"].Scalar() == "kafka-timestamp") {
      RETURN_IF_ERROR(CheckKeys(et, "source.event-time", {"field", "max-out-of-orderness"}));
      opts.event_time = connectors::kafka::EventTimeSource::kKafkaTimestamp;
      if (et["max-out-of-orderness"]) {
        ASSIGN_OR_RETURN(opts.max_out_of_orderness_ms,
                         GetDuration(et, "source.event-time", "max-out-of-orderness"));
      }
    } else {
      RETURN_IF_ERROR(CompileSourceEventTime(node, *opts.schema, &opts.event_time_field,
                                             &opts.max_out_of_orderness_ms));
      opts.event_time = connectors::kafka::EventTimeSource::kField;
    }
  }
  if (node["idle-timeout"]) {
    ASSIGN_OR_RETURN(opts.idle_timeout_ms, GetDuration(node, what, "idle-timeout"));
  }
  ASSIGN_OR_RETURN(std::string start, GetString(node, what, "starting-offsets", false, "earliest"));
  auto so = connectors::kafka::ParseStartingOffsets(start);
  if (!so.ok()) return Error(node["starting-offsets"], "source: {}", so.status().message());
  opts.starting_offsets = *so;
  if (opts.starting_offsets == connectors::kafka::StartingOffsets::kTimestamp) {
    ASSIGN_OR_RETURN(std::string ts, GetString(node, what, "starting-timestamp", true));
    std::optional<int64_t> ms = core::ParseTimestamp(ts);
    if (!ms) {
      int64_t v = 0;
      if (!YAML::convert<int64_t>::decode(node["starting-timestamp"], v)) {
        return Error(node["starting-timestamp"], "source: 'starting-timestamp' must be a timestamp "
                     "like 2024-01-01T00:00:00Z or epoch ms, found '{}'", ts);
      }
      ms = v;
    }
    opts.starting_timestamp_ms = *ms;
  }
  if (opts.starting_offsets == connectors::kafka::StartingOffsets::kGroupOffsets &&
      !opts.properties.contains("group.id")) {
    return Error(node["starting-offsets"], "source: starting-offsets: group-offsets needs "
                 "properties: {{group.id: ...}}");
  }
  if (node["stop-at"]) {
    ASSIGN_OR_RETURN(std::string stop, GetString(node, what, "stop-at", true));
    if (stop != "latest") return Error(node["stop-at"], "source: 'stop-at' must be 'latest' (bounded read)");
    opts.stop_at_latest = true;
  }
  ASSIGN_OR_RETURN(std::string bad, GetString(node, what, "bad-records", false, "fail"));
  auto policy = connectors::kafka::ParseBadRecordPolicy(bad);
  if (!policy.ok()) return Error(node["bad-records"], "source: {}", policy.status().message());
  opts.bad_records = *policy;
  // `dead-letter: {topic, bootstrap-servers (default: the source's), properties}`: where
  // bad-records: dead-letter sends them (runtime/connectors/kafka/dead_letter.h).
  if (YAML::Node dl = node["dead-letter"]) {
    if (*policy != connectors::kafka::BadRecordPolicy::kDeadLetter) {
      return Error(dl, "source: 'dead-letter' is only used with bad-records: dead-letter");
    }
    RETURN_IF_ERROR(CheckKeys(dl, "source.dead-letter", {"topic", "bootstrap-servers", "properties"}));
    connectors::kafka::KafkaDeadLetterOptions dlq;
    ASSIGN_OR_RETURN(dlq.topic, GetString(dl, "source.dead-letter", "topic", true));
    ASSIGN_OR_RETURN(dlq.bootstrap_servers,
                     GetString(dl, "source.dead-letter", "bootstrap-servers", false, ""));
    RETURN_IF_ERROR(GetKafkaProperties(dl, "source.dead-letter", &dlq.properties));
    if (dlq.bootstrap_servers.empty() && !dlq.properties.contains("bootstrap.servers")) {
      dlq.bootstrap_servers = opts.bootstrap_servers;
      if (dlq.bootstrap_servers.empty()) dlq.properties["bootstrap.servers"] = opts.properties["bootstrap.servers"];
    }
    auto sink = connectors::kafka::MakeKafkaDeadLetterSink(std::move(dlq));
    if (!sink.ok()) return Error(dl, "source.dead-letter: {}", sink.status().message());
    opts.dead_letter_sink = std::move(*sink);
  } else if (*policy == connectors::kafka::BadRecordPolicy::kDeadLetter) {
    return Error(node["bad-records"], "source: bad-records: dead-letter needs a 'dead-letter: "
                 "{{topic: ...}}' section naming the topic bad records go to");
  }
  ASSIGN_OR_RETURN(int batch, GetInt(node, what, "batch-size", 1024));
  if (batch < 1) return Error(node["batch-size"], "source: 'batch-size' must be at least 1");
  opts.batch_size = static_cast<size_t>(batch);
  ASSIGN_OR_RETURN(opts.rate_records_per_second, GetRate(node));
  if (node["partition-discovery-interval"]) {
    ASSIGN_OR_RETURN(opts.partition_discovery_interval_ms,
                     GetDuration(node, what, "partition-discovery-interval"));
  }
  ASSIGN_OR_RETURN(opts.commit_offsets_on_checkpoint,
                   GetBool(node, what, "commit-offsets-on-checkpoint", false));
  if (opts.commit_offsets_on_checkpoint && !opts.properties.contains("group.id")) {
    return Error(node["commit-offsets-on-checkpoint"], "source: commit-offsets-on-checkpoint "
                 "needs properties: {{group.id: ...}}");
  }
  ASSIGN_OR_RETURN(v->parallelism, OperatorParallelism(node, what, v->parallelism,
                                                       v->max_parallelism));
  v->source_name = "Source: " + name;
  v->source_uid = uid;
  v->output_schema = opts.schema;
  // FLIP-27: the JobMaster's KafkaSplitEnumerator discovers partitions and assigns them; the
  // readers (one per subtask) read what it sends them.
  v->enumerator = connectors::kafka::MakeKafkaSplitEnumeratorFactory(opts, uid);
  opts.split_assignment = connectors::kafka::SplitAssignment::kEnumerator;
  v->source = [opts]() -> absl::StatusOr<std::unique_ptr<operators::Source>> {
    return std::unique_ptr<operators::Source>(connectors::kafka::MakeKafkaSource(opts));
  };
  return absl::OkStatus();
}

// `rate` of a source: records per second per subtask, 0 (the default) = unlimited.
absl::StatusOr<double> Compiler::GetRate(const YAML::Node& node) const {
  YAML::Node rate = node["rate"];
  if (!rate) return 0.0;
  double r;
  if (!rate.IsScalar() || !YAML::convert<double>::decode(rate, r) || !(r >= 0) || r > 1e12) {
    return Error(rate, "source: 'rate' must be a number of records per second per subtask "
                 "(0 = unlimited), found '{}'", rate.IsScalar() ? rate.Scalar() : "a collection");
  }
  return r;
}

absl::Status Compiler::CompileSource(const YAML::Node& node, JobVertex* v) {
  if (!node) return absl::InvalidArgumentError(fmt::format("{}: missing required key 'source'", sub_.spec_path));
  // Dispatch on the type first, so that a wrong type is reported before the keys it implies.
  if (node.IsMap() && node["type"] && node["type"].IsScalar()) {
    const std::string& type = node["type"].Scalar();
    if (type == "datagen") return CompileDatagenSource(node, v);
    if (type == "kafka") return CompileKafkaSource(node, v);
    if (type != "file") {
      return Error(node["type"], "source: unknown type '{}' (expected: file, datagen, kafka)",
                   type);
    }
  }
  RETURN_IF_ERROR(CheckKeys(node, "source",
                            {"name", "uid", "type", "path", "format", "header", "delimiter",
                             "schema", "event-time", "parallelism", "batch-size", "rate"}));
  ASSIGN_OR_RETURN(std::string type, GetString(node, "source", "type", true));
  if (type != "file") {
    return Error(node["type"], "source: unknown type '{}' (expected: file, datagen, kafka)", type);
  }
  ASSIGN_OR_RETURN(std::string format, GetString(node, "source", "format", false, "csv"));
  if (format != "csv") return Error(node["format"], "source: unknown format '{}' (expected: csv)", format);
  ASSIGN_OR_RETURN(std::string name, GetString(node, "source", "name", false, "file"));
  ASSIGN_OR_RETURN(std::string uid, GetString(node, "source", "uid", false, "source"));
  connectors::CsvSourceOptions opts;
  YAML::Node path = node["path"];
  if (!path) return Error(node, "source: missing required key 'path'");
  if (path.IsScalar()) {
    opts.paths.push_back(ResolvePath(path.Scalar()));
  } else if (path.IsSequence()) {
    for (const auto& p : path) opts.paths.push_back(ResolvePath(p.as<std::string>()));
  } else {
    return Error(path, "source: 'path' must be a path or a list of paths");
  }
  ASSIGN_OR_RETURN(opts.header, GetBool(node, "source", "header", true));
  ASSIGN_OR_RETURN(std::string delim, GetString(node, "source", "delimiter", false, ","));
  if (delim.size() != 1) return Error(node["delimiter"], "source: 'delimiter' must be one character");
  opts.delimiter = delim[0];
  ASSIGN_OR_RETURN(int batch, GetInt(node, "source", "batch-size", 1024));
  if (batch < 1) return Error(node["batch-size"], "source: 'batch-size' must be at least 1");
  opts.batch_size = static_cast<size_t>(batch);
  ASSIGN_OR_RETURN(opts.rate_records_per_second, GetRate(node));
  ASSIGN_OR_RETURN(opts.schema, CompileSourceSchema(node));
  RETURN_IF_ERROR(CompileSourceEventTime(node, *opts.schema, &opts.event_time_field,
                                         &opts.max_out_of_orderness_ms));
  ASSIGN_OR_RETURN(v->parallelism, OperatorParallelism(node, "source", v->parallelism,
                                                       v->max_parallelism));
  v->source_name = "Source: " + name;
  v->source_uid = uid;
  v->output_schema = opts.schema;
  v->source = [opts]() -> absl::StatusOr<std::unique_ptr<operators::Source>> {
    return connectors::MakeCsvFileSource(opts);
  };
  return absl::OkStatus();
}

// `checkpointing:` and `restart-strategy:` sections -> Flink's flat configuration keys, with
// durations normalised to milliseconds.
absl::Status Compiler::CompileSettings(const YAML::Node& root,
                                       std::map<std::string, std::string>* out) {
  if (YAML::Node cp = root["checkpointing"]) {
    RETURN_IF_ERROR(CheckKeys(cp, "checkpointing",
                              {"interval", "timeout", "min-pause", "max-concurrent",
                               "tolerable-failed-checkpoints", "retained", "dir"}));
    const std::pair<const char*, const char*> durations[] = {
        {"interval", "execution.checkpointing.interval"},
        {"timeout", "execution.checkpointing.timeout"},
        {"min-pause", "execution.checkpointing.min-pause"}};
    for (const auto& [key, flink] : durations) {
      if (!cp[key]) continue;
      ASSIGN_OR_RETURN(int64_t ms, GetDuration(cp, "checkpointing", key));
      (*out)[flink] = std::to_string(ms);
    }
    const std::tuple<const char*, const char*, int> ints[] = {
        {"max-concurrent", "execution.checkpointing.max-concurrent-checkpoints", 1},
        {"tolerable-failed-checkpoints", "execution.checkpointing.tolerable-failed-checkpoints", 0},
        {"retained", "state.checkpoints.num-retained", 1}};
    for (const auto& [key, flink, min] : ints) {
      if (!cp[key]) continue;
      ASSIGN_OR_RETURN(int v, GetInt(cp, "checkpointing", key, min));
      if (v < min) return Error(cp[key], "checkpointing: '{}' must be at least {}", key, min);
      (*out)[flink] = std::to_string(v);
    }
    if (cp["dir"]) {
      ASSIGN_OR_RETURN(std::string dir, GetString(cp, "checkpointing", "dir", true));
      (*out)["state.checkpoints.dir"] = ResolvePath(dir);
    }
    auto interval = out->find("execution.checkpointing.interval");
    if (interval != out->end() && interval->second != "0" && std::stoll(interval->second) < 10) {
      return Error(cp["interval"], "checkpointing: interval must be 0 (off) or at least 10 ms");
    }
  }
  if (YAML::Node st = root["state"]) {
    RETURN_IF_ERROR(
        CheckKeys(st, "state", {"backend", "local-dir", "rocksdb", "incremental", "ttl"}));
    if (st["ttl"]) {
      // Flink SQL's table.exec.state.ttl: keyed state expires this long after its last write
      // (processing time); 0 = never (the default). Applied by the window operator.
      ASSIGN_OR_RETURN(int64_t ttl, GetDuration(st, "state", "ttl"));
      (*out)["table.exec.state.ttl"] = std::to_string(ttl);
    }
    if (YAML::Node r = st["rocksdb"]) {
      RETURN_IF_ERROR(CheckKeys(r, "state.rocksdb",
                                {"block-cache-size", "write-buffer-size", "timer-service"}));
      if (r["timer-service"]) {
        // Flink's state.backend.rocksdb.timer-service.factory: ROCKSDB (default) | HEAP.
        ASSIGN_OR_RETURN(std::string ts, GetString(r, "state.rocksdb", "timer-service", true));
        if (ts != "rocksdb" && ts != "heap") {
          return Error(r["timer-service"], "state.rocksdb: 'timer-service' must be rocksdb or "
                       "heap, found '{}'", ts);
        }
        (*out)["state.backend.rocksdb.timer-service.factory"] = ts == "heap" ? "HEAP" : "ROCKSDB";
      }
      // Flink's state.backend.rocksdb.block.cache-size / .writebuffer.size, in bytes or with a
      // unit suffix (kb, mb, gb).
      const std::pair<const char*, const char*> sizes[] = {
          {"block-cache-size", "state.backend.rocksdb.block.cache-size"},
          {"write-buffer-size", "state.backend.rocksdb.writebuffer.size"}};
      for (const auto& [key, flink] : sizes) {
        if (!r[key]) continue;
        ASSIGN_OR_RETURN(std::string text, GetString(r, "state.rocksdb", key, true));
        auto bytes = ParseMemorySize(text);
        if (!bytes) {
          return Error(r[key], "state.rocksdb: '{}' must be a size like 64 mb, found '{}'", key,
                       text);
        }
        (*out)[flink] = std::to_string(*bytes);
      }
    }
    ASSIGN_OR_RETURN(std::string backend, GetString(st, "state", "backend", false, "heap"));
    if (backend != "heap" && backend != "hashmap" && backend != "rocksdb") {
      return Error(st["backend"], "state: unknown backend '{}' (expected heap or rocksdb)", backend);
    }
    (*out)["state.backend"] = backend == "hashmap" ? "heap" : backend;
    // Flink's state.backend.incremental; Sluice defaults it to true (see docs/job-spec.md).
    ASSIGN_OR_RETURN(bool incremental, GetBool(st, "state", "incremental", true));
    if (incremental && backend != "rocksdb" && st["incremental"]) {
      return Error(st["incremental"], "state: incremental checkpoints need backend: rocksdb "
                   "(the heap backend always takes full snapshots)");
    }
    if (backend == "rocksdb") (*out)["state.backend.incremental"] = incremental ? "true" : "false";
    if (st["local-dir"]) {
      ASSIGN_OR_RETURN(std::string dir, GetString(st, "state", "local-dir", true));
      (*out)["state.local-dir"] = ResolvePath(dir);
    }
  }
  if (YAML::Node rs = root["restart-strategy"]) {
    if (!rs.IsMap()) return Error(rs, "restart-strategy must be a mapping with a 'type'");
    ASSIGN_OR_RETURN(std::string type, GetString(rs, "restart-strategy", "type", true));
    (*out)["restart-strategy.type"] = type;
    for (const auto& kv : rs) {
      std::string key = kv.first.as<std::string>();
      if (key == "type") continue;
      if (!kv.second.IsScalar()) return Error(kv.second, "restart-strategy: '{}' must be a scalar", key);
      (*out)["restart-strategy." + type + "." + key] = kv.second.Scalar();
    }
  }
  return absl::OkStatus();
}

absl::Status Compiler::GetKafkaProperties(const YAML::Node& map, std::string_view what,
                                          std::map<std::string, std::string>* out) const {
  YAML::Node props = map["properties"];
  if (!props) return absl::OkStatus();
  if (!props.IsMap()) return Error(props, "{}: 'properties' must be a mapping of librdkafka properties", what);
  for (const auto& kv : props) {
    if (!kv.second.IsScalar()) {
      return Error(kv.second, "{}: property '{}' must be a scalar", what, kv.first.as<std::string>());
    }
    (*out)[kv.first.as<std::string>()] = kv.second.Scalar();
  }
  return absl::OkStatus();
}

// `sink: {type: kafka, ...}`: runtime/connectors/kafka/kafka_sink.h (KafkaSinkOptions documents
// every key; docs/job-spec.md the YAML).
absl::StatusOr<graph::OperatorFactory> Compiler::CompileKafkaSink(const YAML::Node& node,
                                                                  SchemaPtr schema) {
  const char* what = "sink";
  connectors::kafka::KafkaSinkOptions opts;
  opts.schema = schema;
  ASSIGN_OR_RETURN(opts.bootstrap_servers, GetString(node, what, "bootstrap-servers", false, ""));
  RETURN_IF_ERROR(GetKafkaProperties(node, what, &opts.properties));
  if (opts.bootstrap_servers.empty() && !opts.properties.contains("bootstrap.servers")) {
    return Error(node, "sink: missing required key 'bootstrap-servers'");
  }
  if (opts.properties.contains("transactional.id")) {
    return Error(node["properties"], "sink: property 'transactional.id' is set by the sink; give "
                 "'transactional-id-prefix' with delivery: exactly-once");
  }
  ASSIGN_OR_RETURN(opts.topic, GetString(node, what, "topic", true));
  if (opts.topic.empty()) return Error(node["topic"], "sink: 'topic' must not be empty");
  ASSIGN_OR_RETURN(std::string format, GetString(node, what, "format", false, "csv"));
  auto fmt_kind = connectors::kafka::ParseRecordFormat(format);
  if (!fmt_kind.ok()) return Error(node["format"], "sink: {}", fmt_kind.status().message());
  opts.format.format = *fmt_kind;
  if (opts.format.format == connectors::kafka::RecordFormat::kRaw &&
      (schema->num_fields() != 1 || schema->field(0).type != core::Type::kString)) {
    return Error(node["format"], "sink: format raw writes one string field, but the records "
                 "have {} field(s): {}", schema->num_fields(), schema->ToString());
  }
  ASSIGN_OR_RETURN(std::string delim, GetString(node, what, "delimiter", false, ","));
  if (delim.size() != 1) return Error(node["delimiter"], "sink: 'delimiter' must be one character");
  opts.format.csv_delimiter = delim[0];
  if (YAML::Node key = node["key"]) {
    std::vector<std::string> fields;
    if (key.IsScalar()) {
      fields.push_back(key.Scalar());
    } else if (key.IsSequence() && key.size() > 0) {
      for (const auto& k : key) fields.push_back(k.as<std::string>());
    } else {
      return Error(key, "sink: 'key' must be a field name or a non-empty list of them");
    }
    for (const auto& f : fields) {
      if (schema->FindField(f) < 0) {
        return Error(key, "sink: key field '{}' is not in the records ({})", f, schema->ToString());
      }
    }
    opts.key_fields = std::move(fields);
  }
  ASSIGN_OR_RETURN(std::string partitioner, GetString(node, what, "partitioner", false,
                                                      opts.key_fields.empty() ? "default" : "key"));
  auto part = connectors::kafka::ParseSinkPartitioner(partitioner);
  if (!part.ok()) return Error(node["partitioner"], "sink: {}", part.status().message());
  opts.partitioner = *part;
  if (opts.partitioner == connectors::kafka::SinkPartitioner::kKey && opts.key_fields.empty()) {
    return Error(node["partitioner"], "sink: partitioner: key needs 'key' fields");
  }
  ASSIGN_OR_RETURN(std::string delivery, GetString(node, what, "delivery", false, "at-least-once"));
  auto guarantee = connectors::kafka::ParseDeliveryGuarantee(delivery);
  if (!guarantee.ok()) return Error(node["delivery"], "sink: {}", guarantee.status().message());
  opts.delivery = *guarantee;
  ASSIGN_OR_RETURN(opts.transactional_id_prefix,
                   GetString(node, what, "transactional-id-prefix", false, ""));
  if (opts.delivery == connectors::kafka::DeliveryGuarantee::kExactlyOnce &&
      opts.transactional_id_prefix.empty()) {
    return Error(node, "sink: delivery: exactly-once needs 'transactional-id-prefix' (unique per "
                 "sink among all jobs writing to the cluster, as in Flink)");
  }
  if (opts.delivery != connectors::kafka::DeliveryGuarantee::kExactlyOnce &&
      node["transactional-id-prefix"]) {
    return Error(node["transactional-id-prefix"], "sink: 'transactional-id-prefix' is only used "
                 "with delivery: exactly-once");
  }
  ASSIGN_OR_RETURN(int pool, GetInt(node, what, "transactional-id-pool-size", 5));
  if (pool < 2) {
    return Error(node["transactional-id-pool-size"], "sink: 'transactional-id-pool-size' must "
                 "be at least 2, found {}", pool);
  }
  opts.transactional_id_pool_size = pool;
  return graph::OperatorFactory([opts]() -> absl::StatusOr<std::unique_ptr<operators::Operator>> {
    return connectors::kafka::MakeKafkaSink(opts);
  });
}

absl::StatusOr<ChainedOperator> Compiler::CompileSink(const YAML::Node& node, SchemaPtr schema,
                                                     int default_parallelism,
                                                     int max_parallelism, int* parallelism) {
  if (!node) return absl::InvalidArgumentError(fmt::format("{}: missing required key 'sink'", sub_.spec_path));
  if (!node.IsMap()) return Error(node, "sink must be a mapping");
  ASSIGN_OR_RETURN(std::string type, GetString(node, "sink", "type", true));
  if (type == "kafka") {
    RETURN_IF_ERROR(CheckKeys(node, "sink",
                              {"name", "uid", "type", "bootstrap-servers", "topic", "format",
                               "delimiter", "key", "partitioner", "delivery",
                               "transactional-id-prefix", "transactional-id-pool-size",
                               "properties", "parallelism"}));
  } else {
    RETURN_IF_ERROR(
        CheckKeys(node, "sink", {"name", "uid", "type", "path", "header", "parallelism"}));
  }
  ASSIGN_OR_RETURN(std::string name, GetString(node, "sink", "name", false, type));
  ASSIGN_OR_RETURN(std::string uid, GetString(node, "sink", "uid", false, "sink"));
  ASSIGN_OR_RETURN(*parallelism, OperatorParallelism(node, fmt::format("sink (uid '{}')", uid),
                                                     default_parallelism, max_parallelism));
  graph::OperatorFactory factory;
  if (type == "kafka") {
    ASSIGN_OR_RETURN(factory, CompileKafkaSink(node, schema));
  } else if (type == "file") {
    connectors::FileSinkOptions opts;
    ASSIGN_OR_RETURN(std::string path, GetString(node, "sink", "path", true));
    opts.path = ResolvePath(path);
    ASSIGN_OR_RETURN(opts.header, GetBool(node, "sink", "header", true));
    opts.schema = schema;
    factory = [opts]() -> absl::StatusOr<std::unique_ptr<operators::Operator>> {
      return connectors::MakeFileSink(opts);
    };
  } else if (type == "print") {
    factory = [schema]() -> absl::StatusOr<std::unique_ptr<operators::Operator>> {
      return connectors::MakePrintSink(schema);
    };
  } else {
    return Error(node["type"], "sink: unknown type '{}' (expected: file, print, kafka)", type);
  }
  return ChainedOperator{"Sink: " + name, uid, std::move(factory)};
}

// Parses "fn(field)" / "count()" / "count(*)".
bool ParseAggregate(const std::string& text, std::string* fn, std::string* field) {
  auto open = text.find('(');
  auto close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open ||
      close != text.size() - 1) {
    return false;
  }
  auto trim = [](std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    size_t i = 0;
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    return s.substr(i);
  };
  *fn = trim(text.substr(0, open));
  for (char& c : *fn) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  *field = trim(text.substr(open + 1, close - open - 1));
  if (*field == "*") field->clear();
  return !fn->empty();
}

std::string VertexId(const std::string& job, const JobVertex& v) {
  std::string seed = job;
  if (v.is_source()) seed += "/" + v.source_uid;
  for (const auto& op : v.operators) seed += "/" + op.uid;
  uint64_t h1 = std::hash<std::string>{}(seed);
  uint64_t h2 = std::hash<std::string>{}(seed + "#");
  return fmt::format("{:016x}{:016x}", h1, h2);
}

absl::StatusOr<JobGraph> Compiler::Compile() {
  YAML::Node root;
  try {
    root = YAML::Load(sub_.spec_yaml);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(fmt::format("{}:{}:{}: YAML syntax error: {}", sub_.spec_path,
                                                  e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  try {
    if (!root.IsMap()) {
      return absl::InvalidArgumentError(
          fmt::format("{}: a job spec must be a YAML mapping with source, pipeline and sink",
                      sub_.spec_path));
    }
    RETURN_IF_ERROR(CheckKeys(root, "job",
                              {"name", "parallelism", "max-parallelism", "source", "pipeline",
                               "sink", "checkpointing", "restart-strategy", "state"}));
    JobGraph g;
    ASSIGN_OR_RETURN(g.name, GetString(root, "job", "name", false, "sluice-job"));
    ASSIGN_OR_RETURN(g.parallelism, GetInt(root, "job", "parallelism", 1));
    if (sub_.parallelism > 0) g.parallelism = sub_.parallelism;
    if (g.parallelism < 1) {
      return Error(root["parallelism"], "job: parallelism {} must be at least 1", g.parallelism);
    }
    ASSIGN_OR_RETURN(g.max_parallelism, GetInt(root, "job", "max-parallelism",
                                               core::ComputeDefaultMaxParallelism(g.parallelism)));
    YAML::Node at_par = root["max-parallelism"] ? root["max-parallelism"] : root;
    if (auto s = core::CheckParallelism(g.parallelism, g.max_parallelism); !s.ok()) {
      return Error(at_par, "job: {}", s.message());
    }

    RETURN_IF_ERROR(CompileSettings(root, &g.settings));

    JobVertex current;
    current.parallelism = g.parallelism;
    current.max_parallelism = g.max_parallelism;
    RETURN_IF_ERROR(CompileSource(root["source"], &current));
    SchemaPtr schema = current.output_schema;
    bool has_event_time = root["source"]["event-time"].IsDefined();

    // Starts a new vertex of `parallelism` fed by `kind`; the finished one goes into the graph.
    auto new_vertex = [&](PartitionerKind kind, std::vector<std::string> keys, int parallelism) {
      current.output_schema = schema;
      g.vertices.push_back(std::move(current));
      current = JobVertex{};
      current.parallelism = parallelism;
      current.max_parallelism = g.max_parallelism;
      current.input_schema = schema;
      g.edges.push_back(graph::JobEdge{static_cast<int>(g.vertices.size()) - 1,
                                       static_cast<int>(g.vertices.size()), kind,
                                       std::move(keys), schema});
    };
    // Flink's chaining rule: an operator joins the current vertex only over a forward edge, i.e.
    // at the same parallelism and with no partitioning step (rebalance) since the last operator.
    // Otherwise it starts a new vertex behind a rebalance edge, the edge Flink puts between
    // operators of different parallelism. Splitting only when an operator arrives leaves no
    // empty vertex (a source of its own parallelism followed by key-by gets one hash edge).
    bool pending_rebalance = false;  // set by a rebalance step, consumed by the next operator
    auto chain = [&](ChainedOperator op, int parallelism) {
      if (pending_rebalance || parallelism != current.parallelism) {
        new_vertex(PartitionerKind::kRebalance, {}, parallelism);
      }
      pending_rebalance = false;
      current.operators.push_back(std::move(op));
    };

    YAML::Node pipeline = root["pipeline"];
    if (pipeline && !pipeline.IsSequence()) {
      return Error(pipeline, "pipeline must be a list of steps");
    }
    std::vector<std::string> pending_keys;  // set by key-by, consumed by window
    YAML::Node pending_key_node;
    int position = 0;
    for (const auto& step : pipeline) {
      ++position;
      std::string op;
      YAML::Node body, name_node, uid_node;
      bool has_parallelism = false;
      if (step.IsScalar()) {
        op = step.Scalar();
        body = YAML::Node(step);
      } else if (step.IsMap()) {
        for (const auto& kv : step) {
          std::string k = kv.first.as<std::string>();
          if (k == "name") name_node = kv.second;
          else if (k == "uid") uid_node = kv.second;
          else if (k == "parallelism") has_parallelism = true;
          else if (!op.empty())
            return Error(kv.first, "pipeline step {}: has two operators '{}' and '{}'", position, op, k);
          else {
            op = k;
            body = kv.second;
          }
        }
        if (op.empty()) return Error(step, "pipeline step {}: names no operator", position);
      } else {
        return Error(step, "pipeline step {}: must be an operator mapping like '- filter: ...'", position);
      }
      if (op == "key_by") op = "key-by";
      auto given = [](const YAML::Node& n) { return n.IsDefined() && n.IsScalar(); };
      std::string uid =
          given(uid_node) ? uid_node.Scalar() : fmt::format("{}-{}", op, position);
      auto named = [&](std::string def) { return given(name_node) ? name_node.Scalar() : def; };
      YAML::Node at = step.IsMap() ? YAML::Node(step) : body;
      if (!pending_keys.empty() && op != "window") {
        return Error(at, "pipeline step {}: '{}' after key-by: key-by must be followed by a window",
                     position, op);
      }
      // Partitioning steps have no parallelism of their own (as in Flink, where keyBy and
      // rebalance are partition transformations): the operator after them has it.
      if (has_parallelism && (op == "key-by" || op == "rebalance")) {
        return Error(step["parallelism"],
                     "{}: 'parallelism' belongs on the {} after it ({} is a partitioning, not "
                     "an operator)",
                     op, op == "key-by" ? "window" : "operator", op);
      }
      int parallelism = g.parallelism;
      const bool is_operator = op == "filter" || op == "map" || op == "project" || op == "window";
      if (has_parallelism && is_operator) {
        ASSIGN_OR_RETURN(parallelism,
                         OperatorParallelism(step, fmt::format("{} (uid '{}')", op, uid),
                                             g.parallelism, g.max_parallelism));
      }
      if (op == "filter") {
        ASSIGN_OR_RETURN(auto e, CompileExpr(body, "filter", *schema));
        if (e->type() != core::Type::kBool) {
          return Error(body, "filter '{}': must be a bool expression, is {}", body.Scalar(),
                       core::TypeName(e->type()));
        }
        std::string text = body.Scalar();
        SchemaPtr in = schema;
        chain(ChainedOperator{
            named("Filter"), uid, [in, text]() -> absl::StatusOr<std::unique_ptr<operators::Operator>> {
              ASSIGN_OR_RETURN(auto ex, expr::Expression::Compile(text, *in));
              return std::unique_ptr<operators::Operator>(
                  std::make_unique<operators::FilterOperator>(in, std::move(ex)));
            }}, parallelism);
      } else if (op == "map") {
        if (!body.IsMap() || body.size() == 0) {
          return Error(body, "map: expected a mapping of output field to expression");
        }
        std::vector<std::pair<std::string, std::string>> outs;
        std::vector<core::Field> fields;
        for (const auto& kv : body) {
          std::string fname = kv.first.as<std::string>();
          ASSIGN_OR_RETURN(auto e, CompileExpr(kv.second, fmt::format("map field '{}'", fname), *schema));
          outs.emplace_back(fname, kv.second.Scalar());
          fields.push_back({fname, e->type()});
        }
        SchemaPtr in = schema;
        chain(ChainedOperator{
            named("Map"), uid, [in, outs]() -> absl::StatusOr<std::unique_ptr<operators::Operator>> {
              std::vector<std::pair<std::string, std::unique_ptr<expr::Expression>>> exprs;
              for (const auto& [n, t] : outs) {
                ASSIGN_OR_RETURN(auto ex, expr::Expression::Compile(t, *in));
                exprs.emplace_back(n, std::move(ex));
              }
              return std::unique_ptr<operators::Operator>(
                  std::make_unique<operators::MapOperator>(in, std::move(exprs)));
            }}, parallelism);
        schema = std::make_shared<core::Schema>(std::move(fields));
      } else if (op == "project") {
        if (!body.IsSequence() || body.size() == 0) {
          return Error(body, "project: expected a list of field names");
        }
        std::vector<std::string> names;
        std::vector<core::Field> fields;
        for (const auto& f : body) {
          std::string n = f.as<std::string>();
          int idx = schema->FindField(n);
          if (idx < 0) {
            return Error(f, "project: unknown field '{}' (fields: {})", n, schema->HeaderLine());
          }
          names.push_back(n);
          fields.push_back(schema->field(static_cast<size_t>(idx)));
        }
        SchemaPtr in = schema;
        chain(ChainedOperator{named("Project"), uid,
                              [in, names]() { return operators::MakeProject(in, names); }},
              parallelism);
        schema = std::make_shared<core::Schema>(std::move(fields));
      } else if (op == "key-by") {
        std::vector<std::string> keys;
        if (body.IsScalar()) keys.push_back(body.Scalar());
        else if (body.IsSequence()) for (const auto& k : body) keys.push_back(k.as<std::string>());
        if (keys.empty()) return Error(body, "key-by: expected a field name or a list of field names");
        auto sel = core::KeySelector::Create(*schema, keys);
        if (!sel.ok()) return Error(body, "key-by: {}", sel.status().message());
        pending_keys = keys;
        pending_key_node = body;
      } else if (op == "window") {
        if (pending_keys.empty()) {
          return Error(at, "window: missing key: a window needs a key-by step before it");
        }
        if (!has_event_time) {
          return Error(at, "window: event-time windows need 'event-time' declared on the source");
        }
        if (body.IsMap() && body["parallelism"]) {
          return Error(body["parallelism"],
                       "window: 'parallelism' goes beside 'window:' in the step (like name and "
                       "uid), not inside the window");
        }
        RETURN_IF_ERROR(CheckKeys(body, "window", {"type", "size", "offset", "aggregates"}));
        ASSIGN_OR_RETURN(std::string wtype, GetString(body, "window", "type", false, "tumbling"));
        if (wtype != "tumbling") {
          return Error(body["type"], "window: unknown type '{}' (v1 supports: tumbling)", wtype);
        }
        operators::TumblingWindowSpec spec;
        ASSIGN_OR_RETURN(spec.size_ms, GetDuration(body, "window", "size"));
        if (spec.size_ms <= 0) return Error(body["size"], "window: size must be positive");
        if (body["offset"]) {
          ASSIGN_OR_RETURN(spec.offset_ms, GetDuration(body, "window", "offset"));
        }
        spec.key_fields = pending_keys;
        YAML::Node aggs = body["aggregates"];
        if (!aggs || !aggs.IsMap() || aggs.size() == 0) {
          return Error(aggs ? aggs : body,
                       "window: 'aggregates' must map output names to 'fn(field)' "
                       "(count, sum, min, max, avg)");
        }
        for (const auto& kv : aggs) {
          std::string out = kv.first.as<std::string>();
          std::string fn, field;
          if (!kv.second.IsScalar() || !ParseAggregate(kv.second.Scalar(), &fn, &field)) {
            return Error(kv.second, "window: aggregate '{}' must look like 'fn(field)' or 'count()'", out);
          }
          operators::AggregateSpec a{out, operators::AggregateKind::kCount, field};
          if (fn == "count") a.kind = operators::AggregateKind::kCount;
          else if (fn == "sum") a.kind = operators::AggregateKind::kSum;
          else if (fn == "min") a.kind = operators::AggregateKind::kMin;
          else if (fn == "max") a.kind = operators::AggregateKind::kMax;
          else if (fn == "avg") a.kind = operators::AggregateKind::kAvg;
          else return Error(kv.second, "window: aggregate '{}': unknown function '{}' (expected count, sum, min, max, avg)", out, fn);
          if (a.kind != operators::AggregateKind::kCount && field.empty()) {
            return Error(kv.second, "window: aggregate '{}': {}() needs a field", out, fn);
          }
          spec.aggregates.push_back(a);
        }
        SchemaPtr in = schema;
        auto probe = operators::MakeTumblingWindowAggregate(in, spec);
        if (!probe.ok()) return Error(body, "window: {}", probe.status().message());
        // The hash edge replaces any rebalance before the key-by (in Flink the last partitioning
        // wins).
        new_vertex(PartitionerKind::kHash, pending_keys, parallelism);
        pending_rebalance = false;
        schema = (*probe)->output_schema();
        current.operators.push_back(ChainedOperator{
            named(fmt::format("Window(TumblingEventTimeWindows({}))", spec.size_ms)), uid,
            [in, spec]() { return operators::MakeTumblingWindowAggregate(in, spec); },
            /*keyed=*/true});
        pending_keys.clear();
      } else if (op == "rebalance") {
        pending_rebalance = true;
      } else {
        return Error(at, "pipeline step {}: unknown operator '{}' (expected filter, map, project, "
                     "key-by, window, rebalance)", position, op);
      }
    }
    if (!pending_keys.empty()) {
      return Error(pending_key_node, "key-by: must be followed by a window");
    }
    int sink_parallelism = g.parallelism;
    ASSIGN_OR_RETURN(ChainedOperator sink,
                     CompileSink(root["sink"], schema, g.parallelism, g.max_parallelism,
                                 &sink_parallelism));
    chain(std::move(sink), sink_parallelism);
    current.output_schema = schema;
    g.vertices.push_back(std::move(current));
    for (size_t i = 0; i < g.vertices.size(); ++i) {
      JobVertex& v = g.vertices[i];
      v.index = static_cast<int>(i);
      std::string name = v.is_source() ? v.source_name : "";
      for (const auto& op : v.operators) name += (name.empty() ? "" : " -> ") + op.name;
      v.name = name;
      v.id = VertexId(g.name, v);
      // Instantiate every operator once so that a bad spec fails now, not at run time.
      for (const auto& op : v.operators) {
        auto probe = op.factory();
        if (!probe.ok()) {
          return absl::InvalidArgumentError(
              fmt::format("{}: {}: {}", sub_.spec_path, op.name, probe.status().message()));
        }
      }
    }
    return g;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(fmt::format("{}:{}:{}: {}", sub_.spec_path, e.mark.line + 1,
                                                  e.mark.column + 1, e.msg));
  }
}

}  // namespace

absl::StatusOr<JobGraph> CompileJob(const JobSubmission& submission) {
  return Compiler(submission).Compile();
}

}  // namespace sluice::job

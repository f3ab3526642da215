#include "runtime/job/node_compilers.h"

#include <optional>
#include <regex>
#include <set>

#include "fmt/format.h"
#include "runtime/base/status.h"
#include "runtime/connectors/datagen/datagen_source.h"
#include "runtime/connectors/file/csv_source.h"
#include "runtime/connectors/kafka/dead_letter.h"
#include "runtime/connectors/kafka/kafka_enumerator.h"
#include "runtime/expr/expression.h"
#include "runtime/operators/idle_source.h"
#include "runtime/connectors/kafka/kafka_source.h"
#include "runtime/core/time_format.h"

namespace sluice::job {
namespace {

using core::SchemaPtr;

// Compiles one `source:` (or one entry of `sources:`) into a StreamNode.
class SourceCompiler {
 public:
  SourceCompiler(const SpecReader& r, const NodeDefaults& d) : r_(r), d_(d) {}
  absl::Status CompileSource(const YAML::Node& node, graph::StreamNode* v);

 private:
  absl::StatusOr<SchemaPtr> CompileSourceSchema(const YAML::Node& node) const;
  absl::Status CompileSourceEventTime(const YAML::Node& node, const core::Schema& schema,
                                      operators::EventTimeSpec* spec,
                                      int64_t* max_out_of_orderness_ms) const;
  absl::Status CompileDatagenSource(const YAML::Node& node, graph::StreamNode* v);
  absl::Status CompileKafkaSource(const YAML::Node& node, graph::StreamNode* v);
  absl::StatusOr<connectors::DatagenField> CompileDatagenField(const YAML::Node& spec,
                                                               const std::string& fname,
                                                               core::Type type) const;
  std::string DefaultName(const char* type) const { return d_.name.empty() ? type : d_.name; }
  absl::Status CheckSourceKeys(const YAML::Node& node, std::set<std::string> allowed) const {
    allowed.insert(d_.extra_keys.begin(), d_.extra_keys.end());
    return r_.CheckKeys(node, "source", allowed);
  }

  const SpecReader& r_;
  const NodeDefaults& d_;
};

// `schema:` of a source: an ordered mapping of field name to type.
absl::StatusOr<SchemaPtr> SourceCompiler::CompileSourceSchema(const YAML::Node& node) const {
  return r_.GetSchema(node, "source");
}

// `event-time:` of a source; leaves *spec empty when there is none. An int64 field or
// expression must declare its `unit` (ms or s): epoch seconds are never taken as milliseconds.
absl::Status SourceCompiler::CompileSourceEventTime(const YAML::Node& node,
                                                    const core::Schema& schema,
                                                    operators::EventTimeSpec* spec,
                                                    int64_t* max_out_of_orderness_ms) const {
  YAML::Node et = node["event-time"];
  if (!et) return absl::OkStatus();
  RETURN_IF_ERROR(r_.CheckKeys(et, "source.event-time",
                               {"field", "expression", "unit", "max-out-of-orderness"}));
  if (et["field"] && et["expression"]) {
    return r_.Error(et["expression"], "source.event-time: give 'field' or 'expression', not both");
  }
  const bool by_expression = static_cast<bool>(et["expression"]);
  core::Type type;
  if (by_expression) {
    ASSIGN_OR_RETURN(spec->expression, r_.GetString(et, "source.event-time", "expression", true));
    int offset = 0;
    auto e = expr::Expression::Compile(spec->expression, schema, &offset);
    if (!e.ok()) {
      return r_.Error(et["expression"], "source.event-time: expression '{}' at column {}: {}",
                      spec->expression, offset + 1, e.status().message());
    }
    type = (*e)->type();
  } else {
    ASSIGN_OR_RETURN(spec->field, r_.GetString(et, "source.event-time", "field", true));
    const int idx = schema.FindField(spec->field);
    if (idx < 0) {
      return r_.Error(et["field"], "source.event-time: unknown field '{}' (fields: {})",
                      spec->field, schema.HeaderLine());
    }
    type = schema.field(static_cast<size_t>(idx)).type;
  }
  const YAML::Node where = by_expression ? et["expression"] : et["field"];
  const std::string what = by_expression ? "expression '" + spec->expression + "'"
                                         : "field '" + spec->field + "'";
  if (type != core::Type::kTimestamp && type != core::Type::kInt64) {
    return r_.Error(where, "source.event-time: {} is {}, expected timestamp or int64 (epoch ms or "
                    "s, with unit)", what, core::TypeName(type));
  }
  if (et["unit"]) {
    ASSIGN_OR_RETURN(std::string unit, r_.GetString(et, "source.event-time", "unit", true));
    if (type != core::Type::kInt64) {
      return r_.Error(et["unit"], "source.event-time: 'unit' applies to int64 event times; {} is "
                      "a timestamp", what);
    }
    if (unit == "ms") {
      spec->unit = operators::EventTimeSpec::Unit::kMilliseconds;
    } else if (unit == "s") {
      spec->unit = operators::EventTimeSpec::Unit::kSeconds;
    } else {
      return r_.Error(et["unit"], "source.event-time: unknown unit '{}' (expected ms or s)", unit);
    }
  } else if (type == core::Type::kInt64) {
    return r_.Error(where, "source.event-time: {} is int64: declare its unit (unit: ms for epoch "
                    "milliseconds, unit: s for epoch seconds)", what);
  }
  if (et["max-out-of-orderness"]) {
    ASSIGN_OR_RETURN(*max_out_of_orderness_ms,
                     r_.GetDuration(et, "source.event-time", "max-out-of-orderness"));
  }
  return absl::OkStatus();
}

// One entry of the datagen source's `fields:` (the generator of field `fname` of `type`). Only
// the keys that apply to the kind and type are accepted.
absl::StatusOr<connectors::DatagenField> SourceCompiler::CompileDatagenField(
    const YAML::Node& spec, const std::string& fname, core::Type type) const {
  const std::string what = "source.fields." + fname;
  if (!spec.IsMap()) {
    return r_.Error(spec, "{}: expected a generator mapping like {{kind: random}}", what);
  }
  ASSIGN_OR_RETURN(std::string kind, r_.GetString(spec, what, "kind", false, "random"));
  YAML::Node at_kind = spec["kind"] ? spec["kind"] : spec;
  const std::string_view type_name = core::TypeName(type);
  connectors::DatagenField f;
  if (kind == "sequence") {
    if (type == core::Type::kBool) {
      return r_.Error(at_kind, "{}: kind sequence does not apply to a bool field", what);
    }
    RETURN_IF_ERROR(r_.CheckKeys(spec, what, {"kind", "start", "end"}));
    f.kind = connectors::DatagenKind::kSequence;
    ASSIGN_OR_RETURN(f.start, r_.GetInt64(spec, what, "start", type));
    ASSIGN_OR_RETURN(f.end, r_.GetInt64(spec, what, "end", type));
    if (f.end < f.start) {
      return r_.Error(spec["end"], "{}: sequence end {} is below start {}", what, f.end, f.start);
    }
    return f;
  }
  if (kind == "now") {
    if (type != core::Type::kTimestamp && type != core::Type::kInt64) {
      return r_.Error(at_kind, "{}: kind now needs a timestamp or int64 field, '{}' is {}", what,
                   fname, type_name);
    }
    RETURN_IF_ERROR(r_.CheckKeys(spec, what, {"kind"}));
    f.kind = connectors::DatagenKind::kNow;
    return f;
  }
  if (kind != "random") {
    return r_.Error(at_kind, "{}: unknown kind '{}' (expected: random, sequence, now)", what, kind);
  }
  switch (type) {
    case core::Type::kInt64:
    case core::Type::kTimestamp: {
      if (type == core::Type::kInt64) {
        RETURN_IF_ERROR(r_.CheckKeys(spec, what, {"kind", "min", "max"}));
      } else {
        RETURN_IF_ERROR(r_.CheckKeys(spec, what, {"kind", "min", "max", "max-past"}));
        if (spec["max-past"]) {
          if (spec["min"] || spec["max"]) {
            return r_.Error(spec["max-past"],
                         "{}: 'max-past' and 'min'/'max' exclude each other", what);
          }
          ASSIGN_OR_RETURN(f.max_past_ms, r_.GetDuration(spec, what, "max-past"));
          if (f.max_past_ms < 0) {
            return r_.Error(spec["max-past"], "{}: 'max-past' must be >= 0", what);
          }
          return f;
        }
        if (static_cast<bool>(spec["min"]) != static_cast<bool>(spec["max"])) {
          return r_.Error(spec, "{}: a random timestamp needs both 'min' and 'max' (or 'max-past')",
                       what);
        }
        f.has_range = static_cast<bool>(spec["min"]);
      }
      if (spec["min"]) {
        ASSIGN_OR_RETURN(f.min, r_.GetInt64(spec, what, "min", type));
      }
      if (spec["max"]) {
        ASSIGN_OR_RETURN(f.max, r_.GetInt64(spec, what, "max", type));
      }
      if (f.min > f.max) {
        return r_.Error(spec["min"] ? spec["min"] : spec["max"], "{}: min {} is above max {}", what,
                     f.min, f.max);
      }
      return f;
    }
    case core::Type::kDouble: {
      RETURN_IF_ERROR(r_.CheckKeys(spec, what, {"kind", "min", "max"}));
      for (const char* key : {"min", "max"}) {
        YAML::Node n = spec[key];
        if (!n) continue;
        double d;
        if (!n.IsScalar() || !YAML::convert<double>::decode(n, d) || !std::isfinite(d)) {
          return r_.Error(n, "{}: '{}' must be a finite number, found '{}'", what, key,
                       n.IsScalar() ? n.Scalar() : std::string("a collection"));
        }
        (std::string_view(key) == "min" ? f.min_double : f.max_double) = d;
      }
      if (f.min_double > f.max_double || !std::isfinite(f.max_double - f.min_double)) {
        return r_.Error(spec["min"] ? spec["min"] : spec["max"],
                     "{}: min {} and max {} need min <= max (and a finite max - min)", what,
                     f.min_double, f.max_double);
      }
      return f;
    }
    case core::Type::kInt32:
    case core::Type::kDate: {  // min/max: integers (days for a date), clamped to int32
      RETURN_IF_ERROR(r_.CheckKeys(spec, what, {"kind", "min", "max"}));
      f.min = INT32_MIN;
      f.max = INT32_MAX;
      if (spec["min"]) {
        ASSIGN_OR_RETURN(f.min, r_.GetInt64(spec, what, "min", core::Type::kInt64));
      }
      if (spec["max"]) {
        ASSIGN_OR_RETURN(f.max, r_.GetInt64(spec, what, "max", core::Type::kInt64));
      }
      if (std::max<int64_t>(f.min, INT32_MIN) > std::min<int64_t>(f.max, INT32_MAX)) {
        return r_.Error(spec["min"] ? spec["min"] : spec["max"],
                        "{}: min {} and max {} leave no {} value", what, f.min, f.max, type_name);
      }
      return f;
    }
    case core::Type::kString:
    case core::Type::kBytes: {
      RETURN_IF_ERROR(r_.CheckKeys(spec, what, {"kind", "length"}));
      if (YAML::Node n = spec["length"]) {
        ASSIGN_OR_RETURN(f.length, r_.GetInt64(spec, what, "length", type));
        if (f.length < 0 || f.length > connectors::kMaxDatagenStringLength) {
          return r_.Error(n, "{}: 'length' must be in 0..{}, found {}", what,
                       connectors::kMaxDatagenStringLength, f.length);
        }
      }
      return f;
    }
    case core::Type::kBool:
      RETURN_IF_ERROR(r_.CheckKeys(spec, what, {"kind"}));
      return f;
  }
  return f;
}

// `source: {type: datagen}`: Flink's DataGen connector (runtime/connectors/datagen); the keys
// are documented in docs/job-spec.md.
absl::Status SourceCompiler::CompileDatagenSource(const YAML::Node& node, graph::StreamNode* v) {
  RETURN_IF_ERROR(CheckSourceKeys(node,
                            {"name", "uid", "type", "schema", "fields", "rows-per-second",
                             "number-of-rows", "batch-size", "seed", "event-time",
                             "idle-timeout", "parallelism"}));
  ASSIGN_OR_RETURN(std::string name, r_.GetString(node, "source", "name", false, DefaultName("datagen")));
  ASSIGN_OR_RETURN(std::string uid, r_.GetString(node, "source", "uid", false, d_.uid));
  connectors::DatagenSourceOptions opts;
  if (YAML::Node rate = node["rows-per-second"]) {
    double r;
    if (!rate.IsScalar() || !YAML::convert<double>::decode(rate, r) || !(r >= 0) ||
        r > 1e12) {
      return r_.Error(rate,
                   "source: 'rows-per-second' must be a number of rows per second over all "
                   "subtasks (0 = unlimited), found '{}'",
                   rate.IsScalar() ? rate.Scalar() : "a collection");
    }
    opts.rows_per_second = r;
  }
  if (YAML::Node n = node["number-of-rows"]) {
    ASSIGN_OR_RETURN(int64_t rows,
                     r_.GetInt64(node, "source", "number-of-rows", core::Type::kInt64));
    if (rows < 0) return r_.Error(n, "source: 'number-of-rows' must be at least 0, found {}", rows);
    opts.number_of_rows = rows;
  }
  ASSIGN_OR_RETURN(int batch, r_.GetInt(node, "source", "batch-size", 1024));
  if (batch < 1) return r_.Error(node["batch-size"], "source: 'batch-size' must be at least 1");
  opts.batch_size = static_cast<size_t>(batch);
  if (node["seed"]) {
    ASSIGN_OR_RETURN(int64_t seed, r_.GetInt64(node, "source", "seed", core::Type::kInt64));
    opts.seed = static_cast<uint64_t>(seed);
  }
  ASSIGN_OR_RETURN(opts.schema, CompileSourceSchema(node));
  opts.fields.resize(opts.schema->num_fields());
  if (YAML::Node fields = node["fields"]) {
    if (!fields.IsMap()) {
      return r_.Error(fields,
                   "source: 'fields' must map field names to generators like "
                   "{{kind: sequence, start: 0, end: 99}}");
    }
    std::set<std::string> seen;
    for (const auto& kv : fields) {
      std::string fname = kv.first.as<std::string>();
      int idx = opts.schema->FindField(fname);
      if (idx < 0) {
        return r_.Error(kv.first, "source.fields: unknown field '{}' (fields: {})", fname,
                     opts.schema->HeaderLine());
      }
      if (!seen.insert(fname).second) {
        return r_.Error(kv.first, "source.fields: field '{}' is given twice", fname);
      }
      ASSIGN_OR_RETURN(opts.fields[static_cast<size_t>(idx)],
                       CompileDatagenField(kv.second, fname,
                                           opts.schema->field(static_cast<size_t>(idx)).type));
    }
  }
  RETURN_IF_ERROR(CompileSourceEventTime(node, *opts.schema, &opts.event_time,
                                         &opts.max_out_of_orderness_ms));
  ASSIGN_OR_RETURN(v->parallelism, r_.OperatorParallelism(node, "source", v->parallelism,
                                                       v->max_parallelism));
  // Everything above was checked with its location; this catches what the connector adds.
  if (absl::Status s = connectors::ValidateDatagenOptions(opts); !s.ok()) {
    return r_.Error(node, "{}", s.message());
  }
  v->name = "Source: " + name;
  v->uid = uid;
  v->output_schema = opts.schema;
  v->source = [opts]() -> absl::StatusOr<std::unique_ptr<api::Source>> {
    return connectors::MakeDatagenSource(opts);
  };
  return absl::OkStatus();
}

// `source: {type: kafka, ...}`: runtime/connectors/kafka/kafka_source.h (KafkaSourceOptions
// documents every key). Partitions are found by the readers' built-in discovery for now.
absl::Status SourceCompiler::CompileKafkaSource(const YAML::Node& node, graph::StreamNode* v) {
  const char* what = "source";
  RETURN_IF_ERROR(CheckSourceKeys(node,
                            {"name", "uid", "type", "bootstrap-servers", "topic", "topics",
                             "pattern", "format", "delimiter", "null-literal", "schema",
                             "event-time",
                             "idle-timeout", "starting-offsets", "starting-timestamp", "stop-at",
                             "bad-records", "batch-size", "partition-discovery-interval",
                             "commit-offsets-on-checkpoint", "properties", "parallelism",
                             "dead-letter", "rate", "schema-registry"}));
  connectors::kafka::KafkaSourceOptions opts;
  ASSIGN_OR_RETURN(std::string name, r_.GetString(node, what, "name", false, DefaultName("kafka")));
  ASSIGN_OR_RETURN(std::string uid, r_.GetString(node, what, "uid", false, d_.uid));
  ASSIGN_OR_RETURN(opts.bootstrap_servers, r_.GetString(node, what, "bootstrap-servers", false, ""));
  RETURN_IF_ERROR(r_.GetKafkaProperties(node, what, &opts.properties));
  if (opts.bootstrap_servers.empty() && !opts.properties.contains("bootstrap.servers")) {
    return r_.Error(node, "source: missing required key 'bootstrap-servers'");
  }
  const int topic_keys = (node["topic"] ? 1 : 0) + (node["topics"] ? 1 : 0) + (node["pattern"] ? 1 : 0);
  if (topic_keys != 1) {
    return r_.Error(node, "source: give exactly one of 'topic', 'topics' (a list) or 'pattern'");
  }
  if (YAML::Node t = node["topic"]) {
    ASSIGN_OR_RETURN(std::string topic, r_.GetString(node, what, "topic", true));
    opts.topics.push_back(topic);
  } else if (YAML::Node ts = node["topics"]) {
    if (!ts.IsSequence() || ts.size() == 0) return r_.Error(ts, "source: 'topics' must be a non-empty list");
    for (const auto& t : ts) opts.topics.push_back(t.as<std::string>());
  } else {
    ASSIGN_OR_RETURN(opts.topic_pattern, r_.GetString(node, what, "pattern", true));
    try {
      std::regex re(opts.topic_pattern);
    } catch (const std::regex_error& e) {
      return r_.Error(node["pattern"], "source: 'pattern' is not a valid regular expression: {}", e.what());
    }
  }
  ASSIGN_OR_RETURN(std::string format, r_.GetString(node, what, "format", false, "csv"));
  auto fmt_kind = connectors::kafka::ParseRecordFormat(format);
  if (!fmt_kind.ok()) return r_.Error(node["format"], "source: {}", fmt_kind.status().message());
  opts.format.format = *fmt_kind;
  ASSIGN_OR_RETURN(std::string delim, r_.GetString(node, what, "delimiter", false, ","));
  if (delim.size() != 1) return r_.Error(node["delimiter"], "source: 'delimiter' must be one character");
  opts.format.csv_delimiter = delim[0];
  ASSIGN_OR_RETURN(opts.format.csv_null_literal,
                   r_.GetString(node, what, "null-literal", false, ""));
  RETURN_IF_ERROR(r_.GetSchemaRegistry(node, what, /*sink=*/false, &opts.format));
  ASSIGN_OR_RETURN(opts.schema, CompileSourceSchema(node));
  if (YAML::Node et = node["event-time"]) {
    if (et.IsMap() && et["field"] && et["field"].IsScalar() && et["field"].Scalar() == "kafka-timestamp") {
      RETURN_IF_ERROR(r_.CheckKeys(et, "source.event-time", {"field", "max-out-of-orderness"}));
      opts.event_time = connectors::kafka::EventTimeSource::kKafkaTimestamp;
      if (et["max-out-of-orderness"]) {
        ASSIGN_OR_RETURN(opts.max_out_of_orderness_ms,
                         r_.GetDuration(et, "source.event-time", "max-out-of-orderness"));
      }
    } else {
      RETURN_IF_ERROR(CompileSourceEventTime(node, *opts.schema, &opts.event_time_spec,
                                             &opts.max_out_of_orderness_ms));
      opts.event_time = connectors::kafka::EventTimeSource::kField;
    }
  }
  if (node["idle-timeout"]) {
    ASSIGN_OR_RETURN(opts.idle_timeout_ms, r_.GetDuration(node, what, "idle-timeout"));
  }
  ASSIGN_OR_RETURN(std::string start, r_.GetString(node, what, "starting-offsets", false, "earliest"));
  auto so = connectors::kafka::ParseStartingOffsets(start);
  if (!so.ok()) return r_.Error(node["starting-offsets"], "source: {}", so.status().message());
  opts.starting_offsets = *so;
  if (opts.starting_offsets == connectors::kafka::StartingOffsets::kTimestamp) {
    ASSIGN_OR_RETURN(std::string ts, r_.GetString(node, what, "starting-timestamp", true));
    std::optional<int64_t> ms = core::ParseTimestamp(ts);
    if (!ms) {
      int64_t v = 0;
      if (!YAML::convert<int64_t>::decode(node["starting-timestamp"], v)) {
        return r_.Error(node["starting-timestamp"], "source: 'starting-timestamp' must be a timestamp "
                     "like 2024-01-01T00:00:00Z or epoch ms, found '{}'", ts);
      }
      ms = v;
    }
    opts.starting_timestamp_ms = *ms;
  }
  if (opts.starting_offsets == connectors::kafka::StartingOffsets::kGroupOffsets &&
      !opts.properties.contains("group.id")) {
    return r_.Error(node["starting-offsets"], "source: starting-offsets: group-offsets needs "
                 "properties: {{group.id: ...}}");
  }
  if (node["stop-at"]) {
    ASSIGN_OR_RETURN(std::string stop, r_.GetString(node, what, "stop-at", true));
    if (stop != "latest") return r_.Error(node["stop-at"], "source: 'stop-at' must be 'latest' (bounded read)");
    opts.stop_at_latest = true;
  }
  ASSIGN_OR_RETURN(std::string bad, r_.GetString(node, what, "bad-records", false, "fail"));
  auto policy = connectors::kafka::ParseBadRecordPolicy(bad);
  if (!policy.ok()) return r_.Error(node["bad-records"], "source: {}", policy.status().message());
  opts.bad_records = *policy;
  // `dead-letter: {topic, bootstrap-servers (default: the source's), properties}`: where
  // bad-records: dead-letter sends them (runtime/connectors/kafka/dead_letter.h).
  if (YAML::Node dl = node["dead-letter"]) {
    if (*policy != connectors::kafka::BadRecordPolicy::kDeadLetter) {
      return r_.Error(dl, "source: 'dead-letter' is only used with bad-records: dead-letter");
    }
    RETURN_IF_ERROR(r_.CheckKeys(dl, "source.dead-letter", {"topic", "bootstrap-servers", "properties"}));
    connectors::kafka::KafkaDeadLetterOptions dlq;
    ASSIGN_OR_RETURN(dlq.topic, r_.GetString(dl, "source.dead-letter", "topic", true));
    ASSIGN_OR_RETURN(dlq.bootstrap_servers,
                     r_.GetString(dl, "source.dead-letter", "bootstrap-servers", false, ""));
    RETURN_IF_ERROR(r_.GetKafkaProperties(dl, "source.dead-letter", &dlq.properties));
    if (dlq.bootstrap_servers.empty() && !dlq.properties.contains("bootstrap.servers")) {
      dlq.bootstrap_servers = opts.bootstrap_servers;
      if (dlq.bootstrap_servers.empty()) dlq.properties["bootstrap.servers"] = opts.properties["bootstrap.servers"];
    }
    auto sink = connectors::kafka::MakeKafkaDeadLetterSink(std::move(dlq));
    if (!sink.ok()) return r_.Error(dl, "source.dead-letter: {}", sink.status().message());
    opts.dead_letter_sink = std::move(*sink);
  } else if (*policy == connectors::kafka::BadRecordPolicy::kDeadLetter) {
    return r_.Error(node["bad-records"], "source: bad-records: dead-letter needs a 'dead-letter: "
                 "{{topic: ...}}' section naming the topic bad records go to");
  }
  ASSIGN_OR_RETURN(int batch, r_.GetInt(node, what, "batch-size", 1024));
  if (batch < 1) return r_.Error(node["batch-size"], "source: 'batch-size' must be at least 1");
  opts.batch_size = static_cast<size_t>(batch);
  ASSIGN_OR_RETURN(opts.rate_records_per_second, r_.GetRate(node));
  if (node["partition-discovery-interval"]) {
    ASSIGN_OR_RETURN(opts.partition_discovery_interval_ms,
                     r_.GetDuration(node, what, "partition-discovery-interval"));
  }
  ASSIGN_OR_RETURN(opts.commit_offsets_on_checkpoint,
                   r_.GetBool(node, what, "commit-offsets-on-checkpoint", false));
  if (opts.commit_offsets_on_checkpoint && !opts.properties.contains("group.id")) {
    return r_.Error(node["commit-offsets-on-checkpoint"], "source: commit-offsets-on-checkpoint "
                 "needs properties: {{group.id: ...}}");
  }
  ASSIGN_OR_RETURN(v->parallelism, r_.OperatorParallelism(node, what, v->parallelism,
                                                       v->max_parallelism));
  v->name = "Source: " + name;
  v->uid = uid;
  v->output_schema = opts.schema;
  // FLIP-27: the JobMaster's KafkaSplitEnumerator discovers partitions and assigns them; the
  // readers (one per subtask) read what it sends them.
  v->enumerator = connectors::kafka::MakeKafkaSplitEnumeratorFactory(opts, uid);
  opts.split_assignment = connectors::kafka::SplitAssignment::kEnumerator;
  v->source = [opts]() -> absl::StatusOr<std::unique_ptr<api::Source>> {
    return std::unique_ptr<api::Source>(connectors::kafka::MakeKafkaSource(opts));
  };
  return absl::OkStatus();
}

absl::Status SourceCompiler::CompileSource(const YAML::Node& node, graph::StreamNode* v) {
  if (!node) return r_.SpecError("missing required key 'source'");
  // Dispatch on the type first, so that a wrong type is reported before the keys it implies.
  if (node.IsMap() && node["type"] && node["type"].IsScalar()) {
    const std::string& type = node["type"].Scalar();
    if (type == "datagen") return CompileDatagenSource(node, v);
    if (type == "kafka") return CompileKafkaSource(node, v);
    if (type == "nexmark") return CompileNexmarkSource(r_, d_, node, v);
    if (type != "file") {
      return r_.Error(node["type"],
                      "source: unknown type '{}' (expected: file, datagen, kafka, nexmark)", type);
    }
  }
  RETURN_IF_ERROR(CheckSourceKeys(node,
                            {"name", "uid", "type", "path", "format", "header", "delimiter",
                             "null-literal", "schema", "event-time", "parallelism", "batch-size",
                             "rate", "bad-records", "dead-letter", "idle-timeout"}));
  ASSIGN_OR_RETURN(std::string type, r_.GetString(node, "source", "type", true));
  if (type != "file") {
    return r_.Error(node["type"],
                    "source: unknown type '{}' (expected: file, datagen, kafka, nexmark)", type);
  }
  ASSIGN_OR_RETURN(std::string format, r_.GetString(node, "source", "format", false, "csv"));
  if (format != "csv" && format != "json") {
    return r_.Error(node["format"], "source: unknown format '{}' (expected: csv, json)", format);
  }
  ASSIGN_OR_RETURN(std::string name, r_.GetString(node, "source", "name", false, DefaultName("file")));
  ASSIGN_OR_RETURN(std::string uid, r_.GetString(node, "source", "uid", false, d_.uid));
  connectors::CsvSourceOptions opts;
  YAML::Node path = node["path"];
  if (!path) return r_.Error(node, "source: missing required key 'path'");
  if (path.IsScalar()) {
    opts.paths.push_back(r_.ResolvePath(path.Scalar()));
  } else if (path.IsSequence()) {
    for (const auto& p : path) opts.paths.push_back(r_.ResolvePath(p.as<std::string>()));
  } else {
    return r_.Error(path, "source: 'path' must be a path or a list of paths");
  }
  opts.format = format == "json" ? formats::RecordFormat::kJson : formats::RecordFormat::kCsv;
  ASSIGN_OR_RETURN(opts.header, r_.GetBool(node, "source", "header", format == "csv"));
  if (opts.header && format == "json") {
    return r_.Error(node["header"], "source: JSON lines have no header (header: false)");
  }
  ASSIGN_OR_RETURN(std::string delim, r_.GetString(node, "source", "delimiter", false, ","));
  if (delim.size() != 1) return r_.Error(node["delimiter"], "source: 'delimiter' must be one character");
  opts.delimiter = delim[0];
  ASSIGN_OR_RETURN(opts.null_literal, r_.GetString(node, "source", "null-literal", false, ""));
  ASSIGN_OR_RETURN(std::string bad, r_.GetString(node, "source", "bad-records", false, "fail"));
  using BadRecords = connectors::CsvSourceOptions::BadRecords;
  if (bad == "skip") {
    opts.bad_records = BadRecords::kSkip;
  } else if (bad == "dead-letter") {
    opts.bad_records = BadRecords::kDeadLetter;
  } else if (bad != "fail") {
    return r_.Error(node["bad-records"],
                    "source: unknown bad-records '{}' (expected fail, skip or dead-letter)", bad);
  }
  // `dead-letter: {path: dir}`: where bad-records: dead-letter writes the bad rows.
  if (YAML::Node dl = node["dead-letter"]) {
    if (opts.bad_records != BadRecords::kDeadLetter) {
      return r_.Error(dl, "source: 'dead-letter' is only used with bad-records: dead-letter");
    }
    RETURN_IF_ERROR(r_.CheckKeys(dl, "source.dead-letter", {"path"}));
    ASSIGN_OR_RETURN(std::string dir, r_.GetString(dl, "source.dead-letter", "path", true));
    opts.dead_letter_dir = r_.ResolvePath(dir);
  } else if (opts.bad_records == BadRecords::kDeadLetter) {
    return r_.Error(node["bad-records"], "source: bad-records: dead-letter needs "
                    "'dead-letter: {{path: <directory>}}'");
  }
  ASSIGN_OR_RETURN(int batch, r_.GetInt(node, "source", "batch-size", 1024));
  if (batch < 1) return r_.Error(node["batch-size"], "source: 'batch-size' must be at least 1");
  opts.batch_size = static_cast<size_t>(batch);
  ASSIGN_OR_RETURN(opts.rate_records_per_second, r_.GetRate(node));
  ASSIGN_OR_RETURN(opts.schema, CompileSourceSchema(node));
  RETURN_IF_ERROR(CompileSourceEventTime(node, *opts.schema, &opts.event_time,
                                         &opts.max_out_of_orderness_ms));
  ASSIGN_OR_RETURN(v->parallelism, r_.OperatorParallelism(node, "source", v->parallelism,
                                                       v->max_parallelism));
  v->name = "Source: " + name;
  v->uid = uid;
  v->output_schema = opts.schema;
  v->source = [opts]() -> absl::StatusOr<std::unique_ptr<api::Source>> {
    return connectors::MakeCsvFileSource(opts);
  };
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CompiledSource> CompileSource(const SpecReader& r, const YAML::Node& node,
                                             const NodeDefaults& defaults) {
  CompiledSource out;
  out.node.parallelism = defaults.parallelism;
  out.node.max_parallelism = defaults.max_parallelism;
  out.node.num_inputs = 0;
  RETURN_IF_ERROR(SourceCompiler(r, defaults).CompileSource(node, &out.node));
  // `idle-timeout` of the file and DataGen sources (the Kafka source tracks it per partition).
  const bool kafka = node.IsMap() && node["type"].IsScalar() && node["type"].Scalar() == "kafka";
  if (node.IsMap() && node["idle-timeout"] && !kafka) {
    ASSIGN_OR_RETURN(const int64_t idle_ms, r.GetDuration(node, "source", "idle-timeout"));
    if (idle_ms <= 0) return r.Error(node["idle-timeout"], "source: idle-timeout must be positive");
    out.node.source = [inner = out.node.source, idle_ms]()
        -> absl::StatusOr<std::unique_ptr<api::Source>> {
      ASSIGN_OR_RETURN(std::unique_ptr<api::Source> s, inner());
      return operators::WithIdleness(std::move(s), idle_ms);
    };
  }
  // The nexmark source always stamps its rows with the events' dateTime.
  out.has_event_time = node.IsMap() && (node["event-time"].IsDefined() ||
                                        (node["type"].IsScalar() && node["type"].Scalar() == "nexmark"));
  return out;
}

}  // namespace sluice::job

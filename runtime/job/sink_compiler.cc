#include "runtime/job/node_compilers.h"

#include "fmt/format.h"
#include "runtime/base/status.h"
#include "runtime/connectors/file/file_sink.h"
#include "runtime/connectors/file/print_sink.h"
#include "runtime/connectors/kafka/kafka_sink.h"

namespace sluice::job {
namespace {

using core::SchemaPtr;

// Compiles one `sink:` (or one entry of `sinks:`) into a StreamNode.
class SinkCompiler {
 public:
  SinkCompiler(const SpecReader& r, const NodeDefaults& d) : r_(r), d_(d) {}
  absl::StatusOr<graph::StreamNode> CompileSink(const YAML::Node& node, SchemaPtr schema);

 private:
  absl::StatusOr<graph::OperatorFactory> CompileKafkaSink(const YAML::Node& node, SchemaPtr schema);
  absl::Status CheckSinkKeys(const YAML::Node& node, std::set<std::string> allowed) const {
    allowed.insert(d_.extra_keys.begin(), d_.extra_keys.end());
    return r_.CheckKeys(node, "sink", allowed);
  }

  const SpecReader& r_;
  const NodeDefaults& d_;
};

// `sink: {type: kafka, ...}`: runtime/connectors/kafka/kafka_sink.h (KafkaSinkOptions documents
// every key; docs/job-spec.md the YAML).
absl::StatusOr<graph::OperatorFactory> SinkCompiler::CompileKafkaSink(const YAML::Node& node,
                                                                  SchemaPtr schema) {
  const char* what = "sink";
  connectors::kafka::KafkaSinkOptions opts;
  opts.schema = schema;
  ASSIGN_OR_RETURN(opts.bootstrap_servers, r_.GetString(node, what, "bootstrap-servers", false, ""));
  RETURN_IF_ERROR(r_.GetKafkaProperties(node, what, &opts.properties));
  if (opts.bootstrap_servers.empty() && !opts.properties.contains("bootstrap.servers")) {
    return r_.Error(node, "sink: missing required key 'bootstrap-servers'");
  }
  if (opts.properties.contains("transactional.id")) {
    return r_.Error(node["properties"], "sink: property 'transactional.id' is set by the sink; give "
                 "'transactional-id-prefix' with delivery: exactly-once");
  }
  ASSIGN_OR_RETURN(opts.topic, r_.GetString(node, what, "topic", true));
  if (opts.topic.empty()) return r_.Error(node["topic"], "sink: 'topic' must not be empty");
  ASSIGN_OR_RETURN(std::string format, r_.GetString(node, what, "format", false, "csv"));
  auto fmt_kind = connectors::kafka::ParseRecordFormat(format);
  if (!fmt_kind.ok()) return r_.Error(node["format"], "sink: {}", fmt_kind.status().message());
  opts.format.format = *fmt_kind;
  if (opts.format.format == connectors::kafka::RecordFormat::kRaw &&
      (schema->num_fields() != 1 || schema->field(0).type != core::Type::kString)) {
    return r_.Error(node["format"], "sink: format raw writes one string field, but the records "
                 "have {} field(s): {}", schema->num_fields(), schema->ToString());
  }
  ASSIGN_OR_RETURN(std::string delim, r_.GetString(node, what, "delimiter", false, ","));
  if (delim.size() != 1) return r_.Error(node["delimiter"], "sink: 'delimiter' must be one character");
  opts.format.csv_delimiter = delim[0];
  RETURN_IF_ERROR(r_.GetSchemaRegistry(node, what, /*sink=*/true, &opts.format));
  if (opts.format.format == connectors::kafka::RecordFormat::kAvroConfluent &&
      opts.format.schema_registry_subject.empty()) {
    opts.format.schema_registry_subject = opts.topic + "-value";  // Confluent's TopicNameStrategy
  }
  if (YAML::Node key = node["key"]) {
    std::vector<std::string> fields;
    if (key.IsScalar()) {
      fields.push_back(key.Scalar());
    } else if (key.IsSequence() && key.size() > 0) {
      for (const auto& k : key) fields.push_back(k.as<std::string>());
    } else {
      return r_.Error(key, "sink: 'key' must be a field name or a non-empty list of them");
    }
    for (const auto& f : fields) {
      if (schema->FindField(f) < 0) {
        return r_.Error(key, "sink: key field '{}' is not in the records ({})", f, schema->ToString());
      }
    }
    opts.key_fields = std::move(fields);
  }
  ASSIGN_OR_RETURN(std::string partitioner, r_.GetString(node, what, "partitioner", false,
                                                      opts.key_fields.empty() ? "default" : "key"));
  ASSIGN_OR_RETURN(opts.upsert, r_.GetBool(node, what, "upsert", false));
  if (opts.upsert && !node["key"]) {
    return r_.Error(node, "sink: an upsert Kafka sink needs 'key' (the fields that identify a row)");
  }
  auto part = connectors::kafka::ParseSinkPartitioner(partitioner);
  if (!part.ok()) return r_.Error(node["partitioner"], "sink: {}", part.status().message());
  opts.partitioner = *part;
  if (opts.partitioner == connectors::kafka::SinkPartitioner::kKey && opts.key_fields.empty()) {
    return r_.Error(node["partitioner"], "sink: partitioner: key needs 'key' fields");
  }
  ASSIGN_OR_RETURN(std::string delivery, r_.GetString(node, what, "delivery", false, "at-least-once"));
  auto guarantee = connectors::kafka::ParseDeliveryGuarantee(delivery);
  if (!guarantee.ok()) return r_.Error(node["delivery"], "sink: {}", guarantee.status().message());
  opts.delivery = *guarantee;
  ASSIGN_OR_RETURN(opts.transactional_id_prefix,
                   r_.GetString(node, what, "transactional-id-prefix", false, ""));
  if (opts.delivery == connectors::kafka::DeliveryGuarantee::kExactlyOnce &&
      opts.transactional_id_prefix.empty()) {
    return r_.Error(node, "sink: delivery: exactly-once needs 'transactional-id-prefix' (unique per "
                 "sink among all jobs writing to the cluster, as in Flink)");
  }
  if (opts.delivery != connectors::kafka::DeliveryGuarantee::kExactlyOnce &&
      node["transactional-id-prefix"]) {
    return r_.Error(node["transactional-id-prefix"], "sink: 'transactional-id-prefix' is only used "
                 "with delivery: exactly-once");
  }
  ASSIGN_OR_RETURN(int pool, r_.GetInt(node, what, "transactional-id-pool-size", 5));
  if (pool < 2) {
    return r_.Error(node["transactional-id-pool-size"], "sink: 'transactional-id-pool-size' must "
                 "be at least 2, found {}", pool);
  }
  opts.transactional_id_pool_size = pool;
  return graph::OperatorFactory([opts]() -> absl::StatusOr<std::unique_ptr<api::Operator>> {
    return connectors::kafka::MakeKafkaSink(opts);
  });
}

absl::StatusOr<graph::StreamNode> SinkCompiler::CompileSink(const YAML::Node& node,
                                                            SchemaPtr schema) {
  if (!node) return r_.SpecError("missing required key 'sink'");
  if (!node.IsMap()) return r_.Error(node, "sink must be a mapping");
  ASSIGN_OR_RETURN(std::string type, r_.GetString(node, "sink", "type", true));
  if (type == "kafka") {
    RETURN_IF_ERROR(CheckSinkKeys(node, {"name", "uid", "type", "bootstrap-servers", "topic",
                                         "format", "delimiter", "key", "partitioner", "delivery",
                                         "upsert", "schema-registry",
                                         "transactional-id-prefix", "transactional-id-pool-size",
                                         "properties", "parallelism"}));
  } else {
    RETURN_IF_ERROR(CheckSinkKeys(
        node, {"name", "uid", "type", "path", "format", "header", "changelog", "parallelism"}));
  }
  const bool updating = !d_.updating_from.empty();
  if (updating && type == "kafka" &&
      !(node["upsert"] && node["upsert"].IsScalar() && node["upsert"].Scalar() == "true")) {
    return r_.Error(node, "sink: its input is an updating stream ({} emits -U/+U/-D rows), but "
                    "the Kafka sink writes insert-only streams unless it is an upsert sink "
                    "(upsert: true with a key)", d_.updating_from);
  }
  ASSIGN_OR_RETURN(std::string name,
                   r_.GetString(node, "sink", "name", false, d_.name.empty() ? type : d_.name));
  ASSIGN_OR_RETURN(std::string uid, r_.GetString(node, "sink", "uid", false, d_.uid));
  graph::StreamNode n;
  n.name = "Sink: " + name;
  n.uid = uid;
  n.max_parallelism = d_.max_parallelism;
  ASSIGN_OR_RETURN(n.parallelism, r_.OperatorParallelism(node, fmt::format("sink (uid '{}')", uid),
                                                         d_.parallelism, d_.max_parallelism));
  n.sink = true;
  n.num_inputs = 1;
  n.output_schema = schema;
  if (type == "kafka") {
    ASSIGN_OR_RETURN(n.op, CompileKafkaSink(node, schema));
  } else if (type == "file") {
    connectors::FileSinkOptions opts;
    ASSIGN_OR_RETURN(std::string path, r_.GetString(node, "sink", "path", true));
    opts.path = r_.ResolvePath(path);
    ASSIGN_OR_RETURN(std::string format, r_.GetString(node, "sink", "format", false, "csv"));
    if (format != "csv" && format != "json") {
      return r_.Error(node["format"], "sink: unknown format '{}' (expected: csv, json)", format);
    }
    opts.format = format == "json" ? formats::RecordFormat::kJson : formats::RecordFormat::kCsv;
    ASSIGN_OR_RETURN(opts.header, r_.GetBool(node, "sink", "header", format == "csv"));
    ASSIGN_OR_RETURN(opts.changelog, r_.GetBool(node, "sink", "changelog", false));
    if (updating && !opts.changelog) {
      return r_.Error(node, "sink: its input is an updating stream ({} emits -U/+U/-D rows that "
                      "retract earlier ones); write it as a changelog with 'changelog: true' (a "
                      "leading op field: +I, -U, +U or -D)", d_.updating_from);
    }
    opts.schema = schema;
    n.op = [opts]() -> absl::StatusOr<std::unique_ptr<api::Operator>> {
      return connectors::MakeFileSink(opts);
    };
  } else if (type == "print") {
    if (node["changelog"]) return r_.Error(node["changelog"], "sink: 'changelog' is for file sinks");
    n.op = [schema, updating]() -> absl::StatusOr<std::unique_ptr<api::Operator>> {
      return connectors::MakePrintSink(schema, updating);
    };
  } else if (type == "blackhole") {
    n.op = [schema]() -> absl::StatusOr<std::unique_ptr<api::Operator>> {
      return connectors::MakeBlackholeSink(schema);
    };
  } else {
    return r_.Error(node["type"],
                    "sink: unknown type '{}' (expected: file, print, kafka, blackhole)", type);
  }
  return n;
}

}  // namespace

absl::StatusOr<graph::StreamNode> CompileSink(const SpecReader& r, const YAML::Node& node,
                                              core::SchemaPtr input, const NodeDefaults& defaults) {
  return SinkCompiler(r, defaults).CompileSink(node, std::move(input));
}

}  // namespace sluice::job

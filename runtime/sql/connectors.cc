// CREATE TABLE ... WITH (connector options) -> the job spec's sources and sinks. Option names
// are Flink's (docs/sql.md lists them and Sluice's additions).

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/numbers.h"
#include "runtime/base/durations.h"
#include "runtime/base/status.h"
#include "runtime/sql/catalog.h"
#include "runtime/sql/source_text.h"

namespace sluice::sql {
namespace {

enum class Connector { kFilesystem, kDataGen, kNexmark, kKafka, kUpsertKafka, kPrint, kBlackhole };

struct ConnectorInfo {
  Connector connector;
  const char* name;
  std::vector<std::string> keys;      // exact keys
  std::vector<std::string> prefixes;  // key prefixes ("properties.", "fields.")
  std::vector<std::string> required;
};

const std::vector<ConnectorInfo>& Connectors() {
  static const std::vector<ConnectorInfo> all = {
      {Connector::kFilesystem, "filesystem",
       {"connector", "path", "format", "csv.field-delimiter", "csv.null-literal", "csv.header",
        "csv.ignore-parse-errors", "json.ignore-parse-errors", "lookup.reload-interval",
        "source.idle-timeout", "source.rate"},
       {}, {"path", "format"}},
      {Connector::kDataGen, "datagen",
       {"connector", "rows-per-second", "number-of-rows", "seed", "source.idle-timeout"},
       {"fields."}, {}},
      {Connector::kNexmark, "nexmark",
       {"connector", "table", "events.num", "first-event.rate", "events-per-second", "seed",
        "base-time"},
       {}, {}},
      {Connector::kKafka, "kafka",
       {"connector", "topic", "topic-pattern", "format", "csv.field-delimiter",
        "scan.startup.mode", "scan.startup.timestamp-millis", "scan.bounded.mode",
        "scan.watermark.idle-timeout", "csv.ignore-parse-errors", "json.ignore-parse-errors",
        "key.fields", "sink.partitioner", "sink.delivery-guarantee",
        "sink.transactional-id-prefix", "avro-confluent.url", "avro-confluent.schema-registry.url",
        "avro-confluent.subject", "avro-confluent.basic-auth.user-info"},
       {"properties."}, {"properties.bootstrap.servers", "format"}},
      {Connector::kUpsertKafka, "upsert-kafka",
       {"connector", "topic", "key.format", "value.format", "sink.delivery-guarantee",
        "sink.transactional-id-prefix", "sink.partitioner", "value.avro-confluent.url",
        "value.avro-confluent.subject", "value.avro-confluent.basic-auth.user-info"},
       {"properties."}, {"topic", "properties.bootstrap.servers", "key.format", "value.format"}},
      {Connector::kPrint, "print", {"connector", "print-identifier"}, {}, {}},
      {Connector::kBlackhole, "blackhole", {"connector"}, {}, {}},
  };
  return all;
}

class Options {
 public:
  explicit Options(const TableDef& t) : t_(t) {
    for (const ast::Option& o : t.options) by_key_[o.key] = &o;
  }
  const ast::Option* Get(const std::string& key) const {
    auto it = by_key_.find(key);
    return it == by_key_.end() ? nullptr : it->second;
  }
  std::string Value(const std::string& key, const std::string& def = "") const {
    const ast::Option* o = Get(key);
    return o == nullptr ? def : o->value;
  }
  const std::map<std::string, const ast::Option*>& all() const { return by_key_; }
  int Offset(const std::string& key) const {
    const ast::Option* o = Get(key);
    return o == nullptr ? t_.offset : o->value_offset;
  }

 private:
  const TableDef& t_;
  std::map<std::string, const ast::Option*> by_key_;
};

const ConnectorInfo* Info(const std::string& name) {
  for (const ConnectorInfo& c : Connectors()) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

absl::StatusOr<YAML::Node> Duration(const Options& o, const std::string& key) {
  auto ms = ParseDurationMs(o.Value(key));
  if (!ms.ok()) return SQL_ERROR(o.Offset(key), "option '{}': {}", key, ms.status().message());
  return YAML::Node(fmt::format("{} ms", *ms));
}

absl::StatusOr<YAML::Node> Number(const Options& o, const std::string& key) {
  double v;
  if (!absl::SimpleAtod(o.Value(key), &v)) {
    return SQL_ERROR(o.Offset(key), "option '{}': expected a number, got '{}'", key, o.Value(key));
  }
  int64_t i;
  if (absl::SimpleAtoi(o.Value(key), &i)) return YAML::Node(i);
  return YAML::Node(v);
}

YAML::Node Schema(const TableDef& t) {
  YAML::Node schema(YAML::NodeType::Map);
  for (const TableColumn& c : t.columns) {
    if (!c.computed) schema[c.name] = std::string(core::TypeName(c.type));
  }
  return schema;
}

// The Nexmark tables' columns (Flink Nexmark's DDL names and types).
const std::map<std::string, std::vector<std::pair<std::string, core::Type>>>& NexmarkTables() {
  using core::Type;
  static const std::map<std::string, std::vector<std::pair<std::string, Type>>> tables = {
      {"person", {{"id", Type::kInt64}, {"name", Type::kString}, {"emailAddress", Type::kString},
                  {"creditCard", Type::kString}, {"city", Type::kString}, {"state", Type::kString},
                  {"dateTime", Type::kTimestamp}, {"extra", Type::kString}}},
      {"auction", {{"id", Type::kInt64}, {"itemName", Type::kString},
                   {"description", Type::kString}, {"initialBid", Type::kInt64},
                   {"reserve", Type::kInt64}, {"dateTime", Type::kTimestamp},
                   {"expires", Type::kTimestamp}, {"seller", Type::kInt64},
                   {"category", Type::kInt64}, {"extra", Type::kString}}},
      {"bid", {{"auction", Type::kInt64}, {"bidder", Type::kInt64}, {"price", Type::kInt64},
               {"channel", Type::kString}, {"url", Type::kString}, {"dateTime", Type::kTimestamp},
               {"extra", Type::kString}}},
  };
  return tables;
}

// `schema-registry:` of a Kafka source or sink spec in format avro-confluent.
void AddRegistry(const TableDef& t, bool sink, YAML::Node* spec) {
  std::optional<RegistryOptions> r = AvroRegistryOptions(t);
  if (!r) return;
  YAML::Node reg(YAML::NodeType::Map);
  reg["url"] = r->url;
  if (sink) reg["subject"] = r->subject;
  if (!r->user_info.empty()) reg["basic-auth-user-info"] = r->user_info;
  (*spec)["schema-registry"] = reg;
}

std::string NexmarkTable(const TableDef& t, const Options& o) {
  std::string table = o.Value("table");
  if (table.empty()) table = absl::AsciiStrToLower(t.name);
  return table;
}

absl::Status CheckNexmark(const TableDef& t, const Options& o) {
  const std::string table = NexmarkTable(t, o);
  auto it = NexmarkTables().find(table);
  if (it == NexmarkTables().end()) {
    return SQL_ERROR(o.Offset("table"), "connector 'nexmark': option 'table' must be person, "
                                        "auction or bid (got '{}')", table);
  }
  std::vector<const TableColumn*> physical;
  for (const TableColumn& c : t.columns) {
    if (!c.computed) physical.push_back(&c);
  }
  std::string want;
  for (const auto& [n, ty] : it->second) want += fmt::format("{}{} {}", want.empty() ? "" : ", ", n,
                                                             core::TypeName(ty));
  bool same = physical.size() == it->second.size();
  for (size_t i = 0; same && i < physical.size(); ++i) {
    same = physical[i]->name == it->second[i].first && physical[i]->type == it->second[i].second;
  }
  if (!same) {
    return SQL_ERROR(t.offset, "connector 'nexmark', table '{}': the columns must be the "
                               "generator's, in order: {}", table, want);
  }
  if (t.rowtime && *t.rowtime != "dateTime") {
    return SQL_ERROR(t.offset, "connector 'nexmark': the watermark must be on dateTime");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckOptions(const TableDef& t) {
  Options o(t);
  const std::string name = o.Value("connector");
  if (name.empty()) {
    return SQL_ERROR(t.offset, "table '{}' needs WITH ('connector' = '...'): filesystem, datagen, "
                               "nexmark, kafka, upsert-kafka, print or blackhole", t.name);
  }
  const ConnectorInfo* info = Info(name);
  if (info == nullptr) {
    return SQL_ERROR(o.Offset("connector"), "unknown connector '{}' (expected filesystem, "
                                            "datagen, nexmark, kafka, upsert-kafka, print or "
                                            "blackhole)", name);
  }
  for (const auto& [key, opt] : o.all()) {
    bool known = std::find(info->keys.begin(), info->keys.end(), key) != info->keys.end();
    for (const std::string& p : info->prefixes) known |= absl::StartsWith(key, p);
    if (!known) {
      std::string keys;
      for (const std::string& k : info->keys) keys += (keys.empty() ? "" : ", ") + k;
      for (const std::string& p : info->prefixes) keys += ", " + p + "*";
      return SQL_ERROR(opt->offset, "connector '{}': unknown option '{}' (known: {})", name, key, keys);
    }
  }
  for (const std::string& k : info->required) {
    if (o.Get(k) == nullptr) {
      return SQL_ERROR(o.Offset("connector"), "connector '{}' needs option '{}'", name, k);
    }
  }
  if (info->connector == Connector::kFilesystem) {
    static const std::set<std::string> formats = {"csv", "json", "changelog-csv", "changelog-json"};
    if (formats.count(o.Value("format")) == 0) {
      return SQL_ERROR(o.Offset("format"), "connector 'filesystem': unknown format '{}' (expected "
                                           "csv, json, changelog-csv or changelog-json)",
                       o.Value("format"));
    }
  }
  if (info->connector == Connector::kKafka) {
    static const std::set<std::string> formats = {"csv", "json", "avro", "avro-confluent"};
    if (formats.count(o.Value("format")) == 0) {
      return SQL_ERROR(o.Offset("format"), "connector 'kafka': unknown format '{}' (expected csv, "
                                           "json, avro or avro-confluent)", o.Value("format"));
    }
  }
  if (info->connector == Connector::kNexmark) RETURN_IF_ERROR(CheckNexmark(t, o));
  if (info->connector == Connector::kUpsertKafka) {
    if (t.primary_key.empty()) {
      return SQL_ERROR(o.Offset("connector"), "connector 'upsert-kafka' needs a PRIMARY KEY (the "
                                              "message key; NOT ENFORCED)");
    }
    if (o.Value("key.format") != "csv" && o.Value("key.format") != "raw") {
      return SQL_ERROR(o.Offset("key.format"), "connector 'upsert-kafka': key.format '{}' is not "
                                               "supported (csv or raw)", o.Value("key.format"));
    }
    static const std::set<std::string> values = {"csv", "json", "avro", "avro-confluent"};
    if (values.count(o.Value("value.format")) == 0) {
      return SQL_ERROR(o.Offset("value.format"), "connector 'upsert-kafka': value.format '{}' is "
                                                 "not supported (csv, json, avro or "
                                                 "avro-confluent)",
                       o.Value("value.format"));
    }
  }
  for (const TableColumn& c : t.columns) {
    if (c.computed && info->connector != Connector::kFilesystem &&
        info->connector != Connector::kDataGen && info->connector != Connector::kNexmark &&
        info->connector != Connector::kKafka) {
      return SQL_ERROR(c.offset, "computed column '{}': only source tables have computed columns",
                       c.name);
    }
  }
  return absl::OkStatus();
}

bool SinkTakesUpdates(const TableDef& t) {
  Options o(t);
  const std::string c = o.Value("connector");
  return c == "print" || c == "blackhole" || c == "upsert-kafka" ||
         (c == "filesystem" && absl::StartsWith(o.Value("format"), "changelog"));
}

absl::StatusOr<YAML::Node> SourceSpec(const TableDef& t, const std::string& rowtime_expression) {
  Options o(t);
  const std::string connector = o.Value("connector");
  YAML::Node s(YAML::NodeType::Map);
  s["name"] = t.name;
  s["uid"] = t.name;
  if (connector == "filesystem") {
    if (absl::StartsWith(o.Value("format"), "changelog")) {
      return SQL_ERROR(o.Offset("format"), "table '{}': format '{}' cannot be read yet (a "
                                           "changelog source)", t.name, o.Value("format"));
    }
    s["type"] = "file";
    s["path"] = o.Value("path");
    s["format"] = o.Value("format");
    s["schema"] = Schema(t);
    if (o.Value("format") == "csv") s["header"] = o.Value("csv.header", "false") == "true";
    if (o.Get("csv.field-delimiter")) s["delimiter"] = o.Value("csv.field-delimiter");
    if (o.Get("csv.null-literal")) s["null-literal"] = o.Value("csv.null-literal");
    if (o.Value("csv.ignore-parse-errors") == "true" || o.Value("json.ignore-parse-errors") == "true") {
      s["bad-records"] = "skip";
    }
    if (o.Get("source.rate")) { ASSIGN_OR_RETURN(s["rate"], Number(o, "source.rate")); }
    if (o.Get("source.idle-timeout")) { ASSIGN_OR_RETURN(s["idle-timeout"], Duration(o, "source.idle-timeout")); }
  } else if (connector == "datagen") {
    s["type"] = "datagen";
    s["schema"] = Schema(t);
    if (o.Get("rows-per-second")) { ASSIGN_OR_RETURN(s["rows-per-second"], Number(o, "rows-per-second")); }
    if (o.Get("number-of-rows")) { ASSIGN_OR_RETURN(s["number-of-rows"], Number(o, "number-of-rows")); }
    if (o.Get("seed")) { ASSIGN_OR_RETURN(s["seed"], Number(o, "seed")); }
    if (o.Get("source.idle-timeout")) { ASSIGN_OR_RETURN(s["idle-timeout"], Duration(o, "source.idle-timeout")); }
    YAML::Node fields(YAML::NodeType::Map);
    for (const auto& [key, opt] : o.all()) {
      if (!absl::StartsWith(key, "fields.")) continue;
      const std::string rest = key.substr(7);
      const auto dot = rest.rfind('.');
      if (dot == std::string::npos || t.Find(rest.substr(0, dot)) == nullptr) {
        return SQL_ERROR(opt->offset, "option '{}': expected fields.<column>.<kind|min|max|length|"
                                      "start|end|max-past>", key);
      }
      const std::string field = rest.substr(0, dot), prop = rest.substr(dot + 1);
      YAML::Node f = fields[field];
      if (prop == "kind" || prop == "max-past") {
        f[prop] = opt->value;
      } else {
        ASSIGN_OR_RETURN(YAML::Node v, Number(o, key));
        f[prop] = t.Find(field)->type == core::Type::kTimestamp ? YAML::Node(opt->value) : v;
      }
      fields[field] = f;
    }
    if (fields.size() > 0) s["fields"] = fields;
  } else if (connector == "nexmark") {
    s["type"] = "nexmark";
    s["table"] = NexmarkTable(t, o);
    if (o.Get("events.num")) { ASSIGN_OR_RETURN(s["events"], Number(o, "events.num")); }
    if (o.Get("first-event.rate")) { ASSIGN_OR_RETURN(s["first-event-rate"], Number(o, "first-event.rate")); }
    if (o.Get("events-per-second")) { ASSIGN_OR_RETURN(s["events-per-second"], Number(o, "events-per-second")); }
    if (o.Get("seed")) { ASSIGN_OR_RETURN(s["seed"], Number(o, "seed")); }
    if (o.Get("base-time")) s["base-time"] = o.Value("base-time");
    if (t.rowtime) s["max-out-of-orderness"] = fmt::format("{} ms", t.watermark_delay_ms);
    return s;  // the generator sets event time itself
  } else if (connector == "kafka") {
    s["type"] = "kafka";
    if (o.Get("topic")) s["topic"] = o.Value("topic");
    else if (o.Get("topic-pattern")) s["pattern"] = o.Value("topic-pattern");
    else return SQL_ERROR(o.Offset("connector"), "connector 'kafka' needs option 'topic'");
    s["format"] = o.Value("format");
    s["schema"] = Schema(t);
    AddRegistry(t, /*sink=*/false, &s);
    if (o.Get("csv.field-delimiter")) s["delimiter"] = o.Value("csv.field-delimiter");
    YAML::Node props(YAML::NodeType::Map);
    for (const auto& [key, opt] : o.all()) {
      if (absl::StartsWith(key, "properties.")) props[key.substr(11)] = opt->value;
    }
    s["properties"] = props;
    const std::string mode = o.Value("scan.startup.mode", "group-offsets");
    if (mode == "earliest-offset") s["starting-offsets"] = "earliest";
    else if (mode == "latest-offset") s["starting-offsets"] = "latest";
    else if (mode == "group-offsets") s["starting-offsets"] = o.Get("properties.group.id") ? "group-offsets" : "earliest";
    else if (mode == "timestamp") {
      s["starting-offsets"] = "timestamp";
      ASSIGN_OR_RETURN(s["starting-timestamp"], Number(o, "scan.startup.timestamp-millis"));
    } else {
      return SQL_ERROR(o.Offset("scan.startup.mode"), "option 'scan.startup.mode': expected "
                                                      "earliest-offset, latest-offset, "
                                                      "group-offsets or timestamp");
    }
    if (o.Get("scan.bounded.mode")) {
      if (o.Value("scan.bounded.mode") != "latest-offset") {
        return SQL_ERROR(o.Offset("scan.bounded.mode"), "option 'scan.bounded.mode': only "
                                                        "latest-offset is supported");
      }
      s["stop-at"] = "latest";
    }
    if (o.Value("csv.ignore-parse-errors") == "true" || o.Value("json.ignore-parse-errors") == "true") {
      s["bad-records"] = "skip";
    }
    if (o.Get("scan.watermark.idle-timeout")) {
      ASSIGN_OR_RETURN(s["idle-timeout"], Duration(o, "scan.watermark.idle-timeout"));
    }
  } else {
    return SQL_ERROR(t.offset, "table '{}' (connector '{}') cannot be read{}", t.name, connector,
                     connector == "upsert-kafka" ? " yet (an upsert source is not supported)"
                                                 : ": it is a sink");
  }
  if (t.rowtime) {
    YAML::Node et(YAML::NodeType::Map);
    if (t.Find(*t.rowtime)->computed) et["expression"] = rowtime_expression;
    else et["field"] = *t.rowtime;
    et["max-out-of-orderness"] = fmt::format("{} ms", t.watermark_delay_ms);
    s["event-time"] = et;
  }
  return s;
}

absl::StatusOr<YAML::Node> SinkSpec(const TableDef& t) {
  Options o(t);
  const std::string connector = o.Value("connector");
  YAML::Node s(YAML::NodeType::Map);
  if (connector == "filesystem") {
    s["type"] = "file";
    s["path"] = o.Value("path");
    const std::string format = o.Value("format");
    s["format"] = absl::StartsWith(format, "changelog-") ? format.substr(10) : format;
    if (absl::StartsWith(format, "changelog-")) s["changelog"] = true;
    if (s["format"].as<std::string>() == "csv") s["header"] = o.Value("csv.header", "false") == "true";
  } else if (connector == "print") {
    s["type"] = "print";
  } else if (connector == "blackhole") {
    s["type"] = "blackhole";
  } else if (connector == "kafka" || connector == "upsert-kafka") {
    const bool upsert = connector == "upsert-kafka";
    s["type"] = "kafka";
    if (!o.Get("topic")) return SQL_ERROR(o.Offset("connector"), "a kafka sink needs option 'topic'");
    s["topic"] = o.Value("topic");
    s["format"] = upsert ? o.Value("value.format") : o.Value("format");
    AddRegistry(t, /*sink=*/true, &s);
    if (upsert) {
      // Flink's upsert-kafka: the primary key is the message key; deletes are tombstones.
      s["upsert"] = true;
      YAML::Node keys(YAML::NodeType::Sequence);
      for (const std::string& k : t.primary_key) keys.push_back(k);
      s["key"] = keys;
    }
    if (o.Get("csv.field-delimiter")) s["delimiter"] = o.Value("csv.field-delimiter");
    YAML::Node props(YAML::NodeType::Map);
    for (const auto& [key, opt] : o.all()) {
      if (absl::StartsWith(key, "properties.") && key != "properties.group.id") {
        props[key.substr(11)] = opt->value;
      }
    }
    s["properties"] = props;
    if (o.Get("key.fields")) {
      YAML::Node keys(YAML::NodeType::Sequence);
      for (absl::string_view k : absl::StrSplit(o.Value("key.fields"), ';')) keys.push_back(std::string(k));
      s["key"] = keys;
    }
    if (o.Get("sink.partitioner")) {
      const std::string p = o.Value("sink.partitioner");
      s["partitioner"] = p == "round-robin" ? "round-robin" : p == "fixed" ? "fixed" : "default";
    }
    if (o.Get("sink.delivery-guarantee")) s["delivery"] = o.Value("sink.delivery-guarantee");
    if (o.Get("sink.transactional-id-prefix")) {
      s["transactional-id-prefix"] = o.Value("sink.transactional-id-prefix");
    }
  } else {
    return SQL_ERROR(t.offset, "table '{}' (connector '{}') cannot be written: it is a source",
                     t.name, connector);
  }
  return s;
}

}  // namespace sluice::sql
